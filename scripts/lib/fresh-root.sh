# Sourced by the fresh-root checks (scripts/fresh-machine-check.sh, scripts/package-check.sh):
# a brand-new minimal Debian 12 root, as a new machine would be, and its teardown.
#
# The root comes from `debootstrap --variant=minbase bookworm` (mawk, no gawk, no curl),
# cached as a tarball between runs on one machine and unpacked anew each run, so no state
# of an earlier run leaks in. It shares the host's network: whatever runs in it needs ports
# of its own. Whatever happens, fresh_root_cleanup (the EXIT trap) stops every process whose
# root is inside it, unmounts what was mounted and deletes it.
#
# The caller sets, before sourcing:
#   FRESH_TAG      prefix of the log lines (e.g. "fresh")
#   LAB_ENV        array of VAR=value passed to every command in the root (may be empty)
#   GUEST_REPO     where the checkout goes in the root (the lab is stopped from there)
#   KEEP_LOG       directory to copy $WORK/*.log and the lab's logs to at the end, or ""
# and then calls fresh_root_setup. Afterwards: $WORK (scratch, mode 755), $ROOT (the root),
# in_root CMD..., bind SRC DEST [ro], copy_repo, http_get PORT PATH OUT, metric_sum FILE NAME,
# log, die; PIDs appended to FRESH_PIDS are killed at cleanup.
#
# Environment (optional):
#   FRESH_CACHE_DIR   where the root tarball is kept (default /var/cache/slurm-exporter-ci)

FRESH_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$FRESH_LIB_DIR/../.." && pwd)"
CACHE_DIR="${FRESH_CACHE_DIR:-/var/cache/slurm-exporter-ci}"
TARBALL="$CACHE_DIR/bookworm-minbase.tar"
FRESH_PIDS=()
MOUNTS=()           # in mount order; unmounted in reverse
WORK=""
ROOT=""

T0=$EPOCHREALTIME
secs() { local us=${EPOCHREALTIME//[.,]/} t0=${T0//[.,]/}; echo "$(( (10#$us - 10#$t0) / 1000000 ))"; }
log() { printf '[%s %4ss] %s\n' "$FRESH_TAG" "$(secs)" "$*" >&2; }
die() { printf '[%s] FAILED: %s\n' "$FRESH_TAG" "$*" >&2; exit 1; }

in_root() {
    chroot "$ROOT" /usr/bin/env -i HOME="$HOME" TERM=dumb LANG=C.UTF-8 \
        PATH="$HOME/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        "${LAB_ENV[@]}" "$@"
}

# Processes whose root directory is inside $ROOT (daemons, jobs, the exporter).
root_processes() {
    local d link
    for d in /proc/[0-9]*; do
        link=$(readlink "$d/root" 2>/dev/null) || continue
        [[ $link == "$ROOT" || $link == "$ROOT"/* ]] && echo "${d#/proc/}"
    done
}

fresh_root_cleanup() {
    local rc=$? p i
    trap - EXIT INT TERM
    set +e
    if [[ -n $KEEP_LOG && -n $WORK && -d $WORK ]]; then
        mkdir -p "$KEEP_LOG" && cp "$WORK"/*.log "$KEEP_LOG"/ 2>/dev/null
        # The lab directory as the root sees it (<repo>/.lab may link to an absolute path).
        local lab=$GUEST_REPO/.lab e
        [[ -L $ROOT$lab ]] && lab=$(readlink "$ROOT$lab")
        for e in "${LAB_ENV[@]}"; do [[ $e == SLURM_LAB_DIR=* ]] && lab=${e#*=}; done
        cp -r "$ROOT$lab/log" "$KEEP_LOG/lab-log" 2>/dev/null
    fi
    for p in "${FRESH_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    if [[ -n $ROOT && -x $ROOT$GUEST_REPO/scripts/slurm-dev-cluster.sh && -d $ROOT/proc/1 ]]; then
        in_root "$GUEST_REPO/scripts/slurm-dev-cluster.sh" down >/dev/null 2>&1
    fi
    if [[ -n $ROOT ]]; then
        for i in 1 2 3 4 5; do
            p=$(root_processes)
            [[ -z $p ]] && break
            # shellcheck disable=SC2086
            kill $([[ $i -ge 3 ]] && echo -9) $p 2>/dev/null
            sleep 1
        done
    fi
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        umount -l "${MOUNTS[i]}" 2>/dev/null
    done
    if [[ -n $WORK ]]; then
        # Never delete through a mount that is still there.
        if findmnt -rn -o TARGET | grep -q "^$WORK"; then
            echo "[$FRESH_TAG] mounts left under $WORK; not deleting it" >&2
        else
            rm -rf "$WORK"
        fi
    fi
    log "cleaned up"
    exit "$rc"
}

bind() {  # bind SRC DEST [ro]
    mkdir -p "$2"
    mount --rbind "$1" "$2"
    MOUNTS+=("$2")
    if [[ ${3:-} == ro ]]; then mount -o remount,bind,ro "$2"; fi
}

# Makes $WORK and $ROOT: a new root unpacked from the cached tarball (made first if missing),
# /proc, /sys and /dev mounted, name resolution, the network's CAs, no daemon starts from
# package scripts. Installs the EXIT trap.
fresh_root_setup() {
    [[ $EUID -eq 0 ]] || die "must run as root (debootstrap, chroot, mounts)"
    WORK=$(mktemp -d "/tmp/$FRESH_TAG-root.XXXXXX")
    chmod 755 "$WORK"   # a root of mode 0700 locks out munge, slurm and every other user
    ROOT="$WORK/root"
    trap fresh_root_cleanup EXIT
    trap 'exit 130' INT TERM

    if ! command -v debootstrap >/dev/null; then
        log "installing debootstrap"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            -o DPkg::Lock::Timeout=600 debootstrap >/dev/null
    fi
    if [[ ! -s $TARBALL ]]; then
        log "no cached root: debootstrap --variant=minbase bookworm (about 2 minutes)"
        mkdir -p "$CACHE_DIR"
        debootstrap --variant=minbase bookworm "$WORK/build" >"$WORK/debootstrap.log" 2>&1 ||
            { tail -20 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
        # Packages only, no package lists: every run starts as a fresh machine does.
        rm -rf "$WORK/build/var/cache/apt/archives/"*.deb "$WORK/build/var/lib/apt/lists/"*
        tar -C "$WORK/build" -cf "$TARBALL.tmp" . && mv "$TARBALL.tmp" "$TARBALL"
        rm -rf "$WORK/build"
    fi
    log "unpacking a new root from $TARBALL"
    mkdir -m 755 "$ROOT"
    tar -C "$ROOT" -xf "$TARBALL"
    chmod 755 "$ROOT"

    mkdir -p "$ROOT/proc"; mount -t proc proc "$ROOT/proc"; MOUNTS+=("$ROOT/proc")
    bind /sys "$ROOT/sys"
    bind /dev "$ROOT/dev"
    cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
    # The network's trust as the host has it (an egress proxy's CA, where there is one), as
    # a new machine on the same network would have it.
    mkdir -p "$ROOT/etc/ssl/certs" "$ROOT/usr/local/share/ca-certificates"
    [[ -r /etc/ssl/certs/ca-certificates.crt ]] && cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/"
    cp -r /usr/local/share/ca-certificates/. "$ROOT/usr/local/share/ca-certificates/" 2>/dev/null || true
    printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n' "$(hostname)" >"$ROOT/etc/hosts"
    printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"; chmod 755 "$ROOT/usr/sbin/policy-rc.d"
}

# The checkout as a user has it, at $GUEST_REPO: the working tree without build output or
# lab state.
copy_repo() {
    mkdir -p "$ROOT$GUEST_REPO"
    tar -C "$REPO_DIR" --exclude=./target --exclude=./.lab --exclude=./.git -cf - . |
        tar -C "$ROOT$GUEST_REPO" -xf -
}

# GET over bash's /dev/tcp (the host may lack curl too): prints the status code, and the
# body into $3.
http_get() {
    local port=$1 path=$2 out=$3 status
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
    { IFS= read -r status; sed '1,/^\r$/d'; } <&3 >"$out"
    exec 3<&-
    status=${status#HTTP/* }
    echo "${status%% *}"
}

# Sum of a family's samples in $1 (a /metrics body).
metric_sum() {
    local total=0 name value
    while read -r name value _; do
        [[ $name == "$2" || $name == "$2{"* ]] || continue
        total=$(( total + ${value%.*} ))
    done <"$1"
    echo "$total"
}

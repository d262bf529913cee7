#!/usr/bin/env bash
# fresh-machine-check.sh - runs the README's first command (scripts/run-local.sh) in a
# brand-new minimal Debian 12 root, as a new user's machine would be, and checks the
# exporter it starts: /metrics and /ready answer 200 and count the lab's CPUs and jobs.
#
# The root comes from `debootstrap --variant=minbase bookworm` (mawk, no gawk, no curl),
# cached as a tarball between runs on one machine and unpacked anew each run, so no state
# of an earlier run leaks in. The host's Rust toolchain is bind-mounted read-only (the
# README asks for one); crates are fetched afresh. Everything runs on ports of its own, so
# the host's lab may run beside it. Whatever happens, everything started is stopped and
# unmounted, and the root deleted.
#
# Usage: scripts/fresh-machine-check.sh [--keep-log DIR]
# Environment (optional):
#   FRESH_CACHE_DIR   where the root tarball is kept (default /var/cache/slurm-exporter-ci)
#   FRESH_PORT        exporter port inside the root (default 17941); the lab uses 17806-17831
#   FRESH_TIMEOUT     seconds the README's command may take to serve /ready (default 1500)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
CACHE_DIR="${FRESH_CACHE_DIR:-/var/cache/slurm-exporter-ci}"
TARBALL="$CACHE_DIR/bookworm-minbase.tar"
PORT="${FRESH_PORT:-17941}"
TIMEOUT="${FRESH_TIMEOUT:-1500}"
KEEP_LOG=""
[[ ${1:-} == --keep-log ]] && KEEP_LOG=${2:?--keep-log needs a directory}

# The lab inside the root, on ports no other lab of ours uses.
LAB_ENV=(SLURM_LAB_CTLD_PORT=17817 SLURM_LAB_SLURMD_PORT=17830 SLURM_LAB_REST_PORT=17820
         SLURM_LAB_DBD_PORT=17819 SLURM_LAB_DB_PORT=17806)
GUEST_REPO=/root/slurm-exporter

T0=$EPOCHREALTIME
secs() { local us=${EPOCHREALTIME//[.,]/} t0=${T0//[.,]/}; echo "$(( (10#$us - 10#$t0) / 1000000 ))"; }
log() { printf '[fresh %4ss] %s\n' "$(secs)" "$*" >&2; }
die() { printf '[fresh] FAILED: %s\n' "$*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "must run as root (debootstrap, chroot, mounts)"

WORK=$(mktemp -d /tmp/fresh-machine.XXXXXX)
chmod 755 "$WORK"   # a root of mode 0700 locks out munge, slurm and every other user
ROOT="$WORK/root"
MOUNTS=()           # in mount order; unmounted in reverse
RUN_PID=""

in_root() {
    chroot "$ROOT" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
        PATH="/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
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

cleanup() {
    local rc=$? p i
    trap - EXIT INT TERM
    set +e
    if [[ -n $KEEP_LOG && -d $WORK ]]; then
        mkdir -p "$KEEP_LOG" && cp "$WORK"/*.log "$KEEP_LOG"/ 2>/dev/null
        cp -r "$ROOT$GUEST_REPO/.lab/log" "$KEEP_LOG/lab-log" 2>/dev/null
    fi
    [[ -n $RUN_PID ]] && kill "$RUN_PID" 2>/dev/null
    if [[ -x $ROOT$GUEST_REPO/scripts/slurm-dev-cluster.sh && -d /proc/1 ]]; then
        in_root "$GUEST_REPO/scripts/slurm-dev-cluster.sh" down >/dev/null 2>&1
    fi
    for i in 1 2 3 4 5; do
        p=$(root_processes)
        [[ -z $p ]] && break
        # shellcheck disable=SC2086
        kill $([[ $i -ge 3 ]] && echo -9) $p 2>/dev/null
        sleep 1
    done
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        umount -l "${MOUNTS[i]}" 2>/dev/null
    done
    # Never delete through a mount that is still there.
    if findmnt -rn -o TARGET | grep -q "^$WORK"; then
        echo "[fresh] mounts left under $WORK; not deleting it" >&2
    else
        rm -rf "$WORK"
    fi
    log "cleaned up"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bind() {  # bind SRC DEST [ro]
    mkdir -p "$2"
    mount --rbind "$1" "$2"
    MOUNTS+=("$2")
    if [[ ${3:-} == ro ]]; then mount -o remount,bind,ro "$2"; fi
}

# ------------------------------------------------------------------ the root
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
# The network's trust as the host has it (an egress proxy's CA, where there is one), as a
# new machine on the same network would have it.
mkdir -p "$ROOT/etc/ssl/certs" "$ROOT/usr/local/share/ca-certificates"
[[ -r /etc/ssl/certs/ca-certificates.crt ]] && cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/"
cp -r /usr/local/share/ca-certificates/. "$ROOT/usr/local/share/ca-certificates/" 2>/dev/null || true
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n' "$(hostname)" >"$ROOT/etc/hosts"
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"; chmod 755 "$ROOT/usr/sbin/policy-rc.d"
# The README asks for a Rust toolchain: the host's, read-only; crates come from crates.io.
for d in .rustup .cargo/bin; do
    [[ -d $HOME/$d ]] || die "no Rust toolchain at \$HOME/$d on the host"
    bind "$HOME/$d" "$ROOT/root/$d" ro
done
# The checkout as a user has it: the working tree without build output or lab state.
mkdir -p "$ROOT$GUEST_REPO"
tar -C "$REPO_DIR" --exclude=./target --exclude=./.lab --exclude=./.git -cf - . |
    tar -C "$ROOT$GUEST_REPO" -xf -
in_root sh -c 'awk -W version 2>&1 | head -1; command -v gawk curl || true' >"$WORK/root-tools.log" 2>&1
log "root ready: $(head -1 "$WORK/root-tools.log")"

# ------------------------------------------------------- the README's first command
log "running scripts/run-local.sh in the root (installs Slurm, builds, serves :$PORT)"
in_root bash -c "cd $GUEST_REPO && exec scripts/run-local.sh --web.listen-address=127.0.0.1:$PORT" \
    >"$WORK/run-local.log" 2>&1 &
RUN_PID=$!

# GET over bash's /dev/tcp (the host may lack curl too): prints the status code, and the
# body into $2.
http_get() {
    local path=$1 out=$2 status
    exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
    { IFS= read -r status; sed '1,/^\r$/d'; } <&3 >"$out"
    exec 3<&-
    status=${status#HTTP/* }
    echo "${status%% *}"
}

deadline=$(( $(secs) + TIMEOUT ))
until [[ $(http_get /ready "$WORK/ready.txt" 2>/dev/null) == 200 ]]; do
    if ! kill -0 "$RUN_PID" 2>/dev/null; then
        tail -30 "$WORK/run-local.log" >&2
        die "scripts/run-local.sh exited before /ready answered 200"
    fi
    (( $(secs) < deadline )) || { tail -30 "$WORK/run-local.log" >&2; die "/ready not 200 within ${TIMEOUT}s"; }
    sleep 2
done
log "/ready answered 200"

# ---------------------------------------------------------------------- the checks
# Sum of a family's samples in $1 (a /metrics body).
metric_sum() {
    local total=0 name value
    while read -r name value _; do
        [[ $name == "$2" || $name == "$2{"* ]] || continue
        total=$(( total + ${value%.*} ))
    done <"$1"
    echo "$total"
}
lab_cpus=$(in_root bash -c 'eval "$(cd '"$GUEST_REPO"' && scripts/slurm-dev-cluster.sh env)"; sinfo -h -o %C' |
    cut -d/ -f4)
[[ $lab_cpus =~ ^[0-9]+$ && $lab_cpus -gt 0 ]] || die "sinfo in the root gave no CPU count: '$lab_cpus'"
ok=""
for _ in $(seq 1 20); do
    code=$(http_get /metrics "$WORK/metrics.txt") || code=none
    [[ $code == 200 ]] || die "/metrics answered $code"
    lab_jobs=$(in_root bash -c 'eval "$(cd '"$GUEST_REPO"' && scripts/slurm-dev-cluster.sh env)"; squeue -h -t all -r -o %i | wc -l')
    cpus=$(metric_sum "$WORK/metrics.txt" slurm_cpus)
    jobs=$(metric_sum "$WORK/metrics.txt" slurm_jobs)
    if [[ $cpus == "$lab_cpus" && $jobs == "$lab_jobs" && $jobs -gt 0 ]]; then ok=1; break; fi
    # Jobs finish between the exporter's collection and squeue: look again after the next one.
    sleep 5
done
[[ -n $ok ]] || die "exporter counts cpus=$cpus jobs=$jobs, the lab has cpus=$lab_cpus jobs=$lab_jobs"
[[ $(http_get /ready "$WORK/ready.txt") == 200 ]] || die "/ready no longer 200"
log "PASS: /metrics and /ready 200; $cpus CPUs and $jobs jobs, as the lab (sinfo, squeue) says"

#!/usr/bin/env bash
# package-check.sh - the .deb and .rpm an operator installs, checked as an operator uses them.
#
#   1. scripts/package.sh builds both packages, revisions 1 and 2 (2 upgrades 1);
#   2. on the host: the rpm inspected with Debian's rpm (`rpm -qlp`, `-qp --scripts`, config
#      flags, requires), the deb with dpkg-deb; both hold the unit's ExecStart binary, the
#      unit, the config as a conffile / %config(noreplace); the scriptlets pass `sh -n`;
#   3. in a brand-new Debian 12 minbase root (scripts/lib/fresh-root.sh): the lab
#      (scripts/slurm-dev-cluster.sh up, own ports), `apt-get install ./slurm-exporter_*.deb`;
#      the operator points the exporter at the lab: a drop-in with Environment=SLURM_CONF
#      and listen_address in the conffile. No systemd runs in a chroot, so the unit is
#      played by hand: ExecStart= of the installed unit (drop-ins applied), run as its
#      User=/Group= with its Environment= only. /metrics and /ready answer 200 and count the
#      lab's nodes (scontrol);
#   4. upgrade to revision 2 and reinstall: the edited conffile stays, the exporter serves
#      again; `apt-get remove` leaves the config, `apt-get purge` removes it;
#   5. the rpm in the same root through the host's rpm (`rpm --root`, its scriptlets run
#      chrooted there): install (%pre creates the user), upgrade, erase, with a systemctl
#      stand-in that records what the scriptlets ask of systemd.
# Each step prints its time. Everything is stopped and the root deleted at the end.
#
# Usage: scripts/package-check.sh [--keep-log DIR]
# Environment (optional):
#   FRESH_CACHE_DIR   where the root tarball is kept (default /var/cache/slurm-exporter-ci)
#   PACKAGE_PORT      exporter port inside the root (default 17951); the lab uses 17706-17731
set -euo pipefail

PORT="${PACKAGE_PORT:-17951}"
KEEP_LOG=""
[[ ${1:-} == --keep-log ]] && KEEP_LOG=${2:?--keep-log needs a directory}

FRESH_TAG=package
# The lab inside the root: its own ports, and a directory an operator's Slurm config could
# be in (not /tmp or /var/tmp, which the unit's PrivateTmp= would hide from it).
LAB_DIR=/srv/slurm-lab
LAB_ENV=(SLURM_LAB_DIR=$LAB_DIR SLURM_LAB_CTLD_PORT=17717 SLURM_LAB_SLURMD_PORT=17730
         SLURM_LAB_REST_PORT=17720 SLURM_LAB_DBD_PORT=17719 SLURM_LAB_DB_PORT=17706)
GUEST_REPO="$HOME/slurm-exporter"   # root's home in the root, as on the host
# shellcheck source=scripts/lib/fresh-root.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/fresh-root.sh"
# shellcheck source=scripts/lib/packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/packages.sh"

UNIT=slurm-exporter.service
CONF=/etc/slurm-exporter/config.yaml
step_t=$EPOCHREALTIME
step() {  # step NAME: ends the previous step (prints its time), starts NAME
    local now=${EPOCHREALTIME//[.,]/} t=${step_t//[.,]/}
    [[ -n ${STEP:-} ]] && printf '[package] step %-34s %5.1f s\n' "$STEP" "$(( (10#$now - 10#$t) / 100000 ))e-1" >&2
    STEP=$1 step_t=$EPOCHREALTIME
}
contains() { grep -qxF -- "$2" <<<"$1" || die "$3: '$2' missing"; }

# ------------------------------------------------------------------ 1. build
step "build (scripts/package.sh)"
cd "$REPO_DIR"
scripts/package.sh --revision 1
scripts/package.sh --revision 2
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
DEB1=target/packages/slurm-exporter_${version}-1_amd64.deb
DEB2=target/packages/slurm-exporter_${version}-2_amd64.deb
RPM1=target/packages/slurm-exporter-${version}-1.x86_64.rpm
RPM2=target/packages/slurm-exporter-${version}-2.x86_64.rpm
exec_start=$(sed -n 's/^ExecStart=//p' deploy/systemd/$UNIT)
exec_bin=${exec_start%% *}
unit_user=$(sed -n 's/^User=//p' deploy/systemd/$UNIT)

# ------------------------------------------------------------------ 2. inspect
step "inspect rpm and deb on the host"
install_packages rpm
files=$(rpm -qlp "$RPM1")
for f in "$exec_bin" /usr/lib/systemd/system/$UNIT $CONF /usr/share/doc/slurm-exporter/README.md; do
    contains "$files" "$f" "rpm -qlp"
done
# %config(noreplace): flags "cn" (config, noreplace).
flags=$(rpm -qp --qf '[%{FILENAMES} %{FILEFLAGS:fflags}\n]' "$RPM1")
contains "$flags" "$CONF cn" "the rpm's config flags"
scripts=$(rpm -qp --scripts "$RPM1")
for s in preinstall postinstall preuninstall postuninstall; do
    grep -q "^$s scriptlet" <<<"$scripts" || die "rpm -qp --scripts: no $s scriptlet"
done
grep -q "useradd .*$unit_user" <<<"$scripts" || die "the rpm's %pre does not create $unit_user"
requires=$(rpm -qp --requires "$RPM1")
grep -q '^libc.so.6(GLIBC_' <<<"$requires" || die "rpm requires no glibc version: $requires"
for s in deploy/packaging/rpm/*.sh deploy/packaging/debian/postinst; do
    sh -n "$s" || die "$s: sh -n fails"
done
deb_files=$(dpkg-deb -c "$DEB1" | awk '{print substr($6, 2)}')
for f in "$exec_bin" /usr/lib/systemd/system/$UNIT $CONF; do
    contains "$deb_files" "$f" "dpkg-deb -c"
done
contains "$(dpkg-deb -I "$DEB1" conffiles)" "$CONF" "the deb's conffiles"
deb_depends=$(dpkg-deb -f "$DEB1" Depends)
[[ $deb_depends == *libc6* ]] || die "the deb depends on no libc6: '$deb_depends'"
log "rpm: $(wc -l <<<"$files") files, $CONF %config(noreplace), 4 scriptlets," \
    "requires $(grep -c . <<<"$requires") (glibc $(grep -o 'GLIBC_[0-9.]*' <<<"$requires" | sort -V | tail -1));" \
    "deb: Depends: $deb_depends"

# ------------------------------------------------------------------ 3. a fresh root, the lab
step "fresh root"
fresh_root_setup
copy_repo
cp "$DEB1" "$DEB2" "$ROOT/tmp/"
step "lab up in the root"
in_root "$GUEST_REPO/scripts/slurm-dev-cluster.sh" up >"$WORK/lab-up.log" 2>&1 ||
    { tail -30 "$WORK/lab-up.log" >&2; die "the lab did not come up in the root"; }
lab_conf=$LAB_DIR/etc/slurm.conf
lab_nodes=$(in_root env SLURM_CONF=$lab_conf scontrol -o show node | grep -c '^NodeName=')
[[ $lab_nodes -gt 0 ]] || die "scontrol in the root shows no nodes"

# ------------------------------------------------------------------ install the .deb
step "apt-get install ./deb"
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "/tmp/${DEB1##*/}" \
    >"$WORK/apt-install.log" 2>&1 || { tail -20 "$WORK/apt-install.log" >&2; die "apt-get install of the deb failed"; }
[[ -x $ROOT$exec_bin ]] || die "$exec_bin not installed"
[[ -f $ROOT$CONF && -f $ROOT/usr/lib/systemd/system/$UNIT ]] || die "config or unit not installed"
in_root getent passwd "$unit_user" >/dev/null || die "user $unit_user not created"
[[ -L $ROOT/etc/systemd/system/multi-user.target.wants/$UNIT ]] || die "the unit was not enabled"
uid=$(in_root id -u "$unit_user")

# The operator's changes: where this host's Slurm config is (a drop-in, as
# `systemctl edit slurm-exporter` writes it) and where to listen (the conffile).
mkdir -p "$ROOT/etc/systemd/system/$UNIT.d"
printf '[Service]\nEnvironment=SLURM_CONF=%s\n' "$lab_conf" >"$ROOT/etc/systemd/system/$UNIT.d/override.conf"
sed -i "s/^  listen_address: .*/  listen_address: \"127.0.0.1:$PORT\"/" "$ROOT$CONF"
grep -q "127.0.0.1:$PORT" "$ROOT$CONF" || die "could not set listen_address in $CONF"

# The unit as systemd would run it: the last ExecStart= (an empty one resets), Environment=
# and User=/Group= of the unit, then of its drop-ins in name order.
unit_value() {  # unit_value KEY: every value of KEY=, unit first, then drop-ins
    local f
    for f in "$ROOT/usr/lib/systemd/system/$UNIT" "$ROOT/etc/systemd/system/$UNIT.d/"*.conf; do
        [[ -f $f ]] && sed -n "s/^$1=//p" "$f"
    done
}
run_unit() {  # starts the unit's ExecStart in the root; its PID in EXPORTER_PID
    local cmd user group env=() e
    cmd=$(unit_value ExecStart | tail -1)
    user=$(unit_value User | tail -1)
    group=$(unit_value Group | tail -1)
    [[ -n $cmd && -n $user ]] || die "the installed unit has no ExecStart= or User="
    while read -r e; do [[ -n $e ]] && read -ra words <<<"$e" && env+=("${words[@]}"); done < <(unit_value Environment)
    # systemd's PATH for services; nothing else from the caller's environment.
    # shellcheck disable=SC2086
    chroot "$ROOT" setpriv --reuid="$user" --regid="${group:-$user}" --init-groups \
        /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin "${env[@]}" \
        $cmd >>"$WORK/exporter.log" 2>&1 &
    EXPORTER_PID=$!
    FRESH_PIDS+=("$EXPORTER_PID")
}
check_serving() {  # /ready and /metrics 200, the lab's nodes counted, as the unit's user
    local code nodes=0 i
    for i in $(seq 1 60); do
        code=$(http_get "$PORT" /ready "$WORK/ready.txt" 2>/dev/null) || code=none
        [[ $code == 200 ]] && break
        kill -0 "$EXPORTER_PID" 2>/dev/null || { tail -20 "$WORK/exporter.log" >&2; die "the exporter exited"; }
        sleep 1
    done
    [[ $code == 200 ]] || { cat "$WORK/ready.txt" >&2; tail -20 "$WORK/exporter.log" >&2; die "/ready answered $code after 60 s"; }
    code=$(http_get "$PORT" /metrics "$WORK/metrics.txt") || code=none
    [[ $code == 200 ]] || die "/metrics answered $code"
    nodes=$(metric_sum "$WORK/metrics.txt" slurm_nodes)
    [[ $nodes == "$lab_nodes" ]] || die "slurm_nodes sums to $nodes, scontrol shows $lab_nodes nodes"
    # chroot, setpriv and env exec: the PID started is the exporter's.
    [[ $(stat -c %u "/proc/$EXPORTER_PID") == "$uid" ]] ||
        die "the exporter does not run as $unit_user"
    log "/ready and /metrics 200 as $unit_user; slurm_nodes = $nodes, as scontrol"
}
stop_unit() { kill "$EXPORTER_PID" 2>/dev/null; wait "$EXPORTER_PID" 2>/dev/null || true; }

step "run the unit's ExecStart, /metrics"
run_unit
check_serving
stop_unit

# ------------------------------------------------------------------ 4. upgrade, remove, purge
installed() { in_root dpkg-query -W -f='${Status} ${Version}' slurm-exporter 2>/dev/null || true; }
step "upgrade to -2, reinstall, serve again"
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "/tmp/${DEB2##*/}" \
    >>"$WORK/apt-install.log" 2>&1 || { tail -20 "$WORK/apt-install.log" >&2; die "upgrade to ${DEB2##*/} failed"; }
[[ $(installed) == "install ok installed ${version}-2" ]] || die "after the upgrade: $(installed)"
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall "/tmp/${DEB2##*/}" \
    >>"$WORK/apt-install.log" 2>&1 || { tail -20 "$WORK/apt-install.log" >&2; die "reinstall failed"; }
grep -q "127.0.0.1:$PORT" "$ROOT$CONF" || die "the upgrade replaced the edited $CONF"
compgen -G "$ROOT$CONF.dpkg-*" >/dev/null && die "the upgrade left $(ls "$ROOT$CONF".dpkg-*)"
[[ $(in_root id -u "$unit_user") == "$uid" ]] || die "the upgrade changed the uid of $unit_user"
run_unit
check_serving
stop_unit

step "apt-get remove, purge"
in_root env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q slurm-exporter >>"$WORK/apt-install.log" 2>&1
[[ $(installed) == "deinstall ok config-files ${version}-2" ]] || die "after remove: $(installed)"
[[ ! -e $ROOT$exec_bin && ! -e $ROOT/usr/lib/systemd/system/$UNIT ]] || die "remove left the binary or the unit"
grep -q "127.0.0.1:$PORT" "$ROOT$CONF" || die "remove did not keep the edited $CONF"
in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q slurm-exporter >>"$WORK/apt-install.log" 2>&1
[[ -z $(installed) || $(installed) == "unknown ok not-installed"* ]] || die "after purge: $(installed)"
[[ ! -e $ROOT$CONF ]] || die "purge left $CONF"
[[ ! -e $ROOT/etc/systemd/system/multi-user.target.wants/$UNIT ]] || die "purge left the unit enabled"
log "remove kept the edited $CONF; purge removed it and the enablement (the user stays, as Debian does)"

# ------------------------------------------------------------------ 5. the rpm's scriptlets
step "rpm install, upgrade, erase (rpm --root)"
# The user must come from %pre, not from the deb's postinst.
in_root userdel "$unit_user"
in_root getent group "$unit_user" >/dev/null && in_root groupdel "$unit_user"
# What the scriptlets ask of systemd, as if it ran (the root has no systemd; rpm runs
# scriptlets with PATH=/sbin:/bin:/usr/sbin:/usr/bin).
mkdir -p "$ROOT/run/systemd/system"
printf '#!/bin/sh\necho "$*" >>/tmp/systemctl.calls\n' >"$ROOT/usr/bin/systemctl"
chmod 755 "$ROOT/usr/bin/systemctl"
rpm_root() { rpm --root="$ROOT" --nodeps --force-debian "$@" >>"$WORK/rpm.log" 2>&1 || { tail -20 "$WORK/rpm.log" >&2; die "rpm $*"; }; }
rpm_root -i "$RPM1"   # a host path: rpm reads it before it chroots
in_root getent passwd "$unit_user" >/dev/null || die "the rpm's %pre did not create $unit_user"
[[ -x $ROOT$exec_bin && -f $ROOT$CONF ]] || die "the rpm did not install $exec_bin and $CONF"
in_root setpriv --reuid="$unit_user" --regid="$unit_user" --init-groups "$exec_bin" check-config "$CONF" \
    >/dev/null || die "the rpm's binary rejects its own config"
grep -qx -- '--no-reload preset slurm-exporter.service' "$ROOT/tmp/systemctl.calls" || die "%post applied no preset"
sed -i "s/^  listen_address: .*/  listen_address: \"127.0.0.1:$PORT\"/" "$ROOT$CONF"
rpm_root -U "$RPM2"
grep -q "127.0.0.1:$PORT" "$ROOT$CONF" || die "the rpm upgrade replaced the edited $CONF"
grep -qx 'try-restart slurm-exporter.service' "$ROOT/tmp/systemctl.calls" || die "%postun did not restart on upgrade"
rpm_root -e slurm-exporter
grep -qx -- '--no-reload disable --now slurm-exporter.service' "$ROOT/tmp/systemctl.calls" || die "%preun did not stop and disable"
[[ ! -e $ROOT$exec_bin && -f $ROOT$CONF.rpmsave ]] || die "rpm -e: binary left, or the edited config not saved as .rpmsave"
log "rpm: %pre made $unit_user; upgrade kept the edited config; erase saved it as .rpmsave; systemctl calls:" \
    "$(tr '\n' ';' <"$ROOT/tmp/systemctl.calls")"
step ""
log "PASS: the deb installs, serves the lab with the unit's ExecStart, upgrades, removes, purges; the rpm is inspected and its scriptlets run"

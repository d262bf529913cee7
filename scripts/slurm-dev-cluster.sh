#!/usr/bin/env bash
# slurm-dev-cluster.sh - a real, throw-away Slurm 22.05 cluster on this machine.
#
# Usage: scripts/slurm-dev-cluster.sh up [--accounting]|down [--purge]|status|workload|env|
#                                     token [--file PATH] [user] [lifespan]|
#                                     stop DAEMON...|pid DAEMON
#
# Everything (config, keys, state, logs, PID files) lives in one lab directory:
#   ${SLURM_LAB_DIR:-<repo>/.lab}
# (when other users cannot reach <repo>, e.g. a clone under /root: /var/tmp/slurm-exporter-lab.N,
# with <repo>/.lab a link to it)
# Nothing under /etc is changed (apart from installing packages, pinning the Debian
# alternatives for slurmctld/slurmd and creating the users `slurmrestd` and `labuser`).
# Meant for root on Debian 12 without systemd (CI machines, containers).
#
# Cluster: name `lab`, controller on 127.0.0.1, real nodes n1 n2 (one slurmd each, 4 CPUs,
# 4000 MB), fake DOWN nodes f1 f2 (no slurmd), partitions debug (default) and batch,
# license lab_lic:8, two fake GPUs on n1 (GRES gpu:fake:2; device nodes copying /dev/null),
# slurmrestd with JWT auth on 127.0.0.1:${SLURM_LAB_REST_PORT:-6820}. Steps are sampled by
# jobacct_gather/linux every second (no cgroups needed), so slurmdbd records their MaxRSS;
# with at most 8 CPUs of running jobs that costs nothing measurable.
# `up` on a lab where some daemons died (or were stopped with `stop slurmctld`, for fault
# tests) starts only the missing ones and keeps slurmctld's state (jobs survive); only a
# fresh start (no daemon alive) rewrites the config and starts slurmctld with empty state.
# `pid DAEMON` prints the PID of a running daemon (munged, slurmctld, slurmd-n1, ...).
# No accounting by default; `up --accounting` adds MariaDB + slurmdbd (a fresh, empty
# database on every fresh start), associations for root, labuser, slurmrestd and nobody,
# a QOS lab_high and a second account physics (both with limits, enforced; labuser in both
# accounts and allowed lab_high), priority/multifactor (usage recomputed every minute), and
# the openapi/dbv0.0.3x REST plugins.
#
# Environment (all optional):
#   SLURM_LAB_DIR          lab directory                 (default <repo>/.lab)
#   SLURM_LAB_CTLD_PORT    slurmctld port                (default 6817)
#   SLURM_LAB_SLURMD_PORT  port of n1; n2 uses port+1    (default 6830)
#   SLURM_LAB_REST_PORT    slurmrestd port               (default 6820)
#   SLURM_LAB_USER         second (non-root) test user   (default labuser)
#   SLURM_LAB_DBD_PORT     slurmdbd port (--accounting)  (default 6819)
#   SLURM_LAB_DB_PORT      MariaDB port (--accounting)   (default 13306)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
# Whether users other than root can reach $1 (every directory on the way has o+x).
traversable() {
    local d=$1 mode
    while [[ -n $d && $d != / ]]; do
        mode=$(stat -c %A "$d" 2>/dev/null) || return 1
        [[ ${mode: -1} == [xt] ]] || return 1
        d=${d%/*}
    done
}
# The daemons run as munge, slurm and slurmrestd: a checkout under /root (mode 0700 on a
# fresh Debian) cannot hold the lab. Then it lives in /var/tmp, and <repo>/.lab links to it.
if [[ -n ${SLURM_LAB_DIR:-} ]]; then
    LAB=$SLURM_LAB_DIR
elif traversable "$REPO_DIR"; then
    LAB=$REPO_DIR/.lab
else
    LAB=/var/tmp/slurm-exporter-lab.$(cksum <<<"$REPO_DIR" | cut -d' ' -f1)
fi
CTLD_PORT="${SLURM_LAB_CTLD_PORT:-6817}"
SLURMD_PORT="${SLURM_LAB_SLURMD_PORT:-6830}"
REST_PORT="${SLURM_LAB_REST_PORT:-6820}"
LAB_USER="${SLURM_LAB_USER:-labuser}"
DBD_PORT="${SLURM_LAB_DBD_PORT:-6819}"
DB_PORT="${SLURM_LAB_DB_PORT:-13306}"
REST_USER="slurmrestd"

CONF="$LAB/etc/slurm.conf"
MUNGE_SOCK="$LAB/run/munge/munge.socket"
PID_DIR="$LAB/run/pids"
LOG_DIR="$LAB/log"
MARKER="$LAB/.slurm-dev-cluster"
ACCT_MARKER="$LAB/etc/accounting"      # present when the config was written with accounting
DB_SOCK="$LAB/run/mysqld/mysqld.sock"
REAL_NODES=(n1 n2)
FAKE_NODES=(f1 f2)
PACKAGES=(munge slurmctld slurmd slurm-client slurmrestd slurm-wlm-jwt-plugin curl)
ACCT_PACKAGES=(slurmdbd mariadb-server)
REST_PLUGINS="openapi/v0.0.36,openapi/v0.0.37,openapi/v0.0.38"
REST_DB_PLUGINS="openapi/dbv0.0.36,openapi/dbv0.0.37,openapi/dbv0.0.38"
REST_URL="http://127.0.0.1:$REST_PORT"

export SLURM_CONF="$CONF"

# ---------------------------------------------------------------------------- helpers
T0="$EPOCHREALTIME"
log()  { printf '[lab %6.2fs] %s\n' "$(elapsed)" "$*" >&2; }
die()  { printf '[lab] ERROR: %s\n' "$*" >&2; exit 1; }
elapsed() { awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }
# Milliseconds since the epoch in bash arithmetic: no awk (Debian's default mawk clamps
# printf "%d" at 2^31-1, which made every deadline already past).
now_ms() { local us=${EPOCHREALTIME//[.,]/}; echo $((10#$us / 1000)); }

need_root() { [[ $EUID -eq 0 ]] || die "must run as root (starts daemons as slurm/munge/slurmrestd)"; }

# Show the end of one or more log files on stderr.
show_logs() {
    local f
    for f in "$@"; do
        [[ -s $f ]] || continue
        printf -- '----- tail of %s -----\n' "$f" >&2
        tail -n 30 "$f" >&2
    done
}

# Wait until "$@" succeeds; poll every 0.2 s, give up after $timeout seconds.
wait_for() {
    local timeout=$1; shift
    local deadline
    deadline=$(( $(now_ms) + timeout * 1000 ))
    while true; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        (( $(now_ms) < deadline )) || return 1
        sleep 0.2
    done
}

# wait_daemons TIMEOUT "DAEMON..." CHECK...: like wait_for, but gives up at once (status 2)
# when one of the daemons has died.
wait_daemons() {
    local timeout=$1 daemons=$2; shift 2
    local end d
    end=$(( $(now_ms) + timeout * 1000 ))
    while true; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        for d in $daemons; do
            # Only "process gone" counts here: right after spawn the PID may still be
            # the shell/setsid/setpriv that is about to exec the daemon.
            if ! running "$(recorded_pid "$d" || echo 0)"; then log "$d exited"; return 2; fi
        done
        (( $(now_ms) < end )) || return 1
        sleep 0.2
    done
}

# ------------------------------------------------------------------ PID bookkeeping
# Daemons: munged [mariadb slurmdbd] slurmctld slurmd-n1 slurmd-n2 slurmrestd. For each we
# store the PID of the process we started in $PID_DIR/<name>.pid and only ever signal a
# PID whose executable (or argv[0]) still is the expected program.
accounting_on() { [[ -f $ACCT_MARKER ]]; }

daemon_names() {
    echo munged
    if accounting_on; then echo mariadb; echo slurmdbd; fi
    echo slurmctld
    local n; for n in "${REAL_NODES[@]}"; do echo "slurmd-$n"; done
    echo slurmrestd
}

expected_prog() {
    case $1 in
        munged) echo munged ;;
        mariadb) echo mariadbd ;;
        slurmdbd) echo slurmdbd ;;
        slurmctld) echo slurmctld ;;
        slurmd-*) echo slurmd ;;
        slurmrestd) echo slurmrestd ;;
        *) die "unknown daemon $1" ;;
    esac
}

# Contents of /proc/PID/FILE with NULs turned into $3 (empty if unreadable).
proc_file() { { tr '\0' "$3" <"/proc/$1/$2"; } 2>/dev/null || true; }

# Alive and not a zombie (zombies and kernel threads have an empty cmdline).
running() { [[ -n $(proc_file "$1" cmdline ' ') ]]; }

recorded_pid() {
    local f="$PID_DIR/$1.pid"
    [[ -r $f ]] || return 1
    local pid
    pid=$(<"$f")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    echo "$pid"
}

# True if PID is alive and runs program $2 (exe may be e.g. slurmctld-wlm; argv[0] is the
# alternatives link /usr/sbin/slurmctld) and, for safety, was started with this lab's files.
pid_is() {
    local pid=$1 prog=$2 exe="" argv0="" cmdline=""
    [[ -d /proc/$pid ]] || return 1
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
    cmdline=$(proc_file "$pid" cmdline ' ')
    argv0=${cmdline%% *}
    [[ -n $cmdline ]] || return 1   # zombie or kernel thread
    local b1 b2
    b1=$(basename -- "${exe:-none}"); b2=$(basename -- "${argv0:-none}")
    [[ $b1 == "$prog" || $b1 == "$prog"-wlm || $b2 == "$prog" ]] || return 1
    # The process must belong to this lab: munged by its socket argument, the others by
    # SLURM_CONF in their environment.
    if [[ $prog == munged ]]; then
        [[ $cmdline == *"--socket=$MUNGE_SOCK"* ]]
    else
        grep -Fxq "SLURM_CONF=$CONF" <<<"$(proc_file "$pid" environ '\n')"
    fi
}

daemon_pid_alive() {   # prints the PID if the daemon is running
    local pid
    pid=$(recorded_pid "$1") || return 1
    pid_is "$pid" "$(expected_prog "$1")" || return 1
    echo "$pid"
}

# Start "$@" detached (new session), stdin from /dev/null, output to $LOG_DIR/$name.out,
# and record its PID. setsid/setpriv/env all exec, so $! is the daemon's PID.
spawn() {
    local name=$1; shift
    setsid "$@" </dev/null >>"$LOG_DIR/$name.out" 2>&1 &
    echo $! >"$PID_DIR/$name.pid"
}

# ------------------------------------------------------------------- installation
# install_packages PACKAGE...
# shellcheck source=lib/packages.sh
source "$SCRIPT_DIR/lib/packages.sh"

# Debian ships slurmctld/slurmd as alternatives; slurm-wlm-emulator (if ever installed)
# would win with a higher priority and cannot run a real cluster.
pin_alternatives() {
    local a cur
    for a in slurmctld slurmd; do
        [[ -x /usr/sbin/$a-wlm ]] || continue
        cur=$(update-alternatives --query "$a" 2>/dev/null | awk '/^Value:/ { print $2 }')
        if [[ $cur != "/usr/sbin/$a-wlm" ]]; then
            log "pinning alternative $a -> /usr/sbin/$a-wlm"
            update-alternatives --set "$a" "/usr/sbin/$a-wlm" >/dev/null
        fi
    done
}

ensure_users() {
    local u
    for u in "$REST_USER" "$LAB_USER"; do
        if ! getent passwd "$u" >/dev/null; then
            log "creating system user $u"
            useradd --system --user-group --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin "$u"
        fi
    done
    getent passwd slurm >/dev/null || die "user slurm missing (should come with the slurm packages)"
    getent passwd munge >/dev/null || die "user munge missing (should come with the munge package)"
}

# ------------------------------------------------------------------------ lab files
check_lab_traversable() {
    # munge, slurm and slurmrestd must reach files below the lab directory.
    if ! setpriv --reuid=nobody --regid=nogroup --clear-groups test -x "$LAB/etc" 2>/dev/null; then
        die "$LAB is not reachable by unprivileged users (a parent directory lacks o+x);
       set SLURM_LAB_DIR to a path under a world-traversable directory, e.g. /tmp/slurm-lab"
    fi
}

make_dirs() {
    mkdir -p "$LAB"
    chmod 0755 "$LAB"
    if [[ $LAB != "$REPO_DIR/.lab" && -z ${SLURM_LAB_DIR:-} && ! -e $REPO_DIR/.lab ]]; then
        ln -s "$LAB" "$REPO_DIR/.lab"
    fi
    touch "$MARKER"
    install -d -m 0755 -o root -g root "$LAB/etc" "$LAB/run" "$PID_DIR" "$LOG_DIR" "$LAB/spool"
    install -d -m 0700 -o munge -g munge "$LAB/munge"
    install -d -m 0755 -o munge -g munge "$LAB/run/munge"
    install -d -m 0755 -o slurm -g slurm "$LAB/run/slurm"
    install -d -m 0700 -o slurm -g slurm "$LAB/state"
    install -d -m 1777 "$LAB/work"
    local n
    for n in "${REAL_NODES[@]}"; do install -d -m 0755 "$LAB/spool/slurmd-$n"; done
    # Log files written by daemons that do not run as root.
    touch "$LOG_DIR/munged.log"
    chown munge:munge "$LOG_DIR/munged.log"
    touch "$LOG_DIR/slurmctld.log"
    chown slurm:slurm "$LOG_DIR/slurmctld.log"
}

make_keys() {
    if [[ ! -s $LAB/munge/munge.key ]]; then
        log "generating munge key"
        (umask 077; head -c 1024 /dev/urandom >"$LAB/munge/munge.key")
    fi
    chown munge:munge "$LAB/munge/munge.key"; chmod 0600 "$LAB/munge/munge.key"
    if [[ ! -s $LAB/etc/jwt_hs256.key ]]; then
        log "generating JWT HS256 key"
        (umask 077; head -c 32 /dev/urandom >"$LAB/etc/jwt_hs256.key")
    fi
    chown slurm:slurm "$LAB/etc/jwt_hs256.key"; chmod 0600 "$LAB/etc/jwt_hs256.key"
}

write_slurm_conf() {
    local host nodes_all n i port gres
    host=$(hostname -s)
    nodes_all=$(IFS=,; echo "${REAL_NODES[*]},${FAKE_NODES[*]}")
    {
        cat <<EOF
# Generated by scripts/slurm-dev-cluster.sh - do not edit, rewritten on every fresh 'up'.
ClusterName=lab
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCK
CredType=cred/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$LAB/etc/jwt_hs256.key
MpiDefault=none
SwitchType=switch/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=300
MaxJobCount=200000
MaxArraySize=100001
Licenses=lab_lic:8
GresTypes=gpu
MailProg=/bin/true
StateSaveLocation=$LAB/state
SlurmdSpoolDir=$LAB/spool/slurmd-%n
SlurmctldPidFile=$LAB/run/slurm/slurmctld.pid
SlurmdPidFile=$LAB/run/slurm/slurmd-%n.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
EOF
        if ((accounting)); then
            cat <<EOF
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$DBD_PORT
AccountingStoragePass=$MUNGE_SOCK
AccountingStorageEnforce=associations,limits,qos
PriorityType=priority/multifactor
PriorityCalcPeriod=1
EOF
        else
            echo "AccountingStorageType=accounting_storage/none"
        fi
        i=0
        for n in "${REAL_NODES[@]}"; do
            port=$((SLURMD_PORT + i)); i=$((i + 1))
            gres=""
            [[ $n == "${REAL_NODES[0]}" ]] && gres=" Gres=gpu:fake:2"
            echo "NodeName=$n NodeAddr=127.0.0.1 Port=$port CPUs=4 RealMemory=4000$gres State=UNKNOWN"
        done
        for n in "${FAKE_NODES[@]}"; do
            echo "NodeName=$n NodeAddr=127.0.0.1 Port=1 CPUs=4 RealMemory=4000 State=DOWN Reason=\"fake node\""
        done
        echo "PartitionName=debug Nodes=$nodes_all Default=YES DefaultTime=01:00:00 MaxTime=INFINITE State=UP"
        echo "PartitionName=batch Nodes=$nodes_all MaxTime=1-00:00:00 State=UP"
    } >"$CONF.tmp"
    chmod 0644 "$CONF.tmp"
    mv "$CONF.tmp" "$CONF"
    # Two fake GPUs on the first node. 22.05 slurmd reports 0 for a count-only gpu
    # line (Count= without File=) and the node turns INVAL, so each GPU is a device
    # node that is a copy of /dev/null (c 1 3): nothing to drive, nothing to harm.
    install -d -m 0755 "$LAB/dev"
    for i in 0 1; do
        [[ -c $LAB/dev/fakegpu$i ]] || mknod -m 0666 "$LAB/dev/fakegpu$i" c 1 3 ||
            die "cannot create the fake GPU device $LAB/dev/fakegpu$i (mknod)"
    done
    printf '%s\n' "# Generated by scripts/slurm-dev-cluster.sh" "AutoDetect=off" \
        "NodeName=${REAL_NODES[0]} Name=gpu Type=fake File=$LAB/dev/fakegpu[0-1]" >"$LAB/etc/gres.conf"
    chmod 0644 "$LAB/etc/gres.conf"
    if ((accounting)); then
        write_slurmdbd_conf
        touch "$ACCT_MARKER"
    else
        rm -f "$ACCT_MARKER" "$LAB/etc/slurmdbd.conf"
    fi
}

# 22.05 slurmdbd has no -f: it reads slurmdbd.conf next to $SLURM_CONF. Must be 0600, SlurmUser.
write_slurmdbd_conf() {
    local pw f="$LAB/etc/slurmdbd.conf"
    pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    (umask 077; cat >"$f.tmp" <<EOF
# Generated by scripts/slurm-dev-cluster.sh up --accounting
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCK
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$LAB/etc/jwt_hs256.key
DbdAddr=127.0.0.1
DbdHost=$(hostname -s)
DbdPort=$DBD_PORT
SlurmUser=slurm
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$pw
StorageLoc=slurm_acct_db
LogFile=$LOG_DIR/slurmdbd.log
PidFile=$LAB/run/slurm/slurmdbd.pid
DebugLevel=info
EOF
    )
    chown slurm:slurm "$f.tmp"
    chmod 0600 "$f.tmp"
    mv "$f.tmp" "$f"
}

# -------------------------------------------------------------------------- start
munge_ok() { munge -n -S "$MUNGE_SOCK" | unmunge -S "$MUNGE_SOCK" >/dev/null; }

start_munged() {
    if daemon_pid_alive munged >/dev/null; then return 0; fi
    rm -f "$MUNGE_SOCK" "$MUNGE_SOCK.lock"
    spawn munged setpriv --reuid=munge --regid=munge --init-groups \
        /usr/sbin/munged --foreground --socket="$MUNGE_SOCK" --key-file="$LAB/munge/munge.key" \
        --pid-file="$LAB/munge/munged.pid" --seed-file="$LAB/munge/munged.seed" \
        --log-file="$LOG_DIR/munged.log"
    wait_daemons 10 munged munge_ok || { show_logs "$LOG_DIR/munged.out" "$LOG_DIR/munged.log"; die "munged did not come up"; }
    log "munged up (pid $(recorded_pid munged))"
}

db_sql() { mariadb --no-defaults -S "$DB_SOCK" -u root -N -B "$@"; }
db_ok() { db_sql -e 'SELECT 1'; }

# MariaDB on its own port and socket, data in <lab>/mysql (recreated on every fresh start).
start_mariadb() {
    if daemon_pid_alive mariadb >/dev/null; then return 0; fi
    install -d -m 0755 -o mysql -g mysql "$LAB/run/mysqld"
    touch "$LOG_DIR/mariadb.log"
    chown mysql:mysql "$LOG_DIR/mariadb.log"
    if [[ ! -d $LAB/mysql/mysql ]]; then
        rm -rf "$LAB/mysql"
        install -d -m 0700 -o mysql -g mysql "$LAB/mysql"
        mariadb-install-db --no-defaults --user=mysql --datadir="$LAB/mysql" \
            --auth-root-authentication-method=socket --skip-test-db \
            >"$LOG_DIR/mariadb-install.out" 2>&1 ||
            { show_logs "$LOG_DIR/mariadb-install.out"; die "mariadb-install-db failed"; }
        log "MariaDB data directory created"
    fi
    rm -f "$DB_SOCK"
    spawn mariadb /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$LAB/mysql" \
        --bind-address=127.0.0.1 --port="$DB_PORT" --socket="$DB_SOCK" \
        --pid-file="$LAB/run/mysqld/mariadbd.pid" --log-error="$LOG_DIR/mariadb.log" \
        --innodb-buffer-pool-size=256M --innodb-log-file-size=64M \
        --innodb-lock-wait-timeout=900 --max-allowed-packet=64M --skip-log-bin
    wait_daemons 60 mariadb db_ok ||
        { show_logs "$LOG_DIR/mariadb.out" "$LOG_DIR/mariadb.log"; die "MariaDB did not come up"; }
    local pw h sql="CREATE DATABASE IF NOT EXISTS slurm_acct_db;"
    pw=$(sed -n 's/^StoragePass=//p' "$LAB/etc/slurmdbd.conf")
    for h in 127.0.0.1 localhost; do
        sql+="CREATE USER IF NOT EXISTS 'slurm'@'$h'; ALTER USER 'slurm'@'$h' IDENTIFIED BY '$pw';"
        sql+="GRANT ALL ON slurm_acct_db.* TO 'slurm'@'$h';"
    done
    db_sql -e "$sql" || die "could not create the slurm_acct_db database/user"
    log "MariaDB up on 127.0.0.1:$DB_PORT (pid $(recorded_pid mariadb))"
}

sacct_ok() { sacctmgr -n list cluster; }

start_slurmdbd() {
    if ! daemon_pid_alive slurmdbd >/dev/null; then
        touch "$LOG_DIR/slurmdbd.log"
        chown slurm:slurm "$LOG_DIR/slurmdbd.log"
        spawn slurmdbd /usr/sbin/slurmdbd -D
    fi
    wait_daemons 30 "slurmdbd mariadb" sacct_ok ||
        { show_logs "$LOG_DIR/slurmdbd.out" "$LOG_DIR/slurmdbd.log"; die "slurmdbd did not answer sacctmgr"; }
    # Cluster, account and users (idempotent); they must exist before slurmctld starts.
    local u
    sacctmgr -n -P list cluster format=cluster | grep -qx lab ||
        sacctmgr -i add cluster lab >/dev/null
    sacctmgr -n -P list account format=account | grep -qx lab ||
        sacctmgr -i add account lab Cluster=lab Description=lab Organization=lab >/dev/null
    for u in root "$LAB_USER" "$REST_USER" nobody; do
        sacctmgr -n -P list user format=user | grep -qx "$u" ||
            sacctmgr -i add user "$u" Account=lab >/dev/null
    done
    # A QOS with limits and a second account with Grp limits, the non-root user in both
    # accounts and allowed the QOS: data for the qos, associations and fairshare
    # collectors (the workload runs jobs there).
    sacctmgr -n -P list qos format=name | grep -qx lab_high ||
        sacctmgr -i add qos lab_high Priority=10 UsageFactor=2 GrpTRES=cpu=6 GrpJobs=4 \
            GrpSubmitJobs=8 MaxTRESPerUser=cpu=4 MaxJobsPerUser=3 MaxSubmitJobsPerUser=5 \
            MaxWall=02:00:00 >/dev/null
    sacctmgr -n -P list account format=account | grep -qx physics ||
        sacctmgr -i add account physics Cluster=lab Description=physics Organization=lab \
            Parent=root Fairshare=2 GrpTRES=cpu=4,mem=4000 GrpJobs=3 GrpSubmitJobs=6 >/dev/null
    sacctmgr -n -P list assoc account=physics user="$LAB_USER" format=user | grep -qx "$LAB_USER" ||
        sacctmgr -i add user "$LAB_USER" Account=physics >/dev/null
    sacctmgr -i modify user "$LAB_USER" set qos+=lab_high >/dev/null || true
    log "slurmdbd up on 127.0.0.1:$DBD_PORT (pid $(recorded_pid slurmdbd)), cluster lab registered"
}

start_slurmctld() {   # fresh (1: empty state, 0: recover the saved jobs and nodes)
    if daemon_pid_alive slurmctld >/dev/null; then return 0; fi
    # argv[0] must be "slurmctld" (the alternatives link) or auth/jwt is silently skipped.
    # -c: start from empty job/node state (job ids restart); -i: ignore state file errors.
    if (($1)); then
        spawn slurmctld /usr/sbin/slurmctld -D -c -i -f "$CONF"
    else
        spawn slurmctld /usr/sbin/slurmctld -D -i -f "$CONF"
    fi
}

start_slurmds() {
    local n
    for n in "${REAL_NODES[@]}"; do
        daemon_pid_alive "slurmd-$n" >/dev/null && continue
        spawn "slurmd-$n" /usr/sbin/slurmd -D -N "$n" -f "$CONF"
    done
}

start_slurmrestd() {
    if daemon_pid_alive slurmrestd >/dev/null; then return 0; fi
    # slurmrestd refuses to run as root or SlurmUser: run it as its own system user.
    # (In 22.05 the db plugins make it exit when accounting is off.)
    local plugins=$REST_PLUGINS
    if accounting_on; then plugins+=",$REST_DB_PLUGINS"; fi
    spawn slurmrestd env SLURM_JWT=daemon MALLOC_ARENA_MAX=2 \
        setpriv --reuid="$REST_USER" --regid="$REST_USER" --clear-groups \
        /usr/sbin/slurmrestd -a rest_auth/jwt -s "$plugins" "127.0.0.1:$REST_PORT"
}

ctld_ok() { scontrol ping 2>/dev/null | grep -q 'is UP'; }

# All real nodes registered (state without '*', not unknown/down).
nodes_ok() {
    local out n st
    out=$(sinfo -h -N -n "$(IFS=,; echo "${REAL_NODES[*]}")" -o '%N %t' 2>/dev/null | sort -u) || return 1
    for n in "${REAL_NODES[@]}"; do
        st=$(awk -v n="$n" '$1 == n { print $2; exit }' <<<"$out")
        [[ -n $st && $st != *'*' && $st != unk* && $st != down* && $st != fail* ]] || return 1
    done
}

get_token() {   # user lifespan
    local out
    out=$(scontrol token username="$1" lifespan="$2") || return 1
    out=${out#SLURM_JWT=}
    [[ -n $out ]] || return 1
    printf '%s\n' "$out"
}

rest_code() {   # path [token] -> HTTP status code
    local tok=${2:-}
    curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
        -H "X-SLURM-USER-NAME: root" -H "X-SLURM-USER-TOKEN: $tok" "$REST_URL$1" || true
}

rest_ok() {
    local tok
    tok=$(get_token root 300) || return 1
    [[ $(rest_code /slurm/v0.0.38/ping "$tok") == 200 ]]
}

all_alive() {
    local d
    for d in $(daemon_names); do daemon_pid_alive "$d" >/dev/null || return 1; done
}

any_alive() {
    local d
    for d in $(daemon_names); do daemon_pid_alive "$d" >/dev/null && return 0; done
    return 1
}

cmd_up() {
    need_root
    local accounting=0
    case ${1:-} in
        "") ;;
        --accounting) accounting=1 ;;
        *) die "up: unknown option '$1' (only --accounting)" ;;
    esac
    if [[ -f $MARKER ]] && any_alive; then
        if ((accounting)) && ! accounting_on; then
            die "cluster is running without accounting; run '$0 down' first"
        fi
        if accounting_on; then accounting=1; fi   # keep the running mode
    fi
    if [[ -f $MARKER ]] && all_alive && ctld_ok && nodes_ok; then
        log "cluster already up$(accounting_on && echo ' with accounting') (lab $LAB)"
        return 0
    fi
    if ((accounting)); then
        install_packages "${PACKAGES[@]}" "${ACCT_PACKAGES[@]}"
    else
        install_packages "${PACKAGES[@]}"
    fi
    log "packages present"
    pin_alternatives
    ensure_users
    make_dirs
    check_lab_traversable
    make_keys
    local fresh=1
    if any_alive && [[ -s $CONF ]]; then
        log "some daemons are running: keeping $CONF and slurmctld state, starting the missing ones"
        fresh=0
    else
        if ((accounting)); then rm -rf "$LAB/mysql"; fi   # fresh database with fresh slurmctld state
        write_slurm_conf
        log "wrote $CONF$(accounting_on && echo ' and slurmdbd.conf')"
    fi
    start_munged
    if accounting_on; then
        start_mariadb
        start_slurmdbd
    fi
    start_slurmctld "$fresh"
    wait_daemons 30 slurmctld ctld_ok || { show_logs "$LOG_DIR/slurmctld.out" "$LOG_DIR/slurmctld.log"; die "slurmctld did not answer 'scontrol ping' (run '$0 down' to clean up)"; }
    log "slurmctld up (pid $(recorded_pid slurmctld))"
    start_slurmds
    start_slurmrestd
    if ! wait_daemons 30 "slurmctld ${REAL_NODES[*]/#/slurmd-}" nodes_ok; then
        sinfo -N >&2 || true
        local n; for n in "${REAL_NODES[@]}"; do show_logs "$LOG_DIR/slurmd-$n.out" "$LOG_DIR/slurmd-$n.log"; done
        die "nodes ${REAL_NODES[*]} did not become ready (run '$0 down' to clean up)"
    fi
    log "slurmd ${REAL_NODES[*]} up and registered"
    if ! wait_daemons 20 "slurmctld slurmrestd" rest_ok; then
        show_logs "$LOG_DIR/slurmrestd.out"
        die "slurmrestd did not answer GET /slurm/v0.0.38/ping with 200 (run '$0 down' to clean up)"
    fi
    log "slurmrestd up on $REST_URL (pid $(recorded_pid slurmrestd))"
    all_alive || { cmd_status >&2 || true; die "a daemon died during start-up"; }
    log "cluster ready in $(elapsed) s (lab $LAB)"
    echo "Use it with:  eval \"\$($0 env)\""
}

# --------------------------------------------------------------------------- stop
# Processes that carry this lab's SLURM_CONF and are job processes (SLURM_JOB_ID set) or
# one of the lab's daemons by name, excluding this script and its ancestors. Other
# programs pointed at the lab (e.g. an exporter under test) are left alone.
lab_leftovers() {
    local skip=" $$ " p=$$ pid env comm d stat
    while [[ $p -gt 1 ]]; do
        # The name (field 2) may hold spaces and parentheses: read past its last ')'.
        stat=$(cat "/proc/$p/stat" 2>/dev/null) || stat=") ? 1"
        read -r _ p _ <<<"${stat##*) }"
        skip+="$p "
    done
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        [[ $skip == *" $pid "* ]] && continue
        env=$(proc_file "$pid" environ '\n')
        [[ -n $env ]] || continue
        grep -Fxq "SLURM_CONF=$CONF" <<<"$env" || continue
        comm=$(proc_file "$pid" comm ' ')
        if grep -q '^SLURM_JOB_ID=' <<<"$env" ||
           [[ " slurmstepd slurmd slurmctld slurmrestd slurmdbd mariadbd " == *" ${comm%-wlm} "* ]]; then
            echo "$pid"
        fi
    done
}

# SIGTERM the given daemons, wait up to $1 s, then SIGKILL what is left.
stop_daemons() {
    local timeout=$1; shift
    local d pid pids=() names=()
    for d in "$@"; do
        if pid=$(daemon_pid_alive "$d"); then
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid"); names+=("$d")
        fi
        rm -f "$PID_DIR/$d.pid"
    done
    ((${#pids[@]})) || return 0
    local i alive
    for ((i = 0; i < timeout * 5; i++)); do
        alive=0
        for pid in "${pids[@]}"; do running "$pid" && alive=1; done
        ((alive)) || break
        sleep 0.2
    done
    for i in "${!pids[@]}"; do
        if running "${pids[$i]}"; then
            log "${names[$i]} (pid ${pids[$i]}) ignored SIGTERM; sending SIGKILL"
            kill -KILL "${pids[$i]}" 2>/dev/null || true
        fi
    done
    log "stopped ${names[*]}"
}

# The running cluster was configured with the fake GPUs (older labs were not).
gres_on() { grep -q '^GresTypes=gpu' "$CONF"; }

no_active_jobs() { [[ -z $(squeue -h -t R,S,CG,CF -o %i 2>/dev/null) ]]; }

cmd_down() {
    need_root
    local purge=0
    case ${1:-} in
        "") ;;
        --purge) purge=1 ;;
        *) die "down: unknown option '$1'" ;;
    esac
    if [[ -d $LAB ]]; then
        if daemon_pid_alive slurmctld >/dev/null && ctld_ok; then
            local jobs
            jobs=$(squeue -h -t all -o %F 2>/dev/null | sort -un | tr '\n' ' ')
            if [[ -n ${jobs// /} ]]; then
                log "cancelling jobs"
                # shellcheck disable=SC2086
                scancel $jobs 2>/dev/null || true
                wait_for 20 no_active_jobs || log "jobs still active after 20 s; killing leftovers later"
            fi
        fi
        stop_daemons 10 slurmrestd "${REAL_NODES[@]/#/slurmd-}"
        stop_daemons 15 slurmctld
        stop_daemons 15 slurmdbd
        stop_daemons 30 mariadb
        local left
        left=$(lab_leftovers | tr '\n' ' ')
        if [[ -n ${left// /} ]]; then
            log "killing leftover processes: $(for p in $left; do printf '%s(%s) ' "$p" "$(proc_file "$p" comm ' ')"; done)"
            # shellcheck disable=SC2086
            kill -TERM $left 2>/dev/null || true
            sleep 1
            left=$(lab_leftovers | tr '\n' ' ')
            # shellcheck disable=SC2086
            [[ -z ${left// /} ]] || kill -KILL $left 2>/dev/null || true
        fi
        stop_daemons 10 munged
        rm -f "$PID_DIR"/*.pid "$MUNGE_SOCK" "$MUNGE_SOCK.lock"
    fi
    if ((purge)) && [[ -d $LAB ]]; then
        [[ -f $MARKER ]] || die "$LAB does not look like a lab directory (no $(basename "$MARKER")); not deleting"
        rm -rf -- "$LAB"
        log "deleted $LAB"
    fi
    log "cluster down ($(elapsed) s)"
}

# One daemon by name: `stop NAME...` (SIGTERM, SIGKILL after 15 s; `up` starts it again)
# and `pid NAME`. For fault tests; the other daemons keep running.
check_daemon_names() {
    local d
    [[ $# -gt 0 ]] || die "name a daemon: $(daemon_names | tr '\n' ' ')"
    for d in "$@"; do
        grep -Fxq -- "$d" <<<"$(daemon_names)" || die "unknown daemon '$d' (one of: $(daemon_names | tr '\n' ' '))"
    done
}

cmd_stop() {
    need_root
    check_daemon_names "$@"
    stop_daemons 15 "$@"
}

cmd_pid() {
    check_daemon_names "$@"
    [[ $# -eq 1 ]] || die "pid takes one daemon name"
    daemon_pid_alive "$1" || die "$1 is not running"
}

# ------------------------------------------------------------------------- status
cmd_status() {
    local d pid ok=0
    echo "lab: $LAB"
    echo "SLURM_CONF=$CONF"
    printf '%-12s %-8s %s\n' DAEMON PID STATE
    for d in $(daemon_names); do
        if pid=$(daemon_pid_alive "$d"); then
            printf '%-12s %-8s %s\n' "$d" "$pid" alive
        else
            pid=$(recorded_pid "$d" || echo -)
            printf '%-12s %-8s %s\n' "$d" "$pid" DEAD
            ok=1
        fi
    done
    echo "ports: slurmctld $CTLD_PORT, slurmd $SLURMD_PORT+, slurmrestd $REST_PORT$(accounting_on && echo ", slurmdbd $DBD_PORT, MariaDB $DB_PORT")"
    if ((ok == 0)); then
        sinfo || ok=1
        ctld_ok || ok=1
    fi
    return $ok
}

# ----------------------------------------------------------------------- workload
sb()    { sbatch --parsable -o /dev/null "$@" | cut -d';' -f1; }
sb_as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups sbatch --parsable -o /dev/null "$@" | cut -d';' -f1; }

# Settled: nothing configuring/completing, no pending job still waiting for its first
# scheduling pass (reason None), none of the given short jobs running.
settled() {
    local out
    out=$(squeue -h -t all -r -o '%i|%t|%r' 2>/dev/null) || return 1
    ! grep -Eq '^[^|]+\|(CF|CG)\|' <<<"$out" || return 1
    ! grep -Eq '^[^|]+\|PD\|None$' <<<"$out" || return 1
    local j
    for j in "$@"; do ! grep -Eq "^$j\|R\|" <<<"$out" || return 1; done
}

cmd_workload() {
    need_root
    if ! all_alive || ! ctld_ok; then die "cluster is not up; run: $0 up"; fi
    local t0=$EPOCHREALTIME
    cd "$LAB/work"   # world-readable working directory for every user's jobs
    local jt jf jc
    log "submitting short jobs (COMPLETED / FAILED / CANCELLED)"
    jt=$(sb -p debug -J lab-true --wrap true)
    jf=$(sb -p batch -J lab-false --wrap false)
    jc=$(sb -p debug -J lab-cancelled --hold --wrap 'sleep 600')
    scancel "$jc"
    # For the accounting collector: a non-zero exit, a job killed by a signal, a job
    # that burns 2 s of CPU, and a job of the second account (labuser is in `lab`).
    local je js jb jl
    je=$(sb -p batch -J lab-exit3 --wrap 'exit 3')
    js=$(sb -p debug -J lab-signal --wrap 'kill -KILL $$')
    jb=$(sb -p debug -J lab-burn --wrap 'timeout 2 sh -c "while :; do :; done"; true')
    jl=$(sb_as "$LAB_USER" -p batch -J labuser-true --wrap true)
    # For memory efficiency: a 120 MiB string in perl (perl-base is always there) holds
    # its step's resident set at ~126 MiB for 2 s, sampled by jobacct_gather every
    # second: MaxRSS / --mem=400 is ~0.32 (the other short jobs end before a sample).
    local jm
    jm=$(sb -p debug -J lab-mem --mem=400 --wrap 'perl -e "vec(\$x, (120 << 20) - 1, 8) = 1; sleep 2"')
    wait_for 20 settled "$jt" "$jf" "$je" "$js" "$jb" "$jl" "$jm" || log "short jobs not finished after 20 s (nodes busy from an earlier run?)"
    # 8 CPUs in total (n1, n2: 4 each). Running: 3 single-CPU jobs + 2 tasks of the %2
    # array + 1 task of the -c 2 array = 7 CPUs, packed n1 first, so n2 keeps 1 free CPU
    # and shows MIXED+DRAIN ("drng") once drained. Jobs submitted after the drain stay
    # pending (nothing free on n1, n2 drained).
    log "submitting running jobs"
    sb -p debug -J sleep-debug --mem=1000 --wrap 'sleep 600' >/dev/null
    local gpu=()
    if gres_on; then gpu=(--gres=gpu:fake:1); fi
    sb -p batch -J sleep-license -L lab_lic:2 "${gpu[@]}" --wrap 'sleep 600' >/dev/null
    # With accounting the non-root user's jobs run in account physics under QOS lab_high
    # (usage for the qos, associations and fairshare collectors); same CPUs either way.
    local acct=()
    if accounting_on; then acct=(-A physics -q lab_high -t 60); fi
    # GPUs asked for each way the users collector counts: --gres (above), --gpus here
    # (running, lands on n1 like the jobs before it), --gpus-per-task and
    # --gpus-per-node on pending jobs below.
    local gpus=() per_task=() per_node=()
    if gres_on; then gpus=(--gpus=1); per_task=(-n 2 --gpus-per-task=1); per_node=(--gpus-per-node=1); fi
    sb_as "$LAB_USER" -p batch -J labuser-sleep "${acct[@]}" "${gpus[@]}" --wrap 'sleep 600' >/dev/null
    sb -p batch -J array-limited --array=1-20%2 --wrap 'sleep 600' >/dev/null
    sb -p debug -J array-c2 --array=1-4 -c 2 --wrap 'sleep 600' >/dev/null
    wait_for 20 settled || log "WARNING: queue not settled after 20 s"
    log "draining n2"
    scontrol update NodeName=n2 State=DRAIN Reason="lab drain test"
    log "submitting pending jobs"
    sb -p debug -J held --hold "${per_node[@]}" --wrap 'sleep 600' >/dev/null
    sb -p debug -J 'my job | with, spaces; and a very long name 1234567890' --wrap 'sleep 600' >/dev/null
    sb_as "$LAB_USER" -p debug -J labuser-pending "${acct[@]}" "${per_task[@]}" --wrap 'sleep 600' >/dev/null
    sb -p debug,batch -J two-partitions --wrap 'sleep 600' >/dev/null
    sb -p batch -J big-pending -c 4 --wrap 'sleep 600' >/dev/null
    sb -p batch -J two-nodes -N 2 --wrap 'sleep 600' >/dev/null   # autoscaling hint: 2 nodes
    wait_for 20 settled || log "WARNING: queue not settled after 20 s"
    # A maintenance reservation a week ahead: visible to the reservations collector,
    # no effect on the jobs above (their time limits end long before).
    if ! scontrol -o show reservation lab_maint >/dev/null 2>&1; then
        log "creating reservation lab_maint (in 7 days, 60 min, all nodes)"
        scontrol create reservation ReservationName=lab_maint StartTime=now+7days Duration=60 \
            Nodes=ALL Users=root Flags=MAINT >/dev/null
    fi
    log "workload done in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }') s"
    squeue -t all
    sinfo
}

# -------------------------------------------------------------------------- token
cmd_token() {
    local file="" user=root life=3600
    if [[ ${1:-} == --file ]]; then
        [[ -n ${2:-} ]] || die "token --file needs a path"
        file=$2; shift 2
    fi
    [[ -n ${1:-} ]] && user=$1
    [[ -n ${2:-} ]] && life=$2
    local tok
    tok=$(get_token "$user" "$life") || die "scontrol token failed (is the cluster up? run: $0 up)"
    if [[ -n $file ]]; then
        (umask 077; printf '%s' "$tok" >"$file.tmp.$$")   # no trailing newline
        chmod 0600 "$file.tmp.$$"
        mv "$file.tmp.$$" "$file"
        log "token for $user (lifespan $life s) written to $file"
    else
        printf '%s\n' "$tok"
    fi
}

cmd_env() {
    printf 'export SLURM_CONF=%q\n' "$CONF"
    printf 'export SLURM_LAB_DIR=%q\n' "$LAB"
    printf 'export SLURM_LAB_REST_URL=%q\n' "$REST_URL"
}

usage() {
    sed -n '4,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit "${1:-2}"
}

main() {
    local cmd=${1:-}
    [[ $# -gt 0 ]] && shift
    case $cmd in
        up) cmd_up "$@" ;;
        down) cmd_down "$@" ;;
        status) cmd_status "$@" ;;
        token) cmd_token "$@" ;;
        workload) cmd_workload "$@" ;;
        env) cmd_env "$@" ;;
        stop) cmd_stop "$@" ;;
        pid) cmd_pid "$@" ;;
        -h|--help|help) usage 0 ;;
        *) usage 2 ;;
    esac
}

main "$@"

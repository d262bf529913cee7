#!/usr/bin/env bash
# Soak run: two release exporters on a real lab under a steady scrape load and one fault per
# minute; fails when RSS, threads or descriptors grow, an exporter dies, or the collectors
# are not all up again after the last fault (docs/operations.md, "Soak run").
#
# Usage: scripts/soak.sh [--minutes N] [--keep] [soak.py run options...]
#        scripts/soak.sh --self-test      the flatness verdict against stand-in processes
#                                         (flat passes, leaking/dying fail); no lab, ~30 s
#
#   --minutes N   length of the load + fault phase (default 30; `--minutes 3` for CI: a fault
#                 every 30 s then, so each kind happens once)
#   --keep        keep the state directory (logs, samples.jsonl) and print its path
#   other options go to scripts/soak.py (`scripts/soak.py --help`): --fault-interval,
#   --scrapers, --rate, --sample-interval, --collection-interval, --port-base, ...
#
# Brings up its own lab with accounting (scripts/slurm-dev-cluster.sh, same SLURM_LAB_*
# variables; defaults below keep it apart from the default lab) plus its workload, builds
# the release binary, runs scripts/soak.py and on any exit stops the exporters (by PID) and
# the lab when this run brought it up (a lab that was already running is left up).
# Exporters listen on 127.0.0.1:$SOAK_PORT_BASE+1 (CLI) and +2 (REST); default base 17300.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"
py=/usr/bin/python3

if [[ ${1:-} == --self-test ]]; then
    state=$(mktemp -d "${TMPDIR:-/tmp}/slurm-exporter-soak-selftest.XXXXXX")
    trap 'rm -rf "$state"' EXIT
    "$py" scripts/soak.py self-test --state-dir "$state"
    exit
fi

minutes=30 keep= pass=()
while (($#)); do
    case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --minutes=*) minutes=${1#*=}; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) pass+=("$1"); shift ;;
    esac
done

export SLURM_LAB_DIR=${SLURM_LAB_DIR:-/tmp/slurm-lab-soak}
export SLURM_LAB_CTLD_PORT=${SLURM_LAB_CTLD_PORT:-17417}
export SLURM_LAB_SLURMD_PORT=${SLURM_LAB_SLURMD_PORT:-17430}
export SLURM_LAB_REST_PORT=${SLURM_LAB_REST_PORT:-17420}
export SLURM_LAB_DBD_PORT=${SLURM_LAB_DBD_PORT:-17419}
export SLURM_LAB_DB_PORT=${SLURM_LAB_DB_PORT:-17406}
port_base=${SOAK_PORT_BASE:-17300}
lab=scripts/slurm-dev-cluster.sh

state=$(mktemp -d "${TMPDIR:-/tmp}/slurm-exporter-soak.XXXXXX")
lab_started= soak_pid=
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $soak_pid ]] && kill -0 "$soak_pid" 2>/dev/null; then
        kill -TERM "$soak_pid" 2>/dev/null || true   # it stops its exporters on SIGTERM
        wait "$soak_pid" 2>/dev/null || true
    fi
    # soak.py stops its exporters itself; this covers it being killed. By recorded PID only.
    if [[ -f $state/pids ]]; then
        "$py" -c 'import sys; sys.path.insert(0, "deploy/monitoring/tests")
from livetools import terminate
terminate([int(l.split()[1]) for l in open(sys.argv[1] + "/pids")], sys.argv[1])' "$state" || true
    fi
    if [[ -n $lab_started ]]; then
        "$lab" down >/dev/null 2>&1 || echo "soak: could not stop the lab in $SLURM_LAB_DIR" >&2
    elif ! "$lab" pid slurmctld >/dev/null 2>&1; then
        "$lab" up --accounting >/dev/null 2>&1 || echo "soak: could not restart the lab's slurmctld" >&2
    fi
    if [[ -n $keep ]]; then
        echo "soak: logs and samples kept in $state" >&2
    else
        if ((rc)); then
            echo "soak: failed; last lines of the exporter logs:" >&2
            tail -n 5 "$state"/exporter-*.log >&2 2>/dev/null || true
        fi
        rm -rf "$state"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t0=$SECONDS
"$lab" pid munged >/dev/null 2>&1 || lab_started=1   # nothing of the lab runs yet
"$lab" up --accounting >/dev/null
eval "$("$lab" env)"
if [[ -z "$(squeue -h -t running -o %i)" ]]; then
    "$lab" workload >/dev/null
fi
echo "soak: lab up in $SLURM_LAB_DIR ($((SECONDS - t0)) s)" >&2
cargo build --quiet --release --bin slurm-exporter
exporter=${CARGO_TARGET_DIR:-target}/release/slurm-exporter

# In the background and waited for, so that a SIGTERM/SIGINT to this script runs the trap at
# once (bash defers traps until a foreground child exits).
"$py" scripts/soak.py run --state-dir "$state" --exporter "$exporter" --lab "$lab" \
    --lab-up-arg=--accounting --minutes "$minutes" --port-base "$port_base" "${pass[@]}" &
soak_pid=$!
wait "$soak_pid"
soak_pid=
echo "soak: finished in $((SECONDS - t0)) s" >&2

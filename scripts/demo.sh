#!/usr/bin/env bash
# The end-to-end stack of scripts/e2e.sh, left running for a look in the browser:
#   scripts/demo.sh [up]    local Slurm cluster (with accounting and a workload), two
#                           exporters (CLI and REST source), Prometheus with the bundle's
#                           rules, Alertmanager with the bundle's routing, and sinks that
#                           record every notification; prints the URLs
#   scripts/demo.sh down    stops every process `up` started, by the PIDs it recorded in
#                           .demo/pids, and the lab if `up` brought it up (one that was
#                           already running stays up)
# Everything listens on 127.0.0.1 (free ports picked at start). Rules and Alertmanager run
# through the fast overlay (deploy/monitoring/tests/fast_overlay.py: waiting times / 60), so
# a fault shows as an alert within seconds: try
#   scripts/slurm-dev-cluster.sh stop slurmctld     (then: scripts/slurm-dev-cluster.sh up --accounting)
# and watch Alertmanager, or the notifications at <sinks>/records (and .demo/sinks.jsonl).
# Installs prometheus, prometheus-alertmanager, python3-yaml and openssl from Debian when
# missing (as root).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"
state=$PWD/.demo
stack=deploy/monitoring/tests/e2e_stack.py

case ${1:-up} in
down)
    if [[ -f $state/pids ]]; then
        /usr/bin/python3 "$stack" down --state-dir "$state"
    else
        echo "demo: nothing to stop (no $state/pids)"
    fi
    # The lab too, when `up` started it (the lab script stops its daemons by their PIDs).
    if [[ -f $state/lab-started ]]; then
        scripts/slurm-dev-cluster.sh down
        rm -f "$state/lab-started"
    fi
    exit 0
    ;;
up) ;;
*)
    echo "usage: scripts/demo.sh [up|down]" >&2
    exit 2
    ;;
esac

if [[ -f $state/pids ]]; then
    echo "demo: already running (scripts/demo.sh down first); its URLs:" >&2
    /usr/bin/python3 -c 'import json,sys; [print(f"{k:14} {v}") for k, v in json.load(open(sys.argv[1]))["urls"].items()]' \
        "$state/state.json"
    exit 1
fi
scripts/install-monitoring-tools.sh

lab=scripts/slurm-dev-cluster.sh
lab_started=
"$lab" pid munged >/dev/null 2>&1 || lab_started=1   # nothing of the lab runs yet
"$lab" up --accounting
eval "$("$lab" env)"
if [[ -z "$(squeue -h -t running -o %i)" ]]; then
    "$lab" workload >/dev/null
fi
cargo build --quiet --bin slurm-exporter
rm -rf "$state"
mkdir -p "$state"
[[ -z $lab_started ]] || touch "$state/lab-started"
/usr/bin/python3 "$stack" up --detach --state-dir "$state" \
    --exporter "${CARGO_TARGET_DIR:-target}/debug/slurm-exporter"
cat <<EOF

demo: running. Exporters ask for basic auth (user prometheus, password change-me) over
TLS with a self-signed certificate (curl -k -u prometheus:change-me URL/metrics).
Prometheus: /alerts and /graph; Alertmanager: its UI; sinks: /records (every notification).
Logs and data in $state. Stop with: scripts/demo.sh down
EOF

#!/usr/bin/env bash
# End-to-end test of the whole alerting chain on 127.0.0.1, with faults:
#   local Slurm cluster -> slurm-exporter (CLI and REST source, two targets) -> Prometheus
#   (Debian's prometheus, the bundle's rules) -> Alertmanager (Debian's
#   prometheus-alertmanager, the bundle's config rendered by render-alertmanager.py) ->
#   local sinks for PagerDuty, Slack, email (SMTP) and the SOC webhook.
# Rules and Alertmanager timings go through the generated fast overlay
# (deploy/monitoring/tests/fast_overlay.py: every `for:`, evaluation and grouping interval
# divided by 60). Runs five scenarios (healthy, controller down, exporter down,
# authentication failure, stale data) and prints a pass/fail table with timings; the
# scenarios are in deploy/monitoring/tests/e2e.py and e2e_scenarios.py.
#
# Uses the lab of this checkout (scripts/slurm-dev-cluster.sh) and stops/SIGSTOPs its
# slurmctld; a lab that was up is left up and healthy at the end, one it brought up itself
# (with accounting) is stopped again. Every process it starts is stopped by PID at the end,
# on failure too. Stops by itself after
# E2E_TIME_LIMIT seconds (default 420). Installs prometheus, prometheus-alertmanager,
# python3-yaml and openssl from Debian when missing (as root). About 2-3 minutes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"
limit=${E2E_TIME_LIMIT:-420}

scripts/install-monitoring-tools.sh

lab=scripts/slurm-dev-cluster.sh
[[ -n ${SLURM_CONF:-} ]] || eval "$("$lab" env)"
lab_started=
"$lab" pid munged >/dev/null 2>&1 || lab_started=1   # nothing of the lab runs yet
"$lab" up --accounting >/dev/null                    # starts only what is missing
if [[ -z "$(squeue -h -t running -o %i)" ]]; then
    "$lab" workload >/dev/null
fi
cargo build --quiet --bin slurm-exporter
exporter=${CARGO_TARGET_DIR:-target}/debug/slurm-exporter

state=$(mktemp -d "${TMPDIR:-/tmp}/slurm-exporter-e2e.XXXXXX")
cleanup() {
    local rc=$?
    # The Python side stops its processes itself; this covers it being killed. By PID only.
    /usr/bin/python3 deploy/monitoring/tests/e2e_stack.py down --state-dir "$state" >/dev/null 2>&1 || true
    # Never leave the lab's slurmctld stopped (SIGSTOP) or down.
    local pid
    if pid=$("$lab" pid slurmctld 2>/dev/null); then
        kill -CONT "$pid" 2>/dev/null || true
    else
        "$lab" up --accounting >/dev/null 2>&1 || echo "e2e: could not restart the lab's slurmctld" >&2
    fi
    if ((rc)) && [[ -z ${E2E_KEEP:-} ]]; then
        echo "e2e: failed; last lines of the logs in $state:" >&2
        tail -n 5 "$state"/*.log >&2 2>/dev/null || true
    fi
    [[ -n ${E2E_KEEP:-} ]] && echo "e2e: logs and sink records kept in $state" || rm -rf "$state"
    # A lab this run brought up is stopped again (by its recorded PIDs); one that was up stays up.
    [[ -z $lab_started ]] || "$lab" down >/dev/null 2>&1 || true
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== e2e: live chain Slurm -> exporter -> Prometheus -> Alertmanager -> sinks (limit ${limit}s)"
timeout --kill-after=15 "$limit" /usr/bin/python3 deploy/monitoring/tests/e2e.py \
    --state-dir "$state" --exporter "$exporter"

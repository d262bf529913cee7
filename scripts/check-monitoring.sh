#!/usr/bin/env bash
# Runs every check of the monitoring bundle (deploy/monitoring, deploy/kubernetes,
# deploy/systemd, docs/runbooks) with the real tools, against the local Slurm cluster:
#   rules          promtool lint + unit tests of prometheus-rules.yaml, conventions, coverage
#   alertmanager   render script, amtool check-config, templates, every route, inhibition on a
#                  live Alertmanager
#   metric names   every metric of rules, dashboards and runbooks exists in a live /metrics
#                  (the exporter run against the lab), a recording rule, or the external list
#   dashboards / kubernetes / systemd: their own scripts (deploy/*/tests/check-*.sh)
# Called by scripts/test.sh after the cluster is up. To add a check, add one `step` line.
# Installs what it needs from Debian (prometheus, prometheus-alertmanager, python3-yaml).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

step() {
    local name=$1
    shift
    printf '\n== monitoring: %s\n' "$name"
    local start=$SECONDS
    "$@"
    printf -- '-- %s: ok (%ss)\n' "$name" $((SECONDS - start))
}

scripts/install-monitoring-tools.sh
py=/usr/bin/python3   # Debian's, with python3-yaml

if [[ -z "${SLURM_CONF:-}" ]]; then
    eval "$(scripts/slurm-dev-cluster.sh env)"
fi
cargo build --quiet

step "rules" "$py" deploy/monitoring/tests/check_rules.py
step "alertmanager" "$py" deploy/monitoring/tests/check_alertmanager.py
step "metric names" "$py" deploy/monitoring/tests/check_metric_names.py \
    --exporter "${CARGO_TARGET_DIR:-target}/debug/slurm-exporter"
step "dashboards" deploy/monitoring/tests/check-dashboards.sh
step "kubernetes" deploy/kubernetes/tests/check-kubernetes.sh
step "systemd" deploy/systemd/tests/check-systemd.sh
printf '\n== monitoring: all checks passed\n'

#!/usr/bin/env bash
# Checks the Grafana dashboards (deploy/monitoring/grafana-dashboard*.json) without Grafana:
#   static: JSON, schema sanity, variables, grid, every PromQL query parses (promtool);
#   live:   two exporters (CLI and REST source, both serving TLS with a throwaway
#           certificate) run against the local Slurm cluster, a real
#           Prometheus scrapes them every second (with the bundle's rules loaded when
#           deploy/monitoring/prometheus-rules.yaml exists), and every panel query must
#           return data, except the few listed in check_dashboards.py (NO_DATA_OK).
#   schema: each file is type-checked against Grafana's own dashboard schema (npm
#           @grafana/schema + tsc; see grafana-schema/dashtype.ts).
# Needs: promtool and prometheus (Debian package prometheus), python3 with PyYAML, npm (the
# first run installs grafana-schema/package.json into ~/.cache/slurm-exporter-checks), cargo,
# and the local cluster up (scripts/slurm-dev-cluster.sh up). About 30 s.
# --static-only skips the live part.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
here=deploy/monitoring/tests
dashboards=(deploy/monitoring/grafana-dashboards.json deploy/monitoring/grafana-dashboard-cluster.json)

# Grafana's schema, through TypeScript: every dashboard as a typed object literal.
cache=${XDG_CACHE_HOME:-$HOME/.cache}/slurm-exporter-checks/grafana-schema
mkdir -p "$cache"
cp "$here/grafana-schema/package.json" "$here/grafana-schema/dashtype.ts" "$cache/"
if ! (cd "$cache" && npm ls --silent >/dev/null 2>&1); then
    (cd "$cache" && npm install --silent --no-audit --no-fund >/dev/null)
fi
{
    echo 'import type { CheckedDashboard } from "./dashtype.js";'
    i=0
    for d in "${dashboards[@]}"; do
        printf '// %s\nexport const d%d: CheckedDashboard = ' "$d" "$i"
        cat "$d"
        echo ';'
        i=$((i + 1))
    done
} >"$cache/dashboards.ts"
if ! (cd "$cache" && node node_modules/typescript/bin/tsc --noEmit --strict --module nodenext \
        --moduleResolution nodenext --skipLibCheck dashboards.ts); then
    echo "ERROR the dashboards do not fit Grafana's schema (@grafana/schema); lines refer to $cache/dashboards.ts" >&2
    exit 1
fi
echo "dashboards: fit Grafana's dashboard schema (@grafana/schema $(cd "$cache" && node -p 'require("@grafana/schema/package.json").version'))"

if [[ ${1:-} == --static-only ]]; then
    exec python3 "$here/check_dashboards.py" "${dashboards[@]}"
fi

for tool in promtool prometheus; do
    command -v "$tool" >/dev/null || { echo "$tool missing: apt-get install prometheus" >&2; exit 1; }
done
# The lab of this checkout, unless the caller already points at one (SLURM_CONF).
[[ -n ${SLURM_CONF:-} ]] || eval "$(scripts/slurm-dev-cluster.sh env)"
scontrol ping >/dev/null 2>&1 || { echo "local Slurm cluster is not up: scripts/slurm-dev-cluster.sh up" >&2; exit 1; }
cargo build --quiet --bin slurm-exporter
exporter=${CARGO_TARGET_DIR:-target}/debug/slurm-exporter

tmp=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

read -r p_cli p_rest p_prom < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')

(umask 077; scontrol token username=root lifespan=3600 | sed -n 's/^SLURM_JWT=//p' | tr -d '\n' >"$tmp/jwt")
[[ -s $tmp/jwt ]] || { echo "scontrol token failed" >&2; exit 1; }
# Both serve TLS (a throwaway self-signed certificate), so the TLS panels have data too.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$tmp/tls.key" -out "$tmp/tls.crt" 2>/dev/null
printf 'tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n' >"$tmp/web.yml"
# The collectors that need slurmdbd (off by default) when the lab runs with accounting;
# fair share through REST needs Slurm 23.11+ (/shares), so the REST exporter leaves it off.
# The per-user collectors (opt-in) too.
acct_cli=(--collector.users --collector.rpc_users) acct_rest=(--collector.users --collector.rpc_users)
if sacctmgr -n list cluster >/dev/null 2>&1; then
    acct_cli+=(--collector.fairshare --collector.qos --collector.associations)
    acct_rest+=(--collector.qos --collector.associations)
fi
"$exporter" --web.listen-address="127.0.0.1:$p_cli" --web.config.file="$tmp/web.yml" "${acct_cli[@]}" \
    --collection.interval=3s --collection.timeout=3s --log.level=warn >"$tmp/exporter-cli.log" 2>&1 &
pids+=($!)
"$exporter" --web.listen-address="127.0.0.1:$p_rest" --web.config.file="$tmp/web.yml" --slurm.source=rest "${acct_rest[@]}" \
    --slurm.rest-url="$SLURM_LAB_REST_URL" --slurm.jwt-file="$tmp/jwt" \
    --collection.interval=3s --collection.timeout=3s --log.level=warn >"$tmp/exporter-rest.log" 2>&1 &
pids+=($!)

rule_files=""
if [[ -f deploy/monitoring/prometheus-rules.yaml ]]; then
    # The PrometheusRule's spec is a plain Prometheus rule file. Groups evaluate every
    # second here (their own interval, e.g. 30s, would delay the first recorded sample).
    python3 -c '
import sys, yaml
sys.path.insert(0, "deploy/monitoring/tests")
from livetools import rule_groups
groups = rule_groups(sys.argv[1])
for g in groups:
    g["interval"] = "1s"
yaml.safe_dump({"groups": groups}, open(sys.argv[2], "w"), sort_keys=False)
' deploy/monitoring/prometheus-rules.yaml "$tmp/rules.yaml"
    rule_files="rule_files: [\"$tmp/rules.yaml\"]"
fi
cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
$rule_files
scrape_configs:
  - job_name: slurm-exporter
    scheme: https
    tls_config:
      insecure_skip_verify: true
    static_configs:
      - targets: ["127.0.0.1:$p_cli", "127.0.0.1:$p_rest"]
EOF
promtool check config "$tmp/prometheus.yml" >/dev/null
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
    --web.listen-address="127.0.0.1:$p_prom" --log.level=warn >"$tmp/prometheus.log" 2>&1 &
pids+=($!)
prom="http://127.0.0.1:$p_prom"

# Wait until both targets have been scraped for ~15 s (rates need samples on both sides of
# a few collections).
query() { curl -fsS --get "$prom/api/v1/query" --data-urlencode "query=$1" 2>/dev/null \
          | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' 2>/dev/null; }
deadline=$((SECONDS + 90))
until [[ "$(query 'count(count_over_time(up{job="slurm-exporter"}[5m]) >= 15 and up == 1)' || true)" == 2 ]]; do
    if ((SECONDS > deadline)); then
        echo "Prometheus did not get 15 good scrapes of both exporters in 90 s" >&2
        tail -5 "$tmp"/*.log >&2
        exit 1
    fi
    sleep 1
done
python3 "$here/check_dashboards.py" --prometheus "$prom" "${dashboards[@]}"

#!/usr/bin/env bash
# Checks deploy/kubernetes (kustomize) offline:
#   1. `kubectl kustomize deploy/kubernetes` builds (kustomize v4+ needed, kubectl 1.22+: the kubectl of
#      Debian's kubernetes-client 1.20 embeds kustomize v2 and is too old);
#   2. every core object validates against the Kubernetes OpenAPI schemas, strictly (unknown
#      fields are errors), for the oldest and newest versions we claim (PyPI
#      kubernetes-validate);
#   3. ServiceMonitor and PrometheusRule validate against the Prometheus Operator API types
#      (npm @kubernetes-models/prometheus-operator: its validators, and tsc's excess-property
#      check for unknown fields);
#   4. the objects fit each other and the exporter (check_manifests.py), including the
#      config passing the binary's check-config and every flag existing.
# Needs network access to PyPI/npm the first time (cached in ~/.cache/slurm-exporter-checks).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
here=deploy/kubernetes/tests
k8s_versions=(1.28.0 1.37.0)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/slurm-exporter-checks
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. build
# kubectl is not a Debian package recent enough (bookworm's 1.20 embeds kustomize v2);
# where none is installed the Kubernetes check is skipped loudly, unless required.
kver=$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9]*\).*/\1/p' || true)
if [[ -z $kver || $kver -lt 4 ]]; then
    echo "kubectl's kustomize is missing or older than v4 (${kver:-none}); use kubectl 1.22 or later" >&2
    if [[ ${SLURM_EXPORTER_REQUIRE_KUBECTL:-0} == 1 ]]; then exit 1; fi
    echo "SKIPPED: Kubernetes manifest checks (set SLURM_EXPORTER_REQUIRE_KUBECTL=1 to fail instead)" >&2
    exit 0
fi
kubectl kustomize deploy/kubernetes >"$tmp/build.yaml"
echo "ok    kubectl kustomize deploy/kubernetes: $(grep -c '^kind:' "$tmp/build.yaml") objects"

# 2. Kubernetes schemas
# Installed into the cache with --target: works with Debian's externally managed python too.
if ! python3 -c 'import kubernetes_validate' 2>/dev/null; then
    export PYTHONPATH="$cache/pylib${PYTHONPATH:+:$PYTHONPATH}"
    if ! python3 -c 'import kubernetes_validate' 2>/dev/null; then
        python3 -m pip install --quiet --disable-pip-version-check --target "$cache/pylib" \
            kubernetes-validate==1.37.0 2>&1 | grep -v "Running pip as the 'root' user" || true
    fi
fi
for v in "${k8s_versions[@]}"; do
    out=$(python3 -m kubernetes_validate --strict --quiet -k "$v" "$tmp/build.yaml" 2>&1 || true)
    # CRDs (monitoring.coreos.com) have no schema there: step 3 checks them.
    bad=$(grep -v "Couldn't find schema for kind \(PrometheusRule\|ServiceMonitor\) with api version monitoring.coreos.com/v1" <<<"$out" | grep . || true)
    if [[ -n $bad ]]; then
        echo "$bad" >&2
        echo "ERROR Kubernetes $v schema validation failed" >&2
        exit 1
    fi
    echo "ok    core objects validate strictly against Kubernetes $v schemas"
done

# 3. Prometheus Operator CRDs
mkdir -p "$cache/crds"
cp "$here/package.json" "$here/check_crds.mjs" "$cache/crds/"
if ! (cd "$cache/crds" && npm ls --silent >/dev/null 2>&1); then
    (cd "$cache/crds" && npm install --silent --no-audit --no-fund >/dev/null)
fi
python3 -c '
import json, sys, yaml
json.dump([d for d in yaml.safe_load_all(open(sys.argv[1])) if d], open(sys.argv[2], "w"))
' "$tmp/build.yaml" "$tmp/objects.json"
node "$cache/crds/check_crds.mjs" "$tmp/objects.json"

# 4. the objects fit together and fit the binary
cargo build --quiet --bin slurm-exporter
python3 "$here/check_manifests.py" "$tmp/build.yaml" "${CARGO_TARGET_DIR:-target}/debug/slurm-exporter" .

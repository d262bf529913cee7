#!/usr/bin/env bash
# Brings up the local Slurm cluster (scripts/slurm-dev-cluster.sh) with a workload and
# runs the exporter against it on :10341 in the foreground (Ctrl-C stops the exporter;
# `scripts/slurm-dev-cluster.sh down` stops the cluster).
#   scripts/run-local.sh            CLI source (Slurm commands)
#   scripts/run-local.sh --rest     REST source (slurmrestd with a JWT)
# Extra arguments are passed to slurm-exporter.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

# shellcheck source=lib/packages.sh
source scripts/lib/packages.sh
# cargo links with the system C compiler, which a fresh Debian 12 lacks.
install_packages gcc libc6-dev
scripts/slurm-dev-cluster.sh up
eval "$(scripts/slurm-dev-cluster.sh env)"
if [[ -z "$(squeue -h -o %i)" ]]; then
    scripts/slurm-dev-cluster.sh workload
fi
cargo build --release --quiet

args=(--collection.interval=15s)
if [[ "${1:-}" == "--rest" ]]; then
    shift
    jwt="$SLURM_LAB_DIR/exporter.jwt"
    scripts/slurm-dev-cluster.sh token --file "$jwt" root 86400
    args+=(--slurm.source=rest "--slurm.rest-url=$SLURM_LAB_REST_URL" "--slurm.jwt-file=$jwt")
fi
echo "slurm-exporter on http://localhost:10341/metrics (also /health, /ready, /)" >&2
exec target/release/slurm-exporter "${args[@]}" "$@"

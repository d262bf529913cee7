#!/usr/bin/env bash
# Runs every test: formatting, lints, unit tests, tests on fake Slurm commands, the
# integration tests against a real local Slurm cluster (brought up, with a workload, if it
# is not up yet), and the end-to-end alerting test (scripts/e2e.sh). Exits non-zero on the
# first failure.
#
# `cargo test` alone leaves out the tests that need more than a clone (`#[ignore = "needs
# ..."]`: the lab, promtool, the third-party samples in ../shared/slurm-samples); this
# script provides the lab and promtool and runs them all with --include-ignored, so a
# missing one is a failure. Without the samples it stops at once, unless told
# `--without-samples`: then the sample tests are skipped by name, and it says so.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n== %s\n' "$*"; }

skip=()
if [[ ${1:-} == --without-samples ]]; then
    # Every test marked as needing the samples, by name (a substring filter of libtest).
    while read -r name; do skip+=(--skip "$name"); done < <(
        grep -rh -A1 --include='*.rs' '#\[ignore = "needs ../shared/slurm-samples"\]' src tests |
            sed -n 's/^ *fn \([a-z0-9_]*\).*/\1/p' | sort -u)
    echo "NOTE: --without-samples: the tests on ../shared/slurm-samples ($((${#skip[@]} / 2)) names) are not run" >&2
elif [[ -n ${1:-} ]]; then
    echo "usage: $0 [--without-samples]" >&2
    exit 2
elif [[ ! -d ../shared/slurm-samples ]]; then
    echo "../shared/slurm-samples (third-party Slurm output, kept beside the repository and" \
         "not part of it) is missing: the tests on it would fail. Put the samples there, or run" \
         "$0 --without-samples to run every other test." >&2
    exit 1
fi

step "local Slurm cluster"
# With accounting (slurmdbd + MariaDB): the fairshare, QOS, association and accounting
# collectors read it. One retry from scratch: a daemon that dies during start-up (seen
# once on a busy machine), or a lab already up without accounting, does not fail the run.
scripts/slurm-dev-cluster.sh up --accounting ||
    { scripts/slurm-dev-cluster.sh down; scripts/slurm-dev-cluster.sh up --accounting; }
eval "$(scripts/slurm-dev-cluster.sh env)"
# The workload's running jobs last 10 minutes: submit again when none runs or pends.
if [[ -z "$(squeue -h -t running -o %i)" || -z "$(squeue -h -t pending -o %i)" ]]; then
    scripts/slurm-dev-cluster.sh workload
fi

if ! command -v promtool >/dev/null; then
    step "installing promtool (Debian package prometheus)"
    install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends
             -o DPkg::Lock::Timeout=600 prometheus)
    "${install[@]}" >/dev/null || { apt-get update -qq && "${install[@]}" >/dev/null; }
fi

step "compat recording rules"
scripts/check-compat-rules.sh
step "monitoring bundle (rules, Alertmanager, metric names, dashboards, Kubernetes, systemd)" && scripts/check-monitoring.sh
step "end-to-end: Slurm -> exporter -> Prometheus -> Alertmanager -> receivers, five fault scenarios"
# Stops and SIGSTOPs this lab's slurmctld, and leaves it running again.
scripts/e2e.sh

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy"
cargo clippy --all-targets -- -D warnings
step "cargo test, ignored tests included (the lab, promtool, ../shared/slurm-samples)"
# FAULT_TESTS: the fault tests (tests/cluster_faults.rs, the slurmdbd ones) may stop and
# restart daemons of this lab, which this script brought up.
# Benches apart, with no arguments: criterion's harness rejects libtest's --skip, and
# `--benches` also runs the library's unit tests (a lib is a bench target too), which
# --include-ignored would turn to the sample tests again.
SLURM_EXPORTER_FAULT_TESTS=1 cargo test --lib --bins --tests --examples -- --include-ignored "${skip[@]}"
cargo test --benches
step "scale benchmark smoke run (S1; prints the table, asserts no timing)"
scripts/bench.sh S1
step "load test (CI size: 200 concurrent scrapes, a burst over the rate limit, 20 slow clients)"
cargo run -q --example load -- --quick
step "all tests passed"

#!/usr/bin/env bash
# Runs the libFuzzer targets one after another, each for SECONDS (default 120),
# seeded from tests/fixtures/slurm-22.05, fuzz/seeds/<target>/ and, when it is
# beside the repository, ../shared/slurm-samples (read only: new inputs go to
# fuzz/corpus/<target>/, crashes to fuzz/artifacts/<target>/). Prints one summary
# line per target: executions, seconds, corpus size, result.
#
#   fuzz/run.sh                 # every target, 120 s each
#   fuzz/run.sh 600 json_jobs   # one target, 10 minutes
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). On a stable toolchain it runs
# with RUSTC_BOOTSTRAP=1 (cargo fuzz needs -Z flags for the sanitizer).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export PATH="$HOME/.cargo/bin:$PATH"
export RUSTC_BOOTSTRAP=1

seconds=${1:-120}
shift || true
all=(json_nodes json_jobs json_partitions json_diag json_ping
     text_squeue text_scontrol_nodes text_scontrol_partitions text_sdiag text_ping text_config
     json_licenses json_reservations text_licenses text_reservations hostlist
     text_sacct text_sacct_memory json_acct_jobs
     config_yaml web_config accept_header basic_auth)
targets=("${@:-${all[@]}}")
fixtures=../tests/fixtures/slurm-22.05
shared=../../shared/slurm-samples

# Fixture files (ours) and shared-sample name patterns (`<kind>__...`) per target.
seeds_for() {
    case $1 in
        json_nodes) echo "$fixtures/rest-v0.0.38-nodes.json $fixtures/sinfo.json|nodes__*.json" ;;
        json_jobs) echo "$fixtures/rest-v0.0.38-jobs.json $fixtures/squeue.json|jobs__*.json" ;;
        json_partitions) echo "$fixtures/rest-v0.0.38-partitions.json|partitions__*.json" ;;
        json_diag) echo "$fixtures/rest-v0.0.38-diag.json|diag__*.json" ;;
        json_ping) echo "$fixtures/rest-v0.0.3[678]-ping.json|ping__*.json" ;;
        text_squeue) echo "$fixtures/squeue.txt|squeue*" ;;
        text_scontrol_nodes) echo "$fixtures/scontrol-show-node.txt|scontrol*node*" ;;
        text_scontrol_partitions) echo "$fixtures/scontrol-show-partition.txt|scontrol*partition*" ;;
        text_sdiag) echo "$fixtures/sdiag.txt|sdiag*" ;;
        text_ping) echo "$fixtures/scontrol-ping.txt|scontrol*ping*" ;;
        text_config) echo "$fixtures/scontrol-show-config.txt|scontrol*config*" ;;
        json_licenses) echo "$fixtures/rest-v0.0.38-licenses.json|licenses__*.json" ;;
        json_reservations) echo "$fixtures/rest-v0.0.38-reservations.json|reservations__*.json" ;;
        text_licenses) echo "$fixtures/scontrol-show-license.txt|scontrol*licen*" ;;
        text_reservations) echo "$fixtures/scontrol-show-reservation.txt|scontrol*reserv*" ;;
        text_sacct) echo "$fixtures/sacct.txt|" ;;
        text_sacct_memory) echo "$fixtures/sacct-memory.txt|" ;;
        json_acct_jobs) echo "$fixtures/rest-dbv0.0.38-jobs*.json|slurmdb_jobs__*.json" ;;
        web_config) echo "../deploy/web-config/*.yml|" ;;
        *) echo "|" ;;
    esac
}

cargo fuzz build -O || exit 1

status=0
printf '%-26s %12s %8s %8s  %s\n' target executions seconds corpus result
for t in "${targets[@]}"; do
    spec=$(seeds_for "$t")
    files=${spec%%|*}
    pattern=${spec#*|}
    mkdir -p "corpus/$t" "artifacts/$t"
    seed_dir=$(mktemp -d)
    # shellcheck disable=SC2086
    for f in $files; do [ -f "$f" ] && cp "$f" "$seed_dir/"; done
    if [ -d "seeds/$t" ]; then cp seeds/"$t"/* "$seed_dir/"; fi
    if [ -n "$pattern" ] && [ -d "$shared" ]; then
        find "$shared" -type f -name "$pattern" -size -256k -exec cp {} "$seed_dir/" \;
    fi
    log="artifacts/$t/last-run.log"
    cargo fuzz run -O "$t" "corpus/$t" "$seed_dir" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=262144 \
        -print_final_stats=1 >"$log" 2>&1
    rc=$?
    rm -rf "$seed_dir"
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    took=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o 'in [0-9]*' | grep -o '[0-9]*' | tail -1)
    size=$(find "corpus/$t" -type f | wc -l)
    if [ "$rc" -eq 0 ]; then
        result=ok
    else
        result="FAILED (exit $rc, see fuzz/$log and fuzz/artifacts/$t/)"
        status=1
    fi
    printf '%-26s %12s %8s %8s  %s\n' "$t" "${runs:-?}" "${took:-?}" "$size" "$result"
done
exit $status

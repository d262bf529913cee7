#!/usr/bin/env bash
# Scale benchmark: the real exporter (release build) against synthetic clusters served
# by fake Slurm commands (tests/support/fake-slurm.sh), on 127.0.0.1 only.
#   scripts/bench.sh            S1 S2 S3
#   scripts/bench.sh S1         one scale point (CI runs this as a smoke test)
# Scale points: S1 = 100 nodes / 1,000 jobs, S2 = 1,000 / 10,000, S3 = 10,000 / 100,000.
# For each point and source form (cli text = default, cli json = --slurm.cli-json=jobs,nodes)
# it prints one table row: whole-collection wall time, exporter CPU per collection, peak
# RSS, series, /metrics size plain and gzip, scrape latency p50/p99 with 1, 10 and 50
# concurrent scrapers, and Slurm command calls per collection while those scrapers run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

points=("$@")
[[ ${#points[@]} -gt 0 ]] || points=(S1 S2 S3)
cargo build --release --quiet --bin slurm-exporter --example synth --example scrape
bin=${CARGO_TARGET_DIR:-target}/release
work=${CARGO_TARGET_DIR:-target}/bench
mkdir -p "$work"

size_of() {
    case $1 in
        S1) echo "100 1000" ;;
        S2) echo "1000 10000" ;;
        S3) echo "10000 100000" ;;
        *) echo "unknown scale point $1" >&2; exit 2 ;;
    esac
}

metric() { # metric FILE NAME [LABEL-FILTER]
    awk -v n="$2" -v f="${3:-}" '$1 ~ "^"n"({|$)" && index($1, f) { print $2; exit }' "$1"
}

printf '| point | source | collection wall s | exporter CPU s/collection | peak RSS MiB | series | /metrics KiB | gzip KiB | p50/p99 ms ×1 | p50/p99 ms ×10 | p50/p99 ms ×50 | Slurm calls/collection |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|\n'
for point in "${points[@]}"; do
    read -r nodes jobs < <(size_of "$point")
    data="$work/synth-$point"
    if [[ "$(cat "$data/.complete" 2>/dev/null)" != 5 ]]; then
        "$bin/examples/synth" --nodes "$nodes" --jobs "$jobs" --seed 1 --out "$data" --json 2>/dev/null
    fi
    for source in text json; do
        fake=$(mktemp -d)
        for c in squeue scontrol sdiag sinfo sacctmgr; do ln -s "$PWD/tests/support/fake-slurm.sh" "$fake/$c"; done
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        extra=()
        [[ $source == json ]] && extra+=("--slurm.cli-json=jobs,nodes")
        # Benchmark scrapers all come from 127.0.0.1: switch the per-client limit off.
        "$bin/slurm-exporter" --help | grep -q -- '--web.rate-limit' && extra+=("--web.rate-limit=0")
        FAKE_SLURM_STATE=$fake FAKE_SLURM_FIXTURES=$(realpath "$data") \
            "$bin/slurm-exporter" --web.listen-address="127.0.0.1:$port" --slurm.bin-dir="$fake" \
            --collection.interval=10s --collection.timeout=9s "${extra[@]}" \
            2>"$fake/log" &
        pid=$!
        # Wait for two collections: the second one's cycle time is reported.
        for _ in $(seq 1 300); do
            curl -s "http://127.0.0.1:$port/metrics" >"$fake/m" 2>/dev/null || true
            n=$(metric "$fake/m" slurm_exporter_collections_total 'collector="jobs"')
            [[ ${n:-0} -ge 2 ]] && break
            sleep 0.1
        done
        n0=$(metric "$fake/m" slurm_exporter_collections_total 'collector="jobs"')
        if grep -q '^slurm_exporter_collector_up{.*} 0' "$fake/m"; then
            echo "a collector failed on $point ($source):" >&2
            grep '^slurm_exporter_collector_up' "$fake/m" >&2
            tail -3 "$fake/log" >&2
            kill "$pid"
            exit 1
        fi
        calls0=$(wc -l <"$fake/calls")
        lat=()
        for conc in 1 10 50; do
            line=$("$bin/examples/scrape" --port "$port" --concurrency "$conc" --requests $((conc * 40)) --gzip)
            p50=$(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$line"); p99=$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$line")
            lat+=("$p50 / $p99")
        done
        # Let at least one more collection run without scrapes to measure its CPU.
        curl -s "http://127.0.0.1:$port/metrics" >"$fake/m1"
        n1=$(metric "$fake/m1" slurm_exporter_collections_total 'collector="jobs"')
        c1=$(metric "$fake/m1" process_cpu_seconds_total)
        for _ in $(seq 1 150); do
            curl -s "http://127.0.0.1:$port/metrics" >"$fake/m2"
            n2=$(metric "$fake/m2" slurm_exporter_collections_total 'collector="jobs"')
            [[ $n2 -gt $n1 ]] && break
            sleep 0.1
        done
        c2=$(metric "$fake/m2" process_cpu_seconds_total)
        calls2=$(wc -l <"$fake/calls")
        wall=$(metric "$fake/m2" slurm_exporter_last_collection_duration_seconds)
        series=$(metric "$fake/m2" slurm_exporter_snapshot_series)
        rss=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status")
        plain=$(curl -s -o /dev/null -w '%{size_download}' "http://127.0.0.1:$port/metrics")
        gz=$(curl -s -o /dev/null -w '%{size_download}' -H 'Accept-Encoding: gzip' "http://127.0.0.1:$port/metrics")
        kill "$pid"; wait "$pid" 2>/dev/null || true
        cpu=$(awk -v a="$c1" -v b="$c2" -v n="$((n2 - n1))" 'BEGIN { printf "%.3f", (b - a) / (n > 0 ? n : 1) }')
        per=$(awk -v a="$calls0" -v b="$calls2" -v n="$((n2 - n0))" 'BEGIN { printf "%.1f", (b - a) / (n > 0 ? n : 1) }')
        printf '| %s | cli %s | %.3f | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
            "$point" "$source" "$wall" "$cpu" "$rss" "$series" "$((plain / 1024))" "$((gz / 1024))" \
            "${lat[0]}" "${lat[1]}" "${lat[2]}" "$per"
        rm -rf "$fake"
    done
done

#!/usr/bin/env bash
# Scale benchmark: the real exporter (release build) against synthetic clusters served
# by fake Slurm commands (tests/support/fake-slurm.sh) and a fake slurmrestd
# (examples/fake_slurmrestd), on 127.0.0.1 only.
#   scripts/bench.sh                         S1 S2 S3, Slurm 22.05
#   scripts/bench.sh S1                      one scale point (CI runs this as a smoke test)
#   scripts/bench.sh S2 --slurm-version 25.11   JSON and REST in 25.11's shapes
#   scripts/bench.sh S3 --source rest        one source (text, json or rest; repeatable)
# Scale points: S1 = 100 nodes / 1,000 jobs, S2 = 1,000 / 10,000, S3 = 10,000 / 100,000.
# For each point and source (cli text = default, cli json = --slurm.cli-json=jobs,nodes,
# rest = --slurm.source=rest) it prints one table row: whole-collection wall time, exporter
# CPU per collection, peak RSS, series, /metrics size plain and gzip, scrape latency
# p50/p99 (gzip) with 1, 10 and 50 scrapers sending together (in rounds, all at the
# same instant: Prometheus servers whose scrapes coincide) and with 50 sending
# back-to-back (a load generator), and Slurm calls per collection (commands
# run, or REST requests) while those scrapers run. The text forms are 22.05's whatever
# the version, so `cli text` runs only for 22.05. The fake slurmrestd runs with --busy:
# jobs change between collections, so every collection reads the whole job list (with
# nothing changed, 22.05 answers 304 and 23.02+ an empty list, and the exporter reuses
# its previous jobs: cheaper than measured here).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

points=()
only=()
version=22.05
while [[ $# -gt 0 ]]; do
    case $1 in
        --slurm-version) version=${2:?--slurm-version needs a value}; shift 2 ;;
        --source) only+=("${2:?--source needs a value}"); shift 2 ;;
        *) points+=("$1"); shift ;;
    esac
done
[[ ${#points[@]} -gt 0 ]] || points=(S1 S2 S3)
cargo build --release --quiet --bin slurm-exporter --example synth --example scrape --example fake_slurmrestd
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

# Slurm calls so far: commands run (fake-slurm.sh logs each), or REST requests.
slurm_calls() {
    if [[ $source == rest ]]; then
        curl -s "http://$rest_addr/fake/stats" | awk '{ n += $1 } END { print n + 0 }'
    else
        wc -l <"$fake/calls"
    fi
}

metric() { # metric FILE NAME [LABEL-FILTER]
    awk -v n="$2" -v f="${3:-}" '$1 ~ "^"n"({|$)" && index($1, f) { print $2; exit }' "$1"
}

# A failing row (set -e) must not leave the exporter or the fake slurmrestd running.
pid=
rest_pid=
stop_started() {
    [[ -n $pid ]] && kill "$pid" 2>/dev/null
    [[ -n $rest_pid ]] && kill "$rest_pid" 2>/dev/null
    true
}
trap stop_started EXIT

echo "Slurm $version (JSON and REST shapes)"
printf '| point | source | collection wall s | exporter CPU s/collection | peak RSS MiB | series | /metrics KiB | gzip KiB | p50/p99 ms ×1 | p50/p99 ms ×10 | p50/p99 ms ×50 | p50/p99 ms ×50 back-to-back | Slurm calls/collection |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
for point in "${points[@]}"; do
    read -r nodes jobs < <(size_of "$point")
    # Each row waits for three collections: a short interval keeps S1 (the CI smoke run)
    # quick; S3's collections need the room.
    case $point in S1) interval=3 ;; S2) interval=5 ;; *) interval=10 ;; esac
    data="$work/synth-$point-$version"
    if [[ "$(cat "$data/.complete" 2>/dev/null)" != 5 ]]; then
        "$bin/examples/synth" --nodes "$nodes" --jobs "$jobs" --seed 1 --out "$data" --json \
            --slurm-version "$version" 2>/dev/null
    fi
    sources=(json rest)
    [[ $version == 22.05 ]] && sources=(text json rest)
    [[ ${#only[@]} -gt 0 ]] && sources=("${only[@]}")
    for source in "${sources[@]}"; do
        fake=$(mktemp -d)
        for c in squeue scontrol sdiag sinfo sacctmgr; do ln -s "$PWD/tests/support/fake-slurm.sh" "$fake/$c"; done
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        extra=()
        rest_pid=
        case $source in
            json) extra+=("--slurm.cli-json=jobs,nodes") ;;
            rest)
                # Stops by itself after --max-seconds even if this script is killed.
                "$bin/examples/fake_slurmrestd" --dir "$data" --port 0 --max-seconds 1800 --busy \
                    >"$fake/rest.out" 2>"$fake/rest.log" &
                rest_pid=$!
                for _ in $(seq 1 100); do grep -q '^listening' "$fake/rest.out" && break; sleep 0.05; done
                rest_addr=$(awk '/^listening/ { print $2 }' "$fake/rest.out")
                extra+=("--slurm.source=rest" "--slurm.rest-url=http://$rest_addr")
                ;;
        esac
        # Benchmark scrapers all come from 127.0.0.1: switch the per-client limit off.
        grep -q -- '--web.rate-limit' <<<"$("$bin/slurm-exporter" --help)" && extra+=("--web.rate-limit=0")
        # A JWT the exporter accepts (header.payload.signature, exp in 2100); the fake
        # slurmrestd only checks that the headers are there.
        FAKE_SLURM_STATE=$fake FAKE_SLURM_FIXTURES=$(realpath "$data") \
            SLURM_JWT="eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDAsInN1biI6InJvb3QifQ.c2ln" \
            "$bin/slurm-exporter" --web.listen-address="127.0.0.1:$port" --slurm.bin-dir="$fake" \
            --collection.interval="${interval}s" --collection.timeout="$((interval - 1))s" "${extra[@]}" \
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
            [[ -n $rest_pid ]] && kill "$rest_pid"
            exit 1
        fi
        calls0=$(slurm_calls)
        lat=()
        for conc in 1 10 50 50b; do
            mode=(--together)
            [[ $conc == 50b ]] && { conc=50; mode=(); }
            line=$("$bin/examples/scrape" --port "$port" --concurrency "$conc" --requests $((conc * 40)) --gzip "${mode[@]}")
            p50=$(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$line"); p99=$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$line")
            lat+=("$p50 / $p99")
        done
        # Let at least one more collection run without scrapes to measure its CPU. The
        # polls ask for gzip: the exporter sends its pre-compressed body (a plain 6 MB
        # body every 0.1 s would add ~0.2 s of the exporter's CPU at S3 to the figure).
        # Past the 200 ms cache of process metrics, so the scrapers' CPU is not counted.
        sleep 0.3
        curl -s --compressed "http://127.0.0.1:$port/metrics" >"$fake/m1"
        n1=$(metric "$fake/m1" slurm_exporter_collections_total 'collector="jobs"')
        c1=$(metric "$fake/m1" process_cpu_seconds_total)
        for _ in $(seq 1 150); do
            curl -s --compressed "http://127.0.0.1:$port/metrics" >"$fake/m2"
            n2=$(metric "$fake/m2" slurm_exporter_collections_total 'collector="jobs"')
            [[ $n2 -gt $n1 ]] && break
            sleep 0.1
        done
        # Process metrics are cached for 200 ms per scrape: read them again past that.
        sleep 0.3
        curl -s --compressed "http://127.0.0.1:$port/metrics" >"$fake/m2"
        c2=$(metric "$fake/m2" process_cpu_seconds_total)
        calls2=$(slurm_calls)
        wall=$(metric "$fake/m2" slurm_exporter_last_collection_duration_seconds)
        series=$(metric "$fake/m2" slurm_exporter_snapshot_series)
        rss=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status")
        plain=$(curl -s -o /dev/null -w '%{size_download}' "http://127.0.0.1:$port/metrics")
        gz=$(curl -s -o /dev/null -w '%{size_download}' -H 'Accept-Encoding: gzip' "http://127.0.0.1:$port/metrics")
        kill "$pid"; wait "$pid" 2>/dev/null || true
        pid=
        if [[ -n $rest_pid ]]; then kill "$rest_pid"; wait "$rest_pid" 2>/dev/null || true; fi
        rest_pid=
        cpu=$(awk -v a="$c1" -v b="$c2" -v n="$((n2 - n1))" 'BEGIN { printf "%.3f", (b - a) / (n > 0 ? n : 1) }')
        per=$(awk -v a="$calls0" -v b="$calls2" -v n="$((n2 - n0))" 'BEGIN { printf "%.1f", (b - a) / (n > 0 ? n : 1) }')
        label="cli $source"; [[ $source == rest ]] && label=rest
        printf '| %s | %s | %.3f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
            "$point" "$label" "$wall" "$cpu" "$rss" "$series" "$((plain / 1024))" "$((gz / 1024))" \
            "${lat[0]}" "${lat[1]}" "${lat[2]}" "${lat[3]}" "$per"
        rm -rf "$fake"
    done
done

#!/usr/bin/env bash
# fresh-machine-check.sh - runs the README's first command (scripts/run-local.sh) in a
# brand-new minimal Debian 12 root, as a new user's machine would be, and checks the
# exporter it starts: /metrics and /ready answer 200 and count the lab's CPUs and jobs.
#
# The root comes from `debootstrap --variant=minbase bookworm` (mawk, no gawk, no curl),
# cached as a tarball between runs on one machine and unpacked anew each run, so no state
# of an earlier run leaks in. The host's Rust toolchain is bind-mounted read-only (the
# README asks for one); crates are fetched afresh. Everything runs on ports of its own, so
# the host's lab may run beside it. Whatever happens, everything started is stopped and
# unmounted, and the root deleted.
#
# Usage: scripts/fresh-machine-check.sh [--keep-log DIR] [--tests]
#   --tests   then also the README's second command, `scripts/test.sh --without-samples`
#             (a plain clone has no ../shared), in the same root: about 25-40 minutes, so
#             CI does not run it; its last figures are in docs/operations.md.
# Environment (optional):
#   FRESH_CACHE_DIR   where the root tarball is kept (default /var/cache/slurm-exporter-ci)
#   FRESH_PORT        exporter port inside the root (default 17941); the lab uses 17806-17831
#   FRESH_TIMEOUT     seconds the README's command may take to serve /ready (default 1500)
set -euo pipefail

PORT="${FRESH_PORT:-17941}"
TIMEOUT="${FRESH_TIMEOUT:-1500}"
KEEP_LOG="" TESTS=""
while (($#)); do
    case $1 in
    --keep-log) KEEP_LOG=${2:?--keep-log needs a directory}; shift 2 ;;
    --tests) TESTS=1; shift ;;
    *) echo "usage: $0 [--keep-log DIR] [--tests]" >&2; exit 2 ;;
    esac
done

FRESH_TAG=fresh
# The lab inside the root, on ports no other lab of ours uses.
LAB_ENV=(SLURM_LAB_CTLD_PORT=17817 SLURM_LAB_SLURMD_PORT=17830 SLURM_LAB_REST_PORT=17820
         SLURM_LAB_DBD_PORT=17819 SLURM_LAB_DB_PORT=17806)
GUEST_REPO="$HOME/slurm-exporter"   # root's home in the root, as on the host
# shellcheck source=scripts/lib/fresh-root.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/fresh-root.sh"

# ------------------------------------------------------------------ the root
fresh_root_setup
# The README asks for a Rust toolchain: the host's, read-only; crates come from crates.io.
for d in .rustup .cargo/bin; do
    [[ -d $HOME/$d ]] || die "no Rust toolchain at \$HOME/$d on the host"
    bind "$HOME/$d" "$ROOT$HOME/$d" ro
done
# The checkout as a user has it: the working tree without build output or lab state.
copy_repo
in_root sh -c 'awk -W version 2>&1 | head -1; command -v gawk curl || true' >"$WORK/root-tools.log" 2>&1
log "root ready: $(head -1 "$WORK/root-tools.log")"

# ------------------------------------------------------- the README's first command
log "running scripts/run-local.sh in the root (installs Slurm, builds, serves :$PORT)"
in_root bash -c "cd $GUEST_REPO && exec scripts/run-local.sh --web.listen-address=127.0.0.1:$PORT" \
    >"$WORK/run-local.log" 2>&1 &
RUN_PID=$!
FRESH_PIDS+=("$RUN_PID")

deadline=$(( $(secs) + TIMEOUT ))
until [[ $(http_get "$PORT" /ready "$WORK/ready.txt" 2>/dev/null) == 200 ]]; do
    if ! kill -0 "$RUN_PID" 2>/dev/null; then
        tail -30 "$WORK/run-local.log" >&2
        die "scripts/run-local.sh exited before /ready answered 200"
    fi
    (( $(secs) < deadline )) || { tail -30 "$WORK/run-local.log" >&2; die "/ready not 200 within ${TIMEOUT}s"; }
    sleep 2
done
log "/ready answered 200"

# ---------------------------------------------------------------------- the checks
lab_cpus=$(in_root bash -c 'eval "$(cd '"$GUEST_REPO"' && scripts/slurm-dev-cluster.sh env)"; sinfo -h -o %C' |
    cut -d/ -f4)
[[ $lab_cpus =~ ^[0-9]+$ && $lab_cpus -gt 0 ]] || die "sinfo in the root gave no CPU count: '$lab_cpus'"
ok=""
for _ in $(seq 1 20); do
    code=$(http_get "$PORT" /metrics "$WORK/metrics.txt") || code=none
    [[ $code == 200 ]] || die "/metrics answered $code"
    lab_jobs=$(in_root bash -c 'eval "$(cd '"$GUEST_REPO"' && scripts/slurm-dev-cluster.sh env)"; squeue -h -t all -r -o %i | wc -l')
    cpus=$(metric_sum "$WORK/metrics.txt" slurm_cpus)
    jobs=$(metric_sum "$WORK/metrics.txt" slurm_jobs)
    if [[ $cpus == "$lab_cpus" && $jobs == "$lab_jobs" && $jobs -gt 0 ]]; then ok=1; break; fi
    # Jobs finish between the exporter's collection and squeue: look again after the next one.
    sleep 5
done
[[ -n $ok ]] || die "exporter counts cpus=$cpus jobs=$jobs, the lab has cpus=$lab_cpus jobs=$lab_jobs"
[[ $(http_get "$PORT" /ready "$WORK/ready.txt") == 200 ]] || die "/ready no longer 200"
log "PASS: /metrics and /ready 200; $cpus CPUs and $jobs jobs, as the lab (sinfo, squeue) says"

# ------------------------------------------------------ the README's second command
if [[ -n $TESTS ]]; then
    # $RUN_PID is the subshell of in_root; the exporter it started runs on in the root.
    for p in $(root_processes); do
        [[ $(cat "/proc/$p/comm" 2>/dev/null) == slurm-exporter ]] && kill "$p" 2>/dev/null
    done
    log "running scripts/test.sh --without-samples in the root"
    t_tests=$(secs)
    if ! in_root bash -c "cd $GUEST_REPO && exec scripts/test.sh --without-samples" >"$WORK/test.log" 2>&1; then
        tail -40 "$WORK/test.log" >&2
        die "scripts/test.sh --without-samples failed in the root"
    fi
    log "PASS: scripts/test.sh --without-samples in $(( $(secs) - t_tests ))s"
fi

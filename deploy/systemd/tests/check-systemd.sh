#!/usr/bin/env bash
# Checks deploy/systemd against the real tools and the real binary:
#   1. the example config passes `slurm-exporter check-config`;
#   2. every flag of ExecStart exists in `slurm-exporter --help`, and ExecStart's config
#      path is where the unit's comments install config.yaml;
#   3. `systemd-analyze verify` accepts the unit with no warning at all (unknown keys and
#      bad values are only warnings there, so any output fails), in a scratch root holding
#      the systemd units of this machine, the binary at the ExecStart path and /bin/kill:
#      this container has no systemd as PID 1, and verify checks that ExecStart exists;
#   4. `systemd-analyze security --offline` rates the unit's exposure at most 2.0 ("OK"; --threshold is on its 0-100 scale);
#   5. the unit's ExecReload (SIGHUP) reloads the example config and does not stop the
#      process (a lesson from an earlier exporter), checked on the binary against the local
#      Slurm cluster;
#   6. the sandbox fits what the exporter and the Slurm commands it runs really do: the same
#      run under `strace -f`, compared with SystemCallFilter=, RestrictAddressFamilies= and
#      ProtectSystem=strict (check_sandbox.py). The unit itself cannot run here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
unit=deploy/systemd/slurm-exporter.service
config=deploy/systemd/config.yaml
command -v systemd-analyze >/dev/null || { echo "systemd-analyze missing: apt-get install systemd" >&2; exit 1; }
cargo build --quiet --bin slurm-exporter
bin=$(realpath "${CARGO_TARGET_DIR:-target}/debug/slurm-exporter")
tmp=$(mktemp -d)
pid= strace_pid=
cleanup() {
    [[ -n $pid ]] && kill "$pid" 2>/dev/null
    [[ -n $strace_pid ]] && { kill "$strace_pid" 2>/dev/null; wait "$strace_pid" 2>/dev/null; }
    rm -rf "$tmp"
}
trap cleanup EXIT

# 1.
"$bin" check-config "$config" >/dev/null
echo "ok    $config passes slurm-exporter check-config"

# 2.
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
exec_path=${exec_start%% *}
help=$("$bin" --help)
for arg in ${exec_start#* }; do
    flag=${arg%%=*}
    [[ $flag == --* ]] || continue
    grep -q -- "$flag " <<<"$help" || { echo "ERROR ExecStart passes $flag, unknown to slurm-exporter" >&2; exit 1; }
done
grep -q -- "--config.file=/etc/slurm-exporter/config.yaml" <<<"$exec_start" \
    || { echo "ERROR ExecStart does not read /etc/slurm-exporter/config.yaml" >&2; exit 1; }
grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' "$unit" \
    || { echo "ERROR ExecReload must send SIGHUP to \$MAINPID" >&2; exit 1; }
echo "ok    ExecStart flags exist in the binary"

# 3.
root=$tmp/root
mkdir -p "$root/usr/lib/systemd" "$root/etc/systemd/system" "$root$(dirname "$exec_path")" "$root/bin"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp "$bin" "$root$exec_path"
cp /bin/kill "$root/bin/kill"
cp "$unit" "$root/etc/systemd/system/"
name=$(basename "$unit")
if ! out=$(systemd-analyze verify --root="$root" "/etc/systemd/system/$name" 2>&1) || [[ -n $out ]]; then
    echo "$out" >&2
    echo "ERROR systemd-analyze verify: the unit has errors or warnings" >&2
    exit 1
fi
echo "ok    systemd-analyze verify: no error, no warning"

# 4.
if ! out=$(systemd-analyze security --offline=yes --root="$root" --threshold=20 "$name" 2>&1); then
    grep -E '^✗|Overall' <<<"$out" >&2 || echo "$out" >&2
    echo "ERROR systemd-analyze security: exposure above 2.0" >&2
    exit 1
fi
echo "ok    systemd-analyze security: $(grep -o 'exposure level.*' <<<"$out")"

# 5.
[[ -n ${SLURM_CONF:-} ]] || eval "$(scripts/slurm-dev-cluster.sh env)"
scontrol ping >/dev/null 2>&1 || { echo "local Slurm cluster is not up: scripts/slurm-dev-cluster.sh up" >&2; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cp "$config" "$tmp/config.yaml"
command -v strace >/dev/null || { echo "strace missing: apt-get install strace" >&2; exit 1; }
# Collect every 2 s so that every collector runs a few times during the check.
# sh writes its PID and execs the exporter, which keeps it: that is the PID to signal.
strace -f -qq -o "$tmp/strace" sh -c 'echo $$ >"$0"; exec "$@"' "$tmp/pid" \
    "$bin" --config.file="$tmp/config.yaml" --web.listen-address="127.0.0.1:$port" \
    --collection.interval=2s --collection.timeout=2s --log.level=warn >"$tmp/log" 2>&1 &
strace_pid=$!
for _ in $(seq 50); do [[ -s $tmp/pid ]] && break; sleep 0.1; done
pid=$(cat "$tmp/pid" 2>/dev/null || true)
[[ -n $pid ]] || { echo "ERROR the exporter did not start under strace" >&2; exit 1; }
metric() { curl -fsS "127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
for _ in $(seq 100); do curl -fsS "127.0.0.1:$port/ready" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS "127.0.0.1:$port/ready" >/dev/null || { cat "$tmp/log" >&2; echo "ERROR the exporter never got ready" >&2; exit 1; }
before=$(metric slurm_exporter_config_last_reload_success_timestamp_seconds)
sleep 1.1
kill -HUP "$pid"    # what ExecReload does
for _ in $(seq 50); do
    after=$(metric slurm_exporter_config_last_reload_success_timestamp_seconds || true)
    [[ -n $after && $after != "$before" ]] && break
    sleep 0.2
done
kill -0 "$pid" 2>/dev/null || { cat "$tmp/log" >&2; echo "ERROR SIGHUP stopped the exporter" >&2; exit 1; }
[[ $(metric slurm_exporter_config_last_reload_successful) == 1 && $after != "$before" ]] \
    || { cat "$tmp/log" >&2; echo "ERROR SIGHUP did not reload the example config (timestamp $before -> $after)" >&2; exit 1; }
echo "ok    SIGHUP (ExecReload) reloads the example config; the process keeps running"
sleep 2.5           # one more collection after the reload
kill "$pid"; wait "$strace_pid" 2>/dev/null || true; pid= strace_pid=
python3 deploy/systemd/tests/check_sandbox.py "$unit" "$tmp/strace"

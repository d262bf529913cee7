#!/usr/bin/env bash
# Installs from Debian what the monitoring checks, scripts/e2e.sh and scripts/demo.sh run,
# when missing: prometheus (+ promtool), prometheus-alertmanager (+ amtool), python3-yaml,
# openssl. Needs root only when something is missing.
set -euo pipefail
need=()
command -v prometheus >/dev/null && command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null && command -v amtool >/dev/null || need+=(prometheus-alertmanager)
/usr/bin/python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
command -v openssl >/dev/null || need+=(openssl)
if ((${#need[@]})); then
    printf '\n== installing %s\n' "${need[*]}"
    install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends
             -o DPkg::Lock::Timeout=600 "${need[@]}")
    "${install[@]}" >/dev/null || { apt-get update -qq && "${install[@]}" >/dev/null; }
fi

#!/usr/bin/env bash
# Installs from Debian what the monitoring checks, scripts/e2e.sh and scripts/demo.sh run,
# when missing: prometheus (+ promtool), prometheus-alertmanager (+ amtool), python3-yaml,
# openssl, curl, systemd (systemd-analyze, for the unit check), strace (the unit's syscall
# check) and npm (the dashboard and CRD type checks). Needs root only when something is
# missing.
set -euo pipefail
# shellcheck source=lib/packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/packages.sh"
need=()
command -v prometheus >/dev/null && command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null && command -v amtool >/dev/null || need+=(prometheus-alertmanager)
/usr/bin/python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v strace >/dev/null || need+=(strace)
command -v npm >/dev/null || need+=(npm)
if ((${#need[@]})); then
    printf '\n== installing %s\n' "${need[*]}"
    install_packages "${need[@]}"
fi

#!/usr/bin/env bash
# Checks deploy/monitoring/compat-rules.yaml (classic-exporter names from ours):
# promtool lint and unit tests, a test case for every recording rule, and every
# series the rules read is one the exporter documents (docs/metrics.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rules=deploy/monitoring/compat-rules.yaml
tests=deploy/monitoring/tests/compat-rules.test.yaml

promtool check rules --lint=all "$rules"
(cd "$(dirname "$tests")" && promtool test rules "$(basename "$tests")")

missing=0
while read -r record; do
    if ! grep -qE "^      - expr: ${record}\$" "$tests"; then
        echo "no test case for recording rule $record" >&2
        missing=1
    fi
done < <(awk '/- record:/ { print $3 }' "$rules")
# Every metric name an expression reads must be one of ours.
while read -r name; do
    if ! grep -q "\`${name}\`" docs/metrics.md; then
        echo "compat rules read $name, which the exporter does not produce" >&2
        missing=1
    fi
done < <(awk '/expr:/ { sub(/.*expr: /, ""); print }' "$rules" | grep -oE '\bslurm_[a-z0-9_]+' | sort -u)
[[ $missing == 0 ]] && echo "compat rules: every rule tested, every input series exists"
exit "$missing"

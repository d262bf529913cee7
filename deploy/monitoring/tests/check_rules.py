#!/usr/bin/env python3
"""Checks deploy/monitoring/prometheus-rules.yaml with the real Prometheus tools.

1. Extracts the rule groups from the PrometheusRule (the shipped file, not a copy) into a
   temporary prometheus-rules.rules.yml, beside copies of the promtool test files.
2. `promtool check rules --lint=all --lint-fatal` (syntax, PromQL, templates, duplicates).
3. Conventions: every alert has severity (critical|warning|info), priority (P0|P1|P2),
   service="slurm-exporter", component, category; summary, description, runbook_url
   (= RUNBOOK_BASE + alertname + .md, and that file exists), dashboard_url (a Grafana path);
   critical <=> P0; alert names of exporter alerts start with SlurmExporter; every runbook
   file belongs to an alert; recording rules are named level:metric:operations.
4. `promtool test rules` on every *.test.yaml here whose rule_files name the extracted file;
   each test file's group_eval_order lists every group (promtool's order is otherwise
   unspecified, which makes tests that read recording rules flaky).
5. Coverage: every alert rule (alertname + severity + cause) has a firing case and a
   not-firing case; every recording rule has at least two different expected outcomes
   (one for a constant rule).
Needs promtool and PyYAML (Debian: prometheus, python3-yaml).
"""
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
RULES = ROOT / "deploy/monitoring/prometheus-rules.yaml"
TESTS = pathlib.Path(__file__).resolve().parent
RUNBOOKS = ROOT / "docs/runbooks"
RUNBOOK_BASE = "https://github.com/slurm-exporter/slurm-exporter/blob/main/docs/runbooks/"
EXTRACTED = "prometheus-rules.rules.yml"
SEVERITIES = {"critical", "warning", "info"}
PRIORITIES = {"P0", "P1", "P2"}
CATEGORIES = {"sla", "slo", "health", "data-quality", "dependency", "capacity", "security"}
NON_EXPORTER_ALERTS = {"SlurmControllerDown", "SlurmControllerSlow", "SlurmDBDAgentQueueGrowing",
                       "SlurmDBDDown",
                       "SlurmClusterUnhealthy", "SlurmQueueBuildup",
                       "SlurmSchedulerCycleTimeGrowing"}
RECORD_NAME = re.compile(r"^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$")

errors = []


def fail(msg):
    errors.append(msg)
    print("FAIL:", msg, file=sys.stderr)


def load_groups():
    docs = [d for d in yaml.safe_load_all(RULES.read_text()) if d]
    rules = [d for d in docs if d.get("kind") == "PrometheusRule"]
    if len(rules) != 1:
        raise SystemExit(f"{RULES}: expected one PrometheusRule, found {len(rules)}")
    crd = rules[0]
    if crd.get("apiVersion") != "monitoring.coreos.com/v1":
        fail(f"apiVersion is {crd.get('apiVersion')}")
    return crd["spec"]


def check_conventions(spec):
    alerts, records = [], []
    for group in spec["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                alerts.append(rule)
            else:
                records.append(rule)
    for rule in alerts:
        name, labels, ann = rule["alert"], rule.get("labels", {}), rule.get("annotations", {})
        where = f"alert {name} ({labels.get('severity')})"
        if labels.get("severity") not in SEVERITIES:
            fail(f"{where}: severity {labels.get('severity')!r}")
        if labels.get("priority") not in PRIORITIES:
            fail(f"{where}: priority {labels.get('priority')!r}")
        if (labels.get("severity") == "critical") != (labels.get("priority") == "P0"):
            fail(f"{where}: critical and P0 must go together")
        if labels.get("service") != "slurm-exporter":
            fail(f"{where}: service label")
        if not labels.get("component"):
            fail(f"{where}: no component label")
        if labels.get("category") not in CATEGORIES:
            fail(f"{where}: category {labels.get('category')!r}")
        for key in ("summary", "description", "runbook_url", "dashboard_url"):
            if not ann.get(key):
                fail(f"{where}: no {key} annotation")
        if ann.get("runbook_url") != RUNBOOK_BASE + name + ".md":
            fail(f"{where}: runbook_url {ann.get('runbook_url')}")
        if not (RUNBOOKS / f"{name}.md").is_file():
            fail(f"{where}: docs/runbooks/{name}.md does not exist")
        if not str(ann.get("dashboard_url", "")).startswith("/d/"):
            fail(f"{where}: dashboard_url must be a Grafana path /d/<uid>...")
        if "{{ $value" not in ann.get("description", "") and "$labels" not in ann.get("description", ""):
            fail(f"{where}: description shows no value")
        if name not in NON_EXPORTER_ALERTS and not name.startswith("SlurmExporter"):
            fail(f"{where}: exporter alerts are named SlurmExporter*")
    names = {r["alert"] for r in alerts}
    for md in RUNBOOKS.glob("*.md"):
        if md.name != "README.md" and md.stem not in names:
            fail(f"runbook {md.name} belongs to no alert")
    for rule in records:
        if not RECORD_NAME.match(rule["record"]):
            fail(f"recording rule {rule['record']}: not level:metric:operations")
    return alerts, records


def run(cmd, cwd):
    print("+", " ".join(cmd), flush=True)
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.returncode


def check_coverage(spec, alerts, records, test_files):
    group_names = [g["name"] for g in spec["groups"]]
    firing, cases = set(), []  # cases: (alertname, set of (severity, cause) expected)
    record_outcomes = {r["record"]: set() for r in records}
    for path in test_files:
        doc = yaml.safe_load(path.read_text())
        order = doc.get("group_eval_order") or []
        if sorted(order) != sorted(group_names):
            fail(f"{path.name}: group_eval_order must list every group: {group_names}")
        for test in doc["tests"]:
            for case in test.get("alert_rule_test", []):
                got = set()
                for exp in case.get("exp_alerts") or []:
                    labels = exp.get("exp_labels", {})
                    key = (case["alertname"], labels.get("severity"), labels.get("cause"))
                    firing.add(key)
                    got.add(key[1:])
                cases.append((case["alertname"], got))
            for case in test.get("promql_expr_test", []):
                samples = case.get("exp_samples") or []
                for sample in samples:
                    metric = sample["labels"].split("{")[0]
                    if metric in record_outcomes:
                        record_outcomes[metric].add((sample["labels"], float(sample["value"])))
                if not samples and case["expr"] in record_outcomes:
                    record_outcomes[case["expr"]].add(("absent", None))
    for rule in alerts:
        key = (rule["alert"], rule["labels"].get("severity"), rule["labels"].get("cause"))
        if key not in firing:
            fail(f"alert {key}: no firing test case")
        if not any(name == key[0] and key[1:] not in got for name, got in cases):
            fail(f"alert {key}: no not-firing test case")
    for rule in records:
        outcomes = record_outcomes[rule["record"]]
        constant = not re.search(r"[a-z_:]+\s*[{\[]|[a-z_]+:[a-z_]", rule["expr"].replace("vector(", ""))
        need = 1 if constant else 2
        if len({v for _, v in outcomes}) < need:
            fail(f"recording rule {rule['record']}: needs {need} different expected outcomes, has {outcomes}")


def main():
    spec = load_groups()
    alerts, records = check_conventions(spec)
    test_files = sorted(p for p in TESTS.glob("*.test.yaml")
                        if EXTRACTED in (yaml.safe_load(p.read_text()).get("rule_files") or []))
    if not test_files:
        fail("no promtool test file for the extracted rules")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / EXTRACTED).write_text(yaml.safe_dump(spec, sort_keys=False))
        if run(["promtool", "check", "rules", "--lint=all", "--lint-fatal", EXTRACTED], tmp):
            fail("promtool check rules")
        for path in test_files:
            shutil.copyfile(path, tmp / path.name)
        if run(["promtool", "test", "rules", *[p.name for p in test_files]], tmp):
            fail("promtool test rules")
    check_coverage(spec, alerts, records, test_files)
    n_alert_names = len({r["alert"] for r in alerts})
    if errors:
        print(f"check_rules: {len(errors)} problem(s)", file=sys.stderr)
        return 1
    print(f"check_rules: {len(alerts)} alert rules ({n_alert_names} alert names) and "
          f"{len(records)} recording rules: lint clean, conventions hold, every alert fires "
          f"and stays quiet in a test, every recording rule has its expected values")
    return 0


if __name__ == "__main__":
    sys.exit(main())

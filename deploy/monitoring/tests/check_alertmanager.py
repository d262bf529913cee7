#!/usr/bin/env python3
"""Checks deploy/monitoring/alertmanager-config.yaml with the real Alertmanager tools.

1. render-alertmanager.py renders it with test values (secrets as files in a temporary
   directory); a missing variable and an invalid value must be refused.
2. `amtool check-config` on the rendered config (templates included).
3. `amtool template render`: every template renders with alert data, and the text carries
   the runbook, dashboard (Grafana URL + dashboard_url) and silence links.
4. `amtool config routes test --verify.receivers=...` for EVERY alert rule of
   prometheus-rules.yaml (its labels as the rule sets them) and for extra label sets (a P0
   and a P1 security alert, an alert of another service), against the expected receivers
   computed here from the routing policy of the issue (independent of the config).
5. Inhibition on a LIVE Alertmanager on 127.0.0.1 (prometheus-alertmanager with the rendered
   config, gossip off): alerts built from the rules' labels are posted to /api/v2/alerts and
   /api/v2/alerts is asked which are inhibited, and by what; then it is stopped.
Needs amtool and prometheus-alertmanager (Debian package prometheus-alertmanager), PyYAML.
"""
import datetime
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import yaml

from livetools import MON, RENDER, alert_rules, expected_receivers, free_port, http_json, start_alertmanager, stop
GRAFANA = "https://grafana.example.org"
ENV = {
    "AM_SMTP_SMARTHOST": "127.0.0.1:2525",
    "AM_SMTP_FROM": "alertmanager@example.org",
    "AM_SMTP_AUTH_USERNAME": "alertmanager",
    "AM_ONCALL_EMAIL": "oncall@example.org",
    "AM_EXEC_EMAIL": "executives@example.org",
    "AM_SOC_EMAIL": "soc@example.org",
    "AM_CAPACITY_EMAIL": "capacity@example.org",
    "AM_DEFAULT_EMAIL": "hpc-ops@example.org",
    "AM_SOC_WEBHOOK_URL": "http://127.0.0.1:9/soc",
    "AM_PAGERDUTY_URL": "http://127.0.0.1:9/pagerduty",
    "AM_GRAFANA_URL": GRAFANA,
    "AM_TIMEZONE": "Europe/Berlin",
}
SECRETS = ["smtp-password", "slack-webhook-url", "pagerduty-oncall-routing-key",
           "pagerduty-security-routing-key", "soc-webhook-token"]

errors = []


def fail(msg):
    errors.append(msg)
    print("FAIL:", msg, file=sys.stderr)


def rules():
    return alert_rules(MON / "prometheus-rules.yaml")


def render(tmp):
    secrets = tmp / "secrets"
    secrets.mkdir()
    for name in SECRETS:
        (secrets / name).write_text("http://127.0.0.1:9/slack\n" if "slack" in name else "test-secret\n")
    env = dict(os.environ, **ENV, AM_SECRETS_DIR=str(secrets),
               AM_TEMPLATES_GLOB=str(tmp / "am" / "*.tmpl"))
    # Refusals: a required variable missing, an invalid value.
    bad = dict(env)
    del bad["AM_EXEC_EMAIL"]
    r = subprocess.run([sys.executable, str(RENDER), "--output-dir", str(tmp / "bad"), "--no-amtool"],
                       env=bad, capture_output=True, text=True)
    if r.returncode == 0 or "AM_EXEC_EMAIL is required" not in r.stderr:
        fail(f"render without AM_EXEC_EMAIL was not refused: {r.stderr}")
    r = subprocess.run([sys.executable, str(RENDER), "--output-dir", str(tmp / "bad"), "--no-amtool"],
                       env=dict(env, AM_BUSINESS_HOURS_START="9am"), capture_output=True, text=True)
    if r.returncode == 0:
        fail("render with AM_BUSINESS_HOURS_START=9am was not refused")
    # A value read from a *_FILE, with YAML-special characters that must stay one string.
    (tmp / "exec-email").write_text("executives@example.org # not: a [comment]\n")
    env_file = dict(env, AM_EXEC_EMAIL_FILE=str(tmp / "exec-email"))
    del env_file["AM_EXEC_EMAIL"]
    r = subprocess.run([sys.executable, str(RENDER), "--output-dir", str(tmp / "quoted"),
                        "--no-amtool", "--check-secrets"], env=env_file, capture_output=True, text=True)
    if r.returncode:
        fail(f"render with AM_EXEC_EMAIL_FILE failed: {r.stderr}")
    else:
        cfg = yaml.safe_load((tmp / "quoted" / "alertmanager.yml").read_text())
        to = [c["to"] for rcv in cfg["receivers"] if rcv["name"] == "sla-exec" for c in rcv["email_configs"]]
        if to != ["executives@example.org # not: a [comment]"]:
            fail(f"value from AM_EXEC_EMAIL_FILE not kept as one string: {to}")
    r = subprocess.run([sys.executable, str(RENDER), "--output-dir", str(tmp / "am"), "--check-secrets"],
                       env=env, capture_output=True, text=True)
    print(r.stdout.strip())
    if r.returncode:
        fail(f"render + amtool check-config failed: {r.stdout}{r.stderr}")
    cfg_text = (tmp / "am" / "alertmanager.yml").read_text()
    for secret in ("test-secret", "127.0.0.1:9/slack"):
        if secret in cfg_text:
            fail(f"a secret value ended up in the rendered config: {secret}")
    return tmp / "am" / "alertmanager.yml"


def check_templates(config, tmp):
    alerts = []
    for rule in list(rules())[:3]:
        alerts.append({"status": "firing", "labels": {"alertname": rule["alert"], **rule["labels"],
                                                      "instance": "a:10341", "cluster": "lab"},
                       "annotations": {**rule["annotations"], "dashboard_url": "/d/slurm-exporter-ops/x"},
                       "startsAt": "2026-12-02T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                       "generatorURL": "http://prometheus/graph", "fingerprint": "0"})
    common = {k: v for k, v in alerts[0]["labels"].items()
              if all(a["labels"].get(k) == v for a in alerts)}
    data = {"receiver": "oncall-page", "status": "firing", "alerts": alerts,
            "groupLabels": {"alertname": alerts[0]["labels"]["alertname"]},
            "commonLabels": common, "commonAnnotations": {},
            "externalURL": "http://alertmanager.example.org:9093"}
    (tmp / "data.json").write_text(json.dumps(data))
    glob = str(config.parent / "*.tmpl")
    for name in ("slurm.title", "slurm.text", "slurm.email.subject", "slurm.email.html",
                 "slurm.dashboard_url", "slurm.silence_url"):
        r = subprocess.run(["amtool", "template", "render", f"--template.glob={glob}",
                            f"--template.data={tmp / 'data.json'}",
                            f"--template.text={{{{ template \"{name}\" . }}}}"],
                           capture_output=True, text=True)
        if r.returncode or not r.stdout.strip():
            fail(f"template {name} does not render: {r.stderr}")
            continue
        out = r.stdout
        if name == "slurm.text":
            for want in (alerts[0]["annotations"]["runbook_url"], GRAFANA + "/d/slurm-exporter-ops/x",
                         "http://alertmanager.example.org:9093/#/silences/new?filter=%7B"):
                if want not in out:
                    fail(f"template {name} lacks {want}:\n{out}")
        if name == "slurm.title" and alerts[0]["labels"]["alertname"] not in out:
            fail(f"template {name}: {out}")
    print("templates render with runbook, dashboard and silence links")


def check_routes(config):
    cases = []
    for rule in rules():
        labels = {"alertname": rule["alert"], **rule["labels"], "instance": "a:10341", "cluster": "lab"}
        cases.append((f"{rule['alert']} {rule['labels']['severity']}", labels))
    base = {"service": "slurm-exporter", "component": "exporter-http", "instance": "a:10341"}
    for prio, sev in (("P0", "critical"), ("P1", "warning"), ("P2", "info")):
        cases.append((f"synthetic {prio} security", dict(base, alertname="SlurmExporterSyntheticSecurity",
                                                          category="security", priority=prio, severity=sev)))
    cases.append(("synthetic P1 capacity", dict(base, alertname="X", category="capacity",
                                                priority="P1", severity="warning")))
    cases.append(("another service", {"alertname": "NodeDown", "severity": "critical", "priority": "P0"}))
    seen = set()
    for what, labels in cases:
        want = expected_receivers(labels)
        seen.update(want)
        args = [f"{k}={v}" for k, v in sorted(labels.items())]
        r = subprocess.run(["amtool", "config", "routes", "test", f"--config.file={config}",
                            f"--verify.receivers={','.join(want)}", *args],
                           capture_output=True, text=True)
        if r.returncode:
            fail(f"route of {what}: expected {want}, got {r.stdout.strip()}")
    must = {"security": "P2 security", "sla-exec": "SLA breach"}
    if not any(w == "synthetic P2 security" for w, _ in cases):
        fail("no P2 security case")
    if expected_receivers({"service": "slurm-exporter", "category": "security", "priority": "P2"}) != ["security"]:
        fail("policy: a P2 security alert must only reach security")
    sla = [l for w, l in cases if l.get("alertname") == "SlurmExporterSLABreach"]
    if not sla or expected_receivers(sla[0]) != ["sla-exec", "oncall-page"]:
        fail("SLA breach must reach sla-exec and oncall-page")
    missing = {"default", "oncall-page", "sla-exec", "security", "capacity", "team-slack"} - seen
    if missing:
        fail(f"receivers never expected by any case: {missing}")
    print(f"routes: {len(cases)} label sets routed as expected (every alert rule; P0/P1/P2 "
          f"security; {', '.join(must.values())})")


def check_inhibition(config, tmp):
    by_name = {}
    for rule in rules():
        by_name[(rule["alert"], rule["labels"]["severity"], rule["labels"].get("cause"))] = rule["labels"]

    def alert(key, **series):
        name, sev = key[0], key[1]
        cause = key[2] if len(key) > 2 else None
        labels = by_name[(name, sev, cause)]
        return {"alertname": name, **labels, **series}

    x = dict(job="slurm-exporter")
    alerts = {
        # exporter a is down: its other alerts are muted, b's are not
        "down-a": alert(("SlurmExporterDown", "warning"), instance="a:10341", **x),
        "collector-a": alert(("SlurmExporterCollectorDown", "warning"), instance="a:10341", collector="nodes", **x),
        "collector-b": alert(("SlurmExporterCollectorDown", "warning"), instance="b:10341", collector="nodes", **x),
        # no slurmctld of cluster lab answers (seen by exporter c)
        "ctl-down-lab": alert(("SlurmControllerDown", "critical"), instance="c:10341", cluster="lab", **x),
        "unhealthy-lab": alert(("SlurmClusterUnhealthy", "warning"), cluster="lab", partition="debug", **x),
        "queue-lab": alert(("SlurmQueueBuildup", "warning"), cluster="lab", partition="batch", **x),
        "dbd-lab": alert(("SlurmDBDAgentQueueGrowing", "warning"), instance="c:10341", cluster="lab", **x),
        "unhealthy-other": alert(("SlurmClusterUnhealthy", "warning"), cluster="other", partition="debug", **x),
        "api-c": alert(("SlurmExporterSlurmAPIConnectivity", "warning"), instance="c:10341", reason="command", **x),
        "api-d": alert(("SlurmExporterSlurmAPIConnectivity", "warning"), instance="d:10341", reason="connection", **x),
        # the REST exporter r of cluster lab: its symptoms carry cluster (per-collector
        # self-metrics), so c's SlurmControllerDown mutes them; exporter s of cluster other not
        "collector-r-lab": alert(("SlurmExporterCollectorDown", "warning"), instance="r:10341", cluster="lab", collector="nodes", **x),
        "stale-r-lab": alert(("SlurmExporterStaleData", "warning"), instance="r:10341", cluster="lab", collector="jobs", **x),
        "api-r-lab": alert(("SlurmExporterSlurmAPIConnectivity", "warning"), instance="r:10341", cluster="lab", reason="timeout", **x),
        "collector-s-other": alert(("SlurmExporterCollectorDown", "warning"), instance="s:10341", cluster="other", collector="nodes", **x),
        "stale-s-other": alert(("SlurmExporterStaleData", "warning"), instance="s:10341", cluster="other", collector="jobs", **x),
        # critical mutes the warning of the same alert and object only
        "slow-crit": alert(("SlurmControllerSlow", "critical"), instance="e:10341", cluster="c3", hostname="ctl1", mode="primary", **x),
        "slow-warn": alert(("SlurmControllerSlow", "warning"), instance="e:10341", cluster="c3", hostname="ctl1", mode="primary", **x),
        "slow-warn-ctl2": alert(("SlurmControllerSlow", "warning"), instance="e:10341", cluster="c3", hostname="ctl2", mode="backup", **x),
        "unhealthy-crit-c3": alert(("SlurmClusterUnhealthy", "critical"), cluster="c3", partition="p1", **x),
        "unhealthy-warn-c3": alert(("SlurmClusterUnhealthy", "warning"), cluster="c3", partition="p1", **x),
        "unhealthy-warn-c3-p2": alert(("SlurmClusterUnhealthy", "warning"), cluster="c3", partition="p2", **x),
    }
    expect_inhibited = {"collector-a": "down-a", "unhealthy-lab": "ctl-down-lab",
                        "queue-lab": "ctl-down-lab", "dbd-lab": "ctl-down-lab", "api-c": "ctl-down-lab",
                        "collector-r-lab": "ctl-down-lab", "stale-r-lab": "ctl-down-lab", "api-r-lab": "ctl-down-lab",
                        "slow-warn": "slow-crit", "unhealthy-warn-c3": "unhealthy-crit-c3"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_alertmanager(config, tmp / "am-data", port, tmp / "alertmanager.log")
    try:
        now = datetime.datetime.now(datetime.timezone.utc)
        ends = (now + datetime.timedelta(minutes=10)).isoformat()
        http_json(base + "/api/v2/alerts", [{"labels": l, "annotations": {"summary": k},
                                             "startsAt": now.isoformat(), "endsAt": ends}
                                            for k, l in alerts.items()])
        fp_of, state = {}, {}
        for _ in range(50):
            time.sleep(0.2)
            got = http_json(base + "/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true")
            state = {a["annotations"]["summary"]: a for a in got}
            if len(state) == len(alerts) and all(a["status"]["state"] != "unprocessed" for a in got):
                inhibited_now = {k for k, a in state.items() if a["status"]["inhibitedBy"]}
                if inhibited_now >= set(expect_inhibited):
                    break
        fp_of = {a["fingerprint"]: k for k, a in state.items()}
        for key in alerts:
            a = state.get(key)
            if a is None:
                fail(f"alert {key} not in Alertmanager")
                continue
            by = {fp_of.get(fp, fp) for fp in a["status"]["inhibitedBy"]}
            if key in expect_inhibited:
                if a["status"]["state"] != "suppressed" or expect_inhibited[key] not in by:
                    fail(f"{key} should be inhibited by {expect_inhibited[key]}: state "
                         f"{a['status']['state']}, inhibited by {by}")
            elif by:
                fail(f"{key} should not be inhibited, but is by {by}")
        print(f"inhibition (live Alertmanager 127.0.0.1:{port}): {len(expect_inhibited)} of "
              f"{len(alerts)} alerts muted exactly as expected")
    finally:
        stop(proc)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        config = render(tmp)
        if not errors:
            check_templates(config, tmp)
            check_routes(config)
            check_inhibition(config, tmp)
    if errors:
        print(f"check_alertmanager: {len(errors)} problem(s)", file=sys.stderr)
        return 1
    print("check_alertmanager: config valid, templates render, every route and inhibition as specified")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The five scenarios of the end-to-end test (e2e.py runs them on an `E2E` instance).

What each checks is in e2e.py's docstring. Expectations come from the lab's real state
(sinfo), the routing policy (livetools.expected_receivers) and the bundle's inhibition
rules as documented in alertmanager-config.yaml, never from what the run produced.
"""
import subprocess
import sys
import time

from livetools import ROOT, check, prom_query

CTLD_DOWN = "SlurmControllerDown"
# What SlurmControllerDown mutes (alertmanager-config.yaml): the Slurm-derived alerts of its
# cluster, and these symptoms on every exporter of that cluster (their `cluster` label), or
# on the instance that sees it for symptoms without the label.
SLURM_COMPONENTS = {"slurmctld", "slurmdbd", "slurm-nodes", "slurm-queue", "slurm-scheduler"}
SYMPTOMS = {"SlurmExporterSlurmAPIConnectivity", "SlurmExporterCollectorDown", "SlurmExporterStaleData",
            "SlurmExporterErrorRateSLO", "SlurmExporterCollectionSlow"}
UNUSABLE = {"down", "drained", "draining", "drain", "fail", "failing"}
DASHBOARDS = [ROOT / "deploy/monitoring/grafana-dashboards.json",
              ROOT / "deploy/monitoring/grafana-dashboard-cluster.json"]


def run_all(t):
    t.scenario(1, "healthy", lambda: healthy(t))
    t.scenario(2, "controller down", lambda: controller_down(t))
    t.scenario(5, "stale data (slurmctld hung)", lambda: stale_data(t))
    t.scenario(4, "authentication failure", lambda: auth_failure(t))
    t.scenario(3, "exporter down", lambda: exporter_down(t))


def key(labels):
    return (labels["alertname"], labels.get("severity"), labels.get("partition"), labels.get("cause"))


def justified_alerts(t):
    """Alerts the lab's real state justifies: partitions with more than 10 % (warning) / 30 %
    (critical) unusable nodes as sinfo prints them (the lab has two fake nodes that are
    always down and a drained node), and configuration drift when the two exporters (CLI
    and REST source: two configurations by design) report different config hashes."""
    out = subprocess.run(["sinfo", "-h", "-o", "%R %T %D"], capture_output=True, text=True, check=True).stdout
    total, bad = {}, {}
    for line in out.splitlines():
        part, state, count = line.split()
        base = state.rstrip("*~#!%$@^-+").lower()
        total[part] = total.get(part, 0) + int(count)
        if base in UNUSABLE or state.endswith("*"):
            bad[part] = bad.get(part, 0) + int(count)
    want = set()
    for part, n in total.items():
        share = bad.get(part, 0) / n
        if share > 0.1:
            want.add(("SlurmClusterUnhealthy", "warning", part, None))
        if share > 0.3:
            want.add(("SlurmClusterUnhealthy", "critical", part, None))
    hashes = prom_query(t.prom, 'count(count by (hash) (slurm_exporter_config_hash{job="slurm-exporter"}))')
    if hashes and float(hashes[0]["value"][1]) > 1:
        want.add(("SlurmExporterConfigurationDrift", "warning", None, "hash-mismatch"))
    return want


def healthy(t):
    t.wait("15 good scrapes of both exporters", 90, lambda: len(prom_query(
        t.prom, 'count_over_time(up{job="slurm-exporter"}[5m]) >= 15 and up{job="slurm-exporter"} == 1')) == 2)
    want = justified_alerts(t)
    # The longest `for:` an alert here can need is 15 s (15m in the bundle).
    t.wait(f"the alerts the lab justifies ({len(want)})", 60, lambda: {key(a) for a in t.firing()} >= want)
    time.sleep(3)
    got = {key(a) for a in t.firing()}
    check(got == want, f"firing {sorted(got - want, key=str)} beyond what the lab justifies")
    for name in ("cli", "rest"):
        code, body = t.exporter_get(name, "/ready")
        check(code == 200, f"{name} /ready {code}: {body}")
    ups = prom_query(t.prom, 'up{job="slurm-exporter"}')
    check(len(ups) == 2 and all(u["value"][1] == "1" for u in ups), f"up: {ups}")
    # The justified alerts are routed (or inhibited) as promised.
    by_name = {}
    for a in t.firing():
        by_name.setdefault(a["alertname"], []).append(a)
    routed = []
    for name, alerts in sorted(by_name.items()):
        crit = [a for a in alerts if a.get("severity") == "critical"]
        routed += t.expect_routed(0, name, (crit or alerts)[0], 30)
        if crit:
            for a in t.am_alerts(name):
                if a["labels"]["severity"] == "warning":
                    t.expect_inhibited(a, [name])
    r = subprocess.run([sys.executable, str(ROOT / "deploy/monitoring/tests/check_dashboards.py"),
                        "--prometheus", t.prom, *map(str, DASHBOARDS)], capture_output=True, text=True)
    check(r.returncode == 0, f"dashboards: {r.stdout[-1500:]}{r.stderr[-1500:]}")
    return (f"firing only what the lab justifies: {sorted({w[0] + '/' + str(w[1]) for w in want})}; "
            f"routed to {sorted(set(routed))}; {r.stdout.strip().splitlines()[-1]}")


def inhibition_expected(alert, ctl_instances, cluster="lab"):
    labels = alert["labels"]
    if labels["alertname"] == CTLD_DOWN:
        return False
    if labels.get("component") in SLURM_COMPONENTS and labels.get("cluster") == cluster:
        return True
    if labels["alertname"] not in SYMPTOMS:
        return False
    return labels.get("cluster") == cluster or labels.get("instance") in ctl_instances


def check_ctld_inhibition(t, ctl_instances, since):
    """Every alert SlurmControllerDown should mute is suppressed by it, and none of them
    reached a sink since `since`. Returns the muted alerts and the symptoms left active
    (another cluster's, or without a cluster label on another instance)."""
    muted, loud = [], []
    for a in t.am_alerts():
        if a["status"]["state"] == "unprocessed":
            continue
        if inhibition_expected(a, ctl_instances):
            t.expect_inhibited(a, [CTLD_DOWN])
            labels = a["labels"]
            inst = labels.get("instance") if labels["alertname"] in SYMPTOMS else None
            sent = t.notified(since, labels["alertname"], "firing", inst)
            check(not sent, f"inhibited {labels['alertname']} {inst or ''} reached {sorted(sent)}")
            muted.append(f"{labels['alertname']}{'@' + inst if inst else ''}")
        elif a["labels"]["alertname"] in SYMPTOMS and a["status"]["state"] == "active":
            loud.append(f"{a['labels']['alertname']}@{a['labels'].get('instance')}")
    return sorted(set(muted)), sorted(set(loud))


def controller_down(t):
    since = t.mark()
    t.lab("stop", "slurmctld")
    for name in ("cli", "rest"):
        code, _ = t.exporter_get(name, "/metrics")
        check(code == 200, f"{name}: /metrics {code} with slurmctld stopped")
    t.wait("/ready 503 on both exporters", 30,
           lambda: all(t.exporter_get(n, "/ready")[0] == 503 for n in ("cli", "rest")))
    t.wait("collectors down on both instances", 30, lambda: len(prom_query(
        t.prom, 'count by (instance) (slurm_exporter_collector_up{job="slurm-exporter"} == 0)')) == 2)
    fired = t.wait(f"{CTLD_DOWN} firing", 60, lambda: t.firing(CTLD_DOWN))
    routed = t.expect_routed(since, CTLD_DOWN, fired[0], 60)
    ctl_instances = {a["instance"] for a in t.firing(CTLD_DOWN)}
    after_page = t.mark()
    # SlurmExporterCollectorDown (5 s here) fires on the instance that sees the controller down.
    t.wait("SlurmExporterCollectorDown in Alertmanager", 60, lambda: [
        a for a in t.am_alerts("SlurmExporterCollectorDown") if a["labels"]["instance"] in ctl_instances])
    time.sleep(3)
    muted, loud = check_ctld_inhibition(t, ctl_instances, after_page)
    check(any(m.startswith("SlurmClusterUnhealthy") for m in muted), f"SlurmClusterUnhealthy not muted: {muted}")
    check(any(m.startswith("SlurmExporterCollectorDown") for m in muted), f"CollectorDown not muted: {muted}")
    healed = t.mark()
    t.lab("up", "--accounting")
    resolved = t.expect_routed(healed, CTLD_DOWN, fired[0], 60, status="resolved")
    t.wait("/ready 200 on both exporters", 90,
           lambda: all(t.exporter_get(n, "/ready")[0] == 200 for n in ("cli", "rest")))
    if loud:
        t.notes.append(f"scenario 2: not muted by {CTLD_DOWN} (no cluster label, other instance): {loud}")
    return (f"paged {routed}; muted {muted}; resolved to {len(resolved)} endpoints; /ready 200 again")


def stale_data(t):
    since = t.mark()
    pid = t.lab("pid", "slurmctld")
    subprocess.run(["kill", "-STOP", pid], check=True)
    t.ctld_stopped = pid
    hung = time.time()
    slowest = 0.0
    for _ in range(6):
        for name in ("cli", "rest"):
            start = time.time()
            code, _ = t.exporter_get(name, "/metrics")
            slowest = max(slowest, time.time() - start)
            check(code == 200, f"{name}: /metrics {code} while slurmctld hangs")
        time.sleep(0.5)
    # The scrape is served from memory: it must not wait for a collection (timeout 2 s).
    check(slowest < 1.5, f"a scrape took {slowest:.2f} s while slurmctld hangs")
    insts = set(t.instances.values())
    t.wait("SlurmExporterStaleData firing for both instances", 120, lambda: {
        a["instance"] for a in t.firing("SlurmExporterStaleData")} >= insts)
    window = max(2, int(time.time() - hung))
    ups = prom_query(t.prom, f'min_over_time(up{{job="slurm-exporter"}}[{window}s])')
    check(len(ups) == 2 and all(u["value"][1] == "1" for u in ups), f"a scrape failed during the hang: {ups}")
    t.wait("SlurmExporterStaleData in Alertmanager for both instances", 30, lambda: {
        a["labels"]["instance"] for a in t.am_alerts("SlurmExporterStaleData")
        if a["status"]["state"] != "unprocessed"} >= insts)
    # The CLI exporter's `scontrol ping` sees the controller down; its SlurmControllerDown
    # mutes StaleData of every exporter of the cluster (the REST one only times out).
    firing_ctl = t.firing(CTLD_DOWN)
    ctl = {a["instance"] for a in firing_ctl}
    ctl_clusters = {a.get("cluster") for a in firing_ctl} - {None}
    outcome = []
    for inst in sorted(insts):
        alerts = [a for a in t.am_alerts("SlurmExporterStaleData") if a["labels"]["instance"] == inst]
        if inst in ctl or (alerts and all(a["labels"].get("cluster") in ctl_clusters for a in alerts)):
            for a in alerts:
                t.expect_inhibited(a, [CTLD_DOWN])
            outcome.append(f"{inst}: muted by {CTLD_DOWN}")
        else:
            routed = t.expect_routed(since, "SlurmExporterStaleData", alerts[0]["labels"], 60, instance=inst)
            outcome.append(f"{inst}: {routed}")
    subprocess.run(["kill", "-CONT", pid], check=True)
    t.ctld_stopped = None
    t.wait("/ready 200 on both exporters", 90,
           lambda: all(t.exporter_get(n, "/ready")[0] == 200 for n in ("cli", "rest")))
    t.wait("SlurmExporterStaleData resolved", 60, lambda: not t.firing("SlurmExporterStaleData"))
    return f"slowest scrape {slowest * 1000:.0f} ms, up stayed 1; StaleData {'; '.join(outcome)}"


def auth_failure(t):
    since = t.mark()
    for password in ["wrong"] * 8 + [None] * 2:
        code, _ = t.exporter_get("cli", "/metrics", password=password)
        check(code == 401, f"a wrong password got {code}")
    fired = t.wait("SlurmExporterUnauthorizedAccess firing", 60, lambda: t.firing("SlurmExporterUnauthorizedAccess"))
    security = t.expect_routed(since, "SlurmExporterUnauthorizedAccess", fired[0], 60)
    check({"soc:soc", "pagerduty:e2e-security-routing-key"} <= set(security), f"security receivers: {security}")
    # A JWT slurmrestd refuses: the exporter counts it and the dependency alert follows.
    t.stack.write_jwt("e2e.wrong.token")
    try:
        fired = t.wait("SlurmExporterAuthenticationFailure firing", 60,
                       lambda: t.firing("SlurmExporterAuthenticationFailure"))
        jwt = t.expect_routed(since, "SlurmExporterAuthenticationFailure", fired[0], 60)
    finally:
        t.stack.write_jwt()
    t.wait("REST exporter /ready 200 with a good JWT", 60, lambda: t.exporter_get("rest", "/ready")[0] == 200)
    return f"basic auth failures -> {security}; wrong JWT -> {jwt}"


def exporter_down(t):
    since = t.mark()
    insts = set(t.instances.values())
    for name in ("cli", "rest"):
        t.stack.stop_process(f"exporter-{name}")
    fired = t.wait("SlurmExporterDown critical for both instances", 60, lambda: (lambda a: a if {
        x["instance"] for x in a} >= insts else None)([x for x in t.firing("SlurmExporterDown")
                                                      if x["severity"] == "critical"]))
    paged = t.expect_routed(since, "SlurmExporterDown", fired[0], 60)
    want = {"pagerduty:e2e-oncall-routing-key", "slack:#slurm-oncall", "email:oncall@example.org"}
    check(want <= set(paged), f"SlurmExporterDown paged {paged}, want {sorted(want)}")
    early = t.notified(since, "SlurmExporterDown", "firing", None, "P1")
    if early:
        t.notes.append(f"scenario 3: the P1 SlurmExporterDown (one instance down) reached {sorted(early)} "
                       "before the P0 one (all down) fired and muted it: the exporters stop one after the other")
    time.sleep(3)
    muted = []
    for a in t.am_alerts():
        labels = a["labels"]
        if labels.get("instance") not in insts or a["status"]["state"] == "unprocessed":
            continue
        if labels["alertname"] == "SlurmExporterDown" and labels["severity"] == "critical":
            check(a["status"]["state"] == "active", f"critical SlurmExporterDown is {a['status']['state']}")
            continue
        # the warning variant is muted by the critical one, everything else of the instance
        # by SlurmExporterDown
        t.expect_inhibited(a, ["SlurmExporterDown"])
        muted.append(f"{labels['alertname']}/{labels['severity']}@{labels['instance']}")
    check(any(not m.startswith("SlurmExporterDown") for m in muted),
          f"no other alert of the down instances to mute: {muted}")
    return f"paged {paged}; muted {sorted(set(muted))}"

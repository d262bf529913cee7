#!/usr/bin/env python3
"""Checks the Grafana dashboards of deploy/monitoring without Grafana.

Static (always):
  1. every dashboard file parses as JSON;
  2. schema sanity: panel types from the current set (no legacy `graph`), unique ids,
     gridPos inside 24 columns and no overlaps, every datasource is `${datasource}`,
     every `$var` used is defined in `templating`, the cluster/instance variables exist
     and every panel query uses them (see EXPECT_SCOPE);
  3. every PromQL expression (panel targets, annotations, variable queries) parses:
     Grafana's variables are substituted and the expressions are emitted as recording
     rules for `promtool check rules`.
Live (--prometheus URL, run by check-dashboards.sh):
  4. every panel query returns data from a Prometheus scraping the exporter that runs
     against the local Slurm cluster, except the targets listed in NO_DATA_OK (with the
     reason why they cannot have data within a minute of a fresh Prometheus), and every
     variable query returns values.
"""
import argparse
import json
import math
import re
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

ALLOWED_PANELS = {"row", "timeseries", "stat", "gauge", "table", "bargauge", "text"}
BUILTIN_VARS = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s",
                "__range_ms", "__from", "__to", "__dashboard", "__name", "__org", "__user",
                "__all", "timeFilter", "__timeFilter"}
SUBST = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h", "__range_s": "3600",
         "__range_ms": "3600000", "__interval_ms": "60000"}
VAR_RE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\}?|\[\[([A-Za-z0-9_]+)\]\]")

# Targets allowed to return nothing on a Prometheus that has scraped the lab for a minute:
# (dashboard uid, panel title, refId) -> why.
NO_DATA_OK = {
    ("slurm-exporter-ops", "Series growth over 30 days", "A"):
        "compares with `offset 30d`: needs 30 days of history",
    ("slurm-exporter-ops", "Firing alerts", "A"):
        "ALERTS: only while an alert of the bundle fires",
    ("slurm-cluster-overview", "Drain and down durations (median over a day)", "A"):
        "observed when a drained node returns to service: none within a minute",
    ("slurm-cluster-overview", "Drain and down durations (median over a day)", "B"):
        "observed when a down node returns to service: none within a minute",
}
# The annotation query (ALERTS) is parsed, never required to have data (same reason).

# Series exempt from the $cluster filter: the exporter's own (its HTTP, process, build and
# config series carry no cluster label; the per-collector ones do, tests/CONTRACT.md, and may
# be filtered by it) and Prometheus' scrape series. Their queries are scoped to a cluster
# through $instance, whose values come from slurm_info{cluster=~"$cluster"}. Every other
# series must be filtered by $cluster too.
NO_CLUSTER_LABEL = re.compile(r"^(slurm_exporter_|process_|up$|scrape_|ALERTS$|instance:slurm_exporter_|job:|slurm_exporter:)")
# Service-level SLO recording rules of prometheus-rules.yaml (per job: at least one exporter
# answered). They are what the SLA alerts evaluate, have neither instance nor cluster
# label, and a query made only of them is exempt from the $instance/$cluster filters.
JOB_LEVEL = re.compile(r"^(job:|slurm_exporter:)")


def fail(errors, msg):
    errors.append(msg)


def defined_vars(dash):
    return {v["name"] for v in dash.get("templating", {}).get("list", [])}


def used_vars(text):
    out = set()
    for m in VAR_RE.finditer(text):
        out.add(m.group(1) or m.group(2))
    return out


def substitute(expr):
    def repl(m):
        name = m.group(1) or m.group(2)
        if name in SUBST:
            return SUBST[name]
        return ".*"   # $cluster, $instance, $partition: only used inside =~"..."
    return VAR_RE.sub(repl, expr)


def iter_panels(panels):
    for p in panels:
        yield p
        yield from iter_panels(p.get("panels", []))


SELECTOR_RE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})")
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
            "and", "or", "unless", "inf", "nan"}


def selectors(expr):
    """(metric, matchers) of every vector selector; bare metric names get matchers ''."""
    out = [(m.group(1), m.group(2)) for m in SELECTOR_RE.finditer(expr)]
    rest = SELECTOR_RE.sub(" ", expr)
    rest = re.sub(r'"[^"]*"', " ", rest)
    rest = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", rest)
    rest = re.sub(r"\[[^\]]*\]", " ", rest)
    rest = re.sub(r"\boffset\s+\w+", " ", rest)
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?", rest):
        if m.group(2) or m.group(1).lower() in KEYWORDS:
            continue
        out.append((m.group(1), ""))
    return out


def check_static(paths):
    errors, exprs = [], []   # exprs: (label, uid, title, refId, expr, kind)
    for path in paths:
        try:
            with open(path) as f:
                dash = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            fail(errors, f"{path}: does not parse: {e}")
            continue
        uid = dash.get("uid")
        where = f"{path} ({uid})"
        for key in ("uid", "title", "panels", "templating", "schemaVersion"):
            if key not in dash:
                fail(errors, f"{where}: no `{key}`")
        if not isinstance(dash.get("refresh", ""), str):
            fail(errors, f"{where}: refresh must be a string")
        dvars = defined_vars(dash)
        for need in ("datasource", "cluster", "instance"):
            if need not in dvars:
                fail(errors, f"{where}: template variable `{need}` is not defined")
        for v in dash.get("templating", {}).get("list", []):
            if v.get("type") == "datasource":
                if v.get("query") != "prometheus":
                    fail(errors, f"{where}: datasource variable must query prometheus")
                continue
            if v.get("type") == "query":
                ds = v.get("datasource", {})
                if ds.get("uid") != "${datasource}":
                    fail(errors, f"{where}: variable {v['name']}: datasource uid must be ${{datasource}}")
                q = v.get("query")
                q = (q.get("query") if isinstance(q, dict) else q) or ""
                for u in used_vars(q) - dvars - BUILTIN_VARS:
                    fail(errors, f"{where}: variable {v['name']} uses undefined ${u}")
                m = re.fullmatch(r"label_values\((.*),\s*([a-z_]+)\)", q or "")
                if not m:
                    fail(errors, f"{where}: variable {v['name']}: query is not label_values(selector, label)")
                else:
                    exprs.append((f"{uid} var {v['name']}", uid, f"var {v['name']}", "", m.group(1), "var", m.group(2)))
                if v["name"] == "instance" and v.get("allValue"):
                    fail(errors, f"{where}: $instance must not have an allValue (All must mean the instances of the selected clusters)")
        ids, rects = set(), []
        for p in iter_panels(dash.get("panels", [])):
            title = p.get("title", "?")
            pw = f"{where} panel {p.get('id')} '{title}'"
            t = p.get("type")
            if t not in ALLOWED_PANELS:
                fail(errors, f"{pw}: panel type {t!r} not allowed (allowed: {sorted(ALLOWED_PANELS)})")
            pid = p.get("id")
            if not isinstance(pid, int):
                fail(errors, f"{pw}: id must be an integer")
            elif pid in ids:
                fail(errors, f"{pw}: duplicate id {pid}")
            ids.add(pid)
            g = p.get("gridPos", {})
            try:
                x, y, w, h = (int(g[k]) for k in ("x", "y", "w", "h"))
                if not all(isinstance(g[k], int) for k in ("x", "y", "w", "h")):
                    raise TypeError
            except (KeyError, TypeError, ValueError):
                fail(errors, f"{pw}: gridPos needs integer x, y, w, h")
                continue
            if x < 0 or y < 0 or w < 1 or h < 1 or x + w > 24:
                fail(errors, f"{pw}: gridPos {g} outside the 24-column grid")
            for (ox, oy, ow, oh, otitle) in rects:
                if x < ox + ow and ox < x + w and y < oy + oh and oy < y + h:
                    fail(errors, f"{pw}: gridPos {g} overlaps panel '{otitle}'")
            rects.append((x, y, w, h, title))
            if t == "row":
                continue
            if p.get("datasource", {}).get("uid") != "${datasource}":
                fail(errors, f"{pw}: panel datasource uid must be ${{datasource}}")
            targets = p.get("targets") or []
            if not targets and t != "text":
                fail(errors, f"{pw}: no targets")
            refs = set()
            for tg in targets:
                ref = tg.get("refId")
                if ref in refs:
                    fail(errors, f"{pw}: duplicate refId {ref}")
                refs.add(ref)
                if tg.get("datasource", {}).get("uid") != "${datasource}":
                    fail(errors, f"{pw} {ref}: target datasource uid must be ${{datasource}}")
                expr = tg.get("expr")
                if not expr:
                    fail(errors, f"{pw} {ref}: no expr")
                    continue
                for u in used_vars(expr) - dvars - BUILTIN_VARS:
                    fail(errors, f"{pw} {ref}: uses undefined ${u}")
                sels = selectors(expr)
                job_level = bool(sels) and all(JOB_LEVEL.match(n) for n, _ in sels)
                if "$instance" not in expr and not job_level:
                    fail(errors, f"{pw} {ref}: does not filter on $instance")
                for name, matchers in sels:
                    if not NO_CLUSTER_LABEL.match(name) and "$cluster" not in matchers:
                        fail(errors, f"{pw} {ref}: selector {name} is not filtered by $cluster")
                exprs.append((f"{uid} '{title}' {ref}", uid, title, ref, expr, "panel", None))
            for k in p.get("fieldConfig", {}).get("defaults", {}).get("links", []) or []:
                for u in used_vars(k.get("url", "")) - dvars - BUILTIN_VARS:
                    fail(errors, f"{pw}: link uses undefined ${u}")
        for a in dash.get("annotations", {}).get("list", []):
            if a.get("builtIn"):
                continue
            if a.get("datasource", {}).get("uid") != "${datasource}":
                fail(errors, f"{where}: annotation {a.get('name')}: datasource uid must be ${{datasource}}")
            for u in used_vars(a.get("expr", "")) - dvars - BUILTIN_VARS:
                fail(errors, f"{where}: annotation {a.get('name')} uses undefined ${u}")
            exprs.append((f"{uid} annotation '{a.get('name')}'", uid, "annotation " + a.get("name", ""), "", a["expr"], "annotation", None))
    return errors, exprs


def promtool_parse(exprs):
    """Every expression as a recording rule, checked by promtool."""
    rules = {"groups": [{"name": "dashboard-queries", "rules": [
        {"record": f"dashboard:query_{i}", "expr": substitute(e[4])} for i, e in enumerate(exprs)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(rules, f)
        path = f.name
    r = subprocess.run(["promtool", "check", "rules", path], capture_output=True, text=True)
    if r.returncode != 0:
        # name the failing query
        out = r.stdout + r.stderr
        lines = [out]
        for m in re.finditer(r"dashboard:query_(\d+)", out):
            e = exprs[int(m.group(1))]
            lines.append(f"  query_{m.group(1)} = {e[0]}: {substitute(e[4])}")
        return ["promtool check rules failed on the dashboard queries:\n" + "\n".join(lines)]
    return []


def api(prom, path, params):
    url = prom + path + "?" + urllib.parse.urlencode(params, doseq=True)
    with urllib.request.urlopen(url, timeout=30) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(f"{path}: {body}")
    return body["data"]


def check_live(prom, exprs):
    errors, report = [], []
    for label, uid, title, ref, expr, kind, labelname in exprs:
        q = substitute(expr)
        if kind == "annotation":
            report.append(f"  skip  {label}: annotation (ALERTS, only while alerts fire)")
            continue
        if kind == "var":
            data = api(prom, "/api/v1/series", {"match[]": q})
            values = sorted({s.get(labelname) for s in data if s.get(labelname)})
            if values:
                report.append(f"  ok    {label}: {values}")
            else:
                fail(errors, f"{label}: label_values({q}, {labelname}) has no values")
            continue
        try:
            data = api(prom, "/api/v1/query", {"query": q})
        except Exception as e:  # noqa: BLE001 - report any API error as a failure
            fail(errors, f"{label}: query failed: {e}")
            continue
        result = data["result"]
        finite = [r for r in result if not math.isnan(float(r["value"][1]))]
        key = (uid, title, ref)
        if finite:
            report.append(f"  ok    {label}: {len(finite)} series")
            if key in NO_DATA_OK:
                report.append(f"        (listed in NO_DATA_OK but has data: {NO_DATA_OK[key]})")
        elif key in NO_DATA_OK:
            report.append(f"  nodata {label}: allowed: {NO_DATA_OK[key]}")
        else:
            fail(errors, f"{label}: no data ({len(result)} series, all NaN)" if result else f"{label}: no data\n    {q}")
    return errors, report


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dashboards", nargs="+")
    ap.add_argument("--prometheus", help="URL of a Prometheus scraping the exporter: evaluate every query")
    args = ap.parse_args()
    errors, exprs = check_static(args.dashboards)
    errors += promtool_parse(exprs)
    npanels = len({(e[1], e[2]) for e in exprs if e[5] == "panel"})
    if not errors:
        print(f"dashboards: {len(args.dashboards)} files, {npanels} panels, {len(exprs)} queries: schema ok, every query parses (promtool)")
    if args.prometheus and not errors:
        live_errors, report = check_live(args.prometheus, exprs)
        print("\n".join(report))
        errors += live_errors
        if not live_errors:
            print(f"dashboards: every query has data on a live Prometheus, except {len(NO_DATA_OK)} documented")
    for e in errors:
        print("ERROR: " + e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

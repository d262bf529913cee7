#!/usr/bin/env python3
"""Metric-existence check of the monitoring bundle.

Every metric name used by
  - the rule files deploy/monitoring/*.yaml (PrometheusRule or plain rule groups),
  - the Grafana dashboards deploy/monitoring/*.json (panel and annotation `expr`, variable
    queries),
  - the runbooks docs/runbooks/*.md (```promql blocks; metric-like words in ```sh blocks),
must be one of
  (a) the series of a real /metrics captured from the exporter running against the local
      Slurm cluster with every collector on, with TLS and basic auth (so the TLS and HTTP
      auth families exist) -- captured by this script (--exporter BIN) or given (--metrics),
  (b) a recording rule of the bundle, or
  (c) the short documented list of external series in external-metrics.txt.
For the exporter's own series the label matchers are checked too: a label must exist on
the metric, and a value matched with = (or each literal of a|b|c with =~) must have been
seen in the capture (target labels job, instance, namespace, pod... are exempt).
Runbook PromQL must also parse (`promtool check rules` on the blocks as recording rules).
Python 3 standard library + PyYAML; promtool and openssl.
"""
import argparse
import base64
import glob
import json
import os
import pathlib
import re
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import yaml

from livetools import BCRYPT, PASSWORD, PER_USER_COLLECTORS, USER, accounting_collectors, free_port

ROOT = pathlib.Path(__file__).resolve().parents[3]
MON = ROOT / "deploy/monitoring"
RUNBOOKS = ROOT / "docs/runbooks"
EXTERNAL = pathlib.Path(__file__).resolve().parent / "external-metrics.txt"
TARGET_LABELS = {"job", "instance", "namespace", "pod", "service", "endpoint", "container",
                 "__name__", "le_"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
            "and", "or", "unless", "atan2", "inf", "nan", "Inf", "NaN", "start", "end",
            # aggregation operators, which may be followed by by/without instead of "("
            "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
            "bottomk", "topk", "quantile"}
LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
NUMBER = re.compile(r"[0-9.]+(?:[eE][+-]?[0-9]+)?[A-Za-z0-9]*")


# ------------------------------------------------------------------ PromQL selector extraction
def grafana_to_promql(expr):
    """Grafana variable queries and variables -> plain PromQL (None: no metric in it)."""
    expr = expr.strip()
    m = re.match(r"^label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)$", expr, re.S)
    if m:
        expr = m.group(1)
    elif re.match(r"^(label_values|label_names)\([^,]*\)$", expr):
        return None
    m = re.match(r"^query_result\((.*)\)$", expr, re.S)
    if m:
        expr = m.group(1)
    expr = re.sub(r"\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}", "5m", expr)
    return expr


def selectors(expr):
    """Yields (metric name or None, [(label, op, value)]) for every vector selector."""
    i, n = 0, len(expr)
    prev_ident = None
    while i < n:
        c = expr[i]
        if c in "\"'`":
            j = i + 1
            while j < n and expr[j] != c:
                j += 2 if expr[j] == "\\" else 1
            i = j + 1
            continue
        if c == "#":
            while i < n and expr[i] != "\n":
                i += 1
            continue
        if c == "[":
            depth = 1
            i += 1
            while i < n and depth:
                depth += {"[": 1, "]": -1}.get(expr[i], 0)
                i += 1
            continue
        if c == "{":
            j, matchers = parse_matchers(expr, i + 1)
            yield prev_ident, matchers
            prev_ident = None
            i = j
            continue
        if c.isdigit() or (c == "." and i + 1 < n and expr[i + 1].isdigit()):
            i = NUMBER.match(expr, i).end()  # numbers and durations (1e3, 0.95, 5m, 1h30m)
            continue
        m = IDENT.match(expr, i)
        if m:
            word = m.group(0)
            j = m.end()
            k = j
            while k < n and expr[k].isspace():
                k += 1
            if prev_ident:
                yield prev_ident, []
                prev_ident = None
            if word in LIST_KEYWORDS:
                if k < n and expr[k] == "(":
                    depth, k = 1, k + 1
                    while k < n and depth:
                        depth += {"(": 1, ")": -1}.get(expr[k], 0)
                        k += 1
                i = k
                continue
            if word in KEYWORDS or (k < n and expr[k] == "("):
                i = j
                continue
            prev_ident = word
            i = j
            continue
        if prev_ident and not c.isspace():
            yield prev_ident, []
            prev_ident = None
        i += 1
    if prev_ident:
        yield prev_ident, []


def parse_matchers(expr, i):
    matchers = []
    n = len(expr)
    while i < n:
        while i < n and (expr[i].isspace() or expr[i] == ","):
            i += 1
        if i < n and expr[i] == "}":
            return i + 1, matchers
        m = IDENT.match(expr, i)
        if not m:
            raise ValueError(f"cannot parse matchers at {expr[i:i + 30]!r}")
        label = m.group(0)
        i = m.end()
        while expr[i].isspace():
            i += 1
        op = re.match(r"=~|!~|!=|=", expr[i:]).group(0)
        i += len(op)
        while expr[i].isspace():
            i += 1
        quote = expr[i]
        j = i + 1
        value = []
        while expr[j] != quote:
            if expr[j] == "\\":
                value.append(expr[j + 1])
                j += 2
            else:
                value.append(expr[j])
                j += 1
        matchers.append((label, op, "".join(value)))
        i = j + 1
    raise ValueError("unclosed {")


def names_and_matchers(expr):
    out = []
    for name, matchers in selectors(expr):
        if name is None:
            for label, op, value in matchers:
                if label == "__name__":
                    if op == "=":
                        name = value
                    elif op == "=~" and re.fullmatch(r"[A-Za-z0-9_:|]+", value):
                        for alt in value.split("|"):
                            out.append((alt, [m for m in matchers if m[0] != "__name__"]))
                        name = False
            if name is False:
                continue
            if name is None:
                out.append(("{" + ",".join(f"{l}{o}{v!r}" for l, o, v in matchers) + "}", []))
                continue
        out.append((name, matchers))
    return out


def self_test():
    cases = {
        'sum without (state) (slurm_nodes{state="idle"}) / on (job) group_left (cluster) max by (job)(up)':
            ["slurm_nodes", "up"],
        'rate(a_total{x=~"y|z"}[5m] offset 1d) > 2 * b and c or vector(1)': ["a_total", "b", "c"],
        'histogram_quantile(0.95, sum by (le) (rate(h_bucket{handler="metrics"}[$__rate_interval])))': ["h_bucket"],
        '{__name__=~"m1|m2"}': ["m1", "m2"],
        'x{a="}"} - 1e3 + time() - y offset 5m': ["x", "y"],
    }
    for expr, want in cases.items():
        got = [n for n, _ in names_and_matchers(grafana_to_promql(expr))]
        assert got == want, (expr, got)
    assert names_and_matchers('x{a="}",b!~"c"}')[0][1] == [("a", "=", "}"), ("b", "!~", "c")]
    assert grafana_to_promql("label_values(slurm_info{cluster=~\"$cluster\"}, instance)") == \
        'slurm_info{cluster=~"$cluster"}'


# ------------------------------------------------------------------ sources
def rule_files():
    for path in sorted(MON.glob("*.yaml")):
        if "groups:" not in path.read_text():
            continue  # alertmanager-config.yaml (a template), kustomization.yaml ...
        for doc in yaml.safe_load_all(path.read_text()):
            if not isinstance(doc, dict):
                continue
            groups = doc["spec"]["groups"] if doc.get("kind") == "PrometheusRule" else doc.get("groups")
            if groups:
                yield path, groups


def dashboard_exprs(dash, where):
    def walk(node, path):
        if isinstance(node, dict) and path.startswith(".templating.list[") and \
                node.get("type") != "query":
            return  # datasource, custom, interval, constant variables hold no PromQL
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "expr" and isinstance(v, str):
                    yield f"{where} {path}", v
                elif k in ("query", "definition") and isinstance(v, str) and "templating" in path:
                    yield f"{where} {path}.{k}", v
                else:
                    yield from walk(v, f"{path}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                title = v.get("title") or v.get("name") or i if isinstance(v, dict) else i
                yield from walk(v, f"{path}[{title}]")
    yield from walk(dash, "")


def sources():
    """Yields (where, expression, kind) with kind in rule | dashboard | runbook | runbook-sh."""
    records = set()
    for path, groups in rule_files():
        for g in groups:
            for r in g["rules"]:
                if "record" in r:
                    records.add(r["record"])
                yield f"{path.relative_to(ROOT)} {r.get('alert') or r.get('record')}", r["expr"], "rule"
    for path in sorted(MON.glob("*.json")):
        doc = json.loads(path.read_text())
        dashes = doc if isinstance(doc, list) else [doc]
        for d in dashes:
            d = d.get("dashboard", d)
            if "panels" not in d:
                continue
            for where, expr in dashboard_exprs(d, str(path.relative_to(ROOT))):
                yield where, expr, "dashboard"
    for path in sorted(RUNBOOKS.glob("*.md")):
        text = path.read_text()
        for m in re.finditer(r"```(promql|sh|bash|console)\n(.*?)```", text, re.S):
            kind = "runbook" if m.group(1) == "promql" else "runbook-sh"
            if kind == "runbook":
                for line_no, expr in split_promql_block(m.group(2)):
                    yield f"{path.relative_to(ROOT)} promql block", expr, kind
            else:
                yield f"{path.relative_to(ROOT)} shell block", m.group(2), kind
    sources.records = records


def split_promql_block(block):
    """One expression per paragraph (blank line separated), # comments dropped."""
    exprs, cur = [], []
    for i, line in enumerate(block.splitlines() + [""]):
        if not line.strip():
            if cur:
                exprs.append((i, "\n".join(cur)))
                cur = []
        elif not line.lstrip().startswith("#"):
            cur.append(line)
    return exprs


# ------------------------------------------------------------------ live capture
def capture(exporter, workdir):
    """Runs the exporter twice against the local cluster, both serving TLS + basic auth:
    CLI source, and REST source reading a JWT file (when SLURM_LAB_REST_URL is set), so the
    REST-only families exist too. Returns both /metrics texts concatenated."""
    cert, key = workdir / "server.crt", workdir / "server.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "30", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    web = workdir / "web.yml"
    web.write_text(f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"
                   f"basic_auth_users:\n  {USER}: {BCRYPT}\n")
    ctx = ssl.create_default_context(cafile=str(cert))
    # The per-user collectors (opt-in) too.
    per_user = PER_USER_COLLECTORS
    variants = [("cli", accounting_collectors("cli") + per_user)]
    rest = os.environ.get("SLURM_LAB_REST_URL")
    if rest:
        # A JWT file (mode 0600), as most sites run it: the file's own series exist then.
        jwt = workdir / "exporter.jwt"
        subprocess.run([str(ROOT / "scripts/slurm-dev-cluster.sh"), "token", "--file", str(jwt),
                        "root", "3600"], check=True, capture_output=True)
        jwt.chmod(0o600)
        variants.append(("rest", ["--slurm.source=rest", f"--slurm.rest-url={rest}",
                                  f"--slurm.jwt-file={jwt}", *accounting_collectors("rest"), *per_user]))
    else:
        print("SLURM_LAB_REST_URL not set: REST-only families are not captured", file=sys.stderr)
    procs = []
    try:
        for name, extra in variants:
            port = free_port()
            log = open(workdir / f"exporter-{name}.log", "w")
            proc = subprocess.Popen([exporter, f"--web.listen-address=127.0.0.1:{port}",
                                     f"--web.config.file={web}", "--collection.interval=5s",
                                     "--log.level=warn", *extra], stdout=log, stderr=subprocess.STDOUT)
            procs.append((name, proc, f"https://127.0.0.1:{port}"))
        return "\n".join(scrape(name, proc, base, ctx, workdir) for name, proc, base in procs)
    finally:
        for _, proc, _ in procs:
            proc.terminate()
        for _, proc, _ in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def scrape(name, proc, base, ctx, workdir):
    def get(path, password=PASSWORD):
        req = urllib.request.Request(base + path)
        token = base64.b64encode(f"{USER}:{password}".encode()).decode()
        req.add_header("Authorization", "Basic " + token)
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, ""

    deadline = time.time() + 60
    text = ""
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"exporter ({name}) exited: {(workdir / f'exporter-{name}.log').read_text()}")
        try:
            status, text = get("/metrics")
        except (urllib.error.URLError, ConnectionError, OSError):
            status = 0
        ups = re.findall(r'^slurm_exporter_collector_up\{cluster="[^"]*",collector="(\w+)"\} (\S+)', text, re.M)
        if status == 200 and len(ups) >= 5 and all(v == "1" for _, v in ups):
            break
        time.sleep(0.5)
    else:
        raise SystemExit(f"exporter ({name}) never had all collectors up: {text[-3000:]}")
    get("/nonexistent")          # handler="other"
    get("/metrics", "wrong")     # an auth failure
    time.sleep(5.5)              # one more collection
    status, text = get("/metrics")
    if status != 200:
        raise SystemExit(f"exporter ({name}): /metrics answered {status}")
    return text


def parse_exposition(text):
    """{metric: {label: set(values)}} from text format 0.0.4."""
    metrics = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s", line)
        if not m:
            continue
        labels = metrics.setdefault(m.group(1), {})
        for lm in re.finditer(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""):
            labels.setdefault(lm.group(1), set()).add(lm.group(2))
    return metrics


# ------------------------------------------------------------------ main
def main():
    parser = argparse.ArgumentParser()
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--exporter", help="slurm-exporter binary to run against the local cluster")
    group.add_argument("--metrics", help="a /metrics capture to use instead")
    parser.add_argument("--save", help="write the capture there")
    args = parser.parse_args()
    self_test()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        text = pathlib.Path(args.metrics).read_text() if args.metrics else capture(args.exporter, tmp)
        if args.save:
            pathlib.Path(args.save).write_text(text)
        live = parse_exposition(text)
        external = {l.split("#")[0].strip() for l in EXTERNAL.read_text().splitlines()} - {""}
        problems, checked, runbook_exprs = [], set(), []
        items = list(sources())
        records = sources.records
        for where, expr, kind in items:
            if kind == "runbook-sh":
                for word in set(re.findall(r"\b(?:slurm|process)_[a-z0-9_]*[a-z0-9]\b", expr)):
                    checked.add(word)
                    if word not in live and word not in records and word not in external:
                        problems.append(f"{where}: {word} is produced by nothing")
                continue
            promql = grafana_to_promql(expr) if kind == "dashboard" else expr
            if promql is None:
                continue
            if kind == "runbook":
                runbook_exprs.append((where, promql))
            try:
                found = names_and_matchers(promql)
            except (ValueError, AttributeError, IndexError) as e:
                problems.append(f"{where}: cannot read {expr!r}: {e}")
                continue
            for name, matchers in found:
                checked.add(name)
                if name.startswith("{"):
                    problems.append(f"{where}: selector without a metric name {name}")
                    continue
                if name in records or name in external:
                    continue
                if name not in live:
                    problems.append(f"{where}: {name} is produced by nothing (not in /metrics, "
                                    f"not a recording rule, not in external-metrics.txt)")
                    continue
                have = live[name]
                for label, op, value in matchers:
                    if label in TARGET_LABELS or "$" in value or value == "":
                        continue
                    if label not in have:
                        problems.append(f"{where}: {name} has no label {label} "
                                        f"(it has {sorted(have) or 'none'})")
                        continue
                    if op == "=" and value not in have[label]:
                        problems.append(f"{where}: {name}{{{label}={value!r}}} never seen; "
                                        f"values: {sorted(have[label])}")
                    if op == "=~" and re.fullmatch(r"[A-Za-z0-9_.+-]+(\|[A-Za-z0-9_.+-]+)*", value):
                        for alt in value.split("|"):
                            if alt not in have[label]:
                                problems.append(f"{where}: {name}{{{label}=~...{alt}...}}: {alt!r} "
                                                f"never seen; values: {sorted(have[label])}")
        # Runbook PromQL must parse.
        if runbook_exprs:
            rules = {"groups": [{"name": "runbooks", "rules": [
                {"record": f"runbook:expr:{i}", "expr": e} for i, (_, e) in enumerate(runbook_exprs)]}]}
            (tmp / "runbooks.yml").write_text(yaml.safe_dump(rules))
            r = subprocess.run(["promtool", "check", "rules", str(tmp / "runbooks.yml")],
                               capture_output=True, text=True)
            if r.returncode:
                problems.append("runbook PromQL does not parse:\n" + r.stdout + r.stderr)
        for p in problems:
            print("FAIL:", p, file=sys.stderr)
        if problems:
            print(f"check_metric_names: {len(problems)} problem(s)", file=sys.stderr)
            return 1
        kinds = {}
        for _, _, kind in items:
            kinds[kind] = kinds.get(kind, 0) + 1
        print(f"check_metric_names: {len(checked)} metric names in {kinds.get('rule', 0)} rules, "
              f"{kinds.get('dashboard', 0)} dashboard queries and "
              f"{kinds.get('runbook', 0) + kinds.get('runbook-sh', 0)} runbook blocks all exist "
              f"({len(live)} families live, {len(records)} recording rules, {len(external)} external)")
        return 0


if __name__ == "__main__":
    sys.exit(main())

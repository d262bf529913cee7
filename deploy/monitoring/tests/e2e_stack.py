#!/usr/bin/env python3
"""The live monitoring stack on 127.0.0.1, shared by scripts/e2e.sh and scripts/demo.sh:

  receiver sinks (e2e_sinks.py: PagerDuty, Slack, SOC webhook, SMTP)
  two slurm-exporters against the local Slurm cluster (CLI and REST source), both serving
      TLS (a throwaway certificate) with basic auth (deploy/web-config/tls-basic-auth.yml's
      example user), collecting every 2 s (fast, slow and accounting tiers alike), with the
      slurmdbd collectors (fair share, QOS, associations) when the lab has accounting
  Prometheus (Debian's prometheus) scraping both every second as job="slurm-exporter",
      with the bundle's rules through the fast overlay (fast_overlay.py rules)
  Alertmanager (Debian's prometheus-alertmanager) with the bundle's config rendered by
      render-alertmanager.py, every receiver pointed at the sinks, through the fast overlay

  e2e_stack.py up --state-dir DIR --exporter BIN [--detach]   start, print URLs (state in DIR)
  e2e_stack.py down --state-dir DIR                           stop what DIR/pids lists

Every process started is listed in DIR/pids ("name pid") and stopped by that PID only (after
checking that its command line names DIR). Needs the lab's environment
(`eval "$(scripts/slurm-dev-cluster.sh env)"`: SLURM_CONF, SLURM_LAB_REST_URL).
"""
import argparse
import json
import os
import pathlib
import ssl
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from livetools import (PASSWORD, PER_USER_COLLECTORS, RENDER, USER, accounting_collectors,  # noqa: E402
                       free_port, http_json, lab_token, prom_query, self_signed_cert, terminate, wait_http,
                       web_config, write_secret)

HERE = pathlib.Path(__file__).resolve().parent
INTERVAL = "2s"
FACTOR = 60
# Values of the rendered Alertmanager config: where each receiver's notifications go.
SECRETS = {"pagerduty-oncall-routing-key": "e2e-oncall-routing-key",
           "pagerduty-security-routing-key": "e2e-security-routing-key",
           "smtp-password": "e2e-smtp-password", "soc-webhook-token": "e2e-soc-token"}
EMAILS = {"AM_ONCALL_EMAIL": "oncall@example.org", "AM_EXEC_EMAIL": "executives@example.org",
          "AM_SOC_EMAIL": "soc@example.org", "AM_CAPACITY_EMAIL": "capacity@example.org",
          "AM_DEFAULT_EMAIL": "hpc-ops@example.org"}
# What each receiver of the routing policy is made of, as (sink, destination) pairs:
# PagerDuty by routing key, Slack by channel (the render script's default channels), mail
# by recipient, the SOC webhook.
RECEIVER_ENDPOINTS = {
    "oncall-page": {("pagerduty", SECRETS["pagerduty-oncall-routing-key"]), ("slack", "#slurm-oncall"),
                    ("email", EMAILS["AM_ONCALL_EMAIL"])},
    "security": {("pagerduty", SECRETS["pagerduty-security-routing-key"]), ("soc", "soc"),
                 ("email", EMAILS["AM_SOC_EMAIL"])},
    "sla-exec": {("email", EMAILS["AM_EXEC_EMAIL"]), ("slack", "#hpc-operations")},
    "capacity": {("slack", "#hpc-capacity"), ("email", EMAILS["AM_CAPACITY_EMAIL"])},
    "team-slack": {("slack", "#slurm-team")},
    "default": {("email", EMAILS["AM_DEFAULT_EMAIL"])},
}


class Stack:
    def __init__(self, state_dir, exporter=None, detach=False):
        self.dir = pathlib.Path(state_dir).resolve()
        self.exporter = exporter
        self.detach = detach
        self.procs = {}
        state = self.dir / "state.json"
        self.state = json.loads(state.read_text()) if state.exists() else {}

    # ------------------------------------------------------------------ processes
    def spawn(self, name, argv, env=None):
        log = open(self.dir / f"{name}.log", "a")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=self.detach)
        self.procs[name] = proc
        with open(self.dir / "pids", "a") as f:
            f.write(f"{name} {proc.pid}\n")
        return proc

    def stop_process(self, name):
        proc = self.procs.pop(name, None)
        pid = proc.pid if proc else self.recorded().get(name)
        if pid:
            terminate([pid], self.dir)
        if proc:
            proc.wait()

    def recorded(self):
        pids = {}
        path = self.dir / "pids"
        if path.exists():
            for line in path.read_text().splitlines():
                name, _, pid = line.partition(" ")
                if pid.isdigit():
                    pids[name] = int(pid)
        return pids

    # ------------------------------------------------------------------ pieces
    def url(self, name):
        return self.state["urls"][name]

    def start_sinks(self):
        self.spawn("sinks", [sys.executable, str(HERE / "e2e_sinks.py"), "--http-port", str(self.ports["sinks"]),
                             "--smtp-port", str(self.ports["smtp"]), "--records", str(self.dir / "sinks.jsonl")])
        wait_http(self.url("sinks") + "/", self.procs["sinks"], log=self.dir / "sinks.log")

    def start_alertmanager(self):
        secrets = self.dir / "secrets"
        secrets.mkdir(mode=0o700, exist_ok=True)
        for name, value in {**SECRETS, "slack-webhook-url": self.url("sinks") + "/slack"}.items():
            (secrets / name).write_text(value + "\n")
        sinks = self.url("sinks")
        env = dict(os.environ, **EMAILS, AM_SECRETS_DIR=str(secrets), AM_SMTP_SMARTHOST=f"127.0.0.1:{self.ports['smtp']}",
                   AM_SMTP_FROM="alertmanager@example.org", AM_SMTP_AUTH_USERNAME="", AM_SMTP_REQUIRE_TLS="false",
                   AM_PAGERDUTY_URL=sinks + "/pagerduty", AM_SOC_WEBHOOK_URL=sinks + "/soc",
                   AM_GRAFANA_URL="http://grafana.invalid", AM_TIMEZONE="UTC")
        run([sys.executable, str(RENDER), "--output-dir", str(self.dir / "am"), "--check-secrets"], env=env)
        run([sys.executable, str(HERE / "fast_overlay.py"), "alertmanager", "--factor", str(FACTOR),
             str(self.dir / "am/alertmanager.yml"), str(self.dir / "am/alertmanager-fast.yml")])
        run(["amtool", "check-config", str(self.dir / "am/alertmanager-fast.yml")])
        port = self.ports["alertmanager"]
        self.spawn("alertmanager", ["prometheus-alertmanager", f"--config.file={self.dir / 'am/alertmanager-fast.yml'}",
                                    f"--storage.path={self.dir / 'am-data'}", f"--web.listen-address=127.0.0.1:{port}",
                                    f"--web.external-url=http://127.0.0.1:{port}",
                                    "--cluster.listen-address=", "--log.level=warn"])
        wait_http(self.url("alertmanager") + "/-/ready", self.procs["alertmanager"], log=self.dir / "alertmanager.log")

    def write_tls_and_jwt(self):
        self_signed_cert(self.dir)
        (self.dir / "web.yml").write_text(web_config())
        self.write_jwt()

    def write_jwt(self, value=None):
        """A fresh token of the lab (or `value`, e.g. a wrong one). The exporter re-reads the
        file on every request."""
        write_secret(self.dir / "jwt", lab_token() if value is None else value)

    def start_exporter(self, name):
        source = {"cli": [], "rest": ["--slurm.source=rest", f"--slurm.rest-url={os.environ['SLURM_LAB_REST_URL']}",
                                      f"--slurm.jwt-file={self.dir / 'jwt'}"]}[name]
        self.spawn(f"exporter-{name}", [
            self.state["exporter"], f"--web.listen-address=127.0.0.1:{self.ports['exporter-' + name]}",
            f"--web.config.file={self.dir / 'web.yml'}", f"--collection.interval={INTERVAL}",
            f"--collection.slow-interval={INTERVAL}", f"--collection.accounting-interval={INTERVAL}",
            f"--collection.timeout={INTERVAL}", "--log.level=warn", *source, *accounting_collectors(name), *PER_USER_COLLECTORS])

    def start_prometheus(self):
        rules = self.dir / "rules.yml"
        rules.write_text("groups: []\n")
        targets = [f"127.0.0.1:{self.ports['exporter-cli']}", f"127.0.0.1:{self.ports['exporter-rest']}"]
        (self.dir / "prometheus.yml").write_text(f"""# Written by deploy/monitoring/tests/e2e_stack.py
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: ["{rules}"]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:{self.ports['alertmanager']}"]
scrape_configs:
  - job_name: slurm-exporter
    scheme: https
    tls_config:
      ca_file: {self.dir / 'tls.crt'}
    basic_auth:
      username: {USER}
      password: {PASSWORD}
    static_configs:
      - targets: {json.dumps(targets)}
""")
        run(["promtool", "check", "config", str(self.dir / "prometheus.yml")])
        port = self.ports["prometheus"]
        self.spawn("prometheus", ["prometheus", f"--config.file={self.dir / 'prometheus.yml'}",
                                  f"--storage.tsdb.path={self.dir / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}",
                                  f"--web.external-url=http://127.0.0.1:{port}", "--web.enable-lifecycle",
                                  "--log.level=warn"])
        prom = self.url("prometheus")
        wait_http(prom + "/-/ready", self.procs["prometheus"], log=self.dir / "prometheus.log")
        # Rules only once both targets have been scraped: before its first scrape a fresh
        # Prometheus would record job:slurm_exporter_up:max = 0 (the rule's `or vector(0)`),
        # which the 24 h SLA rules would remember as an outage.
        deadline = time.time() + 60
        while len(prom_query(prom, 'up{job="slurm-exporter"} == 1')) < 2:
            if time.time() > deadline:
                targets = http_json(prom + "/api/v1/targets")["data"]["activeTargets"]
                raise SystemExit("Prometheus did not scrape both exporters within 60 s: "
                                 + str([(x["scrapeUrl"], x["health"], x["lastError"]) for x in targets])
                                 + tail(self.dir / "exporter-cli.log") + tail(self.dir / "exporter-rest.log"))
            time.sleep(0.5)
        run([sys.executable, str(HERE / "fast_overlay.py"), "rules", "--factor", str(FACTOR), str(rules)])
        run(["promtool", "check", "rules", str(rules)])
        http_json(prom + "/-/reload", body={})

    def up(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ports = {name: free_port() for name in
                      ("sinks", "smtp", "exporter-cli", "exporter-rest", "prometheus", "alertmanager")}
        self.state = {"exporter": str(pathlib.Path(self.exporter).resolve()), "ports": self.ports, "urls": {
            "sinks": f"http://127.0.0.1:{self.ports['sinks']}",
            "exporter-cli": f"https://127.0.0.1:{self.ports['exporter-cli']}",
            "exporter-rest": f"https://127.0.0.1:{self.ports['exporter-rest']}",
            "prometheus": f"http://127.0.0.1:{self.ports['prometheus']}",
            "alertmanager": f"http://127.0.0.1:{self.ports['alertmanager']}"}}
        (self.dir / "state.json").write_text(json.dumps(self.state, indent=1))
        self.start_sinks()
        self.start_alertmanager()
        self.write_tls_and_jwt()
        self.start_exporter("cli")
        self.start_exporter("rest")
        self.start_prometheus()

    def ssl_context(self):
        return ssl.create_default_context(cafile=str(self.dir / "tls.crt"))

    def down(self):
        terminate(list(self.recorded().values()), self.dir)
        for proc in self.procs.values():
            proc.wait()
        self.procs = {}


def run(argv, env=None):
    r = subprocess.run(argv, env=env, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"{' '.join(argv)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r.stdout


def tail(path, n=5):
    try:
        return "".join(pathlib.Path(path).read_text().splitlines(keepends=True)[-n:])
    except OSError:
        return ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("action", choices=["up", "down"])
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--exporter", help="the slurm-exporter binary (up)")
    ap.add_argument("--detach", action="store_true", help="leave the processes running (up)")
    args = ap.parse_args()
    stack = Stack(args.state_dir, args.exporter, detach=args.detach)
    if args.action == "down":
        stack.down()
        print(f"stopped every process listed in {stack.dir / 'pids'}")
        (stack.dir / "pids").unlink(missing_ok=True)
        return 0
    if not args.exporter:
        ap.error("up needs --exporter")
    try:
        stack.up()
    except BaseException:
        stack.down()
        raise
    for name, url in stack.state["urls"].items():
        print(f"{name:14} {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Helpers shared by the checks that run the bundle on live processes (check_alertmanager.py,
check_metric_names.py, the end-to-end stack e2e_*.py, scripts/soak.py): the bundle's rules and
routing policy, free ports on 127.0.0.1, JSON over HTTP, Alertmanager and Prometheus processes,
the exporter's TLS + basic-auth web config, lab tokens, stopping recorded processes by PID.

Python 3 standard library plus PyYAML.
"""
import json
import os
import pathlib
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
MON = ROOT / "deploy/monitoring"
RULES = MON / "prometheus-rules.yaml"
RENDER = MON / "render-alertmanager.py"

# The example hash of deploy/web-config/tls-basic-auth.yml: user prometheus, "change-me".
USER, PASSWORD = "prometheus", "change-me"
BCRYPT = "$2b$10$805ICehGr8k9VAK7UaNC5..YCDctXwbXAeBnwnI1wUOII007gzMmK"


def openssl(*args, cwd=None):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"openssl {' '.join(args)} failed ({r.returncode}):\n{r.stderr}")


def self_signed_cert(directory, days=365):
    """A throwaway P-256 certificate for 127.0.0.1: DIR/tls.crt and DIR/tls.key."""
    d = pathlib.Path(directory)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-days", str(days), "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(d / "tls.key"), "-out", str(d / "tls.crt"))


def make_ca(directory, days=30):
    """A throwaway CA (DIR/ca.crt, DIR/ca.key) for certificates that are rotated while
    clients keep trusting the CA (issue_cert)."""
    d = pathlib.Path(directory)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-days", str(days), "-subj", "/CN=throwaway test CA",
            "-keyout", str(d / "ca.key"), "-out", str(d / "ca.crt"))


def issue_cert(directory, name, days=30):
    """A fresh key and a certificate for 127.0.0.1 signed by DIR/ca.*: DIR/NAME.crt, DIR/NAME.key."""
    d = pathlib.Path(directory)
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", "/CN=127.0.0.1", "-keyout", str(d / f"{name}.key"), "-out", str(d / f"{name}.csr"))
    (d / f"{name}.ext").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    openssl("x509", "-req", "-in", str(d / f"{name}.csr"), "-CA", str(d / "ca.crt"), "-CAkey", str(d / "ca.key"),
            "-CAcreateserial", "-days", str(days), "-extfile", str(d / f"{name}.ext"), "-out", str(d / f"{name}.crt"))
    (d / f"{name}.csr").unlink()
    (d / f"{name}.ext").unlink()


def web_config(cert="tls.crt", key="tls.key", comment=""):
    """The exporter's web config: TLS with `cert`/`key` (relative to the file) and basic auth
    for USER with the example hash."""
    head = f"# {comment}\n" if comment else ""
    return (f"{head}tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"
            f"basic_auth_users:\n  {USER}: {BCRYPT}\n")


def lab_token(lifespan=86400):
    """A fresh JWT of the lab for root (`scontrol token`; needs the lab's SLURM_CONF)."""
    r = subprocess.run(["scontrol", "token", "username=root", f"lifespan={lifespan}"],
                       capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"scontrol token failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return next(line.split("=", 1)[1] for line in r.stdout.splitlines() if line.startswith("SLURM_JWT="))


def write_secret(path, value):
    """Writes `value` to `path` with mode 0600, atomically (a temporary file renamed over it)."""
    path = pathlib.Path(path)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(value)
    tmp.chmod(0o600)
    tmp.rename(path)


class Fail(Exception):
    """A check of a live test failed (the message says what was expected and seen)."""


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def rule_groups(path=RULES):
    """The groups of every PrometheusRule in the file (its `.spec`, a plain rule file)."""
    docs = yaml.safe_load_all(pathlib.Path(path).read_text())
    return [g for d in docs if d and d.get("kind") == "PrometheusRule" for g in d["spec"]["groups"]]


def alert_rules(path=RULES):
    for group in rule_groups(path):
        for rule in group["rules"]:
            if "alert" in rule:
                yield rule


def expected_receivers(labels):
    """The routing policy of issue 6, written independently of the config."""
    if labels.get("service") != "slurm-exporter":
        return ["default"]
    out = []
    if labels.get("category") == "security":
        out.append("security")           # whatever the priority
    if labels.get("category") == "sla":
        out.append("sla-exec")
    if labels.get("priority") == "P0":
        out.append("oncall-page")
    elif labels.get("category") == "capacity" and labels.get("priority") == "P2":
        out.append("capacity")
    elif labels.get("priority") == "P1":
        out.append("team-slack")
    elif not out:
        out.append("default")
    return out


# Opt-in per-user collectors the dashboards have panels for (capped, so safe on the lab).
PER_USER_COLLECTORS = ["--collector.users", "--collector.rpc_users"]


def accounting_collectors(source):
    """The collectors that need slurmdbd (off by default), when the lab runs with accounting:
    fair share, QOS, associations; fair share through REST needs Slurm 23.11+ (/shares), so
    the REST source leaves it off."""
    try:
        accounting = subprocess.run(["sacctmgr", "-n", "list", "cluster"],
                                    capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        accounting = False
    if not accounting:
        return []
    return (["--collector.fairshare"] if source == "cli" else []) + ["--collector.qos", "--collector.associations"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(url, body=None, timeout=5, headers=None):
    """GET (or POST `body` as JSON) and decode the JSON answer (None when empty)."""
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        text = r.read().decode()
        return json.loads(text) if text else None


def wait_http(url, proc=None, timeout=20, log=None):
    """Waits until `url` answers 2xx; fails early when `proc` exited."""
    deadline = time.time() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            if time.time() > deadline or (proc is not None and proc.poll() is not None):
                text = pathlib.Path(log).read_text() if log else ""
                raise SystemExit(f"{url} did not answer within {timeout} s\n{text}")
            time.sleep(0.2)


def start_alertmanager(config, data_dir, port, log, **popen):
    """prometheus-alertmanager on 127.0.0.1:port with gossip off (an empty
    --cluster.listen-address: otherwise it binds 9094 on every interface and waits to settle)."""
    out = open(log, "w")
    proc = subprocess.Popen(["prometheus-alertmanager", f"--config.file={config}",
                             f"--storage.path={data_dir}", f"--web.listen-address=127.0.0.1:{port}",
                             "--cluster.listen-address=", "--log.level=warn"],
                            stdout=out, stderr=subprocess.STDOUT, **popen)
    wait_http(f"http://127.0.0.1:{port}/-/ready", proc, log=log)
    return proc


def prom_query(prom, expr, timeout=5):
    """Instant query: the result list of /api/v1/query."""
    q = urllib.parse.urlencode({"query": expr})
    return http_json(f"{prom}/api/v1/query?{q}", timeout=timeout)["data"]["result"]


def stop(proc, timeout=10):
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def ours(pid, state_dir):
    """The process exists and its command line names the state directory (a PID reused by
    an unrelated process after a reboot is left alone)."""
    try:
        return str(state_dir) in pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False


def terminate(pids, state_dir, timeout=10):
    """SIGTERM to each PID that is still ours (see `ours`), SIGKILL after `timeout` s."""
    pids = [p for p in pids if ours(p, state_dir)]
    for pid in pids:
        os.kill(pid, signal.SIGTERM)
    deadline = time.time() + timeout
    while time.time() < deadline and any(ours(p, state_dir) and not zombie(p) for p in pids):
        time.sleep(0.1)
    for pid in pids:
        if ours(pid, state_dir) and not zombie(pid):
            os.kill(pid, signal.SIGKILL)


def zombie(pid):
    try:
        return pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True

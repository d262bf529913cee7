#!/usr/bin/env python3
"""Soak run of two slurm-exporters on the lab under a steady scrape load and one fault per
interval; the engine of scripts/soak.sh (which brings up the lab, builds the binary and
cleans up). Standard library plus deploy/monitoring/tests/livetools.py.

Starts a CLI-source and a REST-source exporter (`--slurm.jwt-file`), both with one web
config (TLS with a certificate of a throwaway CA + basic auth), then for --minutes:
  - scrapers: --scrapers per exporter, each --rate requests/s on its own keep-alive
    connection from its own loopback address (127.0.1.N), authenticated, gzip and plain
    alternately; a request fails unless it is 200 (one retry on a fresh connection when a
    reused one was closed, as Prometheus' HTTP client does);
  - a fault every --fault-interval seconds, rotating: slurmctld stop/start, token rotation
    (rename and truncate+write alternately), web-config rewrite in place (`cat new > web.yml`,
    same protection), certificate rewrite in place, SIGHUP to both exporters;
  - every --sample-interval seconds per exporter: VmRSS, threads (/proc/PID/task), open
    descriptors (/proc/PID/fd), `/ready`, and that protection holds (no credentials: 401;
    plain HTTP: no answer).
At the end: waits for every collector to be up and `/ready` 200 again, prints the table and
exits 1 when a resource is not flat, an exporter died, the collectors did not recover,
protection dropped, or more than 1 % of scrapes failed.

  soak.py run --state-dir DIR --exporter BIN --lab scripts/slurm-dev-cluster.sh [options]
  soak.py self-test --state-dir DIR    the verdict against stand-in processes (no lab):
                                       flat must pass, leaking and dying must fail

Needs the lab's environment (SLURM_CONF, SLURM_LAB_REST_URL).
"""
import argparse
import base64
import http.client
import json
import os
import pathlib
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "deploy/monitoring/tests"))
from livetools import (PASSWORD, PER_USER_COLLECTORS, USER, accounting_collectors, issue_cert,  # noqa: E402
                       lab_token, make_ca, terminate, web_config, write_secret)

# A resource is "not flat" when the median of the last window is more than GROWTH above the
# median of the first window (after the warm-up) AND more than SLACK units above it. Medians
# ignore the samples that catch a collection's command pipes or a blocking-pool thread; the
# slack absorbs the rest of the noise (on the lab: RSS within 0.2 MiB, threads and fds equal
# between windows). A leak of one thread or descriptor per fault (29 faults in 30 min, ~23
# between the windows' centres) or of ~0.2 MiB per fault is well above it.
GROWTH = 0.20
SLACK = {"rss_mib": 4.0, "threads": 4, "fds": 8}
WARMUP_S, WINDOW_S = 120, 300
MAX_FAILED_SCRAPES = 0.01
FAULTS = ["slurmctld", "token", "web-config", "certificates", "sighup"]
AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


def log(msg):
    print(f"[soak {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- sampling
def proc_sample(pid):
    """(RSS MiB, threads, fds) of a live process, or None when it is gone (or a zombie)."""
    try:
        status = pathlib.Path(f"/proc/{pid}/status").read_text()
        if "\nState:\tZ" in status:
            return None
        rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        return rss / 1024, len(os.listdir(f"/proc/{pid}/task")), len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, StopIteration):
        return None


def windows(duration):
    """(first, last) sampling windows as (start, end) seconds: after a warm-up of
    min(120 s, 20 %), each min(300 s, a third of the rest)."""
    warm = min(WARMUP_S, 0.2 * duration)
    win = min(WINDOW_S, (duration - warm) / 3)
    return (warm, warm + win), (duration - win, duration + 1e-9)


def judge(samples, duration):
    """Per-resource stats and the list of problems of one exporter's samples
    [{t, rss_mib, threads, fds, ready, alive}, ...]."""
    (f0, f1), (l0, l1) = windows(duration)
    stats, problems = {}, []
    live = [s for s in samples if s["alive"]]
    if len(live) < len(samples):
        problems.append(f"died (gone at t={next(s['t'] for s in samples if not s['alive']):.0f} s)")
    for key in ("rss_mib", "threads", "fds"):
        values = [s[key] for s in live]
        first = [s[key] for s in live if f0 <= s["t"] < f1]
        last = [s[key] for s in live if l0 <= s["t"] < l1]
        if not values or not first or not last:
            problems.append(f"{key}: no samples in a window")
            continue
        st = {"min": min(values), "median": statistics.median(values), "max": max(values),
              "first": statistics.median(first), "last": statistics.median(last)}
        stats[key] = st
        grow = st["last"] - st["first"]
        if grow > GROWTH * st["first"] and grow > SLACK[key]:
            problems.append(f"{key} not flat: median {st['first']:.1f} in the first window, {st['last']:.1f} in the "
                            f"last (+{grow:.1f}, limit +{GROWTH:.0%} and +{SLACK[key]})")
    return stats, problems


# ---------------------------------------------------------------------------- HTTP
class Client:
    """One keep-alive HTTPS connection to an exporter from a given loopback address."""

    def __init__(self, port, ctx, source="127.0.0.1", timeout=15):
        self.port, self.ctx, self.source, self.timeout = port, ctx, source, timeout
        self.conn = None

    def get(self, path, headers=None):
        """(status, body, content-encoding); one retry on a fresh connection when a reused
        one turns out to be closed."""
        for attempt in (0, 1):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=self.timeout,
                                                        source_address=(self.source, 0))
            try:
                self.conn.request("GET", path, headers=headers or {})
                r = self.conn.getresponse()
                body = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return r.status, body, r.getheader("Content-Encoding", "")
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                self.close()
                if not reused or attempt:
                    raise e
            except BaseException:
                self.close()
                raise
        raise AssertionError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Scraper(threading.Thread):
    def __init__(self, exporter, port, ctx, source, rate, stop):
        super().__init__(daemon=True)
        self.exporter, self.rate, self.stop = exporter, rate, stop
        self.client = Client(port, ctx, source)
        self.done = self.failed = 0
        self.errors = {}

    def run(self):
        start, k = time.monotonic(), 0
        while not self.stop.is_set():
            gzip = k % 2 == 0
            headers = {"Authorization": AUTH, "Accept-Encoding": "gzip" if gzip else "identity"}
            try:
                status, body, enc = self.client.get("/metrics", headers)
                ok = status == 200 and body and (enc == "gzip") == gzip
                err = f"HTTP {status}" if status != 200 else "wrong encoding or empty body"
            except (OSError, http.client.HTTPException) as e:
                ok, err = False, type(e).__name__
            self.done += 1
            if not ok:
                self.failed += 1
                self.errors[err] = self.errors.get(err, 0) + 1
            k += 1
            self.stop.wait(max(0.0, start + k / self.rate - time.monotonic()))
        self.client.close()


def protection_holds(port, ctx):
    """None when protection holds: over TLS without credentials 401, and plain HTTP only the
    exporter's 400 "Client sent an HTTP request to an HTTPS server" (or no answer)."""
    try:
        status, _, _ = Client(port, ctx, timeout=10).get("/metrics")
        if status != 401:
            return f"HTTPS without credentials answered {status}"
    except (OSError, http.client.HTTPException):
        pass  # refused or cut: not served either
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/metrics")
        r = c.getresponse()
        body = r.read()
        c.close()
        if r.status != 400 or b"HTTPS server" not in body:
            return f"plain HTTP answered {r.status}"
    except (OSError, http.client.HTTPException):
        pass
    return None


def collectors_down(client):
    """Names of collectors whose slurm_exporter_collector_up is not 1, or None when
    /metrics is not 200."""
    status, body, _ = client.get("/metrics", {"Authorization": AUTH, "Accept-Encoding": "identity"})
    if status != 200:
        return None
    down = []
    for line in body.decode(errors="replace").splitlines():
        if line.startswith("slurm_exporter_collector_up{") and not line.endswith(" 1"):
            label = line.split('collector="', 1)[1].split('"', 1)[0] if 'collector="' in line else line
            down.append(label)
    return down


# ---------------------------------------------------------------------------- the run
class Soak:
    def __init__(self, args):
        self.args = args
        self.dir = pathlib.Path(args.state_dir).resolve()
        self.procs = {}
        self.faults = []          # (t, kind, detail, seconds it took)
        self.samples = {"cli": [], "rest": []}
        self.ready = {"cli": {}, "rest": {}}
        self.protection = {"cli": [], "rest": []}
        self.fault_errors = []

    def run_cmd(self, argv):
        r = subprocess.run(argv, capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError(f"{' '.join(argv)} failed ({r.returncode}): {(r.stdout + r.stderr)[-500:]}")
        return r.stdout

    def setup(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        make_ca(self.dir)
        issue_cert(self.dir, "tls")
        (self.dir / "web.yml").write_text(web_config(comment="soak: initial"))
        self.run_cmd([self.args.lab, "token", "--file", str(self.dir / "jwt"), "root", "86400"])
        self.ctx = ssl.create_default_context(cafile=str(self.dir / "ca.crt"))
        iv = f"{self.args.collection_interval}s"
        for i, name in enumerate(("cli", "rest")):
            port = self.args.port_base + 1 + i
            source = [] if name == "cli" else ["--slurm.source=rest",
                                               f"--slurm.rest-url={os.environ['SLURM_LAB_REST_URL']}",
                                               f"--slurm.jwt-file={self.dir / 'jwt'}"]
            argv = [self.args.exporter, f"--web.listen-address=127.0.0.1:{port}",
                    f"--web.config.file={self.dir / 'web.yml'}", f"--collection.interval={iv}",
                    f"--collection.slow-interval={iv}", f"--collection.accounting-interval={iv}",
                    f"--collection.timeout={iv}", *source, *accounting_collectors(name), *PER_USER_COLLECTORS]
            out = open(self.dir / f"exporter-{name}.log", "w")
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            with open(self.dir / "pids", "a") as f:
                f.write(f"exporter-{name} {proc.pid}\n")
            self.procs[name] = (proc, port)
        for name, (proc, port) in self.procs.items():
            self.wait_recovered(name, 90, what="start")
        log("both exporters ready: " + ", ".join(f"{n} pid {p.pid} port {port}" for n, (p, port) in self.procs.items()))

    def wait_recovered(self, name, timeout, what):
        """Waits for /ready 200 and every collector up; returns the seconds it took or raises."""
        proc, port = self.procs[name]
        client, t0, last = Client(port, self.ctx), time.monotonic(), "no answer"
        try:
            while time.monotonic() - t0 < timeout:
                if proc.poll() is not None:
                    raise RuntimeError(f"exporter {name} exited with {proc.returncode} ({what})")
                try:
                    status, body, _ = client.get("/ready", {"Authorization": AUTH})
                    down = collectors_down(client)
                    if status == 200 and down == []:
                        return time.monotonic() - t0
                    last = f"/ready {status} {body[:200].decode(errors='replace').strip()!r}; collectors down: {down}"
                except (OSError, http.client.HTTPException) as e:
                    last = f"{type(e).__name__}: {e}"
                time.sleep(1)
        finally:
            client.close()
        raise RuntimeError(f"exporter {name} not recovered {timeout} s after {what}: {last}")

    # ------------------------------------------------------------------ faults
    def inject(self, k, t):
        kind = FAULTS[(k - 1) % len(FAULTS)]
        round_ = (k - 1) // len(FAULTS)
        t0 = time.monotonic()
        if kind == "slurmctld":
            self.run_cmd([self.args.lab, "stop", "slurmctld"])
            time.sleep(self.args.ctld_down)
            self.run_cmd([self.args.lab, "up", *self.args.lab_up_arg])
            detail = f"stopped, down {self.args.ctld_down:.0f} s, started"
        elif kind == "token":
            jwt = self.dir / "jwt"
            if round_ % 2 == 0:
                self.run_cmd([self.args.lab, "token", "--file", str(jwt), "root", "86400"])
                detail = "new token by rename"
            else:
                token = lab_token()
                with open(jwt, "w") as f:   # truncate, then write: readers may see it empty
                    f.write(token)
                detail = "new token by truncate+write"
        elif kind == "web-config":
            new = self.dir / "web.yml.new"
            new.write_text(web_config(comment=f"soak: rewrite {k}"))
            subprocess.run(["sh", "-c", 'cat "$1" > "$2"', "sh", str(new), str(self.dir / "web.yml")], check=True)
            detail = "cat new > web.yml (same TLS + basic auth)"
        elif kind == "certificates":
            issue_cert(self.dir, "next")
            for part in ("crt", "key"):
                subprocess.run(["sh", "-c", 'cat "$1" > "$2"', "sh", str(self.dir / f"next.{part}"),
                                str(self.dir / f"tls.{part}")], check=True)
            detail = "new key + certificate (same CA) by cat > in place"
        else:
            for proc, _ in self.procs.values():
                proc.send_signal(signal.SIGHUP)
            detail = "SIGHUP to both"
        self.faults.append((t, kind, detail, time.monotonic() - t0))
        log(f"fault {k} at {t:.0f} s: {kind}: {detail} ({time.monotonic() - t0:.1f} s)")

    def fault_loop(self, start, duration, stop):
        k = 1
        while True:
            t = k * self.args.fault_interval
            if t > duration - self.args.fault_interval / 2 or stop.wait(max(0.0, start + t - time.monotonic())):
                return
            try:
                self.inject(k, time.monotonic() - start)
            except Exception as e:  # noqa: BLE001 - reported as a failure of the run
                self.fault_errors.append(f"fault {k}: {e}")
                log(f"fault {k} failed: {e}")
            k += 1

    # ------------------------------------------------------------------ main loop
    def sample(self, name, t, client):
        proc, port = self.procs[name]
        got = proc_sample(proc.pid) if proc.poll() is None else None
        s = {"t": t, "alive": got is not None}
        if got:
            s["rss_mib"], s["threads"], s["fds"] = got
            try:
                status, _, _ = client.get("/ready", {"Authorization": AUTH})
                s["ready"] = status
            except (OSError, http.client.HTTPException) as e:
                s["ready"] = type(e).__name__
            self.ready[name][s["ready"]] = self.ready[name].get(s["ready"], 0) + 1
            bad = protection_holds(port, self.ctx)
            if bad:
                self.protection[name].append(f"t={t:.0f} s: {bad}")
        self.samples[name].append(s)
        with open(self.dir / "samples.jsonl", "a") as f:
            f.write(json.dumps({"exporter": name, **s}) + "\n")

    def run(self):
        a = self.args
        duration = a.minutes * 60
        self.setup()
        stop = threading.Event()
        scrapers = [Scraper(name, port, self.ctx, f"127.0.1.{10 * i + j + 1}", a.rate, stop)
                    for i, (name, (_, port)) in enumerate(self.procs.items()) for j in range(a.scrapers)]
        for s in scrapers:
            s.start()
        faults = threading.Thread(target=self.fault_loop, args=(time.monotonic(), duration, stop), daemon=True)
        start = time.monotonic()
        faults.start()
        clients = {name: Client(port, self.ctx) for name, (_, port) in self.procs.items()}
        log(f"soak for {a.minutes:g} min: {a.scrapers} scrapers x {a.rate:g}/s per exporter, a fault every "
            f"{a.fault_interval:g} s, samples every {a.sample_interval:g} s")
        n = 0
        while True:
            t = time.monotonic() - start
            for name in self.procs:
                self.sample(name, t, clients[name])
            if n % max(1, int(60 / a.sample_interval)) == 0:
                log("t=%4.0f s  " % t + "  ".join(
                    f"{name}: rss {s['rss_mib']:.1f} MiB thr {s['threads']} fd {s['fds']} ready {s['ready']}"
                    if s["alive"] else f"{name}: DEAD" for name, s in ((n_, self.samples[n_][-1]) for n_ in self.procs)))
            if any(not self.samples[name][-1]["alive"] for name in self.procs) or t >= duration:
                break
            n += 1
            time.sleep(max(0.0, start + n * a.sample_interval - time.monotonic()))
        stop.set()
        faults.join()          # a slurmctld fault in progress finishes (is repaired) first
        for s in scrapers:
            s.join()
        for c in clients.values():
            c.close()
        recovery = {}
        for name in self.procs:
            try:
                recovery[name] = f"{self.wait_recovered(name, a.recovery_timeout, 'the last fault'):.1f} s"
            except RuntimeError as e:
                recovery[name] = f"FAILED: {e}"
        return self.report(duration, scrapers, recovery)

    def report(self, duration, scrapers, recovery):
        (f0, f1), (l0, l1) = windows(duration)
        print(f"\n== soak: {duration / 60:g} min, {len(self.faults)} faults "
              f"({', '.join(f'{k} x {sum(1 for f in self.faults if f[1] == k)}' for k in FAULTS)}); "
              f"first window {f0:.0f}-{f1:.0f} s, last {l0:.0f}-{l1:.0f} s")
        print("| exporter | resource | min | median | max | first-window median | last-window median | change |")
        print("|---|---|---:|---:|---:|---:|---:|---:|")
        failures = [f"fault injection: {e}" for e in self.fault_errors]
        for name in self.procs:
            stats, problems = judge(self.samples[name], duration)
            for key, unit in (("rss_mib", "RSS MiB"), ("threads", "threads"), ("fds", "fds")):
                if key in stats:
                    st = stats[key]
                    print(f"| {name} | {unit} | {st['min']:.1f} | {st['median']:.1f} | {st['max']:.1f} | "
                          f"{st['first']:.1f} | {st['last']:.1f} | {st['last'] - st['first']:+.1f} |")
            failures += [f"{name}: {p}" for p in problems]
            failures += [f"{name}: protection dropped at {p}" for p in self.protection[name]]
            if recovery[name].startswith("FAILED"):
                failures.append(f"{name}: {recovery[name]}")
        print("\n| exporter | scrapes done | failed | errors | /ready answers (samples) | recovered after the run |")
        print("|---|---:|---:|---|---|---|")
        for name in self.procs:
            mine = [s for s in scrapers if s.exporter == name]
            done, failed = sum(s.done for s in mine), sum(s.failed for s in mine)
            errors = {}
            for s in mine:
                for k, v in s.errors.items():
                    errors[k] = errors.get(k, 0) + v
            print(f"| {name} | {done} | {failed} | {json.dumps(errors) if errors else '-'} | "
                  f"{', '.join(f'{k}: {v}' for k, v in sorted(self.ready[name].items(), key=str))} | {recovery[name]} |")
            if done == 0 or failed > MAX_FAILED_SCRAPES * done:
                failures.append(f"{name}: {failed} of {done} scrapes failed (limit {MAX_FAILED_SCRAPES:.0%})")
        print("\nfaults: " + "; ".join(f"{t:.0f} s {kind} ({took:.1f} s)" for t, kind, _, took in self.faults))
        if failures:
            print("\nFAIL:\n  " + "\n  ".join(failures))
            return 1
        print("\nPASS: RSS, threads and descriptors flat; no exporter died; collectors all up after the last fault")
        return 0

    def down(self):
        terminate([p.pid for p, _ in self.procs.values()], self.dir)
        for proc, _ in self.procs.values():
            proc.wait()


# ---------------------------------------------------------------------------- self-test
STAND_IN = r"""
import os, signal, sys, threading, time
leak, die_after = sys.argv[2] == "leak", float(sys.argv[3])
kept = []
def fault(*_):
    if leak:   # one thread, one descriptor and 1 MiB (touched) per fault
        kept.append((open("/dev/null"), bytearray(1 << 20)))
        kept[-1][1][::4096] = b"x" * 256
        threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
signal.signal(signal.SIGHUP, fault)
t0 = time.monotonic()
while die_after <= 0 or time.monotonic() - t0 < die_after:
    time.sleep(0.05)
"""


def self_test(state_dir):
    """Samples three stand-ins (flat, leaking one thread + fd + 1 MiB per SIGHUP, dying)
    with the same sampler and verdict as a run, scaled down: 30 s, a fault every second."""
    state = pathlib.Path(state_dir).resolve()
    state.mkdir(parents=True, exist_ok=True)
    duration, sample_every = 30.0, 0.5   # a fault (SIGHUP) every second
    kinds = {"flat": ("flat", "0"), "leak": ("leak", "0"), "dies": ("flat", "12")}
    procs = {name: subprocess.Popen([sys.executable, "-c", STAND_IN, str(state), *a]) for name, a in kinds.items()}
    samples = {name: [] for name in procs}
    time.sleep(0.5)
    start, n = time.monotonic(), 0
    try:
        while (t := time.monotonic() - start) < duration:
            for name, p in procs.items():
                got = proc_sample(p.pid) if p.poll() is None else None
                s = {"t": t, "alive": got is not None}
                if got:
                    s["rss_mib"], s["threads"], s["fds"] = got
                samples[name].append(s)
            if n % 2 == 0:
                for p in procs.values():
                    if p.poll() is None:
                        p.send_signal(signal.SIGHUP)
            n += 1
            time.sleep(max(0.0, start + n * sample_every - time.monotonic()))
    finally:
        terminate([p.pid for p in procs.values()], state)
        for p in procs.values():
            p.wait()
    verdicts = {name: judge(s, duration) for name, s in samples.items()}
    ok = True
    for name, (stats, problems) in verdicts.items():
        print(f"{name}: " + ", ".join(f"{k} {v['first']:.1f} -> {v['last']:.1f}" for k, v in stats.items())
              + f"; problems: {problems or 'none'}")
    flat, leak, dies = verdicts["flat"][1], verdicts["leak"][1], verdicts["dies"][1]
    checks = [("flat stand-in passes", not flat),
              ("leaking stand-in fails on threads", any(p.startswith("threads") for p in leak)),
              ("leaking stand-in fails on fds", any(p.startswith("fds") for p in leak)),
              ("leaking stand-in fails on RSS", any(p.startswith("rss_mib") for p in leak)),
              ("dying stand-in fails", any(p.startswith("died") for p in dies))]
    for what, good in checks:
        print(f"{'ok  ' if good else 'FAIL'} {what}")
        ok &= good
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("action", choices=["run", "self-test"])
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--exporter", help="the slurm-exporter binary")
    ap.add_argument("--lab", help="scripts/slurm-dev-cluster.sh")
    ap.add_argument("--lab-up-arg", action="append", default=[], help="argument of `lab up` (repeatable)")
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--fault-interval", type=float, help="seconds [default: 60, or a sixth of the run if shorter]")
    ap.add_argument("--sample-interval", type=float, default=10)
    ap.add_argument("--scrapers", type=int, default=3, help="per exporter")
    ap.add_argument("--rate", type=float, default=2, help="requests/s per scraper")
    ap.add_argument("--collection-interval", type=int, default=5, help="seconds, every tier")
    ap.add_argument("--ctld-down", type=float, default=15, help="seconds slurmctld stays stopped")
    ap.add_argument("--recovery-timeout", type=float, default=120)
    ap.add_argument("--port-base", type=int, default=17300)
    args = ap.parse_args()
    if args.action == "self-test":
        return self_test(args.state_dir)
    if not args.exporter or not args.lab:
        ap.error("run needs --exporter and --lab")
    if args.fault_interval is None:
        args.fault_interval = min(60.0, args.minutes * 60 / 6)
    soak = Soak(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return soak.run()
    finally:
        soak.down()


if __name__ == "__main__":
    sys.exit(main())

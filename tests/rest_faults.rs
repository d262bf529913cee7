//! The REST source against a fake slurmrestd on 127.0.0.1 that serves the responses
//! recorded from our 22.05 cluster, then misbehaves: garbage, truncated JSON, 500,
//! 401, a hang past the timeout, an API upgrade (404 for the version in use), and
//! `304 Not Modified` for `update_time`; and a slurmrestd that stalls mid-body,
//! trickles its body or never answers, which must not leak threads or sockets.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{peak_rss, value, Exporter};

#[derive(Default)]
struct FakeState {
    /// Endpoint name (`jobs`, `nodes`, ...) → mode.
    modes: BTreeMap<String, String>,
    /// API versions served.
    versions: Vec<String>,
    /// Request lines received.
    requests: Vec<String>,
    /// Connections accepted and not yet closed by either side.
    open: usize,
}

struct FakeRestd {
    port: u16,
    state: Arc<Mutex<FakeState>>,
}

impl FakeRestd {
    fn start() -> FakeRestd {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let state = Arc::new(Mutex::new(FakeState {
            versions: vec!["v0.0.38".into()],
            ..Default::default()
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = shared.clone();
                std::thread::spawn(move || {
                    if let Ok(mut s) = state.lock() {
                        s.open += 1;
                    }
                    serve(stream, &state);
                    if let Ok(mut s) = state.lock() {
                        s.open -= 1;
                    }
                });
            }
        });
        FakeRestd { port, state }
    }

    fn set(&self, endpoint: &str, mode: &str) {
        if let Ok(mut s) = self.state.lock() {
            s.modes.insert(endpoint.into(), mode.into());
        }
    }

    fn versions(&self, versions: &[&str]) {
        if let Ok(mut s) = self.state.lock() {
            s.versions = versions.iter().map(|v| v.to_string()).collect();
        }
    }

    fn open_connections(&self) -> usize {
        self.state.lock().map(|s| s.open).unwrap_or(0)
    }

    fn requests(&self) -> Vec<String> {
        self.state
            .lock()
            .map(|s| s.requests.clone())
            .unwrap_or_default()
    }
}

fn respond(stream: &mut TcpStream, status: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

fn serve(mut stream: TcpStream, state: &Mutex<FakeState>) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut has_token = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        has_token |= line.to_ascii_lowercase().starts_with("x-slurm-user-token:");
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let (versions, mode) = {
        let Ok(mut s) = state.lock() else { return };
        s.requests.push(path.clone());
        let endpoint = path
            .split('?')
            .next()
            .unwrap_or("")
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_string();
        (
            s.versions.clone(),
            s.modes
                .get(&endpoint)
                .cloned()
                .unwrap_or_else(|| "ok".into()),
        )
    };
    if !has_token {
        return respond(&mut stream, "401 UNAUTHORIZED", b"Authentication failure");
    }
    let mut parts = path.split('?').next().unwrap_or("").split('/').skip(1);
    let (Some("slurm"), Some(version), Some(endpoint)) = (parts.next(), parts.next(), parts.next())
    else {
        return respond(&mut stream, "404 NOT FOUND", b"Unable find requested URL.");
    };
    if !versions.iter().any(|v| v == version) {
        return respond(&mut stream, "404 NOT FOUND", b"Unable find requested URL.");
    }
    let fixture = common::repo().join(format!(
        "tests/fixtures/slurm-22.05/rest-v0.0.38-{endpoint}.json"
    ));
    let body = std::fs::read(fixture).unwrap_or_default();
    match mode.as_str() {
        "garbage" => respond(&mut stream, "200 OK", b"<html>proxy error</html>"),
        "truncated" => respond(&mut stream, "200 OK", &body[..body.len() / 2]),
        "500" => respond(
            &mut stream,
            "500 INTERNAL ERROR",
            br#"{"errors":[{"description":"Failed while looking for jobs","error":"Unspecified error"}]}"#,
        ),
        "401" => respond(&mut stream, "401 UNAUTHORIZED", b"Authentication failure"),
        "hang" => std::thread::sleep(Duration::from_secs(30)),
        // A body without end and without Content-Length: one endless string.
        "endless" => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n";
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(br#"{"jobs": [{"job_id": 1, "partition": ""#);
            let chunk = vec![b'n'; 1 << 20];
            while stream.write_all(&chunk).is_ok() {}
        }
        // A Content-Length of 10 GB (the body never comes).
        "huge-length" => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{";
            let _ = stream.write_all(head.as_bytes());
            std::thread::sleep(Duration::from_secs(30));
        }
        // Headers and half the body, then nothing until the exporter closes.
        "stall" => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body[..body.len() / 2]);
            while !closed_by_peer(&mut stream, Duration::from_millis(100)) {}
        }
        // Headers, then the body one byte every 100 ms: each read is quick, the
        // whole body takes minutes.
        "trickle" => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            for byte in body.chunks(1) {
                if stream.write_all(byte).is_err()
                    || closed_by_peer(&mut stream, Duration::from_millis(100))
                {
                    break;
                }
            }
        }
        // The request is read, no answer ever comes.
        "silent" => while !closed_by_peer(&mut stream, Duration::from_millis(100)) {},
        "notmodified" if path.contains("update_time=") => {
            let _ = stream.write_all(b"HTTP/1.1 304 NOT MODIFIED\r\nConnection: close\r\n\r\n");
        }
        _ => respond(&mut stream, "200 OK", &body),
    }
}

/// Waits up to `wait` for the exporter to close the connection (true when it did).
/// Gives up after two minutes so a leaking exporter cannot keep the thread forever.
fn closed_by_peer(stream: &mut TcpStream, wait: Duration) -> bool {
    let _ = stream.set_read_timeout(Some(wait));
    let mut buf = [0u8; 256];
    match std::io::Read::read(stream, &mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

fn token_file(dir: &std::path::Path) -> String {
    // {"alg":"HS256"}.{"exp":4102444800,"iat":0,"sun":"root"}.sig (expires in 2100)
    let token =
        "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDAsImlhdCI6MCwic3VuIjoicm9vdCJ9.c2lnbmF0dXJl";
    let path = dir.join("jwt");
    std::fs::write(&path, token).unwrap_or_else(|e| panic!("{e}"));
    path.display().to_string()
}

fn start(restd: &FakeRestd, dir: &std::path::Path) -> Exporter {
    start_with(
        restd,
        dir,
        &["--collection.interval=1s", "--collection.timeout=700ms"],
    )
}

fn start_with(restd: &FakeRestd, dir: &std::path::Path, timing: &[&str]) -> Exporter {
    Exporter::start(
        &[
            timing[0],
            timing[1],
            "--slurm.source=rest",
            &format!("--slurm.rest-url=http://127.0.0.1:{}", restd.port),
            &format!("--slurm.jwt-file={}", token_file(dir)),
            "--slurm.cluster-name=lab",
        ],
        &[],
        dir.join("exporter.log"),
    )
}

fn errors(m: &str, reason: &str) -> f64 {
    value(
        m,
        "slurm_exporter_collection_errors_total",
        &[("collector", "jobs"), ("reason", reason)],
    )
    .unwrap_or(0.0)
}

#[test]
fn every_failure_is_counted_by_reason_and_the_last_data_stays() {
    let restd = FakeRestd::start();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let exporter = start(&restd, dir.path());
    let up = |m: &str| value(m, "slurm_exporter_collector_up", &[("collector", "jobs")]);
    let good = exporter.wait_for("jobs up", Duration::from_secs(10), |m| up(m) == Some(1.0));
    let running = value(&good, "slurm_jobs", &[("state", "running")]);
    assert!(running.is_some_and(|v| v > 0.0), "{good}");

    for (mode, reason) in [
        ("garbage", "parse"),
        ("truncated", "parse"),
        ("500", "connection"),
        ("401", "auth"),
        ("hang", "timeout"),
    ] {
        let before = errors(&exporter.metrics(), reason);
        restd.set("jobs", mode);
        let m = exporter.wait_for(mode, Duration::from_secs(10), |m| {
            up(m) == Some(0.0) && errors(m, reason) > before
        });
        assert_eq!(
            value(&m, "slurm_jobs", &[("state", "running")]),
            running,
            "{mode}: stale data lost"
        );
        assert_eq!(
            value(&m, "slurm_exporter_collector_up", &[("collector", "nodes")]),
            Some(1.0),
            "{mode}"
        );
        restd.set("jobs", "ok");
        exporter.wait_for("recovery", Duration::from_secs(10), |m| up(m) == Some(1.0));
    }
    let logs = exporter.logs();
    assert!(
        logs.contains("Failed while looking for jobs"),
        "500 body not summarized:\n{logs}"
    );
    assert!(
        !logs.contains("c2lnbmF0dXJl"),
        "the token leaked into the logs"
    );
}

#[test]
fn api_upgrade_is_detected_again() {
    let restd = FakeRestd::start();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let exporter = start(&restd, dir.path());
    let nodes_up =
        |m: &str| value(m, "slurm_exporter_collector_up", &[("collector", "nodes")]) == Some(1.0);
    exporter.wait_for("nodes up", Duration::from_secs(10), nodes_up);
    assert!(restd
        .requests()
        .iter()
        .any(|r| r.starts_with("/slurm/v0.0.38/nodes")));
    // The server is upgraded: v0.0.38 disappears, v0.0.40 appears.
    restd.versions(&["v0.0.40"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !restd
        .requests()
        .iter()
        .any(|r| r.starts_with("/slurm/v0.0.40/nodes"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no re-detection: {:?}",
            restd.requests()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    exporter.wait_for("nodes up after upgrade", Duration::from_secs(10), nodes_up);
    assert!(
        exporter.logs().contains("version=v0.0.40"),
        "{}",
        exporter.logs()
    );
}

#[test]
fn jobs_are_reused_on_not_modified() {
    let restd = FakeRestd::start();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    restd.set("jobs", "notmodified");
    let exporter = start(&restd, dir.path());
    let collections = |m: &str| {
        value(
            m,
            "slurm_exporter_collections_total",
            &[("collector", "jobs")],
        )
        .unwrap_or(0.0)
    };
    let m = exporter.wait_for("three collections", Duration::from_secs(10), |m| {
        collections(m) >= 3.0
    });
    let jobs: Vec<String> = restd
        .requests()
        .into_iter()
        .filter(|r| r.contains("/jobs"))
        .collect();
    assert!(
        !jobs[0].contains("update_time"),
        "first request must be a full one: {jobs:?}"
    );
    assert!(
        jobs[1..].iter().all(|r| r.contains("update_time=")),
        "{jobs:?}"
    );
    assert_eq!(
        value(&m, "slurm_exporter_collector_up", &[("collector", "jobs")]),
        Some(1.0)
    );
    assert!(value(&m, "slurm_jobs", &[("state", "running")]).is_some_and(|v| v > 0.0));
}

/// Issue 14 item 2: a body past the caps (an endless string, a 10 GB
/// Content-Length) is `too_large`, the last jobs stay, memory stays bounded.
#[test]
fn a_huge_body_is_too_large_and_the_last_jobs_stay() {
    let restd = FakeRestd::start();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let exporter = start_with(
        &restd,
        dir.path(),
        &["--collection.interval=2s", "--collection.timeout=2s"],
    );
    let up = |m: &str| value(m, "slurm_exporter_collector_up", &[("collector", "jobs")]);
    let good = exporter.wait_for("jobs up", Duration::from_secs(10), |m| up(m) == Some(1.0));
    let running = value(&good, "slurm_jobs", &[("state", "running")]);
    assert!(running.is_some_and(|v| v > 0.0), "{good}");
    for mode in ["endless", "huge-length"] {
        let before = errors(&exporter.metrics(), "too_large");
        restd.set("jobs", mode);
        let m = exporter.wait_for(mode, Duration::from_secs(20), |m| {
            up(m) == Some(0.0) && errors(m, "too_large") > before
        });
        assert_eq!(value(&m, "slurm_jobs", &[("state", "running")]), running);
        restd.set("jobs", "ok");
        exporter.wait_for("recovery", Duration::from_secs(20), |m| up(m) == Some(1.0));
    }
    let peak = peak_rss(exporter.child.id());
    eprintln!(
        "REST endless body: exporter peak RSS {:.1} MiB",
        peak as f64 / f64::from(1 << 20)
    );
    assert!(peak < 200 << 20, "peak RSS {peak} bytes");
    let logs = exporter.logs();
    assert!(logs.contains("reason=too_large"), "{logs}");
    assert!(logs.contains("Content-Length"), "{logs}");
}

/// Threads and open descriptors of `pid`.
fn threads_and_fds(pid: u32) -> (usize, usize) {
    let count = |what: &str| {
        std::fs::read_dir(format!("/proc/{pid}/{what}"))
            .map(|d| d.count())
            .unwrap_or_else(|e| panic!("/proc/{pid}/{what}: {e}"))
    };
    (count("task"), count("fd"))
}

/// Issue 14 (rest-stall): a slurmrestd that sends its headers and then stalls
/// mid-body, trickles its body a byte at a time, or accepts and never answers.
/// Each abandoned query must end its parser thread and close its connection:
/// threads, descriptors and the server's open connections stay flat over many
/// timed-out collections; the queries fail with reason `timeout`, the last data
/// stays, and collection recovers when the server answers again.
#[test]
fn a_stalled_slurmrestd_leaks_no_threads_or_sockets() {
    let restd = FakeRestd::start();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let exporter = start_with(
        &restd,
        dir.path(),
        &["--collection.interval=1s", "--collection.timeout=500ms"],
    );
    let pid = exporter.child.id();
    let up = |m: &str| value(m, "slurm_exporter_collector_up", &[("collector", "jobs")]);
    let good = exporter.wait_for("jobs up", Duration::from_secs(10), |m| up(m) == Some(1.0));
    let running = value(&good, "slurm_jobs", &[("state", "running")]);
    assert!(running.is_some_and(|v| v > 0.0), "{good}");
    let data = [
        "jobs",
        "nodes",
        "partitions",
        "diag",
        "licenses",
        "reservations",
    ];
    for mode in ["stall", "trickle", "silent"] {
        for endpoint in data {
            restd.set(endpoint, mode);
        }
        let timeouts = errors(&exporter.metrics(), "timeout");
        let after = |n: f64| {
            exporter.wait_for(mode, Duration::from_secs(30), |m| {
                errors(m, "timeout") >= timeouts + n
            })
        };
        // Two stalled collections to warm up (the blocking pool, the server), then ten.
        after(2.0);
        let (threads, fds) = threads_and_fds(pid);
        let open = restd.open_connections();
        let m = after(12.0);
        let (threads_end, fds_end) = threads_and_fds(pid);
        let open_end = restd.open_connections();
        eprintln!(
            "{mode}: over 10 stalled collections threads {threads} -> {threads_end}, \
             fds {fds} -> {fds_end}, server connections open {open} -> {open_end}"
        );
        assert_eq!(up(&m), Some(0.0), "{mode}");
        assert_eq!(
            value(&m, "slurm_jobs", &[("state", "running")]),
            running,
            "{mode}: stale data lost"
        );
        assert!(
            threads_end <= threads + 4,
            "{mode}: threads grew {threads} -> {threads_end}"
        );
        assert!(fds_end <= fds + 4, "{mode}: fds grew {fds} -> {fds_end}");
        assert!(
            open_end <= open.max(data.len()) + 2,
            "{mode}: connections left open grew {open} -> {open_end}"
        );
        for endpoint in data {
            restd.set(endpoint, "ok");
        }
        exporter.wait_for("recovery", Duration::from_secs(10), |m| up(m) == Some(1.0));
    }
    let logs = exporter.logs();
    assert!(logs.contains("reason=timeout"), "{logs}");
}

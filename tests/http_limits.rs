//! The real binary under hostile connection patterns (issue 14, items 3 and 4):
//! a flood of idle connections far beyond a low descriptor limit must leave the
//! Slurm commands their descriptors, and password guessing must neither starve
//! scrapes with a verified credential nor delay `/health`.

mod common;

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{value, Exporter, FakeSlurm};

/// Starts the exporter against `fake` with its descriptor limit (soft and hard) at `nofile`.
fn start_with_fd_limit(fake: &FakeSlurm, nofile: u32, extra: &[&str]) -> Exporter {
    let port = common::free_port();
    let log = fake.dir.path().join("exporter.log");
    let log_file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -n {nofile} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_slurm-exporter"))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!("--slurm.bin-dir={}", fake.bin_dir().display()))
        .arg("--web.rate-limit=0")
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::from(log_file));
    for (k, v) in fake.envs() {
        cmd.env(k, v);
    }
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start exporter: {e}"));
    Exporter::started(child, port, log)
}

/// Sum of every sample of `name` in `text`.
fn sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
        .sum()
}

fn all_collectors_up(text: &str) -> bool {
    let up: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("slurm_exporter_collector_up{"))
        .collect();
    !up.is_empty() && up.iter().all(|l| l.ends_with(" 1"))
}

#[test]
fn connection_flood_leaves_descriptors_for_collection() {
    let fake = FakeSlurm::new();
    // 512 descriptors: 256 kept for collection, so at most 256 connections.
    let exporter = start_with_fd_limit(
        &fake,
        512,
        &[
            "--collection.interval=2s",
            "--web.header-read-timeout=60s",
            // One source address: let the overall cap, not the per-IP one, bite.
            "--web.max-connections-per-ip=65536",
        ],
    );
    let before = exporter.wait_for("every collector up", Duration::from_secs(20), |m| {
        all_collectors_up(m)
    });
    let errors_before = sum(&before, "slurm_exporter_collection_errors_total");
    let calls_before = fake.calls().len();

    // 700 idle connections: more than the limit, and than the descriptors.
    let target: SocketAddr = (Ipv4Addr::LOCALHOST, exporter.port).into();
    let flood: Vec<TcpStream> = (0..700)
        .filter_map(|_| TcpStream::connect_timeout(&target, Duration::from_secs(2)).ok())
        .collect();
    assert!(flood.len() > 512, "only {} connections opened", flood.len());
    // Several collection intervals under the flood.
    std::thread::sleep(Duration::from_secs(7));
    let calls_during = fake.calls().len() - calls_before;
    drop(flood);

    let after = exporter.wait_for("every collector up", Duration::from_secs(10), |m| {
        all_collectors_up(m)
    });
    let logs = exporter.logs();
    assert!(
        !logs.contains("Too many open files"),
        "collection ran out of descriptors:\n{logs}"
    );
    assert_eq!(
        sum(&after, "slurm_exporter_collection_errors_total"),
        errors_before,
        "collections failed under the flood:\n{after}\nlogs:\n{logs}"
    );
    assert!(
        calls_during >= 10,
        "only {calls_during} Slurm calls during the flood"
    );
    assert_eq!(
        value(&after, "slurm_exporter_http_connections_limit", &[]),
        Some(256.0),
        "{after}"
    );
    let refused = value(
        &after,
        "slurm_exporter_http_connections_refused_total",
        &[("reason", "limit")],
    )
    .unwrap_or(0.0);
    assert!(refused >= 1.0, "no refusal counted:\n{after}");
    // Logged once per 10 s, not per connection; accept errors likewise.
    let refusal_lines = logs.matches("refusing connections").count();
    assert!(
        (1..=3).contains(&refusal_lines),
        "{refusal_lines} refusal lines:\n{logs}"
    );
    assert!(
        logs.matches("accept failed").count() <= 3,
        "accept errors logged per connection:\n{logs}"
    );
    let (code, _) = exporter.get("/ready");
    assert_eq!(code, 200);
}

/// `GET path` from the loopback address `source`, with `auth` as basic auth;
/// the status code and body (None when the exchange failed).
fn get_from(source: Ipv4Addr, port: u16, path: &str, auth: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .ok()?;
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().ok()?;
        socket.bind((source, 0).into()).ok()?;
        let stream = socket
            .connect((Ipv4Addr::LOCALHOST, port).into())
            .await
            .ok()?;
        stream.into_std().ok()
    })?;
    stream.set_nonblocking(false).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .ok()?;
    let mut stream = stream;
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: x\r\nAuthorization: Basic {}\r\n\r\n",
        base64::engine::general_purpose::STANDARD.encode(auth)
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    common::parse_response(&raw)
        .map(|(code, _, body)| (code, String::from_utf8_lossy(&body).into_owned()))
}

#[test]
fn password_guessing_starves_neither_scrapes_nor_health() {
    let fake = FakeSlurm::new();
    // A real cost: each guess is a slow bcrypt for the exporter.
    let hash = bcrypt::hash("s3cret", 10).unwrap_or_else(|e| panic!("{e}"));
    let web = fake.dir.path().join("web.yml");
    std::fs::write(&web, format!("basic_auth_users:\n  prometheus: '{hash}'\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    let exporter = fake.start_exporter(&[
        &format!("--web.config.file={}", web.display()),
        "--web.max-concurrent-requests=4",
    ]);
    let port = exporter.port;
    let scraper = Ipv4Addr::new(127, 0, 0, 1);
    // The scraper's credential is verified once, before the guessing starts.
    let first = get_from(scraper, port, "/metrics", "prometheus:s3cret").map(|a| a.0);
    assert_eq!(first, Some(200));

    let stop = Arc::new(AtomicBool::new(false));
    let guessers: Vec<_> = (0..12u8)
        .map(|g| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                // A few source addresses, each guessing from several connections.
                let source = Ipv4Addr::new(127, 0, 0, 2 + g % 4);
                let mut answers = 0u32;
                let mut n = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let guess = format!("prometheus:guess-{g}-{n}");
                    if let Some((code, _)) = get_from(source, port, "/metrics", &guess) {
                        answers += 1;
                        if code == 429 {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                }
                answers
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));

    let mut failures = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(8);
    let mut rounds = 0;
    while Instant::now() < deadline {
        rounds += 1;
        let started = Instant::now();
        let health = common::get(port, "/health").map(|(code, _)| code);
        let took = started.elapsed();
        // The Deployment's liveness probe times out after 3 s.
        if health != Some(200) || took > Duration::from_secs(3) {
            failures.push(format!("/health: {health:?} after {took:?}"));
        }
        let metrics = get_from(scraper, port, "/metrics", "prometheus:s3cret").map(|a| a.0);
        if metrics != Some(200) {
            failures.push(format!("/metrics: {metrics:?}"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::Relaxed);
    let guesses: u32 = guessers.into_iter().map(|t| t.join().unwrap_or(0)).sum();
    assert!(
        failures.is_empty(),
        "{} of {rounds} rounds failed: {failures:?}",
        failures.len()
    );
    let (_, text) = get_from(scraper, port, "/metrics", "prometheus:s3cret")
        .unwrap_or_else(|| panic!("no final scrape"));
    let bad = value(
        &text,
        "slurm_exporter_http_auth_failures_total",
        &[("reason", "bad_password")],
    )
    .unwrap_or(0.0);
    assert!(
        guesses >= 12 && bad >= 4.0,
        "the guessing did not happen: {guesses} answers, {bad} bad passwords"
    );
    eprintln!("{rounds} rounds, {guesses} guesses answered, {bad} bcrypt-checked");
}

//! Load test of the exporter's HTTP side, on 127.0.0.1 only, bounded in count and time.
//!
//! Starts the exporter binary itself (once per scenario, so each peak RSS is its own)
//! against the fake Slurm commands of `tests/support/fake-slurm.sh`, then:
//!
//! - **concurrent**: N scrapes of `/metrics` released at once, from N different
//!   loopback addresses (127.x.y.1, one request each, so no per-client limit
//!   applies): every one must be 200 (the concurrency slots make the rest wait);
//! - **burst**: requests from one address far above its rate limit: only 200, or
//!   429 with `Retry-After`; afterwards another address is still served;
//! - **slow**: clients that trickle a header byte at a time: the exporter must cut
//!   each after its header read timeout, and serve normal scrapes meanwhile (their
//!   latency is measured);
//! - **guess**: basic auth with a cost-10 bcrypt hash; guessers from 4 addresses,
//!   each address under the default rate limit (8 guesses/s), while a scraper
//!   whose credential was verified once and a liveness probe (`/health`) are
//!   polled: both must get 200 (their latencies are printed apart).
//!
//! Prints per scenario the status codes, errors, latency percentiles and the
//! exporter's peak RSS (`VmHWM`); exits 1 when any request ends in anything but the
//! intended answer or the RSS exceeds the bound.
//!
//! ```sh
//! cargo build --release && cargo run --release --example load
//! cargo run --example load -- --quick        # CI size, debug build
//! cargo run --example load -- --help
//! ```

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Barrier;

const USAGE: &str = "\
cargo run [--release] --example load -- [options]
  --exporter=PATH       exporter binary [default: target/<profile>/slurm-exporter]
  --scrapes=N           concurrent scrapes [default: 1000; --quick: 200]
  --burst=N             requests of the burst from one client [default: 300; --quick: 100]
  --slow=N              slow clients [default: 100; --quick: 20]
  --header-timeout=S    --web.header-read-timeout for the slow scenario, seconds [default: 2]
  --guessers=N          password guessers, spread over 4 addresses [default: 32; --quick: 12]
  --guess-seconds=S     how long the guess scenario polls [default: 20; --quick: 8]
  --rss-limit-mib=N     fail when the exporter's peak RSS exceeds this [default: 64]
  --quick               the smaller sizes above";

struct Args {
    exporter: PathBuf,
    scrapes: usize,
    burst: usize,
    slow: usize,
    header_timeout: u64,
    rss_limit_mib: u64,
    guessers: usize,
    guess_seconds: u64,
}

fn parse_args() -> Result<Args, String> {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let mut args = Args {
        exporter: target_dir.join(profile).join("slurm-exporter"),
        scrapes: 1000,
        burst: 300,
        slow: 100,
        header_timeout: 2,
        rss_limit_mib: 64,
        guessers: 32,
        guess_seconds: 20,
    };
    let mut sizes: BTreeMap<&str, usize> = BTreeMap::new();
    for arg in std::env::args().skip(1) {
        let (key, value) = arg.split_once('=').unwrap_or((arg.as_str(), ""));
        let number = || {
            value
                .parse::<usize>()
                .map_err(|_| format!("{key}: `{value}` is not a whole number"))
        };
        match key {
            "--exporter" => args.exporter = PathBuf::from(value),
            "--scrapes" | "--burst" | "--slow" => {
                sizes.insert(
                    match key {
                        "--scrapes" => "scrapes",
                        "--burst" => "burst",
                        _ => "slow",
                    },
                    number()?,
                );
            }
            "--header-timeout" => args.header_timeout = number()? as u64,
            "--rss-limit-mib" => args.rss_limit_mib = number()? as u64,
            "--guessers" => args.guessers = number()?.clamp(1, 400),
            "--guess-seconds" => args.guess_seconds = (number()? as u64).clamp(1, 600),
            "--quick" => {
                args.scrapes = 200;
                args.burst = 100;
                args.slow = 20;
                args.guessers = 12;
                args.guess_seconds = 8;
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    args.scrapes = sizes.get("scrapes").copied().unwrap_or(args.scrapes);
    args.burst = sizes.get("burst").copied().unwrap_or(args.burst);
    args.slow = sizes.get("slow").copied().unwrap_or(args.slow);
    if args.scrapes > 60_000 || args.slow > 10_000 || args.burst > 100_000 {
        return Err("sizes are capped: --scrapes ≤ 60000, --slow ≤ 10000, --burst ≤ 100000".into());
    }
    Ok(args)
}

// ---------------------------------------------------------------------------
// The exporter under test.

struct Exporter {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Exporter {
    /// Starts the exporter on 127.0.0.1 against fake Slurm commands and waits for
    /// its first complete collection.
    async fn start(binary: &Path, extra: &[String]) -> Result<Exporter, String> {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let script = repo.join("tests/support/fake-slurm.sh");
        for name in ["squeue", "scontrol", "sdiag", "sacctmgr"] {
            std::os::unix::fs::symlink(&script, dir.path().join(name))
                .map_err(|e| e.to_string())?;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let log =
            std::fs::File::create(dir.path().join("exporter.log")).map_err(|e| e.to_string())?;
        let child = Command::new(binary)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!("--slurm.bin-dir={}", dir.path().display()))
            .arg("--collection.interval=2s")
            .args(extra)
            .env("FAKE_SLURM_STATE", dir.path())
            .env(
                "FAKE_SLURM_FIXTURES",
                repo.join("tests/fixtures/slurm-22.05"),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let exporter = Exporter {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = get(None, port, "/ready").await {
                // 401: behind basic auth, serving.
                if r.status == 200 || r.status == 401 {
                    return Ok(exporter);
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "exporter not ready after 20s; log:\n{}",
                    exporter.log()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("exporter.log")).unwrap_or_default()
    }

    /// Peak resident set size (VmHWM) in KiB.
    fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Flags the exporter knows, from its `--help`.
fn known_flags(binary: &Path) -> String {
    Command::new(binary)
        .arg("--help")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// A minimal HTTP/1.1 client: one request per connection.

struct Answer {
    status: u16,
    retry_after: bool,
    /// The body looked complete (for /metrics: it has our self-metrics).
    complete: bool,
}

async fn connect(source: Option<Ipv4Addr>, port: u16) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    if let Some(ip) = source {
        socket.bind(SocketAddr::from((ip, 0)))?;
    }
    socket
        .connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
}

async fn get(source: Option<Ipv4Addr>, port: u16, path: &str) -> Result<Answer, String> {
    get_as(source, port, path, None).await
}

/// GET with `user:password` as basic auth when given.
async fn get_as(
    source: Option<Ipv4Addr>,
    port: u16,
    path: &str,
    credentials: Option<&str>,
) -> Result<Answer, String> {
    use base64::Engine as _;
    let run = async {
        let mut stream = connect(source, port)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let auth = credentials
            .map(|c| {
                format!(
                    "Authorization: Basic {}\r\n",
                    base64::engine::general_purpose::STANDARD.encode(c)
                )
            })
            .unwrap_or_default();
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .await
            .map_err(|e| format!("read: {e}"))?;
        parse_answer(&raw, path)
    };
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .map_err(|_| "no answer in 30s".to_string())?
}

fn parse_answer(raw: &[u8], path: &str) -> Result<Answer, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no response head ({} bytes)", raw.len()))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let body = &raw[split + 4..];
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or("bad status line")?;
    let retry_after = lines.any(|l| l.to_ascii_lowercase().starts_with("retry-after:"));
    let complete = path != "/metrics"
        || status != 200
        || body
            .windows(27)
            .any(|w| w == b"slurm_exporter_collector_up");
    Ok(Answer {
        status,
        retry_after,
        complete,
    })
}

/// A distinct loopback source address per client number: 127.{base + n/250}.{1 + n%250}.1.
fn client_ip(base: u8, n: usize) -> Ipv4Addr {
    Ipv4Addr::new(
        127,
        base.wrapping_add((n / 250) as u8),
        1 + (n % 250) as u8,
        1,
    )
}

// ---------------------------------------------------------------------------
// Results.

#[derive(Default)]
struct Outcome {
    name: String,
    latencies: Vec<Duration>,
    statuses: BTreeMap<u16, usize>,
    errors: Vec<String>,
    notes: Vec<String>,
    peak_rss_kib: Option<u64>,
    wall: Duration,
    skipped: Option<String>,
}

impl Outcome {
    fn new(name: &str) -> Outcome {
        Outcome {
            name: name.to_string(),
            ..Default::default()
        }
    }

    fn percentile(&self, p: f64) -> String {
        if self.latencies.is_empty() {
            return "-".into();
        }
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
        format!("{:.1}", sorted[i].as_secs_f64() * 1000.0)
    }

    fn error(&mut self, e: impl Into<String>) {
        self.errors.push(e.into());
    }
}

fn print_table(outcomes: &[Outcome]) {
    println!(
        "\n{:<12} {:>6} {:<22} {:>6} {:>8} {:>8} {:>8} {:>8} {:>9} {:>7}",
        "scenario",
        "reqs",
        "status codes",
        "errors",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "peak RSS",
        "wall s"
    );
    for o in outcomes {
        if let Some(why) = &o.skipped {
            println!("{:<12} skipped: {why}", o.name);
            continue;
        }
        let codes: Vec<String> = o.statuses.iter().map(|(c, n)| format!("{c}×{n}")).collect();
        let requests: usize = o.statuses.values().sum::<usize>() + o.errors.len();
        println!(
            "{:<12} {:>6} {:<22} {:>6} {:>8} {:>8} {:>8} {:>8} {:>9} {:>7.1}",
            o.name,
            requests,
            codes.join(" "),
            o.errors.len(),
            o.percentile(0.50),
            o.percentile(0.90),
            o.percentile(0.99),
            o.percentile(1.0),
            o.peak_rss_kib
                .map_or("?".to_string(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
            o.wall.as_secs_f64()
        );
    }
    for o in outcomes {
        for note in &o.notes {
            println!("  {}: {note}", o.name);
        }
        let mut shown = BTreeMap::new();
        for e in &o.errors {
            *shown.entry(e.as_str()).or_insert(0usize) += 1;
        }
        for (e, n) in shown {
            println!("  {}: ERROR ×{n}: {e}", o.name);
        }
    }
}

// ---------------------------------------------------------------------------
// Scenarios.

async fn concurrent(args: &Args, flags: &str) -> Result<Outcome, String> {
    let mut out = Outcome::new("concurrent");
    // Every scrape is its own connection: keep them under the connection cap.
    let extra = if flags.contains("--web.max-connections") {
        vec![format!("--web.max-connections={}", args.scrapes + 64)]
    } else {
        vec![]
    };
    let exporter = Exporter::start(&args.exporter, &extra).await?;
    let barrier = Arc::new(Barrier::new(args.scrapes));
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.scrapes)
        .map(|i| {
            let barrier = barrier.clone();
            let port = exporter.port;
            tokio::spawn(async move {
                barrier.wait().await;
                let t = Instant::now();
                let answer = get(Some(client_ip(1, i)), port, "/metrics").await;
                (t.elapsed(), answer)
            })
        })
        .collect();
    for task in tasks {
        match task.await {
            Ok((took, Ok(answer))) => {
                *out.statuses.entry(answer.status).or_default() += 1;
                out.latencies.push(took);
                if answer.status != 200 {
                    out.error(format!("status {} (only 200 is expected)", answer.status));
                } else if !answer.complete {
                    out.error("200 with an incomplete body");
                }
            }
            Ok((_, Err(e))) => out.error(e),
            Err(e) => out.error(format!("task: {e}")),
        }
    }
    out.wall = started.elapsed();
    out.peak_rss_kib = exporter.peak_rss_kib();
    Ok(out)
}

async fn burst(args: &Args, flags: &str) -> Result<Outcome, String> {
    let mut out = Outcome::new("burst");
    if !flags.contains("--web.rate-limit") {
        out.skipped = Some("exporter lacks --web.rate-limit".into());
        return Ok(out);
    }
    let (rate, burst) = (10, 20);
    let exporter = Exporter::start(
        &args.exporter,
        &[
            format!("--web.rate-limit={rate}"),
            format!("--web.rate-limit-burst={burst}"),
        ],
    )
    .await?;
    let client = Ipv4Addr::new(127, 0, 0, 1);
    let started = Instant::now();
    // Eight requests in flight at a time, from one address.
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let next = next.clone();
            let port = exporter.port;
            let total = args.burst;
            tokio::spawn(async move {
                let mut results = Vec::new();
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < total {
                    let t = Instant::now();
                    let answer = get(Some(client), port, "/metrics").await;
                    results.push((t.elapsed(), answer));
                }
                results
            })
        })
        .collect();
    for worker in workers {
        let results = worker.await.map_err(|e| e.to_string())?;
        for (took, answer) in results {
            match answer {
                Ok(a) => {
                    *out.statuses.entry(a.status).or_default() += 1;
                    out.latencies.push(took);
                    match a.status {
                        200 if !a.complete => out.error("200 with an incomplete body"),
                        200 => {}
                        429 if !a.retry_after => out.error("429 without Retry-After"),
                        429 => {}
                        other => out.error(format!("status {other} (expected 200 or 429)")),
                    }
                }
                Err(e) => out.error(e),
            }
        }
    }
    out.wall = started.elapsed();
    let sent = args.burst as f64 / out.wall.as_secs_f64();
    let ok = out.statuses.get(&200).copied().unwrap_or(0);
    // The bucket allows `burst` at once plus `rate` per second after.
    let allowed = burst as f64 + rate as f64 * out.wall.as_secs_f64();
    out.notes.push(format!(
        "{sent:.0} requests/s from one address against a limit of {rate}/s (burst {burst}): {ok} served, at most {allowed:.0} allowed"
    ));
    if ok as f64 > allowed + 2.0 {
        out.error(format!("{ok} requests served, more than the limit allows"));
    }
    if args.burst > burst && !out.statuses.contains_key(&429) {
        out.error("no 429 although the burst exceeded the limit");
    }
    // Another client is not affected.
    match get(Some(Ipv4Addr::new(127, 0, 0, 2)), exporter.port, "/metrics").await {
        Ok(a) if a.status == 200 => out
            .notes
            .push("another address (127.0.0.2) is served meanwhile: 200".into()),
        Ok(a) => out.error(format!("another address got {}", a.status)),
        Err(e) => out.error(format!("another address: {e}")),
    }
    out.peak_rss_kib = exporter.peak_rss_kib();
    Ok(out)
}

/// What happened to one slow client.
enum Trickle {
    /// The exporter closed the connection (or answered 408) after this long.
    Dropped(Duration),
    /// Still open when the client gave up.
    StillOpen,
    Failed(String),
}

async fn trickle(source: Ipv4Addr, port: u16, give_up: Duration) -> Trickle {
    let started = Instant::now();
    let mut stream = match connect(Some(source), port).await {
        Ok(s) => s,
        Err(e) => return Trickle::Failed(format!("connect: {e}")),
    };
    let head = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    let mut buf = [0u8; 512];
    let mut sent = 0usize;
    while started.elapsed() < give_up {
        let byte: &[u8] = if sent < head.len() {
            &head[sent..=sent]
        } else {
            b"a"
        };
        if stream.write_all(byte).await.is_err() {
            return Trickle::Dropped(started.elapsed());
        }
        sent += 1;
        // Wait for the next byte's turn, watching for the server closing.
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
            Err(_) => {}
            Ok(Ok(0)) | Ok(Err(_)) => return Trickle::Dropped(started.elapsed()),
            Ok(Ok(n)) => {
                let text = String::from_utf8_lossy(&buf[..n]);
                return if text.starts_with("HTTP/1.1 408") || text.starts_with("HTTP/1.0 408") {
                    Trickle::Dropped(started.elapsed())
                } else {
                    Trickle::Failed(format!(
                        "answered before its headers were complete: {:?}",
                        text.lines().next().unwrap_or_default()
                    ))
                };
            }
        }
    }
    Trickle::StillOpen
}

async fn slow(args: &Args, flags: &str) -> Result<Outcome, String> {
    let mut out = Outcome::new("slow");
    if !flags.contains("--web.header-read-timeout") {
        out.skipped = Some("exporter lacks --web.header-read-timeout".into());
        return Ok(out);
    }
    let timeout = Duration::from_secs(args.header_timeout);
    let exporter = Exporter::start(
        &args.exporter,
        &[format!(
            "--web.header-read-timeout={}s",
            args.header_timeout
        )],
    )
    .await?;
    let port = exporter.port;
    let give_up = timeout + Duration::from_secs(5);
    let started = Instant::now();
    let slow_clients: Vec<_> = (0..args.slow)
        .map(|i| tokio::spawn(trickle(client_ip(100, i), port, give_up)))
        .collect();
    // Normal scrapes meanwhile, 5 per second, each from its own address so that
    // no rate limit applies; until the slow clients should all have been cut.
    let mut scrapes = 0usize;
    while started.elapsed() < timeout + Duration::from_secs(2) {
        let t = Instant::now();
        match get(Some(client_ip(200, scrapes)), port, "/metrics").await {
            Ok(a) => {
                *out.statuses.entry(a.status).or_default() += 1;
                out.latencies.push(t.elapsed());
                if a.status != 200 {
                    out.error(format!("normal scrape got {}", a.status));
                }
            }
            Err(e) => out.error(format!("normal scrape: {e}")),
        }
        scrapes += 1;
        tokio::time::sleep(Duration::from_millis(200).saturating_sub(t.elapsed())).await;
    }
    let mut dropped = Vec::new();
    for client in slow_clients {
        match client.await {
            Ok(Trickle::Dropped(after)) => dropped.push(after),
            Ok(Trickle::StillOpen) => out.error(format!(
                "slow client still connected after {}s",
                give_up.as_secs()
            )),
            Ok(Trickle::Failed(e)) => out.error(format!("slow client: {e}")),
            Err(e) => out.error(format!("slow client task: {e}")),
        }
    }
    out.wall = started.elapsed();
    dropped.sort();
    if let (Some(first), Some(last)) = (dropped.first(), dropped.last()) {
        out.notes.push(format!(
            "{} of {} slow clients cut after {:.1}–{:.1}s (header read timeout {}s); latencies are of the {} normal scrapes meanwhile",
            dropped.len(),
            args.slow,
            first.as_secs_f64(),
            last.as_secs_f64(),
            args.header_timeout,
            scrapes
        ));
        if *first + Duration::from_millis(300) < timeout {
            out.error(format!(
                "a slow client was cut after {:.1}s, before the timeout",
                first.as_secs_f64()
            ));
        }
    }
    out.peak_rss_kib = exporter.peak_rss_kib();
    Ok(out)
}

async fn guess(args: &Args) -> Result<Vec<Outcome>, String> {
    let mut health = Outcome::new("guess:/health");
    let mut scrape = Outcome::new("guess:scrape");
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let hash = bcrypt::hash("s3cret", 10).map_err(|e| e.to_string())?;
    let web = dir.path().join("web.yml");
    std::fs::write(&web, format!("basic_auth_users:\n  prometheus: '{hash}'\n"))
        .map_err(|e| e.to_string())?;
    let exporter = Exporter::start(
        &args.exporter,
        &[format!("--web.config.file={}", web.display())],
    )
    .await?;
    let port = exporter.port;
    let scraper = Some(Ipv4Addr::new(127, 0, 0, 1));
    let good = "prometheus:s3cret";
    let first = get_as(scraper, port, "/metrics", Some(good)).await?;
    if first.status != 200 {
        return Err(format!("first scrape: {}", first.status));
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Per address: 8 guesses per second at most, under the default 10/s.
    let per_address = args.guessers.div_ceil(4).max(1);
    let pace = Duration::from_secs_f64(per_address as f64 / 8.0);
    let guessers: Vec<_> = (0..args.guessers)
        .map(|g| {
            let stop = stop.clone();
            tokio::spawn(async move {
                let source = Some(client_ip(200, g % 4));
                let mut codes: BTreeMap<u16, usize> = BTreeMap::new();
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let started = Instant::now();
                    let guess = format!("prometheus:guess-{g}-{n}");
                    if let Ok(a) = get_as(source, port, "/metrics", Some(&guess)).await {
                        *codes.entry(a.status).or_default() += 1;
                    }
                    tokio::time::sleep(pace.saturating_sub(started.elapsed())).await;
                }
                codes
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.guess_seconds);
    while Instant::now() < deadline {
        for (out, credentials, path) in [
            (&mut health, None, "/health"),
            (&mut scrape, Some(good), "/metrics"),
        ] {
            let t = Instant::now();
            match get_as(scraper, port, path, credentials).await {
                Ok(a) => {
                    *out.statuses.entry(a.status).or_default() += 1;
                    out.latencies.push(t.elapsed());
                    if a.status != 200 {
                        out.error(format!("status {} (only 200 is expected)", a.status));
                    }
                }
                Err(e) => out.error(e),
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut codes: BTreeMap<u16, usize> = BTreeMap::new();
    for g in guessers {
        for (code, n) in g.await.unwrap_or_default() {
            *codes.entry(code).or_default() += n;
        }
    }
    let codes: Vec<String> = codes.iter().map(|(c, n)| format!("{c}×{n}")).collect();
    health.notes.push(format!(
        "{} guessers over 4 addresses answered: {}",
        args.guessers,
        codes.join(" ")
    ));
    for out in [&mut health, &mut scrape] {
        out.wall = started.elapsed();
    }
    scrape.peak_rss_kib = exporter.peak_rss_kib();
    Ok(vec![health, scrape])
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if !args.exporter.is_file() {
        eprintln!(
            "{} not found: build it first (cargo build{}) or pass --exporter=PATH",
            args.exporter.display(),
            if cfg!(debug_assertions) {
                ""
            } else {
                " --release"
            }
        );
        return ExitCode::from(2);
    }
    let flags = known_flags(&args.exporter);
    let overall = Instant::now();
    let mut outcomes = Vec::new();
    for result in [
        concurrent(&args, &flags).await,
        burst(&args, &flags).await,
        slow(&args, &flags).await,
    ]
    .into_iter()
    .map(|r| r.map(|o| vec![o]))
    .chain([guess(&args).await])
    {
        match result {
            Ok(o) => outcomes.extend(o),
            Err(e) => {
                let mut o = Outcome::new("setup");
                o.error(e);
                outcomes.push(o);
            }
        }
    }
    print_table(&outcomes);
    let mut failed = false;
    for o in &outcomes {
        failed |= !o.errors.is_empty();
        if let Some(kib) = o.peak_rss_kib {
            if kib > args.rss_limit_mib * 1024 {
                println!(
                    "  {}: peak RSS {:.1} MiB exceeds the bound of {} MiB",
                    o.name,
                    kib as f64 / 1024.0,
                    args.rss_limit_mib
                );
                failed = true;
            }
        }
    }
    println!(
        "\n{} in {:.1}s",
        if failed { "FAILED" } else { "passed" },
        overall.elapsed().as_secs_f64()
    );
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

//! Helpers shared by the integration tests: run the real binary, scrape it, read values.
#![allow(dead_code)]

pub mod lab;
pub mod tls;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// A running exporter process, killed on drop; stderr goes to a file.
pub struct Exporter {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Exporter {
    pub fn start(args: &[&str], envs: &[(&str, &str)], log: PathBuf) -> Exporter {
        Exporter::start_as(None, args, envs, log)
    }

    /// Starts the exporter, as `user` (through `setpriv`) when given.
    pub fn start_as(
        user: Option<&str>,
        args: &[&str],
        envs: &[(&str, &str)],
        log: PathBuf,
    ) -> Exporter {
        let port = free_port();
        let log_file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("{e}"));
        // Another build (e.g. the release binary, to measure it) when set.
        let binary = std::env::var("SLURM_EXPORTER_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_slurm-exporter").to_string());
        let mut cmd = match user {
            Some(user) => {
                let mut c = Command::new("setpriv");
                c.args([
                    format!("--reuid={user}"),
                    format!("--regid={user}"),
                    "--clear-groups".to_string(),
                    binary.to_string(),
                ]);
                c
            }
            None => Command::new(binary),
        };
        cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"));
        // Tests scrape far faster than Prometheus does; only the rate-limit tests limit.
        if !args.iter().any(|a| a.starts_with("--web.rate-limit")) {
            cmd.arg("--web.rate-limit=0");
        }
        cmd.args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::from(log_file));
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start exporter: {e}"));
        Exporter::started(child, port, log)
    }

    /// The exporter `child` serving on `port`, once `/health` answers (10 s at most).
    pub fn started(child: Child, port: u16, log: PathBuf) -> Exporter {
        let exporter = Exporter { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(10);
        while get(port, "/health").is_none() {
            assert!(
                Instant::now() < deadline,
                "exporter did not start: {}",
                exporter.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        exporter
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        get(self.port, path).unwrap_or_else(|| panic!("GET {path} failed; logs:\n{}", self.logs()))
    }

    pub fn metrics(&self) -> String {
        let (code, body) = self.get("/metrics");
        assert_eq!(code, 200);
        body
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `cond(metrics)` holds.
    pub fn wait_for(&self, what: &str, timeout: Duration, cond: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let m = self.metrics();
            if cond(&m) {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; last metrics:\n{m}\nlogs:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Minimal HTTP/1.0 GET: status code and body.
pub fn get(port: u16, path: &str) -> Option<(u16, String)> {
    get_with_headers(port, path, &[])
        .map(|(code, _, body)| (code, String::from_utf8_lossy(&body).into_owned()))
}

/// Status, response headers (lower-case names) and raw body of a response.
pub type RawResponse = (u16, Vec<(String, String)>, Vec<u8>);

/// GET with extra request headers.
pub fn get_with_headers(port: u16, path: &str, headers: &[(&str, &str)]) -> Option<RawResponse> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut req = format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    parse_response(&raw)
}

/// Sends `request` as is and returns the raw answer (empty when the server closed without one).
pub fn send_raw(port: u16, request: &[u8]) -> Vec<u8> {
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("connect: {e}"));
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.write_all(request);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    raw
}

/// Status, headers and body of a raw HTTP/1 response.
pub fn parse_response(raw: &[u8]) -> Option<RawResponse> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let code = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some((code, headers, body))
}

/// Value of the first sample named exactly `name` whose labels include all `labels`.
pub fn value(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (series, v) = line.rsplit_once(' ')?;
            let (n, rest) = match series.find('{') {
                Some(i) => (&series[..i], &series[i..]),
                None => (series, ""),
            };
            if n != name {
                return None;
            }
            let all = labels
                .iter()
                .all(|(k, val)| rest.contains(&format!("{k}=\"{val}\"")));
            if !all {
                return None;
            }
            v.parse().ok()
        })
}

/// A directory of fake Slurm commands (see tests/support/fake-slurm.sh) with its state dir.
pub struct FakeSlurm {
    pub dir: tempfile::TempDir,
}

impl FakeSlurm {
    pub fn new() -> FakeSlurm {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let script = repo().join("tests/support/fake-slurm.sh");
        for name in ["squeue", "scontrol", "sdiag", "sshare", "sacctmgr"] {
            std::os::unix::fs::symlink(&script, dir.path().join(name))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        FakeSlurm { dir }
    }

    pub fn bin_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn envs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("FAKE_SLURM_STATE", self.dir.path().display().to_string()),
            (
                "FAKE_SLURM_FIXTURES",
                repo()
                    .join("tests/fixtures/slurm-22.05")
                    .display()
                    .to_string(),
            ),
        ]
    }

    pub fn set_mode(&self, command: &str, mode: &str) {
        std::fs::write(self.dir.path().join(format!("mode-{command}")), mode)
            .unwrap_or_else(|e| panic!("{e}"));
    }

    pub fn remove(&self, command: &str) {
        let _ = std::fs::remove_file(self.dir.path().join(command));
    }

    /// Calls made so far, one line each (`squeue -h -t all ...`).
    pub fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("calls"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Starts the exporter against these fake commands.
    pub fn start_exporter(&self, extra: &[&str]) -> Exporter {
        let bin = format!("--slurm.bin-dir={}", self.bin_dir().display());
        let mut args = vec![bin.as_str()];
        args.extend_from_slice(extra);
        let envs = self.envs();
        let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Exporter::start(&args, &envs, self.dir.path().join("exporter.log"))
    }
}

/// Peak resident memory (VmHWM) of `pid` in bytes.
pub fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or_else(|| panic!("no VmHWM in {status}"))
}

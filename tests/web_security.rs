//! The real binary with `--web.config.file` and the connection limits: TLS
//! (plain HTTP on the TLS port, certificate rotation without restart, a broken
//! new file), client certificates, basic auth, rate limit, header read
//! timeout, body and header size limits, and a burst of 1,000 scrapes.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::tls::{expiry, new_year, Client, Pki};
use common::{value, FakeSlurm};

fn write(path: &std::path::Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
}

/// How long until the server closes a connection on which the client sends nothing.
fn closed_after_silence(port: u16) -> Duration {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("{e}"));
    let _ = stream.set_read_timeout(Some(Duration::from_secs(15)));
    let started = Instant::now();
    let mut buf = [0u8; 64];
    let _ = stream.read(&mut buf);
    started.elapsed()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn tls_scrape_plain_http_400_and_certificate_rotation() {
    let fake = FakeSlurm::new();
    let pki = Pki::new(fake.dir.path());
    let web = fake.dir.path().join("web.yml");
    // Relative paths: relative to the web config file.
    write(
        &web,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nhttp_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n",
    );
    let exporter = fake.start_exporter(&[&format!("--web.config.file={}", web.display())]);
    let client = Client {
        ca_pem: pki.ca_pem(),
        identity: None,
    };
    let scrape = || {
        client
            .get(exporter.port, "/metrics", &[])
            .unwrap_or_else(|e| panic!("TLS scrape: {e}; logs:\n{}", exporter.logs()))
    };
    let ((code, headers, body), cert) = scrape();
    assert_eq!(code, 200);
    assert_eq!(header(&headers, "x-content-type-options"), Some("nosniff"));
    assert_eq!(expiry(&cert), new_year(2035));
    let text = String::from_utf8_lossy(&body).into_owned();
    let metric = "slurm_exporter_tls_certificate_expiry_timestamp_seconds";
    assert_eq!(value(&text, metric, &[]), Some(new_year(2035)), "{text}");
    assert_eq!(
        value(
            &text,
            "slurm_exporter_web_config_last_reload_successful",
            &[]
        ),
        Some(1.0)
    );

    let (code, _, body) = common::get_with_headers(exporter.port, "/metrics", &[])
        .unwrap_or_else(|| panic!("no answer to plain HTTP"));
    assert_eq!(code, 400);
    assert!(String::from_utf8_lossy(&body).contains("HTTP request to an HTTPS server"));

    // Rotate: new connections get the new certificate, without a restart.
    pki.write_server_cert(2036);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ((_, _, body), cert) = scrape();
        let text = String::from_utf8_lossy(&body).into_owned();
        if expiry(&cert) == new_year(2036) && value(&text, metric, &[]) == Some(new_year(2036)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "certificate not rotated:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // A broken certificate keeps the previous good one, and says so.
    write(&fake.dir.path().join("server.crt"), "not a certificate\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ((code, _, body), cert) = scrape();
        assert_eq!(code, 200);
        assert_eq!(expiry(&cert), new_year(2036));
        let text = String::from_utf8_lossy(&body).into_owned();
        if value(
            &text,
            "slurm_exporter_web_config_last_reload_successful",
            &[],
        ) == Some(0.0)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "reload failure not reported:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(exporter.logs().contains("web config reload failed"));
}

#[test]
fn client_certificates_are_required_and_checked() {
    let fake = FakeSlurm::new();
    let pki = Pki::new(fake.dir.path());
    let web = fake.dir.path().join("web.yml");
    write(
        &web,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  client_allowed_sans: [prometheus]\n",
    );
    let exporter = fake.start_exporter(&[
        &format!("--web.config.file={}", web.display()),
        "--web.header-read-timeout=1s",
    ]);
    // A client that never starts its handshake is cut after the header read timeout.
    let silent = closed_after_silence(exporter.port);
    assert!(
        silent >= Duration::from_millis(900) && silent < Duration::from_secs(4),
        "{silent:?}"
    );
    let anonymous = Client {
        ca_pem: pki.ca_pem(),
        identity: None,
    };
    let prometheus = Client {
        ca_pem: pki.ca_pem(),
        identity: Some(pki.issue(&["prometheus"], 2035)),
    };
    let intruder = Client {
        ca_pem: pki.ca_pem(),
        identity: Some(pki.issue(&["intruder"], 2035)),
    };
    assert!(anonymous.get(exporter.port, "/metrics", &[]).is_err());
    assert!(intruder.get(exporter.port, "/metrics", &[]).is_err());
    let ((code, _, body), _) = prometheus
        .get(exporter.port, "/metrics", &[])
        .unwrap_or_else(|e| panic!("{e}; logs:\n{}", exporter.logs()));
    assert_eq!(code, 200);
    let text = String::from_utf8_lossy(&body).into_owned();
    let failures = |reason| {
        value(
            &text,
            "slurm_exporter_http_auth_failures_total",
            &[("reason", reason)],
        )
    };
    assert_eq!(failures("no_client_certificate"), Some(1.0), "{text}");
    // The SAN outside client_allowed_sans and the silent client.
    assert_eq!(failures("tls_handshake"), Some(2.0), "{text}");
    assert_eq!(failures("bad_password"), Some(0.0), "{text}");
}

#[test]
fn basic_auth_and_open_health() {
    let fake = FakeSlurm::new();
    let hash = bcrypt::hash("s3cret", 4).unwrap_or_else(|e| panic!("{e}"));
    let web = fake.dir.path().join("web.yml");
    write(
        &web,
        &format!("basic_auth_users:\n  prometheus: '{hash}'\n"),
    );
    let exporter = fake.start_exporter(&[&format!("--web.config.file={}", web.display())]);
    let basic = |user: &str, password: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    };
    let get = |path: &str, auth: Option<String>| {
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("Authorization", a)])
            .unwrap_or_default();
        common::get_with_headers(exporter.port, path, &headers)
            .unwrap_or_else(|| panic!("GET {path} failed"))
    };
    let (code, headers, _) = get("/metrics", None);
    assert_eq!(code, 401);
    assert_eq!(header(&headers, "www-authenticate"), Some("Basic"));
    assert_eq!(get("/metrics", Some(basic("prometheus", "wrong"))).0, 401);
    assert_eq!(get("/metrics", Some(basic("nobody", "s3cret"))).0, 401);
    assert_eq!(get("/ready", None).0, 401);
    assert_eq!(get("/", None).0, 401);
    assert_eq!(get("/health", None).0, 200);
    let (code, _, body) = get("/metrics", Some(basic("prometheus", "s3cret")));
    assert_eq!(code, 200);
    let text = String::from_utf8_lossy(&body).into_owned();
    let failures = |reason| {
        value(
            &text,
            "slurm_exporter_http_auth_failures_total",
            &[("reason", reason)],
        )
    };
    assert_eq!(failures("no_credentials"), Some(3.0), "{text}");
    assert_eq!(failures("bad_password"), Some(1.0));
    assert_eq!(failures("unknown_user"), Some(1.0));
    assert_eq!(failures("tls_handshake"), Some(0.0));
    assert_eq!(
        value(
            &text,
            "slurm_exporter_http_requests_total",
            &[("handler", "metrics"), ("code", "401")]
        ),
        Some(3.0)
    );
    drop(exporter);

    let closed = fake.start_exporter(&[
        &format!("--web.config.file={}", web.display()),
        "--web.health-unauthenticated=false",
    ]);
    assert_eq!(closed.get("/health").0, 401);
}

#[test]
fn rate_limit_answers_429_with_retry_after() {
    let fake = FakeSlurm::new();
    let exporter = fake.start_exporter(&["--web.rate-limit=2", "--web.rate-limit-burst=3"]);
    // Let the bucket refill after the start-up polling.
    std::thread::sleep(Duration::from_secs(2));
    let answers: Vec<_> = (0..8)
        .map(|_| common::get_with_headers(exporter.port, "/health", &[]))
        .map(|r| r.unwrap_or_else(|| panic!("no answer")))
        .collect();
    let limited: Vec<_> = answers.iter().filter(|(code, _, _)| *code == 429).collect();
    assert!(
        limited.len() >= 4,
        "{:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    let retry: u64 = header(&limited[0].1, "retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(retry >= 1, "Retry-After {retry}");
    std::thread::sleep(Duration::from_secs(2));
    let text = exporter.metrics();
    assert_eq!(
        value(&text, "slurm_exporter_http_rate_limited_total", &[]),
        Some(limited.len() as f64)
    );
    assert_eq!(
        value(
            &text,
            "slurm_exporter_http_requests_total",
            &[("handler", "health"), ("code", "429")]
        ),
        Some(limited.len() as f64)
    );
}

#[test]
fn slow_headers_are_cut_and_sizes_limited() {
    let fake = FakeSlurm::new();
    let exporter = fake.start_exporter(&["--web.header-read-timeout=1s"]);

    // A client trickling its headers is disconnected after the timeout.
    let mut slow =
        TcpStream::connect(("127.0.0.1", exporter.port)).unwrap_or_else(|e| panic!("{e}"));
    let _ = slow.set_read_timeout(Some(Duration::from_millis(100)));
    let started = Instant::now();
    let _ = slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n");
    let mut closed_after = None;
    for i in 0..40 {
        if slow
            .write_all(format!("X-Slow-{i}: y\r\n").as_bytes())
            .is_err()
        {
            closed_after = Some(started.elapsed());
            break;
        }
        let mut buf = [0u8; 512];
        match slow.read(&mut buf) {
            Ok(_) => {
                closed_after = Some(started.elapsed());
                break;
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => {
                closed_after = Some(started.elapsed());
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    let closed_after = closed_after.unwrap_or_else(|| panic!("slow client never disconnected"));
    assert!(closed_after < Duration::from_secs(4), "{closed_after:?}");
    // So is a connection that sends nothing at all.
    let silent = closed_after_silence(exporter.port);
    assert!(silent < Duration::from_secs(4), "{silent:?}");

    // Bodies above 1 KiB: 413, declared or chunked.
    let body = "x".repeat(2000);
    let raw = common::send_raw(
        exporter.port,
        format!(
            "GET /metrics HTTP/1.0\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    assert!(
        raw.starts_with(b"HTTP/1.0 413"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    let raw = common::send_raw(
        exporter.port,
        format!("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n", body.len()).as_bytes(),
    );
    assert!(
        raw.starts_with(b"HTTP/1.1 413"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    // A small body is fine.
    let raw = common::send_raw(
        exporter.port,
        b"GET /health HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert!(
        raw.starts_with(b"HTTP/1.0 200"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    // Headers above 16 KiB: 431.
    let big = "y".repeat(20 * 1024);
    let raw = common::send_raw(
        exporter.port,
        format!("GET /metrics HTTP/1.0\r\nX-Big: {big}\r\n\r\n").as_bytes(),
    );
    assert!(
        raw.starts_with(b"HTTP/1.1 431"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    let text = exporter.metrics();
    assert_eq!(
        value(
            &text,
            "slurm_exporter_http_requests_total",
            &[("handler", "metrics"), ("code", "413")]
        ),
        Some(2.0)
    );
}

#[test]
fn a_thousand_concurrent_scrapes_all_succeed() {
    let fake = FakeSlurm::new();
    // All from 127.0.0.1: above the default per-IP connection cap.
    let exporter = fake.start_exporter(&[
        "--web.max-concurrent-requests=4",
        "--web.max-connections-per-ip=1000",
    ]);
    let port = exporter.port;
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(1000));
    let started = Instant::now();
    let threads: Vec<_> = (0..1000)
        .map(|_| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                common::get(port, "/metrics").map(|(code, _)| code)
            })
        })
        .collect();
    let codes: Vec<Option<u16>> = threads
        .into_iter()
        .map(|t| t.join().unwrap_or(None))
        .collect();
    let ok = codes.iter().filter(|c| **c == Some(200)).count();
    assert_eq!(
        ok,
        1000,
        "codes: {:?}",
        codes
            .iter()
            .filter(|c| **c != Some(200))
            .take(5)
            .collect::<Vec<_>>()
    );
    eprintln!("1000 concurrent scrapes in {:?}", started.elapsed());
}

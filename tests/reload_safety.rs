//! A reload never lowers protection and never turns a truncated file into
//! defaults (issue 14, item 1), on the real binary: the web config file truncated,
//! left with only `tls_server_config:` or a comment, or rewritten without basic
//! auth keeps TLS and auth in force, says so (metric, counter, log) and takes
//! the next good write; an empty web config refuses the start; an empty main
//! config on SIGHUP keeps the running configuration; a main-config reload that
//! drops `web.config_file` does not drop TLS.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::tls::{Client, Pki};
use common::{value, FakeSlurm};

fn write(path: &std::path::Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
}

fn sighup(child: &std::process::Child) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap_or_else(|e| panic!("{e}"));
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

const TLS: &str = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";

/// TLS and basic auth in force: plain HTTP refused, no credentials 401, the
/// right ones 200. Returns the metrics text and the response headers.
struct Protected<'a> {
    port: u16,
    client: Client,
    auth: String,
    logs: &'a dyn Fn() -> String,
}

impl Protected<'_> {
    fn scrape(&self) -> (String, Vec<(String, String)>) {
        let ((code, headers, body), _) = self
            .client
            .get(self.port, "/metrics", &[("Authorization", &self.auth)])
            .unwrap_or_else(|e| panic!("TLS scrape: {e}; logs:\n{}", (self.logs)()));
        assert_eq!(code, 200);
        (String::from_utf8_lossy(&body).into_owned(), headers)
    }

    fn assert_enforced(&self, when: &str) {
        let (code, _, body) = common::get_with_headers(self.port, "/metrics", &[])
            .unwrap_or_else(|| panic!("{when}: no answer to plain HTTP"));
        assert_eq!(code, 400, "{when}: plain HTTP must be refused");
        assert!(String::from_utf8_lossy(&body).contains("HTTP request to an HTTPS server"));
        let ((code, _, _), _) = self
            .client
            .get(self.port, "/metrics", &[])
            .unwrap_or_else(|e| panic!("{when}: {e}"));
        assert_eq!(
            code, 401,
            "{when}: a request without credentials must get 401"
        );
    }

    fn wait_for(&self, what: &str, cond: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (m, _) = self.scrape();
            if cond(&m) {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}:\n{m}\nlogs:\n{}",
                (self.logs)()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn web_ok(m: &str) -> Option<f64> {
    value(m, "slurm_exporter_web_config_last_reload_successful", &[])
}

fn failures(m: &str, file: &str) -> Option<f64> {
    value(
        m,
        "slurm_exporter_config_reload_failures_total",
        &[("file", file)],
    )
}

#[test]
fn web_config_reload_never_lowers_protection() {
    let fake = FakeSlurm::new();
    let pki = Pki::new(fake.dir.path());
    let hash = bcrypt::hash("s3cret", 4).unwrap_or_else(|e| panic!("{e}"));
    let web = fake.dir.path().join("web.yml");
    let protected = format!("{TLS}basic_auth_users:\n  prometheus: '{hash}'\n");
    write(&web, &protected);
    let exporter = fake.start_exporter(&[&format!("--web.config.file={}", web.display())]);
    let logs = || exporter.logs();
    let p = Protected {
        port: exporter.port,
        client: Client {
            ca_pem: pki.ca_pem(),
            identity: None,
        },
        auth: basic("prometheus", "s3cret"),
        logs: &logs,
    };
    p.assert_enforced("at start");
    let m = p.scrape().0;
    assert_eq!(web_ok(&m), Some(1.0));
    assert_eq!(failures(&m, "web"), Some(0.0), "{m}");
    assert_eq!(failures(&m, "main"), Some(0.0), "{m}");

    // Each of these replaces the protected file; each is refused in turn.
    let tls_only = TLS.to_string();
    let steps: [(&str, &str, &str); 4] = [
        ("truncated (`: > web.yml`)", "", "the file is empty"),
        (
            "only `tls_server_config:`",
            "tls_server_config:\n",
            "key `tls_server_config`",
        ),
        (
            "only a comment",
            "# tls_server_config:\n#   cert_file: server.crt\n",
            "the file is empty",
        ),
        (
            "TLS without basic auth",
            &tls_only,
            "lost=\"basic auth off\"",
        ),
    ];
    for (n, (what, text, logged)) in steps.iter().enumerate() {
        write(&web, text);
        let want = (n + 1) as f64;
        let m = p.wait_for(what, |m| failures(m, "web") == Some(want));
        assert_eq!(web_ok(&m), Some(0.0), "{what}");
        p.assert_enforced(what);
        let logs = exporter.logs();
        assert!(
            logs.contains(logged),
            "{what}: no {logged:?} in the logs:\n{logs}"
        );
    }
    assert!(
        !exporter.logs().contains("tls=false"),
        "{}",
        exporter.logs()
    );

    // The second half of `cat new > web.yml`: the good file is taken.
    write(
        &web,
        &format!("{protected}http_server_config:\n  headers:\n    X-Frame-Options: deny\n"),
    );
    let m = p.wait_for("the good write", |m| web_ok(m) == Some(1.0));
    assert_eq!(failures(&m, "web"), Some(4.0));
    let (_, headers) = p.scrape();
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "x-frame-options" && v == "deny"),
        "{headers:?}"
    );
    p.assert_enforced("after the good write");
    assert!(!exporter.logs().contains("panicked"));
}

/// Starts the binary and waits for it to exit: (exit code, stderr).
fn refused_start(fake: &FakeSlurm, args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_slurm-exporter"))
        .arg(format!(
            "--web.listen-address=127.0.0.1:{}",
            common::free_port()
        ))
        .arg(format!("--slurm.bin-dir={}", fake.bin_dir().display()))
        .args(args)
        .envs(fake.envs())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while matches!(child.try_wait(), Ok(None)) {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{args:?}: the exporter started");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_web_config_that_protects_nothing_refuses_the_start() {
    let fake = FakeSlurm::new();
    let web = fake.dir.path().join("web.yml");
    for (text, said) in [
        ("", "the file is empty"),
        ("# nothing yet\n", "the file is empty"),
        ("tls_server_config:\n", "key `tls_server_config`"),
        ("basic_auth_users:\n", "key `basic_auth_users`"),
    ] {
        write(&web, text);
        let flag = format!("--web.config.file={}", web.display());
        let (code, stderr) = refused_start(&fake, &[&flag]);
        assert_eq!(code, Some(1), "{text:?}: {stderr}");
        assert!(stderr.contains(said), "{text:?}: {stderr}");
        // check-config reads the web config named in the main config.
        write(
            &fake.dir.path().join("main.yml"),
            &format!("web:\n  config_file: {}\n", web.display()),
        );
        let out = Command::new(env!("CARGO_BIN_EXE_slurm-exporter"))
            .arg("check-config")
            .arg(fake.dir.path().join("main.yml"))
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.status.code(), Some(1), "{text:?}");
    }
}

#[test]
fn empty_main_config_on_sighup_keeps_the_running_one() {
    let fake = FakeSlurm::new();
    let file = fake.dir.path().join("config.yaml");
    let good = "collection:\n  interval: 1s\ncollectors:\n  jobs: false\n";
    write(&file, good);
    let exporter = fake.start_exporter(&[&format!("--config.file={}", file.display())]);
    let first = exporter.wait_for("nodes up", Duration::from_secs(10), |m| {
        value(m, "slurm_exporter_collector_up", &[("collector", "nodes")]) == Some(1.0)
    });
    let hash = |m: &str| {
        m.lines()
            .find(|l| l.starts_with("slurm_exporter_config_hash{"))
            .map(str::to_string)
    };
    assert_eq!(failures(&first, "main"), Some(0.0));
    let steps = [
        ("truncated", "", "the file is empty"),
        (
            "only a comment",
            "# collection:\n#   interval: 1s\n",
            "the file is empty",
        ),
        (
            "a 100ms interval",
            "collection:\n  interval: 100ms\n",
            "collection.interval",
        ),
    ];
    for (n, (what, text, logged)) in steps.iter().enumerate() {
        write(&file, text);
        sighup(&exporter.child);
        let want = (n + 1) as f64;
        let m = exporter.wait_for(what, Duration::from_secs(10), |m| {
            failures(m, "main") == Some(want)
        });
        assert_eq!(
            value(&m, "slurm_exporter_config_last_reload_successful", &[]),
            Some(0.0)
        );
        assert_eq!(hash(&m), hash(&first), "{what}: the configuration changed");
        assert!(!m.contains("\nslurm_jobs{"), "{what}: jobs came back on");
        let logs = exporter.logs();
        assert!(
            logs.lines()
                .any(|l| l.contains("configuration reload failed") && l.contains(logged)),
            "{what}: no reason {logged:?} logged:\n{logs}"
        );
    }
    // Collections go on at the old pace, then a good file is taken.
    let total = |m: &str| {
        value(
            m,
            "slurm_exporter_collections_total",
            &[("collector", "nodes")],
        )
        .unwrap_or(0.0)
    };
    let before = total(&exporter.metrics());
    exporter.wait_for("collections go on", Duration::from_secs(10), |m| {
        total(m) > before + 1.0
    });
    write(
        &file,
        "collection:\n  interval: 1s\ncollectors:\n  jobs: true\n",
    );
    sighup(&exporter.child);
    let m = exporter.wait_for("the good file", Duration::from_secs(10), |m| {
        value(m, "slurm_exporter_config_last_reload_successful", &[]) == Some(1.0)
            && value(m, "slurm_exporter_collector_up", &[("collector", "jobs")]) == Some(1.0)
    });
    assert_eq!(failures(&m, "main"), Some(3.0));
    assert_eq!(failures(&m, "web"), Some(0.0));
}

#[test]
fn a_main_config_reload_cannot_drop_the_web_config() {
    let fake = FakeSlurm::new();
    let pki = Pki::new(fake.dir.path());
    let hash = bcrypt::hash("s3cret", 4).unwrap_or_else(|e| panic!("{e}"));
    let web = fake.dir.path().join("web.yml");
    write(
        &web,
        &format!("{TLS}basic_auth_users:\n  prometheus: '{hash}'\n"),
    );
    let file = fake.dir.path().join("config.yaml");
    write(
        &file,
        &format!(
            "web:\n  config_file: {}\ncollection:\n  interval: 1s\n",
            web.display()
        ),
    );
    let exporter = fake.start_exporter(&[&format!("--config.file={}", file.display())]);
    let logs = || exporter.logs();
    let p = Protected {
        port: exporter.port,
        client: Client {
            ca_pem: pki.ca_pem(),
            identity: None,
        },
        auth: basic("prometheus", "s3cret"),
        logs: &logs,
    };
    p.assert_enforced("at start");
    let before = p.scrape().0;
    let stamp = |m: &str| {
        value(
            m,
            "slurm_exporter_config_last_reload_success_timestamp_seconds",
            &[],
        )
    };
    // Whole seconds: wait for the next one so the reload's stamp differs.
    std::thread::sleep(Duration::from_millis(1100));
    write(&file, "collection:\n  interval: 1s\n");
    sighup(&exporter.child);
    p.wait_for("the reload", |m| stamp(m) != stamp(&before));
    p.assert_enforced("after a reload without web.config_file");
    assert!(
        exporter
            .logs()
            .contains("web.config_file changes need a restart"),
        "{}",
        exporter.logs()
    );
}

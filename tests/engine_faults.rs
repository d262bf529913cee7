//! The real binary against fake Slurm commands (recorded 22.05 output):
//! single-flight collection whatever the number of scrapers, and failing
//! sources that leave the exporter serving stale data with truthful self-metrics.

mod common;

use std::time::{Duration, Instant};

use common::{value, FakeSlurm};

#[test]
fn twenty_scrapers_cause_one_fetch_per_query_per_interval() {
    let fake = FakeSlurm::new();
    let exporter = fake.start_exporter(&["--collection.interval=1s", "--collection.timeout=900ms"]);
    let port = exporter.port;
    let stop = Instant::now() + Duration::from_millis(3500);
    let scrapers: Vec<_> = (0..20)
        .map(|_| {
            std::thread::spawn(move || {
                let mut n = 0u32;
                while Instant::now() < stop {
                    if let Some((200, _)) = common::get(port, "/metrics") {
                        n += 1;
                    }
                }
                n
            })
        })
        .collect();
    let scrapes: u32 = scrapers.into_iter().map(|t| t.join().unwrap_or(0)).sum();

    // Read right after a collection was published, so no collection is half done.
    let before = value(
        &exporter.metrics(),
        "slurm_exporter_collections_total",
        &[("collector", "jobs")],
    );
    let metrics = exporter.wait_for("next collection", Duration::from_secs(5), |m| {
        value(
            m,
            "slurm_exporter_collections_total",
            &[("collector", "jobs")],
        ) != before
    });
    let calls = fake.calls();
    let collections = value(
        &metrics,
        "slurm_exporter_collections_total",
        &[("collector", "jobs")],
    )
    .unwrap_or(0.0) as usize;
    assert!(collections >= 3, "only {collections} collections");
    for collector in ["nodes", "partitions", "jobs", "scheduler", "controller"] {
        assert_eq!(
            value(
                &metrics,
                "slurm_exporter_collector_up",
                &[("collector", collector)]
            ),
            Some(1.0),
            "{collector} down; logs:\n{}",
            exporter.logs()
        );
    }
    assert!(
        scrapes as usize > 20 * collections,
        "only {scrapes} scrapes"
    );
    let count = |prefix: &str| calls.iter().filter(|c| c.starts_with(prefix)).count();
    assert_eq!(
        count("squeue "),
        collections,
        "squeue calls vs collections; calls: {calls:?}"
    );
    assert_eq!(count("scontrol -d -o show node"), collections);
    assert_eq!(count("scontrol -o show partition"), collections);
    assert_eq!(count("scontrol ping"), collections);
    assert_eq!(count("sdiag"), collections);
}

/// Makes `squeue` misbehave after a good collection and checks every signal.
fn failing_squeue(mode: &str, reason: &str) {
    let fake = FakeSlurm::new();
    let exporter = fake.start_exporter(&[
        "--collection.interval=1s",
        "--collection.timeout=500ms",
        "--collection.ready-max-intervals=2",
    ]);
    let jobs_up = |m: &str| value(m, "slurm_exporter_collector_up", &[("collector", "jobs")]);
    // Every collector up (a fake command slower than the 500 ms timeout on a busy
    // machine fails its collection; the next one succeeds).
    let good = exporter.wait_for("first good collection", Duration::from_secs(10), |m| {
        jobs_up(m) == Some(1.0)
            && m.lines()
                .filter(|l| l.starts_with("slurm_exporter_collector_up{"))
                .all(|l| l.ends_with(" 1"))
    });
    let running = value(&good, "slurm_jobs", &[("state", "running")]);
    assert!(
        running.is_some_and(|v| v > 0.0),
        "no running jobs in fixture"
    );
    assert_eq!(exporter.get("/ready").0, 200);

    if mode == "missing" {
        fake.remove("squeue");
    } else {
        fake.set_mode("squeue", mode);
    }
    let labels = [("collector", "jobs"), ("reason", reason)];
    let failed = exporter.wait_for("jobs collector down", Duration::from_secs(10), |m| {
        jobs_up(m) == Some(0.0)
            && value(m, "slurm_exporter_collection_errors_total", &labels).unwrap_or(0.0) >= 1.0
    });
    // Last good data stays; the other collectors are unaffected.
    assert_eq!(
        value(&failed, "slurm_jobs", &[("state", "running")]),
        running
    );
    assert_eq!(
        value(
            &failed,
            "slurm_exporter_collector_up",
            &[("collector", "nodes")]
        ),
        Some(1.0)
    );
    for other in ["timeout", "connection", "auth", "parse", "command"] {
        if other != reason {
            assert_eq!(
                value(
                    &failed,
                    "slurm_exporter_collection_errors_total",
                    &[("collector", "jobs"), ("reason", other)]
                ),
                Some(0.0),
                "reason {other}"
            );
        }
    }
    // A scrape never waits for Slurm, even while squeue hangs.
    let started = Instant::now();
    exporter.metrics();
    assert!(started.elapsed() < Duration::from_secs(2));
    // After ready-max-intervals without fresh job data, /ready says why.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (code, body) = loop {
        let (code, body) = exporter.get("/ready");
        if code == 503 || Instant::now() > deadline {
            break (code, body);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("jobs"), "{body}");
    assert!(exporter.get("/health").0 == 200);

    // Let the same failure repeat, to check it is logged at warning level once.
    exporter.wait_for("a second failure", Duration::from_secs(10), |m| {
        value(m, "slurm_exporter_collection_errors_total", &labels).unwrap_or(0.0) >= 2.0
    });
    let logs = exporter.logs();
    let line = logs
        .lines()
        .find(|l| l.contains("query=jobs") && l.contains(&format!("reason={reason}")))
        .unwrap_or_else(|| panic!("no log line for the failure:\n{logs}"));
    assert!(line.contains("level=warn"), "{line}");
    let warnings = logs
        .lines()
        .filter(|l| l.contains("query=jobs") && l.contains("level=warn"))
        .count();
    assert_eq!(warnings, 1, "the same failure warned again:\n{logs}");

    // Recovery by itself once squeue behaves again.
    if mode == "missing" {
        let script = common::repo().join("tests/support/fake-slurm.sh");
        std::os::unix::fs::symlink(script, fake.bin_dir().join("squeue"))
            .unwrap_or_else(|e| panic!("{e}"));
    } else {
        fake.set_mode("squeue", "ok");
    }
    exporter.wait_for("recovery", Duration::from_secs(10), |m| {
        jobs_up(m) == Some(1.0)
    });
    assert_eq!(exporter.get("/ready").0, 200);
    let logs = exporter.logs();
    assert!(
        logs.lines()
            .any(|l| l.contains("query=jobs") && l.contains("succeeded again")),
        "no recovery line:\n{logs}"
    );
}

#[test]
fn squeue_exits_non_zero() {
    failing_squeue("fail", "command");
}

/// What 22.05 prints when slurmctld is unreachable: counted as `connection`.
#[test]
fn squeue_cannot_contact_the_controller() {
    failing_squeue("down", "connection");
}

#[test]
fn squeue_hangs_past_the_timeout() {
    failing_squeue("hang", "timeout");
}

#[test]
fn squeue_prints_garbage() {
    failing_squeue("garbage", "parse");
}

#[test]
fn squeue_is_missing() {
    failing_squeue("missing", "command");
}

#[test]
fn check_config_names_the_bad_key() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "collection:\n  interval: 30s\n  intervall: 1m\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_slurm-exporter"))
        .args(["check-config", &bad.display().to_string()])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("intervall"), "{err}");

    let good = dir.path().join("good.yaml");
    std::fs::write(&good, "slurm:\n  source: cli\ncollectors:\n  jobs: false\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_slurm-exporter"))
        .args(["check-config", &good.display().to_string()])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn slow_data_is_read_once_per_slow_interval_and_stays_fresh() {
    let fake = FakeSlurm::new();
    let exporter = fake.start_exporter(&[
        "--collection.interval=1s",
        "--collection.timeout=900ms",
        "--collection.slow-interval=1h",
    ]);
    let metrics = exporter.wait_for("four collections", Duration::from_secs(10), |m| {
        value(
            m,
            "slurm_exporter_collections_total",
            &[("collector", "jobs")],
        )
        .unwrap_or(0.0)
            >= 4.0
    });
    let calls = fake.calls();
    let count = |prefix: &str| calls.iter().filter(|c| c.starts_with(prefix)).count();
    assert_eq!(count("scontrol -o show license"), 1, "calls: {calls:?}");
    assert_eq!(count("scontrol -o show reservation"), 1, "calls: {calls:?}");
    assert!(count("sdiag") >= 4, "calls: {calls:?}");
    let licenses = [("collector", "licenses")];
    assert_eq!(
        value(&metrics, "slurm_exporter_collections_total", &licenses),
        Some(1.0)
    );
    // Reservations also read the nodes (fast): it runs every time, on the last reservations read.
    let reservations = [("collector", "reservations")];
    assert!(
        value(&metrics, "slurm_exporter_collections_total", &reservations).unwrap_or(0.0) >= 4.0
    );
    for labels in [licenses, reservations] {
        assert_eq!(
            value(&metrics, "slurm_exporter_collector_up", &labels),
            Some(1.0)
        );
    }
    assert!(metrics.contains("slurm_license_configured{"), "{metrics}");
    assert!(metrics.contains("slurm_reservation_"), "{metrics}");
    // Their data is as fresh as their interval allows: /ready holds them to 3 hours.
    let (code, body) = exporter.get("/ready");
    assert_eq!(code, 200, "{body}");
}

#[test]
fn slow_data_that_failed_is_read_again_at_the_next_fast_collection() {
    let fake = FakeSlurm::new();
    fake.set_mode("scontrol", "fail");
    let exporter = fake.start_exporter(&[
        "--collection.interval=1s",
        "--collection.timeout=900ms",
        "--collection.slow-interval=1h",
    ]);
    exporter.wait_for("a failed collection", Duration::from_secs(10), |m| {
        value(
            m,
            "slurm_exporter_collector_up",
            &[("collector", "licenses")],
        ) == Some(0.0)
    });
    fake.set_mode("scontrol", "ok");
    let metrics = exporter.wait_for("licenses back", Duration::from_secs(10), |m| {
        value(
            m,
            "slurm_exporter_collector_up",
            &[("collector", "licenses")],
        ) == Some(1.0)
    });
    assert!(metrics.contains("slurm_license_configured{"), "{metrics}");
}

//! End-to-end golden file: the real binary on recorded 22.05 command output (fake
//! commands), `/metrics` compared with `tests/golden/slurm-22.05-cli.prom`.
//! Series that depend on the clock or on this machine (ages, measured latencies,
//! self-metrics, process metrics) are left out. `UPDATE_GOLDEN=1` rewrites the file.

mod common;

use std::time::Duration;

use common::{value, FakeSlurm};

const VOLATILE: [&str; 5] = [
    "slurm_exporter_",
    "process_",
    "slurm_partition_oldest_pending_job_age_seconds",
    "slurm_controller_ping_seconds",
    "slurm_slurmdbd_probe_seconds",
];

fn stable_lines(metrics: &str) -> String {
    metrics
        .lines()
        .filter(|l| {
            let name = l
                .strip_prefix("# HELP ")
                .or_else(|| l.strip_prefix("# TYPE "))
                .unwrap_or(l);
            !VOLATILE.iter().any(|v| name.starts_with(v))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn cli_exposition_matches_golden() {
    let fake = FakeSlurm::new();
    let exporter = fake.start_exporter(&["--collection.interval=1s"]);
    let metrics = exporter.wait_for("all collectors", Duration::from_secs(10), |m| {
        [
            "nodes",
            "partitions",
            "jobs",
            "scheduler",
            "controller",
            "licenses",
            "reservations",
            "gpus",
            "accounts",
            "slurmdbd",
        ]
        .iter()
        .all(|c| value(m, "slurm_exporter_collector_up", &[("collector", c)]) == Some(1.0))
    });
    let got = stable_lines(&metrics);
    let path = common::repo().join("tests/golden/slurm-22.05-cli.prom");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &got).unwrap_or_else(|e| panic!("{e}"));
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if got != want {
        let want_lines: std::collections::BTreeSet<&str> = want.lines().collect();
        let got_lines: std::collections::BTreeSet<&str> = got.lines().collect();
        panic!(
            "/metrics differs from {} (UPDATE_GOLDEN=1 cargo test --test golden rewrites it)\n\
             only in output: {:#?}\nonly in golden: {:#?}",
            path.display(),
            got_lines.difference(&want_lines).collect::<Vec<_>>(),
            want_lines.difference(&got_lines).collect::<Vec<_>>()
        );
    }
}

/// The collectors that need slurmdbd, on the recorded accounting run, with
/// `tests/golden/slurm-22.05-cli-accounting.prom` (their families only).
#[test]
fn accounting_collectors_match_golden() {
    let collectors = [
        "fairshare",
        "qos",
        "associations",
        "fairshare_users",
        "associations_users",
    ];
    let mut args = vec!["--collection.interval=1s".to_string()];
    args.extend(collectors.iter().map(|c| format!("--collector.{c}")));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let fake = FakeSlurm::new();
    let exporter = fake.start_exporter(&args);
    let metrics = exporter.wait_for("the accounting collectors", Duration::from_secs(10), |m| {
        collectors
            .iter()
            .all(|c| value(m, "slurm_exporter_collector_up", &[("collector", c)]) == Some(1.0))
    });
    let ours = ["slurm_account_", "slurm_qos_", "slurm_user_"];
    let got: String = stable_lines(&metrics)
        .lines()
        .filter(|l| {
            let name = l
                .strip_prefix("# HELP ")
                .or_else(|| l.strip_prefix("# TYPE "))
                .unwrap_or(l);
            ours.iter().any(|p| name.starts_with(p))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let path = common::repo().join("tests/golden/slurm-22.05-cli-accounting.prom");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &got).unwrap_or_else(|e| panic!("{e}"));
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        got == want,
        "/metrics differs from {} (UPDATE_GOLDEN=1 cargo test --test golden rewrites it):\n{got}",
        path.display()
    );
}

#[test]
fn cluster_name_override_and_disabled_collector() {
    let fake = FakeSlurm::new();
    let exporter = fake.start_exporter(&[
        "--collection.interval=1s",
        "--slurm.cluster-name=prod",
        "--no-collector.jobs",
        // The accounts and derived collectors read the job list too.
        "--no-collector.accounts",
        "--no-collector.derived",
    ]);
    let m = exporter.wait_for("nodes up", Duration::from_secs(10), |m| {
        value(m, "slurm_exporter_collector_up", &[("collector", "nodes")]) == Some(1.0)
    });
    assert_eq!(
        value(&m, "slurm_nodes", &[("cluster", "prod"), ("state", "down")]),
        Some(2.0)
    );
    assert_eq!(value(&m, "slurm_nodes", &[("cluster", "lab")]), None);
    assert!(!m.contains("slurm_jobs{"), "jobs collector is disabled");
    assert_eq!(
        value(&m, "slurm_exporter_collector_up", &[("collector", "jobs")]),
        None
    );
    assert!(
        fake.calls().iter().all(|c| !c.starts_with("squeue")),
        "squeue ran though no collector reading jobs is enabled"
    );
}

#[test]
fn sigterm_during_a_hung_collection_exits_cleanly() {
    let fake = FakeSlurm::new();
    fake.set_mode("squeue", "hang");
    let mut exporter =
        fake.start_exporter(&["--collection.interval=30s", "--collection.timeout=25s"]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        fake.calls().iter().any(|c| c.starts_with("squeue")),
        "collection not started"
    );
    let pid = nix::unistd::Pid::from_raw(exporter.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)
        .unwrap_or_else(|e| panic!("{e}"));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Ok(Some(status)) = exporter.child.try_wait() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running 5 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "exit status {status}; logs:\n{}",
        exporter.logs()
    );
    assert!(exporter.logs().contains("shutting down"));
}

#[test]
fn series_over_the_limit_are_reported_and_logged_once() {
    let fake = FakeSlurm::new();
    let exporter =
        fake.start_exporter(&["--collection.interval=1s", "--collection.series-limit=100"]);
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
    assert_eq!(value(&m, "slurm_exporter_series_limit", &[]), Some(100.0));
    let series = value(&m, "slurm_exporter_snapshot_series", &[]).unwrap_or(0.0);
    assert!(series > 100.0, "{series}");
    let warnings = exporter
        .logs()
        .matches("exceeds collection.series_limit")
        .count();
    assert_eq!(
        warnings,
        1,
        "one warning per excursion:\n{}",
        exporter.logs()
    );
}

//! Configuration reload on the real binary (fake Slurm commands): a bad file keeps
//! the running configuration and says why; a good one switches collectors on and
//! off cleanly; SIGHUP and, when asked, polling the file both trigger it.

mod common;

use std::time::Duration;

use common::{value, Exporter, FakeSlurm};

fn sighup(exporter: &Exporter) {
    let pid = nix::unistd::Pid::from_raw(exporter.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap_or_else(|e| panic!("{e}"));
}

fn hash(m: &str) -> Option<String> {
    m.lines()
        .find(|l| l.starts_with("slurm_exporter_config_hash{"))
        .and_then(|l| l.split('"').nth(1))
        .map(str::to_string)
}

fn reload_ok(m: &str) -> Option<f64> {
    value(m, "slurm_exporter_config_last_reload_successful", &[])
}

#[test]
fn bad_then_good_reload_by_sighup() {
    let fake = FakeSlurm::new();
    let file = fake.dir.path().join("config.yaml");
    std::fs::write(
        &file,
        "collection:\n  interval: 1s\ncollectors:\n  jobs: false\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let exporter = fake.start_exporter(&[&format!("--config.file={}", file.display())]);
    let first = exporter.wait_for("nodes up", Duration::from_secs(10), |m| {
        value(m, "slurm_exporter_collector_up", &[("collector", "nodes")]) == Some(1.0)
    });
    assert_eq!(reload_ok(&first), Some(1.0));
    assert!(!first.contains("\nslurm_jobs{"));
    let h1 = hash(&first).unwrap_or_default();
    assert_eq!(h1.len(), 16, "{first}");

    // A bad file: the old configuration keeps running.
    std::fs::write(
        &file,
        "collection:\n  interval: 1s\ncollectors:\n  teleport: true\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    sighup(&exporter);
    let bad = exporter.wait_for("failed reload", Duration::from_secs(10), |m| {
        reload_ok(m) == Some(0.0)
    });
    assert_eq!(hash(&bad).as_deref(), Some(h1.as_str()));
    let collections = |m: &str| {
        value(
            m,
            "slurm_exporter_collections_total",
            &[("collector", "nodes")],
        )
        .unwrap_or(0.0)
    };
    let before = collections(&bad);
    exporter.wait_for("collections go on", Duration::from_secs(10), |m| {
        collections(m) > before + 1.0
    });
    let logs = exporter.logs();
    let line = logs
        .lines()
        .find(|l| l.contains("configuration reload failed"))
        .unwrap_or_else(|| panic!("no log line for the failed reload:\n{logs}"));
    assert!(line.contains("collectors.teleport"), "{line}");

    // A good file: jobs on, nodes off.
    std::fs::write(
        &file,
        "collection:\n  interval: 1s\ncollectors:\n  jobs: true\n  nodes: false\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    sighup(&exporter);
    let good = exporter.wait_for(
        "jobs collected after reload",
        Duration::from_secs(10),
        |m| {
            reload_ok(m) == Some(1.0)
                && value(m, "slurm_exporter_collector_up", &[("collector", "jobs")]) == Some(1.0)
        },
    );
    let h2 = hash(&good).unwrap_or_default();
    assert_ne!(h1, h2);
    assert!(value(&good, "slurm_jobs", &[("state", "running")]).is_some());
    assert_eq!(
        value(
            &good,
            "slurm_exporter_collector_up",
            &[("collector", "nodes")]
        ),
        None
    );
    assert!(
        !good.contains("\nslurm_node_cpus{"),
        "nodes series must go with the collector"
    );
    assert!(
        value(
            &good,
            "slurm_exporter_config_last_reload_success_timestamp_seconds",
            &[]
        )
        .unwrap_or(0.0)
            > 1e9
    );
    assert!(!exporter.logs().contains("panicked"));
}

#[test]
fn file_changes_are_picked_up_when_watching() {
    let fake = FakeSlurm::new();
    let file = fake.dir.path().join("config.yaml");
    std::fs::write(&file, "collection:\n  interval: 1s\n").unwrap_or_else(|e| panic!("{e}"));
    let exporter = fake.start_exporter(&[
        &format!("--config.file={}", file.display()),
        "--config.watch-interval=1s",
    ]);
    let first = exporter.wait_for("scheduler up", Duration::from_secs(10), |m| {
        value(
            m,
            "slurm_exporter_collector_up",
            &[("collector", "scheduler")],
        ) == Some(1.0)
    });
    let h1 = hash(&first);
    std::fs::write(
        &file,
        "collection:\n  interval: 1s\ncollectors:\n  scheduler: false\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let m = exporter.wait_for("scheduler switched off", Duration::from_secs(10), |m| {
        value(
            m,
            "slurm_exporter_collector_up",
            &[("collector", "scheduler")],
        )
        .is_none()
            // The hash is a per-request metric (cached for a moment): wait for it too.
            && hash(m) != h1
    });
    assert!(!m.contains("\nslurm_scheduler_threads{"));
    assert!(exporter.logs().contains("config file changed"));
}

#[test]
fn flags_keep_winning_after_a_reload() {
    let fake = FakeSlurm::new();
    let file = fake.dir.path().join("config.yaml");
    std::fs::write(&file, "collection:\n  interval: 1s\n").unwrap_or_else(|e| panic!("{e}"));
    let exporter = fake.start_exporter(&[
        &format!("--config.file={}", file.display()),
        "--no-collector.jobs",
    ]);
    exporter.wait_for("nodes up", Duration::from_secs(10), |m| {
        value(m, "slurm_exporter_collector_up", &[("collector", "nodes")]) == Some(1.0)
    });
    std::fs::write(
        &file,
        "collection:\n  interval: 1s\ncollectors:\n  jobs: true\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let before = exporter.metrics();
    sighup(&exporter);
    let m = exporter.wait_for("reload", Duration::from_secs(10), |m| {
        value(
            m,
            "slurm_exporter_config_last_reload_success_timestamp_seconds",
            &[],
        ) != value(
            &before,
            "slurm_exporter_config_last_reload_success_timestamp_seconds",
            &[],
        )
    });
    assert_eq!(
        value(&m, "slurm_exporter_collector_up", &[("collector", "jobs")]),
        None,
        "the flag said no"
    );
}

/// Caps (`caps.*`) are applied by a reload: the cap in force is exported, values beyond
/// it are folded into `other` and counted, a deny list folds without counting.
#[test]
fn caps_apply_on_reload() {
    let fake = FakeSlurm::new();
    let file = fake.dir.path().join("config.yaml");
    // The recorded sdiag has two users: root (229 RPCs) and labuser (2).
    std::fs::write(
        &file,
        "collection:\n  interval: 1s\ncollectors:\n  rpc_users: true\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let exporter = fake.start_exporter(&[&format!("--config.file={}", file.display())]);
    let rpcs = |m: &str, user: &str| value(m, "slurm_scheduler_user_rpcs_total", &[("user", user)]);
    let cap = |m: &str| value(m, "slurm_exporter_series_cap", &[("family", "rpc_user")]);
    let dropped = |m: &str| {
        value(
            m,
            "slurm_exporter_series_dropped_total",
            &[("family", "rpc_user")],
        )
    };
    let first = exporter.wait_for("rpc_users up", Duration::from_secs(10), |m| {
        rpcs(m, "labuser").is_some()
    });
    assert_eq!(cap(&first), Some(50.0));
    assert_eq!(dropped(&first), Some(0.0));
    assert_eq!(rpcs(&first, "root"), Some(229.0));
    assert_eq!(rpcs(&first, "other"), None);

    std::fs::write(
        &file,
        "collection:\n  interval: 1s\ncollectors:\n  rpc_users: true\ncaps:\n  rpc_user:\n    top: 1\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    sighup(&exporter);
    let capped = exporter.wait_for("cap of 1", Duration::from_secs(10), |m| {
        cap(m) == Some(1.0) && dropped(m).unwrap_or(0.0) >= 2.0
    });
    assert_eq!(rpcs(&capped, "root"), Some(229.0));
    assert_eq!(rpcs(&capped, "labuser"), None);
    assert_eq!(rpcs(&capped, "other"), Some(2.0));

    std::fs::write(
        &file,
        "collection:\n  interval: 1s\ncollectors:\n  rpc_users: true\ncaps:\n  default:\n    deny: [root]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    sighup(&exporter);
    let denied = exporter.wait_for("root denied", Duration::from_secs(10), |m| {
        cap(m) == Some(50.0) && rpcs(m, "root").is_none()
    });
    assert_eq!(rpcs(&denied, "labuser"), Some(2.0));
    assert_eq!(rpcs(&denied, "other"), Some(229.0));
    let before = dropped(&denied).unwrap_or(-1.0);
    let later = exporter.wait_for("two more collections", Duration::from_secs(10), |m| {
        value(
            m,
            "slurm_exporter_collections_total",
            &[("collector", "rpc_users")],
        )
        .unwrap_or(0.0)
            >= value(
                &denied,
                "slurm_exporter_collections_total",
                &[("collector", "rpc_users")],
            )
            .unwrap_or(0.0)
                + 2.0
    });
    assert_eq!(
        dropped(&later),
        Some(before),
        "denied values are not counted"
    );

    // Switching the collector off removes its family from the cap metrics.
    std::fs::write(&file, "collection:\n  interval: 1s\n").unwrap_or_else(|e| panic!("{e}"));
    sighup(&exporter);
    let off = exporter.wait_for("rpc_users off", Duration::from_secs(10), |m| {
        value(
            m,
            "slurm_exporter_collector_up",
            &[("collector", "rpc_users")],
        )
        .is_none()
    });
    assert_eq!(cap(&off), None);
    assert_eq!(dropped(&off), None);
}

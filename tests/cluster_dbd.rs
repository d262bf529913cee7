//! slurmdbd reachability (`slurm_slurmdbd_up`) on the real local cluster with
//! accounting: up on both sources; absent (not a false 0) for a cluster without
//! accounting; and, with `SLURM_EXPORTER_FAULT_TESTS=1`, 0 while slurmdbd is
//! stopped and 1 again once it is back (`scripts/slurm-dev-cluster.sh stop slurmdbd`,
//! then `up`, which restarts what is missing). Ignored by default (a plain clone has
//! no lab); run with `--include-ignored`, a missing lab is a failure.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::lab::{run, slurm_conf};
use common::{value, Exporter};

/// The fault test stops slurmdbd: the other tests of this file wait for it.
static LAB: Mutex<()> = Mutex::new(());

/// The lab's slurm.conf; panics unless the lab runs slurmdbd (`up --accounting`).
fn accounting_conf() -> String {
    let conf = slurm_conf();
    let text = std::fs::read_to_string(&conf).unwrap_or_default();
    assert!(
        text.contains("AccountingStorageType=accounting_storage/slurmdbd"),
        "this test needs the lab with accounting and {conf} names no slurmdbd: \
         scripts/slurm-dev-cluster.sh up --accounting"
    );
    conf
}

fn lab_script(conf: &str, args: &[&str]) -> String {
    let lab = Path::new(conf)
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let out = Command::new("bash")
        .arg(common::repo().join("scripts/slurm-dev-cluster.sh"))
        .args(args)
        .env("SLURM_LAB_DIR", lab)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn start(conf: &str, source: &str, dir: &Path) -> Exporter {
    let url =
        std::env::var("SLURM_LAB_REST_URL").unwrap_or_else(|_| "http://127.0.0.1:6820".into());
    let mut args = vec!["--collection.interval=1s".to_string()];
    if source == "rest" {
        args.push("--slurm.source=rest".into());
        args.push(format!("--slurm.rest-url={url}"));
        args.push("--slurm.jwt-mint-lifespan=10m".into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Exporter::start(
        &args,
        &[("SLURM_CONF", conf)],
        dir.join(format!("exporter-{source}.log")),
    )
}

fn dbd_up(m: &str) -> Option<f64> {
    value(m, "slurm_slurmdbd_up", &[("cluster", "lab")])
}

/// slurmdbd answers `sacctmgr`: the exporter says 1 on both sources, with a latency.
#[test]
#[ignore = "needs the local Slurm lab with accounting: scripts/slurm-dev-cluster.sh up --accounting"]
fn slurmdbd_up_on_both_sources() {
    let _serial = LAB.lock().unwrap_or_else(|e| e.into_inner());
    let conf = accounting_conf();
    let clusters = run(
        &conf,
        "sacctmgr",
        &["-n", "-P", "show", "cluster", "format=cluster"],
    );
    assert!(clusters.lines().any(|l| l.trim() == "lab"), "{clusters}");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for source in ["cli", "rest"] {
        let exporter = start(&conf, source, dir.path());
        let m = exporter.wait_for("slurmdbd probed", Duration::from_secs(20), |m| {
            dbd_up(m).is_some()
        });
        assert_eq!(dbd_up(&m), Some(1.0), "{source}");
        let latency = value(&m, "slurm_slurmdbd_probe_seconds", &[]).unwrap_or(-1.0);
        assert!((0.0..10.0).contains(&latency), "{source}: {latency}");
    }
}

/// A cluster without accounting: no series (not a false 0), the collector up, one
/// log line. The same lab read with a slurm.conf that names no accounting storage
/// (sacctmgr reads the local slurm.conf).
#[test]
#[ignore = "needs the local Slurm lab: scripts/slurm-dev-cluster.sh up"]
fn no_accounting_reports_nothing() {
    let _serial = LAB.lock().unwrap_or_else(|e| e.into_inner());
    let conf = slurm_conf();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let etc = dir.path().join("etc");
    std::fs::create_dir(&etc).unwrap_or_else(|e| panic!("{e}"));
    let conf_dir = Path::new(&conf).parent().unwrap_or(Path::new("/"));
    for entry in std::fs::read_dir(conf_dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        if entry.path().is_file() {
            let _ = std::fs::copy(entry.path(), etc.join(entry.file_name()));
        }
    }
    let text = std::fs::read_to_string(&conf).unwrap_or_default();
    let without: String = text
        .lines()
        .filter(|l| !l.starts_with("AccountingStorage"))
        .map(|l| format!("{l}\n"))
        .collect();
    let copy = etc.join("slurm.conf");
    std::fs::write(&copy, without).unwrap_or_else(|e| panic!("{e}"));
    let copy = copy.display().to_string();
    let exporter = Exporter::start(
        &["--collection.interval=1s"],
        &[("SLURM_CONF", &copy)],
        dir.path().join("exporter.log"),
    );
    let m = exporter.wait_for("slurmdbd collector up", Duration::from_secs(20), |m| {
        value(
            m,
            "slurm_exporter_collector_up",
            &[("collector", "slurmdbd")],
        ) == Some(1.0)
            && value(
                m,
                "slurm_exporter_collections_total",
                &[("collector", "slurmdbd")],
            )
            .unwrap_or(0.0)
                >= 2.0
    });
    assert_eq!(dbd_up(&m), None, "no false 0");
    let logs = exporter.logs();
    assert_eq!(
        logs.matches("keeps no accounting in slurmdbd").count(),
        1,
        "one log line: {logs}"
    );
}

/// slurmdbd stopped: 0 on both sources while it is down, 1 again after `up`.
#[test]
#[ignore = "stops slurmdbd: needs the local Slurm lab with accounting and SLURM_EXPORTER_FAULT_TESTS=1"]
fn slurmdbd_stopped_then_started() {
    let _serial = LAB.lock().unwrap_or_else(|e| e.into_inner());
    let conf = accounting_conf();
    common::lab::allow_faults(&conf);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cli = start(&conf, "cli", dir.path());
    let rest = start(&conf, "rest", dir.path());
    for e in [&cli, &rest] {
        e.wait_for("slurmdbd up", Duration::from_secs(20), |m| {
            dbd_up(m) == Some(1.0)
        });
    }
    lab_script(&conf, &["stop", "slurmdbd"]);
    let stopped = Instant::now();
    let restart = || lab_script(&conf, &["up"]);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for e in [&cli, &rest] {
            let m = e.wait_for("slurmdbd down", Duration::from_secs(40), |m| {
                dbd_up(m) == Some(0.0)
            });
            assert_eq!(value(&m, "slurm_slurmdbd_probe_seconds", &[]), None);
            assert_eq!(
                value(
                    &m,
                    "slurm_exporter_collector_up",
                    &[("collector", "slurmdbd")]
                ),
                Some(1.0),
                "a down slurmdbd is data, not a failed collection"
            );
        }
        eprintln!("slurmdbd down seen after {:?}", stopped.elapsed());
    }));
    restart();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
    let started = Instant::now();
    for e in [&cli, &rest] {
        e.wait_for("slurmdbd back", Duration::from_secs(60), |m| {
            dbd_up(m) == Some(1.0)
        });
    }
    eprintln!("slurmdbd up again seen after {:?}", started.elapsed());
}

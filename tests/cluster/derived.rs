//! The derived collector against the lab: a job submitted and cancelled while the
//! exporter watches is counted as finished (cancelled) and not as started, and the
//! CPUs the workload holds accumulate as CPU-seconds.

use std::time::Duration;

use super::common::{value, Exporter};
use super::{run, slurm_conf};

#[test]
#[ignore = "needs the local Slurm lab: scripts/slurm-dev-cluster.sh up"]
fn jobs_finished_and_cpu_seconds_from_successive_snapshots() {
    let conf = slurm_conf();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let exporter = Exporter::start(
        &["--collection.interval=1s"],
        &[("SLURM_CONF", &conf)],
        dir.path().join("exporter.log"),
    );
    let collections = |m: &str| {
        value(
            m,
            "slurm_exporter_collections_total",
            &[("collector", "derived")],
        )
        .unwrap_or(0.0)
    };
    let m = exporter.wait_for("a baseline and one more", Duration::from_secs(15), |m| {
        collections(m) >= 2.0
    });
    let cancelled = |m: &str| {
        value(
            m,
            "slurm_partition_jobs_finished_total",
            &[("partition", "debug"), ("state", "cancelled")],
        )
        .unwrap_or(0.0)
    };
    let started = |m: &str| {
        value(
            m,
            "slurm_partition_jobs_started_total",
            &[("partition", "debug")],
        )
        .unwrap_or(0.0)
    };
    let (cancelled_before, started_before) = (cancelled(&m), started(&m));

    // Held: it cannot start. Seen pending, then cancelled.
    let lab_work = std::path::Path::new(&conf)
        .parent()
        .and_then(std::path::Path::parent)
        .map(|lab| lab.join("work"))
        .unwrap_or_default();
    let id = run(
        &conf,
        "sbatch",
        &[
            "--parsable",
            "-p",
            "debug",
            "--hold",
            "-J",
            "derived-test",
            "-o",
            "/dev/null",
            &format!("--chdir={}", lab_work.display()),
            "--wrap",
            "sleep 600",
        ],
    );
    let id = id.trim().split(';').next().unwrap_or_default().to_string();
    let seen = collections(&exporter.metrics());
    exporter.wait_for("the pending job seen", Duration::from_secs(15), |m| {
        collections(m) >= seen + 2.0
    });
    run(&conf, "scancel", &[&id]);
    let m = exporter.wait_for("the cancelled job counted", Duration::from_secs(15), |m| {
        cancelled(m) >= cancelled_before + 1.0
    });
    assert_eq!(
        started(&m),
        started_before,
        "a job cancelled while pending did not start"
    );

    // n1 runs the workload's jobs: the debug partition holds CPUs, so its CPU-seconds grow.
    let cpu = |m: &str| {
        value(
            m,
            "slurm_partition_allocated_cpu_seconds_total",
            &[("partition", "debug")],
        )
        .unwrap_or(0.0)
    };
    let allocated = value(
        &m,
        "slurm_partition_cpus",
        &[("partition", "debug"), ("state", "allocated")],
    )
    .unwrap_or(0.0);
    if allocated > 0.0 {
        let first = cpu(&m);
        exporter.wait_for("CPU-seconds growing", Duration::from_secs(15), |m| {
            cpu(m) > first
        });
    }
}

//! Every Slurm version the synthetic generator writes (22.05 = v0.0.38 to 25.11 =
//! v0.0.44) read by the real exporter: a small cluster (20 nodes, 200 jobs) per version,
//! served by the fake slurmrestd (`--slurm.source=rest`) and by the fake commands
//! (`--slurm.cli-json=jobs,nodes`), and the totals in `/metrics` checked against what
//! the generator says it generated: nodes by state, jobs by state, CPUs.
//!
//! The exporter runs until it has collected twice, so the REST source's second job
//! read asks `update_time` and gets slurmrestd's "nothing changed" answer (304 in
//! v0.0.38, an empty list with a warning in v0.0.39+), which must keep the jobs.

mod common;

#[path = "../examples/synth/gen.rs"]
mod gen;

#[path = "../examples/fake_slurmrestd/server.rs"]
mod server;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use common::{value, Exporter, FakeSlurm};

const NODES: usize = 20;
const JOBS: usize = 200;

/// The `slurm_nodes` state each generated node state is counted under.
const NODE_STATUS: [(&str, &str); 10] = [
    ("MIXED", "mixed"),
    ("ALLOCATED", "allocated"),
    ("IDLE", "idle"),
    ("IDLE+DRAIN", "drained"),
    ("MIXED+DRAIN", "draining"),
    ("DOWN+NOT_RESPONDING", "down"),
    ("IDLE+POWERED_DOWN", "powered_down"),
    ("ALLOCATED+COMPLETING", "completing"),
    ("IDLE+MAINTENANCE+RESERVED", "maint"),
    ("IDLE+PLANNED", "planned"),
];

/// A JWT the exporter accepts (header.payload.signature, `exp` in 2100).
const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDAsInN1biI6InJvb3QifQ.c2ln";

fn generate(version: gen::Version, dir: &Path) -> gen::Cluster {
    // Seed 3 gives 20 nodes in most states and pending arrays among 200 jobs.
    let cluster = gen::Cluster::generate(&gen::Scale::new(NODES, JOBS, 3).with_version(version));
    for file in gen::files(version) {
        let path = dir.join(file.name);
        let mut w = std::io::BufWriter::new(
            std::fs::File::create(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        );
        (file.write)(&cluster, &mut w)
            .and_then(|()| w.flush())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    cluster
}

/// Runs the fake slurmrestd on its own thread for the rest of the test process.
fn start_rest(dir: &Path) -> u16 {
    server::spawn(dir)
}

fn collections(m: &str) -> f64 {
    value(
        m,
        "slurm_exporter_collections_total",
        &[("collector", "jobs")],
    )
    .unwrap_or(0.0)
}

/// Waits for two collections and checks the totals against the generator's.
fn check(exporter: &Exporter, cluster: &gen::Cluster, what: &str) {
    // On a busy machine one collection may time out; the next one is checked.
    let all_up = |m: &str| {
        ["nodes", "jobs", "partitions"]
            .iter()
            .all(|c| value(m, "slurm_exporter_collector_up", &[("collector", c)]) == Some(1.0))
    };
    let m = exporter.wait_for("two collections, all up", Duration::from_secs(40), |m| {
        collections(m) >= 2.0 && all_up(m)
    });
    for collector in ["nodes", "jobs", "partitions"] {
        assert_eq!(
            value(
                &m,
                "slurm_exporter_collector_up",
                &[("collector", collector)]
            ),
            Some(1.0),
            "{what}: collector {collector} is down; logs:\n{}",
            exporter.logs()
        );
    }
    let totals = cluster.totals();
    for (generated, status) in NODE_STATUS {
        let expected = totals.nodes_by_state.get(generated).copied().unwrap_or(0);
        assert_eq!(
            value(&m, "slurm_nodes", &[("state", status)]),
            Some(expected as f64),
            "{what}: nodes {status} (generated {generated})"
        );
    }
    assert_eq!(
        totals.nodes_by_state.values().sum::<u64>(),
        NODES as u64,
        "the table above covers every generated node state"
    );
    for (state, count) in &totals.jobs_by_state {
        assert_eq!(
            value(&m, "slurm_jobs", &[("state", state)]),
            Some(*count as f64),
            "{what}: jobs {state}"
        );
    }
    assert_eq!(
        totals.jobs_by_state.values().sum::<u64>(),
        JOBS as u64,
        "array tasks are counted one by one"
    );
    let cpus = |state| value(&m, "slurm_cpus", &[("state", state)]).unwrap_or(-1.0);
    assert_eq!(
        cpus("allocated"),
        totals.cpus_allocated as f64,
        "{what}: allocated CPUs"
    );
    assert_eq!(
        cpus("allocated") + cpus("idle") + cpus("other"),
        totals.cpus_total as f64,
        "{what}: CPUs"
    );
}

fn run(version: gen::Version) {
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cluster = generate(version, data.path());
    assert!(
        cluster.jobs.iter().any(|j| j.array_task_string.is_some()),
        "the cluster has a pending array (one JSON record, many tasks)"
    );

    let port = start_rest(data.path());
    let rest = Exporter::start(
        &[
            "--slurm.source=rest",
            &format!("--slurm.rest-url=http://127.0.0.1:{port}"),
            "--collection.interval=2s",
            "--collection.timeout=2s",
        ],
        &[("SLURM_JWT", JWT)],
        data.path().join("exporter-rest.log"),
    );
    check(&rest, &cluster, &format!("{} REST", version.name()));
    let (_, stats) = common::get(port, "/fake/stats").unwrap_or_else(|| panic!("/fake/stats"));
    let api = version.api();
    assert!(
        stats.contains(&format!("/slurm/{api}/jobs?update_time")),
        "the second job read asked update_time: {stats}"
    );
    drop(rest);

    let fake = FakeSlurm::new();
    let fixtures = data.path().display().to_string();
    let bin = format!("--slurm.bin-dir={}", fake.bin_dir().display());
    std::os::unix::fs::symlink(
        common::repo().join("tests/support/fake-slurm.sh"),
        fake.bin_dir().join("sinfo"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let state = fake.bin_dir().display().to_string();
    let cli = Exporter::start(
        &[
            &bin,
            "--slurm.cli-json=jobs,nodes",
            "--collection.interval=2s",
            "--collection.timeout=2s",
        ],
        &[
            ("FAKE_SLURM_STATE", &state),
            ("FAKE_SLURM_FIXTURES", &fixtures),
        ],
        data.path().join("exporter-cli.log"),
    );
    check(&cli, &cluster, &format!("{} CLI JSON", version.name()));
}

#[test]
fn slurm_22_05() {
    run(gen::Version::V22_05);
}

#[test]
fn slurm_23_02() {
    run(gen::Version::V23_02);
}

#[test]
fn slurm_23_11() {
    run(gen::Version::V23_11);
}

#[test]
fn slurm_24_05() {
    run(gen::Version::V24_05);
}

#[test]
fn slurm_24_11() {
    run(gen::Version::V24_11);
}

#[test]
fn slurm_25_05() {
    run(gen::Version::V25_05);
}

#[test]
fn slurm_25_11() {
    run(gen::Version::V25_11);
}

use std::sync::Arc;

use super::*;
use crate::collectors::testutil::value;
use crate::model::{Job, Jobs, NodeState, Nodes};

fn ctx(now: i64) -> Context {
    Context::new("lab", now)
}

fn node(name: &str, state: &str, reason: Option<&str>, since: Option<i64>, cpus: u64) -> Node {
    Node {
        name: name.into(),
        partitions: vec!["batch".into()],
        state: NodeState::from_compound(state),
        cpus_allocated: Some(cpus),
        reason: reason.map(str::to_string),
        reason_changed_at: since,
        ..Default::default()
    }
}

fn job(id: u64, state: JobState) -> Job {
    Job {
        id,
        state,
        partition: Arc::from("batch"),
        reason: Arc::from("None"),
        cpus: Some(1),
        nodes: Some(1),
        submit_time: None,
        start_time: None,
        task_count: 1,
        user: None,
        account: None,
        memory_bytes: None,
        gpus: None,
    }
}

fn data(nodes: Vec<Node>, jobs: Vec<Job>) -> SlurmData {
    SlurmData {
        nodes: Some(Arc::new(Nodes { nodes })),
        jobs: Some(Arc::new(Jobs { jobs })),
        ..Default::default()
    }
}

fn step(state: &mut Derived, now: i64, d: SlurmData) -> Vec<Family> {
    state.update(&d, &ctx(now));
    state.families(&ctx(now))
}

#[test]
fn the_first_collection_is_only_a_baseline() {
    let mut s = Derived::default();
    let f = step(
        &mut s,
        1000,
        data(
            vec![node("n1", "DOWN", Some("dead"), Some(10), 0)],
            vec![job(1, JobState::Completed), job(2, JobState::Running)],
        ),
    );
    // Nothing counted; the counters are declared at zero from the start.
    let zero = |name, labels: &[(&str, &str)]| value(&f, name, labels) == Some(0.0);
    assert!(zero("slurm_node_failures_total", &[("reason", "other")]));
    assert_eq!(
        value(&f, "slurm_node_failures_total", &[("reason", "dead")]),
        None
    );
    assert!(zero(
        "slurm_partition_jobs_started_total",
        &[("partition", "batch")]
    ));
    for state in [
        "completed",
        "failed",
        "cancelled",
        "timeout",
        "out_of_memory",
    ] {
        assert!(zero(
            "slurm_partition_jobs_finished_total",
            &[("partition", "batch"), ("state", state)]
        ));
    }
    assert_eq!(
        value(
            &f,
            "slurm_partition_allocated_cpu_seconds_total",
            &[("partition", "batch")]
        ),
        Some(0.0)
    );
}

#[test]
fn a_drain_counts_a_failure_and_its_duration_when_it_ends() {
    let mut s = Derived::default();
    step(
        &mut s,
        1000,
        data(vec![node("n1", "IDLE", None, None, 0)], vec![]),
    );
    let f = step(
        &mut s,
        1030,
        data(
            vec![node(
                "n1",
                "IDLE+DRAIN",
                Some("disk failure"),
                Some(1020),
                0,
            )],
            vec![],
        ),
    );
    assert_eq!(
        value(
            &f,
            "slurm_node_failures_total",
            &[("reason", "disk failure")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&f, "slurm_node_drain_duration_seconds_count", &[]),
        Some(0.0)
    );
    // Still drained: no new failure. Then back: 2,000 s since Slurm's reason time.
    step(
        &mut s,
        1060,
        data(
            vec![node(
                "n1",
                "IDLE+DRAIN",
                Some("disk failure"),
                Some(1020),
                0,
            )],
            vec![],
        ),
    );
    let f = step(
        &mut s,
        3020,
        data(vec![node("n1", "IDLE", None, None, 0)], vec![]),
    );
    assert_eq!(
        value(
            &f,
            "slurm_node_failures_total",
            &[("reason", "disk failure")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&f, "slurm_node_drain_duration_seconds_count", &[]),
        Some(1.0)
    );
    assert_eq!(
        value(&f, "slurm_node_drain_duration_seconds_sum", &[]),
        Some(2000.0)
    );
    assert_eq!(
        value(
            &f,
            "slurm_node_drain_duration_seconds_bucket",
            &[("le", "3600")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &f,
            "slurm_node_drain_duration_seconds_bucket",
            &[("le", "900")]
        ),
        Some(0.0)
    );
    assert_eq!(
        value(&f, "slurm_node_down_duration_seconds_count", &[]),
        Some(0.0)
    );
}

#[test]
fn allocated_cpus_integrate_over_time() {
    let mut s = Derived::default();
    step(
        &mut s,
        1000,
        data(vec![node("n1", "MIXED", None, None, 4)], vec![]),
    );
    step(
        &mut s,
        1030,
        data(vec![node("n1", "MIXED", None, None, 2)], vec![]),
    );
    let f = step(
        &mut s,
        1060,
        data(vec![node("n1", "IDLE", None, None, 0)], vec![]),
    );
    assert_eq!(
        value(
            &f,
            "slurm_partition_allocated_cpu_seconds_total",
            &[("partition", "batch")]
        ),
        Some(4.0 * 30.0 + 2.0 * 30.0)
    );
    assert_eq!(
        value(
            &f,
            "slurm_partition_allocated_gpu_seconds_total",
            &[("partition", "batch")]
        ),
        Some(0.0)
    );
}

#[test]
fn jobs_start_and_finish_once() {
    let mut s = Derived::default();
    step(&mut s, 1000, data(vec![], vec![job(1, JobState::Pending)]));
    let f = step(
        &mut s,
        1030,
        data(
            vec![],
            vec![job(1, JobState::Running), job(2, JobState::Failed)],
        ),
    );
    // Job 2 started and ended between two collections.
    assert_eq!(
        value(
            &f,
            "slurm_partition_jobs_started_total",
            &[("partition", "batch")]
        ),
        Some(2.0)
    );
    let f = step(
        &mut s,
        1060,
        data(
            vec![],
            vec![job(1, JobState::Completed), job(2, JobState::Failed)],
        ),
    );
    let finished = |f: &[Family], state| {
        value(
            f,
            "slurm_partition_jobs_finished_total",
            &[("partition", "batch"), ("state", state)],
        )
    };
    assert_eq!(finished(&f, "completed"), Some(1.0));
    assert_eq!(finished(&f, "failed"), Some(1.0));
    let f = step(
        &mut s,
        1090,
        data(
            vec![],
            vec![
                job(1, JobState::Completed),
                job(3, JobState::Pending),
                job(4, JobState::Cancelled),
            ],
        ),
    );
    // A job first seen cancelled may never have run: finished, not started.
    assert_eq!(finished(&f, "cancelled"), Some(1.0));
    assert_eq!(finished(&f, "completed"), Some(1.0));
    assert_eq!(
        value(
            &f,
            "slurm_partition_jobs_started_total",
            &[("partition", "batch")]
        ),
        Some(2.0)
    );
    // Cancelled while pending: finished, never started.
    let f = step(
        &mut s,
        1120,
        data(vec![], vec![job(3, JobState::Cancelled)]),
    );
    assert_eq!(finished(&f, "cancelled"), Some(2.0));
    assert_eq!(
        value(
            &f,
            "slurm_partition_jobs_started_total",
            &[("partition", "batch")]
        ),
        Some(2.0)
    );
}

#[test]
fn reasons_beyond_the_cap_count_as_other() {
    let mut s = Derived::default();
    let n = MAX_REASONS + 5;
    let serving: Vec<Node> = (0..n)
        .map(|i| node(&format!("n{i}"), "IDLE", None, None, 0))
        .collect();
    step(&mut s, 1000, data(serving, vec![]));
    let down: Vec<Node> = (0..n)
        .map(|i| {
            node(
                &format!("n{i}"),
                "DOWN",
                Some(&format!("reason {i}")),
                None,
                0,
            )
        })
        .collect();
    let f = step(&mut s, 1030, data(down, vec![]));
    let failures = f
        .iter()
        .find(|f| f.name == "slurm_node_failures")
        .map(|f| f.samples.len());
    assert_eq!(failures, Some(MAX_REASONS + 1), "20 reasons and other");
    assert_eq!(
        value(&f, "slurm_node_failures_total", &[("reason", "other")]),
        Some(5.0)
    );
}

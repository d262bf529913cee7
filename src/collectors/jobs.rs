//! Jobs: counts, CPUs and nodes by state and partition; pending reasons; queue age.
//! A pending array counts as one job per task, as `squeue -r` shows it. A pending job
//! queued in several partitions counts once cluster-wide and once in each partition.

use std::collections::BTreeMap;

use super::{Collect, CollectorDef, Context};
use crate::exposition::Family;
use crate::model::job::{reason_label, PENDING_REASONS};
use crate::model::{DataKind, JobState, SlurmData};

pub const DEF: CollectorDef = CollectorDef {
    name: "jobs",
    description: "jobs, CPUs and nodes by state and partition; pending jobs by reason; oldest pending job per partition",
    enabled_by_default: true,
    needs: &[DataKind::Jobs],
    collect: Collect::Pure(collect),
};

const STATES: usize = JobState::ALL.len();

#[derive(Default, Clone)]
struct PerPartition {
    jobs: [u64; STATES],
    cpus: [u64; STATES],
    nodes: [u64; STATES],
    oldest_pending_submit: Option<i64>,
    /// Smallest and largest node count asked by a pending job that is not held:
    /// what an autoscaler must be able to add for the next job to start.
    pending_nodes_min: Option<u64>,
    pending_nodes_max: Option<u64>,
}

/// Held jobs wait for a person, not for nodes: they are no reason to grow.
fn is_held(reason: &str) -> bool {
    matches!(reason, "JobHeldUser" | "JobHeldAdmin")
}

fn collect(data: &SlurmData, ctx: &Context) -> Vec<Family> {
    let Some(jobs) = data.jobs.as_deref() else {
        return Vec::new();
    };
    let mut cluster_jobs = [0u64; STATES];
    let mut reasons = [0u64; PENDING_REASONS.len() + 1];
    let mut partitions: BTreeMap<&str, PerPartition> = BTreeMap::new();
    if let Some(known) = data.partitions.as_deref() {
        for p in &known.partitions {
            partitions.entry(p.name.as_str()).or_default();
        }
    }
    for job in &jobs.jobs {
        let Some(si) = JobState::ALL.iter().position(|s| *s == job.state) else {
            continue;
        };
        let n = job.task_count;
        cluster_jobs[si] = cluster_jobs[si].saturating_add(n);
        if job.state == JobState::Pending {
            let label = reason_label(&job.reason);
            let ri = PENDING_REASONS
                .iter()
                .position(|r| *r == label)
                .unwrap_or(PENDING_REASONS.len());
            reasons[ri] = reasons[ri].saturating_add(n);
        }
        for partition in job.partitions() {
            let p = partitions.entry(partition).or_default();
            p.jobs[si] = p.jobs[si].saturating_add(n);
            p.cpus[si] = p.cpus[si].saturating_add(job.cpus.unwrap_or(0).saturating_mul(n));
            p.nodes[si] = p.nodes[si].saturating_add(job.nodes.unwrap_or(0).saturating_mul(n));
            if job.state == JobState::Pending {
                if let Some(submit) = job.submit_time {
                    p.oldest_pending_submit =
                        Some(p.oldest_pending_submit.map_or(submit, |o| o.min(submit)));
                }
                if let (Some(nodes), false) = (job.nodes, is_held(&job.reason)) {
                    p.pending_nodes_min = Some(p.pending_nodes_min.map_or(nodes, |m| m.min(nodes)));
                    p.pending_nodes_max = Some(p.pending_nodes_max.map_or(nodes, |m| m.max(nodes)));
                }
            }
        }
    }

    let mut by_state = Family::gauge(
        "slurm_jobs",
        "Jobs by state (array tasks counted one by one)",
    );
    for (s, count) in JobState::ALL.iter().zip(cluster_jobs) {
        by_state.push(ctx.labels(&[("state", s.as_str())]), count as f64);
    }
    let mut by_reason = Family::gauge(
        "slurm_jobs_pending_by_reason",
        "Pending jobs by reason (a bounded set of Slurm reasons; the rest is `other`)",
    );
    for (i, count) in reasons.iter().enumerate() {
        let reason = PENDING_REASONS.get(i).copied().unwrap_or("other");
        by_reason.push(ctx.labels(&[("reason", reason)]), *count as f64);
    }
    let mut p_jobs = Family::gauge("slurm_partition_jobs", "Jobs by partition and state");
    let mut p_cpus = Family::gauge(
        "slurm_partition_jobs_cpus",
        "CPUs of jobs by partition and state (allocated when running, requested when pending)",
    );
    let mut p_nodes = Family::gauge(
        "slurm_partition_jobs_nodes",
        "Nodes of jobs by partition and state (allocated when running, requested when pending)",
    );
    let mut p_oldest = Family::gauge(
        "slurm_partition_oldest_pending_job_age_seconds",
        "Time since submission of the oldest pending job in the partition (0 when none is pending)",
    );
    let mut p_min = Family::gauge(
        "slurm_partition_pending_job_nodes_min",
        "Autoscaling hint: fewest nodes asked by a pending, not held job of the partition (0 when none)",
    );
    let mut p_max = Family::gauge(
        "slurm_partition_pending_job_nodes_max",
        "Autoscaling hint: most nodes asked by a pending, not held job of the partition (0 when none)",
    );
    for (name, p) in &partitions {
        let labels = ctx.labels(&[("partition", name)]);
        p_min.push(labels.clone(), p.pending_nodes_min.unwrap_or(0) as f64);
        p_max.push(labels, p.pending_nodes_max.unwrap_or(0) as f64);
        for (i, s) in JobState::ALL.iter().enumerate() {
            let labels = ctx.labels(&[("partition", name), ("state", s.as_str())]);
            p_jobs.push(labels.clone(), p.jobs[i] as f64);
            p_cpus.push(labels.clone(), p.cpus[i] as f64);
            p_nodes.push(labels, p.nodes[i] as f64);
        }
        let age = p
            .oldest_pending_submit
            .map_or(0, |submit| (ctx.now - submit).max(0));
        p_oldest.push(ctx.labels(&[("partition", name)]), age as f64);
    }
    vec![
        by_state, by_reason, p_jobs, p_cpus, p_nodes, p_oldest, p_min, p_max,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::testutil::{ctx, value};
    use crate::model::{Job, Jobs};
    use std::sync::Arc;

    fn job(
        state: JobState,
        partition: &str,
        reason: &str,
        cpus: u64,
        tasks: u64,
        submit: i64,
    ) -> Job {
        Job {
            id: submit.unsigned_abs() ^ cpus,
            state,
            partition: partition.into(),
            reason: reason.into(),
            cpus: Some(cpus),
            nodes: Some(1),
            submit_time: Some(submit),
            start_time: None,
            task_count: tasks,
            user: None,
            account: None,
            memory_bytes: None,
            gpus: None,
        }
    }

    #[test]
    fn arrays_reasons_and_multi_partition_jobs() {
        let now = ctx().now;
        let data = SlurmData {
            jobs: Some(Arc::new(Jobs {
                jobs: vec![
                    job(JobState::Running, "debug", "None", 4, 1, now - 50),
                    job(
                        JobState::Pending,
                        "debug",
                        "JobArrayTaskLimit",
                        2,
                        18,
                        now - 100,
                    ),
                    job(
                        JobState::Pending,
                        "debug,batch",
                        "Resources",
                        8,
                        1,
                        now - 300,
                    ),
                    job(
                        JobState::Pending,
                        "batch",
                        "ReqNodeNotAvail, UnavailableNodes:n1",
                        1,
                        1,
                        now - 10,
                    ),
                    job(JobState::Pending, "batch", "BrandNewReason", 1, 1, now - 10),
                ],
            })),
            ..Default::default()
        };
        let f = collect(&data, &ctx());
        let v = |name, labels: &[(&str, &str)]| value(&f, name, labels);
        assert_eq!(v("slurm_jobs", &[("state", "pending")]), Some(21.0));
        assert_eq!(v("slurm_jobs", &[("state", "running")]), Some(1.0));
        assert_eq!(v("slurm_jobs", &[("state", "failed")]), Some(0.0));
        assert_eq!(
            v(
                "slurm_jobs_pending_by_reason",
                &[("reason", "JobArrayTaskLimit")]
            ),
            Some(18.0)
        );
        assert_eq!(
            v(
                "slurm_jobs_pending_by_reason",
                &[("reason", "ReqNodeNotAvail")]
            ),
            Some(1.0)
        );
        assert_eq!(
            v("slurm_jobs_pending_by_reason", &[("reason", "other")]),
            Some(1.0)
        );
        assert_eq!(
            v(
                "slurm_partition_jobs",
                &[("partition", "debug"), ("state", "pending")]
            ),
            Some(19.0)
        );
        assert_eq!(
            v(
                "slurm_partition_jobs",
                &[("partition", "batch"), ("state", "pending")]
            ),
            Some(3.0)
        );
        assert_eq!(
            v(
                "slurm_partition_jobs_cpus",
                &[("partition", "debug"), ("state", "pending")]
            ),
            Some(44.0)
        );
        assert_eq!(
            v(
                "slurm_partition_oldest_pending_job_age_seconds",
                &[("partition", "debug")]
            ),
            Some(300.0)
        );
        assert_eq!(
            v(
                "slurm_partition_oldest_pending_job_age_seconds",
                &[("partition", "batch")]
            ),
            Some(300.0)
        );
    }

    #[test]
    fn autoscaling_hints_skip_held_jobs() {
        let mut wide = job(JobState::Pending, "batch", "Resources", 64, 1, 0);
        wide.nodes = Some(16);
        let mut held = job(JobState::Pending, "batch", "JobHeldUser", 64, 1, 0);
        held.nodes = Some(100);
        let mut narrow = job(JobState::Pending, "debug,batch", "Priority", 1, 1, 0);
        narrow.nodes = Some(2);
        let mut running = job(JobState::Running, "debug", "None", 1, 1, 0);
        running.nodes = Some(50);
        let data = SlurmData {
            jobs: Some(Arc::new(Jobs {
                jobs: vec![wide, held, narrow, running],
            })),
            partitions: Some(Arc::new(crate::model::Partitions {
                partitions: vec![crate::model::Partition {
                    name: "idle".into(),
                    ..Default::default()
                }],
            })),
            ..Default::default()
        };
        let f = collect(&data, &ctx());
        let v = |name, p| value(&f, name, &[("partition", p)]);
        assert_eq!(
            v("slurm_partition_pending_job_nodes_max", "batch"),
            Some(16.0)
        );
        assert_eq!(
            v("slurm_partition_pending_job_nodes_min", "batch"),
            Some(2.0)
        );
        assert_eq!(
            v("slurm_partition_pending_job_nodes_max", "debug"),
            Some(2.0)
        );
        assert_eq!(
            v("slurm_partition_pending_job_nodes_min", "debug"),
            Some(2.0)
        );
        assert_eq!(
            v("slurm_partition_pending_job_nodes_max", "idle"),
            Some(0.0)
        );
    }
}

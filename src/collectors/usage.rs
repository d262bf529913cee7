//! Jobs, CPUs, memory and GPUs by job state, grouped by a label of the job (its
//! user or account) and capped: what the users and accounts collectors share.
//!
//! Values are those of the live job list (`squeue`, `/jobs`): allocated for
//! started jobs, requested for pending ones; finished jobs stay listed for
//! `MinJobAge`. A pending array counts once per task. Only the states a group has
//! jobs in get series. Memory and GPUs add up what the jobs reported: a group
//! none of whose jobs reported memory has no memory series, and a job whose GPU
//! count cannot be known (`--gpus-per-socket` alone) adds none.

use std::collections::BTreeMap;

use super::cap::{Capped, Fold};
use super::Context;
use crate::exposition::Family;
use crate::model::{Job, JobState, Jobs};

const STATES: usize = JobState::ALL.len();

/// What the jobs of one group and state hold or ask for.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub jobs: u64,
    pub cpus: u64,
    pub memory_bytes: Option<u64>,
    pub gpus: Option<u64>,
}

fn add_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.saturating_add(b)),
        (a, b) => a.or(b),
    }
}

impl Fold for Usage {
    fn fold(&mut self, other: &Self) {
        self.jobs = self.jobs.saturating_add(other.jobs);
        self.cpus = self.cpus.saturating_add(other.cpus);
        self.memory_bytes = add_opt(self.memory_bytes, other.memory_bytes);
        self.gpus = add_opt(self.gpus, other.gpus);
    }
}

/// One group's usage per state, in [`JobState::ALL`] order.
pub type ByState = [Usage; STATES];

/// Usage per group; jobs for which `key` is `None` are left out.
pub fn by_key<'a>(
    jobs: &'a Jobs,
    key: impl Fn(&'a Job) -> Option<&'a str>,
) -> BTreeMap<String, ByState> {
    let mut groups: BTreeMap<&str, ByState> = BTreeMap::new();
    for job in &jobs.jobs {
        let (Some(k), Some(si)) = (key(job), JobState::ALL.iter().position(|s| *s == job.state))
        else {
            continue;
        };
        let n = job.task_count;
        let times = |v: Option<u64>| v.map(|v| v.saturating_mul(n));
        groups
            .entry(k)
            .or_insert_with(|| [Usage::default(); STATES])[si]
            .fold(&Usage {
                jobs: n,
                cpus: times(job.cpus).unwrap_or(0),
                memory_bytes: times(job.memory_bytes),
                gpus: times(job.gpus),
            });
    }
    groups
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// The cap's weight: CPUs of the group's jobs that are not finished.
pub fn weight(v: &ByState) -> f64 {
    JobState::ALL
        .iter()
        .zip(v)
        .filter(|(s, _)| is_active(**s))
        .map(|(_, u)| u.cpus as f64)
        .sum()
}

fn is_active(state: JobState) -> bool {
    matches!(
        state,
        JobState::Pending
            | JobState::Running
            | JobState::Suspended
            | JobState::Completing
            | JobState::Configuring
            | JobState::Requeued
            | JobState::Resizing
            | JobState::Signaling
            | JobState::StageOut
            | JobState::Stopped
    )
}

/// `{prefix}_jobs`, `_jobs_cpus`, `_jobs_memory_bytes`, `_jobs_gpus` with the label
/// `label` (`user`, `account`) for the kept groups and `other`.
pub fn families(
    ctx: &Context,
    prefix: &str,
    label: &'static str,
    capped: &Capped<ByState>,
) -> Vec<Family> {
    let what =
        format!("by {label} and state (top {label}s by CPUs, the rest as {label}=\"other\")");
    let mut jobs = Family::gauge(format!("{prefix}_jobs"), format!("Jobs {what}"));
    let mut cpus = Family::gauge(
        format!("{prefix}_jobs_cpus"),
        format!("CPUs of jobs {what}: allocated when started, requested when pending"),
    );
    let mut memory = Family::gauge(
        format!("{prefix}_jobs_memory_bytes"),
        format!("Memory of jobs {what}: allocated when started, requested when pending"),
    );
    let mut gpus = Family::gauge(
        format!("{prefix}_jobs_gpus"),
        format!("GPUs of jobs {what}: allocated when started, requested when pending (--gres, --gpus, --gpus-per-node, --gpus-per-task)"),
    );
    for (name, by_state) in capped.iter() {
        for (state, u) in JobState::ALL.iter().zip(by_state) {
            if u.jobs == 0 {
                continue;
            }
            let labels = ctx.labels(&[(label, name), ("state", state.as_str())]);
            jobs.push(labels.clone(), u.jobs as f64);
            cpus.push(labels.clone(), u.cpus as f64);
            memory.push_opt(labels.clone(), u.memory_bytes.map(|b| b as f64));
            gpus.push_opt(labels, u.gpus.map(|g| g as f64));
        }
    }
    vec![jobs, cpus, memory, gpus]
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::collectors::cap::{CapLimit, CapSettings};
    use crate::collectors::testutil::{ctx, value};
    use crate::model::SlurmData;

    fn job(state: JobState, user: &str, account: &str, cpus: u64, tasks: u64) -> Job {
        Job {
            id: cpus,
            state,
            partition: "debug".into(),
            reason: "None".into(),
            cpus: Some(cpus),
            nodes: Some(1),
            submit_time: None,
            start_time: None,
            task_count: tasks,
            user: Some(user.into()),
            account: Some(account.into()),
            memory_bytes: Some(cpus * 1000),
            gpus: Some(cpus / 2),
        }
    }

    fn data(jobs: Vec<Job>) -> SlurmData {
        SlurmData {
            jobs: Some(Arc::new(Jobs { jobs })),
            ..Default::default()
        }
    }

    #[test]
    fn sums_per_group_and_state_arrays_by_task() {
        let jobs = Jobs {
            jobs: vec![
                job(JobState::Running, "alice", "physics", 4, 1),
                job(JobState::Running, "alice", "physics", 2, 1),
                job(JobState::Pending, "alice", "physics", 2, 10),
                job(JobState::Completed, "bob", "chem", 8, 1),
                Job {
                    user: None,
                    memory_bytes: None,
                    gpus: None,
                    ..job(JobState::Running, "x", "chem", 1, 1)
                },
            ],
        };
        let users = by_key(&jobs, |j| j.user.as_deref());
        assert_eq!(users.len(), 2, "a job without a user is left out");
        let alice = &users["alice"];
        let running = JobState::ALL
            .iter()
            .position(|s| *s == JobState::Running)
            .unwrap_or_default();
        let pending = JobState::ALL
            .iter()
            .position(|s| *s == JobState::Pending)
            .unwrap_or_default();
        assert_eq!(
            alice[running],
            Usage {
                jobs: 2,
                cpus: 6,
                memory_bytes: Some(6000),
                gpus: Some(3)
            }
        );
        assert_eq!(
            alice[pending],
            Usage {
                jobs: 10,
                cpus: 20,
                memory_bytes: Some(20_000),
                gpus: Some(10)
            }
        );
        assert_eq!(weight(alice), 26.0);
        assert_eq!(weight(&users["bob"]), 0.0, "finished jobs weigh nothing");
        let accounts = by_key(&jobs, |j| j.account.as_deref());
        let chem = &accounts["chem"][running];
        // Memory and GPUs of the job that reported none are not guessed.
        assert_eq!(
            (chem.jobs, chem.cpus, chem.memory_bytes, chem.gpus),
            (1, 1, None, None)
        );
    }

    #[test]
    fn users_and_accounts_collectors_capped() {
        let d = data(vec![
            job(JobState::Running, "alice", "physics", 8, 1),
            job(JobState::Running, "bob", "physics", 4, 1),
            job(JobState::Pending, "carol", "chem", 2, 1),
            job(JobState::Running, "dave", "bio", 1, 1),
        ]);
        let mut caps = CapSettings::default();
        caps.families.insert(
            "user",
            CapLimit {
                top: 2,
                ..CapLimit::default()
            },
        );
        let c = ctx().with_caps(Arc::new(caps));
        let f = super::super::users::DEF.collect_once(&d, &c);
        let v = |name, user, state| value(&f, name, &[("user", user), ("state", state)]);
        assert_eq!(v("slurm_user_jobs", "alice", "running"), Some(1.0));
        assert_eq!(v("slurm_user_jobs_cpus", "bob", "running"), Some(4.0));
        assert_eq!(v("slurm_user_jobs_cpus", "carol", "pending"), None);
        assert_eq!(v("slurm_user_jobs_cpus", "other", "pending"), Some(2.0));
        assert_eq!(v("slurm_user_jobs_cpus", "other", "running"), Some(1.0));
        assert_eq!(
            v("slurm_user_jobs_memory_bytes", "alice", "running"),
            Some(8000.0)
        );
        assert_eq!(v("slurm_user_jobs_gpus", "alice", "running"), Some(4.0));
        assert_eq!(v("slurm_user_jobs", "alice", "pending"), None, "sparse");
        assert_eq!(c.take_folded().get("user"), Some(&2));

        let c = ctx();
        let f = super::super::accounts::DEF.collect_once(&d, &c);
        let v = |name, account, state| value(&f, name, &[("account", account), ("state", state)]);
        assert_eq!(v("slurm_account_jobs", "physics", "running"), Some(2.0));
        assert_eq!(
            v("slurm_account_jobs_cpus", "physics", "running"),
            Some(12.0)
        );
        assert_eq!(v("slurm_account_jobs_gpus", "chem", "pending"), Some(1.0));
        assert_eq!(v("slurm_account_jobs", "other", "running"), None);
        assert_eq!(c.take_folded().get("account"), Some(&0));
    }
}

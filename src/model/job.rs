//! Jobs in slurmctld's memory: pending, running and recently finished.

use std::sync::Arc;

/// All jobs of one collection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Jobs {
    pub jobs: Vec<Job>,
}

/// One job record. A pending job array that Slurm reports as one record (JSON form)
/// carries the number of tasks it stands for in `task_count`; the text form
/// (`squeue -r`) already has one line per task.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Identity of the record within one source, stable across collections: the
    /// job id, or for an array task printed as `123_4` a hash of that text.
    pub id: u64,
    pub state: JobState,
    /// Partition as Slurm prints it; a pending job submitted to several partitions
    /// has a comma-separated list (`debug,batch`). Interned: most jobs share a few values.
    pub partition: Arc<str>,
    /// Pending reason (`Resources`, `Priority`, `JobHeldUser`, ... or `None`).
    pub reason: Arc<str>,
    /// CPUs allocated (running) or requested (pending).
    pub cpus: Option<u64>,
    /// Nodes allocated (running) or requested (pending).
    pub nodes: Option<u64>,
    /// Submission time, seconds since the epoch.
    pub submit_time: Option<i64>,
    /// Start time (actual for running jobs, expected for pending ones; `None` when unknown).
    pub start_time: Option<i64>,
    /// Number of jobs this record stands for (1 unless an unexpanded pending array).
    pub task_count: u64,
    /// User and account the job runs as (interned); `None` when not reported.
    pub user: Option<Arc<str>>,
    pub account: Option<Arc<str>>,
    /// Memory allocated (started) or requested (pending), bytes: `mem=` of its TRES.
    pub memory_bytes: Option<u64>,
    /// GPUs allocated (started) or requested (pending); see [`super::tres::JobTres::gpus`].
    pub gpus: Option<u64>,
}

/// The identity of a job printed as `%i` (`123`, `123_4`, `123_[5-9]`).
pub fn id_from_text(id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    if let Ok(n) = id.parse() {
        return n;
    }
    // SipHash with fixed keys: the same text gives the same id in every collection.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut h);
    h.finish() | (1 << 63)
}

impl Job {
    /// Partitions this job is queued in or running in.
    pub fn partitions(&self) -> impl Iterator<Item = &str> {
        self.partition.split(',').filter(|p| !p.is_empty())
    }
}

/// Job state as `squeue %T` prints it: a state flag that changes what the job is
/// doing (COMPLETING, CONFIGURING, ...) wins over the base state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobState {
    Pending,
    Running,
    Suspended,
    Completing,
    Configuring,
    Completed,
    Cancelled,
    Failed,
    Timeout,
    Preempted,
    NodeFail,
    BootFail,
    Deadline,
    OutOfMemory,
    Requeued,
    Resizing,
    Signaling,
    StageOut,
    Stopped,
    SpecialExit,
    Other,
}

impl JobState {
    /// Every state, in the order series are emitted.
    pub const ALL: [JobState; 21] = [
        JobState::Pending,
        JobState::Running,
        JobState::Suspended,
        JobState::Completing,
        JobState::Configuring,
        JobState::Completed,
        JobState::Cancelled,
        JobState::Failed,
        JobState::Timeout,
        JobState::Preempted,
        JobState::NodeFail,
        JobState::BootFail,
        JobState::Deadline,
        JobState::OutOfMemory,
        JobState::Requeued,
        JobState::Resizing,
        JobState::Signaling,
        JobState::StageOut,
        JobState::Stopped,
        JobState::SpecialExit,
        JobState::Other,
    ];

    /// Parses one Slurm state name (`RUNNING`, `NODE_FAIL`, `CANCELLED by 0` is
    /// handled by the caller). Unknown names become `Other`.
    pub fn from_name(name: &str) -> JobState {
        let name = name.trim();
        match JobState::from_upper(name) {
            JobState::Other if name.bytes().any(|b| b.is_ascii_lowercase()) => {
                JobState::from_upper(&name.to_ascii_uppercase())
            }
            state => state,
        }
    }

    /// [`JobState::from_name`] for a name as Slurm prints it (upper case).
    fn from_upper(name: &str) -> JobState {
        match name {
            "PENDING" | "PD" => JobState::Pending,
            "RUNNING" | "R" => JobState::Running,
            "SUSPENDED" | "S" => JobState::Suspended,
            "COMPLETING" | "CG" => JobState::Completing,
            "CONFIGURING" | "CF" => JobState::Configuring,
            "COMPLETED" | "CD" => JobState::Completed,
            "CANCELLED" | "CA" => JobState::Cancelled,
            "FAILED" | "F" => JobState::Failed,
            "TIMEOUT" | "TO" => JobState::Timeout,
            "PREEMPTED" | "PR" => JobState::Preempted,
            "NODE_FAIL" | "NF" => JobState::NodeFail,
            "BOOT_FAIL" | "BF" => JobState::BootFail,
            "DEADLINE" | "DL" => JobState::Deadline,
            "OUT_OF_MEMORY" | "OOM" => JobState::OutOfMemory,
            "REQUEUED" | "REQUEUE_FED" | "REQUEUE_HOLD" | "RQ" | "RF" | "RH" => JobState::Requeued,
            "RESIZING" | "RS" => JobState::Resizing,
            "SIGNALING" | "SI" => JobState::Signaling,
            "STAGE_OUT" | "SO" => JobState::StageOut,
            "STOPPED" | "ST" => JobState::Stopped,
            "SPECIAL_EXIT" | "SE" => JobState::SpecialExit,
            _ => JobState::Other,
        }
    }

    /// Picks the state `squeue` would print from a v0.0.40+ state array
    /// (one base state plus flags).
    pub fn from_base_and_flags<'a>(names: impl IntoIterator<Item = &'a str>) -> JobState {
        const FLAG_PRECEDENCE: [JobState; 8] = [
            JobState::Completing,
            JobState::Configuring,
            JobState::Requeued,
            JobState::Resizing,
            JobState::StageOut,
            JobState::Signaling,
            JobState::SpecialExit,
            JobState::Stopped,
        ];
        let states: Vec<JobState> = names.into_iter().map(JobState::from_name).collect();
        for flag in FLAG_PRECEDENCE {
            if states.contains(&flag) {
                return flag;
            }
        }
        states
            .into_iter()
            .find(|s| *s != JobState::Other)
            .unwrap_or(JobState::Other)
    }

    /// Label value used in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Suspended => "suspended",
            JobState::Completing => "completing",
            JobState::Configuring => "configuring",
            JobState::Completed => "completed",
            JobState::Cancelled => "cancelled",
            JobState::Failed => "failed",
            JobState::Timeout => "timeout",
            JobState::Preempted => "preempted",
            JobState::NodeFail => "node_fail",
            JobState::BootFail => "boot_fail",
            JobState::Deadline => "deadline",
            JobState::OutOfMemory => "out_of_memory",
            JobState::Requeued => "requeued",
            JobState::Resizing => "resizing",
            JobState::Signaling => "signaling",
            JobState::StageOut => "stage_out",
            JobState::Stopped => "stopped",
            JobState::SpecialExit => "special_exit",
            JobState::Other => "other",
        }
    }
}

/// Pending reasons reported under their own name; everything else is `other`.
pub const PENDING_REASONS: [&str; 40] = [
    "None",
    "Resources",
    "Priority",
    "Dependency",
    "DependencyNeverSatisfied",
    "JobHeldUser",
    "JobHeldAdmin",
    "BeginTime",
    "JobArrayTaskLimit",
    "ReqNodeNotAvail",
    "Reservation",
    "Licenses",
    "NodeDown",
    "BadConstraints",
    "PartitionDown",
    "PartitionInactive",
    "PartitionNodeLimit",
    "PartitionTimeLimit",
    "PartitionConfig",
    "InvalidAccount",
    "InvalidQOS",
    "QOSUsageThreshold",
    "QOSJobLimit",
    "QOSResourceLimit",
    "QOSTimeLimit",
    "QOSMaxJobsPerUserLimit",
    "QOSMaxSubmitJobPerUserLimit",
    "QOSMaxCpuPerUserLimit",
    "QOSMaxNodePerUserLimit",
    "QOSGrpCpuLimit",
    "QOSGrpJobsLimit",
    "QOSGrpNodeLimit",
    "QOSGrpMemLimit",
    "AssocGrpCpuLimit",
    "AssocGrpJobsLimit",
    "AssocGrpNodeLimit",
    "AssocMaxJobsLimit",
    "AssocGrpGRES",
    "Cleaning",
    "launch failed requeued held",
];

/// Maps a reason as Slurm prints it to the bounded label set: the leading word
/// (`ReqNodeNotAvail, UnavailableNodes:n1` → `ReqNodeNotAvail`) if known, else `other`.
pub fn reason_label(reason: &str) -> &'static str {
    let trimmed = reason.trim().trim_start_matches('(').trim_end_matches(')');
    if let Some(known) = PENDING_REASONS.iter().find(|r| **r == trimmed) {
        return known;
    }
    let head = trimmed.split([',', ' ', '(']).next().unwrap_or_default();
    if let Some(known) = PENDING_REASONS.iter().find(|r| **r == head) {
        return known;
    }
    // squeue's %r prints the state description when Slurm set one; this one is
    // set with reason Resources (the JSON form of the same job says "Resources").
    if trimmed.starts_with("Nodes required for job are DOWN") {
        return "Resources";
    }
    "other"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_base_state() {
        assert_eq!(
            JobState::from_base_and_flags(["RUNNING", "COMPLETING"]),
            JobState::Completing
        );
        assert_eq!(
            JobState::from_base_and_flags(["PENDING"]),
            JobState::Pending
        );
        assert_eq!(
            JobState::from_base_and_flags(["PENDING", "REQUEUED"]),
            JobState::Requeued
        );
        assert_eq!(JobState::from_base_and_flags(["WHATEVER"]), JobState::Other);
    }

    #[test]
    fn reasons_are_bounded() {
        assert_eq!(reason_label("Resources"), "Resources");
        assert_eq!(
            reason_label("ReqNodeNotAvail, UnavailableNodes:n[1-2]"),
            "ReqNodeNotAvail"
        );
        assert_eq!(
            reason_label("Nodes required for job are DOWN, DRAINED or reserved for jobs in higher priority partitions"),
            "Resources"
        );
        assert_eq!(
            reason_label("launch failed requeued held"),
            "launch failed requeued held"
        );
        assert_eq!(reason_label("SomethingNew"), "other");
    }
}

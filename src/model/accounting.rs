//! Jobs as slurmdbd records them (`sacct`, REST `/slurmdb/.../jobs`), and what one
//! accounting read returns: the jobs that finished and the jobs that started since
//! the previous read (the source keeps the watermark, see `source::watermark`).

/// One job allocation as slurmdbd has it (`sacct -X`: no steps).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AcctJob {
    /// Unique per job and per array task (`JobIDRaw`; REST `job_id`).
    pub id: u64,
    /// Current (for a finished job: final) state, upper-case base name without
    /// `by <uid>` or flags: `COMPLETED`, `FAILED`, `CANCELLED`, `TIMEOUT`, ...
    pub state: String,
    pub partition: Option<String>,
    pub account: Option<String>,
    pub qos: Option<String>,
    /// Seconds since the epoch; `None` where Slurm printed `Unknown` / `0`.
    pub eligible: Option<i64>,
    pub start: Option<i64>,
    pub end: Option<i64>,
    /// Whether the job was ever given resources. A job cancelled while pending
    /// has a start time (slurmdbd prints its end) but no nodes.
    pub ran: bool,
    pub elapsed_seconds: Option<u64>,
    pub alloc_cpus: Option<u64>,
    /// User plus system CPU time of all the job's steps.
    pub total_cpu_seconds: Option<f64>,
    /// `(return code, signal)`; `None` when Slurm did not say.
    pub exit: Option<(u32, u32)>,
    /// Memory use and allocation, from the job's steps (see [`JobMemory`]).
    pub memory: JobMemory,
}

/// What slurmdbd recorded of a job's memory: the largest resident set of any task
/// of any step (`MaxRSS`, kept per step, sampled by `jobacct_gather`), and the
/// memory allocated to the job (`AllocTRES` `mem=`, over all its nodes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobMemory {
    /// Largest `MaxRSS` over the steps; `None` when no step recorded one
    /// (`jobacct_gather/none`, or a step too short to be sampled: Slurm prints
    /// nothing or 0).
    pub max_rss_bytes: Option<u64>,
    pub alloc_bytes: Option<u64>,
    pub alloc_nodes: Option<u64>,
}

impl JobMemory {
    /// Keeps the larger `MaxRSS` (0 counts as not recorded).
    pub fn add_step_rss(&mut self, bytes: Option<u64>) {
        if let Some(b) = bytes.filter(|b| *b > 0) {
            self.max_rss_bytes = Some(self.max_rss_bytes.map_or(b, |m| m.max(b)));
        }
    }

    /// The largest `MaxRSS` over the memory allocated per node (0 to ~1; a task
    /// runs on one node, so its resident set is bounded by that node's share).
    /// `None` without a recorded `MaxRSS` or without a memory allocation.
    pub fn efficiency(&self) -> Option<f64> {
        let rss = self.max_rss_bytes.filter(|b| *b > 0)? as f64;
        let alloc = self.alloc_bytes.filter(|b| *b > 0)? as f64;
        let nodes = self.alloc_nodes.filter(|n| *n > 0).unwrap_or(1) as f64;
        Some(rss / (alloc / nodes))
    }
}

/// States a job ends in. `REQUEUED` and `REVOKED` are not final: the job runs
/// again (a requeued job's next run has its own record) or lives on in another
/// cluster.
pub const FINAL_STATES: [&str; 9] = [
    "BOOT_FAIL",
    "CANCELLED",
    "COMPLETED",
    "DEADLINE",
    "FAILED",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "PREEMPTED",
    "TIMEOUT",
];

impl AcctJob {
    /// Whether the job has ended in one of [`FINAL_STATES`].
    pub fn finished(&self) -> bool {
        self.end.is_some() && FINAL_STATES.contains(&self.state.as_str())
    }

    /// Exit code class: `none` (never ran, or no exit code recorded), `signal`
    /// (killed by a signal), `failure` (non-zero return code), `success`.
    pub fn exit_class(&self) -> &'static str {
        match self.exit {
            _ if !self.ran => "none",
            None => "none",
            Some((_, signal)) if signal != 0 => "signal",
            Some((code, _)) if code != 0 => "failure",
            Some(_) => "success",
        }
    }

    /// Used CPU time over allocated CPU time (0 to ~1), when all three are known
    /// and the job ran for at least a second.
    pub fn cpu_efficiency(&self) -> Option<f64> {
        let elapsed = self.elapsed_seconds.filter(|e| *e > 0)? as f64;
        let cpus = self.alloc_cpus.filter(|c| *c > 0)? as f64;
        Some(self.total_cpu_seconds? / (elapsed * cpus))
    }

    /// See [`JobMemory::efficiency`]; `None` for a job that never ran.
    pub fn memory_efficiency(&self) -> Option<f64> {
        self.ran.then(|| self.memory.efficiency()).flatten()
    }

    /// Seconds from eligible to start, for a job that ran.
    pub fn wait_seconds(&self) -> Option<f64> {
        if !self.ran {
            return None;
        }
        let (start, eligible) = (self.start?, self.eligible?);
        Some(start.saturating_sub(eligible).max(0) as f64)
    }
}

/// Normalizes a state as sacct or REST print it: `CANCELLED by 0` → `CANCELLED`,
/// `completed` → `COMPLETED`; the first state of a list (v0.0.40+ arrays).
pub fn normalize_state(raw: &str) -> String {
    raw.split_whitespace()
        .next()
        .unwrap_or_default()
        .trim_end_matches('+')
        .to_ascii_uppercase()
}

/// What one accounting read found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Accounting {
    /// Jobs that finished since the previous read, each reported once.
    pub finished: Vec<AcctJob>,
    /// Jobs that started since the previous read, each reported once.
    pub started: Vec<AcctJob>,
    /// Everything that ended or started up to this time (slurmctld's clock) has
    /// been read: the watermark after this read.
    pub watermark: i64,
    /// The read was cut at the per-read window bound: more is waiting.
    pub catching_up: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(state: &str, ran: bool, exit: Option<(u32, u32)>) -> AcctJob {
        AcctJob {
            state: state.into(),
            ran,
            exit,
            end: Some(10),
            ..AcctJob::default()
        }
    }

    #[test]
    fn exit_classes() {
        assert_eq!(job("COMPLETED", true, Some((0, 0))).exit_class(), "success");
        assert_eq!(job("FAILED", true, Some((3, 0))).exit_class(), "failure");
        assert_eq!(job("FAILED", true, Some((0, 9))).exit_class(), "signal");
        assert_eq!(job("CANCELLED", false, Some((0, 0))).exit_class(), "none");
        assert_eq!(job("FAILED", true, None).exit_class(), "none");
    }

    #[test]
    fn states_and_finished() {
        assert_eq!(normalize_state("CANCELLED by 0"), "CANCELLED");
        assert_eq!(normalize_state("completed"), "COMPLETED");
        assert!(job("TIMEOUT", true, None).finished());
        assert!(!job("REQUEUED", true, None).finished());
        assert!(!job("RUNNING", true, None).finished());
    }

    #[test]
    fn ratios() {
        let j = AcctJob {
            ran: true,
            elapsed_seconds: Some(10),
            alloc_cpus: Some(2),
            total_cpu_seconds: Some(5.0),
            eligible: Some(100),
            start: Some(160),
            ..AcctJob::default()
        };
        assert_eq!(j.cpu_efficiency(), Some(0.25));
        assert_eq!(j.wait_seconds(), Some(60.0));
        let zero = AcctJob {
            elapsed_seconds: Some(0),
            ..j.clone()
        };
        assert_eq!(zero.cpu_efficiency(), None);
        let never = AcctJob { ran: false, ..j };
        assert_eq!(never.wait_seconds(), None);
    }

    #[test]
    fn memory_efficiency_needs_rss_and_allocation() {
        let mut memory = JobMemory {
            alloc_bytes: Some(400 << 20),
            alloc_nodes: Some(1),
            ..JobMemory::default()
        };
        assert_eq!(memory.efficiency(), None, "no MaxRSS: left out, not 0");
        memory.add_step_rss(Some(0));
        memory.add_step_rss(None);
        assert_eq!(memory.efficiency(), None, "MaxRSS 0 is not recorded");
        memory.add_step_rss(Some(100 << 20));
        memory.add_step_rss(Some(50 << 20));
        assert_eq!(memory.max_rss_bytes, Some(100 << 20));
        assert_eq!(memory.efficiency(), Some(0.25));
        let two_nodes = JobMemory {
            alloc_nodes: Some(2),
            ..memory
        };
        assert_eq!(two_nodes.efficiency(), Some(0.5), "per node");
        let no_alloc = JobMemory {
            alloc_bytes: None,
            ..memory
        };
        assert_eq!(no_alloc.efficiency(), None);
        let job = AcctJob {
            ran: true,
            memory,
            ..AcctJob::default()
        };
        assert_eq!(job.memory_efficiency(), Some(0.25));
        let never = AcctJob { ran: false, ..job };
        assert_eq!(never.memory_efficiency(), None);
    }
}

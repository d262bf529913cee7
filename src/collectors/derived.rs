//! Derived signals: what only successive snapshots show. Node failures by reason,
//! how long nodes stay drained or down, allocated CPU- and GPU-seconds per partition,
//! and jobs started and finished, all as counters or histograms that grow from the
//! exporter's start (Prometheus' `rate()` and `increase()` read them).
//!
//! The first collection only sets the baseline: nothing is counted for what
//! happened before the exporter saw it.

use std::collections::{BTreeMap, HashMap};

use super::gpus::node_gres;
use super::{Collect, CollectorDef, CollectorState, Context};
use crate::exposition::{Family, Histogram};
use crate::model::{DataKind, JobState, Node, NodeStatus, SlurmData};

pub const DEF: CollectorDef = CollectorDef {
    name: "derived",
    description: "Signals from successive snapshots: node failures by reason, drain and down durations, allocated CPU- and GPU-seconds per partition, jobs started and finished per partition",
    enabled_by_default: true,
    needs: &[DataKind::Nodes, DataKind::Jobs],
    collect: Collect::Stateful(|| Box::<Derived>::default()),
};

/// Distinct failure reasons that get their own label; later ones count as `other`.
/// Reasons are free text typed by administrators or health checks: the cap keeps the
/// series bounded whatever they write.
pub const MAX_REASONS: usize = 20;

/// Buckets of drain and down durations: 5 minutes to 4 weeks.
const OUTAGE_BUCKETS: &[f64] = &[
    300.0, 900.0, 3600.0, 14400.0, 43200.0, 86400.0, 259200.0, 604800.0, 1209600.0, 2419200.0,
];

/// What a node is doing, as far as these signals care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    Serving,
    Drained,
    Down,
}

fn health(node: &Node) -> Health {
    match node.state.status() {
        NodeStatus::Down | NodeStatus::Fail | NodeStatus::NotResponding => Health::Down,
        NodeStatus::Drained | NodeStatus::Draining => Health::Drained,
        _ => Health::Serving,
    }
}

#[derive(Debug, Clone, Copy)]
struct NodeTrack {
    health: Health,
    /// When the node entered `health`, seconds since the epoch.
    since: i64,
}

#[derive(Debug)]
pub struct Derived {
    /// Time of the previous collection; `None` before the first.
    last: Option<i64>,
    nodes: HashMap<String, NodeTrack>,
    /// Job id → whether it had started (running or later) / finished.
    jobs: HashMap<u64, JobState>,
    /// Allocated CPUs and GPUs per partition at the previous collection.
    allocated: BTreeMap<String, (u64, u64)>,
    failures: BTreeMap<String, u64>,
    drained: Histogram,
    down: Histogram,
    cpu_seconds: BTreeMap<String, f64>,
    gpu_seconds: BTreeMap<String, f64>,
    started: BTreeMap<String, u64>,
    finished: BTreeMap<(String, JobState), u64>,
}

impl Default for Derived {
    fn default() -> Self {
        Derived {
            last: None,
            nodes: HashMap::new(),
            jobs: HashMap::new(),
            allocated: BTreeMap::new(),
            failures: BTreeMap::new(),
            drained: Histogram::new(OUTAGE_BUCKETS),
            down: Histogram::new(OUTAGE_BUCKETS),
            cpu_seconds: BTreeMap::new(),
            gpu_seconds: BTreeMap::new(),
            started: BTreeMap::new(),
            finished: BTreeMap::new(),
        }
    }
}

/// States of a job that is running (or suspended, or winding down).
fn is_active(state: JobState) -> bool {
    matches!(
        state,
        JobState::Running
            | JobState::Completing
            | JobState::Configuring
            | JobState::Suspended
            | JobState::Signaling
            | JobState::StageOut
            | JobState::Resizing
            | JobState::Stopped
    )
}

/// Whether a job in `state` has run: active, or finished in a way only a job that
/// ran can (a cancelled job may never have started: it counts only if seen active).
fn has_run(state: JobState) -> bool {
    is_active(state) || (is_finished(state) && state != JobState::Cancelled)
}

/// Final states of a job.
const FINISHED: [JobState; 10] = [
    JobState::Completed,
    JobState::Cancelled,
    JobState::Failed,
    JobState::Timeout,
    JobState::Preempted,
    JobState::NodeFail,
    JobState::BootFail,
    JobState::Deadline,
    JobState::OutOfMemory,
    JobState::SpecialExit,
];

fn is_finished(state: JobState) -> bool {
    FINISHED.contains(&state)
}

impl Derived {
    fn reason_label(&mut self, reason: Option<&str>) -> String {
        let reason = reason
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .unwrap_or("none");
        if self.failures.contains_key(reason) || self.failures.len() < MAX_REASONS {
            reason.to_string()
        } else {
            "other".to_string()
        }
    }

    fn update_nodes(&mut self, data: &SlurmData, now: i64, baseline: bool) {
        let Some(nodes) = data.nodes.as_deref() else {
            return;
        };
        let mut seen = HashMap::with_capacity(nodes.nodes.len());
        let mut allocated: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for node in &nodes.nodes {
            let h = health(node);
            let entered = node.reason_changed_at.filter(|t| *t <= now).unwrap_or(now);
            let track = match self.nodes.get(&node.name) {
                Some(prev) if prev.health == h => *prev,
                Some(prev) => {
                    let duration = (now - prev.since).max(0) as f64;
                    match prev.health {
                        Health::Drained => self.drained.observe(duration),
                        Health::Down => self.down.observe(duration),
                        Health::Serving => {}
                    }
                    if prev.health == Health::Serving && !baseline {
                        let label = self.reason_label(node.reason.as_deref());
                        *self.failures.entry(label).or_insert(0) += 1;
                    }
                    NodeTrack {
                        health: h,
                        since: if h == Health::Serving { now } else { entered },
                    }
                }
                None => NodeTrack {
                    health: h,
                    since: if h == Health::Serving { now } else { entered },
                },
            };
            seen.insert(node.name.clone(), track);
            let cpus = node.cpus_allocated.unwrap_or(0);
            let gpus: u64 = node_gres(node)
                .iter()
                .filter(|g| g.name == "gpu")
                .filter_map(|g| g.allocated)
                .fold(0u64, u64::saturating_add);
            for p in &node.partitions {
                let a = allocated.entry(p.clone()).or_default();
                a.0 = a.0.saturating_add(cpus);
                a.1 = a.1.saturating_add(gpus);
            }
        }
        self.nodes = seen;
        // Left Riemann sum: what was allocated at the previous collection held
        // until this one.
        if let Some(last) = self.last {
            let dt = (now - last).max(0) as f64;
            for (p, (cpus, gpus)) in &self.allocated {
                *self.cpu_seconds.entry(p.clone()).or_insert(0.0) += *cpus as f64 * dt;
                *self.gpu_seconds.entry(p.clone()).or_insert(0.0) += *gpus as f64 * dt;
            }
        }
        for p in allocated.keys() {
            self.cpu_seconds.entry(p.clone()).or_insert(0.0);
            self.gpu_seconds.entry(p.clone()).or_insert(0.0);
        }
        self.allocated = allocated;
    }

    fn update_jobs(&mut self, data: &SlurmData, baseline: bool) {
        let Some(jobs) = data.jobs.as_deref() else {
            return;
        };
        let mut seen = HashMap::with_capacity(jobs.jobs.len());
        // Every partition's counters exist from the start (at 0), so rate() and
        // increase() see the first event.
        let partitions = jobs
            .jobs
            .iter()
            .flat_map(|j| j.partitions())
            .chain(self.allocated.keys().map(String::as_str));
        for p in partitions {
            if !self.started.contains_key(p) {
                self.started.insert(p.to_string(), 0);
                for state in FINISHED {
                    self.finished.insert((p.to_string(), state), 0);
                }
            }
        }
        for job in &jobs.jobs {
            let before = self.jobs.get(&job.id).copied();
            if !baseline {
                let started_before = before.is_some_and(|b| is_active(b) || is_finished(b));
                let finished_before = before.is_some_and(is_finished);
                // A job first seen finished ran and ended between two collections.
                if has_run(job.state) && !started_before {
                    for p in job.partitions() {
                        let n = self.started.entry(p.to_string()).or_insert(0);
                        *n = n.saturating_add(job.task_count);
                    }
                }
                if is_finished(job.state) && !finished_before {
                    for p in job.partitions() {
                        let n = self.finished.entry((p.to_string(), job.state)).or_insert(0);
                        *n = n.saturating_add(job.task_count);
                    }
                }
            }
            seen.insert(job.id, job.state);
        }
        self.jobs = seen;
    }
}

impl CollectorState for Derived {
    fn update(&mut self, data: &SlurmData, ctx: &Context) {
        let baseline = self.last.is_none();
        self.update_nodes(data, ctx.now, baseline);
        self.update_jobs(data, baseline);
        self.last = Some(ctx.now);
    }

    fn families(&self, ctx: &Context) -> Vec<Family> {
        let mut failures = Family::counter(
            "slurm_node_failures",
            "Nodes that went from serving to drained or down, by the reason Slurm gave (the first 20 distinct reasons, then `other`)",
        );
        for (reason, n) in &self.failures {
            failures.push(ctx.labels(&[("reason", reason)]), *n as f64);
        }
        if !self.failures.contains_key("other") {
            // Declared from the start: the family exists before the first failure.
            failures.push(ctx.labels(&[("reason", "other")]), 0.0);
        }
        let mut drained = Family::histogram(
            "slurm_node_drain_duration_seconds",
            "How long nodes stayed drained (or draining), observed when they leave that state",
        );
        drained.push_histogram(ctx.labels(&[]), &self.drained);
        let mut down = Family::histogram(
            "slurm_node_down_duration_seconds",
            "How long nodes stayed down (or failed, or not responding), observed when they leave that state",
        );
        down.push_histogram(ctx.labels(&[]), &self.down);
        let mut cpu = Family::counter(
            "slurm_partition_allocated_cpu_seconds",
            "CPU-seconds allocated on the partition's nodes (allocated CPUs integrated over time)",
        );
        for (p, v) in &self.cpu_seconds {
            cpu.push(ctx.labels(&[("partition", p)]), *v);
        }
        let mut gpu = Family::counter(
            "slurm_partition_allocated_gpu_seconds",
            "GPU-seconds allocated on the partition's nodes (allocated GPUs integrated over time)",
        );
        for (p, v) in &self.gpu_seconds {
            gpu.push(ctx.labels(&[("partition", p)]), *v);
        }
        let mut started = Family::counter(
            "slurm_partition_jobs_started",
            "Jobs seen starting (array tasks one by one)",
        );
        for (p, n) in &self.started {
            started.push(ctx.labels(&[("partition", p)]), *n as f64);
        }
        let mut finished = Family::counter(
            "slurm_partition_jobs_finished",
            "Jobs seen finishing, by final state (array tasks one by one)",
        );
        for ((p, s), n) in &self.finished {
            finished.push(
                ctx.labels(&[("partition", p), ("state", s.as_str())]),
                *n as f64,
            );
        }
        vec![failures, drained, down, cpu, gpu, started, finished]
    }
}

#[cfg(test)]
mod tests;

//! Accounting (slurmdbd): finished jobs by final state, exit code class,
//! partition and account; CPU and memory efficiency of finished jobs; queue wait
//! of started jobs. Counters and histograms accumulate in the collector's state from the
//! jobs each read reports once (the source's watermark), so they start at zero
//! when the exporter starts (unless `accounting.lookback` is set) and survive a
//! slurmdbd outage: a failed read leaves the state as it was, the read after it
//! brings what finished meanwhile.
//!
//! Off by default: it needs slurmdbd, and reads it on every collection.

use std::collections::BTreeMap;

use super::{Collect, CollectorDef, CollectorState, Context};
use crate::exposition::{Family, Histogram};
use crate::model::{AcctJob, DataKind, SlurmData};

pub const DEF: CollectorDef = CollectorDef {
    name: "accounting",
    description: "jobs finished by state, exit class, partition and account; CPU and memory efficiency and queue wait histograms (slurmdbd)",
    enabled_by_default: false,
    needs: &[DataKind::Accounting],
    collect: Collect::Stateful(|| Box::new(AccountingState::default())),
};

/// CPU time used over CPU time allocated; largest resident set over memory allocated.
const RATIO_BUCKETS: &[f64] = &[0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

/// Seconds from eligible to start: a second to a week.
const WAIT_BUCKETS: &[f64] = &[
    1.0, 10.0, 30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0, 86400.0,
    259200.0, 604800.0,
];

#[derive(Debug, Default)]
struct AccountingState {
    /// (state, exit class, partition, account) → jobs.
    finished: BTreeMap<(String, &'static str, String, String), u64>,
    cpu_efficiency: BTreeMap<String, Histogram>,
    memory_efficiency: BTreeMap<String, Histogram>,
    /// (partition, qos) → wait histogram.
    wait: BTreeMap<(String, String), Histogram>,
    watermark: Option<i64>,
    catching_up: bool,
}

fn label(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

impl AccountingState {
    fn finish(&mut self, job: &AcctJob) {
        let key = (
            job.state.to_ascii_lowercase(),
            job.exit_class(),
            label(&job.partition),
            label(&job.account),
        );
        *self.finished.entry(key).or_insert(0) += 1;
        if let Some(ratio) = job.cpu_efficiency() {
            self.cpu_efficiency
                .entry(label(&job.partition))
                .or_insert_with(|| Histogram::new(RATIO_BUCKETS))
                .observe(ratio);
        }
        if let Some(ratio) = job.memory_efficiency() {
            self.memory_efficiency
                .entry(label(&job.partition))
                .or_insert_with(|| Histogram::new(RATIO_BUCKETS))
                .observe(ratio);
        }
    }

    fn start(&mut self, job: &AcctJob) {
        if let Some(wait) = job.wait_seconds() {
            self.wait
                .entry((label(&job.partition), label(&job.qos)))
                .or_insert_with(|| Histogram::new(WAIT_BUCKETS))
                .observe(wait);
        }
    }
}

impl CollectorState for AccountingState {
    fn update(&mut self, data: &SlurmData, _ctx: &Context) {
        let Some(acct) = data.accounting.as_deref() else {
            return;
        };
        for job in &acct.finished {
            self.finish(job);
        }
        for job in &acct.started {
            self.start(job);
        }
        self.watermark = Some(acct.watermark);
        self.catching_up = acct.catching_up;
    }

    fn families(&self, ctx: &Context) -> Vec<Family> {
        let mut finished = Family::counter(
            "slurm_accounting_jobs_finished",
            "Jobs that finished since the exporter started, by final state, exit class (success, failure, signal, none), partition and account (slurmdbd)",
        );
        for ((state, class, partition, account), n) in &self.finished {
            finished.push(
                ctx.labels(&[
                    ("state", state),
                    ("exit_class", class),
                    ("partition", partition),
                    ("account", account),
                ]),
                *n as f64,
            );
        }
        let mut cpu = Family::histogram(
            "slurm_accounting_job_cpu_efficiency_ratio",
            "CPU time used over CPU time allocated (elapsed x CPUs) of finished jobs, by partition; jobs without recorded CPU time are left out",
        );
        for (partition, h) in &self.cpu_efficiency {
            cpu.push_histogram(ctx.labels(&[("partition", partition)]), h);
        }
        let mut memory = Family::histogram(
            "slurm_accounting_job_memory_efficiency_ratio",
            "Largest resident set (MaxRSS) of any step over the memory allocated per node, of finished jobs, by partition; jobs without recorded MaxRSS or without a memory allocation are left out",
        );
        for (partition, h) in &self.memory_efficiency {
            memory.push_histogram(ctx.labels(&[("partition", partition)]), h);
        }
        let mut wait = Family::histogram(
            "slurm_accounting_job_queue_wait_seconds",
            "Time from eligible to start of jobs that started since the exporter started, by partition and QOS",
        );
        for ((partition, qos), h) in &self.wait {
            wait.push_histogram(ctx.labels(&[("partition", partition), ("qos", qos)]), h);
        }
        let mut watermark = Family::gauge(
            "slurm_accounting_watermark_timestamp_seconds",
            "Jobs that ended or started up to this time (slurmctld's clock) have been read from slurmdbd",
        );
        watermark.push_opt(ctx.labels(&[]), self.watermark.map(|t| t as f64));
        let mut catching_up = Family::gauge(
            "slurm_accounting_catching_up",
            "1 while a backlog (after an outage, or a look-back) is read in bounded slices, one per collection",
        );
        catching_up.push(ctx.labels(&[]), if self.catching_up { 1.0 } else { 0.0 });
        vec![finished, cpu, memory, wait, watermark, catching_up]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use super::super::testutil::{ctx, value};
    use super::*;
    use crate::model::{Accounting, JobMemory};

    fn job(id: u64, state: &str, exit: (u32, u32), partition: &str) -> AcctJob {
        AcctJob {
            id,
            state: state.into(),
            partition: Some(partition.into()),
            account: Some("lab".into()),
            qos: Some("normal".into()),
            eligible: Some(100),
            start: Some(130),
            end: Some(140),
            ran: true,
            elapsed_seconds: Some(10),
            alloc_cpus: Some(2),
            total_cpu_seconds: Some(15.0),
            exit: Some(exit),
            memory: JobMemory {
                max_rss_bytes: Some(100 << 20),
                alloc_bytes: Some(400 << 20),
                alloc_nodes: Some(1),
            },
        }
    }

    fn data(finished: Vec<AcctJob>, started: Vec<AcctJob>, watermark: i64) -> SlurmData {
        SlurmData {
            accounting: Some(Arc::new(Accounting {
                finished,
                started,
                watermark,
                catching_up: false,
            })),
            ..SlurmData::default()
        }
    }

    #[test]
    fn counters_accumulate_across_reads() {
        let (def, ctx) = (&DEF, ctx());
        let Collect::Stateful(init) = def.collect else {
            panic!("stateful")
        };
        let mut state = init();
        let a = job(1, "COMPLETED", (0, 0), "debug");
        let b = job(2, "FAILED", (3, 0), "batch");
        state.update(&data(vec![a.clone(), b], vec![a.clone()], 140), &ctx);
        let no_rss = AcctJob {
            memory: JobMemory::default(),
            ..job(3, "COMPLETED", (0, 0), "debug")
        };
        state.update(&data(vec![no_rss], vec![], 150), &ctx);
        // A read that failed: the engine does not call update; nothing changes.
        let f = state.families(&ctx);
        let finished = |s: &str, c: &str, p: &str| {
            value(
                &f,
                "slurm_accounting_jobs_finished_total",
                &[
                    ("state", s),
                    ("exit_class", c),
                    ("partition", p),
                    ("account", "lab"),
                ],
            )
        };
        assert_eq!(finished("completed", "success", "debug"), Some(2.0));
        assert_eq!(finished("failed", "failure", "batch"), Some(1.0));
        let eff = |suffix: &str, p: &str| {
            value(
                &f,
                &format!("slurm_accounting_job_cpu_efficiency_ratio{suffix}"),
                &[("partition", p)],
            )
        };
        assert_eq!(eff("_count", "debug"), Some(2.0));
        assert_eq!(eff("_sum", "debug"), Some(1.5));
        let mem = |suffix: &str, p: &str| {
            value(
                &f,
                &format!("slurm_accounting_job_memory_efficiency_ratio{suffix}"),
                &[("partition", p)],
            )
        };
        assert_eq!(mem("_count", "debug"), Some(1.0), "job 3 has no MaxRSS");
        assert_eq!(mem("_sum", "debug"), Some(0.25));
        assert_eq!(mem("_count", "batch"), Some(1.0));
        let wait = value(
            &f,
            "slurm_accounting_job_queue_wait_seconds_bucket",
            &[("partition", "debug"), ("qos", "normal"), ("le", "30")],
        );
        assert_eq!(wait, Some(1.0));
        assert_eq!(
            value(&f, "slurm_accounting_watermark_timestamp_seconds", &[]),
            Some(150.0)
        );
    }
}

//! Scheduler: everything `sdiag` reports. Durations in seconds; Slurm's cumulative
//! counts (reset daily at 00:00 UTC, on `sdiag -r` and on restart) as counters, with
//! the time of the last reset so resets are visible.

use super::{Collect, CollectorDef, Context};
use crate::exposition::{Family, MetricType};
use crate::model::{DataKind, Diag, SlurmData};

pub const DEF: CollectorDef = CollectorDef {
    name: "scheduler",
    description: "sdiag: threads, agent and DBD queues, main and backfill cycles, job counters, RPCs by message type",
    enabled_by_default: true,
    needs: &[DataKind::Diag],
    collect: Collect::Pure(collect),
};

const US: f64 = 1e-6;

/// How a Diag field becomes a sample: metric name, help, type, and the scale
/// applied to Slurm's value (1e-6 for microseconds).
struct Field {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    scale: f64,
    get: fn(&Diag) -> Option<f64>,
}

macro_rules! field {
    ($name:literal, $kind:ident, $scale:expr, $help:literal, $f:ident) => {
        Field {
            name: $name,
            help: $help,
            kind: MetricType::$kind,
            scale: $scale,
            get: |d: &Diag| d.$f.map(|v| v as f64),
        }
    };
}

const FIELDS: &[Field] = &[
    field!(
        "slurm_scheduler_threads",
        Gauge,
        1.0,
        "slurmctld server threads in use",
        server_thread_count
    ),
    field!(
        "slurm_scheduler_agent_queue_size",
        Gauge,
        1.0,
        "Outgoing RPCs queued for agent threads",
        agent_queue_size
    ),
    field!(
        "slurm_scheduler_agents",
        Gauge,
        1.0,
        "Agents (RPC fan-outs) in progress",
        agent_count
    ),
    field!(
        "slurm_scheduler_agent_threads",
        Gauge,
        1.0,
        "Threads used by agents",
        agent_thread_count
    ),
    field!(
        "slurm_scheduler_dbd_agent_queue_size",
        Gauge,
        1.0,
        "Messages queued for slurmdbd (grows when slurmdbd is unreachable)",
        dbd_agent_queue_size
    ),
    field!(
        "slurm_scheduler_gettimeofday_latency_seconds",
        Gauge,
        US,
        "Time of 1000 gettimeofday() calls, a measure of clock-source cost",
        gettimeofday_latency_us
    ),
    field!(
        "slurm_scheduler_jobs_submitted",
        Counter,
        1.0,
        "Jobs submitted since the statistics were last reset",
        jobs_submitted
    ),
    field!(
        "slurm_scheduler_jobs_started",
        Counter,
        1.0,
        "Jobs started since the statistics were last reset",
        jobs_started
    ),
    field!(
        "slurm_scheduler_jobs_completed",
        Counter,
        1.0,
        "Jobs completed since the statistics were last reset",
        jobs_completed
    ),
    field!(
        "slurm_scheduler_jobs_canceled",
        Counter,
        1.0,
        "Jobs canceled since the statistics were last reset",
        jobs_canceled
    ),
    field!(
        "slurm_scheduler_jobs_failed",
        Counter,
        1.0,
        "Jobs failed since the statistics were last reset",
        jobs_failed
    ),
    field!(
        "slurm_scheduler_jobs_pending",
        Gauge,
        1.0,
        "Pending jobs as sdiag counts them",
        jobs_pending
    ),
    field!(
        "slurm_scheduler_jobs_running",
        Gauge,
        1.0,
        "Running jobs as sdiag counts them",
        jobs_running
    ),
    field!(
        "slurm_scheduler_job_states_timestamp_seconds",
        Gauge,
        1.0,
        "When sdiag's pending/running job counts were taken",
        job_states_ts
    ),
    field!(
        "slurm_scheduler_cycle_last_seconds",
        Gauge,
        US,
        "Duration of the last main scheduling cycle",
        schedule_cycle_last_us
    ),
    field!(
        "slurm_scheduler_cycle_max_seconds",
        Gauge,
        US,
        "Longest main scheduling cycle since the last reset",
        schedule_cycle_max_us
    ),
    field!(
        "slurm_scheduler_cycle_mean_seconds",
        Gauge,
        US,
        "Mean main scheduling cycle since the last reset",
        schedule_cycle_mean_us
    ),
    field!(
        "slurm_scheduler_cycles",
        Counter,
        1.0,
        "Main scheduling cycles since the last reset",
        schedule_cycle_total
    ),
    field!(
        "slurm_scheduler_cycle_seconds",
        Counter,
        US,
        "Time spent in main scheduling cycles since the last reset",
        schedule_cycle_sum_us
    ),
    field!(
        "slurm_scheduler_cycle_mean_depth",
        Gauge,
        1.0,
        "Mean number of jobs examined per main cycle",
        schedule_cycle_mean_depth
    ),
    field!(
        "slurm_scheduler_cycles_per_minute",
        Gauge,
        1.0,
        "Main scheduling cycles per minute",
        schedule_cycle_per_minute
    ),
    field!(
        "slurm_scheduler_queue_length",
        Gauge,
        1.0,
        "Jobs in the main scheduler's queue at the last cycle",
        schedule_queue_length
    ),
    field!(
        "slurm_scheduler_backfilled_jobs",
        Counter,
        1.0,
        "Jobs started by backfill since slurmctld started",
        bf_backfilled_jobs
    ),
    field!(
        "slurm_scheduler_backfill_last_backfilled_jobs",
        Gauge,
        1.0,
        "Jobs started by backfill since the last statistics cycle start",
        bf_last_backfilled_jobs
    ),
    field!(
        "slurm_scheduler_backfilled_het_jobs",
        Counter,
        1.0,
        "Heterogeneous job components started by backfill",
        bf_backfilled_het_jobs
    ),
    field!(
        "slurm_scheduler_backfill_cycles",
        Counter,
        1.0,
        "Backfill cycles since the last reset",
        bf_cycle_counter
    ),
    field!(
        "slurm_scheduler_backfill_cycle_seconds",
        Counter,
        US,
        "Time spent in backfill cycles since the last reset",
        bf_cycle_sum_us
    ),
    field!(
        "slurm_scheduler_backfill_cycle_last_seconds",
        Gauge,
        US,
        "Duration of the last backfill cycle",
        bf_cycle_last_us
    ),
    field!(
        "slurm_scheduler_backfill_cycle_max_seconds",
        Gauge,
        US,
        "Longest backfill cycle since the last reset",
        bf_cycle_max_us
    ),
    field!(
        "slurm_scheduler_backfill_cycle_mean_seconds",
        Gauge,
        US,
        "Mean backfill cycle since the last reset",
        bf_cycle_mean_us
    ),
    field!(
        "slurm_scheduler_backfill_depth_last",
        Gauge,
        1.0,
        "Jobs examined in the last backfill cycle",
        bf_last_depth
    ),
    field!(
        "slurm_scheduler_backfill_depth_try_last",
        Gauge,
        1.0,
        "Jobs tried for start in the last backfill cycle",
        bf_last_depth_try
    ),
    field!(
        "slurm_scheduler_backfill_depth_mean",
        Gauge,
        1.0,
        "Mean jobs examined per backfill cycle",
        bf_depth_mean
    ),
    field!(
        "slurm_scheduler_backfill_depth_try_mean",
        Gauge,
        1.0,
        "Mean jobs tried per backfill cycle",
        bf_depth_mean_try
    ),
    field!(
        "slurm_scheduler_backfill_queue_length",
        Gauge,
        1.0,
        "Jobs in the backfill queue at the last cycle",
        bf_queue_len
    ),
    field!(
        "slurm_scheduler_backfill_queue_length_mean",
        Gauge,
        1.0,
        "Mean backfill queue length",
        bf_queue_len_mean
    ),
    field!(
        "slurm_scheduler_backfill_table_size",
        Gauge,
        1.0,
        "Time slots in the backfill table at the last cycle",
        bf_table_size
    ),
    field!(
        "slurm_scheduler_backfill_table_size_mean",
        Gauge,
        1.0,
        "Mean backfill table size",
        bf_table_size_mean
    ),
    field!(
        "slurm_scheduler_backfill_last_cycle_timestamp_seconds",
        Gauge,
        1.0,
        "When the last backfill cycle ran",
        bf_when_last_cycle
    ),
    field!(
        "slurm_scheduler_stats_reset_timestamp_seconds",
        Gauge,
        1.0,
        "When the scheduler statistics were last reset (daily at 00:00 UTC, sdiag -r, restart)",
        req_time_start
    ),
];

fn collect(data: &SlurmData, ctx: &Context) -> Vec<Family> {
    let Some(diag) = data.diag.as_deref() else {
        return Vec::new();
    };
    let mut families: Vec<Family> = FIELDS
        .iter()
        .map(|f| {
            let mut family = Family::new(f.name, f.help, f.kind);
            family.push_opt(ctx.labels(&[]), (f.get)(diag).map(|v| v * f.scale));
            family
        })
        .collect();
    let mut active = Family::gauge(
        "slurm_scheduler_backfill_active",
        "1 while a backfill cycle is running",
    );
    active.push_opt(
        ctx.labels(&[]),
        diag.bf_active.map(|b| if b { 1.0 } else { 0.0 }),
    );
    families.push(active);

    let mut rpcs = Family::counter(
        "slurm_scheduler_rpcs",
        "RPCs received by message type since the last reset",
    );
    let mut rpc_time = Family::counter(
        "slurm_scheduler_rpc_duration_seconds",
        "Time slurmctld spent on RPCs by message type since the last reset",
    );
    for rpc in &diag.rpcs_by_message_type {
        let labels = ctx.labels(&[("message_type", &rpc.name)]);
        rpcs.push(labels.clone(), rpc.count as f64);
        rpc_time.push(labels, rpc.total_time_us as f64 * US);
    }
    families.push(rpcs);
    families.push(rpc_time);
    families
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::testutil::{ctx, value};
    use crate::model::RpcStat;
    use std::sync::Arc;

    #[test]
    fn microseconds_become_seconds_and_absent_stays_absent() {
        let diag = Diag {
            server_thread_count: Some(3),
            schedule_cycle_last_us: Some(1500),
            jobs_submitted: Some(42),
            rpcs_by_message_type: vec![RpcStat {
                name: "REQUEST_PING".into(),
                count: 7,
                total_time_us: 2_000_000,
            }],
            ..Default::default()
        };
        let data = SlurmData {
            diag: Some(Arc::new(diag)),
            ..Default::default()
        };
        let f = collect(&data, &ctx());
        assert_eq!(value(&f, "slurm_scheduler_threads", &[]), Some(3.0));
        assert_eq!(
            value(&f, "slurm_scheduler_cycle_last_seconds", &[]),
            Some(0.0015)
        );
        assert_eq!(
            value(&f, "slurm_scheduler_jobs_submitted_total", &[]),
            Some(42.0)
        );
        assert_eq!(
            value(
                &f,
                "slurm_scheduler_rpcs_total",
                &[("message_type", "REQUEST_PING")]
            ),
            Some(7.0)
        );
        assert_eq!(
            value(
                &f,
                "slurm_scheduler_rpc_duration_seconds_total",
                &[("message_type", "REQUEST_PING")]
            ),
            Some(2.0)
        );
        assert_eq!(
            value(&f, "slurm_scheduler_backfill_cycles_total", &[]),
            None
        );
    }
}

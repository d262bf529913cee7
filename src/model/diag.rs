//! Scheduler statistics (`sdiag`, REST `/diag`). Times are kept in Slurm's
//! microseconds here; collectors convert to seconds.

/// Everything `sdiag` reports. `None` = not reported by this Slurm version.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diag {
    /// When sdiag took this sample, seconds since the epoch.
    pub req_time: Option<i64>,
    /// Last reset of the statistics ("Data since"), seconds since the epoch.
    pub req_time_start: Option<i64>,
    pub server_thread_count: Option<u64>,
    pub agent_queue_size: Option<u64>,
    pub agent_count: Option<u64>,
    pub agent_thread_count: Option<u64>,
    pub dbd_agent_queue_size: Option<u64>,
    pub gettimeofday_latency_us: Option<u64>,
    pub jobs_submitted: Option<u64>,
    pub jobs_started: Option<u64>,
    pub jobs_completed: Option<u64>,
    pub jobs_canceled: Option<u64>,
    pub jobs_failed: Option<u64>,
    pub jobs_pending: Option<u64>,
    pub jobs_running: Option<u64>,
    pub job_states_ts: Option<i64>,
    pub schedule_cycle_last_us: Option<u64>,
    pub schedule_cycle_max_us: Option<u64>,
    pub schedule_cycle_total: Option<u64>,
    pub schedule_cycle_sum_us: Option<u64>,
    pub schedule_cycle_mean_us: Option<u64>,
    pub schedule_cycle_mean_depth: Option<u64>,
    pub schedule_cycle_per_minute: Option<u64>,
    pub schedule_queue_length: Option<u64>,
    pub bf_backfilled_jobs: Option<u64>,
    pub bf_last_backfilled_jobs: Option<u64>,
    pub bf_backfilled_het_jobs: Option<u64>,
    pub bf_cycle_counter: Option<u64>,
    pub bf_cycle_sum_us: Option<u64>,
    pub bf_cycle_last_us: Option<u64>,
    pub bf_cycle_max_us: Option<u64>,
    pub bf_cycle_mean_us: Option<u64>,
    pub bf_last_depth: Option<u64>,
    pub bf_last_depth_try: Option<u64>,
    pub bf_depth_mean: Option<u64>,
    pub bf_depth_mean_try: Option<u64>,
    pub bf_queue_len: Option<u64>,
    pub bf_queue_len_mean: Option<u64>,
    pub bf_table_size: Option<u64>,
    pub bf_table_size_mean: Option<u64>,
    pub bf_when_last_cycle: Option<i64>,
    pub bf_active: Option<bool>,
    pub rpcs_by_message_type: Vec<RpcStat>,
    pub rpcs_by_user: Vec<RpcStat>,
}

/// RPC counts since the last reset, by message type or by user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RpcStat {
    /// Message type (`REQUEST_PARTITION_INFO`) or user name.
    pub name: String,
    pub count: u64,
    pub total_time_us: u64,
}

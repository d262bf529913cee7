//! `/diag` (and `sdiag --json`, 23.02+): the `statistics` object. Names are
//! sdiag's own in every version; times are microseconds; v0.0.40+ wraps the four
//! timestamps in `{set, number}` and v0.0.41+ `average_time` too (unused here:
//! the model keeps counts and totals). `bf_cycle_max` is missing in v0.0.39–40.

use serde::de::MapAccess;
use serde::Deserialize;

use super::document::Body;
use super::value::{record_list, FlexBool, Num};
use crate::model::{Diag, RpcStat};

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawDiag {
    req_time: Num,
    req_time_start: Num,
    server_thread_count: Num,
    agent_queue_size: Num,
    agent_count: Num,
    agent_thread_count: Num,
    dbd_agent_queue_size: Num,
    gettimeofday_latency: Num,
    schedule_cycle_max: Num,
    schedule_cycle_last: Num,
    schedule_cycle_sum: Num,
    schedule_cycle_total: Num,
    schedule_cycle_mean: Num,
    schedule_cycle_mean_depth: Num,
    schedule_cycle_per_minute: Num,
    schedule_queue_length: Num,
    jobs_submitted: Num,
    jobs_started: Num,
    jobs_completed: Num,
    jobs_canceled: Num,
    jobs_failed: Num,
    jobs_pending: Num,
    jobs_running: Num,
    job_states_ts: Num,
    bf_backfilled_jobs: Num,
    bf_last_backfilled_jobs: Num,
    bf_backfilled_het_jobs: Num,
    bf_cycle_counter: Num,
    bf_cycle_mean: Num,
    bf_depth_mean: Num,
    bf_depth_mean_try: Num,
    bf_cycle_sum: Num,
    bf_cycle_last: Num,
    bf_cycle_max: Num,
    bf_last_depth: Num,
    bf_last_depth_try: Num,
    bf_queue_len: Num,
    bf_queue_len_mean: Num,
    bf_table_size: Num,
    bf_table_size_mean: Num,
    bf_when_last_cycle: Num,
    bf_active: FlexBool,
    #[serde(deserialize_with = "record_list")]
    rpcs_by_message_type: Option<Vec<RawRpc>>,
    #[serde(deserialize_with = "record_list")]
    rpcs_by_user: Option<Vec<RawRpc>>,
}

/// `{message_type, type_id, count, average_time, total_time}` or
/// `{user, user_id, count, ...}`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RawRpc {
    message_type: Option<String>,
    type_id: Num,
    user: Option<String>,
    user_id: Num,
    count: Num,
    total_time: Num,
}

impl RawRpc {
    /// The name, or the numeric id when the name is missing.
    fn into_stat(self) -> Option<RpcStat> {
        let name = self
            .message_type
            .or(self.user)
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .or_else(|| {
                self.type_id
                    .counter()
                    .or(self.user_id.counter())
                    .map(|id| id.to_string())
            })?;
        Some(RpcStat {
            name,
            count: self.count.counter()?,
            total_time_us: self.total_time.counter()?,
        })
    }
}

impl From<RawDiag> for Diag {
    fn from(r: RawDiag) -> Diag {
        let rpcs = |list: Option<Vec<RawRpc>>| {
            list.unwrap_or_default()
                .into_iter()
                .filter_map(RawRpc::into_stat)
                .collect()
        };
        Diag {
            req_time: r.req_time.timestamp(),
            req_time_start: r.req_time_start.timestamp(),
            server_thread_count: r.server_thread_count.counter(),
            agent_queue_size: r.agent_queue_size.counter(),
            agent_count: r.agent_count.counter(),
            agent_thread_count: r.agent_thread_count.counter(),
            dbd_agent_queue_size: r.dbd_agent_queue_size.counter(),
            gettimeofday_latency_us: r.gettimeofday_latency.counter(),
            jobs_submitted: r.jobs_submitted.counter(),
            jobs_started: r.jobs_started.counter(),
            jobs_completed: r.jobs_completed.counter(),
            jobs_canceled: r.jobs_canceled.counter(),
            jobs_failed: r.jobs_failed.counter(),
            jobs_pending: r.jobs_pending.counter(),
            jobs_running: r.jobs_running.counter(),
            job_states_ts: r.job_states_ts.timestamp(),
            schedule_cycle_last_us: r.schedule_cycle_last.counter(),
            schedule_cycle_max_us: r.schedule_cycle_max.counter(),
            schedule_cycle_total: r.schedule_cycle_total.counter(),
            schedule_cycle_sum_us: r.schedule_cycle_sum.counter(),
            schedule_cycle_mean_us: r.schedule_cycle_mean.counter(),
            schedule_cycle_mean_depth: r.schedule_cycle_mean_depth.counter(),
            schedule_cycle_per_minute: r.schedule_cycle_per_minute.counter(),
            schedule_queue_length: r.schedule_queue_length.counter(),
            bf_backfilled_jobs: r.bf_backfilled_jobs.counter(),
            bf_last_backfilled_jobs: r.bf_last_backfilled_jobs.counter(),
            bf_backfilled_het_jobs: r.bf_backfilled_het_jobs.counter(),
            bf_cycle_counter: r.bf_cycle_counter.counter(),
            bf_cycle_sum_us: r.bf_cycle_sum.counter(),
            bf_cycle_last_us: r.bf_cycle_last.counter(),
            bf_cycle_max_us: r.bf_cycle_max.counter(),
            bf_cycle_mean_us: r.bf_cycle_mean.counter(),
            bf_last_depth: r.bf_last_depth.counter(),
            bf_last_depth_try: r.bf_last_depth_try.counter(),
            bf_depth_mean: r.bf_depth_mean.counter(),
            bf_depth_mean_try: r.bf_depth_mean_try.counter(),
            bf_queue_len: r.bf_queue_len.counter(),
            bf_queue_len_mean: r.bf_queue_len_mean.counter(),
            bf_table_size: r.bf_table_size.counter(),
            bf_table_size_mean: r.bf_table_size_mean.counter(),
            bf_when_last_cycle: r.bf_when_last_cycle.timestamp(),
            bf_active: r.bf_active.0,
            rpcs_by_message_type: rpcs(r.rpcs_by_message_type),
            rpcs_by_user: rpcs(r.rpcs_by_user),
        }
    }
}

#[derive(Default)]
pub(super) struct DiagBody {
    pub(super) diag: Option<Diag>,
}

impl Body for DiagBody {
    const KEY: &'static str = "statistics";

    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        if key != "statistics" {
            return Ok(false);
        }
        self.diag = map.next_value::<Option<RawDiag>>()?.map(Diag::from);
        Ok(true)
    }

    fn found(&self) -> bool {
        self.diag.is_some()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::parse_diag;
    use crate::model::text::testdata;
    use crate::model::{Diag, ParseError, RpcStat};

    fn rpc(name: &str, count: u64, total_time_us: u64) -> RpcStat {
        RpcStat {
            name: name.into(),
            count,
            total_time_us,
        }
    }

    fn sample(rel: &str) -> Diag {
        parse_diag(testdata::sample(rel)).unwrap().data
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_38_telegraf() {
        let d = sample("v0.0.38/diag__influxdata_telegraf__gather-diag.json");
        assert_eq!(d.req_time, Some(1_723_103_198));
        assert_eq!(d.req_time_start, Some(1_723_075_200));
        assert_eq!(d.server_thread_count, Some(3));
        assert_eq!(d.gettimeofday_latency_us, Some(21));
        assert_eq!(d.schedule_cycle_max_us, Some(1116));
        assert_eq!(d.schedule_cycle_last_us, Some(298));
        assert_eq!(d.schedule_cycle_total, Some(960));
        assert_eq!(d.schedule_cycle_sum_us, None);
        assert_eq!(d.jobs_submitted, Some(287));
        assert_eq!(d.jobs_running, Some(100));
        assert_eq!(d.job_states_ts, Some(1_723_103_172));
        assert_eq!(d.bf_backfilled_jobs, Some(1626));
        assert_eq!(d.bf_cycle_counter, Some(12));
        assert_eq!(d.bf_cycle_max_us, Some(811));
        assert_eq!(d.bf_cycle_sum_us, None);
        assert_eq!(d.bf_when_last_cycle, Some(1_723_102_514));
        assert_eq!(d.bf_active, Some(false));
        assert_eq!(d.rpcs_by_message_type.len(), 16);
        assert_eq!(
            d.rpcs_by_message_type[0],
            rpc("REQUEST_JOB_INFO", 73_587, 48_479_000)
        );
        assert_eq!(d.rpcs_by_user[1], rpc("atl001", 11_699, 77_353_396));
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_39_cli() {
        let file = testdata::sample("v0.0.39/diag__rivosinc_prometheus-slurm-exporter__sdiag.json");
        let response = parse_diag(file).unwrap();
        assert_eq!(response.meta.release.as_deref(), Some("23.02.4"));
        assert_eq!(response.meta.data_version.as_deref(), Some("v0.0.39"));
        let d = response.data;
        assert_eq!(d.dbd_agent_queue_size, Some(5));
        assert_eq!(d.jobs_pending, Some(13_455));
        assert_eq!(d.schedule_cycle_max_us, Some(1_193_926));
        assert_eq!(d.bf_cycle_sum_us, Some(171_543_834));
        assert_eq!(d.bf_cycle_max_us, None); // missing in v0.0.39
        assert_eq!(d.bf_last_depth, Some(362));
        assert_eq!(d.rpcs_by_user[0], rpc("root", 141_368, 24_828_276_785));
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_40_objects() {
        let d =
            sample("v0.0.40/diag__lcrownover_prometheus-slurm-exporter__V0040OpenapiDiagResp.json");
        assert_eq!(d.req_time, Some(1_726_764_981));
        assert_eq!(d.req_time_start, Some(1_726_704_000));
        assert_eq!(d.job_states_ts, Some(1_726_764_972));
        assert_eq!(d.bf_when_last_cycle, Some(1_726_695_861));
        assert_eq!(d.jobs_pending, Some(25));
        assert_eq!(d.bf_cycle_max_us, None);
        assert_eq!(d.rpcs_by_user[0], rpc("root", 809_723, 151_229_024_182));
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_41_cli_and_rest() {
        let d = sample("v0.0.41/diag__rivosinc_prometheus-slurm-exporter__sdiag_2405.json");
        assert_eq!(d.schedule_cycle_sum_us, Some(10_791));
        assert_eq!(d.bf_when_last_cycle, None); // {set: true, number: 0}
        assert_eq!(
            d.rpcs_by_message_type[0],
            rpc("MESSAGE_NODE_REGISTRATION_STATUS", 6, 4969)
        );
        let d = sample("v0.0.41/diag__influxdata_telegraf__gather-0041-diag.json");
        assert_eq!(d.agent_thread_count, Some(5));
        assert_eq!(d.bf_queue_len, Some(1));
        assert_eq!(d.bf_cycle_max_us, Some(0));
        assert_eq!(d.rpcs_by_user[1], rpc("slurm", 12, 4125));
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_41_synthetic_keeps_data_despite_errors() {
        let file = testdata::sample(
            "v0.0.41/diag__lcrownover_prometheus-slurm-exporter__SlurmV0041GetDiag200Response.json",
        );
        let d = parse_diag(file).unwrap().data;
        assert_eq!(d.req_time, None); // infinite: true
        assert_eq!(d.bf_active, Some(true));
        assert_eq!(d.jobs_submitted, Some(9));
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_44_soperator() {
        let file = testdata::sample("v0.0.44/diag__nebius_soperator__sdiag_rest.json");
        let response = parse_diag(file).unwrap();
        assert_eq!(response.meta.cluster.as_deref(), Some("soperator"));
        assert_eq!(response.meta.release.as_deref(), Some("25.11.5"));
        assert_eq!(response.meta.data_version.as_deref(), Some("v0.0.44"));
        let d = response.data;
        assert_eq!(d.schedule_cycle_sum_us, Some(6_442_450_944));
        assert_eq!(d.schedule_cycle_total, Some(52_833));
        assert_eq!(d.jobs_completed, Some(1275));
        assert_eq!(d.bf_cycle_counter, None); // trimmed sample: no backfill keys
        assert_eq!(d.gettimeofday_latency_us, None);
        assert_eq!(
            d.rpcs_by_message_type[0],
            rpc("REQUEST_NODE_INFO", 205_430, 6_871_947_674)
        );
    }

    #[test]
    fn lab_22_05_rest() {
        let file = testdata::fixture("rest-v0.0.38-diag.json");
        let response = parse_diag(file).unwrap();
        assert_eq!(response.meta.release.as_deref(), Some("22.05.8"));
        assert_eq!(response.meta.data_version.as_deref(), Some("v0.0.38"));
        let d = response.data;
        assert_eq!(d.req_time, Some(1_796_239_206));
        assert_eq!(d.req_time_start, Some(1_796_239_148));
        assert_eq!(d.jobs_pending, Some(26));
        assert_eq!(d.jobs_running, Some(6));
        assert_eq!(d.schedule_cycle_per_minute, Some(0)); // sdiag text leaves it out
        assert_eq!(d.bf_cycle_counter, Some(1));
        assert_eq!(d.bf_when_last_cycle, Some(1_796_239_176));
        assert_eq!(d.bf_active, Some(false));
        // Not reported by 22.05's v0.0.38.
        assert_eq!(d.schedule_cycle_sum_us, None);
        assert_eq!(d.bf_cycle_sum_us, None);
        assert_eq!(d.rpcs_by_message_type[0], rpc("REQUEST_PING", 36, 14_502));
        assert_eq!(
            d.rpcs_by_user,
            vec![rpc("root", 244, 114_623), rpc("labuser", 2, 1_584)]
        );
    }

    #[test]
    fn lab_22_05_rest_agrees_with_sdiag_text() {
        let (json, text) = (
            testdata::fixture("rest-v0.0.38-diag.json"),
            testdata::fixture("sdiag.txt"),
        );
        let json = parse_diag(json).unwrap().data;
        let text = crate::model::text::parse_sdiag(text).unwrap();
        // v0.0.38 of 22.05 has no bf_last_depth(_try), which sdiag prints.
        assert_eq!((json.bf_last_depth, json.bf_last_depth_try), (None, None));
        assert_eq!(
            (text.bf_last_depth, text.bf_last_depth_try),
            (Some(8), Some(8))
        );
        // Otherwise the same second, the same statistics: only the RPC counters
        // moved in between, and sdiag text omits what it cannot average yet.
        let comparable = |d: &Diag| Diag {
            rpcs_by_message_type: Vec::new(),
            rpcs_by_user: Vec::new(),
            schedule_cycle_per_minute: None,
            bf_last_depth: None,
            bf_last_depth_try: None,
            ..d.clone()
        };
        assert_eq!(comparable(&json), comparable(&text));
    }

    #[test]
    fn missing_statistics() {
        assert!(matches!(
            parse_diag(r#"{"meta":{},"errors":[]}"#.as_bytes()),
            Err(ParseError::Json(_))
        ));
        assert!(matches!(
            parse_diag(r#"{"errors":[{"error":"Access denied"}]}"#.as_bytes()),
            Err(ParseError::SlurmErrors(e)) if e == "Access denied"
        ));
        assert!(parse_diag(r#"{"statistics":{"jobs_running":"#.as_bytes()).is_err());
        let empty = parse_diag(r#"{"statistics":{}}"#.as_bytes()).unwrap().data;
        assert_eq!(empty, Diag::default());
    }
}

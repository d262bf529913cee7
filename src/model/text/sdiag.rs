//! `sdiag` text (no `--json` before 23.02). Layout checked against 22.05, 24.11 and
//! 26.05 output: the same labels, plus sections later versions add
//! (`Main scheduler exit:`, `Backfill exit`, `Pending RPC statistics`), which are
//! skipped like every other line we do not know.

use std::io::BufRead;

use super::{parse_u64, Lines};
use crate::model::{Diag, ParseError, RpcStat};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Section {
    /// Header and the unindented counters (threads, agents, jobs).
    General,
    /// `Main schedule statistics (microseconds):`
    Main,
    /// `Backfilling stats`
    Backfill,
    /// `Remote Procedure Call statistics by message type`
    RpcByType,
    /// `Remote Procedure Call statistics by user`
    RpcByUser,
    /// Anything else with indented lines (`Main scheduler exit:`, `Backfill exit`, ...).
    Skipped,
}

/// Parses `sdiag` output. Times stay in microseconds, as sdiag prints them.
/// Values sdiag leaves out (means before the first cycle, `bf_cycle_sum`, ...)
/// stay `None`. Input without a single sdiag statistic is an error.
pub fn parse_sdiag(reader: impl BufRead) -> Result<Diag, ParseError> {
    let mut lines = Lines::new(reader);
    let mut diag = Diag::default();
    let mut section = Section::General;
    let mut recognised = 0usize;
    while let Some((_, line)) = lines.next_line()? {
        let text = line.trim();
        if text.is_empty() || text.starts_with("****") {
            continue;
        }
        // Section headers are not indented; any other unindented line ends a section.
        if !line.starts_with([' ', '\t']) {
            if let Some(next) = section_header(&mut diag, text) {
                section = next;
                recognised += 1;
                continue;
            }
            section = Section::General;
        }
        if general_line(&mut diag, text) {
            recognised += 1;
            continue;
        }
        let known = match section {
            Section::General | Section::Skipped => false,
            Section::Main => main_line(&mut diag, text),
            Section::Backfill => backfill_line(&mut diag, text),
            Section::RpcByType => push_rpc(&mut diag.rpcs_by_message_type, text),
            Section::RpcByUser => push_rpc(&mut diag.rpcs_by_user, text),
        };
        if known {
            recognised += 1;
        }
    }
    if recognised == 0 {
        return Err(ParseError::Text {
            line: 1,
            message: "no sdiag statistics found".into(),
        });
    }
    Ok(diag)
}

/// The section an unindented line opens, if it is a section header.
fn section_header(diag: &mut Diag, text: &str) -> Option<Section> {
    if text.starts_with("Main schedule statistics") {
        Some(Section::Main)
    } else if text.starts_with("Backfilling stats") {
        // "Backfilling stats (WARNING: data obtained in the middle of backfilling execution.)"
        diag.bf_active = Some(text.contains("WARNING"));
        Some(Section::Backfill)
    } else if text.starts_with("Remote Procedure Call statistics by message type") {
        Some(Section::RpcByType)
    } else if text.starts_with("Remote Procedure Call statistics by user") {
        Some(Section::RpcByUser)
    } else if text.starts_with("Main scheduler exit")
        || text.starts_with("Backfill exit")
        || text.starts_with("Pending RPC")
    {
        Some(Section::Skipped)
    } else {
        None
    }
}

/// Lines that mean the same wherever they appear.
fn general_line(diag: &mut Diag, text: &str) -> bool {
    if let Some(rest) = text.strip_prefix("sdiag output at") {
        diag.req_time = epoch_in_parens(rest);
        return true;
    }
    if let Some(rest) = text.strip_prefix("Data since") {
        diag.req_time_start = epoch_in_parens(rest);
        return true;
    }
    if text.starts_with("Latency for 1000 calls to gettimeofday()") {
        // "Latency for 1000 calls to gettimeofday(): 25 microseconds"
        diag.gettimeofday_latency_us = text
            .rsplit_once("):")
            .and_then(|(_, v)| v.split_whitespace().next())
            .and_then(parse_u64);
        return true;
    }
    let Some((label, value)) = text.split_once(':') else {
        return false;
    };
    let field = match label.trim() {
        "Server thread count" => &mut diag.server_thread_count,
        "Agent queue size" => &mut diag.agent_queue_size,
        "Agent count" => &mut diag.agent_count,
        "Agent thread count" => &mut diag.agent_thread_count,
        "DBD Agent queue size" => &mut diag.dbd_agent_queue_size,
        "Jobs submitted" => &mut diag.jobs_submitted,
        "Jobs started" => &mut diag.jobs_started,
        "Jobs completed" => &mut diag.jobs_completed,
        "Jobs canceled" => &mut diag.jobs_canceled,
        "Jobs failed" => &mut diag.jobs_failed,
        "Jobs pending" => &mut diag.jobs_pending,
        "Jobs running" => &mut diag.jobs_running,
        "Job states ts" => {
            diag.job_states_ts = epoch_in_parens(value);
            return true;
        }
        _ => return false,
    };
    *field = parse_u64(value);
    true
}

fn main_line(diag: &mut Diag, text: &str) -> bool {
    let Some((label, value)) = text.split_once(':') else {
        return false;
    };
    let field = match label.trim() {
        "Last cycle" => &mut diag.schedule_cycle_last_us,
        "Max cycle" => &mut diag.schedule_cycle_max_us,
        "Total cycles" => &mut diag.schedule_cycle_total,
        "Mean cycle" => &mut diag.schedule_cycle_mean_us,
        "Mean depth cycle" => &mut diag.schedule_cycle_mean_depth,
        "Cycles per minute" => &mut diag.schedule_cycle_per_minute,
        "Last queue length" => &mut diag.schedule_queue_length,
        _ => return false,
    };
    *field = parse_u64(value);
    true
}

fn backfill_line(diag: &mut Diag, text: &str) -> bool {
    let Some((label, value)) = text.split_once(':') else {
        return false;
    };
    let field = match label.trim() {
        "Total backfilled jobs (since last slurm start)" => &mut diag.bf_backfilled_jobs,
        "Total backfilled jobs (since last stats cycle start)" => &mut diag.bf_last_backfilled_jobs,
        "Total backfilled heterogeneous job components" => &mut diag.bf_backfilled_het_jobs,
        "Total cycles" => &mut diag.bf_cycle_counter,
        "Last cycle when" => {
            // "Last cycle when: Wed Dec 02 19:13:26 2026 (1796238806)" or "N/A"
            diag.bf_when_last_cycle = epoch_in_parens(value);
            return true;
        }
        "Last cycle" => &mut diag.bf_cycle_last_us,
        "Max cycle" => &mut diag.bf_cycle_max_us,
        "Mean cycle" => &mut diag.bf_cycle_mean_us,
        "Last depth cycle" => &mut diag.bf_last_depth,
        "Last depth cycle (try sched)" => &mut diag.bf_last_depth_try,
        "Depth Mean" => &mut diag.bf_depth_mean,
        "Depth Mean (try depth)" => &mut diag.bf_depth_mean_try,
        "Last queue length" => &mut diag.bf_queue_len,
        "Queue length mean" => &mut diag.bf_queue_len_mean,
        "Last table size" => &mut diag.bf_table_size,
        "Mean table size" => &mut diag.bf_table_size_mean,
        _ => return false,
    };
    *field = parse_u64(value);
    true
}

/// `REQUEST_PARTITION_INFO ( 2009) count:60 ave_time:118 total_time:7098` or
/// `root ( 0) count:207 ave_time:390 total_time:80853`. Names longer than the
/// column touch the parenthesis (`averyveryverylongname(1234)`); later versions
/// may add `queued:` and friends, which are ignored.
fn push_rpc(list: &mut Vec<RpcStat>, text: &str) -> bool {
    let Some(count_at) = text.find("count:") else {
        return false;
    };
    let head = &text[..count_at];
    let Some(paren) = head.rfind('(') else {
        return false;
    };
    let name = head[..paren].trim();
    let mut count = None;
    let mut total_time = None;
    for token in text[count_at..].split_whitespace() {
        if let Some((key, value)) = token.split_once(':') {
            match key {
                "count" => count = parse_u64(value),
                "total_time" => total_time = parse_u64(value),
                _ => {}
            }
        }
    }
    match (name.is_empty(), count, total_time) {
        (false, Some(count), Some(total_time_us)) => {
            list.push(RpcStat {
                name: name.to_string(),
                count,
                total_time_us,
            });
            true
        }
        _ => false,
    }
}

/// The epoch in the last `( )` of `... Wed Dec 02 19:13:26 2026 (1796238806)`.
fn epoch_in_parens(text: &str) -> Option<i64> {
    let open = text.rfind('(')?;
    let close = open + text[open..].find(')')?;
    super::parse_epoch(&text[open + 1..close])
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::model::text::testdata;

    fn rpc(name: &str, count: u64, total_time_us: u64) -> RpcStat {
        RpcStat {
            name: name.into(),
            count,
            total_time_us,
        }
    }

    #[test]
    fn lab_22_05_every_field() {
        let file = testdata::fixture("sdiag.txt");
        let diag = parse_sdiag(file).unwrap();
        let expected = Diag {
            req_time: Some(1_796_239_206),
            req_time_start: Some(1_796_239_148),
            server_thread_count: Some(3),
            agent_queue_size: Some(0),
            agent_count: Some(0),
            agent_thread_count: Some(0),
            dbd_agent_queue_size: Some(0),
            gettimeofday_latency_us: Some(23),
            jobs_submitted: Some(35),
            jobs_started: Some(8),
            jobs_completed: Some(2),
            jobs_canceled: Some(1),
            jobs_failed: Some(0),
            jobs_pending: Some(26),
            jobs_running: Some(6),
            job_states_ts: Some(1_796_239_178),
            schedule_cycle_last_us: Some(106),
            schedule_cycle_max_us: Some(1696),
            schedule_cycle_total: Some(4),
            schedule_cycle_sum_us: None,
            schedule_cycle_mean_us: Some(596),
            schedule_cycle_mean_depth: Some(5),
            // Printed only once the statistics are more than 60 s old (58 s here).
            schedule_cycle_per_minute: None,
            schedule_queue_length: Some(6),
            bf_backfilled_jobs: Some(0),
            bf_last_backfilled_jobs: Some(0),
            bf_backfilled_het_jobs: Some(0),
            bf_cycle_counter: Some(1),
            bf_cycle_sum_us: None,
            bf_cycle_last_us: Some(438),
            bf_cycle_max_us: Some(438),
            bf_cycle_mean_us: Some(438),
            bf_last_depth: Some(8),
            bf_last_depth_try: Some(8),
            bf_depth_mean: Some(8),
            bf_depth_mean_try: Some(8),
            bf_queue_len: Some(6),
            bf_queue_len_mean: Some(6),
            bf_table_size: Some(1),
            bf_table_size_mean: Some(1),
            bf_when_last_cycle: Some(1_796_239_176),
            bf_active: Some(false),
            rpcs_by_message_type: vec![
                rpc("REQUEST_PARTITION_INFO", 75, 30_541),
                rpc("REQUEST_JOB_INFO", 41, 24_049),
                rpc("REQUEST_PING", 34, 13_679),
                rpc("REQUEST_NODE_INFO", 23, 10_097),
                rpc("REQUEST_BUILD_INFO", 19, 5_496),
                rpc("REQUEST_STATS_INFO", 17, 5_242),
                rpc("REQUEST_SUBMIT_BATCH_JOB", 13, 14_643),
                rpc("REQUEST_AUTH_TOKEN", 3, 2_600),
                rpc("REQUEST_COMPLETE_BATCH_SCRIPT", 2, 2_469),
                rpc("MESSAGE_NODE_REGISTRATION_STATUS", 2, 504),
                rpc("REQUEST_UPDATE_NODE", 1, 1_636),
                rpc("REQUEST_KILL_JOB", 1, 497),
            ],
            rpcs_by_user: vec![rpc("root", 229, 109_869), rpc("labuser", 2, 1_584)],
        };
        assert_eq!(diag, expected);
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn slurm_24_11_layout() {
        let file = testdata::sample("slurm-24.11.7/sdiag__SckyzO_slurm_exporter__scheduler.txt");
        let diag = parse_sdiag(file).unwrap();
        assert_eq!(diag.req_time, Some(1_785_470_428));
        assert_eq!(diag.req_time_start, Some(1_785_470_342));
        assert_eq!(diag.server_thread_count, Some(1));
        assert_eq!(diag.jobs_submitted, Some(15));
        assert_eq!(diag.jobs_started, Some(11));
        assert_eq!(diag.job_states_ts, Some(1_785_470_402));
        assert_eq!(diag.schedule_cycle_last_us, Some(3508));
        assert_eq!(diag.schedule_cycle_mean_depth, Some(3));
        assert_eq!(diag.schedule_queue_length, Some(15));
        // "Main scheduler exit: End of job queue: 5" must not leak into the counters.
        assert_eq!(diag.schedule_cycle_total, Some(5));
        assert_eq!(diag.bf_cycle_counter, Some(0));
        assert_eq!(diag.bf_when_last_cycle, None); // "Last cycle when: N/A"
        assert_eq!(diag.bf_cycle_mean_us, None); // not printed before the first cycle
        assert_eq!(diag.bf_queue_len, Some(0));
        assert_eq!(diag.bf_active, Some(false));
        assert_eq!(diag.gettimeofday_latency_us, Some(14));
        assert_eq!(diag.rpcs_by_message_type.len(), 12);
        assert_eq!(
            diag.rpcs_by_message_type[2],
            rpc("MESSAGE_NODE_REGISTRATION_STATUS", 20, 106_146)
        );
        assert_eq!(diag.rpcs_by_user, vec![rpc("user5", 162, 157_285)]);
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn slurm_26_05_layout() {
        let file = testdata::sample("slurm-26.05.2/sdiag__SckyzO_slurm_exporter__scheduler.txt");
        let diag = parse_sdiag(file).unwrap();
        assert_eq!(diag.req_time, Some(1_785_469_999));
        assert_eq!(diag.jobs_pending, Some(6));
        assert_eq!(diag.jobs_running, Some(8));
        assert_eq!(diag.schedule_cycle_max_us, Some(3634));
        assert_eq!(
            diag.rpcs_by_message_type[0],
            rpc("REQUEST_PARTITION_INFO", 62, 6279)
        );
        assert_eq!(diag.rpcs_by_user, vec![rpc("user6", 193, 116_116)]);
    }

    #[test]
    fn backfill_warning_and_long_names() {
        let text = "\
Backfilling stats (WARNING: data obtained in the middle of backfilling execution.)
\tTotal cycles: 3
\tLast cycle when: Wed Dec 02 19:13:26 2026 (1796238806)

Remote Procedure Call statistics by message type
\tREQUEST_A_VERY_LONG_MESSAGE_TYPE_NAME_OVER_FORTY(12345) count:3      ave_time:10     total_time:30 queued:0 dropped:0

Remote Procedure Call statistics by user
\tsomeone_with_a_long_name(   1000) count:2      ave_time:5      total_time:10

Pending RPC statistics
\tREQUEST_JOB_INFO                        ( 2003) count:4
";
        let diag = parse_sdiag(text.as_bytes()).unwrap();
        assert_eq!(diag.bf_active, Some(true));
        assert_eq!(diag.bf_cycle_counter, Some(3));
        assert_eq!(diag.bf_when_last_cycle, Some(1_796_238_806));
        assert_eq!(
            diag.rpcs_by_message_type,
            vec![rpc(
                "REQUEST_A_VERY_LONG_MESSAGE_TYPE_NAME_OVER_FORTY",
                3,
                30
            )]
        );
        assert_eq!(
            diag.rpcs_by_user,
            vec![rpc("someone_with_a_long_name", 2, 10)]
        );
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_sdiag("".as_bytes()).is_err());
        assert!(parse_sdiag(
            "sdiag: error: slurm_get_statistics: Unable to contact slurm controller\n".as_bytes()
        )
        .is_err());
    }
}

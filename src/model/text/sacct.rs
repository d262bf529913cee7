//! `sacct -a -X -P -n -o` [`SACCT_FORMAT`]: one line per job allocation (no steps),
//! `|`-separated. The node list is last: `None assigned` tells a job that never ran.

use std::io::BufRead;

use super::{parse_epoch, Lines, ParseError};
use crate::model::accounting::{normalize_state, AcctJob};

/// The fields read, in order. Times are epochs (`SLURM_TIME_FORMAT=%s`).
pub const SACCT_FORMAT: &str =
    "JobIDRaw,State,Partition,Account,QOS,Eligible,Start,End,ElapsedRaw,AllocCPUS,TotalCPU,ExitCode,NodeList";

const FIELDS: usize = 13;

/// Parses the output of `sacct -a -X -P -n -o SACCT_FORMAT`. Array-job lines
/// that stand for pending tasks (`JobIDRaw` of the array, no start) come through
/// as pending jobs and are ignored by the watermark.
pub fn parse_sacct(reader: impl BufRead) -> Result<Vec<AcctJob>, ParseError> {
    let mut lines = Lines::new(reader);
    let mut jobs = Vec::new();
    while let Some((n, line)) = lines.next_line()? {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.splitn(FIELDS, '|').collect();
        let err = |message: String| ParseError::Text { line: n, message };
        if f.len() != FIELDS {
            return Err(err(format!(
                "expected {FIELDS} |-separated fields, found {}",
                f.len()
            )));
        }
        // `123.batch` and `123+0` never appear with -X; a het job's `123+1` does.
        let id = f[0]
            .split(['+', '.'])
            .next()
            .and_then(|id| id.trim().parse::<u64>().ok())
            .ok_or_else(|| err(format!("bad JobIDRaw {:?}", f[0])))?;
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let node_list = f[12].trim();
        jobs.push(AcctJob {
            id,
            state: normalize_state(f[1]),
            partition: text(f[2]),
            account: text(f[3]),
            qos: text(f[4]),
            eligible: parse_epoch(f[5]),
            start: parse_epoch(f[6]),
            end: parse_epoch(f[7]),
            ran: !node_list.is_empty() && node_list != "None assigned",
            elapsed_seconds: f[8].trim().parse().ok(),
            alloc_cpus: f[9].trim().parse().ok(),
            total_cpu_seconds: duration(f[10]).filter(|s| *s > 0.0),
            exit: exit_code(f[11]),
        });
    }
    Ok(jobs)
}

/// `return_code:signal`.
fn exit_code(s: &str) -> Option<(u32, u32)> {
    let (code, signal) = s.trim().split_once(':')?;
    Some((code.parse().ok()?, signal.parse().ok()?))
}

/// sacct's CPU time: `[D-][HH:]MM:SS[.mmm]` (`00:01.996`, `01:02:03`, `1-02:03:04`).
/// Exactly zero (all jobacct_gather/none records) is returned as `0.0`; the caller
/// decides what that means.
pub fn duration(s: &str) -> Option<f64> {
    let s = s.trim();
    let (days, rest) = match s.split_once('-') {
        Some((d, rest)) => (d.parse::<u64>().ok()?, rest),
        None => (0, s),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (h, m, sec) = match parts.as_slice() {
        [m, sec] => (0, m.parse::<u64>().ok()?, *sec),
        [h, m, sec] => (h.parse::<u64>().ok()?, m.parse::<u64>().ok()?, *sec),
        _ => return None,
    };
    let sec: f64 = sec
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)?;
    // In floating point: a mangled `99999999999999-…` must not overflow.
    Some(days as f64 * 86_400.0 + h as f64 * 3_600.0 + m as f64 * 60.0 + sec)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_formats() {
        assert_eq!(duration("00:00:00"), Some(0.0));
        assert_eq!(duration("00:01.500"), Some(1.5));
        assert_eq!(duration("01:02:03"), Some(3723.0));
        assert_eq!(duration("1-02:03:04"), Some(93784.0));
        assert_eq!(duration(""), None);
        assert_eq!(duration("x:y"), None);
        assert_eq!(duration("1:2:3:4"), None);
        assert!(duration("18446744073709551615-18446744073709551615:99:99").is_some());
    }

    #[test]
    fn lab_lines() {
        let text = "\
21|FAILED|batch|root|normal|1796250530|1796250533|1796250533|0|1|00:00:00|3:0|n1
22|FAILED|debug|root|normal|1796250530|1796250533|1796250533|0|1|00:00:00|0:9|n1
23|COMPLETED|debug|root|normal|1796250530|1796250533|1796250535|2|1|00:01.990|0:0|n2
3|CANCELLED by 0|debug|root|normal|Unknown|1796250255|1796250255|0|1|00:00:00|0:0|None assigned
29|PENDING|debug|root|normal|1796250536|Unknown|Unknown|0|2|00:00:00|0:0|None assigned
";
        let jobs = parse_sacct(text.as_bytes()).unwrap();
        assert_eq!(jobs.len(), 5);
        assert_eq!(jobs[0].exit_class(), "failure");
        assert_eq!(jobs[1].exit_class(), "signal");
        assert_eq!(jobs[2].total_cpu_seconds, Some(1.99));
        assert!((jobs[2].cpu_efficiency().unwrap() - 0.995).abs() < 1e-9);
        assert_eq!(
            jobs[0].total_cpu_seconds, None,
            "zero CPU time is not recorded"
        );
        assert_eq!(jobs[3].state, "CANCELLED");
        assert!(!jobs[3].ran && jobs[3].finished());
        assert_eq!(jobs[3].exit_class(), "none");
        assert_eq!(jobs[3].eligible, None);
        assert!(!jobs[4].finished());
        assert_eq!(jobs[4].start, None);
    }

    #[test]
    fn lab_22_05_fixture() {
        let Some(file) = crate::model::text::testdata::fixture("sacct.txt") else {
            return;
        };
        let jobs = parse_sacct(file).unwrap();
        let finished: Vec<_> = jobs.iter().filter(|j| j.finished()).collect();
        assert_eq!(finished.len(), 7);
        let class = |id: u64| jobs.iter().find(|j| j.id == id).map(|j| j.exit_class());
        assert_eq!(class(19), Some("failure"));
        assert_eq!(class(21), Some("failure"));
        assert_eq!(class(22), Some("signal"));
        assert_eq!(class(20), Some("none"));
        assert_eq!(class(18), Some("success"));
        assert_eq!(jobs.iter().filter(|j| j.state == "RUNNING").count(), 6);
    }

    #[test]
    fn bad_lines_are_errors() {
        assert!(parse_sacct("1|COMPLETED|x\n".as_bytes()).is_err());
        let bad_id = "x|COMPLETED|debug|root|normal|1|1|1|0|1|00:00:00|0:0|n1\n";
        assert!(parse_sacct(bad_id.as_bytes()).is_err());
    }
}

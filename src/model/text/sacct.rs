//! `sacct -a -X -P -n -o` [`SACCT_FORMAT`]: one line per job allocation (no steps),
//! `|`-separated. The node list is last: `None assigned` tells a job that never ran.
//!
//! `sacct -a -P -n -o` [`SACCT_MEMORY_FORMAT`] (with steps): the job's line carries
//! its allocation, each step's line its `MaxRSS` (see [`parse_sacct_memory`]).

use std::collections::BTreeMap;
use std::io::BufRead;

use super::{parse_epoch, Lines, ParseError};
use crate::model::accounting::{normalize_state, AcctJob, JobMemory};
use crate::model::tres::{size_bytes, tres_count, tres_memory_bytes};

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
            memory: JobMemory::default(),
        });
    }
    Ok(jobs)
}

/// The fields of the memory read, in order. `AllocTRES` is last: it holds commas.
pub const SACCT_MEMORY_FORMAT: &str = "JobIDRaw,MaxRSS,AllocTRES";

/// Parses the output of `sacct -a -P -n -o SACCT_MEMORY_FORMAT` (steps included):
/// per job id, the largest `MaxRSS` of its steps (`123.batch`, `123.extern`,
/// `123.0`; kilobytes unless suffixed) and the allocation of its own line
/// (`123`: `AllocTRES` `mem=`, `node=`). The job's own line has no `MaxRSS`.
pub fn parse_sacct_memory(reader: impl BufRead) -> Result<BTreeMap<u64, JobMemory>, ParseError> {
    let mut lines = Lines::new(reader);
    let mut jobs: BTreeMap<u64, JobMemory> = BTreeMap::new();
    while let Some((n, line)) = lines.next_line()? {
        if line.trim().is_empty() {
            continue;
        }
        let err = |message: String| ParseError::Text { line: n, message };
        let f: Vec<&str> = line.splitn(3, '|').collect();
        let [raw_id, max_rss, alloc_tres] = f.as_slice() else {
            return Err(err(format!(
                "expected 3 |-separated fields, found {}",
                f.len()
            )));
        };
        let (job, step) = match raw_id.trim().split_once('.') {
            Some((job, step)) => (job, Some(step)),
            None => (raw_id.trim(), None),
        };
        let id = job
            .split('+')
            .next()
            .and_then(|id| id.parse::<u64>().ok())
            .ok_or_else(|| err(format!("bad JobIDRaw {raw_id:?}")))?;
        let memory = jobs.entry(id).or_default();
        match step {
            Some(_) => memory.add_step_rss(size_bytes(max_rss, 1 << 10)),
            None => {
                memory.alloc_bytes = tres_memory_bytes(alloc_tres);
                memory.alloc_nodes = tres_count(alloc_tres, "node");
            }
        }
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
        let file = crate::model::text::testdata::fixture("sacct.txt");
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
    fn memory_lines() {
        let text = "\
6||billing=1,cpu=1,mem=400M,node=1
6.batch|129392K|cpu=1,mem=400M,node=1
6.extern|1020K|billing=1,cpu=1,mem=400M,node=1
6.0|0|cpu=1,mem=400M,node=1
7||billing=2,cpu=2,mem=2G,node=2
7.batch||cpu=1,mem=1G,node=1
8.batch|2M|cpu=1,mem=1G,node=1
";
        let jobs = parse_sacct_memory(text.as_bytes()).unwrap();
        let six = jobs[&6];
        assert_eq!(six.max_rss_bytes, Some(129_392 << 10));
        assert_eq!(
            (six.alloc_bytes, six.alloc_nodes),
            (Some(400 << 20), Some(1))
        );
        assert!((six.efficiency().unwrap() - 129_392.0 / 409_600.0).abs() < 1e-12);
        let seven = jobs[&7];
        assert_eq!(seven.max_rss_bytes, None, "no step recorded MaxRSS");
        assert_eq!(seven.efficiency(), None);
        assert_eq!(jobs[&8].alloc_bytes, None, "steps without their job's line");
        assert!(parse_sacct_memory("6|1K\n".as_bytes()).is_err());
        assert!(parse_sacct_memory("x.batch|1K|\n".as_bytes()).is_err());
    }

    /// The lab's memory read (jobacct_gather/linux, every second): only the steps
    /// alive long enough to be sampled have a MaxRSS; the workload's lab-mem job
    /// (job 8, 120 MiB in perl, `--mem=400`) lands between 0.3 and 0.4.
    #[test]
    fn lab_22_05_memory_fixture() {
        let file = crate::model::text::testdata::fixture("sacct-memory.txt");
        let jobs = parse_sacct_memory(file).unwrap();
        assert_eq!(jobs.len(), 8);
        let mem = jobs[&8];
        assert_eq!(mem.max_rss_bytes, Some(129_272 << 10));
        assert_eq!(
            (mem.alloc_bytes, mem.alloc_nodes),
            (Some(400 << 20), Some(1))
        );
        let ratio = mem.efficiency().unwrap();
        assert!(ratio > 0.3 && ratio <= 0.4, "{ratio}");
        assert_eq!(jobs[&6].max_rss_bytes, Some(4588 << 10), "lab-burn, 2 s");
        let recorded: Vec<u64> = jobs
            .iter()
            .filter(|(_, m)| m.efficiency().is_some())
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(recorded, [6, 8], "true/false/exit jobs end before a sample");
        assert_eq!(jobs[&3], JobMemory::default(), "cancelled while held");
    }

    #[test]
    fn bad_lines_are_errors() {
        assert!(parse_sacct("1|COMPLETED|x\n".as_bytes()).is_err());
        let bad_id = "x|COMPLETED|debug|root|normal|1|1|1|0|1|00:00:00|0:0|n1\n";
        assert!(parse_sacct(bad_id.as_bytes()).is_err());
    }
}

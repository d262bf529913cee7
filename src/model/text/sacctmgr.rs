//! `sacctmgr -n -P show qos format=…` ([`QOS_FORMAT`]): one `|`-separated line per
//! QOS with the fields in the order asked. TRES limits are lists (`cpu=6,mem=4000M`),
//! times are Slurm time strings (`02:00:00`, `1-00:00:00`), unset limits are empty.

use std::io::BufRead;

use super::scontrol::parse_time_limit;
use super::{parse_u64, Lines};
use crate::model::limits::parse_tres_list;
use crate::model::{ParseError, Qos, QosList};

/// The fields asked of `sacctmgr show qos format=`, in this order.
pub const QOS_FORMAT: &str = "Name,Priority,UsageFactor,GrpTRES,GrpJobs,GrpSubmit,GrpWall,\
MaxTRESPerUser,MaxJobsPerUser,MaxSubmitJobsPerUser,MaxTRES,MaxTRESPerAccount,\
MaxJobsPerAccount,MaxSubmitJobsPerAccount,MaxWall";

const FIELDS: usize = 15;

/// Parses `sacctmgr -n -P show qos format=`[`QOS_FORMAT`].
pub fn parse_sacctmgr_qos(reader: impl BufRead) -> Result<QosList, ParseError> {
    let mut lines = Lines::new(reader);
    let mut qos = Vec::new();
    while let Some((number, line)) = lines.next_line()? {
        if line.trim().is_empty() {
            continue;
        }
        // One field past the expected ones is enough to refuse the line.
        let f: Vec<&str> = line.splitn(FIELDS + 1, '|').collect();
        if f.len() != FIELDS || f[0].trim().is_empty() {
            return Err(ParseError::Text {
                line: number,
                message: format!(
                    "expected {FIELDS} fields starting with a QOS name, got {:?}",
                    line.chars().take(80).collect::<String>()
                ),
            });
        }
        let float = |v: &str| v.trim().parse::<f64>().ok().filter(|v| v.is_finite());
        qos.push(Qos {
            name: f[0].trim().to_string(),
            priority: parse_u64(f[1]),
            usage_factor: float(f[2]),
            grp_tres: parse_tres_list(f[3]),
            grp_jobs: parse_u64(f[4]),
            grp_submit_jobs: parse_u64(f[5]),
            grp_wall_seconds: parse_time_limit(f[6]),
            max_tres_per_user: parse_tres_list(f[7]),
            max_jobs_per_user: parse_u64(f[8]),
            max_submit_jobs_per_user: parse_u64(f[9]),
            max_tres_per_job: parse_tres_list(f[10]),
            max_tres_per_account: parse_tres_list(f[11]),
            max_jobs_per_account: parse_u64(f[12]),
            max_submit_jobs_per_account: parse_u64(f[13]),
            max_wall_per_job_seconds: parse_time_limit(f[14]),
        });
    }
    Ok(QosList { qos })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::text::testdata;
    use crate::model::Tres;

    #[test]
    fn lab_22_05() {
        let file = testdata::fixture("sacctmgr-show-qos.txt");
        let q = parse_sacctmgr_qos(file).unwrap();
        assert_eq!(q.qos.len(), 2);
        // normal: no limits at all, so every limit is absent
        assert_eq!(
            q.qos[0],
            Qos {
                name: "normal".into(),
                priority: Some(0),
                usage_factor: Some(1.0),
                ..Default::default()
            }
        );
        assert_eq!(
            q.qos[1],
            Qos {
                name: "lab_high".into(),
                priority: Some(10),
                usage_factor: Some(2.0),
                grp_tres: vec![Tres::new("cpu", 6)],
                grp_jobs: Some(4),
                grp_submit_jobs: Some(8),
                max_tres_per_user: vec![Tres::new("cpu", 4)],
                max_jobs_per_user: Some(3),
                max_submit_jobs_per_user: Some(5),
                max_wall_per_job_seconds: Some(7200),
                ..Default::default()
            }
        );
    }

    #[test]
    fn every_field_and_bad_lines() {
        let line = "big|5|0.5|cpu=100,mem=2T,gres/gpu=8|10|20|1-00:00:00|node=2|4|8|cpu=64|mem=1G|30|60|UNLIMITED\n";
        let q = parse_sacctmgr_qos(line.as_bytes()).unwrap();
        let big = &q.qos[0];
        assert_eq!(big.grp_tres[1], Tres::new("mem", 2 << 20));
        assert_eq!(big.grp_wall_seconds, Some(86_400));
        assert_eq!(big.max_tres_per_job, vec![Tres::new("cpu", 64)]);
        assert_eq!(big.max_tres_per_account, vec![Tres::new("mem", 1024)]);
        assert_eq!(
            (big.max_jobs_per_account, big.max_submit_jobs_per_account),
            (Some(30), Some(60))
        );
        assert_eq!(big.max_wall_per_job_seconds, None);
        assert!(parse_sacctmgr_qos(&b"normal|0|1.0\n"[..]).is_err());
        assert!(parse_sacctmgr_qos(&b"\n"[..]).unwrap().qos.is_empty());
    }
}

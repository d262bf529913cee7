//! What slurmdbd and slurmctld's association manager know about fair share, QOS
//! and associations: shares and usage (`sshare`, REST `/shares`), QOS limits
//! (`sacctmgr show qos`, REST `/slurmdb/…/qos`), association limits and the usage
//! counted against them (`scontrol show assoc_mgr`, REST `/slurmdb/…/associations`).
//!
//! A limit that is not set is `None` (an empty TRES list), never 0 or -1: Slurm's
//! "no limit" is the absence of a limit.

/// An amount of one trackable resource: `cpu`, `mem` (MB, as Slurm counts it),
/// `node`, `billing`, `gres/gpu`, …
#[derive(Debug, Clone, PartialEq)]
pub struct Tres {
    pub name: String,
    pub count: u64,
}

impl Tres {
    pub fn new(name: &str, count: u64) -> Tres {
        Tres {
            name: name.to_string(),
            count,
        }
    }

    /// The amount in base units: memory (`mem`, counted in MB) in bytes, anything
    /// else as Slurm counts it.
    pub fn base_value(&self) -> f64 {
        match self.name.as_str() {
            "mem" => super::mib_to_bytes(self.count) as f64,
            _ => self.count as f64,
        }
    }
}

/// The count of `name` in a TRES list.
pub fn tres_count(list: &[Tres], name: &str) -> Option<u64> {
    list.iter().find(|t| t.name == name).map(|t| t.count)
}

/// Parses a TRES list as `sacctmgr` and `sshare` print it: `cpu=4,mem=4000M,gres/gpu=2`.
/// Memory-like amounts may carry a unit (`K M G T P`, relative to the MB Slurm
/// counts in): `4G` is 4096. Items that do not parse are skipped.
pub fn parse_tres_list(list: &str) -> Vec<Tres> {
    list.split(',')
        .filter_map(|item| {
            let (name, value) = item.trim().split_once('=')?;
            let name = name.trim();
            if name.is_empty() {
                return None;
            }
            Some(Tres::new(name, parse_tres_amount(value)?))
        })
        .collect()
}

/// `4000`, `4000M`, `4G` → MB (`K` is rounded up to whole MB).
pub fn parse_tres_amount(value: &str) -> Option<u64> {
    let value = value.trim();
    let (digits, factor): (&str, Option<u64>) = match value.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let factor = match c.to_ascii_uppercase() {
                'K' => None,
                'M' => Some(1),
                'G' => Some(1 << 10),
                'T' => Some(1 << 20),
                'P' => Some(1 << 30),
                _ => return None,
            };
            (&value[..i], factor)
        }
        _ => (value, Some(1)),
    };
    let n: f64 = digits.trim().parse().ok()?;
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    let mb = match factor {
        Some(f) => n * f as f64,
        None => (n / 1024.0).ceil(),
    };
    (mb < 1.8e19).then(|| mb.round() as u64)
}

/// One row of the fair-share tree: an account (no user) or a user inside an account.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShareRow {
    pub account: String,
    pub user: Option<String>,
    /// Partition of a per-partition association (rare).
    pub partition: Option<String>,
    /// Cluster the row belongs to (REST only; the CLI shows the local cluster).
    pub cluster: Option<String>,
    /// `RawShares`.
    pub shares: Option<f64>,
    /// `NormShares`: the share of the parent's shares, 0..1.
    pub shares_normalized: Option<f64>,
    /// `RawUsage`: decayed usage, in TRES-billing-weighted CPU-seconds.
    pub usage_raw: Option<f64>,
    /// `NormUsage`: the row's usage relative to the cluster's, 0..1.
    pub usage_normalized: Option<f64>,
    /// `EffectvUsage`: the usage relative to the siblings', 0..1.
    pub usage_effective: Option<f64>,
    /// `FairShare`: the fair-share factor (users only under Fair Tree), 0..1.
    pub factor: Option<f64>,
    /// `LevelFS`: shares over usage among siblings; `inf` without usage.
    pub level: Option<f64>,
}

/// The whole fair-share tree, in Slurm's order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shares {
    pub rows: Vec<ShareRow>,
}

/// One QOS and its limits (seconds for times, Slurm's units for TRES).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Qos {
    pub name: String,
    pub priority: Option<u64>,
    pub usage_factor: Option<f64>,
    pub grp_tres: Vec<Tres>,
    pub grp_jobs: Option<u64>,
    pub grp_submit_jobs: Option<u64>,
    pub grp_wall_seconds: Option<u64>,
    pub max_tres_per_user: Vec<Tres>,
    pub max_jobs_per_user: Option<u64>,
    pub max_submit_jobs_per_user: Option<u64>,
    pub max_tres_per_job: Vec<Tres>,
    pub max_tres_per_account: Vec<Tres>,
    pub max_jobs_per_account: Option<u64>,
    pub max_submit_jobs_per_account: Option<u64>,
    pub max_wall_per_job_seconds: Option<u64>,
}

/// Every QOS.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QosList {
    pub qos: Vec<Qos>,
}

/// What is currently counted against the Grp limits of a QOS or an association
/// (slurmctld's association manager; includes the children of an account).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    /// Running jobs (`GrpJobs` usage).
    pub jobs: Option<u64>,
    /// Running and pending jobs (`GrpSubmitJobs` usage).
    pub submitted_jobs: Option<u64>,
    /// Resources of the running jobs (`GrpTRES` usage).
    pub tres: Vec<Tres>,
}

/// The current usage of one QOS.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QosUsage {
    pub name: String,
    pub usage: Usage,
    /// `UsageRaw`: decayed usage, in TRES-billing-weighted CPU-seconds.
    pub usage_raw: Option<f64>,
}

/// The usage of every QOS; `reported` is false where the source cannot tell
/// (slurmrestd has no view of slurmctld's association manager).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QosUsages {
    pub reported: bool,
    pub qos: Vec<QosUsage>,
}

/// One association: an account (no user), or a user in an account, with its
/// limits and (where the source reports it) the usage counted against them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Association {
    pub cluster: Option<String>,
    pub account: String,
    pub user: Option<String>,
    pub partition: Option<String>,
    pub parent: Option<String>,
    pub grp_tres: Vec<Tres>,
    pub grp_jobs: Option<u64>,
    pub grp_submit_jobs: Option<u64>,
    pub grp_wall_seconds: Option<u64>,
    pub max_jobs: Option<u64>,
    pub max_submit_jobs: Option<u64>,
    /// `None` where the source does not report usage (slurmdbd through REST).
    pub usage: Option<Usage>,
}

/// Every association the source lists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Associations {
    pub associations: Vec<Association>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tres_lists() {
        assert_eq!(
            parse_tres_list("cpu=4,mem=4000M,gres/gpu=2"),
            vec![
                Tres::new("cpu", 4),
                Tres::new("mem", 4000),
                Tres::new("gres/gpu", 2)
            ]
        );
        assert_eq!(parse_tres_list("mem=4G"), vec![Tres::new("mem", 4096)]);
        assert_eq!(
            parse_tres_list("mem=1.5T"),
            vec![Tres::new("mem", 1_572_864)]
        );
        assert_eq!(parse_tres_list("mem=512K"), vec![Tres::new("mem", 1)]);
        assert_eq!(parse_tres_list(""), vec![]);
        assert_eq!(
            parse_tres_list("cpu=x,=3,node=2"),
            vec![Tres::new("node", 2)]
        );
        assert_eq!(parse_tres_amount("-1"), None);
        assert_eq!(parse_tres_amount("3Q"), None);
    }
}

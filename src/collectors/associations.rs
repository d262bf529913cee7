//! Associations: the Grp limits of each account (GrpTRES per TRES, GrpJobs,
//! GrpSubmitJobs, GrpWall; MaxJobs and MaxSubmitJobs, which apply to each user below
//! it) and what counts against them now: running jobs, submitted jobs and the TRES of
//! running jobs of the account and everything below it. From slurmctld's association
//! manager (`scontrol show assoc_mgr flags=assoc`, limits and usage) or REST slurmdb
//! `/associations` (limits only: slurmdbd does not know the usage). Only the
//! accounts' own associations (no user, no partition) of this cluster: bounded by
//! the number of accounts. Unset limits have no series.

use std::collections::HashSet;

use super::{Collect, CollectorDef, Context};
use crate::exposition::Family;
use crate::model::{DataKind, SlurmData};

pub const DEF: CollectorDef = CollectorDef {
    name: "associations",
    description: "per-account association limits (GrpTRES, GrpJobs, GrpSubmit, GrpWall) and usage (needs slurmdbd)",
    enabled_by_default: false,
    needs: &[DataKind::Associations],
    collect: Collect::Pure(collect),
};

fn collect(data: &SlurmData, ctx: &Context) -> Vec<Family> {
    let Some(assocs) = data.associations.as_deref() else {
        return Vec::new();
    };
    let mut grp_tres = Family::gauge(
        "slurm_account_limit_grp_tres",
        "GrpTRES of the account: resources its running jobs (and its children's) may hold together (mem in bytes)",
    );
    let mut grp_jobs = Family::gauge(
        "slurm_account_limit_grp_jobs",
        "GrpJobs of the account: running jobs it and its children may have",
    );
    let mut grp_submit = Family::gauge(
        "slurm_account_limit_grp_submit_jobs",
        "GrpSubmitJobs of the account: running and pending jobs it and its children may have",
    );
    let mut grp_wall = Family::gauge(
        "slurm_account_limit_grp_wall_seconds",
        "GrpWall of the account: wall time its running jobs may use together",
    );
    let mut max_jobs = Family::gauge(
        "slurm_account_limit_max_jobs",
        "MaxJobs of the account's association: running jobs each user below it may have",
    );
    let mut max_submit = Family::gauge(
        "slurm_account_limit_max_submit_jobs",
        "MaxSubmitJobs of the account's association: running and pending jobs each user below it may have",
    );
    let mut used_tres = Family::gauge(
        "slurm_account_used_tres",
        "Resources held by the running jobs of the account and its children, as counted against GrpTRES (mem in bytes; CLI source only)",
    );
    let mut used_jobs = Family::gauge(
        "slurm_account_used_jobs",
        "Running jobs of the account and its children, as counted against GrpJobs (CLI source only)",
    );
    let mut used_submit = Family::gauge(
        "slurm_account_used_submit_jobs",
        "Running and pending jobs of the account and its children, as counted against GrpSubmitJobs (CLI source only)",
    );
    let n = |v: Option<u64>| v.map(|v| v as f64);
    let mut seen = HashSet::new();
    for a in &assocs.associations {
        let other_cluster = a.cluster.as_deref().is_some_and(|c| c != ctx.cluster);
        if a.user.is_some() || a.partition.is_some() || other_cluster {
            continue;
        }
        if !seen.insert(a.account.as_str()) {
            continue;
        }
        let account = a.account.as_str();
        let l = ctx.labels(&[("account", account)]);
        for t in &a.grp_tres {
            grp_tres.push(
                ctx.labels(&[("account", account), ("tres", &t.name)]),
                t.base_value(),
            );
        }
        grp_jobs.push_opt(l.clone(), n(a.grp_jobs));
        grp_submit.push_opt(l.clone(), n(a.grp_submit_jobs));
        grp_wall.push_opt(l.clone(), n(a.grp_wall_seconds));
        max_jobs.push_opt(l.clone(), n(a.max_jobs));
        max_submit.push_opt(l.clone(), n(a.max_submit_jobs));
        if let Some(u) = &a.usage {
            for t in &u.tres {
                used_tres.push(
                    ctx.labels(&[("account", account), ("tres", &t.name)]),
                    t.base_value(),
                );
            }
            used_jobs.push_opt(l.clone(), n(u.jobs));
            used_submit.push_opt(l, n(u.submitted_jobs));
        }
    }
    vec![
        grp_tres,
        grp_jobs,
        grp_submit,
        grp_wall,
        max_jobs,
        max_submit,
        used_tres,
        used_jobs,
        used_submit,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::testutil::{ctx, value};
    use crate::model::{Association, Associations, Tres, Usage};
    use std::sync::Arc;

    #[test]
    fn account_associations_only() {
        let physics = Association {
            cluster: Some("lab".into()),
            account: "physics".into(),
            parent: Some("root".into()),
            grp_tres: vec![Tres::new("cpu", 4), Tres::new("mem", 4000)],
            grp_jobs: Some(3),
            grp_submit_jobs: Some(6),
            usage: Some(Usage {
                jobs: Some(1),
                submitted_jobs: Some(2),
                tres: vec![Tres::new("cpu", 1), Tres::new("mem", 500)],
            }),
            ..Default::default()
        };
        let data = SlurmData {
            associations: Some(Arc::new(Associations {
                associations: vec![
                    physics.clone(),
                    Association {
                        user: Some("labuser".into()),
                        grp_jobs: Some(1),
                        ..physics.clone()
                    },
                    Association {
                        partition: Some("gpu".into()),
                        grp_jobs: Some(1),
                        ..physics.clone()
                    },
                    Association {
                        cluster: Some("other".into()),
                        account: "remote".into(),
                        ..physics.clone()
                    },
                    Association {
                        account: "lab".into(),
                        usage: None,
                        ..Default::default()
                    },
                ],
            })),
            ..Default::default()
        };
        let f = collect(&data, &ctx());
        let v = |name, labels: &[(&str, &str)]| value(&f, name, labels);
        let p = [("cluster", "lab"), ("account", "physics")];
        assert_eq!(v("slurm_account_limit_grp_jobs", &p), Some(3.0));
        assert_eq!(v("slurm_account_limit_grp_submit_jobs", &p), Some(6.0));
        assert_eq!(
            v(
                "slurm_account_limit_grp_tres",
                &[("account", "physics"), ("tres", "mem")]
            ),
            Some(4000.0 * 1024.0 * 1024.0)
        );
        assert_eq!(v("slurm_account_used_jobs", &p), Some(1.0));
        assert_eq!(v("slurm_account_used_submit_jobs", &p), Some(2.0));
        assert_eq!(
            v(
                "slurm_account_used_tres",
                &[("account", "physics"), ("tres", "cpu")]
            ),
            Some(1.0)
        );
        // unset limits and unknown usage: absent
        assert_eq!(v("slurm_account_limit_grp_wall_seconds", &p), None);
        assert_eq!(
            v("slurm_account_limit_grp_jobs", &[("account", "lab")]),
            None
        );
        assert_eq!(v("slurm_account_used_jobs", &[("account", "lab")]), None);
        assert_eq!(
            v("slurm_account_limit_grp_jobs", &[("account", "remote")]),
            None
        );
        // the user and partition associations do not add series
        let jobs = f.iter().find(|f| f.name == "slurm_account_limit_grp_jobs");
        assert_eq!(jobs.map(|f| f.series()), Some(1));
    }
}

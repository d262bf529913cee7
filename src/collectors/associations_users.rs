//! Associations per user: for each user association (a user inside an account) its
//! limits (MaxJobs, MaxSubmitJobs, GrpTRES, GrpJobs, GrpSubmitJobs) and what counts
//! against them now (running jobs, running and pending jobs, TRES of running jobs),
//! from the same read as the `associations` collector (fetched once). Usage from
//! slurmctld's association manager only (CLI source).
//!
//! Per-user series: opt-in (`--collector.associations_users`) and capped (family
//! `association_user`, the users with the most running and pending jobs over all
//! their accounts; see [`super::cap`]). A kept user has one series per account. Limits
//! do not add up, so there is no `user="other"` series: how many users were left out
//! is `slurm_exporter_series_dropped_total`.

use std::collections::HashSet;

use super::{Collect, CollectorDef, Context};
use crate::exposition::Family;
use crate::model::{Association, DataKind, SlurmData};

pub const DEF: CollectorDef = CollectorDef {
    name: "associations_users",
    description:
        "per-user association limits and usage (opt-in; capped: top N users by submitted jobs)",
    enabled_by_default: false,
    needs: &[DataKind::Associations],
    collect: Collect::Pure(collect),
};

fn collect(data: &SlurmData, ctx: &Context) -> Vec<Family> {
    let Some(assocs) = data.associations.as_deref() else {
        return Vec::new();
    };
    let rows: Vec<&Association> = assocs
        .associations
        .iter()
        .filter(|a| {
            a.user.is_some()
                && a.partition.is_none()
                && !a.cluster.as_deref().is_some_and(|c| c != ctx.cluster)
        })
        .collect();
    let capped = ctx.cap(
        "association_user",
        rows.iter().filter_map(|a| {
            let submitted = a.usage.as_ref().and_then(|u| u.submitted_jobs).unwrap_or(0);
            Some((a.user.clone()?, submitted))
        }),
        |submitted| *submitted as f64,
    );
    let kept: HashSet<&str> = capped.kept.iter().map(|(u, _)| u.as_str()).collect();
    let mut max_jobs = Family::gauge(
        "slurm_user_association_limit_max_jobs",
        "MaxJobs of the user's association: running jobs the user may have in the account",
    );
    let mut max_submit = Family::gauge(
        "slurm_user_association_limit_max_submit_jobs",
        "MaxSubmitJobs of the user's association: running and pending jobs the user may have in the account",
    );
    let mut grp_tres = Family::gauge(
        "slurm_user_association_limit_grp_tres",
        "GrpTRES of the user's association (mem in bytes)",
    );
    let mut grp_jobs = Family::gauge(
        "slurm_user_association_limit_grp_jobs",
        "GrpJobs of the user's association",
    );
    let mut grp_submit = Family::gauge(
        "slurm_user_association_limit_grp_submit_jobs",
        "GrpSubmitJobs of the user's association",
    );
    let mut used_jobs = Family::gauge(
        "slurm_user_association_used_jobs",
        "Running jobs of the user in the account (CLI source only)",
    );
    let mut used_submit = Family::gauge(
        "slurm_user_association_used_submit_jobs",
        "Running and pending jobs of the user in the account (CLI source only)",
    );
    let mut used_tres = Family::gauge(
        "slurm_user_association_used_tres",
        "Resources held by the user's running jobs in the account (mem in bytes; CLI source only)",
    );
    let n = |v: Option<u64>| v.map(|v| v as f64);
    let mut seen = HashSet::new();
    for a in rows {
        let Some(user) = a.user.as_deref() else {
            continue;
        };
        if !kept.contains(user) || !seen.insert((a.account.as_str(), user)) {
            continue;
        }
        let account = a.account.as_str();
        let l = ctx.labels(&[("account", account), ("user", user)]);
        max_jobs.push_opt(l.clone(), n(a.max_jobs));
        max_submit.push_opt(l.clone(), n(a.max_submit_jobs));
        grp_jobs.push_opt(l.clone(), n(a.grp_jobs));
        grp_submit.push_opt(l.clone(), n(a.grp_submit_jobs));
        for t in &a.grp_tres {
            grp_tres.push(
                ctx.labels(&[("account", account), ("user", user), ("tres", &t.name)]),
                t.base_value(),
            );
        }
        if let Some(u) = &a.usage {
            used_jobs.push_opt(l.clone(), n(u.jobs));
            used_submit.push_opt(l.clone(), n(u.submitted_jobs));
            for t in &u.tres {
                used_tres.push(
                    ctx.labels(&[("account", account), ("user", user), ("tres", &t.name)]),
                    t.base_value(),
                );
            }
        }
    }
    vec![
        max_jobs,
        max_submit,
        grp_tres,
        grp_jobs,
        grp_submit,
        used_jobs,
        used_submit,
        used_tres,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::cap::{CapLimit, CapSettings};
    use crate::collectors::testutil::{ctx, value};
    use crate::model::{Associations, Tres, Usage};
    use std::sync::Arc;

    fn user(account: &str, name: &str, submitted: u64) -> Association {
        Association {
            cluster: Some("lab".into()),
            account: account.into(),
            user: Some(name.into()),
            max_jobs: Some(2),
            usage: Some(Usage {
                jobs: Some(1),
                submitted_jobs: Some(submitted),
                tres: vec![Tres::new("cpu", 1)],
            }),
            ..Default::default()
        }
    }

    #[test]
    fn top_users_by_submitted_jobs() {
        let data = SlurmData {
            associations: Some(Arc::new(Associations {
                associations: vec![
                    Association {
                        account: "physics".into(),
                        grp_jobs: Some(3),
                        ..Default::default()
                    },
                    user("physics", "alice", 3),
                    user("lab", "alice", 1),
                    user("physics", "bob", 2),
                    user("lab", "carol", 0),
                ],
            })),
            ..Default::default()
        };
        let caps = CapSettings {
            default: CapLimit {
                top: 2,
                ..Default::default()
            },
            ..Default::default()
        };
        let c = ctx().with_caps(Arc::new(caps));
        let f = collect(&data, &c);
        let v = |name, account, user| {
            value(
                &f,
                name,
                &[("cluster", "lab"), ("account", account), ("user", user)],
            )
        };
        assert_eq!(
            v(
                "slurm_user_association_used_submit_jobs",
                "physics",
                "alice"
            ),
            Some(3.0)
        );
        assert_eq!(
            v("slurm_user_association_used_submit_jobs", "lab", "alice"),
            Some(1.0)
        );
        assert_eq!(
            v("slurm_user_association_limit_max_jobs", "physics", "bob"),
            Some(2.0)
        );
        assert_eq!(v("slurm_user_association_used_jobs", "lab", "carol"), None);
        assert_eq!(c.take_folded().get("association_user"), Some(&1));
        // the account association is not a user's
        let grp = f
            .iter()
            .find(|f| f.name == "slurm_user_association_limit_grp_jobs");
        assert_eq!(grp.map(|f| f.series()), Some(0));
    }
}

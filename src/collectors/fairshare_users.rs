//! Fair share per user: for each user row of the fair-share tree (a user inside an
//! account), shares, usage, the fair-share factor and LevelFS, from the same `sshare`
//! or REST `/shares` read as the `fairshare` collector (fetched once).
//!
//! Per-user series: opt-in (`--collector.fairshare_users`) and capped (family
//! `fairshare_user`, the users with the most raw usage over all their accounts; see
//! [`super::cap`]). A kept user has one series per account it is in. The values are
//! ratios and per-account figures that do not add up, so there is no `user="other"`
//! series: how many users were left out is `slurm_exporter_series_dropped_total`.

use std::collections::HashSet;

use super::{Collect, CollectorDef, Context};
use crate::exposition::Family;
use crate::model::{DataKind, ShareRow, SlurmData};

pub const DEF: CollectorDef = CollectorDef {
    name: "fairshare_users",
    description: "per-user fair share: shares, usage, factor, LevelFS (opt-in; capped: top N users by raw usage)",
    enabled_by_default: false,
    needs: &[DataKind::Shares],
    collect: Collect::Pure(collect),
};

fn collect(data: &SlurmData, ctx: &Context) -> Vec<Family> {
    let Some(shares) = data.shares.as_deref() else {
        return Vec::new();
    };
    let rows: Vec<&ShareRow> = shares
        .rows
        .iter()
        .filter(|r| {
            r.user.is_some()
                && r.partition.is_none()
                && !r.cluster.as_deref().is_some_and(|c| c != ctx.cluster)
        })
        .collect();
    let capped = ctx.cap(
        "fairshare_user",
        rows.iter()
            .filter_map(|r| Some((r.user.clone()?, r.usage_raw.unwrap_or(0.0)))),
        |usage| *usage,
    );
    let kept: HashSet<&str> = capped.kept.iter().map(|(u, _)| u.as_str()).collect();
    let mut fams = [
        ("slurm_user_fairshare_shares", "Shares of the user in the account (RawShares)"),
        (
            "slurm_user_fairshare_shares_normalized",
            "The user's shares as a fraction of the account's (NormShares, 0 to 1)",
        ),
        (
            "slurm_user_fairshare_usage_raw",
            "Decayed usage of the user in the account, in billing-weighted CPU-seconds (RawUsage)",
        ),
        (
            "slurm_user_fairshare_usage_normalized",
            "The user's usage as a fraction of the cluster's (NormUsage, 0 to 1)",
        ),
        (
            "slurm_user_fairshare_usage_effective",
            "The user's usage as a fraction of the account's (EffectvUsage, 0 to 1)",
        ),
        (
            "slurm_user_fairshare_factor",
            "Fair-share factor of the user in the account (FairShare, 0 to 1: higher is better served)",
        ),
        (
            "slurm_user_fairshare_level",
            "Fair Tree LevelFS of the user among the account's users; +Inf without usage",
        ),
    ]
    .map(|(name, help)| Family::gauge(name, help));
    let mut seen = HashSet::new();
    for r in rows {
        let Some(user) = r.user.as_deref() else {
            continue;
        };
        if !kept.contains(user) || !seen.insert((r.account.as_str(), user)) {
            continue;
        }
        let labels = ctx.labels(&[("account", &r.account), ("user", user)]);
        let values = [
            r.shares,
            r.shares_normalized,
            r.usage_raw,
            r.usage_normalized,
            r.usage_effective,
            r.factor,
            r.level,
        ];
        for (family, v) in fams.iter_mut().zip(values) {
            family.push_opt(labels.clone(), v);
        }
    }
    fams.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::cap::{CapLimit, CapSettings};
    use crate::collectors::testutil::{ctx, value};
    use crate::model::Shares;
    use std::sync::Arc;

    fn user(account: &str, name: &str, usage: f64, factor: f64) -> ShareRow {
        ShareRow {
            account: account.into(),
            user: Some(name.into()),
            shares: Some(1.0),
            usage_raw: Some(usage),
            factor: Some(factor),
            ..Default::default()
        }
    }

    #[test]
    fn top_users_by_usage_with_every_account() {
        let data = SlurmData {
            shares: Some(Arc::new(Shares {
                rows: vec![
                    ShareRow {
                        account: "physics".into(),
                        shares: Some(2.0),
                        ..Default::default()
                    },
                    user("physics", "alice", 100.0, 0.2),
                    user("lab", "alice", 50.0, 0.5),
                    user("physics", "bob", 120.0, 0.1),
                    user("lab", "carol", 1.0, 0.9),
                    ShareRow {
                        partition: Some("gpu".into()),
                        ..user("lab", "carol", 1.0, 0.9)
                    },
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
        // alice (150 over two accounts) and bob (120) kept, carol folded
        assert_eq!(
            v("slurm_user_fairshare_factor", "physics", "alice"),
            Some(0.2)
        );
        assert_eq!(v("slurm_user_fairshare_factor", "lab", "alice"), Some(0.5));
        assert_eq!(
            v("slurm_user_fairshare_usage_raw", "physics", "bob"),
            Some(120.0)
        );
        assert_eq!(v("slurm_user_fairshare_factor", "lab", "carol"), None);
        assert_eq!(c.take_folded().get("fairshare_user"), Some(&1));
        // no account rows, no `other`
        let series: usize = f.iter().map(|f| f.series()).sum();
        assert_eq!(series, 3 * 3);
    }
}

//! Fair share per account: shares (raw and normalized), usage (raw, normalized,
//! effective) and the account's LevelFS, from `sshare -a` or REST `/shares`
//! (v0.0.40+, Slurm 23.11; older slurmrestd has none and the collector stays down).
//! One row per account of the fair-share tree: bounded by the number of accounts.
//!
//! Under Fair Tree (Slurm's default) the fair-share factor is computed for users
//! only; an account's standing among its siblings is its LevelFS (`inf` while it
//! has no usage, exported as `+Inf`). Rows of per-partition associations are not
//! exported (one series per account).

use std::collections::HashSet;

use super::{Collect, CollectorDef, Context};
use crate::exposition::Family;
use crate::model::{DataKind, SlurmData};

pub const DEF: CollectorDef = CollectorDef {
    name: "fairshare",
    description:
        "per-account fair share: shares, usage, LevelFS (needs slurmdbd; REST needs Slurm 23.11+)",
    enabled_by_default: false,
    needs: &[DataKind::Shares],
    collect: Collect::Pure(collect),
};

fn collect(data: &SlurmData, ctx: &Context) -> Vec<Family> {
    let Some(shares) = data.shares.as_deref() else {
        return Vec::new();
    };
    let mut raw_shares = Family::gauge(
        "slurm_account_fairshare_shares",
        "Shares assigned to the account (RawShares)",
    );
    let mut norm_shares = Family::gauge(
        "slurm_account_fairshare_shares_normalized",
        "The account's shares as a fraction of its parent's (NormShares, 0 to 1)",
    );
    let mut raw_usage = Family::gauge(
        "slurm_account_fairshare_usage_raw",
        "Decayed usage of the account and its children in billing-weighted CPU-seconds (RawUsage)",
    );
    let mut norm_usage = Family::gauge(
        "slurm_account_fairshare_usage_normalized",
        "The account's usage as a fraction of the cluster's (NormUsage, 0 to 1)",
    );
    let mut eff_usage = Family::gauge(
        "slurm_account_fairshare_usage_effective",
        "The account's usage as a fraction of its parent's (EffectvUsage, 0 to 1)",
    );
    let mut level = Family::gauge(
        "slurm_account_fairshare_level",
        "Fair Tree LevelFS: normalized shares over effective usage among siblings; above 1 is under-served, +Inf without usage",
    );
    let mut seen = HashSet::new();
    for row in &shares.rows {
        let other_cluster = row.cluster.as_deref().is_some_and(|c| c != ctx.cluster);
        if row.user.is_some() || row.partition.is_some() || other_cluster {
            continue;
        }
        if !seen.insert(row.account.as_str()) {
            continue;
        }
        let labels = ctx.labels(&[("account", &row.account)]);
        raw_shares.push_opt(labels.clone(), row.shares);
        norm_shares.push_opt(labels.clone(), row.shares_normalized);
        raw_usage.push_opt(labels.clone(), row.usage_raw);
        norm_usage.push_opt(labels.clone(), row.usage_normalized);
        eff_usage.push_opt(labels.clone(), row.usage_effective);
        level.push_opt(labels, row.level);
    }
    vec![
        raw_shares,
        norm_shares,
        raw_usage,
        norm_usage,
        eff_usage,
        level,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::testutil::{ctx, value};
    use crate::model::{ShareRow, Shares};
    use std::sync::Arc;

    fn data(rows: Vec<ShareRow>) -> SlurmData {
        SlurmData {
            shares: Some(Arc::new(Shares { rows })),
            ..Default::default()
        }
    }

    #[test]
    fn accounts_only_with_their_values() {
        let account = |name: &str, usage: f64, level: f64| ShareRow {
            account: name.into(),
            shares: Some(2.0),
            shares_normalized: Some(0.5),
            usage_raw: Some(usage),
            usage_normalized: Some(0.25),
            usage_effective: Some(0.25),
            level: Some(level),
            ..Default::default()
        };
        let f = collect(
            &data(vec![
                ShareRow {
                    account: "root".into(),
                    usage_raw: Some(911.0),
                    usage_effective: Some(1.0),
                    ..Default::default()
                },
                account("physics", 227.0, 2.0),
                ShareRow {
                    account: "physics".into(),
                    user: Some("labuser".into()),
                    factor: Some(0.4),
                    ..Default::default()
                },
                account("lab", 0.0, f64::INFINITY),
                ShareRow {
                    partition: Some("gpu".into()),
                    ..account("physics", 5.0, 1.0)
                },
                ShareRow {
                    cluster: Some("other".into()),
                    ..account("remote", 5.0, 1.0)
                },
            ]),
            &ctx(),
        );
        let v = |name, account| value(&f, name, &[("cluster", "lab"), ("account", account)]);
        assert_eq!(
            v("slurm_account_fairshare_usage_raw", "physics"),
            Some(227.0)
        );
        assert_eq!(v("slurm_account_fairshare_shares", "physics"), Some(2.0));
        assert_eq!(v("slurm_account_fairshare_level", "physics"), Some(2.0));
        assert_eq!(
            v("slurm_account_fairshare_level", "lab"),
            Some(f64::INFINITY)
        );
        assert_eq!(v("slurm_account_fairshare_usage_raw", "root"), Some(911.0));
        // the root row has no shares: absent, not 0
        assert_eq!(v("slurm_account_fairshare_shares", "root"), None);
        assert_eq!(v("slurm_account_fairshare_usage_raw", "remote"), None);
        // one series per account: no user rows, no partition rows
        let series: usize = f.iter().map(|f| f.series()).sum();
        assert_eq!(series, 2 + 6 + 6);
    }
}

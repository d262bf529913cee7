//! RPCs by user: sdiag's "Remote Procedure Call statistics by user" (REST `/diag`
//! `rpcs_by_user`), the count and time slurmctld spent per user since the last
//! reset. Shows who loads the controller (a script polling `squeue` in a loop).
//!
//! Per-user series: opt-in (`--collector.rpc_users`) and capped (family
//! `rpc_user`, heaviest by RPC count; see [`super::cap`]). The same `sdiag` query
//! as the scheduler collector, fetched once. A user moving between the top N and
//! `other` makes `other` jump, which `rate()` reads as a counter reset; a generous
//! `caps.rpc_user.top` keeps that rare.

use super::{Collect, CollectorDef, Context};
use crate::exposition::Family;
use crate::model::{DataKind, SlurmData};

pub const DEF: CollectorDef = CollectorDef {
    name: "rpc_users",
    description: "sdiag's RPC count and time per user (opt-in; capped: top N users plus `other`)",
    enabled_by_default: false,
    needs: &[DataKind::Diag],
    collect: Collect::Pure(collect),
};

fn collect(data: &SlurmData, ctx: &Context) -> Vec<Family> {
    let Some(diag) = data.diag.as_deref() else {
        return Vec::new();
    };
    let capped = ctx.cap(
        "rpc_user",
        diag.rpcs_by_user
            .iter()
            .map(|r| (r.name.clone(), (r.count, r.total_time_us))),
        |v| v.0 as f64,
    );
    let mut count = Family::counter(
        "slurm_scheduler_user_rpcs",
        "RPCs received from the user since the last reset (top users by count, the rest as user=\"other\")",
    );
    let mut time = Family::counter(
        "slurm_scheduler_user_rpc_duration_seconds",
        "Time slurmctld spent on the user's RPCs since the last reset (users as slurm_scheduler_user_rpcs)",
    );
    for (user, (n, us)) in capped.iter() {
        let labels = ctx.labels(&[("user", user)]);
        count.push(labels.clone(), *n as f64);
        time.push(labels, *us as f64 * 1e-6);
    }
    vec![count, time]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::cap::{CapLimit, CapSettings};
    use crate::collectors::testutil::{ctx, value};
    use crate::model::{Diag, RpcStat};
    use std::sync::Arc;

    fn rpc(name: &str, count: u64, total_time_us: u64) -> RpcStat {
        RpcStat {
            name: name.into(),
            count,
            total_time_us,
        }
    }

    #[test]
    fn recorded_sdiag_per_user() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/slurm-22.05/sdiag.txt"
        );
        let text = std::fs::read(path).unwrap_or_else(|e| panic!("{e}"));
        let diag =
            crate::model::text::parse_sdiag(text.as_slice()).unwrap_or_else(|e| panic!("{e}"));
        let data = SlurmData {
            diag: Some(Arc::new(diag)),
            ..Default::default()
        };
        let c = ctx();
        let f = collect(&data, &c);
        let get = |name, user| value(&f, name, &[("cluster", "lab"), ("user", user)]);
        assert_eq!(get("slurm_scheduler_user_rpcs_total", "root"), Some(229.0));
        assert_eq!(get("slurm_scheduler_user_rpcs_total", "labuser"), Some(2.0));
        assert_eq!(
            get("slurm_scheduler_user_rpc_duration_seconds_total", "labuser"),
            Some(0.001584)
        );
        assert_eq!(get("slurm_scheduler_user_rpcs_total", "other"), None);
        assert_eq!(c.take_folded().get("rpc_user"), Some(&0));
    }

    #[test]
    fn capped_to_the_busiest_users() {
        let data = SlurmData {
            diag: Some(Arc::new(Diag {
                rpcs_by_user: vec![
                    rpc("root", 100, 1_000_000),
                    rpc("alice", 50, 2_000_000),
                    rpc("bob", 5, 500_000),
                    rpc("carol", 1, 500_000),
                ],
                ..Default::default()
            })),
            ..Default::default()
        };
        let mut caps = CapSettings::default();
        caps.families.insert(
            "rpc_user",
            CapLimit {
                top: 1,
                allow: vec!["carol".into()],
                deny: vec!["root".into()],
            },
        );
        let c = ctx().with_caps(Arc::new(caps));
        let f = collect(&data, &c);
        let get = |user| value(&f, "slurm_scheduler_user_rpcs_total", &[("user", user)]);
        assert_eq!(get("alice"), Some(50.0));
        assert_eq!(get("carol"), Some(1.0));
        assert_eq!(
            get("other"),
            Some(105.0),
            "root (denied) and bob (beyond top 1)"
        );
        assert_eq!(get("root"), None);
        assert_eq!(
            value(
                &f,
                "slurm_scheduler_user_rpc_duration_seconds_total",
                &[("user", "other")]
            ),
            Some(1.5)
        );
        assert_eq!(f[0].samples.len(), 3);
        assert_eq!(c.take_folded().get("rpc_user"), Some(&1));
    }
}

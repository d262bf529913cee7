//! Per-user and per-account collectors against the real local Slurm cluster, compared
//! with what `sdiag` (and `squeue`) print for the same users at the same time.
//! Skipped when no cluster is up, unless `SLURM_EXPORTER_REQUIRE_CLUSTER=1`.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::lab::{run, slurm_conf};
use common::{value, Exporter};

/// sdiag's "Remote Procedure Call statistics by user": user → count.
fn sdiag_rpcs_by_user(conf: &str) -> BTreeMap<String, f64> {
    let text = run(conf, "sdiag", &[]);
    let Some(section) = text
        .split("Remote Procedure Call statistics by user")
        .nth(1)
    else {
        return BTreeMap::new();
    };
    section
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with([' ', '\t']))
        .filter_map(|l| {
            let user = l.split_whitespace().next()?;
            let count = l.split("count:").nth(1)?.split_whitespace().next()?;
            Some((user.to_string(), count.parse().ok()?))
        })
        .collect()
}

/// RPCs per user, capped to the busiest user: each value lies between what sdiag said
/// before and after the collection, the others are summed into `other`, and the
/// folded users are counted.
#[test]
fn rpcs_by_user_capped_match_sdiag() {
    let Some(conf) = slurm_conf() else { return };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // A second user makes RPCs, so there is something to fold.
    let user = std::env::var("SLURM_LAB_USER").unwrap_or_else(|_| "labuser".into());
    let _ = std::process::Command::new("setpriv")
        .args([
            &format!("--reuid={user}"),
            &format!("--regid={user}"),
            "--clear-groups",
            "squeue",
            "-h",
        ])
        .env("SLURM_CONF", &conf)
        .output();
    let exporter = Exporter::start(
        &[
            "--collection.interval=1s",
            "--collector.rpc_users",
            "--caps.rpc_user.top=1",
        ],
        &[("SLURM_CONF", &conf)],
        dir.path().join("exporter.log"),
    );
    let collections = |m: &str| {
        value(
            m,
            "slurm_exporter_collections_total",
            &[("collector", "rpc_users")],
        )
        .unwrap_or(0.0)
    };
    exporter.wait_for("rpc_users up", Duration::from_secs(15), |m| {
        value(
            m,
            "slurm_exporter_collector_up",
            &[("collector", "rpc_users")],
        ) == Some(1.0)
    });
    let mut last = String::new();
    for _ in 0..5 {
        let before = sdiag_rpcs_by_user(&conf);
        let start = collections(&exporter.metrics());
        let m = exporter.wait_for("a collection after sdiag", Duration::from_secs(10), |m| {
            collections(m) >= start + 2.0
        });
        let after = sdiag_rpcs_by_user(&conf);
        assert!(
            after.len() >= 2,
            "sdiag lists fewer than 2 users: {after:?}"
        );
        let got = |u: &str| value(&m, "slurm_scheduler_user_rpcs_total", &[("user", u)]);
        // The busiest user (root: the exporter and the lab's scripts) keeps its series.
        let top = after
            .iter()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(u, _)| u.clone())
            .unwrap_or_default();
        let kept = got(&top).unwrap_or(-1.0);
        let other = got("other").unwrap_or(-1.0);
        let others = |s: &BTreeMap<String, f64>| -> f64 {
            s.iter().filter(|(u, _)| **u != top).map(|(_, v)| v).sum()
        };
        let in_range = |v: f64, lo: f64, hi: f64| lo <= v && v <= hi;
        let ok = in_range(
            kept,
            before.get(&top).copied().unwrap_or(0.0),
            after.get(&top).copied().unwrap_or(0.0),
        ) && in_range(other, others(&before), others(&after))
            && after
                .keys()
                .filter(|u| **u != top)
                .all(|u| got(u).is_none());
        if ok {
            assert_eq!(
                value(&m, "slurm_exporter_series_cap", &[("family", "rpc_user")]),
                Some(1.0)
            );
            let dropped = value(
                &m,
                "slurm_exporter_series_dropped_total",
                &[("family", "rpc_user")],
            )
            .unwrap_or(0.0);
            // Every collection folds the users beyond the top one.
            assert!(
                dropped >= (after.len() as f64 - 1.0) * 2.0,
                "dropped {dropped} after {} collections of {} users",
                collections(&m),
                after.len()
            );
            return;
        }
        last = format!("before {before:?}\nafter {after:?}\nserved top {top}={kept} other={other}");
    }
    panic!("exporter disagrees with sdiag: {last}\n{}", exporter.logs());
}

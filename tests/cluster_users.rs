//! Per-user and per-account collectors against the real local Slurm cluster, compared
//! with what `sdiag` (and `squeue`) print for the same users at the same time.
//! Ignored by default (a plain clone has no lab); run with `--include-ignored`, a
//! missing cluster is a failure.

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
#[ignore = "needs the local Slurm lab: scripts/slurm-dev-cluster.sh up"]
fn rpcs_by_user_capped_match_sdiag() {
    let conf = slurm_conf();
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

/// Jobs, CPUs, memory (bytes) and GPUs per (user or account, state), from Slurm's own
/// output: `squeue -O` for the jobs, the state and the memory of the TRES, `scontrol -d
/// show job` for the GPUs a running job holds (per node, with their indexes), the GPU
/// requests for the others.
fn expected_usage(conf: &str, by: &str) -> BTreeMap<(String, String), [f64; 4]> {
    let mut held: BTreeMap<String, f64> = BTreeMap::new();
    for line in run(conf, "scontrol", &["-d", "-o", "show", "job"]).lines() {
        let Some(id) = line
            .split_whitespace()
            .find_map(|f| f.strip_prefix("JobId="))
        else {
            continue;
        };
        let gpus: f64 = line
            .split_whitespace()
            .filter_map(|f| f.strip_prefix("GRES="))
            .flat_map(|g| g.split(','))
            .filter(|g| g.starts_with("gpu:") && g.contains("(IDX:"))
            .filter_map(|g| g.split('(').next()?.rsplit(':').next()?.parse::<f64>().ok())
            .sum();
        held.insert(id.to_string(), gpus);
    }
    let mem = |tres: &str| -> f64 {
        let Some(v) = tres.split(',').find_map(|t| t.strip_prefix("mem=")) else {
            return 0.0;
        };
        let (n, unit) = v.split_at(v.len() - 1);
        let factor = match unit {
            "M" => 1024.0 * 1024.0,
            "G" => 1024.0 * 1024.0 * 1024.0,
            _ => panic!("memory unit in {tres}"),
        };
        n.parse::<f64>().unwrap_or(0.0) * factor
    };
    let requested = |s: &str| -> Option<f64> {
        let counts: Vec<f64> = s
            .split(',')
            .filter(|r| r.contains("gpu"))
            .filter_map(|r| r.rsplit(':').next()?.parse::<f64>().ok())
            .collect();
        (!counts.is_empty()).then(|| counts.iter().sum())
    };
    let format = "JobId:|,UserName:|,Account:|,State:|,NumCPUs:|,NumNodes:|,NumTasks:|,tres-alloc:|,tres-per-job:|,tres-per-node:|,tres-per-task:0";
    let mut out: BTreeMap<(String, String), [f64; 4]> = BTreeMap::new();
    for line in run(conf, "squeue", &["-h", "-t", "all", "-r", "-O", format]).lines() {
        let f: Vec<&str> = line.split('|').collect();
        let [id, user, account, state, cpus, nodes, tasks, tres, per_job, per_node, per_task] =
            f[..]
        else {
            panic!("squeue line {line}");
        };
        let key = if by == "user" { user } else { account };
        let num = |s: &str| s.parse::<f64>().unwrap_or(0.0);
        // A running job's GPUs are the ones it holds; any other job's, its request
        // (what a finished job held; scontrol -d lists no GPU index once it ended).
        let gpus = if state != "RUNNING" {
            requested(per_job)
                .or_else(|| requested(per_node).map(|n| n * num(nodes)))
                .or_else(|| requested(per_task).map(|n| n * num(tasks)))
                .unwrap_or(0.0)
        } else {
            held.get(id).copied().unwrap_or(0.0)
        };
        let e = out
            .entry((key.to_string(), state.to_ascii_lowercase()))
            .or_default();
        e[0] += 1.0;
        e[1] += num(cpus);
        e[2] += mem(tres);
        e[3] += gpus;
    }
    out
}

/// `slurm_user_*` and `slurm_account_*` against squeue and scontrol, on both sources.
fn check_usage(conf: &str, exporter: &Exporter, source: &str) {
    let collections = |m: &str| {
        value(
            m,
            "slurm_exporter_collections_total",
            &[("collector", "users")],
        )
        .unwrap_or(0.0)
    };
    exporter.wait_for("users up", Duration::from_secs(20), |m| {
        value(m, "slurm_exporter_collector_up", &[("collector", "users")]) == Some(1.0)
            && value(
                m,
                "slurm_exporter_collector_up",
                &[("collector", "accounts")],
            ) == Some(1.0)
    });
    let mut last = String::new();
    for _ in 0..5 {
        let users = expected_usage(conf, "user");
        let accounts = expected_usage(conf, "account");
        let start = collections(&exporter.metrics());
        let m = exporter.wait_for("a collection after squeue", Duration::from_secs(10), |m| {
            collections(m) >= start + 2.0
        });
        let served = |prefix: &str, label: &str, key: &(String, String)| -> [f64; 4] {
            let l = [(label, key.0.as_str()), ("state", key.1.as_str())];
            [
                value(&m, &format!("{prefix}_jobs"), &l).unwrap_or(-1.0),
                value(&m, &format!("{prefix}_jobs_cpus"), &l).unwrap_or(-1.0),
                value(&m, &format!("{prefix}_jobs_memory_bytes"), &l).unwrap_or(-1.0),
                value(&m, &format!("{prefix}_jobs_gpus"), &l).unwrap_or(-1.0),
            ]
        };
        // JSON has no CPU count for a job cancelled before it started (squeue's text
        // prints its request): not compared on the REST source.
        let blind = |mut want: BTreeMap<(String, String), [f64; 4]>,
                     got: &mut BTreeMap<(String, String), [f64; 4]>| {
            if source == "rest" {
                for (k, v) in want.iter_mut().filter(|(k, _)| k.1 == "cancelled") {
                    v[1] = -2.0;
                    if let Some(g) = got.get_mut(k) {
                        g[1] = -2.0;
                    }
                }
            }
            want
        };
        let mut got_users: BTreeMap<_, _> = users
            .keys()
            .map(|k| (k.clone(), served("slurm_user", "user", k)))
            .collect();
        let mut got_accounts: BTreeMap<_, _> = accounts
            .keys()
            .map(|k| (k.clone(), served("slurm_account", "account", k)))
            .collect();
        let users = blind(users, &mut got_users);
        let accounts = blind(accounts, &mut got_accounts);
        if got_users == users && got_accounts == accounts {
            // The lab's workload: two users and two accounts, GPUs held and asked for.
            assert!(users.keys().any(|(u, _)| u != "root"), "{users:?}");
            assert!(accounts.len() >= 2, "{accounts:?}");
            let gpus = |state: &str| -> f64 {
                users
                    .iter()
                    .filter(|((_, s), _)| s == state)
                    .map(|(_, v)| v[3])
                    .sum()
            };
            // GPUs held (running) or asked for (pending) by the workload's GPU jobs;
            // which of them run depends on how long the lab has been queueing.
            assert!(gpus("running") + gpus("pending") >= 3.0, "GPUs: {users:?}");
            return;
        }
        last = format!(
            "users: want {users:?}\n got {got_users:?}\naccounts: want {accounts:?}\n got {got_accounts:?}"
        );
    }
    panic!(
        "exporter disagrees with squeue/scontrol:\n{last}\n{}",
        exporter.logs()
    );
}

#[test]
#[ignore = "needs the local Slurm lab: scripts/slurm-dev-cluster.sh up"]
fn users_and_accounts_match_squeue() {
    let conf = slurm_conf();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let exporter = Exporter::start(
        &["--collection.interval=1s", "--collector.users"],
        &[("SLURM_CONF", &conf)],
        dir.path().join("exporter.log"),
    );
    check_usage(&conf, &exporter, "cli");
}

#[test]
#[ignore = "needs the local Slurm lab: scripts/slurm-dev-cluster.sh up"]
fn users_and_accounts_match_squeue_rest() {
    let conf = slurm_conf();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url =
        std::env::var("SLURM_LAB_REST_URL").unwrap_or_else(|_| "http://127.0.0.1:6820".into());
    let exporter = Exporter::start(
        &[
            "--collection.interval=1s",
            "--collector.users",
            "--slurm.source=rest",
            &format!("--slurm.rest-url={url}"),
            "--slurm.jwt-mint-lifespan=10m",
        ],
        &[("SLURM_CONF", &conf)],
        dir.path().join("exporter.log"),
    );
    check_usage(&conf, &exporter, "rest");
}

/// A cap of one user: the busiest keeps its series, the others are summed as `other`.
#[test]
#[ignore = "needs the local Slurm lab: scripts/slurm-dev-cluster.sh up"]
fn users_capped_sum_into_other() {
    let conf = slurm_conf();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let exporter = Exporter::start(
        &[
            "--collection.interval=1s",
            "--collector.users",
            "--caps.user.top=1",
        ],
        &[("SLURM_CONF", &conf)],
        dir.path().join("exporter.log"),
    );
    let m = exporter.wait_for("users folded", Duration::from_secs(20), |m| {
        value(
            m,
            "slurm_exporter_series_dropped_total",
            &[("family", "user")],
        )
        .unwrap_or(0.0)
            >= 1.0
    });
    let users: std::collections::BTreeSet<String> = m
        .lines()
        .filter(|l| l.starts_with("slurm_user_jobs{"))
        .filter_map(|l| {
            l.split("user=\"")
                .nth(1)?
                .split('"')
                .next()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(users.len(), 2, "one user and other: {users:?}");
    assert!(users.contains("other"), "{users:?}");
    assert_eq!(
        value(&m, "slurm_exporter_series_cap", &[("family", "user")]),
        Some(1.0)
    );
    // Every job is still counted: the sum over users is the cluster's count.
    for state in ["running", "pending"] {
        let sum: f64 = m
            .lines()
            .filter(|l| {
                l.starts_with("slurm_user_jobs{") && l.contains(&format!("state=\"{state}\""))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        assert_eq!(
            Some(sum),
            value(&m, "slurm_jobs", &[("state", state)]),
            "{state}"
        );
    }
}

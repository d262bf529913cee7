//! The fairshare, qos and associations collectors against the lab with accounting
//! (`up --accounting`: QOS `lab_high`, account `physics`, both with limits; the
//! workload runs the non-root user's jobs there). Limits are compared with
//! `sacctmgr`, fair share with `sshare`, usage with `squeue` (what the association
//! manager counts: the account's and QOS's running and submitted jobs) and
//! `scontrol show assoc_mgr`. Ignored by default; fails when the lab runs without
//! accounting.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use super::common::{value, Exporter};
use super::{run, slurm_conf, start_rest_with};

const COLLECTORS: [&str; 3] = ["fairshare", "qos", "associations"];
const FLAGS: [&str; 5] = [
    "--collection.interval=1s",
    "--collection.slow-interval=1s",
    "--collector.fairshare",
    "--collector.qos",
    "--collector.associations",
];

/// The lab's slurm.conf; panics unless the lab runs with accounting.
fn accounting_conf() -> String {
    let conf = slurm_conf();
    let ok = Command::new("sacctmgr")
        .args(["-n", "list", "cluster"])
        .env("SLURM_CONF", &conf)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "this test needs the lab with accounting and `sacctmgr list cluster` fails: \
         scripts/slurm-dev-cluster.sh up --accounting"
    );
    conf
}

/// `a|b|…` lines of a `-P` listing, split.
fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('|').map(|f| f.trim().to_string()).collect())
        .collect()
}

/// The count of `name` in a `cpu=4,mem=4000M` list (memory in bytes).
fn tres(list: &str, name: &str) -> Option<f64> {
    list.split(',').find_map(|i| {
        let (k, v) = i.split_once('=')?;
        if k != name {
            return None;
        }
        match v.strip_suffix('M') {
            Some(mb) => mb.parse::<f64>().ok().map(|mb| mb * 1024.0 * 1024.0),
            None => v.parse().ok(),
        }
    })
}

fn num(v: &str) -> Option<f64> {
    v.parse().ok()
}

fn wait_up(exporter: &Exporter, collectors: &[&str]) -> String {
    exporter.wait_for("the collectors up", Duration::from_secs(20), |m| {
        collectors
            .iter()
            .all(|c| value(m, "slurm_exporter_collector_up", &[("collector", c)]) == Some(1.0))
    })
}

/// QOS and account limits: sacctmgr's values, the unset ones absent.
fn check_limits(conf: &str, m: &str, rest: bool) {
    let qos = run(
        conf,
        "sacctmgr",
        &[
            "-n",
            "-P",
            "show",
            "qos",
            "format=Name,Priority,GrpTRES,GrpJobs,GrpSubmit,MaxTRESPerUser,MaxJobsPerUser,MaxSubmitJobsPerUser,MaxWall",
        ],
    );
    let high = rows(&qos)
        .into_iter()
        .find(|r| r[0] == "lab_high")
        .unwrap_or_else(|| panic!("no QOS lab_high in sacctmgr: {qos}"));
    let q = |name: &str, extra: &[(&str, &str)]| {
        let mut labels = vec![("qos", "lab_high")];
        labels.extend_from_slice(extra);
        value(m, name, &labels)
    };
    let cpu = [("tres", "cpu")];
    assert_eq!(q("slurm_qos_priority", &[]), num(&high[1]));
    assert_eq!(q("slurm_qos_limit_grp_tres", &cpu), tres(&high[2], "cpu"));
    assert_eq!(q("slurm_qos_limit_grp_jobs", &[]), num(&high[3]));
    // slurmdbd's JSON has no GrpSubmit for a QOS
    let grp_submit = if rest { None } else { num(&high[4]) };
    assert_eq!(q("slurm_qos_limit_grp_submit_jobs", &[]), grp_submit);
    assert_eq!(
        q("slurm_qos_limit_max_tres_per_user", &cpu),
        tres(&high[5], "cpu")
    );
    assert_eq!(q("slurm_qos_limit_max_jobs_per_user", &[]), num(&high[6]));
    assert_eq!(
        q("slurm_qos_limit_max_submit_jobs_per_user", &[]),
        num(&high[7])
    );
    assert_eq!(high[8], "02:00:00");
    assert_eq!(
        q("slurm_qos_limit_max_wall_per_job_seconds", &[]),
        Some(7200.0)
    );
    assert!(q("slurm_qos_limit_grp_tres", &cpu).is_some(), "{m}");
    // `normal` has no limits: no series
    assert_eq!(
        value(m, "slurm_qos_limit_grp_jobs", &[("qos", "normal")]),
        None
    );

    let assoc = run(
        conf,
        "sacctmgr",
        &[
            "-n",
            "-P",
            "show",
            "assoc",
            "format=Account,User,Partition,GrpTRES,GrpJobs,GrpSubmit,GrpWall",
        ],
    );
    let accounts: Vec<Vec<String>> = rows(&assoc)
        .into_iter()
        .filter(|r| r[1].is_empty() && r[2].is_empty())
        .collect();
    assert!(accounts.iter().any(|r| r[0] == "physics"), "{assoc}");
    for r in &accounts {
        let a = |name: &str, extra: &[(&str, &str)]| {
            let mut labels = vec![("account", r[0].as_str())];
            labels.extend_from_slice(extra);
            value(m, name, &labels)
        };
        assert_eq!(
            a("slurm_account_limit_grp_tres", &cpu),
            tres(&r[3], "cpu"),
            "{r:?}"
        );
        assert_eq!(
            a("slurm_account_limit_grp_tres", &[("tres", "mem")]),
            tres(&r[3], "mem"),
            "{r:?}"
        );
        assert_eq!(a("slurm_account_limit_grp_jobs", &[]), num(&r[4]), "{r:?}");
        assert_eq!(
            a("slurm_account_limit_grp_submit_jobs", &[]),
            num(&r[5]),
            "{r:?}"
        );
        assert_eq!(
            a("slurm_account_limit_grp_wall_seconds", &[]),
            None,
            "{r:?}"
        );
    }
}

/// What the association manager counts, from squeue: (running jobs, running and
/// pending jobs, CPUs of the running jobs) for `-A account` or `-q qos`.
fn squeue_usage(conf: &str, filter: &[&str]) -> (f64, f64, f64) {
    let mut args = vec!["-h", "-r", "-t", "PD,R,S,CF,CG", "-o", "%T|%C"];
    args.extend_from_slice(filter);
    let (mut running, mut submitted, mut cpus) = (0.0, 0.0, 0.0);
    for r in rows(&run(conf, "squeue", &args)) {
        submitted += 1.0;
        if r[0] != "PENDING" {
            running += 1.0;
            cpus += num(&r[1]).unwrap_or(0.0);
        }
    }
    (running, submitted, cpus)
}

/// Usage (CLI source): physics and lab_high as squeue counts them; fair share as
/// sshare prints it. Retried: jobs start and end, usage grows every minute.
fn check_usage(conf: &str, exporter: &Exporter) {
    let mut last = None;
    for _ in 0..5 {
        let physics = squeue_usage(conf, &["-A", "physics"]);
        let high = squeue_usage(conf, &["-q", "lab_high"]);
        let sshare = run(
            conf,
            "sshare",
            &[
                "-a",
                "-P",
                "-n",
                "-o",
                "Account,User,RawShares,NormShares,RawUsage,EffectvUsage,LevelFS",
            ],
        );
        let want: BTreeMap<String, Vec<Option<f64>>> = rows(&sshare)
            .into_iter()
            .filter(|r| r[1].is_empty())
            .map(|r| (r[0].clone(), r[2..].iter().map(|v| num(v)).collect()))
            .collect();
        let assoc_mgr = run(conf, "scontrol", &["-o", "show", "assoc_mgr", "flags=qos"]);
        let usage_raw = assoc_mgr
            .lines()
            .find(|l| l.starts_with("QOS=lab_high("))
            .and_then(|l| {
                l.split_whitespace()
                    .find_map(|t| t.strip_prefix("UsageRaw="))
            })
            .and_then(num);
        std::thread::sleep(Duration::from_millis(1500));
        let m = exporter.metrics();
        let p = |name: &str, extra: &[(&str, &str)]| {
            let mut labels = vec![("account", "physics")];
            labels.extend_from_slice(extra);
            value(&m, name, &labels).unwrap_or(-1.0)
        };
        let q = |name: &str, extra: &[(&str, &str)]| {
            let mut labels = vec![("qos", "lab_high")];
            labels.extend_from_slice(extra);
            value(&m, name, &labels).unwrap_or(-1.0)
        };
        let cpu = [("tres", "cpu")];
        let got_physics = (
            p("slurm_account_used_jobs", &[]),
            p("slurm_account_used_submit_jobs", &[]),
            p("slurm_account_used_tres", &cpu),
        );
        let got_high = (
            q("slurm_qos_used_jobs", &[]),
            q("slurm_qos_used_submit_jobs", &[]),
            q("slurm_qos_used_tres", &cpu),
        );
        let got: BTreeMap<String, Vec<Option<f64>>> = want
            .keys()
            .map(|account| {
                let f = |name: &str| value(&m, name, &[("account", account)]);
                (
                    account.clone(),
                    vec![
                        f("slurm_account_fairshare_shares"),
                        f("slurm_account_fairshare_shares_normalized"),
                        f("slurm_account_fairshare_usage_raw"),
                        f("slurm_account_fairshare_usage_effective"),
                        f("slurm_account_fairshare_level"),
                    ],
                )
            })
            .collect();
        let got_raw = value(&m, "slurm_qos_usage_raw", &[("qos", "lab_high")]);
        if got_physics == physics && got_high == high && got == want && got_raw == usage_raw {
            assert!(
                want.contains_key("physics") && want.contains_key("root"),
                "{want:?}"
            );
            assert!(high.1 >= 1.0, "the workload has no job in QOS lab_high");
            return;
        }
        last = Some(format!(
            "physics want {physics:?} got {got_physics:?}; lab_high want {high:?} got {got_high:?}; \
             usage raw want {usage_raw:?} got {got_raw:?}\nsshare want {want:?}\n got {got:?}"
        ));
    }
    panic!(
        "exporter disagrees with squeue/sshare/scontrol: {}\nlogs:\n{}",
        last.unwrap_or_default(),
        exporter.logs()
    );
}

#[test]
#[ignore = "needs the local Slurm lab with accounting: scripts/slurm-dev-cluster.sh up --accounting"]
fn cli_fairshare_qos_associations_match_slurm() {
    let conf = accounting_conf();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let exporter = Exporter::start(
        &FLAGS,
        &[("SLURM_CONF", &conf)],
        dir.path().join("exporter.log"),
    );
    let m = wait_up(&exporter, &COLLECTORS);
    check_limits(&conf, &m, false);
    check_usage(&conf, &exporter);
    assert_eq!(exporter.get("/ready").0, 200);
}

/// REST on 22.05: QOS and association limits from slurmdbd (no usage: slurmrestd
/// cannot see slurmctld's association manager); no `/shares` before v0.0.40, so
/// fairshare is down with a log line that says why.
#[test]
#[ignore = "needs the local Slurm lab with accounting: scripts/slurm-dev-cluster.sh up --accounting"]
fn rest_qos_associations_and_no_shares_on_22_05() {
    let conf = accounting_conf();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let exporter = start_rest_with(&conf, dir.path(), &FLAGS);
    let m = wait_up(&exporter, &["qos", "associations"]);
    check_limits(&conf, &m, true);
    for name in [
        "slurm_qos_used_jobs",
        "slurm_account_used_jobs",
        "slurm_qos_usage_raw",
    ] {
        assert!(
            !m.contains(&format!("\n{name}{{")),
            "{name} without usage data:\n{m}"
        );
    }
    let m = exporter.wait_for("fairshare down", Duration::from_secs(10), |m| {
        value(
            m,
            "slurm_exporter_collector_up",
            &[("collector", "fairshare")],
        ) == Some(0.0)
    });
    assert!(!m.contains("\nslurm_account_fairshare_"), "{m}");
    let logs = exporter.logs();
    assert!(
        logs.contains("has no /shares (it starts with v0.0.40"),
        "{logs}"
    );
}

/// `--slurm.cli-json=shares` asks `sshare --json`, which 22.05 does not have: fairshare
/// is down and the log says why; the other collectors are unaffected.
#[test]
#[ignore = "needs the local Slurm lab with accounting: scripts/slurm-dev-cluster.sh up --accounting"]
fn cli_json_shares_on_22_05_is_down_with_the_reason() {
    let conf = accounting_conf();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut args = FLAGS.to_vec();
    args.push("--slurm.cli-json=shares");
    let exporter = Exporter::start(
        &args,
        &[("SLURM_CONF", &conf)],
        dir.path().join("exporter.log"),
    );
    wait_up(&exporter, &["qos", "associations", "nodes"]);
    exporter.wait_for("fairshare down", Duration::from_secs(10), |m| {
        value(
            m,
            "slurm_exporter_collector_up",
            &[("collector", "fairshare")],
        ) == Some(0.0)
    });
    let logs = exporter.logs();
    assert!(logs.contains("query=shares"), "{logs}");
    assert!(logs.contains("unrecognized option"), "{logs}");
}

/// Per-user series (opt-in, capped at 2 users): the kept users' rows equal sshare's and
/// the association manager's; the users left out are counted.
#[test]
#[ignore = "needs the local Slurm lab with accounting: scripts/slurm-dev-cluster.sh up --accounting"]
fn cli_per_user_series_are_capped_and_match_slurm() {
    let conf = accounting_conf();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut args = FLAGS.to_vec();
    args.extend([
        "--collector.fairshare_users",
        "--collector.associations_users",
        "--caps.default.top=2",
    ]);
    let exporter = Exporter::start(
        &args,
        &[("SLURM_CONF", &conf)],
        dir.path().join("exporter.log"),
    );
    wait_up(&exporter, &["fairshare_users", "associations_users"]);
    let sshare = run(
        &conf,
        "sshare",
        &[
            "-a",
            "-P",
            "-n",
            "-o",
            "Account,User,RawShares,NormShares,FairShare",
        ],
    );
    let users: Vec<Vec<String>> = rows(&sshare)
        .into_iter()
        .filter(|r| !r[1].is_empty())
        .collect();
    let distinct: std::collections::BTreeSet<&str> = users.iter().map(|r| r[1].as_str()).collect();
    assert!(
        distinct.len() > 2,
        "the lab has more than 2 users: {sshare}"
    );
    let m = exporter.metrics();
    let mut kept = std::collections::BTreeSet::new();
    for r in &users {
        let labels = [("account", r[0].as_str()), ("user", r[1].as_str())];
        let Some(shares) = value(&m, "slurm_user_fairshare_shares", &labels) else {
            continue;
        };
        kept.insert(r[1].clone());
        assert_eq!(Some(shares), num(&r[2]), "{r:?}");
        assert_eq!(
            value(&m, "slurm_user_fairshare_shares_normalized", &labels),
            num(&r[3])
        );
        // the factor moves with usage every minute: present and in 0..=1
        let factor = value(&m, "slurm_user_fairshare_factor", &labels).unwrap_or(-1.0);
        assert!((0.0..=1.0).contains(&factor), "{r:?}: {factor}");
    }
    assert_eq!(kept.len(), 2, "top 2 users kept: {kept:?}");
    for family in ["fairshare_user", "association_user"] {
        let dropped = value(
            &m,
            "slurm_exporter_series_dropped_total",
            &[("family", family)],
        );
        assert!(dropped.unwrap_or(0.0) >= 1.0, "{family}: {dropped:?}");
    }
    // a user association kept: limits from sacctmgr (none set: absent), usage present
    let assoc_users: std::collections::BTreeSet<String> = m
        .lines()
        .filter(|l| l.starts_with("slurm_user_association_used_submit_jobs{"))
        .filter_map(|l| {
            l.split("user=\"")
                .nth(1)?
                .split('"')
                .next()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(assoc_users.len(), 2, "{assoc_users:?}");
    assert!(
        !m.contains("\nslurm_user_association_limit_max_jobs{"),
        "no MaxJobs set in the lab"
    );
}

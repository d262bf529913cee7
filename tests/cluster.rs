//! The exporter against the real local Slurm cluster (`scripts/slurm-dev-cluster.sh up`
//! and `workload`), once per source. Values are checked against what `sinfo`,
//! `squeue`, `sdiag` and `scontrol` print for the same cluster at the same time.
//!
//! Ignored by default (a plain clone has no lab); run with `--include-ignored`
//! (scripts/test.sh, CI), a missing cluster is a failure.

mod common;
#[path = "cluster/dbinfo.rs"]
mod dbinfo;
#[path = "cluster/derived.rs"]
mod derived;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use common::{value, Exporter};

use common::lab::{run, slurm_conf};

/// What Slurm's own commands say, in the exporter's terms.
#[derive(Debug, PartialEq)]
struct Expected {
    nodes_by_state: BTreeMap<String, f64>,
    cpus: [f64; 3],
    jobs_by_state: BTreeMap<String, f64>,
    partition_jobs: BTreeMap<(String, String), f64>,
    pending_by_reason: BTreeMap<String, f64>,
    /// Most nodes asked by a pending, not held job, per partition.
    pending_nodes_max: BTreeMap<String, f64>,
}

fn expected(conf: &str) -> Expected {
    let mut nodes_by_state = BTreeMap::new();
    let mut cpus = [0.0; 3];
    let mut seen = std::collections::BTreeSet::new();
    for line in run(conf, "sinfo", &["-h", "-N", "-o", "%N|%T|%C"]).lines() {
        let f: Vec<&str> = line.split('|').collect();
        if f.len() != 3 || !seen.insert(f[0].to_string()) {
            continue;
        }
        let state = f[1].trim_end_matches(['*', '~', '#', '!', '%', '$', '@', '^', '-']);
        *nodes_by_state.entry(state.to_string()).or_insert(0.0) += 1.0;
        let c: Vec<f64> = f[2].split('/').filter_map(|v| v.parse().ok()).collect();
        for (total, v) in cpus.iter_mut().zip(c) {
            *total += v;
        }
    }
    let mut jobs_by_state = BTreeMap::new();
    let mut partition_jobs = BTreeMap::new();
    let mut pending_by_reason = BTreeMap::new();
    let mut pending_nodes_max = BTreeMap::new();
    for line in run(
        conf,
        "squeue",
        &["-h", "-t", "all", "-r", "-o", "%T|%P|%D|%r"],
    )
    .lines()
    {
        let mut f = line.splitn(4, '|');
        let (Some(state), Some(parts), Some(nodes), Some(reason)) =
            (f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        if state == "PENDING" && !reason.starts_with("JobHeld") {
            let nodes: f64 = nodes.parse().unwrap_or(-1.0);
            for p in parts.split(',') {
                let max = pending_nodes_max.entry(p.to_string()).or_insert(0.0);
                *max = nodes.max(*max);
            }
        }
        let state = state.to_ascii_lowercase();
        *jobs_by_state.entry(state.clone()).or_insert(0.0) += 1.0;
        for p in parts.split(',') {
            *partition_jobs
                .entry((p.to_string(), state.clone()))
                .or_insert(0.0) += 1.0;
        }
        if state == "pending" {
            let r = slurm_exporter::model::job::reason_label(reason).to_string();
            *pending_by_reason.entry(r).or_insert(0.0) += 1.0;
        }
    }
    Expected {
        nodes_by_state,
        cpus,
        jobs_by_state,
        partition_jobs,
        pending_by_reason,
        pending_nodes_max,
    }
}

fn observed(m: &str, want: &Expected) -> Expected {
    let v = |name: &str, labels: &[(&str, &str)]| value(m, name, labels).unwrap_or(-1.0);
    Expected {
        nodes_by_state: want
            .nodes_by_state
            .keys()
            .map(|s| (s.clone(), v("slurm_nodes", &[("state", s)])))
            .collect(),
        cpus: [
            v("slurm_cpus", &[("state", "allocated")]),
            v("slurm_cpus", &[("state", "idle")]),
            v("slurm_cpus", &[("state", "other")]),
        ],
        jobs_by_state: want
            .jobs_by_state
            .keys()
            .map(|s| (s.clone(), v("slurm_jobs", &[("state", s)])))
            .collect(),
        partition_jobs: want
            .partition_jobs
            .keys()
            .map(|(p, s)| {
                (
                    (p.clone(), s.clone()),
                    v("slurm_partition_jobs", &[("partition", p), ("state", s)]),
                )
            })
            .collect(),
        pending_by_reason: want
            .pending_by_reason
            .keys()
            .map(|r| {
                (
                    r.clone(),
                    v("slurm_jobs_pending_by_reason", &[("reason", r)]),
                )
            })
            .collect(),
        pending_nodes_max: want
            .pending_nodes_max
            .keys()
            .map(|p| {
                (
                    p.clone(),
                    v("slurm_partition_pending_job_nodes_max", &[("partition", p)]),
                )
            })
            .collect(),
    }
}

/// Compares after a collection that started after Slurm's own commands ran;
/// retries a few times because the workload may move while we look.
fn check_against_slurm(conf: &str, exporter: &Exporter) {
    let collections = |m: &str| {
        value(
            m,
            "slurm_exporter_collections_total",
            &[("collector", "jobs")],
        )
    };
    let mut last = None;
    for _ in 0..5 {
        let want = expected(conf);
        let before = collections(&exporter.metrics());
        let _ = exporter.wait_for(
            "a collection after reading Slurm",
            Duration::from_secs(10),
            |m| collections(m).unwrap_or(0.0) >= before.unwrap_or(0.0) + 2.0,
        );
        let m = exporter.metrics();
        let got = observed(&m, &want);
        if got == want {
            assert!(
                want.jobs_by_state.get("running").copied().unwrap_or(0.0) > 0.0,
                "workload has no running job: {want:?}"
            );
            assert!(
                want.jobs_by_state.get("pending").copied().unwrap_or(0.0) > 0.0,
                "workload has no pending job"
            );
            return;
        }
        last = Some((want, got));
    }
    panic!(
        "exporter disagrees with sinfo/squeue: {last:#?}\nlogs:\n{}",
        exporter.logs()
    );
}

/// `Key=Value` fields of each line of an `scontrol -o show …` listing (values
/// with spaces are not needed here).
fn scontrol_records(conf: &str, what: &str) -> Vec<BTreeMap<String, String>> {
    run(conf, "scontrol", &["-o", "show", what])
        .lines()
        .filter(|l| l.contains('='))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|t| t.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// A series the exporter must serve: name, labels, value.
type Want = (String, Vec<(String, String)>, f64);

/// Licenses and reservations as `scontrol show license|reservation` print them.
fn expected_licenses_and_reservations(conf: &str) -> Vec<Want> {
    let mut want = Vec::new();
    let num = |r: &BTreeMap<String, String>, k: &str| {
        r.get(k)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("{k} missing in {r:?}"))
    };
    for l in scontrol_records(conf, "license") {
        let labels = vec![("license".to_string(), l["LicenseName"].clone())];
        for (key, series) in [
            ("Total", "slurm_license_configured"),
            ("Used", "slurm_license_used"),
            ("Free", "slurm_license_free"),
            ("Reserved", "slurm_license_reserved"),
        ] {
            want.push((series.to_string(), labels.clone(), num(&l, key)));
        }
        let remote = if l["Remote"] == "yes" { 1.0 } else { 0.0 };
        want.push(("slurm_license_remote".into(), labels, remote));
    }
    for r in scontrol_records(conf, "reservation") {
        let labels = vec![("reservation".to_string(), r["ReservationName"].clone())];
        for (key, series) in [
            ("CoreCnt", "slurm_reservation_cores"),
            ("StartTime", "slurm_reservation_start_timestamp_seconds"),
            ("EndTime", "slurm_reservation_end_timestamp_seconds"),
        ] {
            want.push((series.to_string(), labels.clone(), num(&r, key)));
        }
        let active = if r["State"] == "ACTIVE" { 1.0 } else { 0.0 };
        want.push(("slurm_reservation_active".into(), labels.clone(), active));
        // Every reserved node is counted under exactly one state.
        want.push((
            "sum:slurm_reservation_nodes".into(),
            labels,
            num(&r, "NodeCnt"),
        ));
    }
    want
}

/// The exporter's value for one expected triple (`sum:` adds every matching series).
fn served(m: &str, series: &str, labels: &[(String, String)]) -> Option<f64> {
    let labels: Vec<(&str, &str)> = labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let Some(name) = series.strip_prefix("sum:") else {
        return value(m, series, &labels);
    };
    let mut total = None;
    for line in m.lines().filter(|l| l.starts_with(&format!("{name}{{"))) {
        if labels
            .iter()
            .all(|(k, v)| line.contains(&format!("{k}=\"{v}\"")))
        {
            let v: f64 = line.rsplit(' ').next()?.parse().ok()?;
            total = Some(total.unwrap_or(0.0) + v);
        }
    }
    total
}

/// Licenses and reservations against `scontrol`, retried while the workload moves.
fn check_licenses_and_reservations(conf: &str, exporter: &Exporter) {
    let collections = |m: &str| {
        value(
            m,
            "slurm_exporter_collections_total",
            &[("collector", "reservations")],
        )
        .unwrap_or(0.0)
    };
    let mut last = None;
    for _ in 0..5 {
        let want = expected_licenses_and_reservations(conf);
        assert!(
            want.iter().any(|(s, _, _)| s == "slurm_license_configured"),
            "the lab has no license (slurm.conf Licenses=lab_lic:8)"
        );
        let before = collections(&exporter.metrics());
        let m = exporter.wait_for(
            "a collection after scontrol",
            Duration::from_secs(10),
            |m| collections(m) >= before + 2.0,
        );
        let got: Vec<_> = want
            .iter()
            .map(|(s, l, _)| (s.clone(), l.clone(), served(&m, s, l).unwrap_or(-1.0)))
            .collect();
        if got == want {
            return;
        }
        last = Some((want, got));
    }
    panic!(
        "exporter disagrees with scontrol show license/reservation: {last:#?}\nlogs:\n{}",
        exporter.logs()
    );
}

/// `name:model:count(…)` items of a `Gres=`/`GresUsed=` value → (name, model, count).
fn gres_items(value: &str) -> Vec<(String, String, f64)> {
    if value == "(null)" || value.is_empty() {
        return Vec::new();
    }
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in value.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&value[start..]);
    items
        .into_iter()
        .map(|item| match item.rfind('(') {
            Some(p) if item.ends_with(')') && !item[..p].ends_with(':') => &item[..p],
            _ => item,
        })
        .filter_map(|item| {
            let parts: Vec<&str> = item.split(':').collect();
            let count = parts.last()?.parse().ok()?;
            let model = if parts.len() == 3 && parts[1] != "(null)" {
                parts[1]
            } else {
                ""
            };
            Some((parts[0].to_string(), model.to_string(), count))
        })
        .collect()
}

/// Per-node GRES as `scontrol -d show node` prints them (the lab has `gpu:fake:2`
/// on n1 when started by the current script, no GRES otherwise).
fn expected_gres(conf: &str) -> Vec<Want> {
    let mut want = Vec::new();
    for line in run(conf, "scontrol", &["-d", "-o", "show", "node"]).lines() {
        let field = |key: &str| {
            line.split_whitespace()
                .find_map(|t| t.strip_prefix(key))
                .unwrap_or_default()
                .to_string()
        };
        let node = field("NodeName=");
        let used = gres_items(&field("GresUsed="));
        for (name, model, total) in gres_items(&field("Gres=")) {
            let labels = vec![
                ("node".to_string(), node.clone()),
                ("gres".to_string(), name.clone()),
                ("model".to_string(), model.clone()),
            ];
            let in_use = used
                .iter()
                .find(|(n, m, _)| *n == name && *m == model)
                .map_or(0.0, |u| u.2);
            want.push(("slurm_node_gres".into(), labels.clone(), total));
            want.push(("slurm_node_gres_allocated".into(), labels, in_use));
        }
    }
    want
}

/// GRES against `scontrol -d show node`; no per-node series where there is none.
fn check_gres(conf: &str, exporter: &Exporter) {
    let collections = |m: &str| {
        value(
            m,
            "slurm_exporter_collections_total",
            &[("collector", "gpus")],
        )
        .unwrap_or(0.0)
    };
    let mut last = None;
    for _ in 0..5 {
        let want = expected_gres(conf);
        let before = collections(&exporter.metrics());
        let m = exporter.wait_for(
            "a collection after scontrol",
            Duration::from_secs(10),
            |m| collections(m) >= before + 2.0,
        );
        let got: Vec<_> = want
            .iter()
            .map(|(s, l, _)| (s.clone(), l.clone(), served(&m, s, l).unwrap_or(-1.0)))
            .collect();
        let per_node = m
            .lines()
            .filter(|l| l.starts_with("slurm_node_gres{"))
            .count();
        let expected_per_node = want
            .iter()
            .filter(|(s, _, _)| s == "slurm_node_gres")
            .count();
        if got == want && per_node == expected_per_node {
            return;
        }
        last = Some((want, got, per_node));
    }
    panic!(
        "exporter disagrees with scontrol -d show node (GRES): {last:#?}\nlogs:\n{}",
        exporter.logs()
    );
}

fn check_common(conf: &str, exporter: &Exporter) {
    let m = exporter.wait_for("all collectors up", Duration::from_secs(15), |m| {
        [
            "nodes",
            "partitions",
            "jobs",
            "scheduler",
            "controller",
            "licenses",
            "reservations",
            "gpus",
        ]
        .iter()
        .all(|c| value(m, "slurm_exporter_collector_up", &[("collector", c)]) == Some(1.0))
    });
    assert_eq!(exporter.get("/ready").0, 200);
    assert_eq!(exporter.get("/health").0, 200);
    let version = run(conf, "scontrol", &["version"]);
    let version = version.split_whitespace().nth(1).unwrap_or_default();
    assert_eq!(
        value(
            &m,
            "slurm_info",
            &[("version", version), ("cluster", "lab")]
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(value(&m, "slurm_controller_reachable", &[]), Some(1.0));
    // Per-node values from scontrol: n1 has 4 CPUs and 4000 MB.
    assert_eq!(value(&m, "slurm_node_cpus", &[("node", "n1")]), Some(4.0));
    assert_eq!(
        value(&m, "slurm_node_memory_bytes", &[("node", "n1")]),
        Some(4000.0 * 1024.0 * 1024.0)
    );
    assert_eq!(
        value(
            &m,
            "slurm_node_reason_info",
            &[("node", "f1"), ("reason", "fake node")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "slurm_partition_state",
            &[("partition", "debug"), ("state", "up")]
        ),
        Some(1.0)
    );
    let threads = value(&m, "slurm_scheduler_threads", &[]).unwrap_or(0.0);
    assert!(threads >= 1.0, "server threads {threads}");
    // sdiag counts since slurmctld started (a restart, e.g. by tests/cluster_faults.rs,
    // resets it): compare with what sdiag says now. Other tests submit jobs meanwhile, so
    // a job submitted between the exporter's collection and this sdiag is a race, not a
    // wrong value: look again after the next collections (1 s interval) before failing.
    let sdiag_submitted = || -> Option<f64> {
        run(conf, "sdiag", &[])
            .lines()
            .find_map(|l| l.trim().strip_prefix("Jobs submitted:"))
            .and_then(|v| v.trim().parse().ok())
    };
    let mut submitted = value(&m, "slurm_scheduler_jobs_submitted_total", &[]).unwrap_or(-1.0);
    let mut sdiag = sdiag_submitted();
    for _ in 0..10 {
        if Some(submitted) == sdiag {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1500));
        submitted = value(
            &exporter.metrics(),
            "slurm_scheduler_jobs_submitted_total",
            &[],
        )
        .unwrap_or(-1.0);
        sdiag = sdiag_submitted();
    }
    assert_eq!(Some(submitted), sdiag, "jobs submitted");
    check_against_slurm(conf, exporter);
    check_licenses_and_reservations(conf, exporter);
    check_gres(conf, exporter);
}

#[test]
#[ignore = "needs the local Slurm lab: scripts/slurm-dev-cluster.sh up"]
fn cli_source_matches_slurm() {
    let conf = slurm_conf();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let exporter = Exporter::start(
        &["--collection.interval=1s"],
        &[("SLURM_CONF", &conf)],
        dir.path().join("exporter.log"),
    );
    check_common(&conf, &exporter);
}

/// Mints a token for root with `lifespan` seconds into `path` with the cluster script.
fn mint_token(conf: &str, path: &std::path::Path, lifespan: &str) {
    let script = common::repo().join("scripts/slurm-dev-cluster.sh");
    let out = Command::new("bash")
        .arg(&script)
        .args([
            "token",
            "--file",
            &path.display().to_string(),
            "root",
            lifespan,
        ])
        .env("SLURM_CONF", conf)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "token: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts the exporter on the REST source minting its own token, with `args`.
fn start_rest_with(conf: &str, dir: &std::path::Path, args: &[&str]) -> Exporter {
    let url =
        std::env::var("SLURM_LAB_REST_URL").unwrap_or_else(|_| "http://127.0.0.1:6820".into());
    let mut all = vec![
        "--slurm.source=rest".to_string(),
        format!("--slurm.rest-url={url}"),
        "--slurm.jwt-mint-lifespan=10m".to_string(),
    ];
    all.extend(args.iter().map(|a| a.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    Exporter::start(&all, &[("SLURM_CONF", conf)], dir.join("exporter.log"))
}

/// Starts the exporter on the REST source with the token in `jwt`.
fn start_rest(conf: &str, jwt: &std::path::Path, dir: &std::path::Path) -> Exporter {
    let url =
        std::env::var("SLURM_LAB_REST_URL").unwrap_or_else(|_| "http://127.0.0.1:6820".into());
    Exporter::start(
        &[
            "--collection.interval=1s",
            "--slurm.source=rest",
            &format!("--slurm.rest-url={url}"),
            &format!("--slurm.jwt-file={}", jwt.display()),
        ],
        &[("SLURM_CONF", conf)],
        dir.join("exporter.log"),
    )
}

#[test]
#[ignore = "needs the local Slurm lab: scripts/slurm-dev-cluster.sh up"]
fn rest_source_matches_slurm() {
    let conf = slurm_conf();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let jwt = dir.path().join("jwt");
    mint_token(&conf, &jwt, "3600");
    let exporter = start_rest(&conf, &jwt, dir.path());
    check_common(&conf, &exporter);
}

/// A real token minted with a 1 s lifespan, used after it expired.
#[test]
#[ignore = "needs the local Slurm lab: scripts/slurm-dev-cluster.sh up"]
fn rest_source_with_an_expired_token_reports_auth() {
    let conf = slurm_conf();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let jwt = dir.path().join("jwt");
    mint_token(&conf, &jwt, "1");
    let token = std::fs::read_to_string(&jwt).unwrap_or_default();
    std::thread::sleep(Duration::from_millis(2100));
    let exporter = start_rest(&conf, &jwt, dir.path());
    let m = exporter.wait_for("auth errors", Duration::from_secs(10), |m| {
        value(
            m,
            "slurm_exporter_collection_errors_total",
            &[("collector", "nodes"), ("reason", "auth")],
        )
        .unwrap_or(0.0)
            >= 1.0
    });
    assert_eq!(
        value(&m, "slurm_exporter_collector_up", &[("collector", "nodes")]),
        Some(0.0)
    );
    assert_eq!(exporter.get("/ready").0, 503);
    assert!(value(&m, "slurm_exporter_slurm_auth_failures_total", &[]).unwrap_or(0.0) >= 1.0);
    assert!(value(&m, "slurm_exporter_jwt_expiry_timestamp_seconds", &[]).is_some());
    let signature = token
        .trim()
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(signature.len() > 10);
    assert!(
        !exporter.logs().contains(&signature),
        "the token leaked into the logs"
    );
    assert!(exporter.logs().contains("expired"), "{}", exporter.logs());
}

/// The REST source minting its own tokens with `scontrol token` (root may).
#[test]
#[ignore = "needs the local Slurm lab: scripts/slurm-dev-cluster.sh up"]
fn rest_source_mints_its_token() {
    let conf = slurm_conf();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url =
        std::env::var("SLURM_LAB_REST_URL").unwrap_or_else(|_| "http://127.0.0.1:6820".into());
    let exporter = Exporter::start(
        &[
            "--collection.interval=1s",
            "--slurm.source=rest",
            &format!("--slurm.rest-url={url}"),
            "--slurm.jwt-mint-lifespan=5m",
        ],
        &[("SLURM_CONF", &conf)],
        dir.path().join("exporter.log"),
    );
    let m = exporter.wait_for("nodes up", Duration::from_secs(15), |m| {
        value(m, "slurm_exporter_collector_up", &[("collector", "nodes")]) == Some(1.0)
    });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let expiry = value(&m, "slurm_exporter_jwt_expiry_timestamp_seconds", &[]).unwrap_or(0.0);
    assert!(
        (expiry - now - 300.0).abs() < 30.0,
        "expiry {expiry}, now {now}"
    );
    assert_eq!(
        value(&m, "slurm_exporter_slurm_auth_failures_total", &[]),
        Some(0.0)
    );
    let logs = exporter.logs();
    assert!(logs.contains("minted a new JWT"), "{logs}");
    assert_eq!(
        logs.matches("minted a new JWT").count(),
        1,
        "one token for its lifespan"
    );
}

/// The CLI source needs no root: an ordinary user with munge access and the Slurm
/// commands sees the same cluster (the lab sets no PrivateData).
#[test]
#[ignore = "needs the local Slurm lab: scripts/slurm-dev-cluster.sh up"]
fn cli_source_as_an_ordinary_user() {
    let conf = slurm_conf();
    let user = std::env::var("SLURM_LAB_USER").unwrap_or_else(|_| "labuser".into());
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let exporter = Exporter::start_as(
        Some(&user),
        &["--collection.interval=1s"],
        &[("SLURM_CONF", &conf)],
        dir.path().join("exporter.log"),
    );
    check_common(&conf, &exporter);
}

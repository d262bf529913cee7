//! docs/metrics.md and the code must list the same metric families, with the same
//! type, labels and help. `UPDATE_DOCS=1 cargo test --test metrics_doc` rewrites the
//! generated table from the code.

use std::collections::BTreeSet;
use std::sync::Arc;

use slurm_exporter::collectors::{self, Context};
use slurm_exporter::exposition::{Family, MetricType};
use slurm_exporter::model::*;
use slurm_exporter::self_metrics::{ClusterStats, CollectionStats, HttpStats};

const BEGIN: &str = "<!-- BEGIN GENERATED: metric table -->";
const END: &str = "<!-- END GENERATED -->";

fn everything() -> SlurmData {
    let node = Node {
        name: "n1".into(),
        partitions: vec!["debug".into()],
        state: NodeState::from_compound("IDLE+DRAIN"),
        cpus_total: Some(4),
        cpus_allocated: Some(0),
        memory_total_bytes: Some(1),
        memory_allocated_bytes: Some(1),
        memory_free_bytes: Some(1),
        cpu_load: Some(1.0),
        reason: Some("r".into()),
        reason_changed_at: Some(1),
        gres: vec![Gres::new("gpu", Some("a100"), 4)],
        gres_used: Some(vec![Gres::new("gpu", Some("a100"), 1)]),
        tres_gres: Vec::new(),
        tres_gres_allocated: None,
    };
    SlurmData {
        nodes: Some(Arc::new(Nodes { nodes: vec![node] })),
        partitions: Some(Arc::new(Partitions {
            partitions: vec![Partition {
                name: "debug".into(),
                state: Some("UP".into()),
                total_cpus: Some(4),
                total_nodes: Some(1),
                is_default: Some(true),
                max_time_seconds: Some(60),
            }],
        })),
        jobs: Some(Arc::new(Jobs {
            jobs: vec![Job {
                id: 1,
                state: JobState::Pending,
                partition: "debug".into(),
                reason: "Priority".into(),
                cpus: Some(1),
                nodes: Some(1),
                submit_time: Some(1),
                start_time: None,
                task_count: 1,
                user: Some("alice".into()),
                account: Some("physics".into()),
                memory_bytes: Some(1 << 30),
                gpus: Some(1),
            }],
        })),
        diag: Some(Arc::new(Diag {
            rpcs_by_message_type: vec![RpcStat {
                name: "REQUEST_PING".into(),
                count: 1,
                total_time_us: 1,
            }],
            rpcs_by_user: vec![RpcStat {
                name: "root".into(),
                count: 1,
                total_time_us: 1,
            }],
            ..Default::default()
        })),
        controllers: Some(Arc::new(ControllerData {
            controllers: vec![Controller {
                hostname: "h".into(),
                mode: ControllerMode::Primary,
                up: true,
                latency_seconds: Some(0.1),
            }],
            info: ClusterInfo {
                cluster_name: Some("lab".into()),
                version: Some("22.05.8".into()),
            },
        })),
        licenses: Some(Arc::new(Licenses {
            licenses: vec![License {
                name: "l".into(),
                total: Some(1),
                used: Some(1),
                free: Some(0),
                reserved: Some(0),
                remote: Some(true),
                last_consumed: Some(1),
                last_deficit: Some(0),
                last_update: Some(1),
            }],
        })),
        reservations: Some(Arc::new(Reservations {
            reservations: vec![Reservation {
                name: "r".into(),
                partition: Some("debug".into()),
                flags: vec!["MAINT".into()],
                start_time: Some(1),
                end_time: Some(2),
                node_list: Some("n1".into()),
                node_count: Some(1),
                core_count: Some(4),
                state: None,
            }],
        })),
        shares: Some(Arc::new(Shares {
            rows: vec![ShareRow {
                account: "a".into(),
                shares: Some(1.0),
                shares_normalized: Some(1.0),
                usage_raw: Some(1.0),
                usage_normalized: Some(1.0),
                usage_effective: Some(1.0),
                factor: Some(1.0),
                level: Some(1.0),
                ..Default::default()
            }],
        })),
        qos: Some(Arc::new(QosList {
            qos: vec![Qos {
                name: "q".into(),
                priority: Some(1),
                usage_factor: Some(1.0),
                grp_tres: vec![Tres::new("cpu", 1)],
                grp_jobs: Some(1),
                grp_submit_jobs: Some(1),
                grp_wall_seconds: Some(1),
                max_tres_per_user: vec![Tres::new("cpu", 1)],
                max_jobs_per_user: Some(1),
                max_submit_jobs_per_user: Some(1),
                max_tres_per_job: vec![Tres::new("cpu", 1)],
                max_tres_per_account: vec![Tres::new("cpu", 1)],
                max_jobs_per_account: Some(1),
                max_submit_jobs_per_account: Some(1),
                max_wall_per_job_seconds: Some(1),
            }],
        })),
        qos_usage: Some(Arc::new(QosUsages {
            reported: true,
            qos: vec![QosUsage {
                name: "q".into(),
                usage: Usage {
                    jobs: Some(1),
                    submitted_jobs: Some(1),
                    tres: vec![Tres::new("cpu", 1)],
                },
                usage_raw: Some(1.0),
            }],
        })),
        associations: Some(Arc::new(Associations {
            associations: vec![Association {
                account: "a".into(),
                grp_tres: vec![Tres::new("cpu", 1)],
                grp_jobs: Some(1),
                grp_submit_jobs: Some(1),
                grp_wall_seconds: Some(1),
                max_jobs: Some(1),
                max_submit_jobs: Some(1),
                usage: Some(Usage {
                    jobs: Some(1),
                    submitted_jobs: Some(1),
                    tres: vec![Tres::new("cpu", 1)],
                }),
                ..Default::default()
            }],
        })),
        accounting: Some(Arc::new(Accounting {
            finished: vec![acct_job()],
            started: vec![acct_job()],
            watermark: 3,
            catching_up: false,
        })),
        dbd: Some(Arc::new(DbdStatus::Probed {
            up: true,
            latency_seconds: Some(0.01),
        })),
    }
}

/// One finished job that also started, for the accounting families.
fn acct_job() -> AcctJob {
    AcctJob {
        id: 1,
        state: "COMPLETED".into(),
        partition: Some("debug".into()),
        account: Some("lab".into()),
        qos: Some("normal".into()),
        eligible: Some(1),
        start: Some(2),
        end: Some(3),
        ran: true,
        elapsed_seconds: Some(1),
        alloc_cpus: Some(1),
        total_cpu_seconds: Some(0.5),
        exit: Some((0, 0)),
        memory: JobMemory {
            max_rss_bytes: Some(1 << 20),
            alloc_bytes: Some(4 << 20),
            alloc_nodes: Some(1),
        },
    }
}

/// One table row per family, from the code.
fn rows() -> Vec<String> {
    let ctx = Context::new("lab", 10);
    let data = everything();
    let mut sections: Vec<(String, Vec<Family>)> = collectors::ALL
        .iter()
        .map(|c| {
            (
                format!("collector `{}`", c.name),
                c.collect_once(&data, &ctx),
            )
        })
        .collect();
    let stats = CollectionStats::default();
    let mut cluster = ClusterStats::default();
    cluster.collectors.entry("nodes").or_default();
    cluster.observe_request("cli", "nodes", 0.1);
    cluster.jwt_expiry = Some(2_000_000_000);
    cluster.jwt_file_insecure = Some(false);
    cluster.set_caps([("rpc_user", 50), ("user", 50), ("account", 50)].into());
    let mut http = HttpStats::default();
    http.observe("metrics", 200, 0.1);
    // Present only with TLS and a web config file.
    http.tls_cert_expiry_unix = Some(2e9);
    http.web_config_reload_ok = Some(true);
    let mut own = stats.families(0, &[("lab", &cluster)]);
    own.extend(http.families());
    own.extend(slurm_exporter::self_metrics::ReloadStatus::default().families());
    sections.push(("exporter itself".into(), own));
    sections.push((
        "process".into(),
        slurm_exporter::process_metrics::families(),
    ));

    let mut out = Vec::new();
    for (section, families) in sections {
        for f in families {
            let (name, kind) = match f.kind {
                MetricType::Counter => (format!("{}_total", f.name), "counter"),
                MetricType::Gauge => (f.name.clone(), "gauge"),
                MetricType::Histogram => (f.name.clone(), "histogram"),
            };
            let labels: BTreeSet<&str> = f
                .samples
                .iter()
                .flat_map(|s| s.labels.iter().map(|(k, _)| *k))
                .filter(|k| *k != "le")
                .collect();
            let labels: Vec<&str> = labels.into_iter().collect();
            out.push(format!(
                "| `{name}` | {kind} | {} | {} | {section} |",
                if labels.is_empty() {
                    "-".to_string()
                } else {
                    labels.join(", ")
                },
                f.help.replace('|', "\\|"),
            ));
        }
    }
    out
}

fn generated_table() -> String {
    let mut t =
        String::from("| Metric | Type | Labels | Meaning | Source |\n|---|---|---|---|---|\n");
    for r in rows() {
        t.push_str(&r);
        t.push('\n');
    }
    t
}

#[test]
fn docs_match_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md");
    let doc = std::fs::read_to_string(path).unwrap_or_default();
    let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!("docs/metrics.md lacks the generated-table markers");
    };
    let current = &doc[b + BEGIN.len()..e];
    let wanted = format!("\n{}", generated_table());
    if std::env::var_os("UPDATE_DOCS").is_some() {
        let updated = format!("{}{}{}{}", &doc[..b], BEGIN, wanted, &doc[e..]);
        std::fs::write(path, updated).unwrap_or_else(|e| panic!("{e}"));
        return;
    }
    if current != wanted {
        let have: BTreeSet<&str> = current.lines().collect();
        let want: BTreeSet<&str> = wanted.lines().collect();
        let missing: Vec<_> = want.difference(&have).collect();
        let extra: Vec<_> = have.difference(&want).collect();
        panic!(
            "docs/metrics.md disagrees with the code (run UPDATE_DOCS=1 cargo test --test metrics_doc)\n\
             in code, not in docs: {missing:#?}\nin docs, not in code: {extra:#?}"
        );
    }
}

#[test]
fn metric_names_follow_conventions() {
    for row in rows() {
        let name = row.split('`').nth(1).unwrap_or_default();
        assert!(
            name.starts_with("slurm_") || name.starts_with("process_"),
            "{name}: prefix"
        );
        assert!(
            !name.contains("__")
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{name}"
        );
        let kind = row.split('|').nth(2).unwrap_or_default().trim();
        assert_eq!(
            name.ends_with("_total"),
            kind == "counter",
            "{name}: _total iff counter"
        );
        // Whole name segments: `_used` is not microseconds.
        for unit in [
            "ms",
            "us",
            "milliseconds",
            "microseconds",
            "mb",
            "megabytes",
        ] {
            assert!(
                !name.split('_').any(|segment| segment == unit),
                "{name}: use base units"
            );
        }
    }
}

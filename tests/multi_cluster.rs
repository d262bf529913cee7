//! Several clusters read by one exporter (`clusters:` in the config file), on fake
//! Slurm commands: each cluster collected on its own (one failing costs the other
//! nothing), every series labelled with its cluster, each family once in the output.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{value, FakeSlurm};

#[test]
fn two_clusters_one_exposition_and_a_failing_third() {
    let fake = FakeSlurm::new();
    let dir = fake.dir.path();
    let gamma_conf = dir.join("gamma.conf");
    let config = dir.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "clusters:\n  - cluster_name: alpha\n  - cluster_name: gamma\n    slurm_conf: {}\n  - cluster_name: beta\n    bin_dir: {}\n",
            gamma_conf.display(),
            dir.join("missing").display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let config_arg = format!("--config.file={}", config.display());
    let exporter = fake.start_exporter(&[
        config_arg.as_str(),
        "--collection.interval=1s",
        "--collection.timeout=900ms",
    ]);
    let up = |m: &str, cluster: &str| {
        value(
            m,
            "slurm_exporter_collector_up",
            &[("cluster", cluster), ("collector", "nodes")],
        )
    };
    let metrics = exporter.wait_for(
        "alpha and gamma up, beta down",
        Duration::from_secs(10),
        |m| {
            up(m, "alpha") == Some(1.0) && up(m, "gamma") == Some(1.0) && up(m, "beta") == Some(0.0)
        },
    );

    // Every family once: one TYPE line per name.
    let mut types: BTreeMap<&str, usize> = BTreeMap::new();
    for line in metrics.lines().filter(|l| l.starts_with("# TYPE ")) {
        let name = line.split_whitespace().nth(2).unwrap_or_default();
        *types.entry(name).or_insert(0) += 1;
    }
    let repeated: Vec<_> = types.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "families repeated: {repeated:?}");

    // The same Slurm family carries both healthy clusters, and nothing from beta.
    let cpus = |cluster: &str| {
        value(
            &metrics,
            "slurm_partition_cpus",
            &[("cluster", cluster), ("partition", "debug")],
        )
    };
    assert!(cpus("alpha").is_some(), "{metrics}");
    assert_eq!(cpus("alpha"), cpus("gamma"));
    assert!(
        !metrics
            .lines()
            .any(|l| !l.starts_with("slurm_exporter_") && l.contains("cluster=\"beta\"")),
        "{metrics}"
    );
    assert!(
        value(
            &metrics,
            "slurm_exporter_collection_errors_total",
            &[
                ("cluster", "beta"),
                ("collector", "nodes"),
                ("reason", "command")
            ],
        )
        .unwrap_or(0.0)
            >= 1.0
    );

    // gamma's commands ran with its SLURM_CONF.
    let confs = std::fs::read_to_string(dir.join("slurm_conf")).unwrap_or_default();
    let gamma = gamma_conf.display().to_string();
    assert!(
        confs.lines().any(|l| l.ends_with(&gamma)),
        "no call with SLURM_CONF={gamma}: {confs}"
    );

    // /ready names the cluster and collector that keep it from being ready.
    let (code, body) = exporter.get("/ready");
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("beta/nodes"), "{body}");
}

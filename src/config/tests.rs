//! Tests of configuration validation and overlay.

use super::*;

fn config(yaml: &str) -> Result<Config, String> {
    let raw = RawConfig::from_yaml(yaml).map_err(|(k, m)| format!("{k}: {m}"))?;
    Config::from_raw(raw, false).map_err(|e| e.to_string())
}

#[test]
fn defaults() {
    let c = config("{}").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.listen_address.port(), 10341);
    assert_eq!(c.interval, Duration::from_secs(30));
    assert_eq!(c.clusters[0].source, SourceKind::Cli);
    let by_default = collectors::ALL.iter().filter(|c| c.enabled_by_default);
    assert_eq!(c.collectors.len(), by_default.count());
    assert!(!c.collectors.iter().any(|c| c.name == "fairshare"));
    assert!(
        !c.collector_enabled("rpc_users"),
        "per-user series are opt-in"
    );
    assert!(!c.collector_enabled("accounting"), "needs slurmdbd: opt-in");
    assert_eq!(c.accounting_lookback, Duration::ZERO);
    assert_eq!(c.accounting_max_window, Duration::from_secs(3600));
    let c =
        config("accounting:\n  lookback: 2h\n  max_window: 10m\ncollectors:\n  accounting: true\n")
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(c.collector_enabled("accounting"));
    assert_eq!(c.accounting_lookback, Duration::from_secs(7200));
    assert_eq!(c.accounting_max_window, Duration::from_secs(600));
    assert!(config("accounting:\n  max_window: 0s\n").is_err());
}

#[test]
fn unknown_keys_are_named() {
    let err = config("slurm:\n  sorce: cli\n").err().unwrap_or_default();
    assert!(
        err.contains("slurm.sorce") || err.contains("sorce"),
        "{err}"
    );
    let err = config("collectors:\n  teleport: true\n")
        .err()
        .unwrap_or_default();
    assert!(
        err.contains("collectors.teleport") && err.contains("unknown collector"),
        "{err}"
    );
    let err = config("slurm:\n  source: soap\n").err().unwrap_or_default();
    assert!(err.contains("slurm.source"), "{err}");
}

#[test]
fn rest_needs_url_and_token() {
    let err = config("slurm:\n  source: rest\n").err().unwrap_or_default();
    assert!(err.contains("slurm.rest_url"), "{err}");
    let err = config("slurm:\n  source: rest\n  rest_url: http://127.0.0.1:6820\n")
        .err()
        .unwrap_or_default();
    assert!(err.contains("slurm.jwt_file"), "{err}");
    let c =
        config("slurm:\n  source: rest\n  rest_url: unix:///run/slurmrestd.sock\n  jwt_file: /t\n");
    assert!(matches!(
        c.map(|c| c.clusters[0].rest_endpoint.clone()),
        Ok(Some(RestEndpoint::Unix { .. }))
    ));
}

#[test]
fn hash_changes_with_the_effective_config() {
    let a = config("{}").unwrap_or_else(|e| panic!("{e}"));
    let b = config("collectors:\n  jobs: false\n").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        a.hash(),
        config("{}").unwrap_or_else(|e| panic!("{e}")).hash()
    );
    assert_ne!(a.hash(), b.hash());
    assert_eq!(a.hash().len(), 16);
}

#[test]
fn jwt_minting() {
    let c = config("slurm:\n  source: rest\n  rest_url: http://h:1\n  jwt_mint_lifespan: 1h\n")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.clusters[0].jwt_mint_lifespan,
        Some(Duration::from_secs(3600))
    );
    let err = config("slurm:\n  jwt_mint_lifespan: 10s\n")
        .err()
        .unwrap_or_default();
    assert!(err.contains("slurm.jwt_mint_lifespan"), "{err}");
    let err = config("slurm:\n  jwt_file: /t\n  jwt_mint_lifespan: 1h\n")
        .err()
        .unwrap_or_default();
    assert!(err.contains("not both"), "{err}");
}

#[test]
fn cli_json_queries() {
    let c = config("slurm:\n  cli_json: [jobs, nodes, shares]\n").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.clusters[0].cli_json,
        vec![JsonQuery::Jobs, JsonQuery::Nodes, JsonQuery::Shares]
    );
    let err = config("slurm:\n  cli_json: [diag]\n")
        .err()
        .unwrap_or_default();
    assert!(err.contains("slurm.cli_json"), "{err}");
}

#[test]
fn timeout_not_longer_than_interval() {
    let err = config("collection:\n  interval: 10s\n  timeout: 1m\n")
        .err()
        .unwrap_or_default();
    assert!(err.contains("collection.timeout"), "{err}");
    let err = config("collection:\n  interval: soon\n")
        .err()
        .unwrap_or_default();
    assert!(err.contains("collection.interval"), "{err}");
}

#[test]
fn web_settings() {
    let c = config("{}").unwrap_or_else(|e| panic!("{e}"));
    assert!(c.web.config_file.is_none() && c.web.health_unauthenticated);
    assert_eq!(c.web.max_concurrent_requests, 32);
    assert_eq!((c.web.rate_limit, c.web.rate_limit_burst), (10.0, 20));
    assert_eq!(c.web.header_read_timeout, Duration::from_secs(10));
    assert_eq!(
        (c.web.max_connections, c.web.max_connections_per_ip),
        (1024, 64)
    );
    let c = config(
        "web:\n  health_unauthenticated: false\n  max_concurrent_requests: 4\n  max_connections: 100\n  max_connections_per_ip: 5\n  rate_limit: 0\n  rate_limit_burst: 0\n  header_read_timeout: 2s\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!c.web.health_unauthenticated);
    assert_eq!(c.web.max_concurrent_requests, 4);
    assert_eq!(c.web.rate_limit, 0.0);
    assert_eq!(c.web.header_read_timeout, Duration::from_secs(2));
    assert_eq!(
        (c.web.max_connections, c.web.max_connections_per_ip),
        (100, 5)
    );
    for (yaml, key) in [
        ("web:\n  max_connections: 0\n", "web.max_connections"),
        (
            "web:\n  max_connections_per_ip: 0\n",
            "web.max_connections_per_ip",
        ),
        (
            "web:\n  max_concurrent_requests: 0\n",
            "web.max_concurrent_requests",
        ),
        ("web:\n  rate_limit: -1\n", "web.rate_limit"),
        ("web:\n  rate_limit_burst: 0\n", "web.rate_limit_burst"),
        (
            "web:\n  header_read_timeout: never\n",
            "web.header_read_timeout",
        ),
        (
            "web:\n  config_file: /nonexistent/web.yml\n",
            "web.config_file",
        ),
        ("web:\n  config_fil: x\n", "config_fil"),
    ] {
        let err = config(yaml).err().unwrap_or_default();
        assert!(err.contains(key), "{yaml}: {err}");
    }
}

#[test]
fn web_config_file_is_validated() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("web.yml");
    std::fs::write(&path, "basic_auth_users:\n  alice: plaintext\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let yaml = format!("web:\n  config_file: {}\n", path.display());
    let err = config(&yaml).err().unwrap_or_default();
    assert!(
        err.contains("web.config_file") && err.contains("basic_auth_users.alice"),
        "{err}"
    );
    std::fs::write(
        &path,
        "tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let err = config(&yaml).err().unwrap_or_default();
    assert!(err.contains("c.pem"), "{err}");
    std::fs::write(&path, "http_server_config:\n  http2: false\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let c = config(&yaml).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.web.config_file.as_deref(), Some(path.as_path()));
}

#[test]
fn flags_win_over_file() {
    let file =
        RawConfig::from_yaml("web:\n  listen_address: ':9000'\ncollectors:\n  jobs: false\n")
            .unwrap_or_default();
    let mut flags = RawConfig::default();
    flags.web.listen_address = Some("127.0.0.1:9100".into());
    flags.collectors.insert("nodes".into(), false);
    let c = Config::from_raw(file.overlay(flags), false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.listen_address.port(), 9100);
    assert!(!c.collector_enabled("jobs"));
    assert!(!c.collector_enabled("nodes"));
    assert!(c.collector_enabled("scheduler"));
}

#[test]
fn slower_tiers_default_to_two_minutes_and_never_run_faster_than_the_fast_tier() {
    let c = config("{}").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.slow_interval, Duration::from_secs(120));
    assert_eq!(c.accounting_interval, Duration::from_secs(120));
    let c = config("collection:\n  interval: 5m\n").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.slow_interval, Duration::from_secs(300));
    assert_eq!(c.tier_interval(Tier::Accounting), Duration::from_secs(300));
    let c = config("collection:\n  slow_interval: 10m\n  accounting_interval: 1h\n")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.tier_interval(Tier::Slow), Duration::from_secs(600));
    assert_eq!(c.tier_interval(Tier::Accounting), Duration::from_secs(3600));
    let err = config("collection:\n  interval: 1m\n  slow_interval: 30s\n")
        .err()
        .unwrap_or_default();
    assert!(
        err.contains("collection.slow_interval") && err.contains("shorter"),
        "{err}"
    );
}

#[test]
fn clusters_inherit_from_slurm_and_need_distinct_names() {
    let c = config(
        "slurm:\n  source: cli\n  bin_dir: /opt/slurm/bin\nclusters:\n  - cluster_name: alpha\n  - cluster_name: beta\n    slurm_conf: /etc/slurm-beta/slurm.conf\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.clusters.len(), 2);
    assert_eq!(c.clusters[0].name.as_deref(), Some("alpha"));
    assert_eq!(
        c.clusters[1].bin_dir.as_deref(),
        Some(Path::new("/opt/slurm/bin"))
    );
    assert_eq!(
        c.clusters[1].slurm_conf.as_deref(),
        Some(Path::new("/etc/slurm-beta/slurm.conf"))
    );
    assert_eq!(c.clusters[0].slurm_conf, None);

    let err = config("clusters:\n  - cluster_name: a\n  - source: cli\n")
        .err()
        .unwrap_or_default();
    assert!(err.contains("clusters[1].cluster_name"), "{err}");
    let err = config("clusters:\n  - cluster_name: a\n  - cluster_name: a\n")
        .err()
        .unwrap_or_default();
    assert!(err.contains("listed twice"), "{err}");
    let err = config("clusters:\n  - cluster_name: a\n    source: rest\n  - cluster_name: b\n")
        .err()
        .unwrap_or_default();
    assert!(err.contains("clusters[0].rest_url"), "{err}");
    let err = config("clusters: []\n").err().unwrap_or_default();
    assert!(err.contains("clusters"), "{err}");
    // One entry needs no name: it is Slurm's ClusterName.
    let c = config("clusters:\n  - source: cli\n").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.clusters[0].name, None);
}

#[test]
fn caps() {
    let c = config("{}").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.caps.limit("rpc_user").top,
        crate::collectors::cap::DEFAULT_TOP
    );
    let c = config(
        "caps:\n  default:\n    top: 5\n    deny: [root]\n  rpc_user:\n    top: 2\n    allow: ['svc-*']\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let user = c.caps.limit("rpc_user");
    assert_eq!(user.top, 2);
    assert_eq!(user.allow, ["svc-*"]);
    assert_eq!(user.deny, ["root"], "unset fields come from default");
    assert_eq!(c.caps.limit("not_configured").top, 5);
    assert_ne!(
        c.hash(),
        config("{}").unwrap_or_else(|e| panic!("{e}")).hash()
    );
    for (yaml, key) in [
        ("caps:\n  usr:\n    top: 1\n", "caps.usr"),
        ("caps:\n  rpc_user:\n    tpo: 1\n", "tpo"),
        ("caps:\n  rpc_user:\n    top: -1\n", "caps.rpc_user.top"),
        ("caps:\n  rpc_user:\n    deny: ['']\n", "caps.rpc_user.deny"),
    ] {
        let err = config(yaml).err().unwrap_or_default();
        assert!(err.contains(key), "{yaml}: {err}");
    }
    let file =
        RawConfig::from_yaml("caps:\n  rpc_user:\n    top: 3\n    deny: [a]\n").unwrap_or_default();
    let mut flags = RawConfig::default();
    flags.caps.entry("rpc_user".into()).or_default().top = Some(9);
    let c = Config::from_raw(file.overlay(flags), false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.caps.limit("rpc_user").top, 9);
    assert_eq!(c.caps.limit("rpc_user").deny, ["a"]);
}

#[test]
fn a_file_with_no_document_is_refused_and_braces_mean_defaults() {
    for yaml in ["", " \n\n", "# collection:\n#   interval: 30s\n", "---\n"] {
        let err = config(yaml).err().unwrap_or_default();
        assert!(err.contains("the file is empty"), "{yaml:?}: {err}");
    }
    assert!(config("{}").is_ok());
}

/// Issue 14: `--web.rate-limit` below ~5e-11 passed validation and panicked the
/// start; intervals had no floor (`1ns` ran 940 Slurm commands in 6 s).
#[test]
fn numbers_and_durations_have_bounds_that_name_the_limit() {
    for (yaml, key, said) in [
        (
            "web:\n  rate_limit: 4e-11\n",
            "web.rate_limit",
            "from 0.001",
        ),
        ("web:\n  rate_limit: 1e300\n", "web.rate_limit", "1000000"),
        ("web:\n  rate_limit: .nan\n", "web.rate_limit", "NaN"),
        (
            "web:\n  max_concurrent_requests: 100000\n",
            "web.max_concurrent_requests",
            "65536",
        ),
        (
            "web:\n  header_read_timeout: 999ms\n",
            "web.header_read_timeout",
            "minimum of 1s",
        ),
        (
            "collection:\n  interval: 1ns\n",
            "collection.interval",
            "minimum of 1s",
        ),
        (
            "collection:\n  interval: 999ms\n",
            "collection.interval",
            "minimum of 1s",
        ),
        (
            "collection:\n  interval: 1s\n  timeout: 99ms\n",
            "collection.timeout",
            "minimum of 100ms",
        ),
        (
            "collection:\n  interval: 2years\n",
            "collection.interval",
            "maximum of 1year",
        ),
        (
            "accounting:\n  lookback: 18446744073709551615s\n",
            "accounting.lookback",
            "maximum",
        ),
    ] {
        let err = config(yaml).err().unwrap_or_default();
        assert!(err.contains(key) && err.contains(said), "{yaml:?}: {err}");
    }
    for yaml in [
        "web:\n  rate_limit: 0.001\n",
        "web:\n  rate_limit: 1000000\n",
        "web:\n  max_concurrent_requests: 65536\n",
        "web:\n  header_read_timeout: 1s\n",
        "collection:\n  interval: 1s\n  timeout: 100ms\n",
        "collection:\n  interval: 1year\n",
    ] {
        assert!(config(yaml).is_ok(), "{yaml:?}: {:?}", config(yaml).err());
    }
    let err = watch_interval("999ms")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("minimum of 1s"), "{err}");
    assert_eq!(watch_interval("1s").ok(), Some(Duration::from_secs(1)));
}

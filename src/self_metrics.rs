//! `slurm_exporter_*`: what the exporter knows about its own collections and
//! HTTP traffic. Collection metrics are encoded into each snapshot; HTTP and
//! process metrics are encoded per request, since they change with every scrape.

use std::collections::BTreeMap;

use crate::exposition::{Family, Histogram, Labels, DURATION_BUCKETS};
use crate::source::ERROR_REASONS;

/// Counters and state of one collector.
#[derive(Debug, Clone)]
pub struct CollectorStats {
    pub up: bool,
    pub collections: u64,
    pub errors: BTreeMap<&'static str, u64>,
    pub last_success_unix: Option<f64>,
    pub duration: Histogram,
}

impl Default for CollectorStats {
    fn default() -> Self {
        CollectorStats {
            up: false,
            collections: 0,
            errors: ERROR_REASONS.iter().map(|r| (*r, 0)).collect(),
            last_success_unix: None,
            duration: Histogram::new(DURATION_BUCKETS),
        }
    }
}

/// Metrics of one cluster's collections.
#[derive(Debug, Default)]
pub struct ClusterStats {
    pub collectors: BTreeMap<&'static str, CollectorStats>,
    /// (source, query) → request durations.
    pub requests: BTreeMap<(&'static str, &'static str), Histogram>,
    /// Requests Slurm rejected for authentication (JWT expired, malformed, refused).
    pub slurm_auth_failures: u64,
    /// Expiry of the JWT in use (REST source), seconds since the epoch.
    pub jwt_expiry: Option<i64>,
    /// Whether the JWT file is open to others or writable by its group (`None`: no
    /// JWT file, or not read yet).
    pub jwt_file_insecure: Option<bool>,
    /// Capped families of the enabled collectors → configured top N.
    pub series_caps: BTreeMap<&'static str, usize>,
    /// Capped families → values folded into `other` by the cap, summed over collections.
    pub series_dropped: BTreeMap<&'static str, u64>,
}

impl ClusterStats {
    /// Sets the capped families in force (those of enabled collectors) and their
    /// top N; counters of families still in force keep their value.
    pub fn set_caps(&mut self, caps: BTreeMap<&'static str, usize>) {
        self.series_dropped.retain(|f, _| caps.contains_key(f));
        for f in caps.keys() {
            self.series_dropped.entry(f).or_insert(0);
        }
        self.series_caps = caps;
    }

    /// Adds one collection's folded counts (families not in force are ignored).
    pub fn add_dropped(&mut self, folded: BTreeMap<&'static str, u64>) {
        for (f, n) in folded {
            if let Some(total) = self.series_dropped.get_mut(f) {
                *total = total.saturating_add(n);
            }
        }
    }

    pub fn observe_request(&mut self, source: &'static str, query: &'static str, seconds: f64) {
        self.requests
            .entry((source, query))
            .or_insert_with(|| Histogram::new(DURATION_BUCKETS))
            .observe(seconds);
    }

    /// This cluster's families, every series labelled `cluster`.
    fn families(&self, cluster: &str) -> Vec<Family> {
        let with = |extra: &[(&'static str, &str)]| -> Labels {
            let mut labels = vec![("cluster", cluster.to_string())];
            labels.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
            labels
        };
        let mut up = Family::gauge(
            "slurm_exporter_collector_up",
            "1 when the collector's last collection succeeded, 0 when it failed (its last good series are then served as stale)",
        );
        let mut total = Family::counter(
            "slurm_exporter_collections",
            "Collections attempted per collector",
        );
        let mut errors = Family::counter(
            "slurm_exporter_collection_errors",
            "Failed collections per collector by reason (timeout, connection, auth, parse, command, too_large)",
        );
        let mut last = Family::gauge(
            "slurm_exporter_last_successful_collection_timestamp_seconds",
            "When the collector last succeeded",
        );
        let mut duration = Family::histogram(
            "slurm_exporter_collection_duration_seconds",
            "Time a collector's collection took, Slurm queries included",
        );
        for (name, s) in &self.collectors {
            let labels = with(&[("collector", name)]);
            up.push(labels.clone(), if s.up { 1.0 } else { 0.0 });
            total.push(labels.clone(), s.collections as f64);
            for (reason, n) in &s.errors {
                errors.push(with(&[("collector", name), ("reason", reason)]), *n as f64);
            }
            last.push_opt(labels.clone(), s.last_success_unix);
            duration.push_histogram(labels, &s.duration);
        }
        let mut requests = Family::histogram(
            "slurm_exporter_slurm_request_duration_seconds",
            "Duration of requests to Slurm (commands or REST calls) by source and query",
        );
        for ((source, query), h) in &self.requests {
            requests.push_histogram(with(&[("source", source), ("query", query)]), h);
        }
        let mut auth = Family::counter(
            "slurm_exporter_slurm_auth_failures",
            "Requests to Slurm rejected for authentication (JWT expired, malformed or refused)",
        );
        auth.push(with(&[]), self.slurm_auth_failures as f64);
        let mut jwt = Family::gauge(
            "slurm_exporter_jwt_expiry_timestamp_seconds",
            "When the JWT used for slurmrestd expires (REST source only)",
        );
        jwt.push_opt(with(&[]), self.jwt_expiry.map(|e| e as f64));
        let mut insecure = Family::gauge(
            "slurm_exporter_secret_file_insecure",
            "1 when a secret file (file jwt: slurm.jwt_file) is readable or writable by others or writable by its group (a world-writable one is refused), 0 when its mode is 0600, 0640 or stricter",
        );
        insecure.push_opt(
            with(&[("file", "jwt")]),
            self.jwt_file_insecure.map(|b| if b { 1.0 } else { 0.0 }),
        );
        let mut cap = Family::gauge(
            "slurm_exporter_series_cap",
            "Configured top N of a capped family (caps.FAMILY.top): label values beyond it are folded into `other`",
        );
        for (f, top) in &self.series_caps {
            cap.push(with(&[("family", f)]), *top as f64);
        }
        let mut dropped = Family::counter(
            "slurm_exporter_series_dropped",
            "Label values of a capped family folded into `other` by its top N, summed over collections (deny-listed values not counted)",
        );
        for (f, n) in &self.series_dropped {
            dropped.push(with(&[("family", f)]), *n as f64);
        }
        vec![
            up, total, errors, last, duration, requests, auth, jwt, insecure, cap, dropped,
        ]
    }
}

/// Process-wide metrics of the collection side, owned by the collection loop.
#[derive(Debug, Default)]
pub struct CollectionStats {
    /// The configured soft limit of series per snapshot.
    pub series_limit: u64,
    /// Wall time of the last whole collection (queries, collectors, encoding, gzip).
    pub last_cycle_seconds: Option<f64>,
}

impl CollectionStats {
    /// Families for the snapshot: the process-wide ones and each cluster's (by
    /// label); `series` is the number of series of everything else.
    pub fn families(&self, series: usize, clusters: &[(&str, &ClusterStats)]) -> Vec<Family> {
        let mut build = Family::gauge(
            "slurm_exporter_build_info",
            "Version of slurm-exporter, value 1",
        );
        build.push(
            vec![
                ("version", env!("CARGO_PKG_VERSION").to_string()),
                (
                    "rustc",
                    option_env!("SLURM_EXPORTER_RUSTC")
                        .unwrap_or("unknown")
                        .to_string(),
                ),
            ],
            1.0,
        );
        let mut cycle = Family::gauge(
            "slurm_exporter_last_collection_duration_seconds",
            "Wall time of the previous whole collection: Slurm queries, collectors, encoding and compression",
        );
        cycle.push_opt(vec![], self.last_cycle_seconds);
        let mut families = vec![cycle, build];
        let mut per_cluster: Vec<Family> = Vec::new();
        for (label, stats) in clusters {
            for family in stats.families(label) {
                match per_cluster.iter_mut().find(|f| f.name == family.name) {
                    Some(f) => f.samples.extend(family.samples),
                    None => per_cluster.push(family),
                }
            }
        }
        families.extend(per_cluster);
        let own: usize = families.iter().map(Family::series).sum();
        let mut series_family = Family::gauge(
            "slurm_exporter_snapshot_series",
            "Series in the last snapshot (this one included; per-request HTTP and process series excluded)",
        );
        series_family.push(vec![], (series + own + 2) as f64);
        families.push(series_family);
        let mut limit = Family::gauge(
            "slurm_exporter_series_limit",
            "Configured soft limit of series per snapshot (collection.series_limit)",
        );
        limit.push(vec![], self.series_limit as f64);
        families.push(limit);
        families
    }
}

/// Values of `slurm_exporter_http_auth_failures_total{reason}`, all pre-declared.
pub const AUTH_FAILURE_REASONS: &[&str] = &[
    "bad_password",
    "unknown_user",
    "no_credentials",
    "no_client_certificate",
    "tls_handshake",
    "throttled",
];

/// Values of `slurm_exporter_http_connections_refused_total{reason}`, all pre-declared.
pub const CONNECTION_REFUSED_REASONS: &[&str] = &["limit", "per_ip_limit", "accept_error"];

/// HTTP traffic counters, updated by every request, and the endpoint security state.
#[derive(Debug)]
pub struct HttpStats {
    pub requests: BTreeMap<(&'static str, u16), u64>,
    pub durations: BTreeMap<&'static str, Histogram>,
    pub auth_failures: BTreeMap<&'static str, u64>,
    pub rate_limited: u64,
    /// Connections closed unserved (or not accepted) by reason.
    pub connections_refused: BTreeMap<&'static str, u64>,
    pub connections_open: u64,
    /// The connection cap in force; `None` until the server starts.
    pub connections_limit: Option<u64>,
    /// `notAfter` of the serving certificate; `None` without TLS.
    pub tls_cert_expiry_unix: Option<f64>,
    /// Whether the last (re)load of the web config file worked; `None` without one.
    pub web_config_reload_ok: Option<bool>,
}

impl Default for HttpStats {
    fn default() -> Self {
        HttpStats {
            requests: BTreeMap::new(),
            durations: BTreeMap::new(),
            auth_failures: AUTH_FAILURE_REASONS.iter().map(|r| (*r, 0)).collect(),
            rate_limited: 0,
            connections_refused: CONNECTION_REFUSED_REASONS.iter().map(|r| (*r, 0)).collect(),
            connections_open: 0,
            connections_limit: None,
            tls_cert_expiry_unix: None,
            web_config_reload_ok: None,
        }
    }
}

impl HttpStats {
    pub fn observe(&mut self, handler: &'static str, code: u16, seconds: f64) {
        *self.requests.entry((handler, code)).or_insert(0) += 1;
        self.durations
            .entry(handler)
            .or_insert_with(|| Histogram::new(DURATION_BUCKETS))
            .observe(seconds);
    }

    pub fn families(&self) -> Vec<Family> {
        let mut requests = Family::counter(
            "slurm_exporter_http_requests",
            "HTTP requests by handler and status code",
        );
        for ((handler, code), n) in &self.requests {
            requests.push(
                vec![("handler", handler.to_string()), ("code", code.to_string())],
                *n as f64,
            );
        }
        let mut durations = Family::histogram(
            "slurm_exporter_http_request_duration_seconds",
            "Time to answer HTTP requests by handler",
        );
        for (handler, h) in &self.durations {
            durations.push_histogram(vec![("handler", handler.to_string())], h);
        }
        let mut auth = Family::counter(
            "slurm_exporter_http_auth_failures",
            "Requests or connections refused for authentication by reason (bad_password, unknown_user, no_credentials, no_client_certificate, tls_handshake, throttled)",
        );
        for (reason, n) in &self.auth_failures {
            auth.push(vec![("reason", reason.to_string())], *n as f64);
        }
        let mut limited = Family::counter(
            "slurm_exporter_http_rate_limited",
            "Requests answered 429 because their client IP went over --web.rate-limit",
        );
        limited.push(vec![], self.rate_limited as f64);
        let mut refused = Family::counter(
            "slurm_exporter_http_connections_refused",
            "Connections closed without being served by reason (limit, per_ip_limit) and failed accepts (accept_error)",
        );
        for (reason, n) in &self.connections_refused {
            refused.push(vec![("reason", reason.to_string())], *n as f64);
        }
        let mut open = Family::gauge(
            "slurm_exporter_http_connections_open",
            "HTTP connections open now",
        );
        open.push(vec![], self.connections_open as f64);
        let mut cap = Family::gauge(
            "slurm_exporter_http_connections_limit",
            "Connections allowed open at once: --web.max-connections, lowered to keep file descriptors in reserve for collection",
        );
        cap.push_opt(vec![], self.connections_limit.map(|n| n as f64));
        let mut expiry = Family::gauge(
            "slurm_exporter_tls_certificate_expiry_timestamp_seconds",
            "When the serving TLS certificate expires (notAfter); absent without TLS",
        );
        expiry.push_opt(vec![], self.tls_cert_expiry_unix);
        let mut reload = Family::gauge(
            "slurm_exporter_web_config_last_reload_successful",
            "1 when the last load of --web.config.file and its certificates worked, 0 when the previous good one is still in use; absent without a web config",
        );
        reload.push_opt(vec![], self.web_config_reload_ok.map(f64::from));
        vec![
            requests, durations, auth, limited, refused, open, cap, expiry, reload,
        ]
    }

    pub fn auth_failure(&mut self, reason: &'static str) {
        *self.auth_failures.entry(reason).or_insert(0) += 1;
    }
}

/// Which file a reload failure is about (`file` label of
/// `slurm_exporter_config_reload_failures_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadFile {
    /// `--config.file`
    Main,
    /// `--web.config.file` and the certificate, key and CA files it names.
    Web,
}

/// Outcome of configuration loads and reloads, updated by the reloaders.
#[derive(Debug, Clone, Default)]
pub struct ReloadStatus {
    /// Whether the last load or reload succeeded.
    pub successful: bool,
    /// When a configuration was last loaded successfully, seconds since the epoch.
    pub last_success_unix: f64,
    /// Hash of the configuration in force.
    pub hash: String,
    /// Reloads refused since start: of the main config, of the web config.
    pub failures: [u64; 2],
}

impl ReloadStatus {
    /// Records a successful load of the main config.
    pub fn succeeded(&mut self, hash: String, unix: f64) {
        self.successful = true;
        self.last_success_unix = unix;
        self.hash = hash;
    }

    /// Counts a refused reload of `file` (the main config's gauge goes to 0 too).
    pub fn failed(&mut self, file: ReloadFile) {
        match file {
            ReloadFile::Main => {
                self.successful = false;
                self.failures[0] += 1;
            }
            ReloadFile::Web => self.failures[1] += 1,
        }
    }

    pub fn families(&self) -> Vec<Family> {
        let mut hash = Family::gauge(
            "slurm_exporter_config_hash",
            "Hash of the configuration in force (label hash), value 1",
        );
        hash.push(vec![("hash", self.hash.clone())], 1.0);
        let mut ok = Family::gauge(
            "slurm_exporter_config_last_reload_successful",
            "1 when the last configuration reload succeeded, 0 when it failed and the previous configuration stayed",
        );
        ok.push(vec![], if self.successful { 1.0 } else { 0.0 });
        let mut when = Family::gauge(
            "slurm_exporter_config_last_reload_success_timestamp_seconds",
            "When a configuration was last loaded successfully",
        );
        when.push(vec![], self.last_success_unix);
        let mut failures = Family::counter(
            "slurm_exporter_config_reload_failures",
            "Reloads refused since start, by file (main: --config.file, web: --web.config.file and its certificates); the previous configuration stayed in force",
        );
        for (file, n) in ["main", "web"].iter().zip(self.failures) {
            failures.push(vec![("file", file.to_string())], n as f64);
        }
        vec![hash, ok, when, failures]
    }
}

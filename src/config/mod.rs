//! The validated configuration: YAML file (`--config.file`) overlaid by flags.
//! `check-config` runs exactly this validation.

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::collectors::cap::CapSettings;
use crate::collectors::{self, CollectorDef};
use crate::model::Tier;

mod cluster;
pub use cluster::{clusters_from_raw, ClusterConfig};

/// A configuration problem, naming the key and why it is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: key `{key}`: {message}")]
    Yaml {
        path: PathBuf,
        key: String,
        message: String,
    },
    #[error("`{key}`: {message}")]
    Invalid { key: String, message: String },
}

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        message: message.into(),
    }
}

/// A slower tier's interval: at least the fast interval (the engine ticks at that
/// pace); unset, the default or the fast interval, whichever is longer.
fn tier_interval(
    key: &str,
    value: Option<&str>,
    default: Duration,
    fast: Duration,
) -> Result<Duration, ConfigError> {
    match parse_duration(key, value)? {
        None => Ok(default.max(fast)),
        Some(d) if d < fast => Err(invalid(
            key,
            format!(
                "{} is shorter than collection.interval ({})",
                humantime::format_duration(d),
                humantime::format_duration(fast)
            ),
        )),
        Some(d) => Ok(d),
    }
}

/// Where Slurm data comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// The Slurm commands (`squeue`, `scontrol`, `sdiag`).
    Cli,
    /// slurmrestd with a JWT.
    Rest,
}

/// How slurmrestd is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestEndpoint {
    /// `http://host:port`
    Tcp { authority: String },
    /// `unix:///path/to/socket`
    Unix { path: PathBuf },
}

/// A CLI query that can be read as JSON: it carries what the text form cannot
/// (all fields, any Slurm version's shape), at a much higher cost at scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonQuery {
    /// `squeue --json` instead of the fixed text format.
    Jobs,
    /// `scontrol show node --json` (23.02+) or `sinfo --json` (22.05) instead of `scontrol -o show node`.
    Nodes,
    /// `sshare -a --json` (23.11+) instead of `sshare -a -P -o …`.
    Shares,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Logfmt,
    Json,
}

/// The raw values as they come from a YAML file or from flags; every field optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub web: RawWeb,
    #[serde(default)]
    pub slurm: RawSlurm,
    /// Several clusters read by one process; each entry inherits from `slurm`.
    pub clusters: Option<Vec<RawSlurm>>,
    #[serde(default)]
    pub collection: RawCollection,
    /// Collector name → enabled.
    #[serde(default)]
    pub collectors: BTreeMap<String, bool>,
    #[serde(default)]
    pub log: RawLog,
    /// Capped families (`default` or a name of `collectors::cap::FAMILIES`) → settings.
    #[serde(default)]
    pub caps: BTreeMap<String, RawCap>,
    #[serde(default)]
    pub accounting: RawAccounting,
}

/// The accounting collector's reading of slurmdbd.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccounting {
    /// On first start, also count jobs that finished this long ago (default 0: from now).
    pub lookback: Option<String>,
    /// Longest span of end times read in one collection (catch-up bound).
    pub max_window: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWeb {
    pub listen_address: Option<String>,
    /// exporter-toolkit web config file (TLS, basic auth, headers).
    pub config_file: Option<PathBuf>,
    /// Whether `/health` answers without credentials.
    pub health_unauthenticated: Option<bool>,
    pub max_concurrent_requests: Option<usize>,
    /// Connections open at once (lowered at start to keep descriptors for collection).
    pub max_connections: Option<usize>,
    pub max_connections_per_ip: Option<usize>,
    /// Requests per second per client IP; 0 disables.
    pub rate_limit: Option<f64>,
    pub rate_limit_burst: Option<u32>,
    pub header_read_timeout: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlurm {
    pub source: Option<SourceKind>,
    pub rest_url: Option<String>,
    pub jwt_file: Option<PathBuf>,
    pub user: Option<String>,
    pub cluster_name: Option<String>,
    /// Directory holding the Slurm commands; default: found on PATH.
    pub bin_dir: Option<PathBuf>,
    /// `SLURM_CONF` for the commands (CLI source), to read another cluster.
    pub slurm_conf: Option<PathBuf>,
    /// Queries the CLI source reads through `--json` instead of text (`jobs`, `nodes`).
    pub cli_json: Option<Vec<String>>,
    /// Mint the JWT with `scontrol token lifespan=…` instead of reading it; the
    /// token is renewed when a third of this lifespan is left.
    pub jwt_mint_lifespan: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCollection {
    pub interval: Option<String>,
    /// Interval of the slow data (licenses, reservations, fairshare, QOS, associations).
    pub slow_interval: Option<String>,
    /// Interval of the accounting (slurmdbd) queries.
    pub accounting_interval: Option<String>,
    pub timeout: Option<String>,
    /// `/ready` fails when the newest data is older than this many intervals.
    pub ready_max_intervals: Option<u32>,
    /// Soft limit of series in one snapshot: exported, logged and alerted on when exceeded.
    pub series_limit: Option<u64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    pub level: Option<String>,
    pub format: Option<LogFormat>,
}

/// Why a config file with no document in it is refused.
pub const EMPTY_CONFIG: &str =
    "the file is empty (or holds only comments); write `{}` to run with every default";

impl RawConfig {
    /// Reads a YAML file; unknown keys are errors that name the key.
    pub fn from_file(path: &Path) -> Result<RawConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        RawConfig::from_yaml(&text).map_err(|(key, message)| ConfigError::Yaml {
            path: path.to_path_buf(),
            key,
            message,
        })
    }

    /// Parses YAML text; on error returns the dotted path of the bad key and why.
    /// A text with no document (empty, blank, only comments) is an error: on a
    /// reload it is a truncated write far more often than a wish for every default.
    pub fn from_yaml(text: &str) -> Result<RawConfig, (String, String)> {
        if crate::web::file::no_document(text) {
            return Err(("(top level)".into(), EMPTY_CONFIG.into()));
        }
        let de = serde_yaml::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let key = if path == "." {
                "(top level)".to_string()
            } else {
                path
            };
            (key, e.into_inner().to_string())
        })
    }

    /// Overlays `other` on `self`: values set in `other` win.
    pub fn overlay(mut self, other: RawConfig) -> RawConfig {
        macro_rules! take {
            ($($section:ident . $field:ident),*) => {
                $( if other.$section.$field.is_some() { self.$section.$field = other.$section.$field; } )*
            };
        }
        take!(
            web.listen_address,
            web.config_file,
            web.health_unauthenticated,
            web.max_concurrent_requests,
            web.max_connections,
            web.max_connections_per_ip,
            web.rate_limit,
            web.rate_limit_burst,
            web.header_read_timeout,
            collection.interval,
            collection.slow_interval,
            collection.accounting_interval,
            collection.timeout,
            collection.ready_max_intervals,
            collection.series_limit,
            log.level,
            log.format,
            accounting.lookback,
            accounting.max_window
        );
        self.collectors.extend(other.collectors);
        self.slurm = self.slurm.overlay(other.slurm);
        if other.clusters.is_some() {
            self.clusters = other.clusters;
        }
        for (family, theirs) in other.caps {
            let ours = self.caps.entry(family).or_default();
            if theirs.top.is_some() {
                ours.top = theirs.top;
            }
            if theirs.allow.is_some() {
                ours.allow = theirs.allow;
            }
            if theirs.deny.is_some() {
                ours.deny = theirs.deny;
            }
        }
        self
    }
}

impl RawSlurm {
    /// Overlays `other` on `self`: values set in `other` win.
    pub fn overlay(mut self, other: RawSlurm) -> RawSlurm {
        macro_rules! take {
            ($($field:ident),*) => {
                $( if other.$field.is_some() { self.$field = other.$field; } )*
            };
        }
        take!(
            source,
            rest_url,
            jwt_file,
            user,
            cluster_name,
            bin_dir,
            slurm_conf,
            cli_json,
            jwt_mint_lifespan
        );
        self
    }
}

/// The validated `web.*` settings besides the listen address.
#[derive(Debug, Clone, PartialEq)]
pub struct WebSettings {
    pub config_file: Option<PathBuf>,
    pub health_unauthenticated: bool,
    pub max_concurrent_requests: usize,
    /// Connections open at once, before the descriptor reserve lowers it.
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    /// Requests per second per client IP; 0 disables.
    pub rate_limit: f64,
    pub rate_limit_burst: u32,
    pub header_read_timeout: Duration,
}

pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 32;
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 64;
/// Above any descriptor limit we ship with (8192), far below tokio's semaphore maximum.
pub const MAX_CONCURRENT_REQUESTS: usize = 65_536;
/// One request per 1,000 s: slower limits refuse any scraper (and below ~5e-11
/// the limiter's period overflows).
pub const MIN_RATE_LIMIT: f64 = 0.001;
/// A million per second: above it the limiter's period rounds to zero.
pub const MAX_RATE_LIMIT: f64 = 1_000_000.0;
pub const MIN_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(1);
pub const DEFAULT_RATE_LIMIT: f64 = 10.0;
pub const DEFAULT_RATE_LIMIT_BURST: u32 = 20;
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            config_file: None,
            health_unauthenticated: true,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
            rate_limit: DEFAULT_RATE_LIMIT,
            rate_limit_burst: DEFAULT_RATE_LIMIT_BURST,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
        }
    }
}

impl WebSettings {
    fn from_raw(raw: &RawWeb) -> Result<WebSettings, ConfigError> {
        if let Some(path) = &raw.config_file {
            crate::web::file::WebConfig::load(path)
                .and_then(|c| match &c.tls {
                    Some(t) => crate::web::tls::build(t).map(|_| ()).map_err(|message| {
                        crate::web::file::WebConfigError {
                            path: path.clone(),
                            message,
                        }
                    }),
                    None => Ok(()),
                })
                .map_err(|e| invalid("web.config_file", e.to_string()))?;
        }
        let max_concurrent_requests = raw
            .max_concurrent_requests
            .unwrap_or(DEFAULT_MAX_CONCURRENT_REQUESTS);
        if !(1..=MAX_CONCURRENT_REQUESTS).contains(&max_concurrent_requests) {
            return Err(invalid(
                "web.max_concurrent_requests",
                format!("must be from 1 to {MAX_CONCURRENT_REQUESTS}"),
            ));
        }
        let max_connections = raw.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
        if !(1..=MAX_CONCURRENT_REQUESTS).contains(&max_connections) {
            return Err(invalid(
                "web.max_connections",
                format!("must be from 1 to {MAX_CONCURRENT_REQUESTS}"),
            ));
        }
        let max_connections_per_ip = raw
            .max_connections_per_ip
            .unwrap_or(DEFAULT_MAX_CONNECTIONS_PER_IP);
        if !(1..=MAX_CONCURRENT_REQUESTS).contains(&max_connections_per_ip) {
            return Err(invalid(
                "web.max_connections_per_ip",
                format!("must be from 1 to {MAX_CONCURRENT_REQUESTS}"),
            ));
        }
        let rate_limit = raw.rate_limit.unwrap_or(DEFAULT_RATE_LIMIT);
        // NaN fails the range test too; 0 (or -0) disables.
        if rate_limit != 0.0 && !(MIN_RATE_LIMIT..=MAX_RATE_LIMIT).contains(&rate_limit) {
            return Err(invalid(
                "web.rate_limit",
                format!(
                    "`{rate_limit:?}`: requests per second per client IP, from {MIN_RATE_LIMIT} to {MAX_RATE_LIMIT}, or 0 to disable"
                ),
            ));
        }
        let rate_limit = rate_limit.abs();
        let rate_limit_burst = raw.rate_limit_burst.unwrap_or(DEFAULT_RATE_LIMIT_BURST);
        if rate_limit > 0.0 && rate_limit_burst == 0 {
            return Err(invalid("web.rate_limit_burst", "must be at least 1"));
        }
        Ok(WebSettings {
            config_file: raw.config_file.clone(),
            health_unauthenticated: raw.health_unauthenticated.unwrap_or(true),
            max_concurrent_requests,
            max_connections,
            max_connections_per_ip,
            rate_limit,
            rate_limit_burst,
            header_read_timeout: at_least(
                "web.header_read_timeout",
                parse_duration(
                    "web.header_read_timeout",
                    raw.header_read_timeout.as_deref(),
                )?,
                MIN_HEADER_READ_TIMEOUT,
                "a TLS handshake and request headers over a slow link need it",
            )?
            .unwrap_or(DEFAULT_HEADER_READ_TIMEOUT),
        })
    }
}

/// The validated configuration the exporter runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen_address: SocketAddr,
    pub web: WebSettings,
    /// The clusters read (one unless `clusters:` lists several).
    pub clusters: Vec<ClusterConfig>,
    /// Interval of the fast tier (nodes, jobs, partitions, sdiag, ping).
    pub interval: Duration,
    pub slow_interval: Duration,
    pub accounting_interval: Duration,
    pub timeout: Duration,
    pub ready_max_intervals: u32,
    /// Soft limit of series per snapshot.
    pub series_limit: u64,
    pub collectors: Vec<&'static CollectorDef>,
    /// Settings of the capped (per-user, per-account) families.
    pub caps: CapSettings,
    pub log_level: String,
    pub log_format: LogFormat,
    /// `accounting.lookback`: where the accounting watermark starts, before now.
    pub accounting_lookback: Duration,
    /// `accounting.max_window`: the catch-up bound of one accounting read.
    pub accounting_max_window: Duration,
}

pub const DEFAULT_LISTEN: &str = ":10341";
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
pub const DEFAULT_SLOW_INTERVAL: Duration = Duration::from_secs(120);
pub const DEFAULT_ACCOUNTING_INTERVAL: Duration = Duration::from_secs(120);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
pub const DEFAULT_READY_MAX_INTERVALS: u32 = 3;
/// Enough for ~40,000 nodes with the default collectors (about 12 series per node).
pub const DEFAULT_SERIES_LIMIT: u64 = 500_000;
pub const DEFAULT_ACCOUNTING_MAX_WINDOW: Duration = Duration::from_secs(3600);
/// Floor of `collection.interval` (the slow and accounting tiers are at least it).
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
pub const MIN_TIMEOUT: Duration = Duration::from_millis(100);
/// Floor of `--config.watch-interval` (each check reads the config file).
pub const MIN_WATCH_INTERVAL: Duration = Duration::from_secs(1);
/// Ceiling of every duration setting: beyond any sensible value, and small enough
/// that adding it to a clock reading cannot overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(31_557_600); // 1 year (365.25 days)

impl Config {
    /// Validates raw values; `jwt_in_env` tells whether `SLURM_JWT` is set.
    pub fn from_raw(raw: RawConfig, jwt_in_env: bool) -> Result<Config, ConfigError> {
        let listen = raw.web.listen_address.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen_address = parse_listen(listen).ok_or_else(|| {
            invalid(
                "web.listen_address",
                format!("`{listen}` is not host:port or :port"),
            )
        })?;
        let web = WebSettings::from_raw(&raw.web)?;
        let interval = at_least(
            "collection.interval",
            parse_duration("collection.interval", raw.collection.interval.as_deref())?,
            MIN_INTERVAL,
            "each interval runs the Slurm commands of every cluster; shorter ones flood slurmctld",
        )?
        .unwrap_or(DEFAULT_INTERVAL);
        let timeout = at_least(
            "collection.timeout",
            parse_duration("collection.timeout", raw.collection.timeout.as_deref())?,
            MIN_TIMEOUT,
            "no Slurm command answers sooner; every collector would time out",
        )?
        .unwrap_or(DEFAULT_TIMEOUT.min(interval));
        if timeout > interval {
            return Err(invalid(
                "collection.timeout",
                format!(
                    "{} is longer than collection.interval ({})",
                    humantime::format_duration(timeout),
                    humantime::format_duration(interval)
                ),
            ));
        }
        let slow_interval = tier_interval(
            "collection.slow_interval",
            raw.collection.slow_interval.as_deref(),
            DEFAULT_SLOW_INTERVAL,
            interval,
        )?;
        let accounting_interval = tier_interval(
            "collection.accounting_interval",
            raw.collection.accounting_interval.as_deref(),
            DEFAULT_ACCOUNTING_INTERVAL,
            interval,
        )?;
        let ready_max_intervals = raw
            .collection
            .ready_max_intervals
            .unwrap_or(DEFAULT_READY_MAX_INTERVALS);
        if ready_max_intervals == 0 {
            return Err(invalid(
                "collection.ready_max_intervals",
                "must be at least 1",
            ));
        }
        let clusters = clusters_from_raw(&raw.slurm, raw.clusters.as_deref(), jwt_in_env)?;
        for name in raw.collectors.keys() {
            if collectors::find(name).is_none() {
                let known: Vec<&str> = collectors::ALL.iter().map(|c| c.name).collect();
                return Err(invalid(
                    &format!("collectors.{name}"),
                    format!("unknown collector (known: {})", known.join(", ")),
                ));
            }
        }
        let enabled = collectors::ALL
            .iter()
            .filter(|c| {
                raw.collectors
                    .get(c.name)
                    .copied()
                    .unwrap_or(c.enabled_by_default)
            })
            .collect();
        let caps = cap_settings(&raw.caps)?;
        let accounting_lookback =
            parse_duration("accounting.lookback", raw.accounting.lookback.as_deref())?
                .unwrap_or(Duration::ZERO);
        let accounting_max_window = parse_duration(
            "accounting.max_window",
            raw.accounting.max_window.as_deref(),
        )?
        .unwrap_or(DEFAULT_ACCOUNTING_MAX_WINDOW);
        if accounting_max_window < Duration::from_secs(1) {
            return Err(invalid("accounting.max_window", "must be at least 1s"));
        }
        let log_level = raw.log.level.unwrap_or_else(|| "info".to_string());
        if !["error", "warn", "info", "debug", "trace"].contains(&log_level.as_str()) {
            return Err(invalid(
                "log.level",
                format!("`{log_level}`: use error, warn, info, debug or trace"),
            ));
        }
        Ok(Config {
            listen_address,
            web,
            clusters,
            interval,
            slow_interval,
            accounting_interval,
            timeout,
            ready_max_intervals,
            series_limit: raw.collection.series_limit.unwrap_or(DEFAULT_SERIES_LIMIT),
            collectors: enabled,
            caps,
            log_level,
            log_format: raw.log.format.unwrap_or(LogFormat::Logfmt),
            accounting_lookback,
            accounting_max_window,
        })
    }

    /// The interval of a collection tier.
    pub fn tier_interval(&self, tier: Tier) -> Duration {
        match tier {
            Tier::Fast => self.interval,
            Tier::Slow => self.slow_interval,
            Tier::Accounting => self.accounting_interval,
        }
    }

    pub fn collector_enabled(&self, name: &str) -> bool {
        self.collectors.iter().any(|c| c.name == name)
    }

    /// Hash of the effective configuration (first 16 hex digits of SHA-256 over a
    /// canonical rendering; no secret is part of it, only file paths).
    pub fn hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let canonical = format!(
            "listen={}|{}|cluster={:?}|interval={:?}/{:?}/{:?}|ready={}|series_limit={}|collectors={}|caps={:?}|log={}/{:?}",
            self.listen_address,
            self.clusters
                .iter()
                .map(ClusterConfig::source_settings)
                .collect::<Vec<_>>()
                .join(";"),
            self.clusters.iter().map(|c| &c.name).collect::<Vec<_>>(),
            self.interval,
            self.slow_interval,
            self.accounting_interval,
            self.ready_max_intervals,
            self.series_limit,
            self.collectors
                .iter()
                .map(|c| c.name)
                .collect::<Vec<_>>()
                .join(","),
            self.caps,
            self.log_level,
            self.log_format,
        );
        let digest = Sha256::digest(canonical.as_bytes());
        digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }
}

fn parse_duration(key: &str, value: Option<&str>) -> Result<Option<Duration>, ConfigError> {
    let Some(text) = value else { return Ok(None) };
    let d = humantime::parse_duration(text.trim()).map_err(|e| {
        invalid(
            key,
            format!("`{text}` is not a duration like 30s or 2m: {e}"),
        )
    })?;
    if d.is_zero() {
        return Err(invalid(key, "must be longer than zero"));
    }
    if d > MAX_DURATION {
        return Err(invalid(
            key,
            format!(
                "`{text}` is longer than the maximum of {}",
                humantime::format_duration(MAX_DURATION)
            ),
        ));
    }
    Ok(Some(d))
}

/// `value` unless it is shorter than `min`; `why` tells the operator the reason.
fn at_least(
    key: &str,
    value: Option<Duration>,
    min: Duration,
    why: &str,
) -> Result<Option<Duration>, ConfigError> {
    match value {
        Some(d) if d < min => Err(invalid(
            key,
            format!(
                "{} is shorter than the minimum of {}: {why}",
                humantime::format_duration(d),
                humantime::format_duration(min)
            ),
        )),
        other => Ok(other),
    }
}

/// Validates `--config.watch-interval` (a flag only: it says how the file is read).
pub fn watch_interval(text: &str) -> Result<Duration, ConfigError> {
    const KEY: &str = "config.watch_interval";
    let d = parse_duration(KEY, Some(text))?;
    let d = at_least(
        KEY,
        d,
        MIN_WATCH_INTERVAL,
        "each check reads the config file; SIGHUP reloads at once",
    )?;
    Ok(d.unwrap_or(MIN_WATCH_INTERVAL))
}

fn parse_listen(text: &str) -> Option<SocketAddr> {
    let full = if text.starts_with(':') {
        format!("0.0.0.0{text}")
    } else {
        text.to_string()
    };
    full.to_socket_addrs().ok()?.next()
}

fn parse_rest_url(url: &str) -> Result<RestEndpoint, ConfigError> {
    if let Some(path) = url.strip_prefix("unix://") {
        if !path.starts_with('/') {
            return Err(invalid(
                "slurm.rest_url",
                format!("`{url}`: a unix socket URL needs an absolute path (unix:///path)"),
            ));
        }
        return Ok(RestEndpoint::Unix {
            path: PathBuf::from(path),
        });
    }
    if let Some(rest) = url.strip_prefix("http://") {
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            return Err(invalid(
                "slurm.rest_url",
                format!("`{url}`: expected http://host:port with no path"),
            ));
        }
        return Ok(RestEndpoint::Tcp {
            authority: authority.to_string(),
        });
    }
    Err(invalid(
        "slurm.rest_url",
        format!(
            "`{url}`: use http://host:port or unix:///path/to/socket (https is not supported yet)"
        ),
    ))
}

mod caps;
#[cfg(test)]
mod tests;

use caps::cap_settings;
pub use caps::RawCap;

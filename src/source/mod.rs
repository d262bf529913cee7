//! Sources: fetch raw data from Slurm and hand it to the model's parsers.
//! No metric knowledge lives here.

pub mod cli;
pub mod command;
pub mod rest;
pub mod token_file;
pub mod watermark;

use crate::model::{
    Accounting, Associations, ControllerData, DataKind, DbdStatus, Diag, Jobs, Licenses, Nodes,
    ParseError, Partitions, QosList, QosUsages, Reservations, Shares,
};

/// One fetched piece of data.
#[derive(Debug, Clone)]
pub enum Fetched {
    Nodes(Nodes),
    Partitions(Partitions),
    /// Shared: slurmrestd's source keeps the list to reuse on `304 Not Modified`.
    Jobs(std::sync::Arc<Jobs>),
    Diag(Box<Diag>),
    Controllers(ControllerData),
    Licenses(Licenses),
    Reservations(Reservations),
    Shares(Shares),
    Qos(QosList),
    QosUsage(QosUsages),
    Associations(Associations),
    Accounting(Accounting),
    Dbd(DbdStatus),
}

/// Why a fetch failed. `reason()` is the small fixed label set of
/// `slurm_exporter_collection_errors_total`.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("timed out after {0:?}")]
    Timeout(std::time::Duration),
    #[error("connection failed: {0}")]
    Connection(String),
    #[error("authentication rejected: {0}")]
    Auth(String),
    #[error("cannot parse output: {0}")]
    Parse(#[from] ParseError),
    #[error("{0}")]
    Command(String),
}

impl SourceError {
    pub fn reason(&self) -> &'static str {
        match self {
            SourceError::Timeout(_) => "timeout",
            SourceError::Connection(_) => "connection",
            SourceError::Auth(_) => "auth",
            SourceError::Parse(ParseError::TooLarge(_)) => "too_large",
            SourceError::Parse(_) => "parse",
            SourceError::Command(_) => "command",
        }
    }
}

/// The reasons `SourceError::reason` can return, for pre-declared series.
pub const ERROR_REASONS: [&str; 6] = [
    "timeout",
    "connection",
    "auth",
    "parse",
    "command",
    "too_large",
];

/// The catch-up bound when none is configured (`accounting.max_window`).
pub const DEFAULT_WINDOW: std::time::Duration = crate::config::DEFAULT_ACCOUNTING_MAX_WINDOW;

/// A watermark starting `lookback` before now.
fn new_watermark(
    lookback: std::time::Duration,
    max_window: std::time::Duration,
) -> watermark::Watermark {
    let lookback = i64::try_from(lookback.as_secs()).unwrap_or(i64::MAX);
    let max_window = i64::try_from(max_window.as_secs()).unwrap_or(i64::MAX);
    watermark::Watermark::new(unix_now().saturating_sub(lookback), max_window)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// An epoch as `YYYY-MM-DDTHH:MM:SS` in UTC (the commands run with `TZ=UTC`).
fn utc(epoch: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(epoch.max(0) as u64);
    let s = humantime::format_rfc3339_seconds(t).to_string();
    s.trim_end_matches('Z').to_string()
}

/// The configured source.
#[allow(clippy::large_enum_variant)]
pub enum Source {
    Cli(cli::CliSource),
    Rest(rest::RestSource),
}

impl Source {
    /// Builds the source `config` asks for; `timeout` bounds each query.
    pub fn from_config(
        config: &crate::config::ClusterConfig,
        timeout: std::time::Duration,
    ) -> anyhow::Result<Source> {
        use crate::config::SourceKind;
        use anyhow::Context as _;
        match config.source {
            SourceKind::Cli => Ok(Source::Cli(cli::CliSource::new(
                config.bin_dir.clone(),
                timeout,
                config.cli_json.clone(),
                config.slurm_conf.clone(),
            ))),
            SourceKind::Rest => {
                let endpoint = config
                    .rest_endpoint
                    .clone()
                    .context("slurm.rest_url is required for the rest source")?;
                let token = match (&config.jwt_file, config.jwt_mint_lifespan) {
                    (Some(path), _) => rest::TokenSource::File(token_file::TokenFile::new(
                        path.clone(),
                        token_file::read_timeout(timeout),
                    )),
                    (None, Some(lifespan)) => rest::TokenSource::mint(
                        config.bin_dir.clone(),
                        config.user.clone(),
                        lifespan,
                        timeout,
                    ),
                    (None, None) => rest::TokenSource::Value(
                        std::env::var("SLURM_JWT")
                            .context("SLURM_JWT is not set and no slurm.jwt_file given")?,
                    ),
                };
                Ok(Source::Rest(rest::RestSource::new(
                    endpoint,
                    token,
                    config.user.clone(),
                )))
            }
        }
    }

    /// Where the accounting watermark starts (now minus `lookback`) and the longest
    /// window one accounting read covers (`accounting.*`, the same for every cluster).
    pub fn with_accounting(
        self,
        lookback: std::time::Duration,
        max_window: std::time::Duration,
    ) -> Source {
        match self {
            Source::Cli(s) => Source::Cli(s.with_accounting(lookback, max_window)),
            Source::Rest(s) => Source::Rest(s.with_accounting(lookback, max_window)),
        }
    }

    /// Expiry of the JWT in use (REST source), seconds since the epoch.
    pub fn jwt_expiry(&self) -> Option<i64> {
        match self {
            Source::Cli(_) => None,
            Source::Rest(s) => s.jwt_expiry(),
        }
    }

    /// Whether the JWT file (REST source) was last seen open to others or
    /// writable by its group; `None` without a JWT file.
    pub fn jwt_file_insecure(&self) -> Option<bool> {
        match self {
            Source::Cli(_) => None,
            Source::Rest(s) => s.jwt_file_insecure(),
        }
    }

    /// Label value `source` of `slurm_exporter_slurm_request_duration_seconds`.
    pub fn name(&self) -> &'static str {
        match self {
            Source::Cli(_) => "cli",
            Source::Rest(_) => "rest",
        }
    }

    /// Fetches one kind of data. The caller applies the collection timeout;
    /// the CLI source also kills its command at that deadline.
    pub async fn fetch(&self, kind: DataKind) -> Result<Fetched, SourceError> {
        match self {
            Source::Cli(s) => s.fetch(kind).await,
            Source::Rest(s) => s.fetch(kind).await,
        }
    }
}

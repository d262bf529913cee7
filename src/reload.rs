//! Configuration reload: SIGHUP, and optionally polling the config file, re-read
//! the file, overlay the flags, validate everything, and only then hand the new
//! configuration to the engine. A bad file (an empty or comment-only one too)
//! keeps the running configuration, sets
//! `slurm_exporter_config_last_reload_successful` to 0, counts it in
//! `slurm_exporter_config_reload_failures_total{file="main"}` and logs why.
//! Settings that need a restart (`web.*`, the listen address, `log.*`) keep their
//! running values: a reload cannot lower the endpoint's protection.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use crate::config::{Config, ConfigError, RawConfig};
use crate::engine::Shared;
use crate::self_metrics::ReloadFile;

/// Where the configuration comes from: the file (re-read on reload) and the flags
/// (fixed for the life of the process; they win over the file).
#[derive(Debug, Clone)]
pub struct Loader {
    pub file: Option<PathBuf>,
    pub flags: RawConfig,
    pub jwt_in_env: bool,
}

impl Loader {
    /// Reads and validates the whole configuration.
    pub fn load(&self) -> Result<Config, ConfigError> {
        let raw = match &self.file {
            Some(path) => RawConfig::from_file(path)?.overlay(self.flags.clone()),
            None => self.flags.clone(),
        };
        Config::from_raw(raw, self.jwt_in_env)
    }

    /// The file's content, to notice changes when polling.
    fn fingerprint(&self) -> Option<Vec<u8>> {
        self.file.as_ref().and_then(|p| std::fs::read(p).ok())
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Records the configuration the process started with.
pub fn record_initial(shared: &Shared, config: &Config) {
    if let Ok(mut status) = shared.reload.lock() {
        status.succeeded(config.hash(), unix_now());
    }
}

/// Reloads on SIGHUP (and every `poll` when the file changed) until `shutdown`.
pub async fn run(
    loader: Loader,
    current: Config,
    configs: watch::Sender<Arc<Config>>,
    shared: Arc<Shared>,
    poll: Option<Duration>,
    shutdown: impl Future<Output = ()>,
) {
    let mut reloader = Reloader {
        loader,
        current,
        configs,
        shared,
    };
    let mut hangups = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGHUP; reload by signal is off");
            None
        }
    };
    let mut last_seen = reloader.loader.fingerprint();
    let mut ticker = poll.map(tokio::time::interval);
    let work = async {
        loop {
            let hangup = async {
                match hangups.as_mut() {
                    Some(h) => h.recv().await,
                    None => std::future::pending().await,
                }
            };
            let tick = async {
                match ticker.as_mut() {
                    Some(t) => t.tick().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = hangup => {
                    tracing::info!("SIGHUP received: reloading the configuration");
                    reloader.reload();
                    last_seen = reloader.loader.fingerprint();
                }
                _ = tick => {
                    let seen = reloader.loader.fingerprint();
                    if seen != last_seen {
                        tracing::info!("config file changed: reloading the configuration");
                        reloader.reload();
                        last_seen = seen;
                    }
                }
            }
        }
    };
    tokio::select! {
        _ = shutdown => {}
        _ = work => {}
    }
}

struct Reloader {
    loader: Loader,
    current: Config,
    configs: watch::Sender<Arc<Config>>,
    shared: Arc<Shared>,
}

impl Reloader {
    fn reload(&mut self) {
        match self.loader.load() {
            Ok(mut new) => {
                if new.listen_address != self.current.listen_address {
                    tracing::warn!(
                        running = %self.current.listen_address,
                        configured = %new.listen_address,
                        "web.listen_address changes need a restart; still listening on the old address"
                    );
                }
                if new.web.config_file != self.current.web.config_file {
                    tracing::warn!(
                        running = ?self.current.web.config_file,
                        configured = ?new.web.config_file,
                        "web.config_file changes need a restart; the running web config (TLS, client certificates, basic auth) stays in force"
                    );
                } else if new.web != self.current.web {
                    tracing::warn!(
                        "web.* settings changes need a restart (the web config file's content is reloaded on its own)"
                    );
                }
                if new.log_format != self.current.log_format
                    || new.log_level != self.current.log_level
                {
                    tracing::warn!("log.level and log.format changes need a restart");
                }
                // What needs a restart keeps its running value, so the configuration
                // in force says what really runs (and no reload lowers protection).
                new.listen_address = self.current.listen_address;
                new.web = self.current.web.clone();
                new.log_level = self.current.log_level.clone();
                new.log_format = self.current.log_format;
                let hash = new.hash();
                tracing::info!(
                    hash = hash.as_str(),
                    collectors = new.collectors.iter().map(|c| c.name).collect::<Vec<_>>().join(",").as_str(),
                    interval = %humantime::format_duration(new.interval),
                    "configuration reloaded"
                );
                if let Ok(mut status) = self.shared.reload.lock() {
                    status.succeeded(hash, unix_now());
                }
                self.current = new.clone();
                let _ = self.configs.send(Arc::new(new));
            }
            Err(e) => {
                tracing::error!(
                    error = %e,
                    "configuration reload failed; the previous configuration stays in force"
                );
                if let Ok(mut status) = self.shared.reload.lock() {
                    status.failed(ReloadFile::Main);
                }
            }
        }
    }
}

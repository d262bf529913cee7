//! The web config in force, and its reload: the config file and the
//! certificate, key and CA files it names are hashed once a second; when the
//! hash changes the whole set is loaded again. A broken new set, or one that
//! would lower protection (TLS, client certificates, basic auth: see
//! `protection`), keeps the previous good one: logged, counted in
//! `config_reload_failures_total{file="web"}`, and
//! `web_config_last_reload_successful` = 0. New connections use the config in
//! force when they arrive.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::http::{HeaderName, HeaderValue};
use sha2::{Digest, Sha256};

use super::auth::BasicAuth;
use super::file::{WebConfig, WebConfigError};
use super::gate::BcryptGate;
use super::protection::Protection;
use super::tls::TlsState;
use crate::engine::Shared;
use crate::self_metrics::ReloadFile;

/// One loaded, consistent web config.
#[derive(Debug, Default)]
pub struct Active {
    /// `None`: plain HTTP.
    pub tls: Option<Arc<TlsState>>,
    /// `None`: no basic auth.
    pub auth: Option<Arc<BasicAuth>>,
    /// `http_server_config.headers`, added to every response.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// What this config protects; a reload may not lower it.
    pub protection: Protection,
}

/// The web config in force and how to reload it.
pub struct WebState {
    path: Option<PathBuf>,
    active: ArcSwap<Active>,
    /// Hash of the files at the last load attempt, good or bad.
    attempted: Mutex<[u8; 32]>,
    bcrypt_gate: Arc<BcryptGate>,
    shared: Arc<Shared>,
}

/// Hash of the config file and of every file it names (or of why one cannot be read).
fn fingerprint(path: &Path) -> [u8; 32] {
    let files = WebConfig::load(path)
        .map(|c| c.files())
        .unwrap_or_else(|_| vec![path.to_path_buf()]);
    let mut hasher = Sha256::new();
    for f in files {
        hasher.update(f.as_os_str().as_encoded_bytes());
        match std::fs::read(&f) {
            Ok(bytes) => hasher.update(&bytes),
            Err(e) => hasher.update(e.to_string().as_bytes()),
        }
        hasher.update([0]);
    }
    hasher.finalize().into()
}

fn build(path: &Path, gate: &Arc<BcryptGate>) -> Result<Active, WebConfigError> {
    let config = WebConfig::load(path)?;
    let tls = config
        .tls
        .as_ref()
        .map(super::tls::build)
        .transpose()
        .map_err(|message| WebConfigError {
            path: path.to_path_buf(),
            message,
        })?;
    let auth = (!config.users.is_empty())
        .then(|| Arc::new(BasicAuth::new(config.users.clone(), gate.clone())));
    Ok(Active {
        tls: tls.map(Arc::new),
        auth,
        protection: Protection::of(&config),
        headers: config.headers,
    })
}

impl WebState {
    /// Plain HTTP, no auth (no `--web.config.file`).
    pub fn open(shared: Arc<Shared>) -> Arc<WebState> {
        Arc::new(WebState {
            path: None,
            active: ArcSwap::from_pointee(Active::default()),
            attempted: Mutex::new([0; 32]),
            bcrypt_gate: Arc::default(),
            shared,
        })
    }

    /// Loads `path` and the files it names (blocking); an error here stops the start.
    pub fn load(path: &Path, shared: Arc<Shared>) -> Result<Arc<WebState>, WebConfigError> {
        let fp = fingerprint(path);
        let gate = Arc::default();
        let active = build(path, &gate)?;
        let state = WebState {
            path: Some(path.to_path_buf()),
            active: ArcSwap::from_pointee(Active::default()),
            attempted: Mutex::new(fp),
            bcrypt_gate: gate,
            shared,
        };
        state.install(active);
        Ok(Arc::new(state))
    }

    /// The config for a new connection or request.
    pub fn current(&self) -> Arc<Active> {
        self.active.load_full()
    }

    fn install(&self, active: Active) {
        if let Ok(mut http) = self.shared.http.lock() {
            http.tls_cert_expiry_unix = active.tls.as_ref().map(|t| t.expiry_unix);
            http.web_config_reload_ok = Some(true);
        }
        self.active.store(Arc::new(active));
    }

    /// Loads the files again if they changed since the last attempt (blocking).
    pub fn reload_if_changed(&self) {
        let Some(path) = &self.path else { return };
        let fp = fingerprint(path);
        match self.attempted.lock() {
            Ok(mut last) if *last != fp => *last = fp,
            _ => return,
        }
        let active = match build(path, &self.bcrypt_gate) {
            Ok(active) => active,
            Err(e) => {
                tracing::error!(error = %e, "web config reload failed; keeping the previous one");
                self.refused();
                return;
            }
        };
        let lost = self.current().protection.lowered_by(&active.protection);
        if !lost.is_empty() {
            tracing::error!(
                file = %path.display(),
                lost = lost.join(", ").as_str(),
                "web config reload refused: it would lower protection; keeping the previous one (restart the process to drop TLS, client certificates or basic auth)"
            );
            self.refused();
            return;
        }
        tracing::info!(
            file = %path.display(),
            tls = active.tls.is_some(),
            basic_auth = active.auth.is_some(),
            "web config reloaded"
        );
        self.install(active);
    }

    fn refused(&self) {
        if let Ok(mut http) = self.shared.http.lock() {
            http.web_config_reload_ok = Some(false);
        }
        if let Ok(mut status) = self.shared.reload.lock() {
            status.failed(ReloadFile::Web);
        }
    }

    /// Checks for changes once a second until `stop` completes.
    pub async fn watch(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        if self.path.is_none() {
            return;
        }
        let mut stop = std::pin::pin!(stop);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut stop => return,
                _ = tick.tick() => {
                    let me = self.clone();
                    let _ = tokio::task::spawn_blocking(move || me.reload_if_changed()).await;
                }
            }
        }
    }
}

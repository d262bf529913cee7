//! The REST source: slurmrestd over TCP or a unix socket, authenticated with a JWT
//! (`X-SLURM-USER-NAME` / `X-SLURM-USER-TOKEN`).
//!
//! The newest API version the server offers is detected on first use and again when
//! the server answers 404 for it (an upgrade removed it). `/jobs` is Slurm's most
//! expensive query, so it is asked with `update_time` and the previous jobs are
//! reused when nothing changed (22.05: 304 Not Modified; 23.02+: an empty list with
//! the warning "No job changes since update_time"). Bodies are parsed as a stream on a
//! blocking thread that ends when the query is abandoned (`body`); one query of each
//! kind is in flight at a time (`in_flight`).

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::Mutex;

mod accounting;
mod body;
mod in_flight;

#[cfg(test)]
use body::summarize_error_body;
use body::{body_errors, body_snippet, parse_body};

use super::watermark::Watermark;
use super::{Fetched, SourceError};
use crate::config::RestEndpoint;
use crate::model::json::{self, Meta};
use crate::model::{caps, dbd, ControllerData, DataKind, DbdStatus, Jobs, ParseError};

/// API versions we can read, newest first.
pub const API_VERSIONS: [&str; 9] = [
    "v0.0.44", "v0.0.43", "v0.0.42", "v0.0.41", "v0.0.40", "v0.0.39", "v0.0.38", "v0.0.37",
    "v0.0.36",
];

/// Refetch the full job list at least this often even when slurmrestd answers
/// 304 Not Modified (as 22.05 does when nothing changed since `update_time`), so
/// a clock difference between us and slurmctld cannot hide changes for long.
const FULL_JOBS_REFRESH_EVERY: u32 = 10;

/// Where the token comes from. A file is read on every request (time-bound, see
/// `token_file`), so a rotated file is used at once; a minted token is renewed when
/// a third of its lifespan is left. Never logged, never part of an error message.
pub enum TokenSource {
    File(super::token_file::TokenFile),
    Value(String),
    Mint(Minter),
}

/// Mints tokens with `scontrol token lifespan=…`.
pub struct Minter {
    bin_dir: Option<PathBuf>,
    user: Option<String>,
    lifespan: std::time::Duration,
    timeout: std::time::Duration,
    /// The current token and its expiry.
    current: Mutex<Option<(String, i64)>>,
}

impl TokenSource {
    pub fn mint(
        bin_dir: Option<PathBuf>,
        user: Option<String>,
        lifespan: std::time::Duration,
        timeout: std::time::Duration,
    ) -> TokenSource {
        TokenSource::Mint(Minter {
            bin_dir,
            user,
            lifespan,
            timeout,
            current: Mutex::new(None),
        })
    }

    async fn read(&self) -> Result<String, SourceError> {
        match self {
            TokenSource::Value(v) => Ok(v.clone()),
            TokenSource::File(file) => file.read().await,
            TokenSource::Mint(m) => m.token().await,
        }
    }
}

impl Minter {
    async fn token(&self) -> Result<String, SourceError> {
        let mut current = self.current.lock().await;
        let now = unix_now();
        let renew_at = (self.lifespan.as_secs() / 3) as i64;
        if let Some((token, exp)) = current.as_ref() {
            if exp - now > renew_at {
                return Ok(token.clone());
            }
        }
        let program = match &self.bin_dir {
            Some(dir) => dir.join("scontrol"),
            None => PathBuf::from("scontrol"),
        };
        let mut args = vec!["token".to_string()];
        if let Some(user) = &self.user {
            args.push(format!("username={user}"));
        }
        args.push(format!("lifespan={}", self.lifespan.as_secs()));
        let spec = super::command::CommandSpec {
            program,
            args,
            timeout: self.timeout,
            accept_failure_exit: false,
            slurm_conf: None,
            max_output: caps::MAX_TEXT_OUTPUT_BYTES,
        };
        let token = super::command::run(&spec, |r| {
            let mut text = String::new();
            r.read_to_string(&mut text)?;
            text.lines()
                .find_map(|l| l.trim().strip_prefix("SLURM_JWT="))
                .map(str::to_string)
                .ok_or_else(|| ParseError::Text {
                    line: 1,
                    message: "scontrol token printed no SLURM_JWT=".into(),
                })
        })
        .await
        .map_err(|e| SourceError::Auth(format!("cannot mint a JWT with scontrol token: {e}")))?;
        let exp = token_claims(&token)
            .and_then(|c| c.get("exp").and_then(|e| e.as_i64()))
            .unwrap_or(now + self.lifespan.as_secs() as i64);
        tracing::info!(expires = exp, "minted a new JWT with scontrol token");
        *current = Some((token.clone(), exp));
        Ok(token)
    }
}

/// The claims of a JWT (its middle part), if it is one.
fn token_claims(token: &str) -> Option<serde_json::Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Returns the `sun` (user name) claim of a Slurm JWT, if it has one.
pub fn token_user(token: &str) -> Option<String> {
    token_claims(token)?
        .get("sun")?
        .as_str()
        .map(str::to_string)
}

/// Checks what we can check locally before sending a token. Slurm 22.05 answers
/// an expired or malformed token with a generic HTTP 500 (slurmctld rejects it,
/// not slurmrestd), which would otherwise look like a controller failure.
pub fn check_token(token: &str, now: i64) -> Result<(), SourceError> {
    let Some(claims) = token_claims(token) else {
        return Err(SourceError::Auth(
            "the JWT is malformed (not header.payload.signature)".into(),
        ));
    };
    match claims.get("exp").and_then(|e| e.as_i64()) {
        Some(exp) if exp <= now => Err(SourceError::Auth(format!(
            "the JWT expired {}s ago (exp {exp})",
            now - exp
        ))),
        _ => Ok(()),
    }
}

struct JobsCache {
    /// Shared with the collection that read it: one list in memory, not two.
    jobs: Arc<Jobs>,
    update_time: i64,
    reuses: u32,
}

pub struct RestSource {
    endpoint: RestEndpoint,
    token: TokenSource,
    user: Option<String>,
    version: Mutex<Option<&'static str>>,
    jobs_cache: Mutex<Option<JobsCache>>,
    /// Cluster name learned from any response (v0.0.40+ `meta`, or job records).
    cluster: std::sync::Mutex<Option<String>>,
    /// `exp` claim of the last token sent (0 = unknown).
    jwt_expiry: std::sync::atomic::AtomicI64,
    /// How far slurmdbd's finished and started jobs have been read.
    watermark: std::sync::Mutex<Watermark>,
    /// Set once a slurmrestd without slurmdb API was logged.
    dbd_not_configured_logged: std::sync::atomic::AtomicBool,
    /// One query of each kind at a time, leftovers of an abandoned one included.
    in_flight: in_flight::InFlight,
}

enum Answer {
    Ok(Response<Incoming>),
    NotModified,
    VersionGone,
}

impl RestSource {
    pub fn new(endpoint: RestEndpoint, token: TokenSource, user: Option<String>) -> RestSource {
        RestSource {
            endpoint,
            token,
            user,
            version: Mutex::new(None),
            jobs_cache: Mutex::new(None),
            cluster: std::sync::Mutex::new(None),
            jwt_expiry: std::sync::atomic::AtomicI64::new(0),
            dbd_not_configured_logged: std::sync::atomic::AtomicBool::new(false),
            in_flight: in_flight::InFlight::default(),
            watermark: std::sync::Mutex::new(super::new_watermark(
                std::time::Duration::ZERO,
                super::DEFAULT_WINDOW,
            )),
        }
    }

    /// Where the accounting watermark starts and the longest window one read covers.
    pub fn with_accounting(
        self,
        lookback: std::time::Duration,
        max_window: std::time::Duration,
    ) -> RestSource {
        RestSource {
            watermark: std::sync::Mutex::new(super::new_watermark(lookback, max_window)),
            ..self
        }
    }

    /// The API version in use, detecting it if needed.
    pub async fn api_version(&self) -> Result<&'static str, SourceError> {
        let mut guard = self.version.lock().await;
        if let Some(v) = *guard {
            return Ok(v);
        }
        for v in API_VERSIONS {
            match self.get(&format!("/slurm/{v}/ping"), false).await? {
                Answer::Ok(_) => {
                    tracing::info!(version = v, "slurmrestd API version detected");
                    *guard = Some(v);
                    return Ok(v);
                }
                Answer::VersionGone => continue,
                Answer::NotModified => continue,
            }
        }
        Err(SourceError::Connection(
            "slurmrestd offers none of the API versions this exporter reads (v0.0.36 to v0.0.44)"
                .into(),
        ))
    }

    /// Fetches one kind of data. The caller's timeout drops this future, which
    /// ends the query's parser thread and closes its connection (`body`).
    pub async fn fetch(&self, kind: DataKind) -> Result<Fetched, SourceError> {
        self.in_flight
            .run(kind, async {
                match self.fetch_once(kind).await {
                    Err(SourceError::Connection(m)) if m.starts_with(VERSION_GONE) => {
                        *self.version.lock().await = None;
                        self.fetch_once(kind).await
                    }
                    other => other,
                }
            })
            .await
    }

    async fn fetch_once(&self, kind: DataKind) -> Result<Fetched, SourceError> {
        let v = self.api_version().await?;
        match kind {
            DataKind::Nodes => {
                let r = self
                    .get_json(&format!("/slurm/{v}/nodes"), |r| json::parse_nodes(r))
                    .await?;
                Ok(Fetched::Nodes(r.data))
            }
            DataKind::Partitions => {
                let r = self
                    .get_json(&format!("/slurm/{v}/partitions"), |r| {
                        json::parse_partitions(r)
                    })
                    .await?;
                Ok(Fetched::Partitions(r.data))
            }
            DataKind::Diag => {
                let r = self
                    .get_json(&format!("/slurm/{v}/diag"), |r| json::parse_diag(r))
                    .await?;
                Ok(Fetched::Diag(Box::new(r.data)))
            }
            DataKind::Jobs => self.jobs(v).await.map(Fetched::Jobs),
            DataKind::Accounting => self.accounting(v).await.map(Fetched::Accounting),
            DataKind::Dbd => self.dbd(v).await.map(Fetched::Dbd),
            DataKind::Licenses => {
                if matches!(v, "v0.0.36" | "v0.0.37") {
                    return Err(SourceError::Command(format!(
                        "slurmrestd API {v} has no /licenses (it starts with v0.0.38, Slurm 22.05)"
                    )));
                }
                let r = self
                    .get_json(&format!("/slurm/{v}/licenses"), |r| json::parse_licenses(r))
                    .await?;
                Ok(Fetched::Licenses(r.data))
            }
            DataKind::Reservations => {
                let r = self
                    .get_json(&format!("/slurm/{v}/reservations"), |r| {
                        json::parse_reservations(r)
                    })
                    .await?;
                Ok(Fetched::Reservations(r.data))
            }
            DataKind::Shares => {
                if matches!(v, "v0.0.36" | "v0.0.37" | "v0.0.38" | "v0.0.39") {
                    return Err(SourceError::Command(format!(
                        "slurmrestd API {v} has no /shares (it starts with v0.0.40, Slurm 23.11): \
                         read fair share with the CLI source (sshare) or switch the collector off"
                    )));
                }
                let r = self
                    .get_json(&format!("/slurm/{v}/shares"), |r| json::parse_shares(r))
                    .await?;
                Ok(Fetched::Shares(r.data))
            }
            DataKind::Qos => {
                let r = self
                    .get_db_json(&format!("/slurmdb/{v}/qos"), |r| json::parse_qos(r))
                    .await?;
                Ok(Fetched::Qos(r.data))
            }
            // slurmrestd has no view of slurmctld's association manager: no usage.
            DataKind::QosUsage => Ok(Fetched::QosUsage(crate::model::QosUsages::default())),
            DataKind::Associations => {
                let r = self
                    .get_db_json(&format!("/slurmdb/{v}/associations"), |r| {
                        json::parse_associations(r)
                    })
                    .await?;
                Ok(Fetched::Associations(r.data))
            }
            DataKind::Controllers => {
                let started = Instant::now();
                let r = self
                    .get_json(&format!("/slurm/{v}/ping"), |r| json::parse_ping(r))
                    .await?;
                let elapsed = started.elapsed().as_secs_f64();
                let mut controllers = r.data;
                for c in controllers.iter_mut().filter(|c| c.up) {
                    c.latency_seconds.get_or_insert(elapsed);
                }
                let Meta {
                    release, cluster, ..
                } = r.meta;
                if cluster.is_some() {
                    self.remember_cluster(cluster.clone());
                } else if self.known_cluster().is_none() {
                    // Before v0.0.40 only job records name the cluster: read the job
                    // list once now (it becomes the base for update_time requests).
                    let _ = self.jobs(v).await;
                }
                let cluster = cluster.or_else(|| self.known_cluster());
                Ok(Fetched::Controllers(ControllerData {
                    controllers,
                    info: crate::model::ClusterInfo {
                        cluster_name: cluster,
                        version: release,
                    },
                }))
            }
        }
    }

    /// Probes slurmdbd through slurmrestd: `GET /slurmdb/{v}/diag` (a few KB).
    /// slurmrestd without its slurmdb plugins (no accounting) answers 404: "not
    /// configured", logged once. An answer whose errors say slurmdbd cannot be
    /// reached is "down"; slurmrestd itself unreachable is a failed query.
    async fn dbd(&self, v: &str) -> Result<DbdStatus, SourceError> {
        let path = format!("/slurmdb/{v}/diag");
        let started = Instant::now();
        let down = DbdStatus::Probed {
            up: false,
            latency_seconds: None,
        };
        match self.get(&path, false).await {
            Ok(Answer::Ok(resp)) => {
                let errors = body_errors(resp).await;
                if dbd::says_unreachable(&errors) {
                    return Ok(down);
                }
                Ok(DbdStatus::Probed {
                    up: true,
                    latency_seconds: Some(started.elapsed().as_secs_f64()),
                })
            }
            Ok(Answer::VersionGone) => {
                if !self
                    .dbd_not_configured_logged
                    .swap(true, std::sync::atomic::Ordering::Relaxed)
                {
                    tracing::info!(
                        path = path.as_str(),
                        "slurmrestd serves no slurmdb API (404: no accounting, or its slurmdb plugin is not loaded): slurm_slurmdbd_up is not exported"
                    );
                }
                Ok(DbdStatus::NotConfigured)
            }
            Ok(Answer::NotModified) => Ok(DbdStatus::Probed {
                up: true,
                latency_seconds: Some(started.elapsed().as_secs_f64()),
            }),
            Err(SourceError::Connection(m))
                if m.starts_with("slurmrestd answered") && dbd::says_unreachable(&m) =>
            {
                Ok(down)
            }
            Err(e) => Err(e),
        }
    }

    /// Whether the JWT file was last seen open to others or writable by its group
    /// (`None`: no JWT file, or not read yet).
    pub fn jwt_file_insecure(&self) -> Option<bool> {
        match &self.token {
            TokenSource::File(file) => file.insecure(),
            _ => None,
        }
    }

    /// Expiry of the last token sent, seconds since the epoch.
    pub fn jwt_expiry(&self) -> Option<i64> {
        let exp = self.jwt_expiry.load(std::sync::atomic::Ordering::Relaxed);
        (exp > 0).then_some(exp)
    }

    fn remember_cluster(&self, cluster: Option<String>) {
        if let (Some(name), Ok(mut known)) = (cluster, self.cluster.lock()) {
            *known = Some(name);
        }
    }

    fn known_cluster(&self) -> Option<String> {
        self.cluster.lock().ok().and_then(|c| c.clone())
    }

    async fn jobs(&self, v: &'static str) -> Result<Arc<Jobs>, SourceError> {
        let mut cache = self.jobs_cache.lock().await;
        let request_time = unix_now() - 1;
        let path = match cache.as_ref() {
            Some(c) if c.reuses < FULL_JOBS_REFRESH_EVERY => {
                format!("/slurm/{v}/jobs?update_time={}", c.update_time)
            }
            _ => format!("/slurm/{v}/jobs"),
        };
        match self.get(&path, true).await? {
            Answer::NotModified => cached_jobs(&mut cache),
            Answer::VersionGone => Err(version_gone(v)),
            Answer::Ok(resp) => {
                let r =
                    parse_body(resp, caps::MAX_JOBS_JSON_BYTES, |r| json::parse_jobs(r)).await?;
                if cache.is_some() && r.jobs_unchanged() {
                    return cached_jobs(&mut cache);
                }
                self.remember_cluster(r.meta.cluster.clone());
                let update_time = r.last_update.unwrap_or(request_time);
                let jobs = Arc::new(r.data);
                *cache = Some(JobsCache {
                    jobs: jobs.clone(),
                    update_time,
                    reuses: 0,
                });
                Ok(jobs)
            }
        }
    }

    async fn get_json<T, F>(&self, path: &str, parse: F) -> Result<json::Response<T>, SourceError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn BufRead) -> Result<json::Response<T>, ParseError> + Send + 'static,
    {
        match self.get(path, false).await? {
            Answer::Ok(resp) => parse_body(resp, caps::MAX_JSON_OUTPUT_BYTES, parse).await,
            Answer::VersionGone => Err(version_gone(path)),
            Answer::NotModified => Err(SourceError::Connection(format!(
                "unexpected 304 for {path}"
            ))),
        }
    }

    /// Like `get_json` for `/slurmdb/` paths: a 404 there means slurmrestd runs without
    /// its slurmdbd plugins (no accounting), not that the API version went away.
    async fn get_db_json<T, F>(
        &self,
        path: &str,
        parse: F,
    ) -> Result<json::Response<T>, SourceError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn BufRead) -> Result<json::Response<T>, ParseError> + Send + 'static,
    {
        match self.get(path, false).await? {
            Answer::Ok(resp) => parse_body(resp, caps::MAX_JSON_OUTPUT_BYTES, parse).await,
            Answer::VersionGone => Err(SourceError::Command(format!(
                "slurmrestd answered 404 for {path}: it runs without its slurmdbd plugins \
                 (openapi/dbv0.0.3x or openapi/slurmdbd), or without accounting"
            ))),
            Answer::NotModified => Err(SourceError::Connection(format!(
                "unexpected 304 for {path}"
            ))),
        }
    }

    async fn get(&self, path: &str, allow_not_modified: bool) -> Result<Answer, SourceError> {
        let token = self.token.read().await?;
        if let Some(exp) = token_claims(&token).and_then(|c| c.get("exp").and_then(|e| e.as_i64()))
        {
            self.jwt_expiry
                .store(exp, std::sync::atomic::Ordering::Relaxed);
        }
        check_token(&token, unix_now())?;
        let user = self
            .user
            .clone()
            .or_else(|| token_user(&token))
            .unwrap_or_else(|| "root".to_string());
        let (host, io) = self.connect().await?;
        // Headers: hyper's own caps (100 headers; 8 KiB growing to ~400 KiB of
        // read buffer), stated here so an upgrade cannot silently lift them.
        let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
            .max_buf_size(MAX_RESPONSE_HEAD_BYTES)
            .handshake(io)
            .await
            .map_err(|e| SourceError::Connection(format!("HTTP handshake with slurmrestd: {e}")))?;
        // The connection ends once the response (or its body) and `sender` are
        // dropped; until then it holds the query's slot.
        let slot = in_flight::current();
        tokio::spawn(async move {
            let _slot = slot;
            let _ = conn.await;
        });
        let request = Request::get(path)
            .header("host", host)
            .header("accept", "application/json")
            .header("x-slurm-user-name", user)
            .header("x-slurm-user-token", token)
            .body(Empty::<Bytes>::new())
            .map_err(|e| SourceError::Connection(format!("bad request for {path}: {e}")))?;
        let resp = sender
            .send_request(request)
            .await
            .map_err(|e| SourceError::Connection(format!("GET {path}: {e}")))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(Answer::Ok(resp));
        }
        if status == StatusCode::NOT_MODIFIED && allow_not_modified {
            return Ok(Answer::NotModified);
        }
        if status == StatusCode::NOT_FOUND {
            return Ok(Answer::VersionGone);
        }
        let body = body_snippet(resp).await;
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(SourceError::Auth(format!(
                "slurmrestd answered {status} for {path}: {body}"
            )));
        }
        Err(SourceError::Connection(format!(
            "slurmrestd answered {status} for {path}: {body}"
        )))
    }

    async fn connect(&self) -> Result<(String, BoxedIo), SourceError> {
        match &self.endpoint {
            RestEndpoint::Tcp { authority } => {
                let stream = tokio::net::TcpStream::connect(authority.as_str())
                    .await
                    .map_err(|e| SourceError::Connection(format!("connect to {authority}: {e}")))?;
                let _ = stream.set_nodelay(true);
                Ok((authority.clone(), BoxedIo::Tcp(TokioIo::new(stream))))
            }
            RestEndpoint::Unix { path } => {
                let stream = tokio::net::UnixStream::connect(path).await.map_err(|e| {
                    SourceError::Connection(format!("connect to {}: {e}", path.display()))
                })?;
                Ok(("localhost".to_string(), BoxedIo::Unix(TokioIo::new(stream))))
            }
        }
    }
}

/// Read buffer of one response, which bounds its status line and headers:
/// hyper's default (8 KiB + 400 KiB); slurmrestd sends a handful of short headers.
const MAX_RESPONSE_HEAD_BYTES: usize = 8192 + 4096 * 100;

const VERSION_GONE: &str = "slurmrestd no longer offers";

fn version_gone(what: &str) -> SourceError {
    SourceError::Connection(format!(
        "{VERSION_GONE} {what} (404); detecting the API version again"
    ))
}

fn cached_jobs(cache: &mut Option<JobsCache>) -> Result<Arc<Jobs>, SourceError> {
    match cache.as_mut() {
        Some(c) => {
            c.reuses += 1;
            Ok(c.jobs.clone())
        }
        None => Err(SourceError::Connection(
            "no previous job list to reuse".into(),
        )),
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// TCP or unix stream, so one request path serves both.
enum BoxedIo {
    Tcp(TokioIo<tokio::net::TcpStream>),
    Unix(TokioIo<tokio::net::UnixStream>),
}

macro_rules! delegate {
    ($self:ident, $inner:ident => $e:expr) => {
        match $self.get_mut() {
            BoxedIo::Tcp($inner) => $e,
            BoxedIo::Unix($inner) => $e,
        }
    };
}

impl hyper::rt::Read for BoxedIo {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        delegate!(self, io => std::pin::Pin::new(io).poll_read(cx, buf))
    }
}

impl hyper::rt::Write for BoxedIo {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        delegate!(self, io => std::pin::Pin::new(io).poll_write(cx, buf))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        delegate!(self, io => std::pin::Pin::new(io).poll_flush(cx))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        delegate!(self, io => std::pin::Pin::new(io).poll_shutdown(cx))
    }
}

#[cfg(test)]
#[path = "rest_tests.rs"]
mod tests;

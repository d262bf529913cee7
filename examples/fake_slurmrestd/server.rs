//! A fake slurmrestd on 127.0.0.1 serving a `synth` output directory for one API
//! version, so the exporter's REST source runs unchanged against a synthetic
//! cluster. `main.rs` runs it as a process; tests include this file with
//! `#[path = "../examples/fake_slurmrestd/server.rs"] mod server;` and run it
//! in-process, so it depends only on std and the crate's dependencies.
//!
//! What it imitates of slurmrestd (22.05 recorded in tests/fixtures/slurm-22.05,
//! later versions from SchedMD's openapi plugins):
//! - authentication runs first: without `X-SLURM-USER-NAME` and `X-SLURM-USER-TOKEN`
//!   every path answers 401 `Authentication failure`;
//! - a version it does not serve, or a path it does not know, answers 404 with
//!   22.05's text (the exporter probes versions newest first with `/ping`);
//! - `GET /slurm/{v}/jobs?update_time=T` when no job changed since T: v0.0.38
//!   answers `304 NOT MODIFIED`; data_parser versions (v0.0.39+) answer 200 with an
//!   empty `jobs` list and the warning `No job changes since update_time=T`;
//! - bodies are streamed from the files, never loaded whole.
//!
//! Requests are counted per path (`update_time` requests apart); `GET /fake/stats`
//! returns the counts as `count path` lines, without authentication.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::TryStreamExt;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

/// What one directory serves: read from its `.rest` file (`api v0.0.38`,
/// `last_update 1796000000`), written by the generator.
pub struct Config {
    pub dir: PathBuf,
    /// The one API version served (`v0.0.38`).
    pub api: String,
    /// When the synthetic jobs last changed (seconds since the epoch).
    pub last_update: i64,
    /// Jobs change all the time (a busy cluster): `update_time` never matches.
    pub busy: bool,
}

impl Config {
    pub fn load(dir: PathBuf, busy: bool) -> std::io::Result<Config> {
        let text = std::fs::read_to_string(dir.join(".rest"))?;
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
                .ok_or_else(|| std::io::Error::other(format!(".rest has no {key}")))
        };
        let api = field("api ")?;
        let last_update = field("last_update ")?
            .parse()
            .map_err(|e| std::io::Error::other(format!(".rest last_update: {e}")))?;
        Ok(Config {
            dir,
            api,
            last_update,
            busy,
        })
    }
}

/// Requests per path.
#[derive(Default)]
pub struct Stats(Mutex<BTreeMap<String, u64>>);

impl Stats {
    fn count(&self, key: String) {
        if let Ok(mut m) = self.0.lock() {
            *m.entry(key).or_default() += 1;
        }
    }

    /// `count path` lines, sorted by path.
    pub fn render(&self) -> String {
        match self.0.lock() {
            Ok(m) => m.iter().map(|(k, v)| format!("{v} {k}\n")).collect(),
            Err(_) => String::new(),
        }
    }
}

type Body = BoxBody<Bytes, std::io::Error>;

/// Accepts connections until the listener fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: Arc<Config>,
    stats: Arc<Stats>,
) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let config = config.clone();
        let stats = stats.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let config = config.clone();
                let stats = stats.clone();
                async move { Ok::<_, Infallible>(answer(req, &config, &stats).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut resp = Response::new(
        Full::new(Bytes::from(body.to_string()))
            .map_err(|never| match never {})
            .boxed(),
    );
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain"),
    );
    resp
}

fn json(body: Body) -> Response<Body> {
    let mut resp = Response::new(body);
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

const NOT_FOUND: &str = "Unable find requested URL. Please view /openapi/v3 for API reference.";

/// The file holding the answer to `/{api}/{version}/{endpoint}`.
fn file_for(api: &str, endpoint: &str) -> Option<&'static str> {
    Some(match (api, endpoint) {
        ("slurm", "ping") => "ping.json",
        ("slurm", "jobs") => "squeue.json",
        ("slurm", "nodes") => "nodes.json",
        ("slurm", "partitions") => "partitions.json",
        ("slurm", "diag") => "diag.json",
        ("slurm", "licenses") => "licenses.json",
        ("slurm", "reservations") => "reservations.json",
        ("slurm", "shares") => "shares.json",
        ("slurmdb", "qos") => "qos.json",
        ("slurmdb", "associations") => "associations.json",
        ("slurmdb", "diag") => "slurmdb-diag.json",
        _ => return None,
    })
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

async fn answer(req: Request<Incoming>, config: &Config, stats: &Stats) -> Response<Body> {
    let path = req.uri().path().to_string();
    if path == "/fake/stats" {
        return text(StatusCode::OK, &stats.render());
    }
    let update_time = req.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("update_time="))
            .map(|v| v.parse::<i64>().unwrap_or(0))
    });
    stats.count(match update_time {
        Some(_) => format!("{path}?update_time"),
        None => path.clone(),
    });
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| !v.trim().is_empty())
    };
    if !header("x-slurm-user-name") || !header("x-slurm-user-token") {
        return text(StatusCode::UNAUTHORIZED, "Authentication failure");
    }
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let [api, version, endpoint] = parts[..] else {
        return text(StatusCode::NOT_FOUND, NOT_FOUND);
    };
    let Some(file) = file_for(api, endpoint).filter(|_| version == config.api) else {
        return text(StatusCode::NOT_FOUND, NOT_FOUND);
    };
    if endpoint == "jobs" {
        if let Some(since) = update_time {
            let changed_at = if config.busy {
                unix_now()
            } else {
                config.last_update
            };
            if since >= changed_at {
                return unchanged_jobs(config, since).await;
            }
        }
    }
    match tokio::fs::File::open(config.dir.join(file)).await {
        Ok(f) => {
            json(StreamBody::new(tokio_util::io::ReaderStream::new(f).map_ok(Frame::data)).boxed())
        }
        Err(_) => text(StatusCode::NOT_FOUND, NOT_FOUND),
    }
}

/// The answer to `jobs?update_time=T` when nothing changed since T.
async fn unchanged_jobs(config: &Config, since: i64) -> Response<Body> {
    if config.api == "v0.0.38" {
        let mut resp = text(StatusCode::NOT_MODIFIED, "");
        resp.headers_mut().remove(hyper::header::CONTENT_TYPE);
        return resp;
    }
    match tokio::fs::read_to_string(config.dir.join("squeue-unchanged.json")).await {
        Ok(doc) => json(
            Full::new(Bytes::from(doc.replace("UPDATE_TIME", &since.to_string())))
                .map_err(|never| match never {})
                .boxed(),
        ),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// Serves `dir` on 127.0.0.1 from a thread of its own for the rest of the process (for
/// tests); returns the port.
#[allow(dead_code)]
pub fn spawn(dir: &std::path::Path) -> u16 {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    listener
        .set_nonblocking(true)
        .unwrap_or_else(|e| panic!("{e}"));
    let port = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("{e}"))
        .port();
    let config = Config::load(dir.to_path_buf(), false).unwrap_or_else(|e| panic!(".rest: {e}"));
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(async move {
            let listener =
                tokio::net::TcpListener::from_std(listener).unwrap_or_else(|e| panic!("{e}"));
            let _ = serve(listener, Arc::new(config), Arc::new(Stats::default())).await;
        });
    });
    port
}

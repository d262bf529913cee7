//! HTTP: `/metrics` serves the latest snapshot (never calls Slurm), `/health`
//! says the process serves, `/ready` says whether the data is fresh, `/` is a
//! small landing page. `router` is a plain function so tests can call it without
//! a socket.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;

use crate::engine::Shared;
use crate::exposition::{encode, Format, OPENMETRICS_EOF};
use crate::snapshot::gzip;

/// Builds the router over the shared state.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/", get(landing))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(shared.clone(), record))
        .with_state(shared)
}

fn handler_label(path: &str) -> &'static str {
    match path {
        "/metrics" => "metrics",
        "/health" => "health",
        "/ready" => "ready",
        "/" => "landing",
        _ => "other",
    }
}

async fn record(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let handler = handler_label(request.uri().path());
    let started = Instant::now();
    let response = next.run(request).await;
    if let Ok(mut http) = shared.http.lock() {
        http.observe(
            handler,
            response.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    response
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|enc| {
            let mut parts = enc.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let q_zero = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    == Some(0.0)
            });
            name.eq_ignore_ascii_case("gzip") && !q_zero
        })
}

async fn metrics(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept);
    let gzipped = accepts_gzip(&headers);
    let snapshot = shared.snapshot.load_full();

    // Per-request part: HTTP and process metrics, small.
    let mut tail = String::new();
    let mut live = crate::process_metrics::families();
    if let Ok(http) = shared.http.lock() {
        live.extend(http.families());
    }
    encode(&live, format, &mut tail);
    if format == Format::OpenMetrics {
        tail.push_str(OPENMETRICS_EOF);
    }
    let tail = if gzipped {
        gzip(tail.as_bytes())
    } else {
        Bytes::from(tail)
    };
    let chunks = [snapshot.body(format, gzipped), tail];
    let stream = futures_util::stream::iter(chunks.map(Ok::<Bytes, std::convert::Infallible>));
    let mut response = Response::new(Body::from_stream(stream));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Encoding"),
    );
    if gzipped {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

async fn health() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        "{\"status\":\"ok\"}\n",
    )
}

/// Whether the data is fresh enough to be trusted, and why not.
pub fn readiness(shared: &Shared) -> (bool, serde_json::Value) {
    let snapshot = shared.snapshot.load();
    let max_age = shared.interval * shared.ready_max_intervals;
    let mut problems = Vec::new();
    let collectors: Vec<serde_json::Value> = snapshot
        .collectors
        .iter()
        .map(|c| {
            let age = c.last_success.map(|t| t.elapsed());
            match age {
                None => problems.push(format!("{}: no successful collection yet", c.name)),
                Some(a) if a > max_age => problems.push(format!(
                    "{}: last success {:.0}s ago (limit {}s)",
                    c.name,
                    a.as_secs_f64(),
                    max_age.as_secs()
                )),
                _ => {}
            }
            serde_json::json!({
                "collector": c.name,
                "up": c.up,
                "last_success_age_seconds": age.map(|a| a.as_secs_f64()),
                "error": c.last_error,
            })
        })
        .collect();
    if snapshot.collectors.is_empty() {
        problems.push("no collection has finished yet".to_string());
    }
    let ready = problems.is_empty();
    let body = serde_json::json!({
        "ready": ready,
        "reasons": problems,
        "collectors": collectors,
    });
    (ready, body)
}

async fn ready(State(shared): State<Arc<Shared>>) -> Response {
    let (ok, body) = readiness(&shared);
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{body}\n"),
    )
        .into_response()
}

async fn landing(State(shared): State<Arc<Shared>>) -> Html<String> {
    let snapshot = shared.snapshot.load();
    let mut rows = String::new();
    for c in &snapshot.collectors {
        let age = c
            .last_success
            .map(|t| format!("{:.0}s ago", t.elapsed().as_secs_f64()))
            .unwrap_or_else(|| "never".to_string());
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            c.name,
            if c.up { "up" } else { "down" },
            age,
            html_escape(c.last_error.as_deref().unwrap_or("")),
        ));
    }
    Html(format!(
        "<!doctype html><html><head><title>slurm-exporter</title></head><body>\n\
         <h1>slurm-exporter {version}</h1>\n\
         <p><a href=\"/metrics\">Metrics</a> · <a href=\"/health\">Health</a> · <a href=\"/ready\">Readiness</a></p>\n\
         <p>Collection interval {interval}s; {series} series in the last snapshot.</p>\n\
         <table border=\"1\"><tr><th>Collector</th><th>Status</th><th>Last success</th><th>Last error</th></tr>\n{rows}</table>\n\
         </body></html>\n",
        version = env!("CARGO_PKG_VERSION"),
        interval = shared.interval.as_secs(),
        series = snapshot.series,
    ))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

async fn not_found() -> impl IntoResponse {
    (StatusCode::NOT_FOUND, "not found\n")
}

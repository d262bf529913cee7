//! HTTP: `/metrics` serves the latest snapshot (never calls Slurm), `/health`
//! says the process serves and its collection loop still finishes collections,
//! `/ready` says whether the data is fresh, `/` is a small landing page. `router` is a plain function so tests can call it without
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

use crate::config::WebSettings;
use crate::engine::Shared;
use crate::exposition::{encode, Format, OPENMETRICS_EOF};
use crate::snapshot::Tail;
use crate::web::guard::Guard;
use crate::web::state::WebState;

/// Builds the router over the shared state, with default limits and no web config.
pub fn router(shared: Arc<Shared>) -> Router {
    let web = WebState::open(shared.clone());
    let guard = Guard::new(web, shared.clone(), &WebSettings::default());
    router_with(shared, guard)
}

/// Builds the router with the protections in `guard` (auth, limits), all
/// inside the `record` layer so that refused requests are counted too.
pub fn router_with(shared: Arc<Shared>, guard: Arc<Guard>) -> Router {
    let routes = Router::new()
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/", get(landing))
        .fallback(not_found);
    crate::web::guard::layer(routes, guard)
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

    let tail = tail(&shared, format);
    let chunks = snapshot.body_with_tail(format, gzipped, &tail);
    let stream = futures_util::stream::iter(
        chunks
            .into_iter()
            .map(Ok::<Bytes, std::convert::Infallible>),
    );
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

/// The per-request part of `/metrics` (HTTP, process and reload metrics, and the
/// OpenMetrics trailer), reused for `shared.tail_ttl` so bursts encode it once.
fn tail(shared: &Shared, format: Format) -> Arc<Tail> {
    let slot = usize::from(format == Format::OpenMetrics);
    if let Ok(cache) = shared.tail_cache.lock() {
        if let Some((at, tail)) = &cache[slot] {
            if at.elapsed() < shared.tail_ttl {
                return tail.clone();
            }
        }
    }
    let mut live = crate::process_metrics::families();
    if let Ok(http) = shared.http.lock() {
        live.extend(http.families());
    }
    if let Ok(reload) = shared.reload.lock() {
        live.extend(reload.families());
    }
    let mut text = String::new();
    encode(&live, format, &mut text);
    if format == Format::OpenMetrics {
        text.push_str(OPENMETRICS_EOF);
    }
    let tail = Arc::new(Tail::new(text));
    if let Ok(mut cache) = shared.tail_cache.lock() {
        cache[slot] = Some((Instant::now(), tail.clone()));
    }
    tail
}

/// 200 while the process serves and its collection loop finishes collections
/// (failed ones count: Slurm being down is `/ready`'s business); 503 with the
/// reason once none has finished for `Shared::wedged_after`, so a liveness probe
/// restarts a wedged exporter.
async fn health(State(shared): State<Arc<Shared>>) -> Response {
    let (status, body) = match shared.wedged() {
        None => (StatusCode::OK, serde_json::json!({"status": "ok"})),
        Some(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"status": "wedged", "reason": reason}),
        ),
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{body}\n"),
    )
        .into_response()
}

/// Whether the data is fresh enough to be trusted, and why not.
pub fn readiness(shared: &Shared) -> (bool, serde_json::Value) {
    let snapshot = shared.snapshot.load();
    let mut problems = Vec::new();
    let collectors: Vec<serde_json::Value> = snapshot
        .collectors
        .iter()
        .map(|c| {
            let max_age = shared.ready_max_age(c.interval);
            let age = c.last_success.map(|t| t.elapsed());
            match age {
                None => problems.push(format!(
                    "{}/{}: no successful collection yet",
                    c.cluster, c.name
                )),
                Some(a) if a > max_age => problems.push(format!(
                    "{}/{}: last success {:.0}s ago (limit {}s)",
                    c.cluster,
                    c.name,
                    a.as_secs_f64(),
                    max_age.as_secs()
                )),
                _ => {}
            }
            serde_json::json!({
                "cluster": c.cluster,
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
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            html_escape(&c.cluster),
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
         <table border=\"1\"><tr><th>Cluster</th><th>Collector</th><th>Status</th><th>Last success</th><th>Last error</th></tr>\n{rows}</table>\n\
         </body></html>\n",
        version = env!("CARGO_PKG_VERSION"),
        interval = shared.interval().as_secs(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{CollectorStatus, Part, Snapshot};
    use axum::http::Request as HttpRequest;
    use http_body_util::BodyExt;
    use std::io::Read;
    use std::time::Duration;
    use tower::ServiceExt;

    fn shared_with(status_up: bool) -> Arc<Shared> {
        let mut shared = Shared::new(Duration::from_secs(30), 3);
        // Each request sees the counts of the ones before it.
        shared.tail_ttl = Duration::ZERO;
        let shared = Arc::new(shared);
        let collectors = vec![CollectorStatus {
            name: "jobs",
            cluster: "lab".to_string(),
            up: status_up,
            last_success_unix: status_up.then_some(1.0),
            last_success: status_up.then(Instant::now),
            last_error: (!status_up).then(|| "squeue timed out".to_string()),
            interval: Duration::from_secs(30),
        }];
        let text = "# HELP slurm_up x\n# TYPE slurm_up gauge\nslurm_up 1\n".to_string();
        shared.snapshot.store(Arc::new(Snapshot::new(
            vec![Part::new(text.clone())],
            vec![Part::new(text)],
            1,
            1.0,
            collectors,
        )));
        shared
    }

    async fn call(
        shared: &Arc<Shared>,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut req = HttpRequest::get(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Body::empty()).unwrap_or_default();
        let resp = router(shared.clone())
            .oneshot(req)
            .await
            .unwrap_or_else(|e| match e {});
        let (parts, body) = resp.into_parts();
        let bytes = body
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .unwrap_or_default();
        (parts.status, parts.headers, bytes)
    }

    #[tokio::test]
    async fn metrics_in_both_formats_and_gzip() {
        let shared = shared_with(true);
        let (code, headers, body) = call(&shared, "/metrics", &[]).await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], Format::Text.content_type());
        let text = String::from_utf8_lossy(&body).into_owned();
        assert!(text.starts_with("# HELP slurm_up x\n"), "{text}");
        assert!(text.contains("process_resident_memory_bytes"));
        assert!(!text.contains("# EOF"));

        let om = "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3";
        let (_, headers, body) = call(&shared, "/metrics", &[("accept", om)]).await;
        assert_eq!(
            headers[header::CONTENT_TYPE],
            Format::OpenMetrics.content_type()
        );
        assert!(String::from_utf8_lossy(&body).ends_with("# EOF\n"));

        let (_, headers, body) =
            call(&shared, "/metrics", &[("accept-encoding", "gzip, deflate")]).await;
        assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
        let mut unzipped = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut unzipped)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(unzipped.starts_with("# HELP slurm_up x\n"));
        assert!(
            unzipped
                .contains("slurm_exporter_http_requests_total{handler=\"metrics\",code=\"200\"} 2"),
            "{unzipped}"
        );
    }

    #[tokio::test]
    async fn health_ready_landing_and_404() {
        let shared = shared_with(false);
        assert_eq!(call(&shared, "/health", &[]).await.0, StatusCode::OK);
        let (code, _, body) = call(&shared, "/ready", &[]).await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(body["ready"], false);
        assert_eq!(body["collectors"][0]["error"], "squeue timed out");
        let (code, _, body) = call(&shared, "/", &[]).await;
        assert_eq!(code, StatusCode::OK);
        let page = String::from_utf8_lossy(&body);
        assert!(page.contains("href=\"/metrics\"") && page.contains("squeue timed out"));
        assert_eq!(call(&shared, "/nope", &[]).await.0, StatusCode::NOT_FOUND);

        let shared = shared_with(true);
        assert_eq!(call(&shared, "/ready", &[]).await.0, StatusCode::OK);
        let (_, _, body) = call(&shared, "/metrics", &[]).await;
        let text = String::from_utf8_lossy(&body);
        assert!(
            text.contains("slurm_exporter_http_requests_total{handler=\"ready\",code=\"200\"} 1"),
            "{text}"
        );
    }

    /// The collection loop stops finishing collections (a task gone, a call that
    /// blocks a runtime thread): `/health` turns 503 with the reason, and back to
    /// 200 once a collection finishes.
    #[tokio::test]
    async fn health_fails_when_no_collection_finishes() {
        let mut shared = Shared::new(Duration::from_secs(30), 3);
        let limit = shared.wedged_after();
        assert_eq!(limit, Duration::from_secs(30 * 5 + 30));
        let Some(long_ago) = Instant::now().checked_sub(limit + Duration::from_secs(1)) else {
            panic!("the monotonic clock is too young for this test");
        };
        shared.started = long_ago;
        let shared = Arc::new(shared);
        let (code, _, body) = call(&shared, "/health", &[]).await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(body["status"], "wedged");
        let reason = body["reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains("no collection has finished for"),
            "{reason}"
        );
        // A collection finishing long ago counts the same.
        *shared
            .last_collection
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(long_ago);
        assert_eq!(
            call(&shared, "/health", &[]).await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        *shared
            .last_collection
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        assert_eq!(call(&shared, "/health", &[]).await.0, StatusCode::OK);
    }

    #[test]
    fn gzip_negotiation() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0"),
        );
        assert!(!accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("deflate, GZIP"),
        );
        assert!(accepts_gzip(&h));
    }
}

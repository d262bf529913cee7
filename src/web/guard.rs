//! Per-request protections, as axum middleware around the routes (inside the
//! `record` layer, so 401, 413, 429 and 503 answers are counted like any other):
//! configured response headers → per-IP rate limit → basic auth → concurrency
//! slots (wait, then 503) → request body limit.
//!
//! Authentication comes before the slots so that a client without valid
//! credentials never holds one (bcrypt waits cost it, not the scrapers), and
//! `/health` never takes a slot: a liveness probe must not wait behind scrapes.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http_body_util::BodyExt;
use tokio::sync::Semaphore;

use super::auth::Denied;
use super::state::WebState;
use crate::config::WebSettings;
use crate::engine::Shared;

/// Request bodies above this are refused: every endpoint is a GET.
pub const MAX_BODY_BYTES: usize = 1024;
/// How long a request waits for a concurrency slot before a 503.
pub const QUEUE_TIMEOUT: Duration = Duration::from_secs(5);

/// Shared state of the per-request protections.
pub struct Guard {
    pub web: Arc<WebState>,
    shared: Arc<Shared>,
    health_unauthenticated: bool,
    slots: Arc<Semaphore>,
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
}

impl Guard {
    pub fn new(web: Arc<WebState>, shared: Arc<Shared>, settings: &WebSettings) -> Arc<Guard> {
        let limiter = (settings.rate_limit > 0.0)
            .then(|| Quota::with_period(Duration::from_secs_f64(1.0 / settings.rate_limit)))
            .flatten()
            .map(|q| {
                let burst = NonZeroU32::new(settings.rate_limit_burst).unwrap_or(NonZeroU32::MIN);
                RateLimiter::keyed(q.allow_burst(burst))
            });
        Arc::new(Guard {
            web,
            shared,
            health_unauthenticated: settings.health_unauthenticated,
            slots: Arc::new(Semaphore::new(settings.max_concurrent_requests.max(1))),
            limiter,
            clock: DefaultClock::default(),
        })
    }

    /// Forgets clients whose bucket is full again, so the map stays small.
    pub fn housekeeping(&self) {
        if let Some(l) = &self.limiter {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }

    fn count(&self, f: impl FnOnce(&mut crate::self_metrics::HttpStats)) {
        if let Ok(mut http) = self.shared.http.lock() {
            f(&mut http);
        }
    }
}

/// Wraps `routes` in the protections, outermost first as listed in the module doc.
pub fn layer<S: Clone + Send + Sync + 'static>(routes: Router<S>, guard: Arc<Guard>) -> Router<S> {
    routes
        .layer(middleware::from_fn(body_limit))
        .layer(middleware::from_fn_with_state(guard.clone(), concurrency))
        .layer(middleware::from_fn_with_state(guard.clone(), auth))
        .layer(middleware::from_fn_with_state(guard.clone(), rate_limit))
        .layer(middleware::from_fn_with_state(guard, headers))
}

async fn headers(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let active = guard.web.current();
    let mut response = next.run(request).await;
    for (name, value) in &active.headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

async fn rate_limit(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let (Some(limiter), Some(ip)) = (&guard.limiter, peer) {
        if let Err(not_until) = limiter.check_key(&ip) {
            let wait = not_until.wait_time_from(guard.clock.now());
            let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
            guard.count(|h| h.rate_limited += 1);
            tracing::debug!(client = %ip, "rate limited");
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, seconds.to_string())],
                "too many requests\n",
            )
                .into_response();
        }
    }
    next.run(request).await
}

async fn concurrency(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    if request.uri().path() == "/health" {
        return next.run(request).await;
    }
    match tokio::time::timeout(QUEUE_TIMEOUT, guard.slots.clone().acquire_owned()).await {
        Ok(Ok(_permit)) => next.run(request).await,
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            "too many concurrent requests\n",
        )
            .into_response(),
    }
}

async fn body_limit(request: Request, next: Next) -> Response {
    let too_large = || (StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n").into_response();
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return too_large();
    }
    if axum::body::HttpBody::size_hint(request.body()).exact() == Some(0) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    match http_body_util::Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => {
            next.run(Request::from_parts(parts, Body::from(collected.to_bytes())))
                .await
        }
        Err(_) => too_large(),
    }
}

async fn auth(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    if guard.health_unauthenticated && request.uri().path() == "/health" {
        return next.run(request).await;
    }
    let Some(auth) = guard.web.current().auth.clone() else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    match auth.check(given, peer.map(|p| p.ip())).await {
        Ok(()) => next.run(request).await,
        Err(Denied::Throttled) => {
            guard.count(|h| h.auth_failure(Denied::Throttled.reason()));
            tracing::debug!(client = ?peer, "too many password checks pending");
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, "1")],
                "too many password checks pending\n",
            )
                .into_response()
        }
        Err(denied) => {
            guard.count(|h| h.auth_failure(denied.reason()));
            tracing::debug!(client = ?peer, reason = denied.reason(), "unauthorized");
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"))],
                "Unauthorized\n",
            )
                .into_response()
        }
    }
}

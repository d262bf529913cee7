//! The accept loop (instead of `axum::serve`, which has no TLS, header timeout or
//! size limits): TCP → optional TLS handshake with a timeout (plain HTTP on a TLS
//! port gets a 400; client certificates are checked here) → hyper HTTP/1 with a
//! header read timeout and a 16 KiB header limit → the router, with the peer
//! address as `ConnectInfo`. Shutdown stops accepting, then lets in-flight
//! connections finish for at most `shutdown_grace`.
//!
//! An accepted connection needs a slot of `conns::ConnLimits` (overall and for
//! its client IP); without one it is closed at once, unserved, so a flood holds
//! at most the cap's descriptors, never the ones collection needs, and the
//! listen backlog keeps draining (clients get a prompt close, not a hanging
//! connect). Refusals and accept errors are counted and logged once per `LOG_EVERY`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

use super::conns::{ConnLimits, ConnPermit, LogEvery, Refused};
use super::state::WebState;
use super::tls::TlsState;
use crate::engine::Shared;

/// Largest request head (request line and headers) accepted; hyper answers 431 above.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Connection-level limits.
#[derive(Debug, Clone, Copy)]
pub struct ServerSettings {
    /// Time for a client to send its request head (and, with TLS, to finish the handshake).
    pub header_read_timeout: Duration,
    /// How long in-flight connections may run on after shutdown begins.
    pub shutdown_grace: Duration,
    /// Connections open at once (already lowered to keep the descriptor reserve).
    pub max_connections: usize,
    /// Connections open at once from one client IP.
    pub max_connections_per_ip: usize,
}

/// At most one log line per this interval for refused connections, and one for accept errors.
const LOG_EVERY: Duration = Duration::from_secs(10);

const PLAIN_HTTP_ON_TLS: &[u8] = b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    web: Arc<WebState>,
    shared: Arc<Shared>,
    settings: ServerSettings,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let limits = Arc::new(ConnLimits::new(
        settings.max_connections,
        settings.max_connections_per_ip,
    ));
    if let Ok(mut http) = shared.http.lock() {
        http.connections_limit = Some(limits.cap() as u64);
    }
    let mut refusals = LogEvery::new(LOG_EVERY);
    let mut accept_errors = LogEvery::new(LOG_EVERY);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    count_refused(&shared, "accept_error");
                    if let Some(n) = accept_errors.hit(Instant::now()) {
                        tracing::warn!(error = %e, errors = n, "accept failed (count since the last such line)");
                    }
                    // Out of file descriptors and the like: wait instead of spinning.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let admitted = limits
            .slot()
            .ok_or(Refused::Limit)
            .and_then(|slot| limits.admit(slot, peer.ip()));
        let permit = match admitted {
            Ok(p) => p,
            Err(refused) => {
                drop(stream);
                count_refused(&shared, refused.reason());
                if let Some(n) = refusals.hit(Instant::now()) {
                    tracing::warn!(
                        reason = refused.reason(),
                        client = %peer,
                        refused = n,
                        open = limits.open(),
                        limit = limits.cap(),
                        per_ip_limit = settings.max_connections_per_ip,
                        "refusing connections: connection limit reached (refused: count since the last such line)"
                    );
                }
                continue;
            }
        };
        set_open(&shared, &limits);
        let _ = stream.set_nodelay(true);
        let connection = Connection {
            router: router.clone(),
            tls: web.current().tls.clone(),
            shared: shared.clone(),
            settings,
            peer,
            permit,
            limits: limits.clone(),
        };
        tokio::spawn(connection.run(stream, graceful.watcher()));
    }
    drop(listener);
    if tokio::time::timeout(settings.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace = %humantime::format_duration(settings.shutdown_grace),
            "connections still open after the shutdown grace period; closing them"
        );
    }
}

struct Connection {
    router: Router,
    tls: Option<Arc<TlsState>>,
    shared: Arc<Shared>,
    settings: ServerSettings,
    peer: SocketAddr,
    permit: ConnPermit,
    limits: Arc<ConnLimits>,
}

fn count_refused(shared: &Shared, reason: &'static str) {
    if let Ok(mut http) = shared.http.lock() {
        *http.connections_refused.entry(reason).or_insert(0) += 1;
    }
}

fn set_open(shared: &Shared, limits: &ConnLimits) {
    if let Ok(mut http) = shared.http.lock() {
        http.connections_open = limits.open() as u64;
    }
}

impl Connection {
    async fn run(self, stream: TcpStream, watcher: Watcher) {
        let (shared, limits) = (self.shared.clone(), self.limits.clone());
        let permit = self.serve(stream, watcher).await;
        drop(permit);
        set_open(&shared, &limits);
    }

    /// Serves the connection; returns its permit so the caller frees it after.
    async fn serve(self, stream: TcpStream, watcher: Watcher) -> ConnPermit {
        let permit = self.permit;
        let peer = self.peer;
        let router = self.router;
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request.map(Body::new))
        });
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.settings.header_read_timeout)
            .max_buf_size(MAX_HEADER_BYTES);
        let result = match &self.tls {
            None => {
                watcher
                    .watch(builder.serve_connection(TokioIo::new(stream), service))
                    .await
            }
            Some(tls) => {
                let timeout = self.settings.header_read_timeout;
                let Some(tls_stream) = handshake(stream, tls, &self.shared, peer, timeout).await
                else {
                    return permit;
                };
                watcher
                    .watch(builder.serve_connection(TokioIo::new(tls_stream), service))
                    .await
            }
        };
        if let Err(e) = result {
            tracing::debug!(client = %peer, error = %e, "connection ended with an error");
        }
        permit
    }
}

fn count(shared: &Shared, reason: &'static str) {
    if let Ok(mut http) = shared.http.lock() {
        http.auth_failure(reason);
    }
}

/// The TLS handshake, bounded by `timeout`; `None` when the connection is refused.
async fn handshake(
    mut stream: TcpStream,
    tls: &TlsState,
    shared: &Shared,
    peer: SocketAddr,
    timeout: Duration,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let attempt = async {
        let mut first = [0u8; 1];
        // A TLS connection starts with a handshake record (0x16); anything else is
        // most likely plain HTTP, which gets a readable answer instead of garbage.
        match stream.peek(&mut first).await {
            Ok(0) | Err(_) => return Err(None),
            Ok(_) if first[0] != 0x16 => {
                let _ = stream.write_all(PLAIN_HTTP_ON_TLS).await;
                let _ = stream.shutdown().await;
                return Err(None);
            }
            Ok(_) => {}
        }
        let acceptor = tokio_rustls::TlsAcceptor::from(tls.server_config.clone());
        acceptor.accept(stream).await.map_err(Some)
    };
    let error = match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok(tls_stream)) => {
            if client_allowed(&tls_stream, &tls.allowed_sans) {
                return Some(tls_stream);
            }
            tracing::info!(client = %peer, "client certificate SAN not in client_allowed_sans");
            count(shared, "tls_handshake");
            return None;
        }
        Ok(Err(None)) => return None,
        Ok(Err(Some(e))) => e,
        Err(_) => std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out"),
    };
    let no_cert = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|e| matches!(e, rustls::Error::NoCertificatesPresented));
    let reason = if no_cert {
        "no_client_certificate"
    } else {
        "tls_handshake"
    };
    tracing::debug!(client = %peer, error = %error, reason, "TLS handshake failed");
    count(shared, reason);
    None
}

fn client_allowed(stream: &tokio_rustls::server::TlsStream<TcpStream>, allowed: &[String]) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let Some(cert) = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
    else {
        return false;
    };
    super::tls::subject_alt_names(cert)
        .iter()
        .any(|san| allowed.contains(san))
}

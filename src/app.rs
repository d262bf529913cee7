//! Wiring: config → source → engine (background) + web config (reloaded) + HTTP
//! server, until shutdown.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::config::Config;
use crate::engine::{Engine, Shared};
use crate::reload::{self, Loader};
use crate::web::guard::Guard;
use crate::web::server::ServerSettings;
use crate::web::state::WebState;

/// Runs the exporter on `listener` until `shutdown` completes.
/// `loader` is used again on SIGHUP (and every `watch_interval` when the file changed).
pub async fn run(
    listener: TcpListener,
    loader: Loader,
    config: Config,
    watch_interval: Option<std::time::Duration>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let shared = Arc::new(Shared::new(config.interval, config.ready_max_intervals));
    reload::record_initial(&shared, &config);
    let web = web_state(&config, &shared)?;
    let engine = Engine::new(&config, shared.clone())?;
    let (config_tx, config_rx) = tokio::sync::watch::channel(Arc::new(config.clone()));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut engine_stop = stop_rx.clone();
    let engine_task = tokio::spawn(engine.run(config_rx, async move {
        let _ = engine_stop.wait_for(|stop| *stop).await;
    }));
    let mut reload_stop = stop_rx.clone();
    let reload_task = tokio::spawn(reload::run(
        loader,
        config.clone(),
        config_tx,
        shared.clone(),
        watch_interval,
        async move {
            let _ = reload_stop.wait_for(|stop| *stop).await;
        },
    ));
    tracing::info!(
        address = %listener.local_addr()?,
        tls = web.current().tls.is_some(),
        basic_auth = web.current().auth.is_some(),
        clusters = config.clusters.iter().map(|c| format!("{}:{:?}", c.name.as_deref().unwrap_or("(ClusterName)"), c.source)).collect::<Vec<_>>().join(",").as_str(),
        interval = %humantime::format_duration(config.interval),
        collectors = config.collectors.iter().map(|c| c.name).collect::<Vec<_>>().join(",").as_str(),
        "slurm-exporter listening"
    );
    let guard = Guard::new(web.clone(), shared.clone(), &config.web);
    let router = crate::http::router_with(shared.clone(), guard.clone());
    let mut watch_stop = stop_rx.clone();
    let watch_task = tokio::spawn(web.clone().watch(async move {
        let _ = watch_stop.wait_for(|stop| *stop).await;
    }));
    let housekeeping = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            guard.housekeeping();
        }
    });
    let mut http_stop = stop_rx;
    let settings = ServerSettings {
        header_read_timeout: config.web.header_read_timeout,
        shutdown_grace: SHUTDOWN_GRACE,
        max_connections: connection_cap(config.web.max_connections),
        max_connections_per_ip: config.web.max_connections_per_ip,
    };
    let server_task = tokio::spawn(crate::web::server::serve(
        listener,
        router,
        web,
        shared,
        settings,
        async move {
            let _ = http_stop.wait_for(|stop| *stop).await;
        },
    ));
    shutdown.await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    let _ = engine_task.await;
    let _ = reload_task.await;
    let _ = watch_task.await;
    housekeeping.abort();
    server_task.await?;
    Ok(())
}

/// How long in-flight requests may run on after SIGTERM.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// `--web.max-connections`, lowered so that `FD_RESERVE` descriptors stay free
/// for collection whatever the clients do; the soft descriptor limit is raised
/// to the hard one first.
fn connection_cap(wanted: usize) -> usize {
    use crate::web::conns::{effective_cap, raise_fd_limit, FD_RESERVE};
    let Some(fd_limit) = raise_fd_limit() else {
        tracing::warn!(
            max_connections = wanted,
            "cannot read the file descriptor limit"
        );
        return wanted;
    };
    let cap = effective_cap(wanted, fd_limit);
    if cap < wanted {
        tracing::warn!(
            max_connections = wanted,
            fd_limit,
            reserve = FD_RESERVE,
            effective = cap,
            "connection limit lowered to keep file descriptors for collection"
        );
    } else {
        tracing::info!(max_connections = cap, fd_limit, "connection limit");
    }
    cap
}

/// The web config in force: loaded from `web.config_file`, or plain HTTP without one.
fn web_state(config: &Config, shared: &Arc<Shared>) -> anyhow::Result<Arc<WebState>> {
    match &config.web.config_file {
        Some(path) => Ok(WebState::load(path, shared.clone())?),
        None => Ok(WebState::open(shared.clone())),
    }
}

/// Completes on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Sets up logging in the configured format and level.
pub fn init_logging(config: &Config) {
    use tracing_subscriber::prelude::*;
    let filter =
        tracing_subscriber::EnvFilter::new(format!("{},hyper=warn,axum=warn", config.log_level));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match config.log_format {
        crate::config::LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        crate::config::LogFormat::Logfmt => registry
            .with(
                tracing_logfmt::builder()
                    .layer()
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    if let Err(e) = result {
        eprintln!("logging already initialised: {e}");
    }
}

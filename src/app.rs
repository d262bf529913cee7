//! Wiring: config → source → engine (background) + HTTP server, until shutdown.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::config::Config;
use crate::engine::{Engine, Shared};
use crate::reload::{self, Loader};

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
        source = ?config.source,
        interval = %humantime::format_duration(config.interval),
        collectors = config.collectors.iter().map(|c| c.name).collect::<Vec<_>>().join(",").as_str(),
        "slurm-exporter listening"
    );
    let mut http_stop = stop_rx;
    let server =
        axum::serve(listener, crate::http::router(shared)).with_graceful_shutdown(async move {
            let _ = http_stop.wait_for(|stop| *stop).await;
        });
    let server_task = tokio::spawn(async move { server.await });
    shutdown.await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    let _ = engine_task.await;
    let _ = reload_task.await;
    server_task.await??;
    Ok(())
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

//! Wiring: config → source → engine (background) + HTTP server, until shutdown.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::config::{Config, SourceKind};
use crate::engine::{Engine, Shared};
use crate::source::cli::CliSource;
use crate::source::rest::{RestSource, TokenSource};
use crate::source::Source;

/// Builds the configured source.
pub fn source(config: &Config) -> anyhow::Result<Source> {
    match config.source {
        SourceKind::Cli => Ok(Source::Cli(CliSource::new(
            config.bin_dir.clone(),
            config.timeout,
            config.cli_json.clone(),
        ))),
        SourceKind::Rest => {
            let endpoint = config
                .rest_endpoint
                .clone()
                .context("slurm.rest_url is required for the rest source")?;
            let token = match &config.jwt_file {
                Some(path) => TokenSource::File(path.clone()),
                None => TokenSource::Value(
                    std::env::var("SLURM_JWT")
                        .context("SLURM_JWT is not set and no slurm.jwt_file given")?,
                ),
            };
            Ok(Source::Rest(RestSource::new(
                endpoint,
                token,
                config.user.clone(),
            )))
        }
    }
}

/// Runs the exporter on `listener` until `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let shared = Arc::new(Shared::new(config.interval, config.ready_max_intervals));
    let engine = Engine::new(
        source(&config)?,
        config.collectors.clone(),
        config.cluster_name.clone(),
        config.timeout,
        shared.clone(),
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut engine_stop = stop_rx.clone();
    let engine_task = tokio::spawn(engine.run(async move {
        let _ = engine_stop.wait_for(|stop| *stop).await;
    }));
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

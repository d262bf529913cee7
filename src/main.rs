//! Entry point: parse flags, load and validate config, run until SIGTERM/SIGINT.

use std::process::ExitCode;

use slurm_exporter::app;
use slurm_exporter::cli::{self, Invocation};
use slurm_exporter::config::{Config, RawConfig};
use slurm_exporter::reload::Loader;

/// Counts the heap, for the cap on it while Slurm's output is read
/// (`model::caps::MAX_HEAP_BYTES`).
#[global_allocator]
static GLOBAL: slurm_exporter::malloc::Counting = slurm_exporter::malloc::Counting;

fn main() -> ExitCode {
    slurm_exporter::malloc::tune();
    let invocation = match cli::parse(std::env::args_os()) {
        Ok(inv) => inv,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let jwt_in_env = std::env::var_os("SLURM_JWT").is_some();
    match invocation {
        Invocation::CheckConfig { file } => {
            match RawConfig::from_file(&file).and_then(|raw| Config::from_raw(raw, jwt_in_env)) {
                Ok(c) => {
                    println!(
                        "{}: OK (clusters {}, interval {}, collectors {})",
                        file.display(),
                        c.clusters
                            .iter()
                            .map(|c| format!(
                                "{}:{:?}",
                                c.name.as_deref().unwrap_or("(ClusterName)"),
                                c.source
                            ))
                            .collect::<Vec<_>>()
                            .join(","),
                        humantime::format_duration(c.interval),
                        c.collectors
                            .iter()
                            .map(|c| c.name)
                            .collect::<Vec<_>>()
                            .join(",")
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
        Invocation::Serve {
            config_file,
            watch_interval,
            flags,
        } => {
            let loader = Loader {
                file: config_file,
                flags: *flags,
                jwt_in_env,
            };
            let config = match loader.load() {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("invalid configuration: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let watch_interval = match watch_interval
                .as_deref()
                .map(slurm_exporter::config::watch_interval)
                .transpose()
            {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("invalid configuration: {e}");
                    return ExitCode::FAILURE;
                }
            };
            app::init_logging(&config);
            match serve(loader, config, watch_interval) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = format!("{e:#}").as_str(), "slurm-exporter failed");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn serve(
    loader: Loader,
    config: Config,
    watch_interval: Option<std::time::Duration>,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.listen_address).await?;
        app::run(
            listener,
            loader,
            config,
            watch_interval,
            app::shutdown_signal(),
        )
        .await
    });
    // Dropping the runtime would wait for every blocking task, however stuck (a
    // read on a hung mount): give them a moment, then exit regardless.
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN_TIMEOUT);
    result
}

/// How long blocking tasks may run on once the server has stopped.
const RUNTIME_SHUTDOWN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

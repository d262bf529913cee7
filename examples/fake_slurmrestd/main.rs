//! A fake slurmrestd for benchmarks: serves a `synth` output directory (written
//! with `--rest`) on 127.0.0.1 and stops by itself after `--max-seconds`.
//!
//! `fake_slurmrestd --dir DIR [--port 0] [--max-seconds 900] [--busy]`
//!
//! Prints `listening 127.0.0.1:PORT` on stdout once it accepts connections (port 0
//! picks a free one), and the request counts per path on stderr when it stops
//! (SIGTERM, SIGINT or the time limit). `--busy`: jobs change all the time, so
//! `jobs?update_time=` always gets the full list (a large cluster's normal case).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

mod server;

struct Args {
    dir: PathBuf,
    port: u16,
    max_seconds: u64,
    busy: bool,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        dir: PathBuf::new(),
        port: 0,
        max_seconds: 900,
        busy: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--dir" => a.dir = PathBuf::from(value()?),
            "--port" => a.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--max-seconds" => {
                a.max_seconds = value()?
                    .parse()
                    .map_err(|e| format!("--max-seconds: {e}"))?
            }
            "--busy" => a.busy = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.dir.as_os_str().is_empty() {
        return Err("--dir is required".into());
    }
    Ok(a)
}

async fn run() -> Result<(), String> {
    let args = args()?;
    let config = server::Config::load(args.dir.clone(), args.busy)
        .map_err(|e| format!("{}: {e}", args.dir.display()))?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| format!("bind 127.0.0.1:{}: {e}", args.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening {addr}");
    let _ = std::io::stdout().flush();
    let stats = Arc::new(server::Stats::default());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    let result = tokio::select! {
        r = server::serve(listener, Arc::new(config), stats.clone()) => r.map_err(|e| e.to_string()),
        _ = tokio::time::sleep(Duration::from_secs(args.max_seconds)) => {
            eprintln!("fake_slurmrestd: --max-seconds {} reached, stopping", args.max_seconds);
            Ok(())
        }
        _ = term.recv() => Ok(()),
        _ = tokio::signal::ctrl_c() => Ok(()),
    };
    eprint!("{}", stats.render());
    result
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fake_slurmrestd: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

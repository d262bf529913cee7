//! Scrape-latency benchmark client: C concurrent keep-alive connections send N
//! requests in total to one URL on 127.0.0.1 and report latency percentiles.
//!
//! Two ways to be concurrent:
//! - back-to-back (default): each connection sends its next request as soon as the
//!   last one is answered, so C requests are always in flight (a load generator);
//! - `--together`: the C scrapers send in rounds, all at the same instant, and the
//!   next round starts when every one was answered (C Prometheus servers whose
//!   scrapes coincide; the slowest of each burst is the tail).
//!
//! `cargo run --release --example scrape -- --port 10341 --concurrency 50 --requests 2000 [--gzip] [--together] [--path /metrics]`
//! Each connection's first request is a warm-up, not counted.
//! Prints one line: `concurrency=C requests=N ok=… p50_ms=… p90_ms=… p99_ms=… max_ms=… bytes=…`.

use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::Request;
use hyper_util::rt::TokioIo;

struct Args {
    port: u16,
    concurrency: usize,
    requests: usize,
    gzip: bool,
    together: bool,
    path: String,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        port: 10341,
        concurrency: 1,
        requests: 100,
        gzip: false,
        together: false,
        path: "/metrics".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => a.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--concurrency" => {
                a.concurrency = value()?
                    .parse()
                    .map_err(|e| format!("--concurrency: {e}"))?
            }
            "--requests" => {
                a.requests = value()?.parse().map_err(|e| format!("--requests: {e}"))?
            }
            "--path" => a.path = value()?,
            "--gzip" => a.gzip = true,
            "--together" => a.together = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

/// One connection sending `n` requests one after another; latencies and body bytes.
async fn worker(
    port: u16,
    path: String,
    gzip: bool,
    n: usize,
    rounds: Option<std::sync::Arc<tokio::sync::Barrier>>,
) -> Result<(Vec<Duration>, usize), String> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut latencies = Vec::with_capacity(n);
    let mut bytes = 0;
    // One more request than measured: the first on each connection (the server's
    // first sight of it, buffers growing) is a warm-up, as a scraper keeps its
    // connection from one scrape to the next.
    for i in 0..=n {
        if let Some(barrier) = &rounds {
            barrier.wait().await;
        }
        let mut req = Request::get(path.as_str()).header("host", "127.0.0.1");
        if gzip {
            req = req.header("accept-encoding", "gzip");
        }
        let req = req.body(Empty::<Bytes>::new()).map_err(|e| e.to_string())?;
        let started = Instant::now();
        let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("status {}", resp.status()));
        }
        // Read to the last byte without gathering the body: a latency benchmark
        // should not time the client copying half a megabyte per response.
        let mut body = resp.into_body();
        let mut received = 0;
        while let Some(frame) = body.frame().await {
            if let Some(data) = frame.map_err(|e| e.to_string())?.data_ref() {
                received += data.len();
            }
        }
        if i > 0 {
            latencies.push(started.elapsed());
        }
        bytes = received;
    }
    Ok((latencies, bytes))
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("scrape: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let per = args.requests.div_ceil(args.concurrency.max(1));
    let rounds = args
        .together
        .then(|| std::sync::Arc::new(tokio::sync::Barrier::new(args.concurrency.max(1))));
    let tasks: Vec<_> = (0..args.concurrency)
        .map(|_| {
            tokio::spawn(worker(
                args.port,
                args.path.clone(),
                args.gzip,
                per,
                rounds.clone(),
            ))
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    let mut bytes = 0;
    // A failed connection leaves the others waiting for its round: give up then.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    for t in tasks {
        match tokio::time::timeout_at(deadline, t).await {
            Ok(Ok(Ok((l, b)))) => {
                all.extend(l);
                bytes = b;
            }
            Ok(Ok(Err(e))) => {
                errors += 1;
                eprintln!("scrape: {e}");
            }
            Ok(Err(e)) => {
                errors += 1;
                eprintln!("scrape: {e}");
            }
            Err(_) => {
                errors += 1;
                eprintln!("scrape: gave up after 300 s");
            }
        }
    }
    all.sort();
    println!(
        "concurrency={} requests={} ok={} errors={} p50_ms={:.2} p90_ms={:.2} p99_ms={:.2} max_ms={:.2} bytes={}",
        args.concurrency,
        args.concurrency * per,
        all.len(),
        errors,
        percentile(&all, 0.50),
        percentile(&all, 0.90),
        percentile(&all, 0.99),
        percentile(&all, 1.0),
        bytes
    );
    if errors > 0 {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    }
}

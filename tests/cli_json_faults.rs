//! `squeue --json` (`--slurm.cli-json=jobs`) misbehaving, with the fake commands of
//! tests/support/fake-slurm.sh: truncated JSON is a `parse` error that leaves the last
//! good jobs in place; ~200 MB of valid JSON is parsed as a stream, with the exporter's
//! peak memory far below the document's size.

mod common;

use std::time::{Duration, Instant};

use common::{peak_rss, value, Exporter, FakeSlurm};

fn jobs_up(m: &str) -> Option<f64> {
    value(m, "slurm_exporter_collector_up", &[("collector", "jobs")])
}

fn errors(m: &str, reason: &str) -> f64 {
    value(
        m,
        "slurm_exporter_collection_errors_total",
        &[("collector", "jobs"), ("reason", reason)],
    )
    .unwrap_or(0.0)
}

fn start(fake: &FakeSlurm, extra_env: &[(&str, &str)], args: &[&str]) -> Exporter {
    let bin = format!("--slurm.bin-dir={}", fake.bin_dir().display());
    let mut all = vec![bin.as_str(), "--slurm.cli-json=jobs"];
    all.extend_from_slice(args);
    let envs = fake.envs();
    let mut envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    envs.extend_from_slice(extra_env);
    Exporter::start(&all, &envs, fake.bin_dir().join("exporter.log"))
}

#[test]
fn truncated_json_is_a_parse_error_and_the_last_jobs_stay() {
    let fake = FakeSlurm::new();
    let exporter = start(
        &fake,
        &[],
        &[
            "--collection.interval=1s",
            "--collection.timeout=800ms",
            "--collection.ready-max-intervals=2",
        ],
    );
    let good = exporter.wait_for("jobs up", Duration::from_secs(10), |m| {
        jobs_up(m) == Some(1.0)
    });
    // squeue.json: 16 records, 6 of them running.
    let running = value(&good, "slurm_jobs", &[("state", "running")]);
    assert_eq!(running, Some(6.0), "{good}");
    assert!(fake.calls().iter().any(|c| c == "squeue --json"));

    fake.set_mode("squeue", "truncated-json");
    let m = exporter.wait_for("parse error", Duration::from_secs(10), |m| {
        jobs_up(m) == Some(0.0) && errors(m, "parse") >= 1.0
    });
    assert_eq!(value(&m, "slurm_jobs", &[("state", "running")]), running);
    for other in ["timeout", "connection", "auth", "command"] {
        assert_eq!(errors(&m, other), 0.0, "{other}");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (code, body) = exporter.get("/ready");
        if code == 503 {
            assert!(body.contains("jobs: last success"), "{body}");
            break;
        }
        assert!(Instant::now() < deadline, "/ready stayed {code}: {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let logs = exporter.logs();
    let line = logs
        .lines()
        .find(|l| l.contains("query=jobs") && l.contains("reason=parse"))
        .unwrap_or_else(|| panic!("no warning:\n{logs}"));
    assert!(line.contains("level=warn"), "{line}");

    fake.set_mode("squeue", "ok");
    exporter.wait_for("recovery", Duration::from_secs(10), |m| {
        jobs_up(m) == Some(1.0)
    });
    assert_eq!(exporter.get("/ready").0, 200);
    assert!(!exporter.logs().contains("panicked"));
}

#[test]
fn huge_json_is_streamed_with_bounded_memory() {
    const JOBS: u64 = 60_000;
    let fake = FakeSlurm::new();
    fake.set_mode("squeue", "huge-json");
    // 60,000 copies of the first recorded job (3.6 KB each): 218 MB of JSON. A debug
    // build parses it in ~40 s on a 2-core machine: the timeout leaves room.
    let jobs = JOBS.to_string();
    let exporter = start(
        &fake,
        &[("FAKE_SLURM_HUGE_JOBS", &jobs)],
        &["--collection.interval=100s", "--collection.timeout=90s"],
    );
    let m = exporter.wait_for("jobs parsed", Duration::from_secs(100), |m| {
        jobs_up(m).is_some()
            && value(
                m,
                "slurm_exporter_collections_total",
                &[("collector", "jobs")],
            ) >= Some(1.0)
    });
    assert_eq!(jobs_up(&m), Some(1.0), "{}", exporter.logs());
    // The first record is job 1, COMPLETED.
    assert_eq!(
        value(&m, "slurm_jobs", &[("state", "completed")]),
        Some(JOBS as f64)
    );
    let peak = peak_rss(exporter.child.id());
    eprintln!(
        "peak RSS while parsing 60,000 jobs of squeue --json: {:.1} MiB",
        peak as f64 / 1048576.0
    );
    assert!(peak < 150 * 1024 * 1024, "peak RSS {peak} bytes");
    assert!(!exporter.logs().contains("panicked"));
}

//! The exporter's peak memory with hostile JSON that stays within every cap of
//! `model::caps` (issue 14 item 2): Slurm's output may fill the documents to their
//! caps with what costs the most memory once parsed, and the process must stay
//! under the 256 MiB of deploy/kubernetes (asserted: 200 MiB). The fake commands of
//! tests/support/fake-slurm.sh print generated documents (`gen` mode), streamed.
//!
//! `SLURM_EXPORTER_BIN` runs another build (the release binary, for the figures of
//! docs/operations.md, "Output caps").

mod common;

use std::time::{Duration, Instant};

use common::{peak_rss, value, FakeSlurm};

/// The bound asserted on the exporter's peak RSS (the Deployment allows 256 MiB).
const PEAK_RSS_BOUND: u64 = 200 << 20;

/// 128 MiB (the nodes document's cap) less a little for the envelope.
const DOC_BYTES: u64 = (128 << 20) - 4096;

fn errors(m: &str, collector: &str, reason: &str) -> f64 {
    value(
        m,
        "slurm_exporter_collection_errors_total",
        &[("collector", collector), ("reason", reason)],
    )
    .unwrap_or(0.0)
}

fn up(m: &str, collector: &str) -> Option<f64> {
    value(
        m,
        "slurm_exporter_collector_up",
        &[("collector", collector)],
    )
}

/// Fake commands whose `command` prints what the shell script `gen` prints.
fn fake_with(gens: &[(&str, &str)]) -> FakeSlurm {
    let fake = FakeSlurm::new();
    let script = common::repo().join("tests/support/fake-slurm.sh");
    for (command, gen) in gens {
        let link = fake.bin_dir().join(command);
        if !link.exists() {
            std::os::unix::fs::symlink(&script, &link).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(fake.bin_dir().join(format!("gen-{command}")), gen)
            .unwrap_or_else(|e| panic!("{e}"));
        fake.set_mode(command, "gen");
    }
    fake
}

/// Waits until `collector` was read at least `times` times (up or failed with
/// `too_large`, nothing else), then checks the peak RSS and that it still serves.
fn run(fake: &FakeSlurm, args: &[&str], collectors: &[&str], label: &str) {
    let exporter = fake.start_exporter(args);
    let started = Instant::now();
    let m = exporter.wait_for(label, Duration::from_secs(120), |m| {
        collectors.iter().all(|c| {
            let failed = errors(m, c, "too_large");
            up(m, c) == Some(1.0) || failed >= 1.0
        })
    });
    for c in collectors {
        for other in ["timeout", "parse", "command", "connection"] {
            assert_eq!(
                errors(&m, c, other),
                0.0,
                "{c} {other}: {}",
                exporter.logs()
            );
        }
    }
    let peak = peak_rss(exporter.child.id());
    let outcome: Vec<String> = collectors
        .iter()
        .map(|c| match up(&m, c) {
            Some(1.0) => format!("{c} up"),
            _ => format!("{c} too_large"),
        })
        .collect();
    eprintln!(
        "{label}: exporter peak RSS {:.1} MiB ({}; {:.1} s)",
        peak as f64 / f64::from(1 << 20),
        outcome.join(", "),
        started.elapsed().as_secs_f64()
    );
    assert!(
        peak < PEAK_RSS_BOUND,
        "{label}: peak RSS {peak} bytes (bound {PEAK_RSS_BOUND})\n{}",
        exporter.logs()
    );
    assert_eq!(exporter.get("/health").0, 200);
    assert!(!exporter.logs().contains("panicked"));
}

/// `sinfo --json` (22.05's nodes document, `--slurm.cli-json=nodes`) whose
/// `warnings` fill the document's cap with empty strings: 3 bytes each, 32 as a
/// `serde_json::Value` (the first pass held them so, ~1.5 GiB at the peak).
#[test]
fn a_128_mib_envelope_costs_no_memory() {
    let gen = format!(
        "printf '{{\"meta\": {{\"plugin\": {{\"type\": \"openapi/v0.0.38\"}}}}, \"warnings\": ['\n\
         yes '\"\",' | head -c {} | tr -d '\\n'\n\
         printf '\"\"], \"errors\": [], \"nodes\": []}}\\n'\n",
        DOC_BYTES / 3 * 4
    );
    let fake = fake_with(&[("sinfo", &gen)]);
    run(
        &fake,
        &[
            "--slurm.cli-json=nodes",
            "--collection.timeout=60s",
            "--collection.interval=60s",
        ],
        &["nodes"],
        "128 MiB of warnings",
    );
}

/// Every cap at its limit at once: a 500,000-job `squeue --json` whose jobs all
/// have their own user and account, and a 128 MiB nodes document whose nodes
/// each list 4,096 partitions, read concurrently.
#[test]
fn the_largest_documents_at_once_stay_under_the_bound() {
    let jobs = "awk 'BEGIN { printf \"{\\\"jobs\\\": [\"; \
        for (i = 0; i < 500000; i++) printf \"%s{\\\"job_id\\\":%d,\\\"job_state\\\":[\\\"RUNNING\\\"],\
\\\"partition\\\":\\\"p%d\\\",\\\"user_name\\\":\\\"u%d\\\",\\\"account\\\":\\\"a%d\\\",\\\"cpus\\\":1}\", \
        (i ? \",\" : \"\"), i, i % 4096, i, i; print \"]}\" }'\n";
    let nodes = format!(
        "awk 'BEGIN {{ p = \"\\\"a\\\"\"; for (i = 1; i < 4096; i++) p = p \",\\\"p\" i \"\\\"\"; \
        n = int({DOC_BYTES} / (length(p) + 60)); printf \"{{\\\"nodes\\\": [\"; \
        for (i = 0; i < n; i++) printf \"%s{{\\\"name\\\":\\\"n%d\\\",\\\"state\\\":[\\\"IDLE\\\"],\\\"partitions\\\":[%s]}}\", \
        (i ? \",\" : \"\"), i, p; print \"]}}\" }}'\n"
    );
    let fake = fake_with(&[("squeue", jobs), ("sinfo", &nodes)]);
    run(
        &fake,
        &[
            "--slurm.cli-json=jobs,nodes",
            "--collection.timeout=60s",
            "--collection.interval=60s",
        ],
        &["jobs", "nodes"],
        "500,000 jobs and 128 MiB of nodes",
    );
}

/// The most nodes a document may hold (32,768), whose cost comes after the parse
/// (a dozen series each, encoded in two formats), and 500,000 jobs of a few users
/// at the same time.
#[test]
fn the_most_nodes_and_jobs_stay_under_the_bound() {
    let nodes = "awk 'BEGIN { printf \"{\\\"nodes\\\": [\"; \
        for (i = 0; i < 32768; i++) printf \"%s{\\\"name\\\":\\\"node%06d\\\",\\\"state\\\":[\\\"MIXED\\\",\\\"DRAIN\\\"],\\\"partitions\\\":[\\\"p%d\\\"],\\\"cpus\\\":64,\\\"alloc_cpus\\\":3,\\\"real_memory\\\":1000,\\\"reason\\\":\\\"r%d\\\",\\\"gres\\\":\\\"gpu:a100:4\\\"}\", \
        (i ? \",\" : \"\"), i, i % 1024, i; print \"]}\" }'\n";
    let jobs = "awk 'BEGIN { printf \"{\\\"jobs\\\": [\"; \
        for (i = 0; i < 500000; i++) printf \"%s{\\\"job_id\\\":%d,\\\"job_state\\\":[\\\"PENDING\\\"],\\\"partition\\\":\\\"p%d\\\",\\\"user_name\\\":\\\"u%d\\\",\\\"account\\\":\\\"a%d\\\",\\\"cpus\\\":1}\", \
        (i ? \",\" : \"\"), i, i % 1024, i % 1000, i % 100; print \"]}\" }'\n";
    let fake = fake_with(&[("sinfo", nodes), ("squeue", jobs)]);
    run(
        &fake,
        &[
            "--slurm.cli-json=jobs,nodes",
            "--collection.timeout=60s",
            "--collection.interval=60s",
        ],
        &["jobs", "nodes"],
        "32,768 nodes and 500,000 jobs",
    );
}

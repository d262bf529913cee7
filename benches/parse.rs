//! Parsing throughput of every input form the exporter reads, per Slurm version
//! and scale point (issue 8): the default text forms (`squeue -O`, `scontrol -d -o
//! show node`, `scontrol -o show partition`, `sdiag`) and the JSON documents
//! (`squeue --json` / REST `/jobs`, `sinfo --json` / REST `/nodes`).
//!
//! `cargo bench --bench parse` (S1 and S2; `SLURM_BENCH_S3=1` adds S3). Under
//! `cargo test` each case runs once, at S1 only.

use std::io::BufRead;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use slurm_exporter::model::{json, text, ParseError};

mod common;
use common::{Cluster, Form};

/// The exporter's allocator (it counts the heap), so the figures include its cost.
#[global_allocator]
static GLOBAL: slurm_exporter::malloc::Counting = slurm_exporter::malloc::Counting;

/// The parser the exporter runs on `form`, fed as the sources feed it (a
/// `&mut dyn BufRead`); returns how many records it read.
fn parse(form: Form, mut input: &[u8]) -> Result<usize, ParseError> {
    let reader: &mut dyn BufRead = &mut input;
    Ok(match form {
        Form::SqueueText => text::parse_squeue(reader)?.jobs.len(),
        Form::NodesText => text::parse_scontrol_nodes(reader)?.nodes.len(),
        Form::PartitionsText => text::parse_scontrol_partitions(reader)?.partitions.len(),
        Form::SdiagText => usize::from(text::parse_sdiag(reader)?.server_thread_count.is_some()),
        Form::JobsJson => json::parse_jobs(reader)?.data.jobs.len(),
        Form::NodesJson => json::parse_nodes(reader)?.data.nodes.len(),
    })
}

fn bench_parse(c: &mut Criterion) {
    for cluster in common::clusters() {
        for form in Form::ALL {
            if !form.versioned() && cluster.version != common::TEXT_VERSION {
                continue;
            }
            let Some(input) = cluster.input(form) else {
                continue;
            };
            check(&cluster, form, input);
            let mut group = c.benchmark_group(format!("parse/{}", form.name()));
            common::configure(&mut group);
            group.throughput(Throughput::Bytes(input.len() as u64));
            group.bench_with_input(
                BenchmarkId::new(cluster.version, cluster.scale.name),
                input,
                |b, input| common::iter(b, || parse(form, input)),
            );
            group.finish();
        }
    }
}

/// A benchmark of a parser that fails or reads nothing would measure an early exit.
fn check(cluster: &Cluster, form: Form, input: &[u8]) {
    match parse(form, input) {
        Ok(n) if n > 0 => {}
        other => panic!(
            "{} {} {}: the generated input does not parse: {other:?}",
            form.name(),
            cluster.version,
            cluster.scale.name
        ),
    }
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);

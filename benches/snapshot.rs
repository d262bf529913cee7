//! Snapshot building per scale point (issue 8): the default collectors run over
//! the parsed model, their families are encoded as Prometheus text and
//! OpenMetrics, each part is compressed once, and the snapshot is assembled,
//! through the functions the engine calls (`engine::render`).
//!
//! - `snapshot/collect`: the collectors alone (model -> families);
//! - `snapshot/build`: collectors, both encodings, DEFLATE and assembly: one
//!   collection's CPU after the data is parsed;
//! - `collection/cli_text`, `collection/cli_json`, `collection/rest`: parsing
//!   the inputs of one collection (the default text forms; jobs and nodes as
//!   JSON; every slurmrestd document, per Slurm version) plus `snapshot/build`:
//!   the exporter's own CPU per collection without the commands' processes,
//!   pipes or HTTP.
//!
//! The text forms are the same for every version, so `snapshot/*` and
//! `collection/cli_text` run on 22.05's. `cargo bench --bench snapshot` (S1 and S2;
//! `SLURM_BENCH_S3=1` adds S3); under `cargo test`, S1 once.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use slurm_exporter::collectors::{self, CollectorDef, Context};
use slurm_exporter::engine::render::{self, States};
use slurm_exporter::exposition::Format;
use slurm_exporter::model::{
    json, text, ClusterInfo, ControllerData, DbdStatus, ParseError, SlurmData,
};

mod common;
use common::{Cluster, Form};

/// The collectors enabled without configuration.
fn default_collectors() -> Vec<&'static CollectorDef> {
    collectors::ALL
        .iter()
        .filter(|c| c.enabled_by_default)
        .collect()
}

/// How a collection reads jobs and nodes.
#[derive(Clone, Copy)]
enum Source {
    /// The default: `squeue -O` and `scontrol -d -o show node` text.
    Text,
    /// `--slurm.cli-json=jobs,nodes`: `squeue --json` and the nodes document
    /// (`sinfo --json` of 22.05, `scontrol show node --json` of 23.02+).
    Json,
    /// `--slurm.source=rest`: every document from slurmrestd, the whole job list
    /// included (as when jobs changed since the last collection).
    Rest,
}

/// One collection's data, parsed from the generated outputs.
fn parse(cluster: &Cluster, source: Source) -> Result<SlurmData, ParseError> {
    if let Source::Rest = source {
        return parse_rest(cluster);
    }
    let (nodes, jobs) = match source {
        Source::Text => (
            text::parse_scontrol_nodes(input(cluster, Form::NodesText))?,
            text::parse_squeue(input(cluster, Form::SqueueText))?,
        ),
        Source::Json | Source::Rest => (
            json::parse_nodes(input(cluster, Form::NodesJson))?.data,
            json::parse_jobs(input(cluster, Form::JobsJson))?.data,
        ),
    };
    let partitions = text::parse_scontrol_partitions(input(cluster, Form::PartitionsText))?;
    let diag = text::parse_sdiag(input(cluster, Form::SdiagText))?;
    let controllers = ControllerData {
        controllers: text::parse_scontrol_ping(file(cluster, "scontrol-ping.txt"))?,
        info: text::parse_scontrol_config(file(cluster, "scontrol-show-config.txt"))?,
    };
    let licenses = text::parse_scontrol_licenses(file(cluster, "scontrol-show-license.txt"))?;
    let reservations =
        text::parse_scontrol_reservations(file(cluster, "scontrol-show-reservation.txt"))?;
    Ok(SlurmData {
        nodes: Some(Arc::new(nodes)),
        partitions: Some(Arc::new(partitions)),
        jobs: Some(Arc::new(jobs)),
        diag: Some(Arc::new(diag)),
        controllers: Some(Arc::new(controllers)),
        licenses: Some(Arc::new(licenses)),
        reservations: Some(Arc::new(reservations)),
        dbd: Some(Arc::new(DBD_UP)),
        ..SlurmData::default()
    })
}

/// One collection's data as the REST source reads it.
fn parse_rest(cluster: &Cluster) -> Result<SlurmData, ParseError> {
    let ping = json::parse_ping(file(cluster, "ping.json"))?;
    let controllers = ControllerData {
        controllers: ping.data,
        info: ClusterInfo {
            cluster_name: ping.meta.cluster,
            version: ping.meta.release,
        },
    };
    Ok(SlurmData {
        nodes: Some(Arc::new(
            json::parse_nodes(input(cluster, Form::NodesJson))?.data,
        )),
        jobs: Some(Arc::new(
            json::parse_jobs(input(cluster, Form::JobsJson))?.data,
        )),
        partitions: Some(Arc::new(
            json::parse_partitions(file(cluster, "partitions.json"))?.data,
        )),
        diag: Some(Arc::new(json::parse_diag(file(cluster, "diag.json"))?.data)),
        controllers: Some(Arc::new(controllers)),
        licenses: Some(Arc::new(
            json::parse_licenses(file(cluster, "licenses.json"))?.data,
        )),
        reservations: Some(Arc::new(
            json::parse_reservations(file(cluster, "reservations.json"))?.data,
        )),
        dbd: Some(Arc::new(DBD_UP)),
        ..SlurmData::default()
    })
}

/// The slurmdbd probe parses nothing (sacctmgr's output and slurmrestd's answer
/// are only checked for errors).
const DBD_UP: DbdStatus = DbdStatus::Probed {
    up: true,
    latency_seconds: Some(0.2),
};

fn file<'a>(cluster: &'a Cluster, name: &str) -> &'a [u8] {
    cluster.file(name).unwrap_or_else(|| {
        panic!(
            "{} {}: the generator gave no {name}",
            cluster.version, cluster.scale.name
        )
    })
}

fn input(cluster: &Cluster, form: Form) -> &[u8] {
    cluster.input(form).unwrap_or_else(|| {
        panic!(
            "{} {}: the generator gave no {} input",
            cluster.version,
            cluster.scale.name,
            form.name()
        )
    })
}

fn bench_snapshot(c: &mut Criterion) {
    let collectors = default_collectors();
    let ctx = Context::new("bench", 1_796_000_000);
    for cluster in common::clusters() {
        let (version, scale) = (cluster.version, cluster.scale.name);
        // Stateful collectors (derived) are measured in their steady state: the
        // first collection, which only sets their baseline, happens here.
        let mut states = States::new();
        if version == common::TEXT_VERSION {
            let data = parse(&cluster, Source::Text)
                .unwrap_or_else(|e| panic!("{scale}: the generated text does not parse: {e}"));
            let snapshot = render::one_cluster(&collectors, &mut states, &data, &ctx);
            eprintln!(
                "{scale}: {} series, /metrics {} KiB as text",
                snapshot.series,
                snapshot.plain_len(Format::Text) / 1024
            );
            let mut group = c.benchmark_group("snapshot");
            common::configure(&mut group);
            group.bench_function(BenchmarkId::new("collect", scale), |b| {
                common::iter(b, || {
                    collectors
                        .iter()
                        .map(|def| render::collect(def, &mut states, &data, &ctx).len())
                        .sum::<usize>()
                })
            });
            group.bench_function(BenchmarkId::new("build", scale), |b| {
                common::iter(b, || {
                    render::one_cluster(&collectors, &mut states, &data, &ctx)
                })
            });
            group.finish();
            let mut group = c.benchmark_group("collection/cli_text");
            common::configure(&mut group);
            group.bench_function(BenchmarkId::new(version, scale), |b| {
                common::iter(b, || {
                    parse(&cluster, Source::Text)
                        .map(|data| render::one_cluster(&collectors, &mut states, &data, &ctx))
                })
            });
            group.finish();
        }
        for (name, source) in [("cli_json", Source::Json), ("rest", Source::Rest)] {
            if let Err(e) = parse(&cluster, source) {
                panic!("{name} {version} {scale}: the generated JSON does not parse: {e}");
            }
            let mut group = c.benchmark_group(format!("collection/{name}"));
            common::configure(&mut group);
            group.bench_function(BenchmarkId::new(version, scale), |b| {
                common::iter(b, || {
                    parse(&cluster, source)
                        .map(|data| render::one_cluster(&collectors, &mut states, &data, &ctx))
                })
            });
            group.finish();
        }
    }
}

criterion_group!(benches, bench_snapshot);
criterion_main!(benches);

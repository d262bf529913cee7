//! What the benchmarks share: the scale points of issue 8, synthetic clusters
//! generated in memory once per process by the generator of `examples/synth`,
//! and criterion settings that keep a run short.
//!
//! Which points run: under `cargo bench`, S1 and S2, plus S3 with
//! `SLURM_BENCH_S3=1` (0.27 to 0.95 GB of input per version); under `cargo test`
//! (criterion's test mode, each case once), S1 only, of the oldest and the
//! newest Slurm version. `SLURM_BENCH_VERSIONS=22.05,25.11` chooses the versions.
//!
//! Time is the benchmark thread's CPU time, not wall time: the targets of issue 8
//! are CPU budgets, and on a machine shared with other work the wall time of a
//! single-threaded parse grows with the load, its CPU time much less.
//! `SLURM_BENCH_WALL=1` measures wall time instead.

#![allow(dead_code)] // each bench uses its own part

use std::collections::BTreeMap;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{Bencher, BenchmarkGroup};
use nix::time::{clock_gettime, ClockId};

#[path = "../../examples/synth/gen.rs"]
mod gen;

/// A scale point of issue 8.
#[derive(Debug)]
pub struct Scale {
    pub name: &'static str,
    pub nodes: usize,
    pub jobs: usize,
}

pub const S1: Scale = Scale {
    name: "S1",
    nodes: 100,
    jobs: 1_000,
};
pub const S2: Scale = Scale {
    name: "S2",
    nodes: 1_000,
    jobs: 10_000,
};
pub const S3: Scale = Scale {
    name: "S3",
    nodes: 10_000,
    jobs: 100_000,
};

/// The version whose text forms are measured (the generator writes the same
/// text for every version).
pub const TEXT_VERSION: &str = "22.05";

/// Seed of every generated cluster, so runs compare.
const SEED: u64 = 1;

/// Whether criterion measures (`cargo bench`) rather than runs each case once
/// (`cargo test --benches`, `cargo bench -- --test`), by criterion's own rule.
pub fn measuring() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    has("--bench") && !has("--test") && !has("--list")
}

/// The scale points of this run.
pub fn scales() -> Vec<&'static Scale> {
    if !measuring() {
        return vec![&S1];
    }
    let mut scales = vec![&S1, &S2];
    if std::env::var("SLURM_BENCH_S3").is_ok_and(|v| v == "1") {
        scales.push(&S3);
    }
    scales
}

/// An input form the exporter parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Form {
    /// `squeue -h -t all -r -O` with `SQUEUE_FORMAT` (default source). The
    /// generator writes 22.05's text for every version (the forms the exporter
    /// reads did not change), so the text forms are measured once.
    SqueueText,
    /// `scontrol -d -o show node` (default source).
    NodesText,
    /// `scontrol -o show partition`.
    PartitionsText,
    /// `sdiag`.
    SdiagText,
    /// `squeue --json`, the same document as REST `/jobs`.
    JobsJson,
    /// REST `/nodes`; also `sinfo --json` of 22.05 and `scontrol show node
    /// --json` of 23.02+.
    NodesJson,
}

impl Form {
    pub const ALL: [Form; 6] = [
        Form::SqueueText,
        Form::NodesText,
        Form::PartitionsText,
        Form::SdiagText,
        Form::JobsJson,
        Form::NodesJson,
    ];

    /// Whether the form's bytes depend on the Slurm version.
    pub fn versioned(self) -> bool {
        matches!(self, Form::JobsJson | Form::NodesJson)
    }

    pub fn name(self) -> &'static str {
        match self {
            Form::SqueueText => "squeue_text",
            Form::NodesText => "scontrol_nodes_text",
            Form::PartitionsText => "scontrol_partitions_text",
            Form::SdiagText => "sdiag_text",
            Form::JobsJson => "jobs_json",
            Form::NodesJson => "nodes_json",
        }
    }

    /// The generated file holding this form.
    pub fn file(self) -> &'static str {
        match self {
            Form::SqueueText => "squeue.txt",
            Form::NodesText => "scontrol-show-node-detail.txt",
            Form::PartitionsText => "scontrol-show-partition.txt",
            Form::SdiagText => "sdiag.txt",
            Form::JobsJson => "squeue.json",
            Form::NodesJson => "nodes.json",
        }
    }
}

/// One synthetic cluster: what Slurm `version` prints at `scale`.
pub struct Cluster {
    pub scale: &'static Scale,
    pub version: &'static str,
    files: BTreeMap<&'static str, Vec<u8>>,
}

impl Cluster {
    pub fn input(&self, form: Form) -> Option<&[u8]> {
        self.file(form.file())
    }

    /// A generated file by the name `tests/support/fake-slurm.sh` serves it as.
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.files.get(name).map(Vec::as_slice)
    }
}

/// The Slurm versions the generator writes, oldest first: all, or those of
/// `SLURM_BENCH_VERSIONS`; under `cargo test`, the oldest and the newest.
pub fn versions() -> Vec<&'static str> {
    let all = gen::Version::ALL.map(gen::Version::name);
    match std::env::var("SLURM_BENCH_VERSIONS") {
        Ok(list) => all
            .into_iter()
            .filter(|v| list.split(',').any(|w| w.trim() == *v))
            .collect(),
        Err(_) if !measuring() => [all.first(), all.last()]
            .into_iter()
            .flatten()
            .copied()
            .collect(),
        Err(_) => all.to_vec(),
    }
}

/// Every cluster of this run, version by version and scale by scale, each
/// generated when the previous one is done with (S3 inputs are hundreds of MB).
pub fn clusters() -> impl Iterator<Item = Cluster> {
    versions()
        .into_iter()
        .flat_map(|v| scales().into_iter().map(move |s| generate(s, v)))
}

/// The clusters of one version, scale by scale.
pub fn clusters_of(version: &'static str) -> impl Iterator<Item = Cluster> {
    scales().into_iter().map(move |s| generate(s, version))
}

fn generate(scale: &'static Scale, version: &'static str) -> Cluster {
    let started = std::time::Instant::now();
    let slurm = gen::Version::parse(version)
        .unwrap_or_else(|| panic!("the generator writes no Slurm {version}"));
    let generated =
        gen::Cluster::generate(&gen::Scale::new(scale.nodes, scale.jobs, SEED).with_version(slurm));
    let mut files = BTreeMap::new();
    for file in gen::files(slurm)
        .into_iter()
        .filter(|f| WANTED.contains(&f.name))
    {
        let mut out = Vec::new();
        (file.write)(&generated, &mut out).unwrap_or_else(|e| {
            panic!("generating {} for {version} {}: {e}", file.name, scale.name)
        });
        files.insert(file.name, out);
    }
    eprintln!(
        "generated Slurm {version} {} ({} nodes, {} jobs) in {:.1} s: {}",
        scale.name,
        scale.nodes,
        scale.jobs,
        started.elapsed().as_secs_f64(),
        files
            .iter()
            .map(|(name, bytes)| format!("{name} {} KB", bytes.len() / 1000))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Cluster {
        scale,
        version,
        files,
    }
}

/// The generated files the benchmarks read: the forms, and the small outputs a
/// collection also needs.
const WANTED: &[&str] = &[
    "scontrol-show-node-detail.txt",
    "squeue.txt",
    "scontrol-show-partition.txt",
    "sdiag.txt",
    "squeue.json",
    "nodes.json",
    "scontrol-ping.txt",
    "scontrol-show-config.txt",
    "scontrol-show-license.txt",
    "scontrol-show-reservation.txt",
    "partitions.json",
    "diag.json",
    "ping.json",
    "licenses.json",
    "reservations.json",
];

/// Criterion settings for inputs of up to hundreds of MB: few samples, short
/// warm-up, so `cargo bench` at S1 and S2 stays within minutes.
pub fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
}

/// Runs `routine` as criterion asks, timing it by the thread's CPU clock (or
/// the wall clock with `SLURM_BENCH_WALL=1`).
pub fn iter<O>(b: &mut Bencher<'_, WallTime>, mut routine: impl FnMut() -> O) {
    if std::env::var("SLURM_BENCH_WALL").is_ok_and(|v| v == "1") {
        b.iter(routine);
        return;
    }
    b.iter_custom(|iters| {
        let start = thread_cpu();
        for _ in 0..iters {
            std::hint::black_box(routine());
        }
        thread_cpu().saturating_sub(start)
    });
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map(Duration::from)
        .unwrap_or_else(|e| panic!("clock_gettime(CLOCK_THREAD_CPUTIME_ID): {e}"))
}

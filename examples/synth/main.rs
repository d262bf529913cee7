//! Synthetic Slurm cluster for scale benchmarks: writes what Slurm would print for N
//! nodes and M jobs into a directory, in the file names `tests/support/fake-slurm.sh`
//! serves (so the exporter runs unchanged against fake commands), plus the JSON forms.
//!
//! `cargo run --release --example synth -- --nodes 10000 --jobs 100000 --seed 1 --out DIR [--json] [--slurm-version 22.05]`
//!
//! `--json` adds the JSON forms: `squeue --json`, the nodes document (`sinfo --json` in
//! 22.05, `scontrol show node --json` later) and every slurmrestd answer the exporter
//! reads, in the shape of `--slurm-version` (22.05 = v0.0.38 ... 25.11 = v0.0.44), plus
//! `.rest` for `examples/fake_slurmrestd`. The text forms are 22.05's in every case.
//!
//! The generation itself is in `gen.rs`, shared with the benches.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

mod gen;

struct Args {
    scale: gen::Scale,
    out: PathBuf,
    json: bool,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        scale: gen::Scale::new(100, 1000, 1),
        out: PathBuf::from("synth"),
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--nodes" => a.scale.nodes = value()?.parse().map_err(|e| format!("--nodes: {e}"))?,
            "--jobs" => a.scale.jobs = value()?.parse().map_err(|e| format!("--jobs: {e}"))?,
            "--seed" => a.scale.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--out" => a.out = PathBuf::from(value()?),
            "--json" => a.json = true,
            "--slurm-version" => {
                let name = value()?;
                a.scale.version = gen::Version::parse(&name).ok_or(format!(
                    "--slurm-version {name}: one of {}",
                    gen::Version::ALL.map(gen::Version::name).join(", ")
                ))?
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

fn run() -> Result<(), String> {
    let args = args()?;
    std::fs::create_dir_all(&args.out).map_err(|e| e.to_string())?;
    let cluster = gen::Cluster::generate(&args.scale);
    for file in gen::files(cluster.version) {
        if file.json && !args.json {
            continue;
        }
        let path = args.out.join(file.name);
        let mut w =
            BufWriter::new(File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?);
        (file.write)(&cluster, &mut w)
            .and_then(|()| w.flush())
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    std::fs::write(args.out.join(".complete"), gen::FORMAT).map_err(|e| e.to_string())?;
    eprintln!(
        "synthetic cluster: {} nodes, {} jobs (seed {}, Slurm {}) in {}",
        cluster.nodes.len(),
        cluster.jobs.len(),
        args.scale.seed,
        cluster.version.name(),
        args.out.display()
    );
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("synth: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

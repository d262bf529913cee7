//! The CLI source: Slurm's own commands, each query in its cheapest measured form
//! (see docs/performance notes): jobs from a fixed `squeue` text format, nodes and
//! partitions from `scontrol -o`, scheduler statistics from `sdiag`, the controller
//! from `scontrol ping` and `scontrol show config`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::command::{run, CommandSpec};
use super::{Fetched, SourceError};
use crate::config::JsonQuery;
use crate::model::{json, text, ControllerData, DataKind};

/// Runs Slurm commands found in `bin_dir` (or on `PATH`).
pub struct CliSource {
    bin_dir: Option<PathBuf>,
    timeout: Duration,
    json: Vec<JsonQuery>,
    /// Set once `scontrol` turned out to lack `--json` (22.05): use `sinfo --json`.
    nodes_json_via_sinfo: AtomicBool,
}

impl CliSource {
    pub fn new(bin_dir: Option<PathBuf>, timeout: Duration, json: Vec<JsonQuery>) -> CliSource {
        CliSource {
            bin_dir,
            timeout,
            json,
            nodes_json_via_sinfo: AtomicBool::new(false),
        }
    }

    fn spec(&self, program: &str, args: &[&str]) -> CommandSpec {
        let program = match &self.bin_dir {
            Some(dir) => dir.join(program),
            None => Path::new(program).to_path_buf(),
        };
        CommandSpec {
            program,
            args: args.iter().map(|a| a.to_string()).collect(),
            timeout: self.timeout,
            accept_failure_exit: false,
        }
    }

    pub async fn fetch(&self, kind: DataKind) -> Result<Fetched, SourceError> {
        match kind {
            DataKind::Nodes if self.json.contains(&JsonQuery::Nodes) => {
                self.nodes_json().await.map(Fetched::Nodes)
            }
            DataKind::Jobs if self.json.contains(&JsonQuery::Jobs) => {
                let spec = self.spec("squeue", &["--json"]);
                run(&spec, |r| json::parse_jobs(r).map(|r| r.data))
                    .await
                    .map(Fetched::Jobs)
            }
            DataKind::Nodes => {
                let spec = self.spec("scontrol", &["-o", "show", "node"]);
                run(&spec, |r| text::parse_scontrol_nodes(r))
                    .await
                    .map(Fetched::Nodes)
            }
            DataKind::Partitions => {
                let spec = self.spec("scontrol", &["-o", "show", "partition"]);
                run(&spec, |r| text::parse_scontrol_partitions(r))
                    .await
                    .map(Fetched::Partitions)
            }
            DataKind::Jobs => {
                let spec = self.spec(
                    "squeue",
                    &["-h", "-t", "all", "-r", "-o", text::SQUEUE_FORMAT],
                );
                run(&spec, |r| text::parse_squeue(r))
                    .await
                    .map(Fetched::Jobs)
            }
            DataKind::Diag => {
                let spec = self.spec("sdiag", &[]);
                run(&spec, |r| text::parse_sdiag(r))
                    .await
                    .map(|d| Fetched::Diag(Box::new(d)))
            }
            DataKind::Controllers => self.controllers().await.map(Fetched::Controllers),
        }
    }

    /// `scontrol show node --json` where it exists (23.02+); in 22.05 `sinfo --json`
    /// prints the same document as REST `/nodes` (later releases group it differently).
    async fn nodes_json(&self) -> Result<crate::model::Nodes, SourceError> {
        if !self.nodes_json_via_sinfo.load(Ordering::Relaxed) {
            let spec = self.spec("scontrol", &["show", "node", "--json"]);
            match run(&spec, |r| json::parse_nodes(r).map(|r| r.data)).await {
                Err(SourceError::Command(m)) if m.contains("unrecognized option") => {
                    tracing::info!(
                        "scontrol has no --json (Slurm 22.05); reading nodes with sinfo --json"
                    );
                    self.nodes_json_via_sinfo.store(true, Ordering::Relaxed);
                }
                other => return other,
            }
        }
        let spec = self.spec("sinfo", &["--json"]);
        run(&spec, |r| json::parse_nodes(r).map(|r| r.data)).await
    }

    async fn controllers(&self) -> Result<ControllerData, SourceError> {
        let mut ping = self.spec("scontrol", &["ping"]);
        ping.accept_failure_exit = true;
        let config = self.spec("scontrol", &["show", "config"]);
        let started = Instant::now();
        let (controllers, info) = tokio::join!(
            async {
                let r = run(&ping, |r| text::parse_scontrol_ping(r)).await;
                (r, started.elapsed())
            },
            run(&config, |r| text::parse_scontrol_config(r)),
        );
        let (controllers, elapsed) = controllers;
        let mut controllers = controllers?;
        if controllers.is_empty() {
            return Err(SourceError::Command(
                "scontrol ping reported no controller".into(),
            ));
        }
        // scontrol ping does not report a latency: use the round trip we saw.
        for c in controllers.iter_mut().filter(|c| c.up) {
            c.latency_seconds.get_or_insert(elapsed.as_secs_f64());
        }
        // The controller may be down while ping still answers; identity is optional then.
        let info = info.unwrap_or_default();
        Ok(ControllerData { controllers, info })
    }
}

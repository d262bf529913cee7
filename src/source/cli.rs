//! The CLI source: Slurm's own commands, each query in its cheapest measured form
//! (see docs/performance notes): jobs from a fixed `squeue` text format, nodes
//! (`-d`: with GRES in use) and partitions from `scontrol -o`, scheduler
//! statistics from `sdiag`, the controller
//! from `scontrol ping` and `scontrol show config`, licenses and reservations from
//! `scontrol -o show license|reservation`, fair share from `sshare -a -P -o`, QOS
//! limits from `sacctmgr -n -P show qos format=`, QOS and association usage (and the
//! association limits) from slurmctld's `scontrol -o show assoc_mgr`, slurmdbd
//! probed with `sacctmgr -n -P show cluster format=cluster`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::command::{run, CommandSpec};
use super::watermark::Watermark;
use super::{Fetched, SourceError};
use crate::config::JsonQuery;
use crate::model::{
    caps, dbd, json, text, Accounting, AcctJob, ControllerData, DataKind, DbdStatus,
};

/// `sacct -s`: the final states (selected by end time in the window) and RUNNING
/// (selected by start time: jobs that started in the window, and in 22.05 every
/// job still running).
const SACCT_STATES: &str = "BF,CA,CD,DL,F,NF,OOM,PR,TO,R";
/// The final states alone, for the memory read.
const SACCT_FINAL_STATES: &str = "BF,CA,CD,DL,F,NF,OOM,PR,TO";

/// Runs Slurm commands found in `bin_dir` (or on `PATH`).
pub struct CliSource {
    bin_dir: Option<PathBuf>,
    timeout: Duration,
    json: Vec<JsonQuery>,
    /// `SLURM_CONF` of the commands, to read a cluster other than this host's.
    slurm_conf: Option<PathBuf>,
    /// Set once `scontrol` turned out to lack `--json` (22.05): use `sinfo --json`.
    nodes_json_via_sinfo: AtomicBool,
    /// Set once a cluster without slurmdbd accounting was logged.
    dbd_not_configured_logged: AtomicBool,
    /// The last controller answer, to name the controllers (and keep the cluster
    /// identity) when they stop answering.
    last_controllers: Mutex<Option<ControllerData>>,
    /// How far slurmdbd's finished and started jobs have been read.
    watermark: Mutex<Watermark>,
}

impl CliSource {
    pub fn new(
        bin_dir: Option<PathBuf>,
        timeout: Duration,
        json: Vec<JsonQuery>,
        slurm_conf: Option<PathBuf>,
    ) -> CliSource {
        CliSource {
            bin_dir,
            timeout,
            json,
            slurm_conf,
            nodes_json_via_sinfo: AtomicBool::new(false),
            dbd_not_configured_logged: AtomicBool::new(false),
            last_controllers: Mutex::new(None),
            watermark: Mutex::new(super::new_watermark(Duration::ZERO, super::DEFAULT_WINDOW)),
        }
    }

    /// Where the accounting watermark starts (now minus `lookback`) and the
    /// longest window one read covers.
    pub fn with_accounting(self, lookback: Duration, max_window: Duration) -> CliSource {
        CliSource {
            watermark: Mutex::new(super::new_watermark(lookback, max_window)),
            ..self
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
            slurm_conf: self.slurm_conf.clone(),
            max_output: caps::MAX_TEXT_OUTPUT_BYTES,
        }
    }

    /// A command printing JSON: its document may be larger than text (`jobs`: the
    /// job list's cap, else the cap of other documents).
    fn json_spec(&self, program: &str, args: &[&str], max_output: u64) -> CommandSpec {
        CommandSpec {
            max_output,
            ..self.spec(program, args)
        }
    }

    pub async fn fetch(&self, kind: DataKind) -> Result<Fetched, SourceError> {
        match kind {
            DataKind::Nodes if self.json.contains(&JsonQuery::Nodes) => {
                self.nodes_json().await.map(Fetched::Nodes)
            }
            DataKind::Jobs if self.json.contains(&JsonQuery::Jobs) => {
                let spec = self.json_spec("squeue", &["--json"], caps::MAX_JOBS_JSON_BYTES);
                run(&spec, |r| json::parse_jobs(r).map(|r| r.data))
                    .await
                    .map(|jobs| Fetched::Jobs(Arc::new(jobs)))
            }
            DataKind::Nodes => {
                // -d adds GresUsed= (GPUs in use); without it only AllocTRES could
                // tell, and only where accounting tracks gres/gpu.
                let spec = self.spec("scontrol", &["-d", "-o", "show", "node"]);
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
                    &["-h", "-t", "all", "-r", "-O", text::SQUEUE_FORMAT],
                );
                run(&spec, |r| text::parse_squeue(r))
                    .await
                    .map(|jobs| Fetched::Jobs(Arc::new(jobs)))
            }
            DataKind::Diag => {
                let spec = self.spec("sdiag", &[]);
                run(&spec, |r| text::parse_sdiag(r))
                    .await
                    .map(|d| Fetched::Diag(Box::new(d)))
            }
            DataKind::Controllers => self.controllers().await.map(Fetched::Controllers),
            DataKind::Accounting => self.accounting().await.map(Fetched::Accounting),
            DataKind::Licenses => {
                let spec = self.spec("scontrol", &["-o", "show", "license"]);
                run(&spec, |r| text::parse_scontrol_licenses(r))
                    .await
                    .map(Fetched::Licenses)
            }
            DataKind::Reservations => {
                let spec = self.spec("scontrol", &["-o", "show", "reservation"]);
                run(&spec, |r| text::parse_scontrol_reservations(r))
                    .await
                    .map(Fetched::Reservations)
            }
            // 23.11+; 22.05's sshare has no --json and says so (the collector is down).
            DataKind::Shares if self.json.contains(&JsonQuery::Shares) => {
                let spec = self.json_spec("sshare", &["-a", "--json"], caps::MAX_JSON_OUTPUT_BYTES);
                run(&spec, |r| json::parse_shares(r).map(|r| r.data))
                    .await
                    .map(Fetched::Shares)
            }
            DataKind::Shares => {
                let spec = self.spec("sshare", &["-a", "-P", "-o", text::SSHARE_FORMAT]);
                run(&spec, |r| text::parse_sshare(r))
                    .await
                    .map(Fetched::Shares)
            }
            DataKind::Qos => {
                let format = format!("format={}", text::QOS_FORMAT);
                let spec = self.spec("sacctmgr", &["-n", "-P", "show", "qos", &format]);
                run(&spec, |r| text::parse_sacctmgr_qos(r))
                    .await
                    .map(Fetched::Qos)
            }
            DataKind::QosUsage => {
                let spec = self.spec("scontrol", &["-o", "show", "assoc_mgr", "flags=qos"]);
                run(&spec, |r| text::parse_assoc_mgr_qos(r))
                    .await
                    .map(Fetched::QosUsage)
            }
            DataKind::Associations => {
                let spec = self.spec("scontrol", &["-o", "show", "assoc_mgr", "flags=assoc"]);
                run(&spec, |r| text::parse_assoc_mgr_assocs(r))
                    .await
                    .map(Fetched::Associations)
            }
            DataKind::Dbd => self.dbd().await.map(Fetched::Dbd),
        }
    }

    /// Probes slurmdbd with its cheapest question, `sacctmgr -n -P show cluster
    /// format=cluster` (one small RPC; `sacctmgr ping` exists only from 24.11).
    /// No answer within 3/4 of the timeout, or sacctmgr saying it cannot reach
    /// slurmdbd, is "down"; sacctmgr saying accounting is not kept in slurmdbd is
    /// "not configured" (logged once); any other failure is a failed query, not a
    /// false "down".
    async fn dbd(&self) -> Result<DbdStatus, SourceError> {
        let mut spec = self.spec(
            "sacctmgr",
            &["-n", "-P", "show", "cluster", "format=cluster"],
        );
        spec.timeout = self.timeout.mul_f64(0.75);
        let started = Instant::now();
        let result = run(&spec, |r| {
            std::io::copy(r, &mut std::io::sink())?;
            Ok(())
        })
        .await;
        let down = DbdStatus::Probed {
            up: false,
            latency_seconds: None,
        };
        match result {
            Ok(()) => Ok(DbdStatus::Probed {
                up: true,
                latency_seconds: Some(started.elapsed().as_secs_f64()),
            }),
            Err(SourceError::Timeout(_)) => Ok(down),
            Err(e) if dbd::says_not_configured(&e.to_string()) => {
                if !self.dbd_not_configured_logged.swap(true, Ordering::Relaxed) {
                    tracing::info!(
                        "this cluster keeps no accounting in slurmdbd (AccountingStorageType is not slurmdbd): slurm_slurmdbd_up is not exported"
                    );
                }
                Ok(DbdStatus::NotConfigured)
            }
            Err(e) if dbd::says_unreachable(&e.to_string()) => Ok(down),
            Err(e) => Err(e),
        }
    }

    /// Jobs that finished or started since the last read: `sdiag` first (slurmctld's
    /// clock and DBD agent queue bound the window, see `watermark`), then one
    /// `sacct -X -P` over the window, then (when a job that ran finished in it) the
    /// memory of the finished jobs, steps included, over the same window. The
    /// watermark moves only once both parsed.
    async fn accounting(&self) -> Result<Accounting, SourceError> {
        let diag = run(&self.spec("sdiag", &[]), |r| text::parse_sdiag(r)).await?;
        let ctld_time = diag.req_time.unwrap_or_else(super::unix_now);
        let window = match self.watermark.lock() {
            Ok(mut w) => w.window(ctld_time, diag.dbd_agent_queue_size),
            Err(_) => return Err(SourceError::Command("watermark lock poisoned".into())),
        };
        let (from, to) = (super::utc(window.from), super::utc(window.to));
        let args = [
            "-a",
            "-X",
            "-P",
            "-n",
            "-s",
            SACCT_STATES,
            "-S",
            &from,
            "-E",
            &to,
            "-o",
            text::SACCT_FORMAT,
        ];
        let mut jobs = run(&self.spec("sacct", &args), |r| text::parse_sacct(r)).await?;
        let ended_in_window = |j: &AcctJob| {
            j.ran && j.finished() && j.end.is_some_and(|e| e >= window.from && e <= window.to)
        };
        if jobs.iter().any(ended_in_window) {
            // Without -X sacct reads every job's steps: only the final states, so
            // the running jobs (every one of them, in 22.05) are not read twice.
            let args = [
                "-a",
                "-P",
                "-n",
                "-s",
                SACCT_FINAL_STATES,
                "-S",
                &from,
                "-E",
                &to,
                "-o",
                text::SACCT_MEMORY_FORMAT,
            ];
            let memory = run(&self.spec("sacct", &args), |r| text::parse_sacct_memory(r)).await?;
            for job in jobs.iter_mut().filter(|j| ended_in_window(j)) {
                if let Some(m) = memory.get(&job.id) {
                    job.memory = *m;
                }
            }
        }
        match self.watermark.lock() {
            Ok(mut w) => Ok(w.advance(window, jobs)),
            Err(_) => Err(SourceError::Command("watermark lock poisoned".into())),
        }
    }

    /// `scontrol show node --json` where it exists (23.02+); in 22.05 `sinfo --json`
    /// prints the same document as REST `/nodes` (later releases group it differently).
    async fn nodes_json(&self) -> Result<crate::model::Nodes, SourceError> {
        if !self.nodes_json_via_sinfo.load(Ordering::Relaxed) {
            let spec = self.json_spec(
                "scontrol",
                &["show", "node", "--json"],
                caps::MAX_JSON_OUTPUT_BYTES,
            );
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
        let spec = self.json_spec("sinfo", &["--json"], caps::MAX_JSON_OUTPUT_BYTES);
        run(&spec, |r| json::parse_nodes(r).map(|r| r.data)).await
    }

    /// `scontrol ping` and `scontrol show config`, concurrently. The ping decides:
    /// - a controller answers: wait for the config too (cluster name, version);
    /// - every controller is DOWN (slurmctld dead: the ping says so at once, while
    ///   `show config` retries for ~9 s): answer now, without the config;
    /// - the ping itself does not answer within 3/4 of the timeout (slurmctld hung;
    ///   `scontrol ping` would say DOWN only after `MessageTimeout`): the controllers
    ///   of the last answer are reported down.
    ///
    /// A missing config keeps the last known identity, so series keep their labels.
    async fn controllers(&self) -> Result<ControllerData, SourceError> {
        let mut ping = self.spec("scontrol", &["ping"]);
        ping.accept_failure_exit = true;
        ping.timeout = self.timeout.mul_f64(0.75);
        let config = self.spec("scontrol", &["show", "config"]);
        let started = Instant::now();
        let ping_fut = run(&ping, |r| text::parse_scontrol_ping(r));
        let config_fut = run(&config, |r| text::parse_scontrol_config(r));
        tokio::pin!(ping_fut, config_fut);
        let mut info = None;
        let pinged = loop {
            tokio::select! {
                r = &mut ping_fut => break r,
                c = &mut config_fut, if info.is_none() => info = Some(c),
            }
        };
        let elapsed = started.elapsed();
        let last = self.last_controllers.lock().ok().and_then(|l| l.clone());
        let last_info = last.as_ref().map(|l| l.info.clone()).unwrap_or_default();
        let mut controllers = match pinged {
            Ok(c) => c,
            Err(SourceError::Timeout(t)) => match last {
                Some(mut last) => {
                    tracing::debug!(
                        ?t,
                        "scontrol ping did not answer; controllers reported down"
                    );
                    for c in &mut last.controllers {
                        c.up = false;
                        c.latency_seconds = None;
                    }
                    return Ok(last);
                }
                None => return Err(SourceError::Timeout(self.timeout)),
            },
            Err(e) => return Err(e),
        };
        if controllers.is_empty() {
            return Err(SourceError::Command(
                "scontrol ping reported no controller".into(),
            ));
        }
        let any_up = controllers.iter().any(|c| c.up);
        // scontrol ping does not report a latency: use the round trip we saw.
        for c in controllers.iter_mut().filter(|c| c.up) {
            c.latency_seconds.get_or_insert(elapsed.as_secs_f64());
        }
        let info = match info {
            Some(i) => i,
            None if any_up => config_fut.await,
            None => Err(SourceError::Command("controller down".into())),
        };
        // The controller may be down while ping still answers; identity is optional then.
        let info = info.unwrap_or(last_info);
        let data = ControllerData { controllers, info };
        if let Ok(mut l) = self.last_controllers.lock() {
            *l = Some(data.clone());
        }
        Ok(data)
    }
}

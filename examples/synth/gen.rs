//! Synthetic Slurm cluster generation: what Slurm would print for N nodes and M jobs
//! (text of `scontrol`, `squeue`, `sdiag` as 22.05 prints it; the `--json` forms and
//! the slurmrestd answers in the shape of the chosen Slurm version, 22.05 to 25.11),
//! written into any `std::io::Write`. `main.rs` writes it to files; benches include it directly with
//! `#[path = "../examples/synth/gen.rs"] mod gen;`, so it depends only on std and
//! serde_json (and its sibling `shapes.rs`, loaded by path).
//!
//! 22.05 shapes come from the records of our lab (tests/fixtures/slurm-22.05, embedded
//! at compile time): JSON records are the recorded ones with their values changed, so
//! sizes are realistic (about 3 KB per job); text lines follow the recorded lines field
//! by field. Later versions' JSON is built in `shapes.rs`.
#![allow(dead_code)]

use std::io::{self, Write};

use serde_json::{json, Value};

#[path = "shapes.rs"]
mod shapes;

/// SplitMix64: small, deterministic, good enough for picking states.
pub struct Rng(u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// Picks from weighted choices.
    pub fn pick<'a, T>(&mut self, choices: &'a [(u64, T)]) -> &'a T {
        let total: u64 = choices.iter().map(|c| c.0).sum();
        let mut x = self.below(total);
        for (w, v) in choices {
            if x < *w {
                return v;
            }
            x -= w;
        }
        &choices[choices.len() - 1].1
    }
}

pub const PARTITIONS: [&str; 4] = ["compute", "gpu", "debug", "long"];
pub const CPUS: u64 = 64;
pub const MEMORY_MB: u64 = 256_000;
/// "Now" of the synthetic cluster, and when its jobs last changed (`last_update`).
pub const NOW: i64 = 1_796_000_000;
/// Written to `.complete` last; bump it when the generated set of files changes.
pub const FORMAT: &str = "5";

/// A Slurm release line and the newest JSON shape (data_parser) it answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    V22_05,
    V23_02,
    V23_11,
    V24_05,
    V24_11,
    V25_05,
    V25_11,
}

impl Version {
    pub const ALL: [Version; 7] = [
        Version::V22_05,
        Version::V23_02,
        Version::V23_11,
        Version::V24_05,
        Version::V24_11,
        Version::V25_05,
        Version::V25_11,
    ];

    /// `22.05`, `23.02`, ...
    pub fn parse(name: &str) -> Option<Version> {
        Version::ALL.into_iter().find(|v| v.name() == name)
    }

    pub fn name(self) -> &'static str {
        self.release().get(..5).unwrap_or_default()
    }

    /// The release the answers claim (`meta`).
    pub fn release(self) -> &'static str {
        match self {
            Version::V22_05 => "22.05.8",
            Version::V23_02 => "23.02.8",
            Version::V23_11 => "23.11.10",
            Version::V24_05 => "24.05.3",
            Version::V24_11 => "24.11.5",
            Version::V25_05 => "25.05.4",
            Version::V25_11 => "25.11.0",
        }
    }

    /// The data_parser (REST API) version number: 38 (`v0.0.38`) to 44.
    pub fn data_parser(self) -> u8 {
        38 + self as u8
    }

    /// `v0.0.38` ... `v0.0.44`.
    pub fn api(self) -> String {
        format!("v0.0.{}", self.data_parser())
    }
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct Scale {
    pub nodes: usize,
    pub jobs: usize,
    pub seed: u64,
    /// Shape of the JSON outputs (the text is 22.05's whatever the version).
    pub version: Version,
}

impl Scale {
    /// A 22.05 cluster.
    pub fn new(nodes: usize, jobs: usize, seed: u64) -> Scale {
        Scale {
            nodes,
            jobs,
            seed,
            version: Version::V22_05,
        }
    }

    pub fn with_version(self, version: Version) -> Scale {
        Scale { version, ..self }
    }
}

fn node_name(i: usize) -> String {
    // 21 characters: longer than the 20 that broke column-based parsers.
    format!("cn-rack{:03}-node-{:05}", i / 40, i)
}

/// Node state (compound text), CPUs allocated, reason.
fn node_state(rng: &mut Rng) -> (&'static str, bool, Option<&'static str>) {
    *rng.pick(&[
        (45, ("MIXED", true, None)),
        (25, ("ALLOCATED", true, None)),
        (12, ("IDLE", false, None)),
        (
            5,
            (
                "IDLE+DRAIN",
                false,
                Some("disk replacement | ticket 4711, rack 12"),
            ),
        ),
        (3, ("MIXED+DRAIN", true, Some("kernel upgrade scheduled"))),
        (5, ("DOWN+NOT_RESPONDING", false, Some("Not responding"))),
        (2, ("IDLE+POWERED_DOWN", false, None)),
        (1, ("ALLOCATED+COMPLETING", true, None)),
        (1, ("IDLE+MAINTENANCE+RESERVED", false, None)),
        (1, ("IDLE+PLANNED", false, None)),
    ])
}

pub struct Node {
    pub name: String,
    pub partitions: String,
    /// Compound state as `scontrol` prints it (`IDLE+DRAIN`).
    pub state: &'static str,
    pub alloc: u64,
    pub mem_alloc: u64,
    pub reason: Option<&'static str>,
    /// When the reason was set (drawn after all jobs, as the text writer used to).
    reason_time: i64,
}

pub struct Job {
    /// `123` or, for a pending array task as `squeue -r` prints it, `123_4`.
    pub id: String,
    pub state: &'static str,
    pub partition: &'static str,
    pub cpus: u64,
    pub nodes: u64,
    pub submit: i64,
    pub start: Option<i64>,
    pub reason: &'static str,
    pub user: String,
    pub account: String,
    pub array_task_string: Option<String>,
}

impl Job {
    /// TRES as squeue prints them: 1000 MB per CPU.
    fn tres(&self) -> String {
        format!(
            "cpu={},mem={}M,node={},billing={}",
            self.cpus,
            self.cpus * 1000,
            self.nodes,
            self.cpus
        )
    }
}

/// A generated cluster: the records every writer below prints.
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub jobs: Vec<Job>,
    pub version: Version,
}

impl Cluster {
    pub fn generate(scale: &Scale) -> Cluster {
        let mut rng = Rng(scale.seed);
        let mut nodes = nodes(scale, &mut rng);
        let jobs = jobs(scale, &mut rng);
        for n in nodes.iter_mut().filter(|n| n.reason.is_some()) {
            n.reason_time = NOW - rng.below(86_400) as i64;
        }
        Cluster {
            nodes,
            jobs,
            version: scale.version,
        }
    }
}

fn nodes(scale: &Scale, rng: &mut Rng) -> Vec<Node> {
    (0..scale.nodes)
        .map(|i| {
            let (state, busy, reason) = node_state(rng);
            let alloc = if busy { 1 + rng.below(CPUS) } else { 0 };
            let partitions = match i % 10 {
                0 => "gpu,debug",
                1..=2 => "long,compute",
                _ => "compute,debug",
            };
            Node {
                name: node_name(i),
                partitions: partitions.to_string(),
                state,
                alloc,
                mem_alloc: alloc * 3_000,
                reason,
                reason_time: 0,
            }
        })
        .collect()
}

fn jobs(scale: &Scale, rng: &mut Rng) -> Vec<Job> {
    let mut out = Vec::with_capacity(scale.jobs);
    let mut id = 1_000_000u64;
    while out.len() < scale.jobs {
        id += 1;
        let state = *rng.pick(&[
            (30, "RUNNING"),
            (60, "PENDING"),
            (3, "COMPLETING"),
            (3, "COMPLETED"),
            (2, "FAILED"),
            (1, "CANCELLED"),
            (1, "TIMEOUT"),
        ]);
        let partition = PARTITIONS[rng.below(PARTITIONS.len() as u64) as usize];
        let submit = NOW - rng.below(7 * 86_400) as i64;
        let user_index = rng.below(200);
        let user = format!("user{user_index:03}");
        let account = format!("acct{:02}", user_index / 10);
        let reason = if state == "PENDING" {
            *rng.pick(&[
                (40, "Priority"),
                (25, "Resources"),
                (10, "Dependency"),
                (5, "JobHeldUser"),
                (5, "QOSMaxJobsPerUserLimit"),
                (5, "AssocGrpCpuLimit"),
                (
                    5,
                    "ReqNodeNotAvail, UnavailableNodes:cn-rack001-node-[00040-00042]",
                ),
                (5, "BeginTime"),
            ])
        } else if state == "FAILED" {
            "NonZeroExitCode"
        } else {
            "None"
        };
        // Every 50th pending job is an array of up to 50 tasks, one line per task
        // as `squeue -r` prints them (one record in JSON).
        let tasks = if state == "PENDING" && id % 50 == 0 {
            1 + rng.below(50)
        } else {
            1
        };
        let tasks = tasks.min((scale.jobs - out.len()) as u64);
        let cpus = *rng.pick(&[(50, 1), (20, 4), (20, 16), (10, 64)]);
        let nodes = if cpus == 64 { 1 + rng.below(4) } else { 1 };
        let start = matches!(
            state,
            "RUNNING" | "COMPLETING" | "COMPLETED" | "FAILED" | "CANCELLED" | "TIMEOUT"
        )
        .then(|| submit + rng.below(3_600) as i64);
        for t in 0..tasks {
            out.push(Job {
                id: if tasks > 1 {
                    format!("{id}_{t}")
                } else {
                    id.to_string()
                },
                state,
                partition,
                cpus,
                nodes,
                submit,
                start,
                reason,
                user: user.clone(),
                account: account.clone(),
                array_task_string: (tasks > 1).then(|| format!("0-{}", tasks - 1)),
            });
        }
    }
    out
}

/// One file of the generated set: its name (as `tests/support/fake-slurm.sh` serves
/// it), whether it is a `--json` form, and its writer.
pub struct OutputFile {
    pub name: &'static str,
    pub json: bool,
    pub write: fn(&Cluster, &mut dyn Write) -> io::Result<()>,
}

/// A file recorded from our 22.05 lab, embedded and printed as it is.
macro_rules! recorded {
    ($name:literal) => {
        OutputFile {
            name: $name,
            json: false,
            write: |_, w| {
                w.write_all(include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/tests/fixtures/slurm-22.05/",
                    $name
                )))
            },
        }
    };
}

/// The files of one version: the text of 22.05, then the JSON forms (CLI and REST).
pub fn files(version: Version) -> Vec<OutputFile> {
    let mut files = vec![
        // The exporter runs `scontrol -d -o show node` (only -d prints GresUsed=); the
        // synthetic nodes have no GRES, so both forms print the same lines.
        OutputFile {
            name: "scontrol-show-node-detail.txt",
            json: false,
            write: write_scontrol_nodes,
        },
        OutputFile {
            name: "scontrol-show-node.txt",
            json: false,
            write: write_scontrol_nodes,
        },
        OutputFile {
            name: "squeue.txt",
            json: false,
            write: write_squeue_text,
        },
        OutputFile {
            name: "scontrol-show-partition.txt",
            json: false,
            write: write_scontrol_partitions,
        },
        recorded!("sdiag.txt"),
        recorded!("sacctmgr-show-cluster.txt"),
        recorded!("scontrol-ping.txt"),
        recorded!("scontrol-show-config.txt"),
        recorded!("scontrol-show-license.txt"),
        recorded!("scontrol-show-reservation.txt"),
    ];
    let json = |name, write| OutputFile {
        name,
        json: true,
        write,
    };
    if version == Version::V22_05 {
        // 22.05's `sinfo --json` is the `/nodes` document.
        files.push(json("sinfo.json", write_sinfo_json));
        files.push(json("nodes.json", write_sinfo_json));
    } else {
        // 23.02+: `scontrol show node --json` is; `sinfo --json` groups nodes.
        files.push(json("scontrol-show-node.json", write_nodes_json));
        files.push(json("nodes.json", write_nodes_json));
        files.push(json("squeue-unchanged.json", write_jobs_unchanged_json));
    }
    files.push(json("squeue.json", write_squeue_json));
    files.push(json("partitions.json", write_partitions_json));
    files.push(json("diag.json", write_diag_json));
    files.push(json("ping.json", write_ping_json));
    files.push(json("licenses.json", write_licenses_json));
    files.push(json("reservations.json", write_reservations_json));
    if version >= Version::V23_11 {
        files.push(json("shares.json", write_shares_json));
    }
    files.push(json("qos.json", write_qos_json));
    files.push(json("associations.json", write_associations_json));
    files.push(json("slurmdb-diag.json", write_dbd_diag_json));
    files.push(json(".rest", write_rest_manifest));
    files
}

/// `scontrol -o show node`.
pub fn write_scontrol_nodes(cluster: &Cluster, w: &mut dyn Write) -> io::Result<()> {
    for n in &cluster.nodes {
        let reason = match n.reason {
            Some(r) => format!(" Reason={r} [root@{}]", n.reason_time),
            None => String::new(),
        };
        writeln!(
            w,
            "NodeName={name} Arch=x86_64 CoresPerSocket=32  CPUAlloc={alloc} CPUEfctv={CPUS} CPUTot={CPUS} CPULoad={load:.2} AvailableFeatures=ib,avx512 ActiveFeatures=ib,avx512 Gres=(null) NodeAddr={name} NodeHostName={name} Version=22.05.8 OS=Linux 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)  RealMemory={MEMORY_MB} AllocMem={mem} FreeMem={free} Sockets=2 Boards=1 State={state} ThreadsPerCore=1 TmpDisk=0 Weight=1 Owner=N/A MCS_label=N/A Partitions={parts}  BootTime={boot} SlurmdStartTime={boot} LastBusyTime={boot} CfgTRES=cpu={CPUS},mem={MEMORY_MB}M,billing={CPUS} AllocTRES=cpu={alloc},mem={mem}M CapWatts=n/a CurrentWatts=0 AveWatts=0 ExtSensorsJoules=n/s ExtSensorsWatts=0 ExtSensorsTemp=n/s{reason}",
            name = n.name,
            alloc = n.alloc,
            load = n.alloc as f64 * 0.9,
            mem = n.mem_alloc,
            free = MEMORY_MB - n.mem_alloc,
            state = n.state,
            parts = n.partitions,
            boot = NOW - 1_000_000,
        )?;
    }
    Ok(())
}

/// `squeue -h -t all -r -O ...` in the fields of SQUEUE_FORMAT (src/model/text/squeue.rs),
/// no GPU requests.
pub fn write_squeue_text(cluster: &Cluster, w: &mut dyn Write) -> io::Result<()> {
    for j in &cluster.jobs {
        let start = j.start.map_or("N/A".to_string(), |s| s.to_string());
        writeln!(
            w,
            "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|N/A|N/A|N/A|N/A|{}",
            j.id,
            j.state,
            j.partition,
            j.cpus,
            j.nodes,
            j.submit,
            start,
            j.user,
            j.account,
            j.nodes,
            j.tres(),
            j.reason
        )?;
    }
    Ok(())
}

/// `scontrol -o show partition`.
pub fn write_scontrol_partitions(cluster: &Cluster, w: &mut dyn Write) -> io::Result<()> {
    let nodes = cluster.nodes.len();
    for (i, p) in PARTITIONS.iter().enumerate() {
        let max = if *p == "long" {
            "7-00:00:00"
        } else {
            "1-00:00:00"
        };
        writeln!(
            w,
            "PartitionName={p} AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL AllocNodes=ALL Default={} QoS=N/A DefaultTime=01:00:00 DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO MaxNodes=UNLIMITED MaxTime={max} MinNodes=0 LLN=NO MaxCPUsPerNode=UNLIMITED Nodes=cn-rack[000-999]-node-[00000-{:05}] PriorityJobFactor=1 PriorityTier=1 RootOnly=NO ReqResv=NO OverSubscribe=NO OverTimeLimit=NONE PreemptMode=OFF State=UP TotalCPUs={} TotalNodes={nodes} SelectTypeParameters=NONE JobDefaults=(null) DefMemPerNode=UNLIMITED MaxMemPerNode=UNLIMITED",
            if i == 0 { "YES" } else { "NO" },
            nodes.saturating_sub(1),
            nodes as u64 * CPUS,
        )?;
    }
    Ok(())
}

/// A recorded document split into its envelope (with `key` emptied) and one record.
fn template(text: &str, key: &str, index: usize) -> io::Result<(Value, Value)> {
    let mut doc: Value = serde_json::from_str(text)?;
    let record = doc
        .get(key)
        .and_then(|a| a.get(index))
        .cloned()
        .ok_or_else(|| io::Error::other(format!("template has no {key}[{index}]")))?;
    if let Some(obj) = doc.as_object_mut() {
        obj.insert(key.to_string(), Value::Array(Vec::new()));
    }
    Ok((doc, record))
}

/// Writes `{...meta..., "key": [records...]}` streaming the records.
fn write_json_array<I: Iterator<Item = Value>>(
    w: &mut dyn Write,
    envelope: &Value,
    key: &str,
    records: I,
) -> io::Result<()> {
    let mut head = serde_json::to_string_pretty(envelope)?;
    let marker = format!("\"{key}\": []");
    let Some(at) = head.find(&marker) else {
        return Err(io::Error::other(format!("no {key} in envelope")));
    };
    let tail = head.split_off(at + marker.len() - 1);
    head.truncate(at + marker.len() - 2);
    w.write_all(head.as_bytes())?;
    w.write_all(b"[\n")?;
    for (i, r) in records.enumerate() {
        if i > 0 {
            w.write_all(b",\n")?;
        }
        serde_json::to_writer_pretty(&mut *w, &r)?;
    }
    w.write_all(b"\n")?;
    w.write_all(tail.as_bytes())
}

fn set(record: &mut Value, key: &str, value: Value) {
    if let Some(obj) = record.as_object_mut() {
        obj.insert(key.to_string(), value);
    }
}

const SINFO_JSON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/slurm-22.05/sinfo.json"
));
const SQUEUE_JSON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/slurm-22.05/squeue.json"
));

/// `sinfo --json` (22.05: the nodes of slurmrestd v0.0.38).
pub fn write_sinfo_json(cluster: &Cluster, w: &mut dyn Write) -> io::Result<()> {
    let (envelope, node_t) = template(SINFO_JSON, "nodes", 2)?;
    let records = cluster.nodes.iter().map(|n| {
        let mut r = node_t.clone();
        let mut parts = n.state.split('+');
        let base = parts.next().unwrap_or("IDLE").to_ascii_lowercase();
        let flags: Vec<Value> = parts.map(Value::from).collect();
        set(&mut r, "name", Value::from(n.name.as_str()));
        set(&mut r, "hostname", Value::from(n.name.as_str()));
        set(&mut r, "state", Value::from(base));
        set(&mut r, "state_flags", Value::Array(flags));
        set(&mut r, "cpus", Value::from(CPUS));
        set(&mut r, "alloc_cpus", Value::from(n.alloc));
        set(&mut r, "real_memory", Value::from(MEMORY_MB));
        set(&mut r, "alloc_memory", Value::from(n.mem_alloc));
        set(
            &mut r,
            "partitions",
            Value::from(n.partitions.split(',').collect::<Vec<_>>()),
        );
        set(&mut r, "reason", Value::from(n.reason.unwrap_or("")));
        r
    });
    write_json_array(w, &envelope, "nodes", records)
}

/// `squeue --json` and `/jobs`: one record per pending array, as slurmctld keeps it.
pub fn write_squeue_json(cluster: &Cluster, w: &mut dyn Write) -> io::Result<()> {
    if cluster.version != Version::V22_05 {
        return write_jobs_json(cluster, w);
    }
    let (envelope, job_t) = template(SQUEUE_JSON, "jobs", 0)?;
    let mut last_array: Option<String> = None;
    let records = cluster.jobs.iter().filter_map(move |j| {
        if j.array_task_string.is_some() {
            let base = j.id.split('_').next().unwrap_or_default().to_string();
            if last_array.as_deref() == Some(base.as_str()) {
                return None;
            }
            last_array = Some(base);
        }
        let mut r = job_t.clone();
        let id: u64 =
            j.id.split('_')
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
        set(&mut r, "job_id", Value::from(id));
        set(&mut r, "job_state", Value::from(j.state));
        set(&mut r, "partition", Value::from(j.partition));
        set(&mut r, "cpus", Value::from(j.cpus));
        set(&mut r, "node_count", Value::from(j.nodes));
        set(&mut r, "submit_time", Value::from(j.submit));
        set(&mut r, "start_time", Value::from(j.start.unwrap_or(0)));
        set(
            &mut r,
            "state_reason",
            Value::from(j.reason.split(',').next().unwrap_or("None")),
        );
        set(&mut r, "user_name", Value::from(j.user.as_str()));
        set(&mut r, "account", Value::from(j.account.as_str()));
        set(&mut r, "tres_alloc_str", Value::from(j.tres()));
        set(&mut r, "tres_req_str", Value::from(j.tres()));
        set(
            &mut r,
            "array_task_string",
            Value::from(j.array_task_string.clone().unwrap_or_default()),
        );
        if j.array_task_string.is_some() {
            set(&mut r, "array_job_id", Value::from(id));
            set(&mut r, "array_task_id", Value::Null);
        }
        Some(r)
    });
    write_json_array(w, &envelope, "jobs", records)
}

/// Pending array tasks as one record (the first task stands for the array).
fn job_records(cluster: &Cluster) -> impl Iterator<Item = &Job> {
    let mut last_array: Option<&str> = None;
    cluster.jobs.iter().filter(move |j| {
        if j.array_task_string.is_none() {
            return true;
        }
        let base = j.id.split('_').next().unwrap_or_default();
        if last_array == Some(base) {
            return false;
        }
        last_array = Some(base);
        true
    })
}

fn data_parser(cluster: &Cluster) -> shapes::Dp {
    cluster.version.data_parser()
}

fn envelope(cluster: &Cluster, db: bool, key: &str, data: Value) -> Value {
    shapes::envelope(
        data_parser(cluster),
        cluster.version.release(),
        db,
        key,
        data,
    )
}

fn write_pretty(w: &mut dyn Write, doc: &Value) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, doc)?;
    w.write_all(b"\n")
}

/// `/jobs` (and `squeue --json`) of data_parser versions (23.02+).
fn write_jobs_json(cluster: &Cluster, w: &mut dyn Write) -> io::Result<()> {
    let dp = data_parser(cluster);
    let mut doc = envelope(cluster, false, "jobs", json!([]));
    if dp >= 40 {
        if let Some(m) = doc.as_object_mut() {
            m.insert("last_backfill".into(), shapes::num(NOW - 25));
        }
    }
    let records = job_records(cluster).map(|j| shapes::job(dp, cluster, j));
    write_json_array(w, &doc, "jobs", records)
}

/// `/jobs?update_time=T` when no job changed since T (23.02+): an empty list and a
/// warning; `UPDATE_TIME` is replaced by the fake slurmrestd.
fn write_jobs_unchanged_json(cluster: &Cluster, w: &mut dyn Write) -> io::Result<()> {
    let mut doc = envelope(cluster, false, "jobs", json!([]));
    if let Some(m) = doc.as_object_mut() {
        m.insert(
            "warnings".into(),
            json!([{
                "description": "No job changes since update_time=UPDATE_TIME",
                "source": "_op_handler_jobs",
            }]),
        );
    }
    write_pretty(w, &doc)
}

/// `/nodes` and `scontrol show node --json` (23.02+).
fn write_nodes_json(cluster: &Cluster, w: &mut dyn Write) -> io::Result<()> {
    let dp = data_parser(cluster);
    let doc = envelope(cluster, false, "nodes", json!([]));
    write_json_array(
        w,
        &doc,
        "nodes",
        cluster.nodes.iter().map(|n| shapes::node(dp, n)),
    )
}

fn write_partitions_json(cluster: &Cluster, w: &mut dyn Write) -> io::Result<()> {
    let data = shapes::partitions(data_parser(cluster), cluster);
    write_pretty(w, &envelope(cluster, false, "partitions", data))
}

fn write_diag_json(cluster: &Cluster, w: &mut dyn Write) -> io::Result<()> {
    let data = shapes::diag(data_parser(cluster), cluster);
    write_pretty(w, &envelope(cluster, false, "statistics", data))
}

fn write_ping_json(cluster: &Cluster, w: &mut dyn Write) -> io::Result<()> {
    let data = shapes::pings(data_parser(cluster));
    write_pretty(w, &envelope(cluster, false, "pings", data))
}

fn write_licenses_json(cluster: &Cluster, w: &mut dyn Write) -> io::Result<()> {
    let data = shapes::licenses(data_parser(cluster));
    write_pretty(w, &envelope(cluster, false, "licenses", data))
}

fn write_reservations_json(cluster: &Cluster, w: &mut dyn Write) -> io::Result<()> {
    let data = shapes::reservations(data_parser(cluster));
    write_pretty(w, &envelope(cluster, false, "reservations", data))
}

fn write_shares_json(cluster: &Cluster, w: &mut dyn Write) -> io::Result<()> {
    let data = shapes::shares(data_parser(cluster), cluster);
    write_pretty(w, &envelope(cluster, false, "shares", data))
}

fn write_qos_json(cluster: &Cluster, w: &mut dyn Write) -> io::Result<()> {
    let dp = data_parser(cluster);
    let key = if dp == 38 { "QOS" } else { "qos" };
    write_pretty(w, &envelope(cluster, true, key, shapes::qos(dp)))
}

fn write_associations_json(cluster: &Cluster, w: &mut dyn Write) -> io::Result<()> {
    let data = shapes::associations(data_parser(cluster), cluster);
    write_pretty(w, &envelope(cluster, true, "associations", data))
}

fn write_dbd_diag_json(cluster: &Cluster, w: &mut dyn Write) -> io::Result<()> {
    let data = shapes::dbd_diag(data_parser(cluster));
    write_pretty(w, &envelope(cluster, true, "statistics", data))
}

/// What the fake slurmrestd serves: the API version and when jobs last changed.
fn write_rest_manifest(cluster: &Cluster, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "api {}", cluster.version.api())?;
    writeln!(w, "release {}", cluster.version.release())?;
    writeln!(w, "last_update {NOW}")
}

/// What the generated cluster holds, as the exporter should count it.
#[derive(Debug, Default, PartialEq)]
pub struct Totals {
    /// Nodes by state as generated (`IDLE+DRAIN`).
    pub nodes_by_state: std::collections::BTreeMap<&'static str, u64>,
    /// Jobs (array tasks counted one by one) by state, lower case.
    pub jobs_by_state: std::collections::BTreeMap<String, u64>,
    pub cpus_total: u64,
    pub cpus_allocated: u64,
}

impl Cluster {
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for n in &self.nodes {
            *t.nodes_by_state.entry(n.state).or_default() += 1;
            t.cpus_total += CPUS;
            t.cpus_allocated += n.alloc;
        }
        for j in &self.jobs {
            *t.jobs_by_state
                .entry(j.state.to_ascii_lowercase())
                .or_default() += 1;
        }
        t
    }
}

//! Synthetic Slurm cluster for scale benchmarks: writes what Slurm 22.05 would print
//! for N nodes and M jobs, in the file names `tests/support/fake-slurm.sh` serves
//! (so the exporter runs unchanged against fake commands), plus the JSON forms.
//!
//! `cargo run --release --example synth -- --nodes 10000 --jobs 100000 --seed 1 --out DIR [--json]`
//!
//! Shapes come from the records of our 22.05 lab (tests/fixtures/slurm-22.05): JSON
//! records are the recorded ones with their values changed, so sizes are realistic
//! (about 3 KB per job); text lines follow the recorded lines field by field.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

/// SplitMix64: small, deterministic, good enough for picking states.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// Picks from weighted choices.
    fn pick<'a, T>(&mut self, choices: &'a [(u64, T)]) -> &'a T {
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

const PARTITIONS: [&str; 4] = ["compute", "gpu", "debug", "long"];
const CPUS: u64 = 64;
const MEMORY_MB: u64 = 256_000;
const NOW: i64 = 1_796_000_000;
/// Written to `.complete` last; bump it when the generated set of files changes.
const SYNTH_VERSION: &str = "4";

struct Args {
    nodes: usize,
    jobs: usize,
    seed: u64,
    out: PathBuf,
    json: bool,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        nodes: 100,
        jobs: 1000,
        seed: 1,
        out: PathBuf::from("synth"),
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--nodes" => a.nodes = value()?.parse().map_err(|e| format!("--nodes: {e}"))?,
            "--jobs" => a.jobs = value()?.parse().map_err(|e| format!("--jobs: {e}"))?,
            "--seed" => a.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--out" => a.out = PathBuf::from(value()?),
            "--json" => a.json = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
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

struct NodeRec {
    name: String,
    partitions: String,
    state: &'static str,
    alloc: u64,
    mem_alloc: u64,
    reason: Option<&'static str>,
}

fn nodes(args: &Args, rng: &mut Rng) -> Vec<NodeRec> {
    (0..args.nodes)
        .map(|i| {
            let (state, busy, reason) = node_state(rng);
            let alloc = if busy { 1 + rng.below(CPUS) } else { 0 };
            let partitions = match i % 10 {
                0 => "gpu,debug",
                1..=2 => "long,compute",
                _ => "compute,debug",
            };
            NodeRec {
                name: node_name(i),
                partitions: partitions.to_string(),
                state,
                alloc,
                mem_alloc: alloc * 3_000,
                reason,
            }
        })
        .collect()
}

fn write_nodes_text(path: &Path, nodes: &[NodeRec], rng: &mut Rng) -> std::io::Result<()> {
    let mut w = BufWriter::new(File::create(path)?);
    for n in nodes {
        let reason = match n.reason {
            Some(r) => format!(" Reason={r} [root@{}]", NOW - rng.below(86_400) as i64),
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
    w.flush()
}

struct JobRec {
    id: String,
    state: &'static str,
    partition: &'static str,
    cpus: u64,
    nodes: u64,
    submit: i64,
    start: Option<i64>,
    reason: &'static str,
    user: String,
    account: String,
    array_task_string: Option<String>,
}

impl JobRec {
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

fn jobs(args: &Args, rng: &mut Rng) -> Vec<JobRec> {
    let mut out = Vec::with_capacity(args.jobs);
    let mut id = 1_000_000u64;
    while out.len() < args.jobs {
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
        let tasks = tasks.min((args.jobs - out.len()) as u64);
        let cpus = *rng.pick(&[(50, 1), (20, 4), (20, 16), (10, 64)]);
        let nodes = if cpus == 64 { 1 + rng.below(4) } else { 1 };
        let start = matches!(
            state,
            "RUNNING" | "COMPLETING" | "COMPLETED" | "FAILED" | "CANCELLED" | "TIMEOUT"
        )
        .then(|| submit + rng.below(3_600) as i64);
        for t in 0..tasks {
            out.push(JobRec {
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

fn write_squeue_text(path: &Path, jobs: &[JobRec]) -> std::io::Result<()> {
    let mut w = BufWriter::new(File::create(path)?);
    for j in jobs {
        let start = j.start.map_or("N/A".to_string(), |s| s.to_string());
        // The fields of SQUEUE_FORMAT (src/model/text/squeue.rs), no GPU requests.
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
    w.flush()
}

fn write_partitions_text(path: &Path, nodes: usize) -> std::io::Result<()> {
    let mut w = BufWriter::new(File::create(path)?);
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
    w.flush()
}

fn template(
    fixtures: &Path,
    file: &str,
    key: &str,
    index: usize,
) -> Result<(Value, Value), String> {
    let text = std::fs::read_to_string(fixtures.join(file)).map_err(|e| format!("{file}: {e}"))?;
    let mut doc: Value = serde_json::from_str(&text).map_err(|e| format!("{file}: {e}"))?;
    let record = doc
        .get(key)
        .and_then(|a| a.get(index))
        .cloned()
        .ok_or(format!("{file}: no {key}[{index}]"))?;
    if let Some(obj) = doc.as_object_mut() {
        obj.insert(key.to_string(), Value::Array(Vec::new()));
    }
    Ok((doc, record))
}

/// Writes `{...meta..., "key": [records...]}` streaming the records.
fn write_json_array<I: Iterator<Item = Value>>(
    path: &Path,
    envelope: &Value,
    key: &str,
    records: I,
) -> Result<(), String> {
    let mut w = BufWriter::new(File::create(path).map_err(|e| e.to_string())?);
    let mut head = serde_json::to_string_pretty(envelope).map_err(|e| e.to_string())?;
    let marker = format!("\"{key}\": []");
    let Some(at) = head.find(&marker) else {
        return Err(format!("no {key} in envelope"));
    };
    let tail = head.split_off(at + marker.len() - 1);
    head.truncate(at + marker.len() - 2);
    w.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
    w.write_all(b"[\n").map_err(|e| e.to_string())?;
    for (i, r) in records.enumerate() {
        if i > 0 {
            w.write_all(b",\n").map_err(|e| e.to_string())?;
        }
        serde_json::to_writer_pretty(&mut w, &r).map_err(|e| e.to_string())?;
    }
    w.write_all(b"\n").map_err(|e| e.to_string())?;
    w.write_all(tail.as_bytes()).map_err(|e| e.to_string())?;
    w.flush().map_err(|e| e.to_string())
}

fn set(record: &mut Value, key: &str, value: Value) {
    if let Some(obj) = record.as_object_mut() {
        obj.insert(key.to_string(), value);
    }
}

fn write_json(
    out: &Path,
    fixtures: &Path,
    nodes: &[NodeRec],
    jobs: &[JobRec],
) -> Result<(), String> {
    let (envelope, node_t) = template(fixtures, "sinfo.json", "nodes", 2)?;
    let records = nodes.iter().map(|n| {
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
    write_json_array(&out.join("sinfo.json"), &envelope, "nodes", records)?;

    let (envelope, job_t) = template(fixtures, "squeue.json", "jobs", 0)?;
    // JSON has one record per pending array, as slurmctld keeps it.
    let mut last_array: Option<String> = None;
    let records = jobs.iter().filter_map(move |j| {
        if let Some(tasks) = &j.array_task_string {
            let base = j.id.split('_').next().unwrap_or_default().to_string();
            if last_array.as_deref() == Some(base.as_str()) {
                return None;
            }
            last_array = Some(base);
            let _ = tasks;
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
    write_json_array(&out.join("squeue.json"), &envelope, "jobs", records)
}

fn run() -> Result<(), String> {
    let args = args()?;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/slurm-22.05");
    std::fs::create_dir_all(&args.out).map_err(|e| e.to_string())?;
    let mut rng = Rng(args.seed);
    let nodes = nodes(&args, &mut rng);
    let jobs = jobs(&args, &mut rng);
    let io = |e: std::io::Error| e.to_string();
    // The exporter runs `scontrol -d -o show node` (only -d prints GresUsed=); the
    // synthetic nodes have no GRES, so both forms print the same lines.
    write_nodes_text(
        &args.out.join("scontrol-show-node-detail.txt"),
        &nodes,
        &mut rng,
    )
    .map_err(io)?;
    std::fs::copy(
        args.out.join("scontrol-show-node-detail.txt"),
        args.out.join("scontrol-show-node.txt"),
    )
    .map_err(io)?;
    write_squeue_text(&args.out.join("squeue.txt"), &jobs).map_err(io)?;
    write_partitions_text(&args.out.join("scontrol-show-partition.txt"), args.nodes).map_err(io)?;
    for same in [
        "sdiag.txt",
        "sacctmgr-show-cluster.txt",
        "scontrol-ping.txt",
        "scontrol-show-config.txt",
        "scontrol-show-license.txt",
        "scontrol-show-reservation.txt",
    ] {
        std::fs::copy(fixtures.join(same), args.out.join(same)).map_err(io)?;
    }
    if args.json {
        write_json(&args.out, &fixtures, &nodes, &jobs)?;
    }
    std::fs::write(args.out.join(".complete"), SYNTH_VERSION).map_err(io)?;
    eprintln!(
        "synthetic cluster: {} nodes, {} jobs (seed {}) in {}",
        nodes.len(),
        jobs.len(),
        args.seed,
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

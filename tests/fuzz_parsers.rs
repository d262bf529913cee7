//! Property tests for every parser of outside input (the CI-sized part of the
//! fuzzing; `fuzz/` has the coverage-guided targets, docs/fuzzing.md both).
//!
//! Each parser gets arbitrary bytes and text, and structure-aware mutations of real
//! inputs (recorded 22.05 output in `tests/fixtures/slurm-22.05` and a few hand-made
//! documents of later versions' shapes; `../shared/slurm-samples`, beside the
//! repository and not part of it, in the `*_shared_samples` tests, ignored by default
//! and failing without the samples when run): cut at every position, bytes spliced in, numbers replaced by huge,
//! negative or object values, keys dropped or duplicated, deep nesting, lines
//! repeated or reordered. A parser must answer `Ok` or `Err`: never panic, never
//! overflow the stack, and never allocate more than a fixed multiple of its input
//! (a counting allocator checks each call). Whatever parses also goes through
//! every collector and both encoders.
//!
//! 256 cases per property by default; `PROPTEST_CASES=100000` for a longer run.

// The counting allocator below is the only unsafe code: it forwards to the
// system allocator and counts.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use serde_json::Value;

use slurm_exporter::collectors::{self, Context};
use slurm_exporter::config::{Config, RawConfig};
use slurm_exporter::exposition::{encode, Family, Format, Histogram, MetricType};
use slurm_exporter::model::{self, hostlist, ControllerData, SlurmData};
use slurm_exporter::web::auth::credentials;
use slurm_exporter::web::file::WebConfig;

// ---------------------------------------------------------------------------
// Allocation accounting, per thread (the parsers are single-threaded).

struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn on_alloc(size: usize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get().saturating_add(size);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn on_dealloc(size: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(size)));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        on_alloc(layout.size());
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        on_dealloc(layout.size());
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        on_alloc(new_size);
        on_dealloc(layout.size());
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes a parse may allocate at its peak: a fixed allowance (buffers) plus a
/// multiple of the input (the model, and `meta` kept as a JSON tree).
fn allowance(input_len: usize) -> usize {
    (1 << 20) + 256 * input_len
}

/// The YAML loader keeps every event of the document (about 260 bytes each, one
/// per two bytes of `- - - -`) before deserializing: linear, but a larger multiple.
/// The config file is the operator's, not outside input.
fn yaml_allowance(input_len: usize) -> usize {
    (1 << 20) + 1024 * input_len
}

/// Runs `f`, failing when its peak allocation exceeds [`allowance`].
fn bounded<T>(what: &str, input_len: usize, f: impl FnOnce() -> T) -> T {
    bounded_by(what, input_len, allowance(input_len), f)
}

fn bounded_by<T>(what: &str, input_len: usize, limit: usize, f: impl FnOnce() -> T) -> T {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = f();
    let peak = PEAK.with(Cell::get).saturating_sub(base);
    assert!(
        peak <= limit,
        "{what}: allocated {peak} bytes at peak for {input_len} bytes of input"
    );
    out
}

// ---------------------------------------------------------------------------
// The parsers, each followed by the collectors and encoders on what it accepts.

/// Runs every collector whose data is present and encodes both formats.
fn collect_all(data: &SlurmData) {
    let ctx = Context::new("prop", 1_700_000_000);
    for collector in collectors::ALL {
        if collector.needs.iter().all(|kind| data.has(*kind)) {
            let families = collector.collect_once(data, &ctx);
            for format in [Format::Text, Format::OpenMetrics] {
                let mut out = String::new();
                encode(&families, format, &mut out);
            }
        }
    }
}

fn nodes(n: model::Nodes) -> SlurmData {
    SlurmData {
        nodes: Some(Arc::new(n)),
        ..Default::default()
    }
}

fn jobs(j: model::Jobs) -> SlurmData {
    SlurmData {
        jobs: Some(Arc::new(j)),
        ..Default::default()
    }
}

fn partitions(p: model::Partitions) -> SlurmData {
    SlurmData {
        partitions: Some(Arc::new(p)),
        ..Default::default()
    }
}

/// What one accounting read of these jobs would report.
fn accounting(jobs: Vec<model::AcctJob>) -> SlurmData {
    SlurmData {
        accounting: Some(Arc::new(model::Accounting {
            finished: jobs.iter().filter(|j| j.finished()).cloned().collect(),
            started: jobs.into_iter().filter(|j| j.ran).collect(),
            watermark: 1,
            catching_up: false,
        })),
        ..Default::default()
    }
}

fn diag(d: model::Diag) -> SlurmData {
    SlurmData {
        diag: Some(Arc::new(d)),
        ..Default::default()
    }
}

fn controllers(c: ControllerData) -> SlurmData {
    SlurmData {
        controllers: Some(Arc::new(c)),
        ..Default::default()
    }
}

type Parser = fn(&[u8]) -> Option<SlurmData>;

const JSON_PARSERS: &[(&str, Parser)] = &[
    ("json nodes", |b| {
        model::json::parse_nodes(b).ok().map(|r| nodes(r.data))
    }),
    ("json jobs", |b| {
        model::json::parse_jobs(b).ok().map(|r| jobs(r.data))
    }),
    ("json partitions", |b| {
        model::json::parse_partitions(b)
            .ok()
            .map(|r| partitions(r.data))
    }),
    ("json diag", |b| {
        model::json::parse_diag(b).ok().map(|r| diag(r.data))
    }),
    ("json licenses", |b| {
        model::json::parse_licenses(b).ok().map(|r| SlurmData {
            licenses: Some(Arc::new(r.data)),
            ..Default::default()
        })
    }),
    ("json reservations", |b| {
        model::json::parse_reservations(b).ok().map(|r| SlurmData {
            reservations: Some(Arc::new(r.data)),
            ..Default::default()
        })
    }),
    ("json slurmdb jobs", |b| {
        model::json::parse_acct_jobs(b)
            .ok()
            .map(|r| accounting(r.data))
    }),
    ("json ping", |b| {
        model::json::parse_ping(b).ok().map(|r| {
            controllers(ControllerData {
                controllers: r.data,
                info: Default::default(),
            })
        })
    }),
    ("json shares", |b| {
        model::json::parse_shares(b).ok().map(|r| SlurmData {
            shares: Some(Arc::new(r.data)),
            ..Default::default()
        })
    }),
    ("json qos", |b| {
        model::json::parse_qos(b).ok().map(|r| qos(r.data))
    }),
    ("json associations", |b| {
        model::json::parse_associations(b).ok().map(|r| SlurmData {
            associations: Some(Arc::new(r.data)),
            ..Default::default()
        })
    }),
];

/// QOS limits with an empty usage report, so the qos collector runs.
fn qos(q: model::QosList) -> SlurmData {
    SlurmData {
        qos: Some(Arc::new(q)),
        qos_usage: Some(Arc::new(model::QosUsages::default())),
        ..Default::default()
    }
}

const TEXT_PARSERS: &[(&str, Parser)] = &[
    ("squeue", |b| model::text::parse_squeue(b).ok().map(jobs)),
    ("scontrol nodes", |b| {
        model::text::parse_scontrol_nodes(b).ok().map(nodes)
    }),
    ("scontrol partitions", |b| {
        model::text::parse_scontrol_partitions(b)
            .ok()
            .map(partitions)
    }),
    ("sdiag", |b| model::text::parse_sdiag(b).ok().map(diag)),
    ("scontrol licenses", |b| {
        model::text::parse_scontrol_licenses(b)
            .ok()
            .map(|l| SlurmData {
                licenses: Some(Arc::new(l)),
                ..Default::default()
            })
    }),
    ("scontrol reservations", |b| {
        model::text::parse_scontrol_reservations(b)
            .ok()
            .map(|r| SlurmData {
                reservations: Some(Arc::new(r)),
                ..Default::default()
            })
    }),
    ("sacct", |b| {
        model::text::parse_sacct(b).ok().map(accounting)
    }),
    ("sacct memory", |b| {
        model::text::parse_sacct_memory(b).ok().map(|m| {
            let finished = |(id, memory)| model::AcctJob {
                id,
                state: "COMPLETED".into(),
                end: Some(1),
                ran: true,
                memory,
                ..Default::default()
            };
            accounting(m.into_iter().map(finished).collect())
        })
    }),
    ("scontrol ping", |b| {
        model::text::parse_scontrol_ping(b).ok().map(|c| {
            controllers(ControllerData {
                controllers: c,
                info: Default::default(),
            })
        })
    }),
    ("scontrol config", |b| {
        model::text::parse_scontrol_config(b).ok().map(|info| {
            controllers(ControllerData {
                controllers: Vec::new(),
                info,
            })
        })
    }),
    ("sshare", |b| {
        model::text::parse_sshare(b).ok().map(|s| SlurmData {
            shares: Some(Arc::new(s)),
            ..Default::default()
        })
    }),
    ("sacctmgr qos", |b| {
        model::text::parse_sacctmgr_qos(b).ok().map(qos)
    }),
    ("assoc_mgr qos", |b| {
        model::text::parse_assoc_mgr_qos(b).ok().map(|u| SlurmData {
            qos: Some(Arc::new(model::QosList::default())),
            qos_usage: Some(Arc::new(u)),
            ..Default::default()
        })
    }),
    ("assoc_mgr assoc", |b| {
        model::text::parse_assoc_mgr_assocs(b)
            .ok()
            .map(|a| SlurmData {
                associations: Some(Arc::new(a)),
                ..Default::default()
            })
    }),
];

/// One parser on `input`, allocation-checked, then the collectors on its result.
fn check(name: &str, parser: Parser, input: &[u8]) {
    if let Some(data) = bounded(name, input.len(), || parser(input)) {
        collect_all(&data);
    }
}

fn check_all(parsers: &[(&str, Parser)], input: &[u8]) {
    for (name, parser) in parsers {
        check(name, *parser, input);
    }
}

/// `Config::from_raw` resolves a listen address naming a host: keep only those
/// that need no DNS look-up (IP literals, `:port`, or a port that does not parse,
/// which fails before any look-up).
fn no_name_lookup(raw: &mut RawConfig) {
    let Some(listen) = raw.web.listen_address.as_deref() else {
        return;
    };
    let full = if listen.starts_with(':') {
        format!("0.0.0.0{listen}")
    } else {
        listen.to_string()
    };
    let literal = full.parse::<std::net::SocketAddr>().is_ok();
    let bad_port = full
        .rsplit_once(':')
        .map_or(true, |(_, port)| port.parse::<u16>().is_err());
    if !literal && !bad_port {
        raw.web.listen_address = None;
    }
}

/// The YAML config parser and its validation; a configuration that validates
/// must be usable without overflow (`interval × ready_max_intervals`).
fn check_config(text: &str) {
    let raw = bounded_by(
        "config yaml",
        text.len(),
        yaml_allowance(text.len()),
        || RawConfig::from_yaml(text),
    );
    if let Ok(mut raw) = raw {
        no_name_lookup(&mut raw);
        for jwt_in_env in [false, true] {
            if let Ok(config) = Config::from_raw(raw.clone(), jwt_in_env) {
                assert!(config.timeout <= config.interval);
                assert!(config.ready_max_intervals >= 1);
            }
        }
    }
}

/// The web config file (`--web.config.file`), parsed and validated from text.
fn check_web_config(text: &str) {
    let _ = bounded_by("web config", text.len(), yaml_allowance(text.len()), || {
        WebConfig::parse(Path::new("web-config.yml"), text)
    });
}

/// `Authorization: Basic …` as the server splits it.
fn check_credentials(header: &str) {
    let _ = bounded("basic auth", header.len(), || credentials(Some(header)));
}

/// Host lists (reservation node lists): capped at MAX_HOSTS names and MAX_BYTES.
fn check_hostlist(list: &str) {
    let limit = allowance(list.len()) + 4 * hostlist::MAX_BYTES;
    if let Ok(names) = bounded_by("hostlist", list.len(), limit, || hostlist::expand(list)) {
        assert!(names.len() <= hostlist::MAX_HOSTS);
        assert!(names.iter().map(String::len).sum::<usize>() <= hostlist::MAX_BYTES);
    }
}

fn check_accept(header: &str) {
    let format = bounded("accept", header.len(), || Format::negotiate(Some(header)));
    assert!(matches!(format, Format::Text | Format::OpenMetrics));
}

// ---------------------------------------------------------------------------
// Seeds.

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Hand-made documents in the shapes of v0.0.39–v0.0.44 (numbers as
/// `{set, infinite, number}`, states as lists, timestamps as objects).
const NEW_SHAPES: &[&str] = &[
    r#"{"meta":{"plugin":{"data_parser":"data_parser/v0.0.41"},"slurm":{"version":{"major":"24","minor":"11","micro":"1"},"release":"24.11.1","cluster":"c"}},"nodes":[{"name":"n1","state":["MIXED","DRAIN"],"cpus":8,"alloc_cpus":4,"real_memory":1000,"alloc_memory":500,"free_mem":{"set":true,"infinite":false,"number":300},"cpu_load":150,"partitions":["p"],"reason":"disk","reason_changed_at":{"set":true,"infinite":false,"number":1700000000}}],"last_update":{"set":true,"infinite":false,"number":1700000001},"errors":[],"warnings":[]}"#,
    r#"{"meta":{"plugin":{"data_parser":"data_parser/v0.0.40"}},"jobs":[{"job_id":7,"job_state":["PENDING"],"partition":"p,q","cpus":{"set":true,"infinite":false,"number":2},"node_count":{"set":true,"infinite":false,"number":1},"submit_time":{"set":true,"infinite":false,"number":1700000000},"start_time":{"set":false,"infinite":false,"number":0},"state_reason":"Priority","array_task_id":{"set":false,"infinite":false,"number":0},"array_task_string":"1-10%2","cluster":"c"}],"errors":[]}"#,
    r#"{"partitions":[{"name":"p","state":{"current":["UP"]},"nodes":{"configured":"n[1-2]","total":2},"cpus":{"total":16},"maximums":{"time":{"set":true,"infinite":true,"number":0}},"flags":["DEFAULT"]}],"meta":{}}"#,
    r#"{"statistics":{"server_thread_count":3,"agent_queue_size":0,"jobs_submitted":10,"schedule_cycle_last":{"set":true,"infinite":false,"number":5},"bf_active":false,"rpcs_by_message_type":[{"message_type":"REQUEST_PING","type_id":1008,"count":3,"average_time":{"set":true,"number":7},"total_time":21}],"rpcs_by_user":[{"user":"root","user_id":0,"count":1,"average_time":1,"total_time":1}],"req_time":{"set":true,"infinite":false,"number":1700000000}}}"#,
    r#"{"pings":[{"hostname":"h1","pinged":"UP","latency":12,"mode":"primary","primary":true,"responding":true},{"hostname":"h2","pinged":"DOWN","latency":0,"mode":"backup1","responding":false}],"meta":{}}"#,
    r#"{"errors":[{"description":"Unable to query","error_number":1007,"error":"Protocol authentication error"}],"meta":{}}"#,
];

/// Text in the layouts of later versions and odd corners.
const TEXT_SEEDS: &[&str] = &[
    "Slurmctld(primary) at h1 is UP\nSlurmctld(backup1) at h2 is DOWN\n",
    "Slurmctld(primary/backup) at h1/h2 is UP/DOWN\n",
    "ClusterName             = lab\nSLURM_VERSION           = 26.05.2\n",
    "NodeName=n1 Arch=x86_64 CPUTot=4 CPUAlloc=2 RealMemory=4000 AllocMem=100 FreeMem=N/A State=MIXED+DRAIN Partitions=a,b CPULoad=0.50 Reason=bad disk [root@1700000000] Comment=x\n",
    "PartitionName=a Default=YES MaxTime=1-00:00:00 State=UP TotalCPUs=8 TotalNodes=2\n",
    "42_[5-20%2]|PENDING|batch|8|2|1700000000|N/A|weird | reason\n",
];

fn read_dir_files(dir: &Path, max_len: u64, out: &mut Vec<Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            read_dir_files(&path, max_len, out);
        } else if path.metadata().is_ok_and(|m| m.len() <= max_len) {
            if let Ok(bytes) = std::fs::read(&path) {
                out.push(bytes);
            }
        }
    }
}

struct Seeds {
    json: Vec<(Vec<u8>, Value)>,
    text: Vec<Vec<u8>>,
}

fn is_json(bytes: &[u8]) -> bool {
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// JSON documents (those that parse) and text, in that order of preference.
fn split_seeds(files: Vec<Vec<u8>>) -> Seeds {
    let mut seeds = Seeds {
        json: Vec::new(),
        text: Vec::new(),
    };
    for bytes in files {
        if is_json(&bytes) {
            if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
                seeds.json.push((bytes, value));
                continue;
            }
        }
        seeds.text.push(bytes);
    }
    seeds
}

/// The inputs of this repository: the lab fixtures and the hand-made seeds.
fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut files = Vec::new();
        read_dir_files(
            &repo().join("tests/fixtures/slurm-22.05"),
            64 * 1024,
            &mut files,
        );
        assert!(
            !files.is_empty(),
            "no fixtures in tests/fixtures/slurm-22.05"
        );
        files.extend(NEW_SHAPES.iter().map(|s| s.as_bytes().to_vec()));
        files.extend(TEXT_SEEDS.iter().map(|s| s.as_bytes().to_vec()));
        split_seeds(files)
    })
}

/// Later versions' output from `../shared/slurm-samples`; panics when it is missing.
fn shared_seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let dir = repo().join("../shared/slurm-samples");
        let mut files = Vec::new();
        read_dir_files(&dir, 64 * 1024, &mut files);
        let seeds = split_seeds(files);
        assert!(
            !seeds.json.is_empty() && !seeds.text.is_empty(),
            "this test needs ../shared/slurm-samples beside the repository, and {} holds \
             no samples; without them, run cargo test without --include-ignored",
            dir.display()
        );
        seeds
    })
}

fn any_seed(index: usize) -> &'static [u8] {
    seed_of(seeds(), index)
}

fn seed_of(s: &Seeds, index: usize) -> &[u8] {
    let n = s.json.len() + s.text.len();
    let i = index % n;
    if i < s.json.len() {
        &s.json[i].0
    } else {
        &s.text[i - s.json.len()]
    }
}

// ---------------------------------------------------------------------------
// JSON mutations: the document is written back with one node changed.

/// Values that broke or bent parsers elsewhere: sentinels, overflows, other types.
const ODD_JSON: &[&str] = &[
    "null",
    "true",
    "0",
    "-1",
    "-2",
    "4294967294",
    "4294967295",
    "18446744073709551614",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "-9223372036854775809",
    "170141183460469231731687303715884105728",
    "99999999999999999999999999999999999999999999999999",
    "1e308",
    "-1e308",
    "1e400",
    "1.8e19",
    "0.5",
    "-0.0",
    "\"Infinity\"",
    "\"-Infinity\"",
    "\"NaN\"",
    "\"\"",
    "\"N/A\"",
    "\"1e999\"",
    "\"\\ud800\"",
    "\"\\u0000|=\\n\\\"é\"",
    "\"DOWN+DRAIN+NOT_RESPONDING\"",
    "\"0-18446744073709551615\"",
    "\"1-4294967295:1%5\"",
    "[]",
    "{}",
    "[[]]",
    "[\"IDLE\",null,7]",
    "{\"set\":true,\"infinite\":false,\"number\":18446744073709551615}",
    "{\"set\":true,\"infinite\":false,\"number\":-5}",
    "{\"set\":true,\"infinite\":true}",
    "{\"set\":\"yes\",\"number\":\"42\"}",
    "{\"set\":[],\"infinite\":{},\"number\":[]}",
    "{\"number\":{\"number\":{\"number\":1}}}",
    "{\"total\":-1}",
    "{\"current\":[\"UP\"]}",
];

#[derive(Debug, Clone)]
enum JsonOp {
    /// The node becomes this JSON text (possibly invalid on purpose).
    Replace(String),
    /// An object loses its k-th member.
    DropMember(usize),
    /// An object's k-th key appears again with this value.
    DuplicateMember(usize, String),
    /// Each element of an array (or the node itself, wrapped) appears n times.
    Repeat(usize),
    /// The node nested `depth` times inside arrays or objects.
    Nest(usize, bool),
}

fn json_op() -> impl Strategy<Value = JsonOp> {
    let odd = prop::sample::select(ODD_JSON).prop_map(str::to_string);
    let text = "[ -~]{0,40}".prop_map(|s| serde_json::to_string(&s).unwrap_or_default());
    let value = prop_oneof![4 => odd, 1 => text];
    prop_oneof![
        6 => value.clone().prop_map(JsonOp::Replace),
        1 => "[\\[\\]{}\",:0-9a-z -]{0,12}".prop_map(JsonOp::Replace),
        2 => any::<usize>().prop_map(JsonOp::DropMember),
        2 => (any::<usize>(), value).prop_map(|(k, v)| JsonOp::DuplicateMember(k, v)),
        1 => (2usize..64).prop_map(JsonOp::Repeat),
        1 => (
            prop::sample::select(&[127usize, 128, 129, 1000, 20_000][..]),
            any::<bool>()
        )
            .prop_map(|(d, arrays)| JsonOp::Nest(d, arrays)),
    ]
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// Writes `v` with the node numbered `target` (pre-order) changed by `op`.
fn write_mutated(v: &Value, target: usize, op: &JsonOp, counter: &mut usize, out: &mut String) {
    let me = *counter;
    *counter += 1;
    if me == target {
        match (op, v) {
            (JsonOp::Replace(text), _) => {
                out.push_str(text);
                return;
            }
            (JsonOp::DropMember(k), Value::Object(map)) if !map.is_empty() => {
                let skip = k % map.len();
                out.push('{');
                let mut first = true;
                for (i, (key, value)) in map.iter().enumerate() {
                    if i == skip {
                        continue;
                    }
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    out.push_str(&json_string(key));
                    out.push(':');
                    write_plain(value, out);
                }
                out.push('}');
                return;
            }
            (JsonOp::DuplicateMember(k, text), Value::Object(map)) if !map.is_empty() => {
                let dup = k % map.len();
                out.push('{');
                for (i, (key, value)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&json_string(key));
                    out.push(':');
                    write_plain(value, out);
                    if i == dup {
                        out.push(',');
                        out.push_str(&json_string(key));
                        out.push(':');
                        out.push_str(text);
                    }
                }
                out.push('}');
                return;
            }
            (JsonOp::Repeat(n), Value::Array(items)) => {
                out.push('[');
                let mut first = true;
                for item in items {
                    for _ in 0..*n {
                        if !first {
                            out.push(',');
                        }
                        first = false;
                        write_plain(item, out);
                    }
                }
                out.push(']');
                return;
            }
            (JsonOp::Repeat(n), _) => {
                out.push('[');
                for i in 0..*n {
                    if i > 0 {
                        out.push(',');
                    }
                    write_plain(v, out);
                }
                out.push(']');
                return;
            }
            (JsonOp::Nest(depth, arrays), _) => {
                let (open, close) = if *arrays {
                    ("[", "]")
                } else {
                    ("{\"number\":", "}")
                };
                out.push_str(&open.repeat(*depth));
                write_plain(v, out);
                out.push_str(&close.repeat(*depth));
                return;
            }
            _ => {}
        }
    }
    match v {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_mutated(item, target, op, counter, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, value)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&json_string(key));
                out.push(':');
                write_mutated(value, target, op, counter, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn write_plain(v: &Value, out: &mut String) {
    out.push_str(&v.to_string());
}

fn count_nodes(v: &Value) -> usize {
    1 + match v {
        Value::Array(items) => items.iter().map(count_nodes).sum(),
        Value::Object(map) => map.values().map(count_nodes).sum(),
        _ => 0,
    }
}

// ---------------------------------------------------------------------------
// Line mutations for the text formats.

/// Field values that are unset, out of range or separators in disguise.
const ODD_TEXT: &[&str] = &[
    "",
    "N/A",
    "(null)",
    "-1",
    "0",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999",
    "9223372036854775807",
    "-9223372036854775808",
    "1e308",
    "NaN",
    "inf",
    "-0",
    "0-0:0",
    "18446744073709551615-23:59:59",
    "99999999999999999-00:00:00",
    "1:2:3:4",
    "[root@0]",
    "[root@18446744073709551615]",
    "[",
    "]",
    "=",
    "==",
    "|",
    "||||||||",
    ":",
    "Reason=",
    "Reason=[a@1]",
    "NodeName=",
    "PartitionName=",
    "Comment=",
    "é\u{fffd}",
    "\t",
    "  ",
    "\r",
    "1_[0-18446744073709551615]",
    "1_[1-18446744073709551615:1]",
    "1_[0-99999999999999999999]",
    "1_[0-4294967295,0-4294967295]",
    "1_[%]",
    "1_[5-",
    "MIXED+DRAIN+COMPLETING+NOT_RESPONDING",
    "(1700000000)",
    "(18446744073709551615)",
];

#[derive(Debug, Clone)]
enum LineOp {
    Drop,
    Repeat(usize),
    MoveFirst,
    Indent,
    /// The k-th field (split on `|`, blanks, `=` or `:`) becomes this text.
    ReplaceField(usize, String),
    /// The line is cut after this many bytes.
    Cut(usize),
    /// A line of another seed is inserted here.
    Foreign(usize, usize),
}

fn line_op() -> impl Strategy<Value = LineOp> {
    let odd = prop_oneof![
        4 => prop::sample::select(ODD_TEXT).prop_map(str::to_string),
        1 => "[ -~]{0,20}",
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => any::<i64>().prop_map(|n| n.to_string()),
    ];
    prop_oneof![
        1 => Just(LineOp::Drop),
        1 => (2usize..200).prop_map(LineOp::Repeat),
        1 => Just(LineOp::MoveFirst),
        1 => Just(LineOp::Indent),
        6 => (any::<usize>(), odd).prop_map(|(k, v)| LineOp::ReplaceField(k, v)),
        1 => any::<usize>().prop_map(LineOp::Cut),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(s, l)| LineOp::Foreign(s, l)),
    ]
}

fn mutate_lines(text: &str, line: usize, op: &LineOp) -> String {
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let i = line % lines.len();
    match op {
        LineOp::Drop => {
            lines.remove(i);
        }
        LineOp::Repeat(n) => {
            let copy = lines[i].clone();
            for _ in 1..*n {
                lines.insert(i, copy.clone());
            }
        }
        LineOp::MoveFirst => {
            let l = lines.remove(i);
            lines.insert(0, l);
        }
        LineOp::Indent => lines[i].insert_str(0, "   "),
        LineOp::ReplaceField(k, value) => {
            let l = &lines[i];
            // Field boundaries: after each separator.
            let starts: Vec<usize> = std::iter::once(0)
                .chain(
                    l.char_indices()
                        .filter(|(_, c)| matches!(c, '|' | ' ' | '=' | ':' | ','))
                        .map(|(at, c)| at + c.len_utf8()),
                )
                .collect();
            let start = starts[k % starts.len()];
            let end = l[start..]
                .find(['|', ' ', '=', ':', ','])
                .map_or(l.len(), |e| start + e);
            lines[i] = format!("{}{}{}", &l[..start], value, &l[end..]);
        }
        LineOp::Cut(at) => {
            let l = &lines[i];
            let mut at = at % (l.len() + 1);
            while !l.is_char_boundary(at) {
                at -= 1;
            }
            lines[i].truncate(at);
        }
        LineOp::Foreign(seed, line) => {
            let other = String::from_utf8_lossy(any_seed(*seed)).into_owned();
            let other: Vec<&str> = other.split('\n').collect();
            lines.insert(i, other[line % other.len()].to_string());
        }
    }
    lines.join("\n")
}

// ---------------------------------------------------------------------------
// Deterministic sweeps.

/// Where to cut an input of `len` bytes: everywhere when it is small (2 KiB),
/// else at every byte of the first and last 64 and at 200 points between.
fn cut_points(len: usize) -> Vec<usize> {
    if len <= 2048 {
        return (0..=len).collect();
    }
    let mut points: Vec<usize> = (0..64).chain(len - 64..=len).collect();
    points.extend((1..200).map(|i| i * len / 200));
    points.sort_unstable();
    points.dedup();
    points
}

/// The JSON parsers a document is meant for (by its data key), else all of them.
fn json_parsers_for(bytes: &[u8]) -> Vec<(&'static str, Parser)> {
    let text = String::from_utf8_lossy(bytes);
    // In the order of JSON_PARSERS.
    let keys = [
        "\"nodes\"",
        "\"jobs\"",
        "\"partitions\"",
        "\"statistics\"",
        "\"licenses\"",
        "\"reservations\"",
        "\"pings\"",
        "\"shares\"",
        "\"qos\"",
        "\"associations\"",
    ];
    let meant: Vec<(&'static str, Parser)> = JSON_PARSERS
        .iter()
        .zip(keys)
        .filter(|(_, key)| text.contains(key))
        .map(|(parser, _)| *parser)
        .collect();
    if meant.is_empty() {
        JSON_PARSERS.to_vec()
    } else {
        meant
    }
}

/// Random bytes spliced into seed `seed` at `at`, `cut` bytes of it replaced.
fn splice(s: &Seeds, seed: usize, at: usize, cut: usize, insert: &[u8]) {
    let bytes = seed_of(s, seed);
    let at = at % (bytes.len() + 1);
    let end = (at + cut).min(bytes.len());
    let mut input = bytes[..at].to_vec();
    input.extend_from_slice(insert);
    input.extend_from_slice(&bytes[end..]);
    check_all(JSON_PARSERS, &input);
    check_all(TEXT_PARSERS, &input);
}

/// One node of JSON seed `seed` changed by `op`.
fn mutate_json(s: &Seeds, seed: usize, node: usize, op: &JsonOp) {
    let (_, value) = &s.json[seed % s.json.len()];
    let target = node % count_nodes(value);
    let mut out = String::new();
    write_mutated(value, target, op, &mut 0, &mut out);
    check_all(JSON_PARSERS, out.as_bytes());
}

/// Lines of text seed `seed` edited.
fn mutate_text(s: &Seeds, seed: usize, edits: &[(usize, LineOp)]) {
    let mut text = String::from_utf8_lossy(&s.text[seed % s.text.len()]).into_owned();
    for (line, op) in edits {
        text = mutate_lines(&text, *line, op);
    }
    check_all(TEXT_PARSERS, text.as_bytes());
}

/// Prefixes of every input, through the parsers of its kind.
fn every_truncation(s: &Seeds) {
    for (bytes, _) in &s.json {
        let parsers = json_parsers_for(bytes);
        for end in cut_points(bytes.len()) {
            check_all(&parsers, &bytes[..end]);
        }
    }
    for bytes in &s.text {
        for end in cut_points(bytes.len()) {
            check_all(TEXT_PARSERS, &bytes[..end]);
        }
    }
}

/// Prefixes of every input of this repository.
#[test]
fn every_truncation_of_the_fixtures() {
    every_truncation(seeds());
}

/// Prefixes of every shared sample.
#[test]
#[ignore = "needs ../shared/slurm-samples"]
fn every_truncation_of_the_shared_samples() {
    every_truncation(shared_seeds());
}

/// Nesting far beyond serde's recursion limit, in every JSON parser and the YAML one.
#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for depth in [100, 127, 128, 129, 1_000, 100_000] {
        for (open, close) in [("[", "]"), ("{\"a\":", "}"), ("{\"nodes\":", "}")] {
            let doc = format!("{}1{}", open.repeat(depth), close.repeat(depth));
            check_all(JSON_PARSERS, doc.as_bytes());
            let inner = format!("{}1{}", open.repeat(depth), close.repeat(depth));
            for key in ["meta", "errors", "nodes", "jobs", "statistics", "pings"] {
                let doc = format!("{{\"{key}\":{inner}}}");
                check_all(JSON_PARSERS, doc.as_bytes());
            }
        }
    }
    // The YAML loader is slower per level: 10,000 is far past its limit of 128.
    for depth in [127, 128, 129, 10_000] {
        check_config(&format!(
            "collectors: {}1{}",
            "[".repeat(depth),
            "]".repeat(depth)
        ));
        check_config(&"- ".repeat(depth));
        check_config(&format!("{}a", "a: {".repeat(depth)));
    }
}

/// YAML aliases that would expand exponentially ("billion laughs").
#[test]
fn yaml_alias_expansion_is_bounded() {
    let mut yaml = String::from("a0: &a0 [jobs, nodes, jobs, nodes, jobs, nodes, jobs, nodes]\n");
    for i in 1..12 {
        let prev = format!("*a{}", i - 1);
        yaml.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            [prev.as_str(); 8].join(", ")
        ));
    }
    check_config(&yaml);
    check_config(&format!("slurm:\n  cli_json: &x [jobs]\n{yaml}"));
    check_config(&format!(
        "{}slurm:\n  cli_json: *a11\n",
        yaml.replace("a0:", "x0:")
    ));
}

// ---------------------------------------------------------------------------
// Properties.

fn proptest_config() -> ProptestConfig {
    // PROPTEST_CASES (default 256) is read by `ProptestConfig::default()`.
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// The shared samples' properties load them before the runner starts, so that
// without them each test fails once, saying why, rather than in every case.

/// `spliced_seeds` on the shared samples.
#[test]
#[ignore = "needs ../shared/slurm-samples"]
fn spliced_shared_samples() {
    let s = shared_seeds();
    proptest!(proptest_config(), |(
        seed in any::<usize>(),
        at in any::<usize>(),
        cut in 0usize..64,
        insert in prop::collection::vec(any::<u8>(), 0..32),
    )| {
        splice(s, seed, at, cut, &insert);
    });
}

/// `mutated_json` on the shared samples.
#[test]
#[ignore = "needs ../shared/slurm-samples"]
fn mutated_shared_json() {
    let s = shared_seeds();
    proptest!(proptest_config(), |(seed in any::<usize>(), node in any::<usize>(), op in json_op())| {
        mutate_json(s, seed, node, &op);
    });
}

/// `mutated_lines` on the shared samples.
#[test]
#[ignore = "needs ../shared/slurm-samples"]
fn mutated_shared_lines() {
    let s = shared_seeds();
    proptest!(proptest_config(), |(
        seed in any::<usize>(),
        edits in prop::collection::vec((any::<usize>(), line_op()), 1..4),
    )| {
        mutate_text(s, seed, &edits);
    });
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        check_all(JSON_PARSERS, &bytes);
        check_all(TEXT_PARSERS, &bytes);
        let text = String::from_utf8_lossy(&bytes);
        check_config(&text);
        check_web_config(&text);
        check_accept(&text);
        check_credentials(&text);
        check_hostlist(&text);
    }

    #[test]
    fn arbitrary_text(text in "[ -~\n\t\u{e9}\u{fffd}]{0,400}") {
        check_all(JSON_PARSERS, text.as_bytes());
        check_all(TEXT_PARSERS, text.as_bytes());
        check_config(&text);
        check_web_config(&text);
        check_accept(&text);
        check_credentials(&text);
        check_hostlist(&text);
    }

    /// Host lists built from names, brackets, ranges and padding.
    #[test]
    fn structured_hostlist(
        items in prop::collection::vec(
            (
                "[a-z]{0,6}",
                prop::collection::vec(
                    prop::collection::vec(
                        prop_oneof![
                            "[0-9]{1,4}",
                            "0{0,3}[0-9]{1,3}-0{0,3}[0-9]{1,4}",
                            "[0-9]{1,25}-[0-9]{1,25}",
                            prop::sample::select(&["", "-", "1-", "a", "[", "]", " 1 ", "5-1"][..])
                                .prop_map(str::to_string),
                        ],
                        1..4,
                    ),
                    0..3,
                ),
                "[a-z]{0,3}",
            ),
            1..5,
        ),
    ) {
        let list: Vec<String> = items
            .iter()
            .map(|(name, groups, tail)| {
                let groups: String = groups.iter().map(|g| format!("{name}[{}]", g.join(","))).collect();
                format!("{name}{groups}{tail}")
            })
            .collect();
        check_hostlist(&list.join(","));
    }

    /// Web config files from the real keys with odd values.
    #[test]
    fn structured_web_config(
        lines in prop::collection::vec(
            prop::sample::select(&[
                "tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n",
                "tls_server_config:\n  cert_file: c.pem\n",
                "tls_server_config:\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n",
                "tls_server_config:\n  client_auth_type: Bogus\n",
                "tls_server_config:\n  min_version: TLS10\n  max_version: TLS13\n",
                "tls_server_config:\n  min_version: TLS13\n  max_version: TLS12\n",
                "tls_server_config:\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, NOPE]\n",
                "tls_server_config:\n  curve_preferences: [X25519, CurveP256, P-999]\n",
                "tls_server_config:\n  client_allowed_sans: [a, '', '*']\n",
                "http_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n",
                "http_server_config:\n  headers:\n    X-Frame-Options: maybe\n    Set-Cookie: x\n",
                "http_server_config:\n  headers:\n    Content-Security-Policy: \"a\\u0000b\"\n",
                "basic_auth_users:\n  alice: $2y$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234\n",
                "basic_auth_users:\n  bob: plaintext\n  '': ''\n",
                "unknown_key: 1\n",
                "~\n",
                "[]\n",
                "tls_server_config: &a {cert_file: *a}\n",
            ][..]),
            0..5,
        ),
    ) {
        check_web_config(&lines.concat());
    }

    /// Random bytes spliced into a real input, with some of it cut out.
    #[test]
    fn spliced_seeds(
        seed in any::<usize>(),
        at in any::<usize>(),
        cut in 0usize..64,
        insert in prop::collection::vec(any::<u8>(), 0..32),
    ) {
        splice(seeds(), seed, at, cut, &insert);
    }

    /// One node of a real JSON document changed: odd numbers, other types,
    /// dropped or duplicated keys, repeated elements, deep nesting.
    #[test]
    fn mutated_json(seed in any::<usize>(), node in any::<usize>(), op in json_op()) {
        mutate_json(seeds(), seed, node, &op);
    }

    /// Two mutations of the same document, so that a number and its neighbour
    /// key can both be odd.
    #[test]
    fn twice_mutated_json(
        seed in any::<usize>(),
        nodes in (any::<usize>(), any::<usize>()),
        ops in (json_op(), json_op()),
    ) {
        let s = seeds();
        let (_, value) = &s.json[seed % s.json.len()];
        let mut once = String::new();
        write_mutated(value, nodes.0 % count_nodes(value), &ops.0, &mut 0, &mut once);
        if let Ok(value) = serde_json::from_str::<Value>(&once) {
            let mut out = String::new();
            write_mutated(&value, nodes.1 % count_nodes(&value), &ops.1, &mut 0, &mut out);
            check_all(JSON_PARSERS, out.as_bytes());
        } else {
            check_all(JSON_PARSERS, once.as_bytes());
        }
    }

    /// Lines of real command output dropped, repeated, reordered, cut, or with a
    /// field replaced by an odd value.
    #[test]
    fn mutated_lines(
        seed in any::<usize>(),
        edits in prop::collection::vec((any::<usize>(), line_op()), 1..4),
    ) {
        mutate_text(seeds(), seed, &edits);
    }


    /// Config files built from the real keys with odd values.
    #[test]
    fn structured_config(
        entries in prop::collection::vec(
            (
                prop::sample::select(&[
                    ("web", "listen_address"),
                    ("slurm", "source"),
                    ("slurm", "rest_url"),
                    ("slurm", "jwt_file"),
                    ("slurm", "user"),
                    ("slurm", "cluster_name"),
                    ("slurm", "bin_dir"),
                    ("slurm", "cli_json"),
                    ("collection", "interval"),
                    ("collection", "timeout"),
                    ("collection", "ready_max_intervals"),
                    ("collectors", "jobs"),
                    ("collectors", "nodes"),
                    ("collectors", "gpus"),
                    ("log", "level"),
                    ("log", "format"),
                    ("unknown", "key"),
                ][..]),
                prop_oneof![
                    prop::sample::select(&[
                        "''", "~", "true", "0", "-1", "4294967295", "4294967296",
                        "18446744073709551616", "1e999", ".nan", ".inf", "[]", "{}",
                        "[jobs, nodes]", "[diag]", "rest", "cli", "json", "trace",
                        "30s", "0s", "1ns", "584942417355y", "18446744073709551615s",
                        "99999999999999999999999y", "1h 1m 1s 1ms", "-5s", "\"10s\"",
                        "':10341'", "'127.0.0.1:0'", "'[::1]:9'", "':99999'", "'::'",
                        "http://127.0.0.1:6820", "'http://'", "'http://a/b'",
                        "unix:///run/s.sock", "'unix://rel'", "https://x",
                        "&a 1", "*a", "!!binary aGk=", "!tag x", "|\n    multi\n    line",
                    ][..]).prop_map(str::to_string),
                    "[ -~]{0,20}".prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
                ],
            ),
            0..10,
        ),
    ) {
        let mut yaml = String::new();
        for ((section, key), _) in &entries {
            yaml.push_str(&format!("{section}:\n  {key}: {}\n", entries.len()));
        }
        // Each entry in its own block (later ones repeat sections: duplicate keys).
        let mut yaml2 = String::new();
        for ((section, key), value) in &entries {
            yaml2.push_str(&format!("{section}:\n  {key}: {value}\n"));
        }
        check_config(&yaml);
        check_config(&yaml2);
        // One section with every key (the normal layout).
        let mut by_section: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
        for ((section, key), value) in &entries {
            by_section.entry(section).or_default().push(format!("  {key}: {value}"));
        }
        let yaml3: String = by_section
            .iter()
            .map(|(s, lines)| format!("{s}:\n{}\n", lines.join("\n")))
            .collect();
        check_config(&yaml3);
    }

    /// Accept headers built from the media types and parameters scrapers send.
    #[test]
    fn structured_accept(
        parts in prop::collection::vec(
            (
                prop::sample::select(&[
                    "application/openmetrics-text", "APPLICATION/OpenMetrics-Text",
                    "text/plain", "*/*", "text/*", "application/json", "", " ",
                ][..]),
                prop::collection::vec(
                    prop::sample::select(&[
                        "q=0", "q=1", "q=0.5", "q=NaN", "q=nan", "q=inf", "q=-1",
                        "q=1e999", "q=", "q", "version=1.0.0", "version=0.0.4",
                        "charset=utf-8", "q=0.3;q=0.9", "=", ";",
                    ][..]),
                    0..4,
                ),
            ),
            0..12,
        ),
    ) {
        let header: Vec<String> = parts
            .iter()
            .map(|(media, params)| {
                std::iter::once(*media).chain(params.iter().copied()).collect::<Vec<_>>().join(";")
            })
            .collect();
        check_accept(&header.join(","));
    }

    /// Any label values and help texts survive the text encoding: the output
    /// parses back (with the small parser below) to the same values.
    #[test]
    fn exposition_round_trip(
        families in prop::collection::vec(
            (
                "[a-zA-Z_:][a-zA-Z0-9_:]{0,20}",
                "\\PC{0,30}|[\\\\\"\n\r\t ]{0,10}",
                0u8..3,
                prop::collection::vec(
                    (
                        prop::collection::vec(
                            "\\PC{0,20}|[\\\\\"\n{},= ]{0,10}|.{0,10}",
                            0..3,
                        ),
                        prop_oneof![
                            any::<f64>(),
                            Just(f64::NAN),
                            Just(f64::INFINITY),
                            Just(f64::NEG_INFINITY),
                            Just(-0.0),
                            Just(1e15),
                            Just(1e300),
                            any::<i64>().prop_map(|i| i as f64),
                        ],
                    ),
                    1..4,
                ),
            ),
            1..5,
        ),
        openmetrics in any::<bool>(),
    ) {
        const LABEL_NAMES: [&str; 3] = ["cluster", "node", "reason"];
        let mut built = Vec::new();
        for (i, (name, help, kind, samples)) in families.iter().enumerate() {
            // Distinct names, as the collectors guarantee.
            let name = format!("{name}_{i}");
            let kind = match kind {
                0 => MetricType::Gauge,
                1 => MetricType::Counter,
                _ => MetricType::Histogram,
            };
            let mut family = Family::new(name, help.clone(), kind);
            for (values, value) in samples {
                let labels: Vec<(&'static str, String)> =
                    LABEL_NAMES.iter().copied().zip(values.iter().cloned()).collect();
                if kind == MetricType::Histogram {
                    let mut h = Histogram::new(&[0.5, 1.0]);
                    if value.is_finite() {
                        h.observe(*value);
                    }
                    family.push_histogram(labels, &h);
                } else {
                    family.push(labels, *value);
                }
            }
            built.push(family);
        }
        let format = if openmetrics { Format::OpenMetrics } else { Format::Text };
        let mut out = String::new();
        encode(&built, format, &mut out);
        let parsed = parse_exposition(&out).unwrap_or_else(|e| panic!("{e}\n{out}"));
        let mut expected = Vec::new();
        for family in &built {
            for sample in &family.samples {
                expected.push((
                    format!("{}{}", family.name, sample.suffix),
                    sample
                        .labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.clone()))
                        .collect::<Vec<_>>(),
                    sample.value,
                ));
            }
        }
        prop_assert_eq!(parsed.samples.len(), expected.len());
        for ((name, labels, value), (pname, plabels, pvalue)) in expected.iter().zip(&parsed.samples) {
            prop_assert_eq!(name, pname);
            prop_assert_eq!(labels, plabels);
            prop_assert!(
                same_value(*value, *pvalue),
                "{} {}: wrote {} read {}", name, format!("{labels:?}"), value, pvalue
            );
        }
        let helps: Vec<&String> = built.iter().map(|f| &f.help).collect();
        let phelps: Vec<&String> = parsed.helps.iter().collect();
        prop_assert_eq!(helps, phelps);
    }
}

// ---------------------------------------------------------------------------
// Generated inputs: real layouts with every value drawn from odd ones, many
// records at once, so that sums and products in the collectors see them too.

/// A number field: odd text, any u64, or a long run of digits.
fn odd_number() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(ODD_TEXT).prop_map(str::to_string),
        2 => any::<u64>().prop_map(|n| n.to_string()),
        1 => Just(u64::MAX.to_string()),
        1 => "[0-9]{1,25}",
        1 => "[0-9]{1,3}\\.[0-9]{1,3}",
    ]
}

/// A JSON number in any spelling, odd ones included.
fn odd_json_number() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(ODD_JSON).prop_map(str::to_string),
        2 => any::<u64>().prop_map(|n| n.to_string()),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<u64>().prop_map(|n| format!("{{\"set\":true,\"infinite\":false,\"number\":{n}}}")),
        1 => Just(u64::MAX.to_string()),
    ]
}

fn array_id() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,20}",
        "[0-9]{1,3}_\\[[0-9]{1,20}-[0-9]{1,20}(:[0-9]{1,20})?(%[0-9]{1,3})?\\]",
        "[0-9]{1,3}_\\[([0-9]{1,20}(-[0-9]{1,20})?,){0,3}[0-9]{1,20}\\]",
        "[0-9]{1,5}\\+[0-9]",
        prop::sample::select(ODD_TEXT).prop_map(str::to_string),
    ]
}

const JOB_STATES: &[&str] = &[
    "PENDING",
    "RUNNING",
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "SUSPENDED",
    "TIMEOUT",
    "NODE_FAIL",
    "PREEMPTED",
    "OUT_OF_MEMORY",
    "COMPLETING",
    "CONFIGURING",
    "",
    "WEIRD",
];

const NODE_STATES: &[&str] = &[
    "IDLE",
    "MIXED",
    "ALLOCATED",
    "DOWN",
    "DRAIN",
    "DRAINED",
    "IDLE+DRAIN",
    "MIXED+DRAIN",
    "DOWN*+DRAIN",
    "FUTURE",
    "COMPLETING",
    "RESERVED",
    "PLANNED",
    "UNKNOWN",
    "",
    "ÉTAT",
];

fn squeue_text() -> impl Strategy<Value = String> {
    let tres = &[
        "cpu=1,mem=500M,node=1,billing=1",
        "cpu=2,mem=1.5G,gres/gpu=2",
        "mem=99999999999999999999T",
        "mem=",
        "N/A",
        "",
        "gres/gpu:a100=3,gres/gpu:h100=18446744073709551615",
    ][..];
    let request = &[
        "N/A",
        "gres:gpu:2",
        "gres/gpu:a100:1,gres/gpu:h100:2",
        "gres/gpu:18446744073709551615",
        "gres/shard:1",
        "gres:gpu:x:",
        "",
    ][..];
    let line = (
        (
            array_id(),
            prop::sample::select(JOB_STATES),
            prop::sample::select(&["p", "q", "p,q", "", " p "][..]),
            odd_number(),
            odd_number(),
            odd_number(),
            odd_number(),
        ),
        (
            prop::sample::select(&["alice", "(null)", "", "other", "N/A"][..]),
            prop::sample::select(&["physics", "", "other"][..]),
            odd_number(),
            prop::sample::select(tres),
            prop::collection::vec(prop::sample::select(request), 4),
        ),
        "[ -~]{0,12}",
    );
    prop::collection::vec(line, 1..12).prop_map(|lines| {
        lines
            .iter()
            .map(
                |(
                    (id, state, part, cpus, nodes, submit, start),
                    (user, account, tasks, tres, requests),
                    reason,
                )| {
                    format!(
                        "{id}|{state}|{part}|{cpus}|{nodes}|{submit}|{start}|{user}|{account}|{tasks}|{tres}|{}|{reason}\n",
                        requests.join("|")
                    )
                },
            )
            .collect()
    })
}

fn scontrol_nodes_text() -> impl Strategy<Value = String> {
    let keys = prop::collection::vec(
        (
            prop::sample::select(
                &[
                    "CPUTot",
                    "CPUAlloc",
                    "RealMemory",
                    "AllocMem",
                    "FreeMem",
                    "CPULoad",
                ][..],
            ),
            odd_number(),
        ),
        0..8,
    );
    let node = (
        keys,
        prop::sample::select(NODE_STATES),
        prop::sample::select(&["p", "q", "p,q", "(null)", ""][..]),
        prop::option::of(("[ -~]{0,12}", odd_number())),
    );
    prop::collection::vec(node, 1..8).prop_map(|nodes| {
        let mut text = String::new();
        for (i, (keys, state, parts, reason)) in nodes.iter().enumerate() {
            text.push_str(&format!("NodeName=n{i} State={state} Partitions={parts}"));
            for (k, v) in keys {
                text.push_str(&format!(" {k}={v}"));
            }
            if let Some((why, when)) = reason {
                text.push_str(&format!(" Reason={why} [root@{when}]"));
            }
            text.push('\n');
        }
        text
    })
}

fn scontrol_partitions_text() -> impl Strategy<Value = String> {
    let part = (
        prop::sample::select(&["p", "q"][..]),
        prop::sample::select(&["UP", "DOWN", "DRAIN", "INACTIVE", "", "?"][..]),
        odd_number(),
        odd_number(),
        prop_oneof![odd_number(), "[0-9]{1,20}-[0-9]{1,20}(:[0-9]{1,20}){0,2}"],
        prop::sample::select(&["YES", "NO", "yes", "maybe"][..]),
    );
    prop::collection::vec(part, 1..4).prop_map(|parts| {
        parts
            .iter()
            .map(|(name, state, cpus, nodes, max, default)| {
                format!("PartitionName={name} State={state} TotalCPUs={cpus} TotalNodes={nodes} MaxTime={max} Default={default}\n")
            })
            .collect()
    })
}

const SDIAG_LABELS: &[&str] = &[
    "Server thread count",
    "Agent queue size",
    "Jobs submitted",
    "Jobs running",
    "Last cycle",
    "Max cycle",
    "Total cycles",
    "Mean cycle",
    "Cycles per minute",
    "Total backfilled jobs (since last slurm start)",
    "Last depth cycle",
    "Depth Mean",
    "Job states ts",
    "Latency for 1000 calls to gettimeofday()",
];

fn sdiag_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        3 => (prop::sample::select(SDIAG_LABELS), odd_number())
            .prop_map(|(l, v)| format!("\t{l}: {v}")),
        1 => prop::sample::select(&[
            "Main schedule statistics (microseconds):",
            "Backfilling stats (WARNING: data obtained in the middle of backfilling execution.)",
            "Backfilling stats",
            "Remote Procedure Call statistics by message type",
            "Remote Procedure Call statistics by user",
            "Pending RPC statistics",
            "sdiag output at Thu Dec 02 19:00:00 2026 (1796238000)",
            "Data since      Thu Dec 02 00:00:00 2026 (18446744073709551615)",
        ][..]).prop_map(str::to_string),
        2 => ("[A-Z_]{1,12}", odd_number(), odd_number(), odd_number(), odd_number())
            .prop_map(|(t, id, n, avg, total)| format!("\t{t:<20}({id}) count:{n} ave_time:{avg} total_time:{total}")),
        1 => ("[a-z]{1,8}", odd_number(), odd_number(), odd_number())
            .prop_map(|(u, id, n, total)| format!("\t{u:<20}({id}) count:{n} ave_time:1 total_time:{total}")),
    ];
    prop::collection::vec(line, 1..30).prop_map(|lines| lines.join("\n"))
}

fn json_nodes_doc() -> impl Strategy<Value = String> {
    let node = (
        prop::collection::vec(
            (
                prop::sample::select(
                    &[
                        "cpus",
                        "alloc_cpus",
                        "real_memory",
                        "alloc_memory",
                        "free_mem",
                        "cpu_load",
                        "reason_changed_at",
                        "boards",
                        "sockets",
                    ][..],
                ),
                odd_json_number(),
            ),
            0..9,
        ),
        prop::sample::select(NODE_STATES),
        prop::bool::ANY,
    );
    prop::collection::vec(node, 1..6).prop_map(|nodes| {
        let records: Vec<String> = nodes
            .iter()
            .enumerate()
            .map(|(i, (fields, state, as_list))| {
                let state = if *as_list {
                    serde_json::to_string(&state.split('+').collect::<Vec<_>>()).unwrap_or_default()
                } else {
                    json_string(state)
                };
                let mut record =
                    format!("{{\"name\":\"n{i}\",\"state\":{state},\"partitions\":[\"p\"]");
                for (k, v) in fields {
                    record.push_str(&format!(",\"{k}\":{v}"));
                }
                record.push('}');
                record
            })
            .collect();
        format!("{{\"meta\":{{}},\"nodes\":[{}]}}", records.join(","))
    })
}

fn json_jobs_doc() -> impl Strategy<Value = String> {
    let job = (
        prop::collection::vec(
            (
                prop::sample::select(
                    &[
                        "cpus",
                        "node_count",
                        "submit_time",
                        "start_time",
                        "array_task_id",
                        "job_id",
                        "array_job_id",
                        "time_limit",
                    ][..],
                ),
                odd_json_number(),
            ),
            0..8,
        ),
        prop::sample::select(JOB_STATES),
        prop::option::of(prop_oneof![
            array_id().prop_map(|id| id
                .split_once('_')
                .map_or(id.clone(), |(_, t)| t.to_string())),
            prop::sample::select(ODD_TEXT).prop_map(str::to_string),
        ]),
    );
    prop::collection::vec(job, 1..8).prop_map(|jobs| {
        let records: Vec<String> = jobs
            .iter()
            .map(|(fields, state, tasks)| {
                let mut record = format!("{{\"job_state\":[\"{state}\"],\"partition\":\"p\",\"state_reason\":\"Priority\"");
                if let Some(tasks) = tasks {
                    record.push_str(&format!(",\"array_task_string\":{}", json_string(tasks)));
                }
                for (k, v) in fields {
                    record.push_str(&format!(",\"{k}\":{v}"));
                }
                record.push('}');
                record
            })
            .collect();
        format!("{{\"jobs\":[{}]}}", records.join(","))
    })
}

proptest! {
    #![proptest_config(proptest_config())]

    /// A whole cluster's text output, generated, through every collector together.
    #[test]
    fn generated_text_cluster(
        squeue in squeue_text(),
        nodes_text in scontrol_nodes_text(),
        partitions_text in scontrol_partitions_text(),
        sdiag in sdiag_text(),
    ) {
        let parsed_jobs = bounded("squeue", squeue.len(), || model::text::parse_squeue(squeue.as_bytes()));
        let parsed_nodes = bounded("scontrol nodes", nodes_text.len(), || {
            model::text::parse_scontrol_nodes(nodes_text.as_bytes())
        });
        let parsed_partitions = bounded("scontrol partitions", partitions_text.len(), || {
            model::text::parse_scontrol_partitions(partitions_text.as_bytes())
        });
        let parsed_diag = bounded("sdiag", sdiag.len(), || model::text::parse_sdiag(sdiag.as_bytes()));
        collect_all(&SlurmData {
            jobs: parsed_jobs.ok().map(Arc::new),
            nodes: parsed_nodes.ok().map(Arc::new),
            partitions: parsed_partitions.ok().map(Arc::new),
            diag: parsed_diag.ok().map(Arc::new),
            ..Default::default()
        });
    }

    /// Generated JSON nodes and jobs with odd numbers, through every collector together.
    #[test]
    fn generated_json_cluster(nodes_doc in json_nodes_doc(), jobs_doc in json_jobs_doc()) {
        let parsed_nodes = bounded("json nodes", nodes_doc.len(), || model::json::parse_nodes(nodes_doc.as_bytes()));
        let parsed_jobs = bounded("json jobs", jobs_doc.len(), || model::json::parse_jobs(jobs_doc.as_bytes()));
        let parts = model::Partitions {
            partitions: vec![model::Partition { name: "p".into(), ..Default::default() }],
        };
        collect_all(&SlurmData {
            nodes: parsed_nodes.ok().map(|r| Arc::new(r.data)),
            jobs: parsed_jobs.ok().map(|r| Arc::new(r.data)),
            partitions: Some(Arc::new(parts)),
            ..Default::default()
        });
    }
}

/// Equal, or both NaN; integers above 1e15 may be printed through `{}` of f64,
/// which round-trips exactly.
fn same_value(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b
}

// ---------------------------------------------------------------------------
// A small parser of the text exposition, strict about what the encoder must
// produce: `# HELP name text`, `# TYPE name type`, `name{k="v",...} value`.

/// Name (with suffix), labels and value of one sample line.
type ParsedSample = (String, Vec<(String, String)>, f64);

struct Parsed {
    helps: Vec<String>,
    samples: Vec<ParsedSample>,
}

fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn parse_exposition(text: &str) -> Result<Parsed, String> {
    let mut parsed = Parsed {
        helps: Vec::new(),
        samples: Vec::new(),
    };
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("output does not end with a newline".into());
    }
    // Split on `\n` only: a carriage return is data, not a line end.
    for line in text.split('\n').filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            if !is_metric_name(name) {
                return Err(format!("bad HELP name {name:?}"));
            }
            parsed.helps.push(unescape(help, false)?);
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').ok_or("TYPE without type")?;
            if !is_metric_name(name) || !["gauge", "counter", "histogram"].contains(&kind) {
                return Err(format!("bad TYPE line {line:?}"));
            }
        } else if line.starts_with('#') {
            return Err(format!("unexpected comment {line:?}"));
        } else {
            parsed.samples.push(parse_sample(line)?);
        }
    }
    Ok(parsed)
}

fn parse_sample(line: &str) -> Result<ParsedSample, String> {
    let name_end = line.find(['{', ' ']).ok_or("sample without value")?;
    let name = &line[..name_end];
    if !is_metric_name(name) {
        return Err(format!("bad metric name {name:?}"));
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(mut inner) = rest.strip_prefix('{') {
        loop {
            let eq = inner.find("=\"").ok_or("label without =\"")?;
            let key = &inner[..eq];
            if !is_metric_name(key) || key.contains(':') {
                return Err(format!("bad label name {key:?}"));
            }
            inner = &inner[eq + 2..];
            // The value ends at the first unescaped quote.
            let mut end = None;
            let mut escaped = false;
            for (i, c) in inner.char_indices() {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            let end = end.ok_or("unterminated label value")?;
            labels.push((key.to_string(), unescape(&inner[..end], true)?));
            inner = &inner[end + 1..];
            if let Some(next) = inner.strip_prefix(',') {
                inner = next;
            } else if let Some(next) = inner.strip_prefix('}') {
                rest = next;
                break;
            } else {
                return Err(format!("expected , or }} after a label in {line:?}"));
            }
        }
    }
    let value = rest.strip_prefix(' ').ok_or("no space before the value")?;
    let value = match value {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse::<f64>().map_err(|e| format!("value {v:?}: {e}"))?,
    };
    Ok((name.to_string(), labels, value))
}

/// Undoes `\\`, `\n` and (in label values) `\"`; any other escape or a raw
/// newline is an encoder bug.
fn unescape(s: &str, label: bool) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\\') => out.push('\\'),
                Some('n') => out.push('\n'),
                Some('"') if label => out.push('"'),
                other => return Err(format!("bad escape \\{other:?} in {s:?}")),
            },
            '\n' => return Err(format!("raw newline in {s:?}")),
            '"' if label => return Err(format!("raw quote in {s:?}")),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// promtool accepts an encoding of awkward label values and help.
#[test]
#[ignore = "needs promtool (Debian package prometheus)"]
fn promtool_accepts_awkward_values() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    assert!(
        Command::new("promtool").arg("--version").output().is_ok(),
        "this test needs promtool, which is not installed: apt-get install prometheus \
         (scripts/test.sh installs it)"
    );
    let mut g = Family::gauge("fuzz_awkward_labels", "Help with \\ backslash\nand newline");
    for (i, v) in [
        "quote \" inside",
        "back\\slash",
        "new\nline",
        "tab\tand \r carriage return",
        "unicode é ✓ 日本 🦀",
        "braces {a=\"b\"}, commas",
        "",
        "\\\"\\n",
    ]
    .iter()
    .enumerate()
    {
        g.push(
            vec![("node", format!("n{i}")), ("reason", v.to_string())],
            i as f64,
        );
    }
    let mut c = Family::counter("fuzz_awkward", "Counter");
    c.push(vec![("cluster", "x".into())], 1e300);
    let mut out = String::new();
    encode(&[g, c], Format::Text, &mut out);
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(out.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let result = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(
        result.status.success(),
        "promtool check metrics:\n{report}\n{out}"
    );
}

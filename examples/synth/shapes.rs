//! Per-version JSON records of the synthetic cluster, for data_parser v0.0.39
//! (Slurm 23.02) to v0.0.44 (25.11), and the small v0.0.38 documents (22.05) the
//! recorded templates of `gen.rs` do not cover.
//!
//! Shapes follow the real answers of each version (third-party recordings read in
//! place, never copied) and SchedMD's `data_parser/v0.0.NN/parsers.c`:
//! - numbers that can be unset or infinite are `{set, infinite, number}` from
//!   v0.0.39; timestamps become such objects from v0.0.40 (ints before);
//! - job states are a string up to v0.0.39, then `[base, flags...]`; node states
//!   are `[BASE, FLAG...]` from v0.0.39;
//! - `job_resources` is `{nodes: "list", allocated_nodes[]}` up to v0.0.40, then
//!   `{nodes: {count, list, allocation[]}}`; a pending job has `{}` up to v0.0.40 and
//!   `null` after;
//! - fields come and go as the versions did (v0.0.42 drops `exclusive`,
//!   `oversubscribe`, `show_flags`; v0.0.43 drops nodes' `tres_weighted`, adds
//!   `*_expanded`; v0.0.44 adds `step_id`, `submit_line`, drops diag `parts_packed`).
//!
//! Records are built as `serde_json::Value` with every field real answers carry,
//! so document sizes are realistic.

use serde_json::{json, Map, Value};

use super::{Cluster, Job, Node, CPUS, MEMORY_MB, NOW, PARTITIONS};

/// The data_parser version number: 38 (22.05) to 44 (25.11).
pub type Dp = u8;

pub const CLUSTER: &str = "lab";

/// `{set, infinite, number}`.
pub fn num(v: impl Into<Value>) -> Value {
    json!({"set": true, "infinite": false, "number": v.into()})
}

pub fn unset() -> Value {
    json!({"set": false, "infinite": false, "number": 0})
}

pub fn infinite() -> Value {
    json!({"set": false, "infinite": true, "number": 0})
}

/// A NO_VAL-able number: plain (v0.0.38) or an object.
fn n(dp: Dp, v: impl Into<Value>) -> Value {
    if dp >= 39 {
        num(v)
    } else {
        v.into()
    }
}

/// Unset: `null` (v0.0.38) or an unset object.
fn nul(dp: Dp) -> Value {
    if dp >= 39 {
        unset()
    } else {
        Value::Null
    }
}

/// A slurmctld timestamp: int up to v0.0.39, object after.
fn t(dp: Dp, v: i64) -> Value {
    if dp >= 40 {
        num(v)
    } else {
        v.into()
    }
}

fn s(v: &str) -> Value {
    Value::from(v)
}

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn map(v: &mut Value) -> &mut Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!("records are objects"),
    }
}

/// `meta` of a slurmctld (`db = false`) or slurmdbd answer.
pub fn meta(dp: Dp, release: &str, db: bool) -> Value {
    let mut parts = release.split('.');
    let mut part = || parts.next().unwrap_or("0").to_string();
    let (major, minor, micro) = (part(), part(), part());
    if dp <= 39 {
        let int = |p: &str| p.parse::<u64>().unwrap_or(0);
        let kind = if db { "dbv" } else { "v" };
        let mut plugin = json!({
            "type": format!("openapi/{kind}0.0.{dp}"),
            "name": format!("Slurm OpenAPI {kind}0.0.{dp}"),
        });
        if dp == 39 {
            map(&mut plugin).insert("data_parser".into(), s("v0.0.39"));
        }
        return json!({
            "plugin": plugin,
            "client": {"source": "[127.0.0.1]:41200"},
            "Slurm": {
                "version": {"major": int(&major), "micro": int(&micro), "minor": int(&minor)},
                "release": release,
            },
        });
    }
    let (kind, name) = if db {
        ("openapi/slurmdbd", "Slurm OpenAPI slurmdbd")
    } else {
        ("openapi/slurmctld", "Slurm OpenAPI slurmctld")
    };
    json!({
        "plugin": {
            "type": kind,
            "name": name,
            "data_parser": format!("data_parser/v0.0.{dp}"),
            "accounting_storage": "accounting_storage/slurmdbd",
        },
        "client": {"source": "[127.0.0.1]:41200", "user": "root", "group": "root"},
        "command": [],
        "slurm": {
            "version": {"major": major, "micro": micro, "minor": minor},
            "release": release,
            "cluster": CLUSTER,
        },
    })
}

/// A whole document: `meta`, `errors`, `warnings` (v0.0.39+), `last_update`
/// (v0.0.40+, slurmctld lists) and the data under `key`.
pub fn envelope(dp: Dp, release: &str, db: bool, key: &str, data: Value) -> Value {
    let mut doc = json!({"meta": meta(dp, release, db), "errors": []});
    let m = map(&mut doc);
    if dp >= 39 {
        m.insert("warnings".into(), json!([]));
    }
    if dp >= 40 && !db && key != "pings" && key != "statistics" {
        m.insert("last_update".into(), num(NOW));
    }
    m.insert(key.into(), data);
    doc
}

/// The hosts a job runs on, picked from its id so the same job always gets them.
fn job_hosts<'a>(cluster: &'a Cluster, job: &Job) -> Vec<&'a Node> {
    let count = cluster.nodes.len();
    if count == 0 || job.start.is_none() {
        return Vec::new();
    }
    let id: usize = job
        .id
        .split('_')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (0..job.nodes as usize)
        .map(|k| &cluster.nodes[(id * 7 + k) % count])
        .collect()
}

fn host_list(hosts: &[&Node]) -> String {
    hosts
        .iter()
        .map(|h| h.name.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// `job_resources` of a running or finished job.
fn job_resources(dp: Dp, job: &Job, hosts: &[&Node]) -> Value {
    if hosts.is_empty() {
        return if dp <= 40 { json!({}) } else { Value::Null };
    }
    let per_node = (job.cpus / hosts.len() as u64).max(1);
    let memory = per_node * 1000;
    if dp <= 40 {
        let nodes: Vec<Value> = hosts
            .iter()
            .map(|h| {
                let mut sockets = Map::new();
                for socket in 0..2u64 {
                    let cores: Map<String, Value> = (0..32u64)
                        .filter(|c| socket * 32 + c < per_node)
                        .map(|c| (c.to_string(), s("allocated")))
                        .collect();
                    if !cores.is_empty() {
                        sockets.insert(socket.to_string(), json!({"cores": cores}));
                    }
                }
                json!({
                    "sockets": sockets,
                    "nodename": h.name,
                    "cpus_used": 0,
                    "memory_used": 0,
                    "memory_allocated": memory,
                })
            })
            .collect();
        return json!({
            "nodes": host_list(hosts),
            "allocated_cores": 0,
            "allocated_cpus": 0,
            "allocated_hosts": hosts.len(),
            "allocated_nodes": nodes,
        });
    }
    let allocation: Vec<Value> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let sockets: Vec<Value> = (0..2u64)
                .map(|socket| {
                    let cores: Vec<Value> = (0..32u64)
                        .map(|c| {
                            let state = if socket * 32 + c < per_node {
                                "ALLOCATED"
                            } else {
                                "UNALLOCATED"
                            };
                            json!({"index": c, "status": [state]})
                        })
                        .collect();
                    json!({"index": socket, "cores": cores})
                })
                .collect();
            json!({
                "index": i,
                "name": h.name,
                "cpus": {"count": per_node, "used": 0},
                "memory": {"used": 0, "allocated": memory},
                "sockets": sockets,
            })
        })
        .collect();
    json!({
        "select_type": ["CORE", "MEMORY"],
        "nodes": {
            "count": hosts.len(),
            "select_type": ["ONE_ROW"],
            "list": host_list(hosts),
            "whole": false,
            "allocation": allocation,
        },
        "cpus": job.cpus,
        "threads_per_core": unset(),
    })
}

/// `exit_code` / `derived_exit_code`.
fn exit_code(dp: Dp, job: &Job) -> Value {
    let (status, code) = match job.state {
        "FAILED" => ("ERROR", 1),
        "PENDING" => ("PENDING", 0),
        _ => ("SUCCESS", 0),
    };
    if dp <= 39 {
        return num(code);
    }
    json!({
        "status": [status],
        "return_code": num(code),
        "signal": {"id": unset(), "name": ""},
    })
}

/// `job_state`: the string up to v0.0.39 (a flag wins over the base, as 22.05 prints
/// it), `[base, flags...]` after.
fn job_state(dp: Dp, state: &str) -> Value {
    if dp <= 39 {
        return s(state);
    }
    match state {
        "COMPLETING" => json!(["COMPLETED", "COMPLETING"]),
        other => json!([other]),
    }
}

/// One `jobs[]` record, data_parser v0.0.39 and later. A pending array is one
/// record whose `array_task_string` says how many tasks it stands for.
pub fn job(dp: Dp, cluster: &Cluster, j: &Job) -> Value {
    let id: u64 =
        j.id.split('_')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
    let hosts = job_hosts(cluster, j);
    let is_array = j.array_task_string.is_some();
    let time_limit: u64 = if j.partition == "long" { 10_080 } else { 1_440 };
    let start = j.start.unwrap_or(0);
    let end = if start > 0 {
        start + time_limit as i64 * 60
    } else {
        0
    };
    let home = format!("/home/{}", j.user);
    let out = format!("{home}/slurm-{id}.out");
    let uid = 10_000 + j.user[4..].parse::<u64>().unwrap_or(0);
    let mut r = obj(vec![
        ("account", s(&j.account)),
        ("accrue_time", t(dp, j.submit)),
        ("admin_comment", s("")),
        ("allocating_node", s("login01")),
        ("array_job_id", num(if is_array { id } else { 0 })),
        ("array_task_id", unset()),
        ("array_max_tasks", num(0)),
        (
            "array_task_string",
            s(j.array_task_string.as_deref().unwrap_or("")),
        ),
        ("association_id", Value::from(100 + uid % 1000)),
        ("batch_features", s("")),
        ("batch_flag", Value::from(true)),
        (
            "batch_host",
            s(hosts.first().map_or("", |h| h.name.as_str())),
        ),
        (
            "flags",
            json!([
                "EXACT_TASK_COUNT_REQUESTED",
                "ACCRUE_COUNT_CLEARED",
                "USING_DEFAULT_QOS",
                "USING_DEFAULT_WCKEY",
                "PARTITION_ASSIGNED"
            ]),
        ),
        ("burst_buffer", s("")),
        ("burst_buffer_state", s("")),
        ("cluster", s(CLUSTER)),
        ("cluster_features", s("")),
        ("command", format!("{home}/jobs/run.sh").into()),
        ("comment", s("")),
        ("container", s("")),
        ("container_id", s("")),
        ("contiguous", Value::from(false)),
        ("core_spec", Value::from(0)),
        ("thread_spec", Value::from(32766)),
        ("cores_per_socket", unset()),
        ("billable_tres", num(j.cpus as f64)),
        ("cpus_per_task", num(1)),
        ("cpu_frequency_minimum", unset()),
        ("cpu_frequency_maximum", unset()),
        ("cpu_frequency_governor", unset()),
        ("cpus_per_tres", s("")),
        ("cron", s("")),
        ("deadline", t(dp, 0)),
        ("delay_boot", num(0)),
        ("dependency", s("")),
        ("derived_exit_code", exit_code(dp, j)),
        ("eligible_time", t(dp, j.submit)),
        ("end_time", t(dp, end)),
        ("excluded_nodes", s("")),
        ("exit_code", exit_code(dp, j)),
        ("extra", s("")),
        ("failed_node", s("")),
        ("features", s("")),
        ("federation_origin", s("")),
        ("federation_siblings_active", s("")),
        ("federation_siblings_viable", s("")),
        ("gres_detail", json!([])),
        ("group_id", Value::from(uid)),
        ("group_name", s(&j.account)),
        ("het_job_id", num(0)),
        ("het_job_id_set", s("")),
        ("het_job_offset", num(0)),
        ("job_id", Value::from(id)),
        ("job_resources", job_resources(dp, j, &hosts)),
        ("job_size_str", json!([])),
        ("job_state", job_state(dp, j.state)),
        (
            "last_sched_evaluation",
            t(dp, if start > 0 { start } else { NOW - 30 }),
        ),
        ("licenses", s("")),
        ("mail_type", json!([])),
        ("mail_user", s(&j.user)),
        ("max_cpus", num(0)),
        ("max_nodes", num(0)),
        ("mcs_label", s("")),
        ("memory_per_tres", s("")),
        ("name", format!("synth-{}", j.partition).into()),
        ("network", s("")),
        ("nodes", host_list(&hosts).into()),
        ("nice", Value::from(0)),
        ("tasks_per_core", infinite()),
        ("tasks_per_tres", num(0)),
        ("tasks_per_node", num(0)),
        ("tasks_per_socket", infinite()),
        ("tasks_per_board", num(0)),
        ("cpus", num(j.cpus)),
        ("node_count", num(j.nodes)),
        ("tasks", num(j.cpus)),
        ("partition", s(j.partition)),
        ("prefer", s("")),
        ("memory_per_cpu", num(1000)),
        ("memory_per_node", unset()),
        ("minimum_cpus_per_node", num(1)),
        ("minimum_tmp_disk_per_node", num(0)),
        ("power", json!({"flags": []})),
        ("preempt_time", t(dp, 0)),
        ("preemptable_time", t(dp, 0)),
        ("pre_sus_time", t(dp, 0)),
        ("hold", Value::from(j.reason == "JobHeldUser")),
        (
            "priority",
            num(if j.state == "PENDING" { 4_200 } else { 0 }),
        ),
        ("profile", json!(["NOT_SET"])),
        ("qos", s("normal")),
        ("reboot", Value::from(false)),
        ("required_nodes", s("")),
        ("minimum_switches", Value::from(0)),
        ("requeue", Value::from(true)),
        ("resize_time", t(dp, 0)),
        ("restart_cnt", Value::from(0)),
        ("resv_name", s("")),
        ("scheduled_nodes", s("")),
        ("selinux_context", s("")),
        ("shared", json!([])),
        ("exclusive", json!([])),
        ("oversubscribe", Value::from(true)),
        ("show_flags", json!(["ALL", "DETAIL", "LOCAL"])),
        ("sockets_per_board", Value::from(0)),
        ("sockets_per_node", unset()),
        ("start_time", t(dp, start)),
        ("state_description", s("")),
        (
            "state_reason",
            s(j.reason.split(',').next().unwrap_or("None")),
        ),
        ("standard_error", out.clone().into()),
        ("standard_input", s("/dev/null")),
        ("standard_output", out.clone().into()),
        ("submit_time", t(dp, j.submit)),
        ("suspend_time", t(dp, 0)),
        ("system_comment", s("")),
        ("time_limit", num(time_limit)),
        ("time_minimum", num(0)),
        ("threads_per_core", unset()),
        ("tres_bind", s("")),
        ("tres_freq", s("")),
        ("tres_per_job", s("")),
        ("tres_per_node", s("")),
        ("tres_per_socket", s("")),
        ("tres_per_task", s("")),
        ("tres_req_str", j.tres().into()),
        ("tres_alloc_str", j.tres().into()),
        ("user_id", Value::from(uid)),
        ("user_name", s(&j.user)),
        ("maximum_switch_wait_time", Value::from(0)),
        ("wckey", s("")),
        ("current_working_directory", home.clone().into()),
    ]);
    let m = map(&mut r);
    if dp == 39 {
        m.insert("exclusive".into(), json!(["false"]));
        m.insert("shared".into(), json!(["none"]));
    }
    if dp >= 42 {
        for gone in [
            "exclusive",
            "minimum_switches",
            "oversubscribe",
            "show_flags",
        ] {
            m.remove(gone);
        }
        m.insert("priority_by_partition".into(), json!([]));
        m.insert("required_switches".into(), Value::from(0));
    }
    if dp >= 43 {
        m.insert("licenses_allocated".into(), s(""));
        m.insert("segment_size".into(), Value::from(0));
        m.insert("stderr_expanded".into(), out.clone().into());
        m.insert("stdin_expanded".into(), s("/dev/null"));
        m.insert("stdout_expanded".into(), out.into());
    }
    if dp >= 44 {
        m.insert(
            "step_id".into(),
            json!({
                "sluid": format!("s{id:013X}"),
                "job_id": num(id),
                "step_het_component": unset(),
                "step_id": "entire",
            }),
        );
        m.insert(
            "submit_line".into(),
            format!(
                "sbatch --partition {} --ntasks {} {home}/jobs/run.sh",
                j.partition, j.cpus
            )
            .into(),
        );
    }
    r
}

/// One `nodes[]` record, data_parser v0.0.39 and later.
pub fn node(dp: Dp, n: &Node) -> Value {
    let boot = NOW - 1_000_000;
    let state: Vec<Value> = n.state.split('+').map(Value::from).collect();
    let load = (n.alloc as f64 * 0.9 * 100.0) as u64;
    let mut r = obj(vec![
        ("architecture", s("x86_64")),
        ("burstbuffer_network_address", s("")),
        ("boards", Value::from(1)),
        ("boot_time", t(dp, boot)),
        ("cluster_name", s("")),
        ("cores", Value::from(CPUS / 2)),
        ("specialized_cores", Value::from(0)),
        ("cpu_binding", Value::from(0)),
        ("cpu_load", if dp == 39 { num(load) } else { load.into() }),
        ("free_mem", num(MEMORY_MB - n.mem_alloc)),
        ("cpus", Value::from(CPUS)),
        ("effective_cpus", Value::from(CPUS)),
        ("specialized_cpus", s("")),
        (
            "energy",
            json!({
                "average_watts": 0,
                "base_consumed_energy": 0,
                "consumed_energy": 0,
                "current_watts": num(0),
                "previous_consumed_energy": 0,
                "last_collected": 0,
            }),
        ),
        (
            "external_sensors",
            json!({
                "consumed_energy": unset(),
                "temperature": unset(),
                "energy_update_time": 0,
                "current_watts": 0,
            }),
        ),
        ("extra", s("")),
        (
            "power",
            json!({
                "maximum_watts": unset(),
                "current_watts": 0,
                "total_energy": 0,
                "new_maximum_watts": 0,
                "peak_watts": 0,
                "lowest_watts": 0,
                "new_job_time": t(dp, 0),
                "state": 0,
                "time_start_day": 0,
            }),
        ),
        ("features", json!(["ib", "avx512"])),
        ("active_features", json!(["ib", "avx512"])),
        ("gres", s("")),
        ("gres_drained", s("N/A")),
        ("gres_used", s("")),
        ("instance_id", s("")),
        ("instance_type", s("")),
        ("last_busy", t(dp, boot)),
        ("mcs_label", s("")),
        ("specialized_memory", Value::from(0)),
        ("name", s(&n.name)),
        ("next_state_after_reboot", json!(["INVALID"])),
        ("address", s(&n.name)),
        ("hostname", s(&n.name)),
        ("state", Value::Array(state)),
        (
            "operating_system",
            s("Linux 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)"),
        ),
        ("owner", s("")),
        (
            "partitions",
            Value::from(n.partitions.split(',').collect::<Vec<_>>()),
        ),
        ("port", Value::from(6818)),
        ("real_memory", Value::from(MEMORY_MB)),
        ("comment", s("")),
        ("reason", s(n.reason.unwrap_or(""))),
        (
            "reason_changed_at",
            t(dp, if n.reason.is_some() { n.reason_time } else { 0 }),
        ),
        (
            "reason_set_by_user",
            s(if n.reason.is_some() { "root" } else { "" }),
        ),
        ("resume_after", num(0)),
        ("reservation", s("")),
        ("alloc_memory", Value::from(n.mem_alloc)),
        ("alloc_cpus", Value::from(n.alloc)),
        ("alloc_idle_cpus", Value::from(CPUS - n.alloc)),
        (
            "tres_used",
            if n.alloc > 0 {
                format!("cpu={},mem={}M", n.alloc, n.mem_alloc).into()
            } else {
                s("")
            },
        ),
        ("tres_weighted", Value::from(CPUS as f64)),
        ("slurmd_start_time", t(dp, boot)),
        ("sockets", Value::from(2)),
        ("threads", Value::from(1)),
        ("temporary_disk", Value::from(0)),
        ("weight", Value::from(1)),
        (
            "tres",
            format!("cpu={CPUS},mem={MEMORY_MB}M,billing={CPUS}").into(),
        ),
        ("version", s("")),
    ]);
    let m = map(&mut r);
    if dp == 39 {
        m.remove("instance_id");
        m.remove("instance_type");
    }
    if dp >= 41 {
        m.insert("external_sensors".into(), json!({}));
        m.insert("power".into(), json!({}));
        m.insert("gpu_spec".into(), s(""));
        m.insert("res_cores_per_gpu".into(), Value::from(0));
    }
    if dp >= 43 {
        m.remove("tres_weighted");
        m.insert("cert_flags".into(), json!([]));
        m.insert("tls_cert_last_renewal".into(), num(0));
        m.insert("topology".into(), s(""));
    }
    r
}

fn max_minutes(partition: &str) -> u64 {
    if partition == "long" {
        10_080
    } else {
        1_440
    }
}

/// `partitions[]`: every partition spans every node, as the text form says.
pub fn partitions(dp: Dp, cluster: &Cluster) -> Value {
    let nodes = cluster.nodes.len() as u64;
    let list = format!(
        "cn-rack[000-999]-node-[00000-{:05}]",
        nodes.saturating_sub(1)
    );
    let tres = format!(
        "cpu={},mem={}M,node={nodes},billing={}",
        nodes * CPUS,
        nodes * MEMORY_MB,
        nodes * CPUS
    );
    let records = PARTITIONS.iter().enumerate().map(|(i, p)| {
        if dp == 38 {
            return obj(vec![
                (
                    "flags",
                    if i == 0 {
                        json!(["default"])
                    } else {
                        json!([])
                    },
                ),
                ("preemption_mode", json!(["disabled"])),
                ("allowed_allocation_nodes", s("")),
                ("allowed_accounts", s("")),
                ("allowed_groups", s("")),
                ("allowed_qos", s("")),
                ("alternative", s("")),
                ("billing_weights", s("")),
                ("default_memory_per_cpu", Value::Null),
                ("default_memory_per_node", Value::Null),
                ("default_time_limit", Value::from(60)),
                ("denied_accounts", s("")),
                ("denied_qos", s("")),
                ("preemption_grace_time", Value::from(0)),
                ("maximum_cpus_per_node", Value::from(-1)),
                ("maximum_memory_per_cpu", Value::Null),
                ("maximum_memory_per_node", Value::Null),
                ("maximum_nodes_per_job", Value::from(-1)),
                ("max_time_limit", Value::from(max_minutes(p))),
                ("min nodes per job", Value::from(0)),
                ("name", s(p)),
                ("nodes", list.clone().into()),
                ("over_time_limit", Value::Null),
                ("priority_job_factor", Value::from(1)),
                ("priority_tier", Value::from(1)),
                ("qos", s("")),
                ("state", s("UP")),
                ("total_cpus", Value::from(nodes * CPUS)),
                ("total_nodes", Value::from(nodes)),
                ("tres", tres.clone().into()),
            ]);
        }
        let mut r = obj(vec![
            (
                "nodes",
                json!({"allowed_allocation": "", "configured": list, "total": nodes}),
            ),
            ("accounts", json!({"allowed": "", "deny": ""})),
            ("groups", json!({"allowed": ""})),
            ("qos", json!({"allowed": "", "deny": "", "assigned": ""})),
            ("alternate", s("")),
            ("tres", json!({"billing_weights": "", "configured": tres})),
            ("cluster", s("")),
            ("select_type", json!([])),
            ("cpus", json!({"task_binding": 0, "total": nodes * CPUS})),
            (
                "defaults",
                json!({
                    "memory_per_cpu": 1000,
                    "partition_memory_per_cpu": num(1000),
                    "partition_memory_per_node": unset(),
                    "time": num(60),
                    "job": "",
                }),
            ),
            ("grace_time", Value::from(0)),
            (
                "maximums",
                json!({
                    "cpus_per_node": infinite(),
                    "cpus_per_socket": infinite(),
                    "memory_per_cpu": 0,
                    "partition_memory_per_cpu": unset(),
                    "partition_memory_per_node": num(0),
                    "nodes": infinite(),
                    "shares": 1,
                    "oversubscribe": {"jobs": 1, "flags": []},
                    "time": num(max_minutes(p)),
                    "over_time_limit": unset(),
                }),
            ),
            ("minimums", json!({"nodes": 0})),
            ("name", s(p)),
            ("node_sets", s("")),
            ("priority", json!({"job_factor": 1, "tier": 1})),
            ("timeouts", json!({"resume": unset(), "suspend": unset()})),
            ("topology", s("")),
            ("partition", json!({"state": ["UP"]})),
            ("suspend_time", unset()),
        ]);
        let m = map(&mut r);
        if dp < 41 {
            m.remove("select_type");
        }
        if dp < 43 {
            m.remove("topology");
        }
        if dp == 39 {
            m.remove("partition");
            if let Some(d) = m.get_mut("defaults").map(map) {
                d.remove("partition_memory_per_cpu");
                d.remove("partition_memory_per_node");
            }
            if let Some(d) = m.get_mut("maximums").map(map) {
                d.remove("partition_memory_per_cpu");
                d.remove("partition_memory_per_node");
                d.remove("oversubscribe");
            }
        }
        r
    });
    Value::Array(records.collect())
}

/// RPC statistics: the message types an exporter-watched slurmctld sees most.
const RPCS: [(&str, u64, u64); 10] = [
    ("REQUEST_NODE_INFO", 2007, 18_230),
    ("REQUEST_JOB_INFO", 2003, 12_044),
    ("REQUEST_PARTITION_INFO", 2009, 9_120),
    ("MESSAGE_NODE_REGISTRATION_STATUS", 1002, 4_410),
    ("REQUEST_SUBMIT_BATCH_JOB", 4003, 3_877),
    ("REQUEST_COMPLETE_BATCH_SCRIPT", 5018, 3_790),
    ("MESSAGE_EPILOG_COMPLETE", 6012, 3_790),
    ("REQUEST_STATS_INFO", 2035, 2_880),
    ("REQUEST_PING", 1008, 2_880),
    ("REQUEST_FED_INFO", 2049, 1_502),
];

/// `statistics` of `/diag`, with the job counts of the generated cluster.
pub fn diag(dp: Dp, cluster: &Cluster) -> Value {
    let count = |state: &str| cluster.jobs.iter().filter(|j| j.state == state).count() as u64;
    let avg = |total: u64, count: u64| {
        let a = total / count.max(1);
        if dp >= 41 {
            num(a)
        } else {
            a.into()
        }
    };
    let by_type: Vec<Value> = RPCS
        .iter()
        .map(|(name, id, count)| {
            let total = count * 187;
            let mut r = json!({
                "type_id": id,
                "message_type": name,
                "count": count,
                "average_time": avg(total, *count),
                "total_time": total,
            });
            if dp >= 41 {
                let m = map(&mut r);
                for k in ["queued", "dropped", "cycle_last", "cycle_max"] {
                    m.insert(k.into(), Value::from(0));
                }
            }
            r
        })
        .collect();
    let by_user: Vec<Value> = [("root", 0u64, 55_000u64), ("slurm", 64_030, 4_410)]
        .iter()
        .map(|(user, id, count)| {
            let total = count * 203;
            json!({
                "user_id": id,
                "user": user,
                "count": count,
                "average_time": avg(total, *count),
                "total_time": total,
            })
        })
        .collect();
    let mut r = obj(vec![
        ("parts_packed", Value::from(1)),
        ("req_time", t(dp, NOW)),
        ("req_time_start", t(dp, NOW - NOW % 86_400)),
        ("server_thread_count", Value::from(3)),
        ("agent_queue_size", Value::from(0)),
        ("agent_count", Value::from(0)),
        ("agent_thread_count", Value::from(0)),
        ("dbd_agent_queue_size", Value::from(0)),
        ("gettimeofday_latency", Value::from(21)),
        ("schedule_cycle_max", Value::from(182_341)),
        ("schedule_cycle_last", Value::from(9_212)),
        ("schedule_cycle_sum", Value::from(38_410_112)),
        ("schedule_cycle_total", Value::from(2_781)),
        ("schedule_cycle_mean", Value::from(13_811)),
        ("schedule_cycle_mean_depth", Value::from(98)),
        ("schedule_cycle_per_minute", Value::from(2)),
        ("schedule_cycle_depth", Value::from(272_538)),
        (
            "schedule_exit",
            json!({"end_job_queue": 2_700, "default_queue_depth": 81, "max_job_start": 0,
                   "max_rpc_cnt": 0, "max_sched_time": 0, "licenses": 0}),
        ),
        ("schedule_queue_length", Value::from(count("PENDING"))),
        (
            "jobs_submitted",
            Value::from(cluster.jobs.len() as u64 + 4_211),
        ),
        ("jobs_started", Value::from(count("RUNNING") + 3_801)),
        ("jobs_completed", Value::from(count("COMPLETED") + 3_655)),
        ("jobs_canceled", Value::from(count("CANCELLED") + 97)),
        ("jobs_failed", Value::from(count("FAILED") + 41)),
        ("jobs_pending", Value::from(count("PENDING"))),
        ("jobs_running", Value::from(count("RUNNING"))),
        ("job_states_ts", t(dp, NOW - 20)),
        ("bf_backfilled_jobs", Value::from(1_877)),
        ("bf_last_backfilled_jobs", Value::from(12)),
        ("bf_backfilled_het_jobs", Value::from(0)),
        ("bf_cycle_counter", Value::from(1_210)),
        ("bf_cycle_mean", Value::from(412_001)),
        ("bf_depth_mean", Value::from(840)),
        ("bf_depth_mean_try", Value::from(310)),
        ("bf_cycle_sum", Value::from(498_521_210u64)),
        ("bf_cycle_last", Value::from(388_120)),
        ("bf_cycle_max", Value::from(1_902_311)),
        (
            "bf_exit",
            json!({"end_job_queue": 1_100, "bf_max_job_start": 0, "bf_max_job_test": 110,
                   "bf_max_time": 0, "bf_node_space_size": 0, "state_changed": 0}),
        ),
        ("bf_last_depth", Value::from(901)),
        ("bf_last_depth_try", Value::from(322)),
        ("bf_depth_sum", Value::from(1_016_400)),
        ("bf_depth_try_sum", Value::from(375_100)),
        ("bf_queue_len", Value::from(count("PENDING"))),
        ("bf_queue_len_mean", Value::from(count("PENDING"))),
        ("bf_queue_len_sum", Value::from(count("PENDING") * 1_210)),
        ("bf_table_size", Value::from(12)),
        ("bf_table_size_sum", Value::from(14_520)),
        ("bf_table_size_mean", Value::from(12)),
        ("bf_when_last_cycle", t(dp, NOW - 25)),
        ("bf_active", Value::from(false)),
        ("rpcs_by_message_type", Value::Array(by_type)),
        ("rpcs_by_user", Value::Array(by_user)),
        ("pending_rpcs", json!([])),
        ("pending_rpcs_by_hostlist", json!([])),
    ]);
    let m = map(&mut r);
    if dp <= 40 {
        for k in [
            "pending_rpcs",
            "pending_rpcs_by_hostlist",
            "schedule_cycle_sum",
            "bf_depth_sum",
            "bf_depth_try_sum",
            "bf_queue_len_sum",
            "bf_table_size_sum",
        ] {
            m.remove(k);
        }
    }
    if dp <= 39 {
        m.remove("schedule_exit");
        m.remove("bf_exit");
        m.remove("schedule_cycle_depth");
    }
    if (39..=40).contains(&dp) {
        m.remove("bf_cycle_max");
    }
    if dp >= 44 {
        m.remove("parts_packed");
    }
    r
}

/// `pings[]`: one primary controller.
pub fn pings(dp: Dp) -> Value {
    let mut p = if dp == 38 {
        json!({"hostname": "ctl01", "ping": "UP", "status": 0, "mode": "primary"})
    } else {
        json!({"hostname": "ctl01", "pinged": "UP", "latency": 412, "mode": "primary"})
    };
    if dp >= 42 {
        let m = map(&mut p);
        m.insert("responding".into(), Value::from(true));
        m.insert("primary".into(), Value::from(true));
    }
    json!([p])
}

/// `licenses[]`: two local licenses.
pub fn licenses(dp: Dp) -> Value {
    let records = [("matlab", 50u64, 31u64), ("ansys", 20, 20)].map(|(name, total, used)| {
        let mut r = json!({
            "LicenseName": name,
            "Total": total,
            "Used": used,
            "Free": total - used,
            "Reserved": 0,
            "Remote": false,
        });
        if dp >= 39 {
            let m = map(&mut r);
            m.insert("LastConsumed".into(), Value::from(0));
            m.insert("LastDeficit".into(), Value::from(0));
            m.insert("LastUpdate".into(), t(dp, NOW - 600));
        }
        if dp >= 44 {
            map(&mut r).insert("Nodes".into(), s(""));
        }
        r
    });
    Value::Array(records.into())
}

/// `reservations[]`: a maintenance window over the first rack, and a standing one.
pub fn reservations(dp: Dp) -> Value {
    let records = [
        (
            "rack0_maint",
            "MAINT,SPEC_NODES",
            NOW + 3_600,
            NOW + 7_200,
            40u64,
        ),
        ("course", "SPEC_NODES", NOW - 86_400, NOW + 86_400, 4),
    ]
    .map(|(name, flags, start, end, nodes)| {
        let flags: Vec<&str> = flags.split(',').collect();
        let node_list = format!("cn-rack000-node-[00000-{:05}]", nodes - 1);
        let mut r = json!({
            "accounts": "",
            "burst_buffer": "",
            "core_count": nodes * CPUS,
            "core_spec_cnt": 0,
            "end_time": t(dp, end),
            "features": "",
            "flags": flags,
            "groups": "",
            "licenses": "",
            "max_start_delay": 0,
            "name": name,
            "node_count": nodes,
            "node_list": node_list,
            "partition": "",
            "start_time": t(dp, start),
            "watts": n(dp, if dp == 38 { 4_294_967_294u64 } else { 0 }),
            "tres": format!("cpu={}", nodes * CPUS),
            "users": "root",
        });
        if dp >= 39 {
            let m = map(&mut r);
            m.insert("watts".into(), unset());
            m.insert("max_start_delay".into(), unset());
            m.insert("purge_completed".into(), json!({"time": unset()}));
            m.insert("core_specializations".into(), json!([]));
        }
        r
    });
    Value::Array(records.into())
}

/// The accounts (`acct00`..) and their users (`user000`..) of the generated jobs.
fn accounts(cluster: &Cluster) -> Vec<(String, Vec<String>)> {
    let mut accounts: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for j in &cluster.jobs {
        accounts
            .entry(j.account.clone())
            .or_default()
            .insert(j.user.clone());
    }
    accounts
        .into_iter()
        .map(|(a, u)| (a, u.into_iter().collect()))
        .collect()
}

/// `shares` of `/shares` (v0.0.40+): root, accounts, users.
pub fn shares(dp: Dp, cluster: &Cluster) -> Value {
    let number = |v: f64| if dp >= 41 { num(v) } else { Value::from(v) };
    let accounts = accounts(cluster);
    let mut rows = Vec::new();
    let mut id = 1u64;
    let mut row = |name: &str, parent: &str, user: bool, share: f64, usage: f64| {
        let mut fairshare =
            json!({"factor": number(1.0 - usage), "level": number(0.5 / usage.max(1e-6))});
        if dp >= 42 {
            map(&mut fairshare).remove("level");
        }
        rows.push(json!({
            "id": id,
            "cluster": CLUSTER,
            "name": name,
            "parent": parent,
            "partition": "",
            "shares_normalized": number(share),
            "shares": number(1.0),
            "tres": {
                "run_seconds": [{"name": "cpu", "value": num(0)}, {"name": "mem", "value": num(0)}],
                "group_minutes": [{"name": "cpu", "value": infinite()}, {"name": "mem", "value": infinite()}],
                "usage": [{"name": "cpu", "value": usage * 1e6}, {"name": "mem", "value": usage * 4e9}],
            },
            "effective_usage": number(usage),
            "usage_normalized": number(usage),
            "usage": (usage * 1e6) as u64,
            "fairshare": fairshare,
            "type": [if user { "USER" } else { "ASSOCIATION" }],
        }));
        id += 1;
    };
    row("root", "", false, 1.0, 1.0);
    let share = 1.0 / accounts.len().max(1) as f64;
    for (i, (account, users)) in accounts.iter().enumerate() {
        let usage = share * (0.5 + (i % 5) as f64 * 0.2);
        row(account, "root", false, share, usage);
        for user in users {
            let s = share / users.len().max(1) as f64;
            row(user, account, true, s, usage / users.len().max(1) as f64);
        }
    }
    json!({"shares": rows, "total_shares": accounts.len()})
}

fn tres_list(entries: &[(&str, u64)]) -> Value {
    let list: Vec<Value> = entries
        .iter()
        .map(|(kind, count)| json!({"type": kind, "name": "", "id": 1, "count": count}))
        .collect();
    Value::Array(list)
}

/// QOS list (`QOS` in dbv0.0.38, `qos` after): normal, high, debug.
pub fn qos(dp: Dp) -> Value {
    let records = [
        (1u64, "normal", 0u64, None),
        (2, "high", 1_000, Some(64u64)),
        (3, "debug", 100, Some(2)),
    ]
    .map(|(id, name, priority, max_jobs)| {
        let jobs = max_jobs.map_or(nul(dp), |m| n(dp, m));
        let tres = match max_jobs {
            Some(m) => tres_list(&[("cpu", m * 64)]),
            None => json!([]),
        };
        json!({
            "description": format!("{name} QOS"),
            "flags": [],
            "id": id,
            "limits": {
                "grace_time": 0,
                "max": {
                    "active_jobs": {"accruing": nul(dp), "count": nul(dp)},
                    "tres": {
                        "total": [],
                        "minutes": {"per": {"qos": [], "job": [], "account": [], "user": []}},
                        "per": {"account": [], "job": [], "node": [], "user": tres},
                    },
                    "wall_clock": {"per": {"qos": nul(dp), "job": n(dp, 2_880)}},
                    "jobs": {
                        "active_jobs": {"per": {"account": nul(dp), "user": jobs.clone()}},
                        "per": {"account": nul(dp), "user": jobs},
                    },
                    "accruing": {"per": {"account": nul(dp), "user": nul(dp)}},
                },
                "factor": nul(dp),
                "min": {"priority_threshold": nul(dp), "tres": {"per": {"job": []}}},
            },
            "name": name,
            "preempt": {"list": [], "mode": ["DISABLED"], "exempt_time": nul(dp)},
            "priority": n(dp, priority),
            "usage_factor": n(dp, 1.0),
            "usage_threshold": nul(dp),
        })
    });
    Value::Array(records.into())
}

/// Associations: root, one per account, one per user under it.
pub fn associations(dp: Dp, cluster: &Cluster) -> Value {
    let mut list = Vec::new();
    let mut push = |account: &str, parent: Option<&str>, user: Option<&str>| {
        let id = list.len() as u64 + 1;
        let user = match (user, dp) {
            (Some(u), _) => s(u),
            (None, 38) => Value::Null,
            (None, _) => s(""),
        };
        list.push(json!({
            "account": account,
            "cluster": CLUSTER,
            "default": {"qos": if dp == 38 { Value::Null } else { s("") }},
            "flags": [],
            "max": {
                "jobs": {
                    "per": {"count": n(dp, 200), "accruing": nul(dp), "submitted": n(dp, 1_000), "wall_clock": nul(dp)},
                    "active": nul(dp),
                    "accruing": nul(dp),
                    "total": nul(dp),
                },
                "tres": {
                    "total": [],
                    "minutes": {"per": {"job": []}, "total": []},
                    "group": {"minutes": [], "active": []},
                    "per": {"job": [], "node": []},
                },
                "per": {"account": {"wall_clock": nul(dp)}},
            },
            "is_default": if dp == 38 { Value::from(1) } else { Value::from(true) },
            "min": {"priority_threshold": nul(dp)},
            "parent_account": parent.map_or(if dp == 38 { Value::Null } else { s("") }, s),
            "partition": if dp == 38 { Value::Null } else { s("") },
            "priority": nul(dp),
            "qos": ["normal"],
            "shares_raw": 1,
            "user": user,
        }));
        if dp >= 39 {
            if let Some(last) = list.last_mut() {
                map(last).insert("id".into(), Value::from(id));
            }
        } else if let Some(last) = list.last_mut() {
            map(last).insert("usage".into(), Value::Null);
        }
    };
    push("root", None, None);
    for (account, users) in accounts(cluster) {
        push(&account, Some("root"), None);
        for user in &users {
            push(&account, Some("root"), Some(user));
        }
    }
    Value::Array(list)
}

/// `statistics` of `/slurmdb/{v}/diag`.
pub fn dbd_diag(dp: Dp) -> Value {
    json!({
        "time_start": NOW - 86_400,
        "rollups": {"hourly": {"count": 24, "last_run": NOW - 600, "duration": {"last": 1_211, "max": 8_002, "time": 29_110}},
                    "daily": {"count": 1, "last_run": NOW - 3_600, "duration": {"last": 912, "max": 912, "time": 912}},
                    "monthly": {"count": 0, "last_run": 0, "duration": {"last": 0, "max": 0, "time": 0}}},
        "RPCs": [{"rpc": "DBD_GET_JOBS_COND", "count": 1_440, "time": {"average": 9_120, "total": 13_132_800}},
                 {"rpc": "DBD_GET_QOS", "count": 720, "time": {"average": 402, "total": 289_440}}],
        "users": [{"user": "root", "count": 2_160, "time": {"average": n(dp, 6_212), "total": 13_422_240}}],
    })
}

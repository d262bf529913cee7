//! Partitions: state, time limit, and nodes, CPUs and memory by state per partition.

use std::collections::BTreeMap;

use super::nodes::{cpu_split, memory_split};
use super::{Collect, CollectorDef, Context};
use crate::exposition::Family;
use crate::model::partition::PARTITION_STATES;
use crate::model::{DataKind, NodeStatus, SlurmData};

pub const DEF: CollectorDef = CollectorDef {
    name: "partitions",
    description: "per-partition state, time limit, and nodes, CPUs and memory by state",
    enabled_by_default: true,
    needs: &[DataKind::Partitions, DataKind::Nodes],
    collect: Collect::Pure(collect),
};

#[derive(Default)]
struct Totals {
    nodes: [u64; NodeStatus::ALL.len()],
    cpus: [u64; 3],
    memory: [u64; 3],
}

/// Adds allocated, idle and other amounts, saturating (Slurm may report absurd sizes).
fn add(sums: &mut [u64; 3], amounts: [u64; 3]) {
    for (sum, amount) in sums.iter_mut().zip(amounts) {
        *sum = sum.saturating_add(amount);
    }
}

fn collect(data: &SlurmData, ctx: &Context) -> Vec<Family> {
    let (Some(partitions), Some(nodes)) = (data.partitions.as_deref(), data.nodes.as_deref())
    else {
        return Vec::new();
    };
    let mut totals: BTreeMap<&str, Totals> = partitions
        .partitions
        .iter()
        .map(|p| (p.name.as_str(), Totals::default()))
        .collect();
    for node in &nodes.nodes {
        let status = node.state.status();
        let status_index = NodeStatus::ALL.iter().position(|s| *s == status);
        for partition in &node.partitions {
            let Some(t) = totals.get_mut(partition.as_str()) else {
                continue;
            };
            if let Some(i) = status_index {
                t.nodes[i] += 1;
            }
            if let Some((a, i, o)) = cpu_split(node) {
                add(&mut t.cpus, [a, i, o]);
            }
            if let Some((a, i, o)) = memory_split(node) {
                add(&mut t.memory, [a, i, o]);
            }
        }
    }

    let mut state = Family::gauge(
        "slurm_partition_state",
        "Partition state: 1 for the current state, 0 for the others",
    );
    let mut max_time = Family::gauge(
        "slurm_partition_max_time_seconds",
        "Maximum time limit of jobs in the partition (absent when unlimited)",
    );
    let mut default = Family::gauge(
        "slurm_partition_default",
        "1 for the partition jobs go to when none is named",
    );
    let mut node_states = Family::gauge("slurm_partition_nodes", "Nodes of the partition by state");
    let mut cpus = Family::gauge(
        "slurm_partition_cpus",
        "CPUs of the partition's nodes by state: allocated, idle, other",
    );
    let mut memory = Family::gauge(
        "slurm_partition_memory_bytes",
        "Memory of the partition's nodes by state: allocated, idle, other",
    );
    for p in &partitions.partitions {
        let name = p.name.as_str();
        if let Some(current) = p.state.as_deref() {
            let current = current.to_ascii_lowercase();
            for s in PARTITION_STATES {
                let v = if s == current { 1.0 } else { 0.0 };
                state.push(ctx.labels(&[("partition", name), ("state", s)]), v);
            }
        }
        max_time.push_opt(
            ctx.labels(&[("partition", name)]),
            p.max_time_seconds.map(|v| v as f64),
        );
        default.push_opt(
            ctx.labels(&[("partition", name)]),
            p.is_default.map(|d| if d { 1.0 } else { 0.0 }),
        );
        let Some(t) = totals.get(name) else { continue };
        for (s, count) in NodeStatus::ALL.iter().zip(t.nodes) {
            node_states.push(
                ctx.labels(&[("partition", name), ("state", s.as_str())]),
                count as f64,
            );
        }
        for (i, s) in ["allocated", "idle", "other"].into_iter().enumerate() {
            cpus.push(
                ctx.labels(&[("partition", name), ("state", s)]),
                t.cpus[i] as f64,
            );
            memory.push(
                ctx.labels(&[("partition", name), ("state", s)]),
                t.memory[i] as f64,
            );
        }
    }
    vec![state, default, max_time, node_states, cpus, memory]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::testutil::{ctx, value};
    use crate::model::{Node, NodeState, Nodes, Partition, Partitions};
    use std::sync::Arc;

    #[test]
    fn nodes_in_two_partitions_count_in_each() {
        let node = |name: &str, state: &str, parts: &[&str]| Node {
            name: name.into(),
            partitions: parts.iter().map(|p| p.to_string()).collect(),
            state: NodeState::from_compound(state),
            cpus_total: Some(4),
            cpus_allocated: Some(if state == "MIXED" { 1 } else { 0 }),
            memory_total_bytes: Some(100),
            memory_allocated_bytes: Some(10),
            ..Default::default()
        };
        let data = SlurmData {
            nodes: Some(Arc::new(Nodes {
                nodes: vec![
                    node("n1", "MIXED", &["debug", "batch"]),
                    node("n2", "DOWN", &["debug"]),
                    node("n3", "IDLE", &["nowhere"]),
                ],
            })),
            partitions: Some(Arc::new(Partitions {
                partitions: vec![
                    Partition {
                        name: "debug".into(),
                        state: Some("UP".into()),
                        max_time_seconds: Some(3600),
                        ..Default::default()
                    },
                    Partition {
                        name: "batch".into(),
                        state: None,
                        ..Default::default()
                    },
                ],
            })),
            ..Default::default()
        };
        let f = collect(&data, &ctx());
        let v = |name, labels: &[(&str, &str)]| value(&f, name, labels);
        assert_eq!(
            v(
                "slurm_partition_nodes",
                &[("partition", "debug"), ("state", "mixed")]
            ),
            Some(1.0)
        );
        assert_eq!(
            v(
                "slurm_partition_nodes",
                &[("partition", "debug"), ("state", "down")]
            ),
            Some(1.0)
        );
        assert_eq!(
            v(
                "slurm_partition_nodes",
                &[("partition", "batch"), ("state", "mixed")]
            ),
            Some(1.0)
        );
        assert_eq!(
            v(
                "slurm_partition_cpus",
                &[("partition", "debug"), ("state", "other")]
            ),
            Some(4.0)
        );
        assert_eq!(
            v(
                "slurm_partition_cpus",
                &[("partition", "debug"), ("state", "idle")]
            ),
            Some(3.0)
        );
        assert_eq!(
            v(
                "slurm_partition_memory_bytes",
                &[("partition", "debug"), ("state", "allocated")]
            ),
            Some(20.0)
        );
        assert_eq!(
            v(
                "slurm_partition_state",
                &[("partition", "debug"), ("state", "up")]
            ),
            Some(1.0)
        );
        assert_eq!(
            v(
                "slurm_partition_state",
                &[("partition", "debug"), ("state", "down")]
            ),
            Some(0.0)
        );
        // batch has no state in this data: no state series rather than a guess
        assert_eq!(
            v(
                "slurm_partition_state",
                &[("partition", "batch"), ("state", "up")]
            ),
            None
        );
        assert_eq!(
            v(
                "slurm_partition_max_time_seconds",
                &[("partition", "debug")]
            ),
            Some(3600.0)
        );
    }
}

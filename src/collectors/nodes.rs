//! Nodes: per-node capacity, allocation, load and state; cluster-wide counts.

use super::{Collect, CollectorDef, Context};
use crate::exposition::Family;
use crate::model::{DataKind, Node, NodeStatus, SlurmData};

pub const DEF: CollectorDef = CollectorDef {
    name: "nodes",
    description: "per-node CPUs, memory, load, state and drain/down reason; cluster-wide node and CPU counts by state",
    enabled_by_default: true,
    needs: &[DataKind::Nodes],
    collect: Collect::Pure(collect),
};

/// Whether a node's idle CPUs can take work; CPUs on other nodes count as `other`,
/// as in `sinfo -o %C`.
pub fn is_usable(status: NodeStatus) -> bool {
    matches!(
        status,
        NodeStatus::Idle
            | NodeStatus::Mixed
            | NodeStatus::Allocated
            | NodeStatus::Completing
            | NodeStatus::Reserved
            | NodeStatus::Planned
    )
}

/// Allocated, idle and other CPUs of one node (`sinfo %C` semantics).
pub fn cpu_split(node: &Node) -> Option<(u64, u64, u64)> {
    let total = node.cpus_total?;
    let alloc = node.cpus_allocated.unwrap_or(0).min(total);
    if is_usable(node.state.status()) {
        Some((alloc, total - alloc, 0))
    } else {
        Some((alloc, 0, total - alloc))
    }
}

/// Allocated, idle and other memory of one node in bytes, split like the CPUs.
pub fn memory_split(node: &Node) -> Option<(u64, u64, u64)> {
    let total = node.memory_total_bytes?;
    let alloc = node.memory_allocated_bytes.unwrap_or(0).min(total);
    if is_usable(node.state.status()) {
        Some((alloc, total - alloc, 0))
    } else {
        Some((alloc, 0, total - alloc))
    }
}

fn collect(data: &SlurmData, ctx: &Context) -> Vec<Family> {
    let Some(nodes) = data.nodes.as_deref() else {
        return Vec::new();
    };
    let mut cpus = Family::gauge("slurm_node_cpus", "CPUs configured on the node");
    let mut cpus_alloc = Family::gauge(
        "slurm_node_cpus_allocated",
        "CPUs allocated to jobs on the node",
    );
    let mut cpus_idle = Family::gauge(
        "slurm_node_cpus_idle",
        "CPUs free for jobs on the node (0 when the node is down, drained or failing)",
    );
    let mut mem = Family::gauge(
        "slurm_node_memory_bytes",
        "Memory configured on the node (RealMemory)",
    );
    let mut mem_alloc = Family::gauge(
        "slurm_node_memory_allocated_bytes",
        "Memory allocated to jobs on the node",
    );
    let mut mem_free = Family::gauge(
        "slurm_node_memory_free_bytes",
        "Memory free on the node as the OS reports it",
    );
    let mut load = Family::gauge("slurm_node_cpu_load", "One-minute load average of the node");
    let mut state = Family::gauge(
        "slurm_node_state",
        "Current state of the node: one series per node, value 1, state from a closed set",
    );
    let mut reason = Family::gauge(
        "slurm_node_reason_info",
        "Reason a node was drained or set down (only nodes with a reason)",
    );
    let mut reason_since = Family::gauge(
        "slurm_node_reason_since_timestamp_seconds",
        "When the node's drain/down reason was set",
    );
    let mut by_state = Family::gauge("slurm_nodes", "Nodes by state");
    let mut cpus_by_state = Family::gauge(
        "slurm_cpus",
        "CPUs by state: allocated, idle (on usable nodes), other (unallocated on down, drained or failing nodes)",
    );
    let mut mem_by_state = Family::gauge(
        "slurm_memory_bytes",
        "Configured memory by state: allocated, idle (on usable nodes), other (unallocated on unusable nodes)",
    );

    let mut counts = [0u64; NodeStatus::ALL.len()];
    let (mut c_alloc, mut c_idle, mut c_other) = (0u64, 0u64, 0u64);
    let (mut m_alloc, mut m_idle, mut m_other) = (0u64, 0u64, 0u64);
    for node in &nodes.nodes {
        let status = node.state.status();
        if let Some(i) = NodeStatus::ALL.iter().position(|s| *s == status) {
            counts[i] += 1;
        }
        let labels = ctx.labels(&[("node", &node.name)]);
        cpus.push_opt(labels.clone(), node.cpus_total.map(|v| v as f64));
        cpus_alloc.push_opt(labels.clone(), node.cpus_allocated.map(|v| v as f64));
        if let Some((a, i, o)) = cpu_split(node) {
            cpus_idle.push(labels.clone(), i as f64);
            c_alloc = c_alloc.saturating_add(a);
            c_idle = c_idle.saturating_add(i);
            c_other = c_other.saturating_add(o);
        }
        if let Some((a, i, o)) = memory_split(node) {
            m_alloc = m_alloc.saturating_add(a);
            m_idle = m_idle.saturating_add(i);
            m_other = m_other.saturating_add(o);
        }
        mem.push_opt(labels.clone(), node.memory_total_bytes.map(|v| v as f64));
        mem_alloc.push_opt(
            labels.clone(),
            node.memory_allocated_bytes.map(|v| v as f64),
        );
        mem_free.push_opt(labels.clone(), node.memory_free_bytes.map(|v| v as f64));
        load.push_opt(labels.clone(), node.cpu_load);
        state.push(
            ctx.labels(&[("node", &node.name), ("state", status.as_str())]),
            1.0,
        );
        if let Some(text) = node.reason.as_deref().filter(|r| !r.is_empty()) {
            reason.push(ctx.labels(&[("node", &node.name), ("reason", text)]), 1.0);
            reason_since.push_opt(labels, node.reason_changed_at.map(|t| t as f64));
        }
    }
    for (status, count) in NodeStatus::ALL.iter().zip(counts) {
        by_state.push(ctx.labels(&[("state", status.as_str())]), count as f64);
    }
    for (name, v) in [("allocated", c_alloc), ("idle", c_idle), ("other", c_other)] {
        cpus_by_state.push(ctx.labels(&[("state", name)]), v as f64);
    }
    for (name, v) in [("allocated", m_alloc), ("idle", m_idle), ("other", m_other)] {
        mem_by_state.push(ctx.labels(&[("state", name)]), v as f64);
    }
    vec![
        by_state,
        cpus_by_state,
        mem_by_state,
        state,
        cpus,
        cpus_alloc,
        cpus_idle,
        mem,
        mem_alloc,
        mem_free,
        load,
        reason,
        reason_since,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::testutil::{ctx, value};
    use crate::model::{NodeState, Nodes};
    use std::sync::Arc;

    fn node(name: &str, state: &str, total: u64, alloc: u64) -> Node {
        Node {
            name: name.into(),
            partitions: vec!["debug".into()],
            state: NodeState::from_compound(state),
            cpus_total: Some(total),
            cpus_allocated: Some(alloc),
            memory_total_bytes: Some(4000 << 20),
            memory_allocated_bytes: Some(1000 << 20),
            memory_free_bytes: None,
            cpu_load: Some(0.5),
            reason: None,
            reason_changed_at: None,
            ..Default::default()
        }
    }

    #[test]
    fn counts_and_splits() {
        let mut drained = node("n3", "IDLE+DRAIN", 4, 0);
        drained.reason = Some("bad disk".into());
        drained.reason_changed_at = Some(1_700_000_000);
        let data = SlurmData {
            nodes: Some(Arc::new(Nodes {
                nodes: vec![node("n1", "MIXED", 4, 2), node("n2", "IDLE", 4, 0), drained],
            })),
            ..Default::default()
        };
        let fams = collect(&data, &ctx());
        assert_eq!(
            value(&fams, "slurm_nodes", &[("state", "mixed")]),
            Some(1.0)
        );
        assert_eq!(
            value(&fams, "slurm_nodes", &[("state", "drained")]),
            Some(1.0)
        );
        assert_eq!(value(&fams, "slurm_nodes", &[("state", "down")]), Some(0.0));
        assert_eq!(
            value(&fams, "slurm_cpus", &[("state", "allocated")]),
            Some(2.0)
        );
        assert_eq!(value(&fams, "slurm_cpus", &[("state", "idle")]), Some(6.0));
        assert_eq!(value(&fams, "slurm_cpus", &[("state", "other")]), Some(4.0));
        assert_eq!(
            value(&fams, "slurm_node_cpus_idle", &[("node", "n3")]),
            Some(0.0)
        );
        assert_eq!(
            value(
                &fams,
                "slurm_node_reason_info",
                &[("node", "n3"), ("reason", "bad disk")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &fams,
                "slurm_node_reason_since_timestamp_seconds",
                &[("node", "n3")]
            ),
            Some(1_700_000_000.0)
        );
        // free memory was not reported: the series is absent, not zero
        assert_eq!(
            value(&fams, "slurm_node_memory_free_bytes", &[("node", "n1")]),
            None
        );
        assert_eq!(
            value(
                &fams,
                "slurm_node_state",
                &[("node", "n1"), ("state", "mixed")]
            ),
            Some(1.0)
        );
    }
}

//! Reservations: which exist (name, partition, flags), when they start and end,
//! whether they are in force, how many nodes and cores they hold, and the states
//! of the nodes inside (the nodes collector's closed state set), found by
//! expanding the reservation's host list against the node list; their sum is the
//! node count (Slurm's `NodeCnt`, not exported twice). One cheap query
//! plus the node list the nodes collector fetches anyway: on by default.

use std::collections::HashMap;

use super::{Collect, CollectorDef, Context};
use crate::exposition::Family;
use crate::model::{hostlist, DataKind, NodeStatus, SlurmData};

pub const DEF: CollectorDef = CollectorDef {
    name: "reservations",
    description:
        "per-reservation info, start/end times, node and core counts, states of the reserved nodes",
    enabled_by_default: true,
    needs: &[DataKind::Reservations, DataKind::Nodes],
    collect: Collect::Pure(collect),
};

fn collect(data: &SlurmData, ctx: &Context) -> Vec<Family> {
    let (Some(reservations), Some(nodes)) = (data.reservations.as_deref(), data.nodes.as_deref())
    else {
        return Vec::new();
    };
    let mut info = Family::gauge(
        "slurm_reservation_info",
        "A reservation, value 1, with its partition (empty when none) and flags (comma-separated)",
    );
    let mut start = Family::gauge(
        "slurm_reservation_start_timestamp_seconds",
        "When the reservation starts",
    );
    let mut end = Family::gauge(
        "slurm_reservation_end_timestamp_seconds",
        "When the reservation ends",
    );
    let mut active = Family::gauge(
        "slurm_reservation_active",
        "1 while the reservation is in force, 0 before it starts",
    );
    let mut core_count = Family::gauge(
        "slurm_reservation_cores",
        "Cores in the reservation as Slurm counts them",
    );
    let mut node_states = Family::gauge(
        "slurm_reservation_nodes",
        "Nodes of the reservation by their current state; the sum is the reservation's node count (nodes Slurm does not list count as unknown)",
    );
    let status: HashMap<&str, NodeStatus> = nodes
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), n.state.status()))
        .collect();
    for r in &reservations.reservations {
        let name = r.name.as_str();
        let flags = r.flags.join(",");
        info.push(
            ctx.labels(&[
                ("reservation", name),
                ("partition", r.partition.as_deref().unwrap_or("")),
                ("flags", &flags),
            ]),
            1.0,
        );
        let labels = ctx.labels(&[("reservation", name)]);
        start.push_opt(labels.clone(), r.start_time.map(|t| t as f64));
        end.push_opt(labels.clone(), r.end_time.map(|t| t as f64));
        active.push_opt(
            labels.clone(),
            r.is_active(ctx.now).map(|a| if a { 1.0 } else { 0.0 }),
        );
        core_count.push_opt(labels, r.core_count.map(|v| v as f64));
        // A host list we cannot expand gives no state series rather than wrong ones.
        let Some(Ok(names)) = r.node_list.as_deref().map(hostlist::expand) else {
            continue;
        };
        let mut counts = [0u64; NodeStatus::ALL.len()];
        for node in &names {
            let s = status
                .get(node.as_str())
                .copied()
                .unwrap_or(NodeStatus::Unknown);
            if let Some(i) = NodeStatus::ALL.iter().position(|x| *x == s) {
                counts[i] += 1;
            }
        }
        for (s, count) in NodeStatus::ALL.iter().zip(counts) {
            node_states.push(
                ctx.labels(&[("reservation", name), ("state", s.as_str())]),
                count as f64,
            );
        }
    }
    vec![info, start, end, active, core_count, node_states]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::testutil::{ctx, value};
    use crate::model::{Node, NodeState, Nodes, Reservation, Reservations};
    use std::sync::Arc;

    fn node(name: &str, state: &str) -> Node {
        Node {
            name: name.into(),
            state: NodeState::from_compound(state),
            ..Default::default()
        }
    }

    #[test]
    fn states_of_reserved_nodes_and_times() {
        let now = ctx().now;
        let data = SlurmData {
            nodes: Some(Arc::new(Nodes {
                nodes: vec![
                    node("n1", "ALLOCATED"),
                    node("n2", "MIXED+DRAIN"),
                    node("f1", "DOWN+NOT_RESPONDING"),
                    node("f2", "DOWN"),
                    node("n3", "IDLE+MAINTENANCE+RESERVED"),
                ],
            })),
            reservations: Some(Arc::new(Reservations {
                reservations: vec![
                    Reservation {
                        name: "lab_maint".into(),
                        flags: vec!["MAINT".into(), "SPEC_NODES".into()],
                        start_time: Some(now + 7 * 86_400),
                        end_time: Some(now + 7 * 86_400 + 3600),
                        node_list: Some("f[1-2],n[1-2]".into()),
                        node_count: Some(4),
                        core_count: Some(16),
                        state: Some("INACTIVE".into()),
                        ..Default::default()
                    },
                    Reservation {
                        name: "now".into(),
                        partition: Some("debug".into()),
                        start_time: Some(now - 60),
                        end_time: Some(now + 60),
                        node_list: Some("n[3-4]".into()),
                        node_count: Some(2),
                        ..Default::default()
                    },
                    Reservation {
                        name: "broken".into(),
                        node_list: Some("n[1-".into()),
                        ..Default::default()
                    },
                ],
            })),
            ..Default::default()
        };
        let f = collect(&data, &ctx());
        let v = |name, labels: &[(&str, &str)]| value(&f, name, labels);
        let maint = |state| {
            v(
                "slurm_reservation_nodes",
                &[("reservation", "lab_maint"), ("state", state)],
            )
        };
        assert_eq!(maint("allocated"), Some(1.0));
        assert_eq!(maint("draining"), Some(1.0));
        assert_eq!(maint("down"), Some(2.0));
        assert_eq!(maint("idle"), Some(0.0));
        assert_eq!(
            v(
                "slurm_reservation_info",
                &[
                    ("reservation", "lab_maint"),
                    ("partition", ""),
                    ("flags", "MAINT,SPEC_NODES")
                ]
            ),
            Some(1.0)
        );
        assert_eq!(
            v("slurm_reservation_active", &[("reservation", "lab_maint")]),
            Some(0.0)
        );
        assert_eq!(
            v(
                "slurm_reservation_end_timestamp_seconds",
                &[("reservation", "lab_maint")]
            ),
            Some((now + 7 * 86_400 + 3600) as f64)
        );
        assert_eq!(
            v("slurm_reservation_cores", &[("reservation", "lab_maint")]),
            Some(16.0)
        );
        // active from the times when Slurm gives no state (JSON)
        assert_eq!(
            v("slurm_reservation_active", &[("reservation", "now")]),
            Some(1.0)
        );
        let now_res = |state| {
            v(
                "slurm_reservation_nodes",
                &[("reservation", "now"), ("state", state)],
            )
        };
        assert_eq!(now_res("maint"), Some(1.0));
        // n4 is not in the node list
        assert_eq!(now_res("unknown"), Some(1.0));
        assert_eq!(
            v("slurm_reservation_cores", &[("reservation", "now")]),
            None
        );
        // an unreadable host list: info but no state series
        assert_eq!(
            v(
                "slurm_reservation_info",
                &[("reservation", "broken"), ("flags", "")]
            ),
            Some(1.0)
        );
        assert_eq!(
            v(
                "slurm_reservation_nodes",
                &[("reservation", "broken"), ("state", "unknown")]
            ),
            None
        );
    }
}

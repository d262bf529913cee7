//! GPUs and other generic resources (GRES): configured, allocated and idle by
//! GRES name (`gpu`, `shard`, `mps`, …) and model (`a100`, a MIG profile such
//! as `1g.10gb`; empty when untyped), per node, per partition and cluster-wide.
//!
//! Per node from `Gres=`/`GresUsed=` (JSON `gres`/`gres_used`); where a node
//! reports no GRES string, from the `gres/…` entries of its configured and
//! allocated TRES. Per-node series exist only for nodes that have GRES, so a
//! cluster without GPUs gets none. No extra Slurm query (the node list the
//! nodes collector reads): on by default.
//!
//! States follow the CPUs (`sinfo %C`): `allocated`; `idle` on usable nodes;
//! `other` (unallocated on down, drained or failing nodes); and `unknown` for a
//! node whose allocation Slurm did not report (e.g. `scontrol show node` without
//! `-d` and without GRES in the TRES).

use std::collections::BTreeMap;

use super::nodes::is_usable;
use super::{Collect, CollectorDef, Context};
use crate::exposition::Family;
use crate::model::{DataKind, Gres, Node, SlurmData};

pub const DEF: CollectorDef = CollectorDef {
    name: "gpus",
    description: "GPUs and other GRES by name and model: configured, allocated, idle per node (nodes with GRES only), per partition and cluster-wide",
    enabled_by_default: true,
    needs: &[DataKind::Nodes],
    collect: Collect::Pure(collect),
};

/// One GRES name and model of one node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeGres {
    pub name: String,
    pub model: Option<String>,
    pub total: u64,
    /// `None` when Slurm did not report it.
    pub allocated: Option<u64>,
}

/// The GRES of a node, configured and allocated, matched by name and model.
pub fn node_gres(node: &Node) -> Vec<NodeGres> {
    let from_tres = node.gres.is_empty();
    let configured: Vec<Gres> = if from_tres {
        tres_configured(&node.tres_gres)
    } else {
        node.gres.clone()
    };
    configured
        .iter()
        .map(|c| {
            let allocated = match (&node.gres_used, &node.tres_gres_allocated) {
                (Some(used), _) if !from_tres => lookup(used, c, &configured),
                // Allocated TRES count only for GRES the configured TRES track.
                (_, alloc) if node.tres_gres.iter().any(|t| t.name == c.name) => {
                    lookup(alloc.as_deref().unwrap_or_default(), c, &configured)
                }
                _ => None,
            };
            NodeGres {
                name: c.name.clone(),
                model: c.model.clone(),
                total: c.count,
                allocated: allocated.map(|a| a.min(c.count)),
            }
        })
        .collect()
}

/// Configured TRES: the typed entries of a name when there are any (the untyped
/// one is their sum), else the untyped one.
fn tres_configured(tres: &[Gres]) -> Vec<Gres> {
    tres.iter()
        .filter(|t| {
            t.model.is_some() || !tres.iter().any(|o| o.name == t.name && o.model.is_some())
        })
        .cloned()
        .collect()
}

/// How much of `want` (name and model) `list` says is allocated.
fn lookup(list: &[Gres], want: &Gres, configured: &[Gres]) -> Option<u64> {
    let same_name: Vec<&Gres> = list.iter().filter(|g| g.name == want.name).collect();
    if let Some(exact) = same_name.iter().find(|g| g.model == want.model) {
        return Some(exact.count);
    }
    if same_name.is_empty() {
        // Not listed as used: none in use.
        return Some(0);
    }
    if want.model.is_some() && same_name.iter().any(|g| g.model.is_some()) {
        // Other models of this name are listed, this one is not.
        return Some(0);
    }
    // Only an untyped entry (`gpu:0`, `gres/gpu=2`) for a typed configuration.
    let untyped = same_name.iter().find(|g| g.model.is_none())?.count;
    let models = configured.iter().filter(|c| c.name == want.name).count();
    if untyped == 0 {
        Some(0)
    } else if models == 1 {
        Some(untyped)
    } else {
        None
    }
}

const STATES: [&str; 4] = ["allocated", "idle", "other", "unknown"];

/// Allocated, idle, other, unknown of one node's GRES entry.
fn split(g: &NodeGres, usable: bool) -> [u64; 4] {
    match g.allocated {
        None => [0, 0, 0, g.total],
        Some(a) if usable => [a, g.total - a, 0, 0],
        Some(a) => [a, 0, g.total - a, 0],
    }
}

type Key = (String, String);

fn collect(data: &SlurmData, ctx: &Context) -> Vec<Family> {
    let Some(nodes) = data.nodes.as_deref() else {
        return Vec::new();
    };
    let mut total = Family::gauge(
        "slurm_node_gres",
        "GRES configured on the node, by GRES name and model (only nodes with GRES)",
    );
    let mut allocated = Family::gauge(
        "slurm_node_gres_allocated",
        "GRES allocated to jobs on the node, by GRES name and model",
    );
    let mut idle = Family::gauge(
        "slurm_node_gres_idle",
        "GRES free for jobs on the node (0 when the node is down, drained or failing)",
    );
    let mut cluster = Family::gauge(
        "slurm_gres",
        "GRES by name, model and state: allocated, idle (on usable nodes), other (unallocated on unusable nodes), unknown (allocation not reported)",
    );
    let mut partition = Family::gauge(
        "slurm_partition_gres",
        "GRES of the partition's nodes by name, model and state (as slurm_gres)",
    );
    let mut cluster_totals: BTreeMap<Key, [u64; 4]> = BTreeMap::new();
    let mut partition_totals: BTreeMap<(String, Key), [u64; 4]> = BTreeMap::new();
    for node in &nodes.nodes {
        let entries = node_gres(node);
        if entries.is_empty() {
            continue;
        }
        let usable = is_usable(node.state.status());
        for g in &entries {
            let model = g.model.clone().unwrap_or_default();
            let labels = ctx.labels(&[("node", &node.name), ("gres", &g.name), ("model", &model)]);
            total.push(labels.clone(), g.total as f64);
            allocated.push_opt(labels.clone(), g.allocated.map(|a| a as f64));
            let parts = split(g, usable);
            if g.allocated.is_some() {
                idle.push(labels, parts[1] as f64);
            }
            let key = (g.name.clone(), model);
            add(cluster_totals.entry(key.clone()).or_default(), parts);
            for p in &node.partitions {
                add(
                    partition_totals
                        .entry((p.clone(), key.clone()))
                        .or_default(),
                    parts,
                );
            }
        }
    }
    for ((name, model), counts) in &cluster_totals {
        for (state, count) in STATES.iter().zip(counts) {
            cluster.push(
                ctx.labels(&[("gres", name), ("model", model), ("state", state)]),
                *count as f64,
            );
        }
    }
    for ((p, (name, model)), counts) in &partition_totals {
        for (state, count) in STATES.iter().zip(counts) {
            partition.push(
                ctx.labels(&[
                    ("partition", p),
                    ("gres", name),
                    ("model", model),
                    ("state", state),
                ]),
                *count as f64,
            );
        }
    }
    vec![total, allocated, idle, cluster, partition]
}

fn add(into: &mut [u64; 4], parts: [u64; 4]) {
    for (t, p) in into.iter_mut().zip(parts) {
        *t += p;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::collectors::testutil::{ctx, value};
    use crate::model::gres::{parse_gres, parse_tres_gres};
    use crate::model::{NodeState, Nodes};
    use std::sync::Arc;

    fn node(name: &str, state: &str, parts: &[&str], gres: &str, used: Option<&str>) -> Node {
        Node {
            name: name.into(),
            partitions: parts.iter().map(|p| p.to_string()).collect(),
            state: NodeState::from_compound(state),
            gres: parse_gres(gres),
            gres_used: used.map(parse_gres),
            ..Default::default()
        }
    }

    fn ng(name: &str, model: Option<&str>, total: u64, allocated: Option<u64>) -> NodeGres {
        NodeGres {
            name: name.into(),
            model: model.map(String::from),
            total,
            allocated,
        }
    }

    #[test]
    fn matching_configured_and_used() {
        let n = node(
            "a",
            "MIXED",
            &[],
            "gpu:h100:2,gpu:h200:4",
            Some("gpu:h100:0(IDX:N/A),gpu:h200:3(IDX:0-2)"),
        );
        assert_eq!(
            node_gres(&n),
            [
                ng("gpu", Some("h100"), 2, Some(0)),
                ng("gpu", Some("h200"), 4, Some(3))
            ]
        );
        // untyped configuration, `(null)` type in use (24.05 sample)
        let n = node(
            "b",
            "MIXED",
            &[],
            "gpu:8(S:0-1)",
            Some("gpu:(null):2(IDX:0,4)"),
        );
        assert_eq!(node_gres(&n), [ng("gpu", None, 8, Some(2))]);
        // MIG slices and shards side by side
        let n = node(
            "c",
            "MIXED",
            &[],
            "gpu:1g.10gb:21(S:1),shard:a100:16",
            Some("gpu:1g.10gb:9(IDX:0-3,5-9),shard:a100:4(IDX:0)"),
        );
        assert_eq!(
            node_gres(&n),
            [
                ng("gpu", Some("1g.10gb"), 21, Some(9)),
                ng("shard", Some("a100"), 16, Some(4))
            ]
        );
        // an untyped `gpu:0` for a typed configuration: nothing in use
        let n = node("d", "IDLE", &[], "gpu:a100:4", Some("gpu:0"));
        assert_eq!(node_gres(&n), [ng("gpu", Some("a100"), 4, Some(0))]);
        // not reported (scontrol without -d, no TRES): unknown, not zero
        let n = node("e", "IDLE", &[], "gpu:a100:4", None);
        assert_eq!(node_gres(&n), [ng("gpu", Some("a100"), 4, None)]);
        // no GRES at all
        assert!(node_gres(&node("f", "IDLE", &[], "(null)", Some("gpu:0"))).is_empty());
    }

    #[test]
    fn tres_when_no_gres_string() {
        let mut n = node("t", "MIXED", &[], "", None);
        n.tres_gres = parse_tres_gres("cpu=16,mem=32000M,billing=16,gres/gpu=4");
        n.tres_gres_allocated = Some(parse_tres_gres("cpu=14,mem=18192M,gres/gpu=4"));
        assert_eq!(node_gres(&n), [ng("gpu", None, 4, Some(4))]);
        n.tres_gres = parse_tres_gres("cpu=16,gres/gpu=4,gres/gpu:a100=4");
        n.tres_gres_allocated = Some(Vec::new());
        assert_eq!(node_gres(&n), [ng("gpu", Some("a100"), 4, Some(0))]);
        // configured GRES string plus TRES allocation (23.11 text without -d)
        let mut n = node("u", "MIXED", &[], "gpu:a100:4", None);
        n.tres_gres = parse_tres_gres("cpu=16,gres/gpu=4");
        n.tres_gres_allocated = Some(parse_tres_gres("cpu=14,gres/gpu=3"));
        assert_eq!(node_gres(&n), [ng("gpu", Some("a100"), 4, Some(3))]);
    }

    #[test]
    fn series_per_node_partition_and_cluster() {
        let data = SlurmData {
            nodes: Some(Arc::new(Nodes {
                nodes: vec![
                    node(
                        "g1",
                        "MIXED",
                        &["gpu", "all"],
                        "gpu:a100:4(S:0-1)",
                        Some("gpu:a100:3(IDX:0-2)"),
                    ),
                    node(
                        "g2",
                        "IDLE+DRAIN",
                        &["gpu"],
                        "gpu:a100:4(S:0-1)",
                        Some("gpu:a100:1(IDX:0)"),
                    ),
                    node("g3", "IDLE", &["all"], "gpu:a100:2", None),
                    node("c1", "IDLE", &["all"], "(null)", Some("gpu:0")),
                ],
            })),
            ..Default::default()
        };
        let f = collect(&data, &ctx());
        let v = |name, labels: &[(&str, &str)]| value(&f, name, labels);
        let a100 = [("gres", "gpu"), ("model", "a100")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut l: Vec<(&str, &str)> = a100.to_vec();
            l.extend_from_slice(extra);
            l
        };
        assert_eq!(v("slurm_node_gres", &with(&[("node", "g1")])), Some(4.0));
        assert_eq!(
            v("slurm_node_gres_allocated", &with(&[("node", "g1")])),
            Some(3.0)
        );
        assert_eq!(
            v("slurm_node_gres_idle", &with(&[("node", "g1")])),
            Some(1.0)
        );
        assert_eq!(
            v("slurm_node_gres_idle", &with(&[("node", "g2")])),
            Some(0.0)
        );
        assert_eq!(
            v("slurm_node_gres_allocated", &with(&[("node", "g3")])),
            None
        );
        assert_eq!(v("slurm_node_gres_idle", &with(&[("node", "g3")])), None);
        // no per-node series for a node without GRES
        assert_eq!(v("slurm_node_gres", &[("node", "c1")]), None);
        let state = |s| v("slurm_gres", &with(&[("state", s)]));
        assert_eq!(state("allocated"), Some(4.0));
        assert_eq!(state("idle"), Some(1.0));
        assert_eq!(state("other"), Some(3.0));
        assert_eq!(state("unknown"), Some(2.0));
        let part = |p, s| {
            v(
                "slurm_partition_gres",
                &with(&[("partition", p), ("state", s)]),
            )
        };
        assert_eq!(part("gpu", "allocated"), Some(4.0));
        assert_eq!(part("gpu", "other"), Some(3.0));
        assert_eq!(part("all", "idle"), Some(1.0));
        assert_eq!(part("all", "unknown"), Some(2.0));
    }

    fn from_nodes(nodes: crate::model::Nodes) -> Vec<Family> {
        let data = SlurmData {
            nodes: Some(Arc::new(nodes)),
            ..Default::default()
        };
        collect(&data, &ctx())
    }

    /// 22.05 lab, second run: n1 has `Gres=gpu:fake:2`, job 5 holds one.
    #[test]
    fn lab_22_05_text_and_rest() {
        use crate::model::text::testdata;
        let text = crate::model::text::parse_scontrol_nodes(testdata::fixture(
            "scontrol-show-node-detail.txt",
        ))
        .unwrap();
        let rest =
            crate::model::json::parse_nodes(testdata::fixture("rest-v0.0.38-nodes-gres.json"))
                .unwrap()
                .data;
        for nodes in [text, rest] {
            let f = from_nodes(nodes);
            let v = |name, labels: &[(&str, &str)]| value(&f, name, labels);
            let fake = [("node", "n1"), ("gres", "gpu"), ("model", "fake")];
            assert_eq!(v("slurm_node_gres", &fake), Some(2.0));
            assert_eq!(v("slurm_node_gres_allocated", &fake), Some(1.0));
            // n1 is fully allocated (CPUs) but its second GPU is free
            assert_eq!(v("slurm_node_gres_idle", &fake), Some(1.0));
            assert_eq!(v("slurm_node_gres", &[("node", "n2")]), None);
            let p = |part, state| {
                v(
                    "slurm_partition_gres",
                    &[("partition", part), ("model", "fake"), ("state", state)],
                )
            };
            assert_eq!(p("debug", "allocated"), Some(1.0));
            assert_eq!(p("batch", "idle"), Some(1.0));
            assert_eq!(p("batch", "unknown"), Some(0.0));
        }
    }

    /// 22.05 text without `-d` (the first run's fixture, no GRES at all).
    #[test]
    fn no_gres_no_series() {
        let f = crate::model::text::testdata::fixture("scontrol-show-node.txt");
        let f = from_nodes(crate::model::text::parse_scontrol_nodes(f).unwrap());
        assert!(f.iter().all(|family| family.samples.is_empty()));
    }

    /// 23.11.4 text without `-d`: allocation from AllocTRES `gres/gpu`.
    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn text_23_11_tres_fallback() {
        let file = crate::model::text::testdata::sample(
            "slurm-23.11.4/scontrol_nodes__nbharathik_slurm-dashboard__nodes.txt",
        );
        let f = from_nodes(crate::model::text::parse_scontrol_nodes(file).unwrap());
        let v = |name, labels: &[(&str, &str)]| value(&f, name, labels);
        let tesla = [("node", "node01"), ("model", "tesla")];
        assert_eq!(v("slurm_node_gres", &tesla), Some(4.0));
        assert_eq!(v("slurm_node_gres_allocated", &tesla), Some(4.0));
        assert_eq!(v("slurm_node_gres_idle", &tesla), Some(0.0));
        let gpu02 = [("node", "gpu02"), ("model", "a100")];
        assert_eq!(v("slurm_node_gres_allocated", &gpu02), Some(0.0));
        // gpu02 and gpu03 are down: their 8 GPUs are `other`
        assert_eq!(
            v("slurm_gres", &[("model", "a100"), ("state", "other")]),
            Some(8.0)
        );
        assert_eq!(v("slurm_node_gres", &[("node", "cpu01")]), None);
    }

    /// 24.11.7 and 26.05.2 text (fake GPU workers of two models).
    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn text_24_11_and_26_05_two_models() {
        for rel in [
            "slurm-24.11.7/scontrol_nodes__SckyzO_slurm_exporter__scontrol_nodes.txt",
            "slurm-26.05.2/scontrol_nodes__SckyzO_slurm_exporter__scontrol_nodes.txt",
        ] {
            let file = crate::model::text::testdata::sample(rel);
            let nodes = crate::model::text::parse_scontrol_nodes(file).unwrap();
            let with_gres = nodes.nodes.iter().filter(|n| !n.gres.is_empty()).count();
            assert_eq!(with_gres, 10, "{rel}");
            let f = from_nodes(nodes);
            let total = |model| -> f64 {
                ["allocated", "idle", "other", "unknown"]
                    .iter()
                    .filter_map(|s| value(&f, "slurm_gres", &[("model", model), ("state", s)]))
                    .sum()
            };
            // model_a:4 on 4 nodes, model_b:4 on 4, model_a:2,model_b:2 on 2
            assert_eq!(total("model_a"), 20.0, "{rel}");
            assert_eq!(total("model_b"), 20.0, "{rel}");
            // no GresUsed (no -d) and no gres/gpu in the TRES: allocation unknown
            assert_eq!(
                value(
                    &f,
                    "slurm_gres",
                    &[("model", "model_a"), ("state", "unknown")]
                ),
                Some(20.0),
                "{rel}"
            );
        }
    }

    /// v0.0.40 (23.11.1, talapas): MIG profiles and full GPUs side by side.
    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_40_mig() {
        let file = crate::model::text::testdata::sample(
            "v0.0.40/nodes__lcrownover_prometheus-slurm-exporter__V0040OpenapiNodesResp.json",
        );
        let f = from_nodes(crate::model::json::parse_nodes(file).unwrap().data);
        let v = |name, labels: &[(&str, &str)]| value(&f, name, labels);
        let mig = [("node", "n0162"), ("model", "1g.10gb")];
        assert_eq!(v("slurm_node_gres", &mig), Some(21.0));
        assert_eq!(v("slurm_node_gres_allocated", &mig), Some(9.0));
        assert_eq!(v("slurm_node_gres_idle", &mig), Some(12.0));
        let drained = [("node", "n0164"), ("model", "nvidia_a100_80gb_pcie")];
        assert_eq!(v("slurm_node_gres_idle", &drained), Some(0.0));
        assert_eq!(
            v(
                "slurm_partition_gres",
                &[
                    ("partition", "gpu"),
                    ("model", "1g.10gb"),
                    ("state", "allocated")
                ]
            ),
            Some(14.0)
        );
        // nodes with `gres: ""` and `gres_used: "gpu:0"` have no GPU series
        assert_eq!(
            f.iter()
                .find(|x| x.name == "slurm_node_gres")
                .map(|x| x.samples.len()),
            Some(7)
        );
    }

    /// v0.0.41 (24.05.6, 981 production nodes): untyped `gpu:8`, in use as
    /// `gpu:(null):N`.
    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_41_production() {
        let file = crate::model::text::testdata::sample(
            "v0.0.41/nodes__fluidstackio_slurm-exporter__rest_api_example_response_nodes.json",
        );
        let f = from_nodes(crate::model::json::parse_nodes(file).unwrap().data);
        let v = |state| {
            value(
                &f,
                "slurm_gres",
                &[("gres", "gpu"), ("model", ""), ("state", state)],
            )
        };
        assert_eq!(v("allocated"), Some(2263.0));
        assert_eq!(v("idle"), Some(5513.0));
        assert_eq!(v("other"), Some(8.0));
        assert_eq!(v("unknown"), Some(0.0));
        let per_node = f
            .iter()
            .find(|x| x.name == "slurm_node_gres")
            .map(|x| x.samples.len());
        assert_eq!(per_node, Some(973));
        assert_eq!(
            value(
                &f,
                "slurm_partition_gres",
                &[("partition", "main"), ("state", "allocated")]
            ),
            Some(2263.0)
        );
    }
}

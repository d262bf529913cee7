//! `/nodes` (and 22.05 `sinfo --json`, the same document).
//!
//! | field | v0.0.37/38 | v0.0.39+ |
//! |---|---|---|
//! | `state` | `"mixed"` + `state_flags: ["DRAIN"]` | `["MIXED", "DRAIN"]` |
//! | free memory | `free_memory` (MB, `-2` = unknown) | `free_mem` `{set, number}` |
//! | `cpu_load` | load × 100, `4294967294` = unknown | same, an object in v0.0.39 |
//! | `reason_changed_at` | int, `0` = never | object from v0.0.40 |
//! | `gres`, `gres_used`, `tres`, `tres_used` | strings (see `model::gres`) | same |

use serde::de::MapAccess;
use serde::Deserialize;

use super::document::Body;
use super::value::{capped_opt_list, EachElement, Names, Num};
use crate::model::caps::{TooLarge, MAX_NODES};
use crate::model::{gres, mib_to_bytes, Node, NodeState, ParseError};

/// One element of `nodes[]`; every other field is skipped.
#[derive(Deserialize)]
struct RawNode {
    name: String,
    #[serde(default, deserialize_with = "capped_opt_list")]
    partitions: Option<Vec<String>>,
    #[serde(default)]
    state: Names,
    #[serde(default, deserialize_with = "capped_opt_list")]
    state_flags: Option<Vec<String>>,
    #[serde(default)]
    cpus: Num,
    #[serde(default)]
    alloc_cpus: Num,
    #[serde(default)]
    real_memory: Num,
    #[serde(default)]
    alloc_memory: Num,
    #[serde(default)]
    free_memory: Num,
    #[serde(default)]
    free_mem: Num,
    #[serde(default)]
    cpu_load: Num,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    reason_changed_at: Num,
    #[serde(default)]
    gres: Option<String>,
    #[serde(default)]
    gres_used: Option<String>,
    #[serde(default)]
    tres: Option<String>,
    #[serde(default)]
    tres_used: Option<String>,
}

/// Base states of a node; everything else in a v0.0.39+ state array is a flag.
const BASE_STATES: [&str; 8] = [
    "UNKNOWN",
    "DOWN",
    "IDLE",
    "ALLOCATED",
    "ERROR",
    "MIXED",
    "FUTURE",
    "END",
];

impl RawNode {
    /// The node; a GRES or TRES list over its caps is [`TooLarge::LIST`].
    fn into_node(self) -> Result<Node, TooLarge> {
        let raw = self;
        let free = match raw.free_mem {
            Num::Unset => raw.free_memory,
            free_mem => free_mem,
        };
        Ok(Node {
            name: raw.name,
            partitions: raw
                .partitions
                .unwrap_or_default()
                .into_iter()
                .filter(|p| !p.trim().is_empty())
                .collect(),
            state: node_state(&raw.state, raw.state_flags.as_deref().unwrap_or_default()),
            cpus_total: raw.cpus.value(),
            cpus_allocated: raw.alloc_cpus.value(),
            memory_total_bytes: raw.real_memory.value().map(mib_to_bytes),
            memory_allocated_bytes: raw.alloc_memory.value().map(mib_to_bytes),
            memory_free_bytes: free.value().map(mib_to_bytes),
            cpu_load: raw.cpu_load.float().map(|l| l / 100.0),
            reason: raw
                .reason
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty()),
            reason_changed_at: raw.reason_changed_at.timestamp(),
            gres: raw
                .gres
                .as_deref()
                .map(gres::capped_gres)
                .transpose()?
                .unwrap_or_default(),
            gres_used: raw
                .gres_used
                .as_deref()
                .map(gres::capped_gres)
                .transpose()?,
            tres_gres: raw
                .tres
                .as_deref()
                .map(gres::capped_tres_gres)
                .transpose()?
                .unwrap_or_default(),
            tres_gres_allocated: raw
                .tres_used
                .as_deref()
                .map(gres::capped_tres_gres)
                .transpose()?,
        })
    }
}

/// `"mixed"` + `["DRAIN"]` (v0.0.38), `"IDLE+DRAIN"` or `["MIXED", "DRAIN"]` (v0.0.39+).
fn node_state(state: &Names, state_flags: &[String]) -> NodeState {
    let mut result = match state {
        Names::One(text) => NodeState::from_compound(text),
        Names::Many(_) => {
            let mut names = state.upper();
            let base_at = names
                .iter()
                .position(|n| BASE_STATES.contains(&n.as_str()))
                .unwrap_or(0);
            let base = if names.is_empty() {
                String::new()
            } else {
                names.remove(base_at)
            };
            NodeState { base, flags: names }
        }
    };
    for flag in state_flags {
        let flag = flag.trim().to_ascii_uppercase();
        if !flag.is_empty() && !result.flags.contains(&flag) {
            result.flags.push(flag);
        }
    }
    result
}

#[derive(Default)]
pub(super) struct NodesBody {
    pub(super) nodes: Option<Vec<Node>>,
    /// 23.02+ `sinfo --json`: nodes grouped by partition and state, not one per node.
    grouped_sinfo: bool,
}

impl Body for NodesBody {
    const KEY: &'static str = "nodes";

    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        match key {
            "nodes" => {
                let mut nodes = Vec::new();
                let mut too_large = None;
                let mut push = |raw: RawNode| match raw.into_node() {
                    Ok(node) => nodes.push(node),
                    Err(t) => {
                        too_large.get_or_insert(t);
                    }
                };
                let complete = map.next_value_seed(EachElement::with_limit(
                    &mut push,
                    MAX_NODES,
                    TooLarge::NODES,
                ))?;
                if let Some(t) = too_large {
                    return Err(t.de_error());
                }
                if complete {
                    self.nodes = Some(nodes);
                }
                Ok(true)
            }
            "sinfo" => {
                self.grouped_sinfo = true;
                Ok(false)
            }
            _ => Ok(false),
        }
    }

    fn found(&self) -> bool {
        self.nodes.is_some()
    }

    fn is_empty(&self) -> bool {
        self.nodes.as_ref().is_some_and(Vec::is_empty)
    }

    fn missing(&self) -> ParseError {
        if self.grouped_sinfo {
            return ParseError::Json(serde::de::Error::custom(
                "a top-level `sinfo` array (sinfo --json of Slurm 23.02+, nodes grouped by \
                 partition and state) is not supported for nodes: use `scontrol show node` \
                 or REST /nodes",
            ));
        }
        ParseError::Json(serde::de::Error::missing_field(Self::KEY))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::parse_nodes;
    use super::*;
    use crate::model::text::testdata;
    use crate::model::NodeStatus;

    const MIB: u64 = 1024 * 1024;

    fn sample(rel: &str) -> Vec<Node> {
        parse_nodes(testdata::sample(rel)).unwrap().data.nodes
    }

    fn named<'a>(nodes: &'a [Node], name: &str) -> &'a Node {
        nodes.iter().find(|n| n.name == name).expect(name)
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_37_rivosinc() {
        let nodes = sample("v0.0.37/nodes__rivosinc_prometheus-slurm-exporter__sinfo_out.json");
        assert_eq!(nodes.len(), 4);
        let cs2 = named(&nodes, "cs2.example.company.com");
        assert_eq!(cs2.partitions, ["hw"]);
        assert_eq!(cs2.state.status(), NodeStatus::Mixed);
        assert_eq!((cs2.cpus_total, cs2.cpus_allocated), (Some(64), Some(4)));
        assert_eq!(cs2.memory_total_bytes, Some(500_000 * MIB));
        assert_eq!(cs2.memory_allocated_bytes, Some(114_688 * MIB));
        assert_eq!(cs2.memory_free_bytes, Some(337_330 * MIB));
        assert_eq!(cs2.cpu_load, Some(0.01));
        assert_eq!(cs2.reason, None);
        assert_eq!(cs2.reason_changed_at, None);
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_37_sentinels() {
        let nodes = sample("v0.0.37/nodes__mila-iqia_clockwork__sinfo_1.json");
        assert_eq!(nodes.len(), 2);
        let n = named(&nodes, "test-node-1");
        assert_eq!(n.state.base, "DOWN");
        assert_eq!(n.state.flags, ["NOT_RESPONDING"]);
        assert_eq!(n.memory_free_bytes, None); // free_memory: -2
        assert_eq!(n.cpu_load, None); // cpu_load: 4294967294
        assert_eq!(n.reason.as_deref(), Some("Not responding"));
        assert_eq!(n.reason_changed_at, Some(1_667_084_449));
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_38_telegraf() {
        let file = testdata::sample("v0.0.38/nodes__influxdata_telegraf__gather-nodes.json");
        let response = parse_nodes(file).unwrap();
        assert_eq!(response.meta.release.as_deref(), Some("22.05.9"));
        assert_eq!(response.meta.data_version.as_deref(), Some("v0.0.38"));
        assert_eq!(response.last_update, None);
        let nodes = response.data.nodes;
        assert_eq!(nodes.len(), 3);
        let n = named(&nodes, "naboo145");
        assert_eq!(n.state.base, "IDLE");
        assert_eq!(n.state.flags, ["DRAIN"]);
        assert_eq!(n.state.status(), NodeStatus::Drained);
        assert_eq!(n.cpus_total, Some(36));
        assert_eq!(n.memory_total_bytes, Some(94_791 * MIB));
        assert_eq!(n.memory_free_bytes, Some(86_423 * MIB));
        assert_eq!(n.cpu_load, Some(0.27));
        assert_eq!(n.reason.as_deref(), Some("Kill task failed"));
        assert_eq!(n.reason_changed_at, Some(1_723_077_306));
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_38_firecrest() {
        let nodes = sample("v0.0.38/nodes__eth-cscs_firecrest-v2__slurm_get_nodes.json");
        let n = named(&nodes, "localhost");
        assert_eq!(n.partitions, ["part01", "part02", "xfer"]);
        assert_eq!(n.state.status(), NodeStatus::Idle);
        assert_eq!(n.cpu_load, Some(3.05));
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_39_slurm_web() {
        let nodes = sample("v0.0.39/nodes__rackslab_Slurm-web__s23.02-slurm-nodes.json");
        assert_eq!(nodes.len(), 100);
        let cn001 = named(&nodes, "cn001");
        assert_eq!(cn001.state.status(), NodeStatus::Allocated);
        assert_eq!((cn001.cpus_total, cn001.cpus_allocated), (Some(2), Some(2)));
        assert_eq!(cn001.memory_total_bytes, Some(MIB));
        assert_eq!(cn001.memory_free_bytes, None); // free_mem set: false
        assert_eq!(cn001.cpu_load, None); // an object with set: false in v0.0.39
        let drain = sample("v0.0.39/nodes__rackslab_Slurm-web__s23.02-slurm-node-drain.json");
        let cn051 = named(&drain, "cn051");
        assert_eq!(cn051.state.flags, ["DRAIN"]);
        assert_eq!(cn051.reason.as_deref(), Some("ECC memory error"));
        assert_eq!(cn051.reason_changed_at, Some(1_727_343_318));
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_39_grouped_sinfo_is_refused() {
        let file = testdata::sample(
            "v0.0.39/nodes__rivosinc_prometheus-slurm-exporter__sinfo_dataparser.json",
        );
        let err = parse_nodes(file).unwrap_err();
        assert!(err.to_string().contains("sinfo"), "{err}");
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_40_talapas() {
        let file = testdata::sample(
            "v0.0.40/nodes__lcrownover_prometheus-slurm-exporter__V0040OpenapiNodesResp.json",
        );
        let response = parse_nodes(file).unwrap();
        assert_eq!(response.meta.cluster.as_deref(), Some("talapas"));
        assert_eq!(response.meta.release.as_deref(), Some("23.11.1"));
        assert_eq!(response.meta.data_version.as_deref(), Some("v0.0.40"));
        assert!(response.last_update.is_some());
        let nodes = response.data.nodes;
        assert_eq!(nodes.len(), 12);
        let dtn1 = named(&nodes, "dtn1");
        assert!(dtn1.partitions.is_empty());
        assert_eq!(dtn1.state.base, "DOWN");
        assert_eq!(dtn1.state.flags, ["NOT_RESPONDING"]);
        assert_eq!(dtn1.reason.as_deref(), Some("Not responding"));
        assert_eq!(dtn1.reason_changed_at, Some(1_710_797_454));
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_40_to_44_slurm_web() {
        // (file, node, base, flags, free MB, cpu_load ×100, reason_changed_at)
        type Case<'a> = (
            &'a str,
            &'a str,
            &'a str,
            &'a [&'a str],
            Option<u64>,
            f64,
            Option<i64>,
        );
        let cases: [Case; 6] = [
            (
                "v0.0.40/nodes__rackslab_Slurm-web__s23.11-slurm-nodes.json",
                "cn1",
                "IDLE",
                &["DRAIN"],
                Some(1637),
                50.0,
                Some(1_746_621_136),
            ),
            (
                "v0.0.41/nodes__rackslab_Slurm-web__s25.11-slurm-nodes.json",
                "cn1",
                "IDLE",
                &["COMPLETING"],
                Some(326),
                60.0,
                None,
            ),
            (
                "v0.0.41/nodes__fluidstackio_slurm-exporter__rest_api_example_response_nodes.json",
                "fs-mbz-gpu-006",
                "ALLOCATED",
                &["DYNAMIC_NORM"],
                Some(415_922),
                10.0,
                None,
            ),
            (
                "v0.0.42/nodes__rackslab_Slurm-web__s25.05-slurm-nodes.json",
                "cn1",
                "ALLOCATED",
                &[],
                Some(678),
                147.0,
                None,
            ),
            (
                "v0.0.43/nodes__rackslab_Slurm-web__s25.11-slurm-nodes.json",
                "cn1",
                "DOWN",
                &[],
                Some(349),
                0.0,
                Some(1_763_377_475),
            ),
            (
                "v0.0.44/nodes__rackslab_Slurm-web__s25.11-slurm-nodes.json",
                "cn1",
                "IDLE",
                &["DRAIN"],
                Some(852),
                30.0,
                Some(1_763_321_769),
            ),
        ];
        for (file, name, base, flags, free_mb, load, changed) in cases {
            let nodes = sample(file);
            let n = named(&nodes, name);
            assert_eq!(n.state.base, base, "{file}");
            assert_eq!(n.state.flags, flags, "{file}");
            assert_eq!(n.memory_free_bytes, free_mb.map(|m| m * MIB), "{file}");
            assert_eq!(n.cpu_load, Some(load / 100.0), "{file}");
            assert_eq!(n.reason_changed_at, changed, "{file}");
        }
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn fluidstack_981_nodes() {
        let nodes = sample(
            "v0.0.41/nodes__fluidstackio_slurm-exporter__rest_api_example_response_nodes.json",
        );
        assert_eq!(nodes.len(), 981);
        let n = named(&nodes, "fs-mbz-gpu-006");
        assert_eq!(n.partitions, ["main", "highprio", "higherprio", "lowprio"]);
        assert_eq!((n.cpus_total, n.cpus_allocated), (Some(128), Some(128)));
        assert_eq!(n.memory_total_bytes, Some(1_612_647 * MIB));
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_41_synthetic_infinite_values() {
        // OpenAPI-generator example: `infinite: true` everywhere.
        let nodes = sample(
            "v0.0.41/nodes__lcrownover_prometheus-slurm-exporter__V0041OpenapiNodesResp.json",
        );
        let n = &nodes[0];
        assert_eq!(n.memory_free_bytes, None);
        assert_eq!(n.reason_changed_at, None);
        assert_eq!(n.cpus_total, Some(9));
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_42_and_43_grouped_sinfo_is_refused() {
        for file in [
            "v0.0.42/nodes__ivolabbe_slurminal__sinfo.json",
            "v0.0.43/nodes__facebookresearch_gcm__sample-sinfo-output.json",
        ] {
            let reader = testdata::sample(file);
            assert!(parse_nodes(reader).is_err(), "{file}");
        }
    }

    #[test]
    fn lab_22_05_rest_and_sinfo_json() {
        for name in ["rest-v0.0.38-nodes.json", "sinfo.json"] {
            let file = testdata::fixture(name);
            let response = parse_nodes(file).unwrap();
            assert_eq!(response.meta.release.as_deref(), Some("22.05.8"));
            let nodes = response.data.nodes;
            let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
            assert_eq!(names, ["f1", "f2", "n1", "n2"], "{name}");
            let f1 = &nodes[0];
            assert_eq!(f1.state.status(), NodeStatus::Down);
            assert_eq!(f1.cpu_load, None);
            assert_eq!(f1.memory_free_bytes, None);
            assert_eq!(f1.reason.as_deref(), Some("fake node"));
            assert_eq!(f1.reason_changed_at, None);
            let n2 = &nodes[3];
            assert_eq!(n2.state.status(), NodeStatus::Draining);
            assert_eq!(n2.cpus_total, Some(4));
            assert_eq!(n2.memory_total_bytes, Some(4000 * MIB));
            assert_eq!(n2.reason.as_deref(), Some("lab drain test"));
            assert!(n2.reason_changed_at.is_some());
        }
    }

    #[test]
    fn lab_22_05_json_agrees_with_scontrol_text() {
        let (json, text) = (
            testdata::fixture("rest-v0.0.38-nodes.json"),
            testdata::fixture("scontrol-show-node.txt"),
        );
        let json = parse_nodes(json).unwrap().data.nodes;
        let text = crate::model::text::parse_scontrol_nodes(text)
            .unwrap()
            .nodes;
        assert_eq!(json.len(), text.len());
        for (j, t) in json.iter().zip(&text) {
            assert_eq!(j.name, t.name);
            assert_eq!(j.partitions, t.partitions);
            assert_eq!(j.state.status(), t.state.status(), "{}", j.name);
            assert_eq!(j.cpus_total, t.cpus_total);
            assert_eq!(j.memory_total_bytes, t.memory_total_bytes);
            assert_eq!(j.reason, t.reason);
        }
    }

    #[test]
    fn states_by_shape() {
        let flags = vec!["DRAIN".to_string()];
        assert_eq!(
            node_state(&Names::One("mixed".into()), &flags),
            NodeState {
                base: "MIXED".into(),
                flags: vec!["DRAIN".into()]
            }
        );
        assert_eq!(
            node_state(&Names::Many(vec!["DRAIN".into(), "idle".into()]), &[]),
            NodeState {
                base: "IDLE".into(),
                flags: vec!["DRAIN".into()]
            }
        );
        assert_eq!(node_state(&Names::Many(vec![]), &[]), NodeState::default());
    }

    #[test]
    fn unknown_fields_ignored_missing_fields_none() {
        let doc = r#"{"nodes":[{"name":"a-node-name-longer-than-twenty-chars","new_field":{"deep":[1,2,{"x":null}]},"state":["IDLE"]}],"extra":[1,2,3]}"#;
        let nodes = parse_nodes(doc.as_bytes()).unwrap().data.nodes;
        assert_eq!(nodes[0].name, "a-node-name-longer-than-twenty-chars");
        assert_eq!(nodes[0].state.status(), NodeStatus::Idle);
        assert_eq!(nodes[0].cpus_total, None);
        assert_eq!(nodes[0].memory_free_bytes, None);
        assert_eq!(nodes[0].cpu_load, None);
        assert!(nodes[0].partitions.is_empty());
    }

    #[test]
    fn lists_inside_nodes_are_capped() {
        use crate::model::caps::{TooLarge, MAX_LIST_ITEMS, MAX_NODES};
        let too_large = |doc: String| match parse_nodes(doc.as_bytes()) {
            Err(ParseError::TooLarge(t)) => t,
            other => panic!("{other:?}"),
        };
        let list = |n: usize| vec!["\"p\""; n].join(",");
        let node = |field: &str, value: String| {
            format!(r#"{{"nodes": [{{"name": "n1", "{field}": {value}}}]}}"#)
        };
        assert!(
            parse_nodes(node("partitions", format!("[{}]", list(MAX_LIST_ITEMS))).as_bytes())
                .is_ok()
        );
        for field in ["partitions", "state_flags"] {
            let doc = node(field, format!("[{}]", list(MAX_LIST_ITEMS + 1)));
            assert_eq!(too_large(doc), TooLarge::LIST, "{field}");
        }
        // GRES and TRES strings: items and distinct kinds.
        let gres = (0..=gres::MAX_GRES_KINDS)
            .map(|i| format!("g{i}:1"))
            .collect::<Vec<_>>();
        assert_eq!(
            too_large(node("gres", format!("\"{}\"", gres.join(",")))),
            TooLarge::LIST
        );
        let same = vec!["gpu:1"; MAX_LIST_ITEMS + 1].join(",");
        assert_eq!(
            too_large(node("gres_used", format!("\"{same}\""))),
            TooLarge::LIST
        );
        let tres = vec!["gres/gpu=1"; MAX_LIST_ITEMS + 1].join(",");
        assert_eq!(
            too_large(node("tres", format!("\"{tres}\""))),
            TooLarge::LIST
        );
        // The nodes of one document.
        let many = |n: usize| {
            format!(
                r#"{{"nodes": [{}]}}"#,
                vec![r#"{"name": "n"}"#; n].join(",")
            )
        };
        assert_eq!(
            parse_nodes(many(MAX_NODES).as_bytes())
                .unwrap()
                .data
                .nodes
                .len(),
            MAX_NODES
        );
        assert_eq!(too_large(many(MAX_NODES + 1)), TooLarge::NODES);
    }

    #[test]
    fn malformed_documents() {
        assert!(parse_nodes(r#"{"nodes":[{"state":"idle"}]}"#.as_bytes()).is_err()); // no name
        assert!(parse_nodes(r#"{"nodes":{"name":"x"}}"#.as_bytes()).is_err());
        assert!(parse_nodes(r#"{"meta":{}}"#.as_bytes()).is_err());
        assert!(parse_nodes(r#"[]"#.as_bytes()).is_err());
        assert!(parse_nodes(&b"\x00\xff garbage"[..]).is_err());
        assert!(parse_nodes(r#"{"nodes":[]} trailing"#.as_bytes()).is_err());
        assert!(parse_nodes(r#"{"nodes":[{"name":"x","cpus":[1]}]}"#.as_bytes()).is_err());
        assert!(parse_nodes(r#"{"nodes":[]}"#.as_bytes())
            .unwrap()
            .data
            .nodes
            .is_empty());
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn truncated_samples_are_errors() {
        for file in [
            "v0.0.38/nodes__influxdata_telegraf__gather-nodes.json",
            "v0.0.44/nodes__rackslab_Slurm-web__s25.11-slurm-nodes.json",
        ] {
            let bytes = testdata::sample_bytes(file);
            for cut in [bytes.len() / 2, bytes.len() - 3, 1] {
                assert!(parse_nodes(&bytes[..cut]).is_err(), "{file} cut at {cut}");
            }
        }
    }
}

//! `/partitions`.
//!
//! | field | v0.0.38 (flat) | v0.0.39 | v0.0.40+ |
//! |---|---|---|---|
//! | state | `state: "UP"` | — | `partition.state: ["UP"]` |
//! | CPUs / nodes | `total_cpus`, `total_nodes` | `cpus.total`, `nodes.total` | same |
//! | default | `flags: ["default"]` | — | — |
//! | max time | `max_time_limit` (minutes, `-1` unlimited) | `maximums.time` `{set, infinite, number}` | same |
//!
//! v0.0.38's `nodes` is the host list string; v0.0.39+ has no default flag in any
//! sample (every field of the samples checked), so `is_default` is `None` there
//! unless a `flags` list shows up.

use serde::de::MapAccess;
use serde::Deserialize;

use super::document::Body;
use super::value::{EachElement, Names, Num, Total};
use crate::model::caps::{TooLarge, MAX_PARTITIONS};
use crate::model::Partition;

#[derive(Deserialize)]
struct RawPartition {
    name: String,
    #[serde(default)]
    state: Option<Names>,
    #[serde(default)]
    partition: Option<RawPartitionPart>,
    #[serde(default)]
    total_cpus: Num,
    #[serde(default)]
    total_nodes: Num,
    #[serde(default)]
    cpus: Option<Total>,
    #[serde(default)]
    nodes: Option<Total>,
    #[serde(default)]
    flags: Option<Names>,
    #[serde(default)]
    max_time_limit: Num,
    #[serde(default)]
    maximums: Option<RawMaximums>,
}

/// v0.0.40+ `partition: {state: [...]}`.
#[derive(Deserialize, Default)]
struct RawPartitionPart {
    #[serde(default)]
    state: Option<Names>,
    #[serde(default)]
    flags: Option<Names>,
}

#[derive(Deserialize, Default)]
struct RawMaximums {
    #[serde(default)]
    time: Num,
}

impl From<RawPartition> for Partition {
    fn from(raw: RawPartition) -> Partition {
        let part = raw.partition.unwrap_or_default();
        let state = part
            .state
            .or(raw.state)
            .and_then(|s| s.upper().into_iter().next());
        let flags = raw.flags.or(part.flags);
        let minutes = match raw.maximums {
            Some(max) => max.time,
            None => raw.max_time_limit,
        };
        Partition {
            name: raw.name,
            state,
            total_cpus: raw
                .cpus
                .and_then(|t| t.0.value())
                .or_else(|| raw.total_cpus.value()),
            total_nodes: raw
                .nodes
                .and_then(|t| t.0.value())
                .or_else(|| raw.total_nodes.value()),
            is_default: flags.map(|f| f.upper().iter().any(|f| f == "DEFAULT")),
            max_time_seconds: minutes.value().and_then(|m| m.checked_mul(60)),
        }
    }
}

#[derive(Default)]
pub(super) struct PartitionsBody {
    pub(super) partitions: Option<Vec<Partition>>,
}

impl Body for PartitionsBody {
    const KEY: &'static str = "partitions";

    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        if key != "partitions" {
            return Ok(false);
        }
        let mut partitions = Vec::new();
        let mut push = |raw: RawPartition| partitions.push(Partition::from(raw));
        if map.next_value_seed(EachElement::with_limit(
            &mut push,
            MAX_PARTITIONS,
            TooLarge::PARTITIONS,
        ))? {
            self.partitions = Some(partitions);
        }
        Ok(true)
    }

    fn found(&self) -> bool {
        self.partitions.is_some()
    }

    fn is_empty(&self) -> bool {
        self.partitions.as_ref().is_some_and(Vec::is_empty)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::parse_partitions;
    use crate::model::text::testdata;
    use crate::model::Partition;

    fn partition(
        name: &str,
        state: Option<&str>,
        cpus: u64,
        nodes: u64,
        default: Option<bool>,
        max: Option<u64>,
    ) -> Partition {
        Partition {
            name: name.into(),
            state: state.map(String::from),
            total_cpus: Some(cpus),
            total_nodes: Some(nodes),
            is_default: default,
            max_time_seconds: max,
        }
    }

    fn sample(rel: &str) -> Vec<Partition> {
        parse_partitions(testdata::sample(rel))
            .unwrap()
            .data
            .partitions
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_38_flat() {
        let parts = sample("v0.0.38/partitions__eth-cscs_firecrest-v2__slurm_get_partitions.json");
        assert_eq!(
            parts,
            vec![
                partition("part01", Some("UP"), 2, 1, Some(true), Some(7200 * 60)),
                partition("part02", Some("UP"), 2, 1, Some(false), Some(2880 * 60)),
                partition("xfer", Some("UP"), 2, 1, Some(false), Some(2880 * 60)),
            ]
        );
        let parts = sample("v0.0.38/partitions__influxdata_telegraf__gather-partitions.json");
        // max_time_limit: -1 is unlimited.
        assert_eq!(
            parts,
            vec![partition("atlas", Some("UP"), 632, 21, Some(true), None)]
        );
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_39_nested_without_state() {
        let parts = sample("v0.0.39/partitions__rackslab_Slurm-web__s23.02-slurm-partitions.json");
        assert_eq!(
            parts,
            vec![
                partition("batch", None, 160, 80, None, None),
                partition("debug", None, 38, 19, None, Some(3600)),
                partition("interactive", None, 2, 1, None, Some(600)),
            ]
        );
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_40_to_44_nested_with_state() {
        let cases = [
            ("v0.0.40/partitions__lcrownover_prometheus-slurm-exporter__V0040OpenapiPartitionResp.json", partition("compute", Some("UP"), 5376, 42, None, Some(1440 * 60))),
            ("v0.0.40/partitions__rackslab_Slurm-web__s23.11-slurm-partitions.json", partition("normal", Some("UP"), 256, 4, None, None)),
            ("v0.0.41/partitions__influxdata_telegraf__gather-0041-partitions.json", partition("nodes", Some("UP"), 432, 4, None, Some(44_640 * 60))),
            ("v0.0.41/partitions__fluidstackio_slurm-exporter__rest_api_example_response_partitions.json", partition("main", Some("UP"), 124_544, 973, None, None)),
            ("v0.0.42/partitions__rackslab_Slurm-web__s24.11-slurm-partitions.json", partition("standard", Some("UP"), 256, 4, None, Some(7200))),
            ("v0.0.43/partitions__rackslab_Slurm-web__s25.05-slurm-partitions.json", partition("normal", Some("UP"), 256, 4, None, Some(7200))),
            ("v0.0.44/partitions__rackslab_Slurm-web__s25.11-slurm-partitions.json", partition("normal", Some("UP"), 256, 4, None, Some(7200))),
        ];
        for (file, first) in cases {
            let parts = sample(file);
            assert_eq!(parts[0], first, "{file}");
        }
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_41_synthetic_states() {
        let parts = sample("v0.0.41/partitions__lcrownover_prometheus-slurm-exporter__V0041OpenapiPartitionResp.json");
        assert_eq!(parts[0].state.as_deref(), Some("INACTIVE"));
        assert_eq!(parts[0].max_time_seconds, None); // infinite: true
    }

    #[test]
    fn flags_when_present() {
        let doc = r#"{"partitions":[{"name":"p","partition":{"state":["DRAIN"],"flags":["DEFAULT"]},"nodes":{"total":3},"cpus":{"total":12},"maximums":{"time":"Infinity"}}]}"#;
        let parts = parse_partitions(doc.as_bytes()).unwrap().data.partitions;
        assert_eq!(
            parts,
            vec![partition("p", Some("DRAIN"), 12, 3, Some(true), None)]
        );
        let bare = r#"{"partitions":[{"name":"q","unknown":{"a":[1]}}]}"#;
        let parts = parse_partitions(bare.as_bytes()).unwrap().data.partitions;
        assert_eq!(
            parts,
            vec![Partition {
                name: "q".into(),
                ..Partition::default()
            }]
        );
    }

    #[test]
    fn lab_22_05_rest() {
        let file = testdata::fixture("rest-v0.0.38-partitions.json");
        let parts = parse_partitions(file).unwrap().data.partitions;
        assert_eq!(
            parts,
            vec![
                partition("debug", Some("UP"), 16, 4, Some(true), None),
                partition("batch", Some("UP"), 16, 4, Some(false), Some(86_400)),
            ]
        );
    }

    #[test]
    fn lab_22_05_json_agrees_with_scontrol_text() {
        let (json, text) = (
            testdata::fixture("rest-v0.0.38-partitions.json"),
            testdata::fixture("scontrol-show-partition.txt"),
        );
        let json = parse_partitions(json).unwrap().data.partitions;
        let text = crate::model::text::parse_scontrol_partitions(text)
            .unwrap()
            .partitions;
        assert_eq!(json, text);
    }

    #[test]
    fn truncated_is_an_error() {
        let bytes = testdata::fixture_bytes("rest-v0.0.38-partitions.json");
        assert!(parse_partitions(&bytes[..bytes.len() / 2]).is_err());
        assert!(parse_partitions(r#"{"partitions":[{"state":"UP"}]}"#.as_bytes()).is_err());
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn truncated_sample_is_an_error() {
        let bytes = testdata::sample_bytes(
            "v0.0.41/partitions__rackslab_Slurm-web__s25.11-slurm-partitions.json",
        );
        assert!(parse_partitions(&bytes[..bytes.len() / 2]).is_err());
    }
}

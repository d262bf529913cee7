//! The CPU side of a collection, without a source: collectors turn the model into
//! families, each collector's families are encoded once (serving both formats), the outputs of
//! the clusters are merged and compressed, and the parts become a snapshot.
//!
//! The engine calls these steps one by one (it keeps stale outputs and merges
//! several clusters); [`one_cluster`] chains them for one cluster, which is what
//! the benchmarks measure.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::collectors::{Collect, CollectorDef, CollectorState, Context};
use crate::encoded::{self, Encoded};
use crate::exposition::{Family, Format};
use crate::model::SlurmData;
use crate::self_metrics::{ClusterStats, CollectionStats};
use crate::snapshot::{CollectorStatus, Part, Snapshot};

/// State of the stateful collectors of one cluster, by collector name.
pub type States = BTreeMap<&'static str, Box<dyn CollectorState>>;

/// Runs one collector on this collection's data: a pure one directly, a stateful
/// one by folding the data into its state (created at its first collection).
pub fn collect(
    def: &'static CollectorDef,
    states: &mut States,
    data: &SlurmData,
    ctx: &Context,
) -> Vec<Family> {
    match def.collect {
        Collect::Pure(collect) => collect(data, ctx),
        Collect::Stateful(init) => {
            let state = states.entry(def.name).or_insert_with(init);
            state.update(data, ctx);
            state.families(ctx)
        }
    }
}

/// One collector's output for one cluster, encoded once for both formats.
pub struct Segment {
    pub encoded: Encoded,
    pub series: usize,
}

impl Segment {
    /// Encodes `families` (consumed: each is dropped once written); `size_hint`
    /// is the expected size, the previous encoding's.
    pub fn encode(families: Vec<Family>, size_hint: usize) -> Segment {
        let series = families.iter().map(|f| f.series()).sum();
        Segment {
            encoded: Encoded::new(families, size_hint),
            series,
        }
    }
}

/// One collector's output merged over the clusters, in both formats, each
/// compressed once.
pub struct Merged {
    pub text: Part,
    pub openmetrics: Part,
    pub series: usize,
}

impl Merged {
    /// `None` when no cluster has an output of this collector.
    pub fn of(segments: &[&Segment]) -> Option<Merged> {
        if segments.is_empty() {
            return None;
        }
        let encodings: Vec<&Encoded> = segments.iter().map(|s| &s.encoded).collect();
        let parents: Vec<&Bytes> = encodings.iter().map(|e| &e.text).collect();
        Some(Merged {
            text: Part::from_pieces(encoded::merge(&encodings, Format::Text), &parents),
            openmetrics: Part::from_pieces(
                encoded::merge(&encodings, Format::OpenMetrics),
                &parents,
            ),
            series: segments.iter().map(|s| s.series).sum(),
        })
    }
}

/// The snapshot of the collectors' merged outputs (in collector order) followed
/// by the exporter's own families.
pub fn assemble(
    merged: &[&Merged],
    own: Vec<Family>,
    created_unix: f64,
    collectors: Vec<CollectorStatus>,
) -> Snapshot {
    let mut text = Vec::with_capacity(merged.len() + 1);
    let mut openmetrics = Vec::with_capacity(merged.len() + 1);
    let mut series = 0;
    for m in merged {
        text.push(m.text.clone());
        openmetrics.push(m.openmetrics.clone());
        series += m.series;
    }
    let own_series: usize = own.iter().map(|f| f.series()).sum();
    let own = Encoded::new(own, 0);
    text.push(Part::from_pieces(own.chunks(Format::Text), &[&own.text]));
    openmetrics.push(Part::from_pieces(
        own.chunks(Format::OpenMetrics),
        &[&own.text],
    ));
    Snapshot::new(
        text,
        openmetrics,
        series + own_series,
        created_unix,
        collectors,
    )
}

/// One collection of one cluster whose data was all read: every collector in
/// `collectors` runs on `data`, and the snapshot is built as the engine builds it
/// (self-metrics of a fresh exporter included). `states` carries the stateful
/// collectors from one call to the next, as the engine keeps them.
pub fn one_cluster(
    collectors: &[&'static CollectorDef],
    states: &mut States,
    data: &SlurmData,
    ctx: &Context,
) -> Snapshot {
    let merged: Vec<Merged> = collectors
        .iter()
        .filter(|def| def.needs.iter().all(|k| data.has(*k)))
        .filter_map(|def| {
            let segment = Segment::encode(collect(def, states, data, ctx), 0);
            Merged::of(&[&segment])
        })
        .collect();
    let merged: Vec<&Merged> = merged.iter().collect();
    let series = merged.iter().map(|m| m.series).sum();
    let cluster_stats = ClusterStats::default();
    let own =
        CollectionStats::default().families(series, &[(ctx.cluster.as_str(), &cluster_stats)]);
    assemble(&merged, own, ctx.now as f64, Vec::new())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::collectors;
    use crate::model::text::{parse_scontrol_ping, testdata};
    use crate::model::ControllerData;
    use crate::snapshot::Tail;

    #[test]
    fn one_cluster_runs_the_collectors_whose_data_was_read() {
        let ping = testdata::fixture("scontrol-ping.txt");
        let data = SlurmData {
            controllers: Some(Arc::new(ControllerData {
                controllers: parse_scontrol_ping(ping).unwrap(),
                info: Default::default(),
            })),
            ..SlurmData::default()
        };
        let defs = [
            collectors::find("controller").unwrap(),
            collectors::find("jobs").unwrap(),
        ];
        let ctx = Context::new("lab", 1_700_000_000);
        let snapshot = one_cluster(&defs, &mut States::new(), &data, &ctx);
        let body: Vec<u8> = snapshot
            .body_with_tail(Format::Text, false, &Tail::new(String::new()))
            .concat();
        let body = String::from_utf8(body).unwrap();
        assert!(
            body.contains("slurm_controller_up{cluster=\"lab\""),
            "{body}"
        );
        assert!(!body.contains("slurm_jobs"), "jobs were not read: {body}");
        assert!(body.contains("slurm_exporter_"), "self-metrics: {body}");
        let samples = body
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .count();
        assert_eq!(snapshot.series, samples);
    }
}

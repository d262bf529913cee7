//! Collectors: pure functions from the Slurm model to metric families.
//!
//! Each collector lives in its own file, declares the data it needs, and can be
//! switched with `--collector.<name>` / `--no-collector.<name>`. The engine runs a
//! collector only when all its data was fetched; otherwise it keeps the collector's
//! last good families and marks them stale.

mod associations;
mod controller;
mod fairshare;
mod gpus;
mod jobs;
mod licenses;
mod nodes;
mod partitions;
mod qos;
mod reservations;
mod scheduler;

use crate::exposition::{Family, Labels};
use crate::model::{DataKind, SlurmData};

/// What every collector gets besides the data.
#[derive(Debug, Clone)]
pub struct Context {
    /// Value of the `cluster` label on every Slurm series.
    pub cluster: String,
    /// Collection time, seconds since the epoch (for ages).
    pub now: i64,
}

impl Context {
    /// Labels starting with `cluster`, followed by `extra`.
    pub fn labels(&self, extra: &[(&'static str, &str)]) -> Labels {
        let mut labels = Vec::with_capacity(extra.len() + 1);
        labels.push(("cluster", self.cluster.clone()));
        labels.extend(extra.iter().map(|(k, v)| (*k, (*v).to_string())));
        labels
    }
}

/// A collector's static description.
#[derive(Debug)]
pub struct CollectorDef {
    pub name: &'static str,
    pub description: &'static str,
    pub enabled_by_default: bool,
    pub needs: &'static [DataKind],
    pub collect: fn(&SlurmData, &Context) -> Vec<Family>,
}

/// Every collector the exporter has.
pub const ALL: &[CollectorDef] = &[
    nodes::DEF,
    partitions::DEF,
    jobs::DEF,
    scheduler::DEF,
    controller::DEF,
    licenses::DEF,
    reservations::DEF,
    gpus::DEF,
    fairshare::DEF,
    qos::DEF,
    associations::DEF,
];

/// Looks a collector up by name.
pub fn find(name: &str) -> Option<&'static CollectorDef> {
    ALL.iter().find(|c| c.name == name)
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::Context;
    use crate::exposition::Family;

    pub fn ctx() -> Context {
        Context {
            cluster: "lab".into(),
            now: 1_700_000_000,
        }
    }

    /// Value of the first sample of `name` (family name plus suffix) whose labels
    /// include every pair in `labels`.
    pub fn value(families: &[Family], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        families.iter().find_map(|f| {
            f.samples.iter().find_map(|s| {
                let full = format!("{}{}", f.name, s.suffix);
                let matches = full == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.iter().any(|(lk, lv)| lk == k && lv == v));
                matches.then_some(s.value)
            })
        })
    }
}

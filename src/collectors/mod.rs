//! Collectors: pure functions from the Slurm model to metric families.
//!
//! Each collector lives in its own file, declares the data it needs, and can be
//! switched with `--collector.<name>` / `--no-collector.<name>`. The engine runs a
//! collector only when all its data was fetched; otherwise it keeps the collector's
//! last good families and marks them stale.
//!
//! Families with unbounded label values (users, accounts) go through
//! [`Context::cap`]; see [`cap`] for the mechanism and how to add one.

mod associations;
mod associations_users;
pub mod cap;
mod controller;
mod fairshare;
mod fairshare_users;
mod gpus;
mod jobs;
mod licenses;
mod nodes;
mod partitions;
mod qos;
mod reservations;
mod rpc_users;
mod scheduler;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::exposition::{Family, Labels};
use crate::model::{DataKind, SlurmData};
use cap::{CapSettings, Capped, Fold};

/// What every collector gets besides the data.
#[derive(Debug, Clone)]
pub struct Context {
    /// Value of the `cluster` label on every Slurm series.
    pub cluster: String,
    /// Collection time, seconds since the epoch (for ages).
    pub now: i64,
    /// Settings of the capped families (`caps.*`).
    pub caps: Arc<CapSettings>,
    /// Values folded by `top` in this collection, per capped family.
    folded: Arc<Mutex<BTreeMap<&'static str, u64>>>,
}

impl Context {
    /// A context with the default caps.
    pub fn new(cluster: impl Into<String>, now: i64) -> Context {
        Context {
            cluster: cluster.into(),
            now,
            caps: Arc::default(),
            folded: Arc::default(),
        }
    }

    /// The same context with these cap settings.
    pub fn with_caps(mut self, caps: Arc<CapSettings>) -> Context {
        self.caps = caps;
        self
    }

    /// Caps one family's values with its configured settings (see [`cap`]) and
    /// records how many were folded, for `slurm_exporter_series_dropped_total`.
    pub fn cap<V: Fold>(
        &self,
        family: &'static str,
        items: impl IntoIterator<Item = (String, V)>,
        weight: impl Fn(&V) -> f64,
    ) -> Capped<V> {
        debug_assert!(
            cap::find(family).is_some(),
            "{family} is not in cap::FAMILIES"
        );
        let capped = cap::cap(items, weight, self.caps.limit(family));
        if let Ok(mut folded) = self.folded.lock() {
            let n = folded.entry(family).or_insert(0);
            *n = n.saturating_add(capped.folded as u64);
        }
        capped
    }

    /// Takes the folded counts recorded since the last call.
    pub fn take_folded(&self) -> BTreeMap<&'static str, u64> {
        self.folded
            .lock()
            .map(|mut f| std::mem::take(&mut *f))
            .unwrap_or_default()
    }

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
    fairshare_users::DEF,
    associations_users::DEF,
    rpc_users::DEF,
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
        Context::new("lab", 1_700_000_000)
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

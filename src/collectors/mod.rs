//! Collectors: pure functions from the Slurm model to metric families.
//!
//! Each collector lives in its own file, declares the data it needs, and can be
//! switched with `--collector.<name>` / `--no-collector.<name>`. The engine runs a
//! collector only when all its data was fetched; otherwise it keeps the collector's
//! last good families and marks them stale.
//!
//! Families with unbounded label values (users, accounts) go through
//! [`Context::cap`]; see [`cap`] for the mechanism and how to add one.
//!
//! Most collectors are [`Collect::Pure`]: this collection's data in, families out.
//! A collector that needs the past (counters of events, durations between
//! snapshots) is [`Collect::Stateful`]: the engine owns one [`CollectorState`] per
//! such collector, created when the collector is switched on, folds each
//! collection's data into it (only when all the collector's data was fetched, so a
//! failed read changes nothing) and renders it. The state is plain data updated
//! without I/O, so it is tested like a pure function: state + data -> state.

mod accounting;
mod accounts;
mod associations;
mod associations_users;
pub mod cap;
mod controller;
mod derived;
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
mod slurmdbd;
mod usage;
mod users;

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
    pub collect: Collect,
}

/// How a collector turns data into families.
#[derive(Debug, Clone, Copy)]
pub enum Collect {
    /// A function of this collection's data only.
    Pure(fn(&SlurmData, &Context) -> Vec<Family>),
    /// State kept across collections; this makes the initial (empty) state.
    Stateful(fn() -> Box<dyn CollectorState>),
}

/// The state of a [`Collect::Stateful`] collector (counters that accumulate,
/// the previous snapshot, ...). No I/O: everything comes in through `update`.
pub trait CollectorState: Send + Sync + std::fmt::Debug {
    /// Folds one collection's data in. Called once per collection in which all
    /// the collector's data was fetched, in collection order.
    fn update(&mut self, data: &SlurmData, ctx: &Context);
    /// The families the state shows now.
    fn families(&self, ctx: &Context) -> Vec<Family>;
}

impl CollectorDef {
    /// The families for `data` alone: a pure collector's output, or what a
    /// stateful collector shows after its first collection (tests, docs, fuzzing).
    pub fn collect_once(&self, data: &SlurmData, ctx: &Context) -> Vec<Family> {
        match self.collect {
            Collect::Pure(collect) => collect(data, ctx),
            Collect::Stateful(init) => {
                let mut state = init();
                state.update(data, ctx);
                state.families(ctx)
            }
        }
    }
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
    accounting::DEF,
    accounts::DEF,
    users::DEF,
    slurmdbd::DEF,
    derived::DEF,
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

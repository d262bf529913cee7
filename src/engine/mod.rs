//! The collection loop: once per interval, whatever the number of scrapers, fetch
//! each needed kind of Slurm data exactly once (concurrently, each with a hard
//! timeout), run the collectors on it, and publish a new snapshot.
//!
//! Several clusters can be read by one process: each has its own source and state
//! (`cluster.rs`), and their outputs are merged family by family.
//!
//! A collector whose data could not be fetched keeps serving its last good series;
//! `slurm_exporter_collector_up` turns 0 and the error is counted by reason.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use futures_util::future::join_all;

use crate::collectors::CollectorDef;
use crate::config::Config;
use crate::model::{DataKind, SlurmData, Tier};
use crate::self_metrics::{ClusterStats, CollectionStats, HttpStats, ReloadStatus};
use crate::snapshot::{Snapshot, Tail};
use crate::source::Fetched;

mod cluster;
pub mod render;
use cluster::ClusterRun;
use render::Merged;

/// A per-request tail and when it was encoded.
pub type CachedTail = (Instant, Arc<Tail>);

/// State shared between the collection loop, the reloader and the HTTP side.
pub struct Shared {
    pub snapshot: ArcSwap<Snapshot>,
    /// Per-request metrics (HTTP, process, reload), encoded per format and reused
    /// for `tail_ttl`, so a burst of scrapes encodes and compresses them once.
    pub tail_cache: std::sync::Mutex<[Option<CachedTail>; 2]>,
    /// How long a cached tail is served (0 = encode per request).
    pub tail_ttl: Duration,
    pub http: std::sync::Mutex<HttpStats>,
    pub reload: std::sync::Mutex<ReloadStatus>,
    pub started: Instant,
    /// When the last collection finished (`None`: none yet), for `/health`.
    pub last_collection: std::sync::Mutex<Option<Instant>>,
    timing: ArcSwap<Timing>,
}

/// `/health` fails when no collection has finished for this many intervals (plus
/// the collection timeout): the collection loop is wedged or gone, and only a
/// restart brings it back. A collection that fails still finishes.
pub const WEDGED_AFTER_INTERVALS: u32 = 5;

/// Collection timing, changed by a config reload.
#[derive(Debug, Clone, Copy)]
struct Timing {
    interval: Duration,
    timeout: Duration,
    ready_max_intervals: u32,
}

impl Shared {
    pub fn new(interval: Duration, ready_max_intervals: u32) -> Shared {
        Shared {
            snapshot: ArcSwap::from_pointee(Snapshot::empty()),
            tail_cache: std::sync::Mutex::new([None, None]),
            tail_ttl: Duration::from_millis(200),
            http: std::sync::Mutex::new(HttpStats::default()),
            reload: std::sync::Mutex::new(ReloadStatus::default()),
            started: Instant::now(),
            last_collection: std::sync::Mutex::new(None),
            timing: ArcSwap::from_pointee(Timing {
                interval,
                timeout: interval,
                ready_max_intervals,
            }),
        }
    }

    /// The collection interval in force.
    pub fn interval(&self) -> Duration {
        self.timing.load().interval
    }

    /// Data of a collector running every `interval` older than this makes `/ready` fail.
    pub fn ready_max_age(&self, interval: Duration) -> Duration {
        // Saturating: `--collection.interval=500000000000y` must not panic /ready.
        interval.saturating_mul(self.timing.load().ready_max_intervals)
    }

    /// How long without a finished collection makes `/health` fail.
    pub fn wedged_after(&self) -> Duration {
        let t = self.timing.load();
        t.interval
            .saturating_mul(WEDGED_AFTER_INTERVALS)
            .saturating_add(t.timeout)
    }

    /// `Some(reason)` when no collection has finished for `wedged_after` (counted
    /// from the start before the first one).
    pub fn wedged(&self) -> Option<String> {
        let last = self.last_collection.lock().ok().and_then(|l| *l);
        let since = last.unwrap_or(self.started).elapsed();
        let limit = self.wedged_after();
        (since > limit).then(|| {
            format!(
                "no collection has finished for {:.0}s (limit {}s: {} intervals plus the timeout); \
                 the collection loop is wedged",
                since.as_secs_f64(),
                limit.as_secs(),
                WEDGED_AFTER_INTERVALS
            )
        })
    }

    fn set_timing(&self, interval: Duration, timeout: Duration, ready_max_intervals: u32) {
        self.timing.store(Arc::new(Timing {
            interval,
            timeout,
            ready_max_intervals,
        }));
    }
}

/// The interval of each collection tier.
#[derive(Debug, Clone, Default)]
pub struct Tiers(BTreeMap<Tier, Duration>);

impl Tiers {
    fn from_config(config: &Config) -> Tiers {
        Tiers(
            [Tier::Fast, Tier::Slow, Tier::Accounting]
                .into_iter()
                .map(|t| (t, config.tier_interval(t)))
                .collect(),
        )
    }

    pub fn get(&self, tier: Tier) -> Duration {
        self.0.get(&tier).copied().unwrap_or(Duration::ZERO)
    }

    /// How often a collector runs: the longest interval among the data it reads.
    pub fn collector_interval(&self, def: &CollectorDef) -> Duration {
        def.needs
            .iter()
            .map(|k| self.get(k.tier()))
            .max()
            .unwrap_or_else(|| self.get(Tier::Fast))
    }
}

/// The background collector. Owns its state; publishes through `Shared`.
pub struct Engine {
    clusters: Vec<ClusterRun>,
    collectors: Vec<&'static CollectorDef>,
    timeout: Duration,
    shared: Arc<Shared>,
    merged: BTreeMap<&'static str, Merged>,
    stats: CollectionStats,
    /// Whether the last snapshot exceeded the series limit (to log once per excursion).
    over_series_limit: bool,
    tiers: Tiers,
}

fn new_ticker(interval: Duration) -> tokio::time::Interval {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    ticker
}

impl Engine {
    /// An engine for `config`, publishing through `shared`.
    pub fn new(config: &Config, shared: Arc<Shared>) -> anyhow::Result<Engine> {
        let mut engine = Engine {
            clusters: Vec::new(),
            collectors: Vec::new(),
            timeout: config.timeout,
            shared,
            merged: BTreeMap::new(),
            stats: CollectionStats::default(),
            over_series_limit: false,
            tiers: Tiers::default(),
        };
        engine.apply(config)?;
        Ok(engine)
    }

    /// Applies a (validated) configuration between collections. Collectors switched
    /// off lose their series; collectors switched on start at the next collection;
    /// a cluster keeps its state when its name stays in the list, and its source
    /// is rebuilt only when its settings changed.
    pub fn apply(&mut self, config: &Config) -> anyhow::Result<()> {
        let tiers = Tiers::from_config(config);
        let acct = (config.accounting_lookback, config.accounting_max_window);
        let mut old = std::mem::take(&mut self.clusters);
        let mut runs = Vec::with_capacity(config.clusters.len());
        for cluster in &config.clusters {
            let mut run = match old.iter().position(|r| r.config.name == cluster.name) {
                Some(i) => {
                    let mut run = old.swap_remove(i);
                    if let Err(e) = run.reconfigure(cluster.clone(), config.timeout, acct) {
                        // Keep the clusters as they were: the reload is refused.
                        old.push(run);
                        runs.extend(old);
                        self.clusters = runs;
                        return Err(e);
                    }
                    run
                }
                None => ClusterRun::new(cluster.clone(), config.timeout, acct)?,
            };
            run.set_collectors(&self.collectors, &config.collectors, &tiers);
            run.set_caps(&config.caps, &config.collectors);
            runs.push(run);
        }
        self.clusters = runs;
        self.collectors = config.collectors.clone();
        // Rebuilt at the next publication (the clusters or collectors may differ).
        self.merged.clear();
        self.timeout = config.timeout;
        self.tiers = tiers;
        self.stats.series_limit = config.series_limit;
        self.shared
            .set_timing(config.interval, config.timeout, config.ready_max_intervals);
        Ok(())
    }

    /// Collects once per interval until `shutdown` completes, applying each new
    /// configuration from `configs` as it arrives (and collecting right after).
    /// A collection in progress at shutdown is dropped (its commands are killed).
    pub async fn run(
        mut self,
        mut configs: tokio::sync::watch::Receiver<Arc<Config>>,
        shutdown: impl Future<Output = ()>,
    ) {
        let work = async {
            let mut interval = self.shared.interval();
            let mut ticker = new_ticker(interval);
            loop {
                tokio::select! {
                    _ = ticker.tick() => self.collect_once().await,
                    changed = configs.changed() => {
                        if changed.is_err() {
                            // The reloader is gone: keep collecting with what we have.
                            std::future::pending::<()>().await;
                        }
                        let config = configs.borrow_and_update().clone();
                        if let Err(e) = self.apply(&config) {
                            tracing::error!(error = format!("{e:#}").as_str(), "cannot apply the new configuration");
                            continue;
                        }
                        if self.shared.interval() != interval {
                            interval = self.shared.interval();
                            ticker = new_ticker(interval);
                        } else {
                            self.collect_once().await;
                        }
                    }
                }
            }
        };
        tokio::select! {
            _ = shutdown => {}
            _ = work => {}
        }
    }

    /// Kinds of data the enabled collectors need. The controller query is always
    /// made: it gives the cluster name every series is labelled with.
    fn needed(&self) -> BTreeSet<DataKind> {
        let mut kinds: BTreeSet<DataKind> = self
            .collectors
            .iter()
            .flat_map(|c| c.needs.iter().copied())
            .collect();
        kinds.insert(DataKind::Controllers);
        kinds
    }

    /// One collection: every cluster fetches what is due (all concurrently; one
    /// cluster's failure or slowness costs the others nothing but the wait), runs
    /// the collectors on it, then one snapshot is published.
    pub async fn collect_once(&mut self) {
        let cycle_started = Instant::now();
        let needed = self.needed();
        let (tiers, timeout) = (&self.tiers, self.timeout);
        let fetches = join_all(
            self.clusters
                .iter()
                .map(|run| run.fetch(&needed, cycle_started, tiers, timeout)),
        )
        .await;
        let mut ran: BTreeSet<&'static str> = BTreeSet::new();
        for (run, fetched) in self.clusters.iter_mut().zip(fetches) {
            ran.extend(run.collect(fetched, &needed, &self.collectors));
        }
        for name in ran {
            self.merged.remove(name);
        }
        self.publish(cycle_started);
        crate::malloc::release_free_memory();
    }

    /// Merges a collector's output over the clusters.
    fn merge(&self, name: &'static str) -> Option<Merged> {
        let segments: Vec<_> = self
            .clusters
            .iter()
            .filter_map(|r| r.segments.get(name))
            .collect();
        Merged::of(&segments)
    }

    /// Encodes everything into a new snapshot. The cycle time reported is that of
    /// the previous collection (this one's encoding is not finished yet).
    fn publish(&mut self, cycle_started: Instant) {
        for def in self.collectors.clone() {
            if !self.merged.contains_key(def.name) {
                if let Some(m) = self.merge(def.name) {
                    self.merged.insert(def.name, m);
                }
            }
        }
        let merged: Vec<&Merged> = self
            .collectors
            .iter()
            .filter_map(|def| self.merged.get(def.name))
            .collect();
        let series = merged.iter().map(|m| m.series).sum();
        let clusters: Vec<(&str, &ClusterStats)> = self
            .clusters
            .iter()
            .map(|r| (r.label(), &r.stats))
            .collect();
        let own = self.stats.families(series, &clusters);
        let fetch_and_collect = cycle_started.elapsed();
        let collectors = self
            .clusters
            .iter()
            .flat_map(|r| {
                self.collectors
                    .iter()
                    .filter_map(|c| r.status.get(c.name).cloned())
            })
            .collect();
        let snapshot = render::assemble(&merged, own, unix_now(), collectors);
        let total = snapshot.series;
        let over = total as u64 > self.stats.series_limit;
        if over && !self.over_series_limit {
            tracing::warn!(
                series = total,
                limit = self.stats.series_limit,
                "the snapshot exceeds collection.series_limit; check the collectors' cardinality"
            );
        }
        self.over_series_limit = over;
        self.shared.snapshot.store(Arc::new(snapshot));
        if let Ok(mut last) = self.shared.last_collection.lock() {
            *last = Some(Instant::now());
        }
        self.stats.last_cycle_seconds = Some(cycle_started.elapsed().as_secs_f64());
        tracing::debug!(
            fetch_and_collect_seconds = fetch_and_collect.as_secs_f64(),
            total_seconds = cycle_started.elapsed().as_secs_f64(),
            "collection finished"
        );
    }
}

pub(crate) fn store(data: &mut SlurmData, fetched: Fetched) {
    match fetched {
        Fetched::Nodes(v) => data.nodes = Some(Arc::new(v)),
        Fetched::Partitions(v) => data.partitions = Some(Arc::new(v)),
        Fetched::Jobs(v) => data.jobs = Some(v),
        Fetched::Diag(v) => data.diag = Some(Arc::new(*v)),
        Fetched::Controllers(v) => data.controllers = Some(Arc::new(v)),
        Fetched::Licenses(v) => data.licenses = Some(Arc::new(v)),
        Fetched::Reservations(v) => data.reservations = Some(Arc::new(v)),
        Fetched::Shares(v) => data.shares = Some(Arc::new(v)),
        Fetched::Qos(v) => data.qos = Some(Arc::new(v)),
        Fetched::QosUsage(v) => data.qos_usage = Some(Arc::new(v)),
        Fetched::Associations(v) => data.associations = Some(Arc::new(v)),
        Fetched::Accounting(v) => data.accounting = Some(Arc::new(v)),
        Fetched::Dbd(v) => data.dbd = Some(Arc::new(v)),
    }
}

pub(crate) fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

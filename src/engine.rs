//! The collection loop: once per interval, whatever the number of scrapers, fetch
//! each needed kind of Slurm data exactly once (concurrently, each with a hard
//! timeout), run the collectors on it, and publish a new snapshot.
//!
//! A collector whose data could not be fetched keeps serving its last good series;
//! `slurm_exporter_collector_up` turns 0 and the error is counted by reason.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use futures_util::future::join_all;

use crate::collectors::{CollectorDef, Context};
use crate::config::Config;
use crate::exposition::{encode, Format};
use crate::model::{DataKind, SlurmData, Tier};
use crate::self_metrics::{CollectionStats, HttpStats, ReloadStatus};
use crate::snapshot::{CollectorStatus, Part, Snapshot, Tail};
use crate::source::{Fetched, Source, SourceError};

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
    timing: ArcSwap<Timing>,
}

/// Collection timing, changed by a config reload.
#[derive(Debug, Clone, Copy)]
struct Timing {
    interval: Duration,
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
            timing: ArcSwap::from_pointee(Timing {
                interval,
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

    fn set_timing(&self, interval: Duration, ready_max_intervals: u32) {
        self.timing.store(Arc::new(Timing {
            interval,
            ready_max_intervals,
        }));
    }
}

/// The last good encoded (and compressed) output of one collector.
struct Segment {
    text: Part,
    openmetrics: Part,
    series: usize,
}

/// The background collector. Owns its state; publishes through `Shared`.
pub struct Engine {
    source: Source,
    collectors: Vec<&'static CollectorDef>,
    cluster_override: Option<String>,
    timeout: Duration,
    shared: Arc<Shared>,
    segments: BTreeMap<&'static str, Segment>,
    status: BTreeMap<&'static str, CollectorStatus>,
    stats: CollectionStats,
    known_cluster: Option<String>,
    /// What the current source was built from, to rebuild it only on change.
    source_settings: String,
    /// Whether the last snapshot exceeded the series limit (to log once per excursion).
    over_series_limit: bool,
    /// Interval of each collection tier.
    tiers: BTreeMap<Tier, Duration>,
    /// When each kind of data was last asked for, and whether that succeeded.
    attempts: BTreeMap<DataKind, (Instant, bool)>,
    /// Last good data of the slower tiers, reused between their reads.
    slow_data: SlurmData,
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
            source: Source::from_config(config)?,
            collectors: Vec::new(),
            cluster_override: None,
            timeout: config.timeout,
            shared,
            segments: BTreeMap::new(),
            status: BTreeMap::new(),
            stats: CollectionStats::default(),
            known_cluster: None,
            source_settings: config.source_settings(),
            over_series_limit: false,
            tiers: BTreeMap::new(),
            attempts: BTreeMap::new(),
            slow_data: SlurmData::default(),
        };
        engine.apply(config)?;
        Ok(engine)
    }

    /// Applies a (validated) configuration between collections. Collectors switched
    /// off lose their series; collectors switched on start at the next collection;
    /// the source is rebuilt only when its settings changed.
    pub fn apply(&mut self, config: &Config) -> anyhow::Result<()> {
        let settings = config.source_settings();
        if settings != self.source_settings {
            self.source = Source::from_config(config)?;
            self.source_settings = settings;
        }
        for removed in self
            .collectors
            .iter()
            .filter(|c| !config.collectors.iter().any(|n| n.name == c.name))
        {
            self.segments.remove(removed.name);
            self.status.remove(removed.name);
            self.stats.collectors.remove(removed.name);
        }
        for added in config
            .collectors
            .iter()
            .filter(|c| !self.collectors.iter().any(|old| old.name == c.name))
        {
            // A collector switched on reads its data at once, whatever its tier.
            for kind in added.needs {
                self.attempts.remove(kind);
            }
        }
        for c in &config.collectors {
            self.stats.collectors.entry(c.name).or_default();
            self.status
                .entry(c.name)
                .or_insert_with(|| CollectorStatus {
                    name: c.name,
                    up: false,
                    last_success_unix: None,
                    last_success: None,
                    last_error: Some("no collection yet".into()),
                    interval: config.interval,
                });
        }
        self.tiers = [Tier::Fast, Tier::Slow, Tier::Accounting]
            .into_iter()
            .map(|t| (t, config.tier_interval(t)))
            .collect();
        for c in &config.collectors {
            let interval = self.collector_interval(c);
            if let Some(status) = self.status.get_mut(c.name) {
                status.interval = interval;
            }
        }
        self.collectors = config.collectors.clone();
        self.cluster_override = config.cluster_name.clone();
        self.timeout = config.timeout;
        self.stats.series_limit = config.series_limit;
        self.shared
            .set_timing(config.interval, config.ready_max_intervals);
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

    fn tier_interval(&self, tier: Tier) -> Duration {
        self.tiers.get(&tier).copied().unwrap_or(Duration::ZERO)
    }

    /// How often a collector runs: the longest interval among the data it reads.
    fn collector_interval(&self, def: &CollectorDef) -> Duration {
        def.needs
            .iter()
            .map(|k| self.tier_interval(k.tier()))
            .max()
            .unwrap_or_else(|| self.tier_interval(Tier::Fast))
    }

    /// Whether `kind` is read in this collection: fast data always; slower data when
    /// its interval has passed (within half a fast interval, as the ticks are that
    /// coarse) or when its last read failed.
    fn is_due(&self, kind: DataKind, now: Instant) -> bool {
        let tier = kind.tier();
        if tier == Tier::Fast {
            return true;
        }
        match self.attempts.get(&kind) {
            None | Some((_, false)) => true,
            Some((at, true)) => {
                now.saturating_duration_since(*at) + self.tier_interval(Tier::Fast) / 2
                    >= self.tier_interval(tier)
            }
        }
    }

    /// One collection: fetch what is due, run the collectors whose data was read,
    /// publish.
    pub async fn collect_once(&mut self) {
        let cycle_started = Instant::now();
        let needed = self.needed();
        let due: BTreeSet<DataKind> = needed
            .iter()
            .copied()
            .filter(|k| self.is_due(*k, cycle_started))
            .collect();
        let source = &self.source;
        let timeout = self.timeout;
        let results = join_all(due.iter().map(|kind| async move {
            let started = Instant::now();
            let result = match tokio::time::timeout(timeout, source.fetch(*kind)).await {
                Ok(r) => r,
                Err(_) => Err(SourceError::Timeout(timeout)),
            };
            (*kind, result, started.elapsed())
        }))
        .await;

        let mut data = SlurmData::default();
        let mut errors: BTreeMap<DataKind, SourceError> = BTreeMap::new();
        let mut durations: BTreeMap<DataKind, Duration> = BTreeMap::new();
        for (kind, result, elapsed) in results {
            self.stats
                .observe_request(self.source.name(), kind.as_str(), elapsed.as_secs_f64());
            durations.insert(kind, elapsed);
            self.attempts.insert(kind, (cycle_started, result.is_ok()));
            match result {
                Ok(fetched) => {
                    store(&mut data, fetched);
                    if kind.tier() != Tier::Fast {
                        self.slow_data.copy_kind(&data, kind);
                    }
                }
                Err(e) => {
                    if e.reason() == "auth" {
                        self.stats.slurm_auth_failures += 1;
                    }
                    let users: Vec<&str> = self
                        .collectors
                        .iter()
                        .filter(|c| c.needs.contains(&kind))
                        .map(|c| c.name)
                        .collect();
                    tracing::warn!(
                        query = kind.as_str(),
                        source = self.source.name(),
                        reason = e.reason(),
                        collectors = users.join(",").as_str(),
                        error = %e,
                        "Slurm query failed; serving the last good data as stale"
                    );
                    errors.insert(kind, e);
                }
            }
        }

        if let Some(name) = data
            .controllers
            .as_ref()
            .and_then(|c| c.info.cluster_name.clone())
        {
            self.known_cluster = Some(name);
        }
        let ctx = Context {
            cluster: self
                .cluster_override
                .clone()
                .or_else(|| self.known_cluster.clone())
                .unwrap_or_else(|| "default".to_string()),
            now: unix_now() as i64,
        };

        for kind in needed.difference(&due) {
            data.copy_kind(&self.slow_data, *kind);
        }

        self.stats.jwt_expiry = self.source.jwt_expiry();
        for def in self.collectors.clone() {
            // A collector whose data was not read this time keeps its series as they
            // are (fresh, not stale: they are as new as their interval allows).
            if def.needs.iter().any(|k| due.contains(k)) {
                self.run_collector(def, &data, &errors, &durations, &ctx);
            }
        }
        self.publish(cycle_started);
    }

    fn run_collector(
        &mut self,
        def: &'static CollectorDef,
        data: &SlurmData,
        errors: &BTreeMap<DataKind, SourceError>,
        durations: &BTreeMap<DataKind, Duration>,
        ctx: &Context,
    ) {
        let fetch_time: Duration = def.needs.iter().filter_map(|k| durations.get(k)).sum();
        let started = Instant::now();
        let stats = self.stats.collectors.entry(def.name).or_default();
        stats.collections += 1;
        let failures: Vec<&SourceError> = def.needs.iter().filter_map(|k| errors.get(k)).collect();
        let status = self
            .status
            .entry(def.name)
            .or_insert_with(|| CollectorStatus {
                name: def.name,
                up: false,
                last_success_unix: None,
                last_success: None,
                last_error: None,
                interval: Duration::ZERO,
            });
        if failures.is_empty() && def.needs.iter().all(|k| data.has(*k)) {
            let families = (def.collect)(data, ctx);
            let series = families.iter().map(|f| f.series()).sum();
            let (mut text, mut openmetrics) = (String::new(), String::new());
            encode(&families, Format::Text, &mut text);
            encode(&families, Format::OpenMetrics, &mut openmetrics);
            drop(families);
            self.segments.insert(
                def.name,
                Segment {
                    text: Part::new(text),
                    openmetrics: Part::new(openmetrics),
                    series,
                },
            );
            let now = unix_now();
            stats.up = true;
            stats.last_success_unix = Some(now);
            status.up = true;
            status.last_success_unix = Some(now);
            status.last_success = Some(Instant::now());
            status.last_error = None;
        } else {
            stats.up = false;
            for e in &failures {
                *stats.errors.entry(e.reason()).or_insert(0) += 1;
            }
            status.up = false;
            status.last_error = Some(
                failures
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
            );
        }
        stats
            .duration
            .observe((fetch_time + started.elapsed()).as_secs_f64());
    }

    /// Encodes everything into a new snapshot. The cycle time reported is that of
    /// the previous collection (this one's encoding is not finished yet).
    fn publish(&mut self, cycle_started: Instant) {
        let mut text = Vec::with_capacity(self.collectors.len() + 1);
        let mut openmetrics = Vec::with_capacity(self.collectors.len() + 1);
        let mut series = 0;
        for def in &self.collectors {
            if let Some(s) = self.segments.get(def.name) {
                text.push(s.text.clone());
                openmetrics.push(s.openmetrics.clone());
                series += s.series;
            }
        }
        let own = self.stats.families(series);
        let fetch_and_collect = cycle_started.elapsed();
        let own_series: usize = own.iter().map(|f| f.series()).sum();
        let (mut own_text, mut own_openmetrics) = (String::new(), String::new());
        encode(&own, Format::Text, &mut own_text);
        encode(&own, Format::OpenMetrics, &mut own_openmetrics);
        text.push(Part::new(own_text));
        openmetrics.push(Part::new(own_openmetrics));
        let collectors = self
            .collectors
            .iter()
            .filter_map(|c| self.status.get(c.name).cloned())
            .collect();
        let total = series + own_series;
        let over = total as u64 > self.stats.series_limit;
        if over && !self.over_series_limit {
            tracing::warn!(
                series = total,
                limit = self.stats.series_limit,
                "the snapshot exceeds collection.series_limit; check the collectors' cardinality"
            );
        }
        self.over_series_limit = over;
        let snapshot = Snapshot::new(text, openmetrics, total, unix_now(), collectors);
        self.shared.snapshot.store(Arc::new(snapshot));
        self.stats.last_cycle_seconds = Some(cycle_started.elapsed().as_secs_f64());
        tracing::debug!(
            fetch_and_collect_seconds = fetch_and_collect.as_secs_f64(),
            total_seconds = cycle_started.elapsed().as_secs_f64(),
            "collection finished"
        );
    }
}

fn store(data: &mut SlurmData, fetched: Fetched) {
    match fetched {
        Fetched::Nodes(v) => data.nodes = Some(Arc::new(v)),
        Fetched::Partitions(v) => data.partitions = Some(Arc::new(v)),
        Fetched::Jobs(v) => data.jobs = Some(Arc::new(v)),
        Fetched::Diag(v) => data.diag = Some(Arc::new(*v)),
        Fetched::Controllers(v) => data.controllers = Some(Arc::new(v)),
        Fetched::Licenses(v) => data.licenses = Some(Arc::new(v)),
        Fetched::Reservations(v) => data.reservations = Some(Arc::new(v)),
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

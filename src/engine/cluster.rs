//! One cluster's side of a collection: its source, what of its data is due, the
//! collectors run on that data, and the last good encoded output of each collector
//! (served, marked stale, while the collector fails).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use futures_util::future::join_all;

use std::sync::Arc;

use crate::collectors::cap::{self, CapSettings};
use crate::collectors::{CollectorDef, Context};
use crate::config::ClusterConfig;
use crate::model::{DataKind, SlurmData, Tier};
use crate::self_metrics::ClusterStats;
use crate::snapshot::CollectorStatus;
use crate::source::{Fetched, Source, SourceError};

use super::render::{self, Segment, States};
use super::{store, unix_now, Tiers};

/// A cluster being collected.
pub struct ClusterRun {
    pub config: ClusterConfig,
    source: Source,
    /// What the source was built from (with the timeout), to rebuild it only on change.
    source_settings: String,
    /// The cluster's name as Slurm reports it (`ClusterName`), once known.
    known_name: Option<String>,
    /// When each kind of data was last asked for, and whether that succeeded.
    attempts: BTreeMap<DataKind, (Instant, bool)>,
    /// Last good data of the slower tiers, reused between their reads.
    slow_data: SlurmData,
    /// The last good output of each collector.
    pub segments: BTreeMap<&'static str, Segment>,
    pub status: BTreeMap<&'static str, CollectorStatus>,
    pub stats: ClusterStats,
    /// Settings of the capped (per-user, per-account) families.
    caps: Arc<CapSettings>,
    /// State of the stateful collectors, from their first collection until they
    /// are switched off.
    states: States,
    /// The error last logged per kind of data, so a query failing the same way
    /// every interval is logged at warning level once, not every time.
    logged_errors: BTreeMap<DataKind, String>,
}

/// The accounting watermark's start (look-back) and catch-up bound (`accounting.*`).
pub type AccountingSettings = (Duration, Duration);

fn settings(config: &ClusterConfig, timeout: Duration, acct: AccountingSettings) -> String {
    format!("{}|{:?}|{:?}", config.source_settings(), timeout, acct)
}

fn build(
    config: &ClusterConfig,
    timeout: Duration,
    acct: AccountingSettings,
) -> anyhow::Result<Source> {
    Ok(Source::from_config(config, timeout)?.with_accounting(acct.0, acct.1))
}

impl ClusterRun {
    pub fn new(
        config: ClusterConfig,
        timeout: Duration,
        acct: AccountingSettings,
    ) -> anyhow::Result<ClusterRun> {
        Ok(ClusterRun {
            source: build(&config, timeout, acct)?,
            source_settings: settings(&config, timeout, acct),
            config,
            known_name: None,
            attempts: BTreeMap::new(),
            slow_data: SlurmData::default(),
            segments: BTreeMap::new(),
            status: BTreeMap::new(),
            stats: ClusterStats::default(),
            caps: Arc::default(),
            states: BTreeMap::new(),
            logged_errors: BTreeMap::new(),
        })
    }

    /// Takes a new configuration of the same cluster; the source is rebuilt only
    /// when its settings changed.
    pub fn reconfigure(
        &mut self,
        config: ClusterConfig,
        timeout: Duration,
        acct: AccountingSettings,
    ) -> anyhow::Result<()> {
        let new_settings = settings(&config, timeout, acct);
        if new_settings != self.source_settings {
            self.source = build(&config, timeout, acct)?;
            self.source_settings = new_settings;
        }
        self.config = config;
        Ok(())
    }

    /// Value of the `cluster` label: configured, else Slurm's, else `default`.
    pub fn label(&self) -> &str {
        self.config
            .name
            .as_deref()
            .or(self.known_name.as_deref())
            .unwrap_or("default")
    }

    /// Applies the set of enabled collectors: the removed lose their series, the
    /// added read their data at once whatever its tier.
    pub fn set_collectors(
        &mut self,
        old: &[&'static CollectorDef],
        new: &[&'static CollectorDef],
        tiers: &Tiers,
    ) {
        for removed in old.iter().filter(|c| !new.iter().any(|n| n.name == c.name)) {
            self.segments.remove(removed.name);
            self.states.remove(removed.name);
            self.status.remove(removed.name);
            self.stats.collectors.remove(removed.name);
        }
        for added in new.iter().filter(|c| !old.iter().any(|o| o.name == c.name)) {
            for kind in added.needs {
                self.attempts.remove(kind);
            }
        }
        for c in new {
            self.stats.collectors.entry(c.name).or_default();
            let status = self
                .status
                .entry(c.name)
                .or_insert_with(|| CollectorStatus {
                    name: c.name,
                    cluster: String::new(),
                    up: false,
                    last_success_unix: None,
                    last_success: None,
                    last_error: Some("no collection yet".into()),
                    interval: Duration::ZERO,
                });
            status.interval = tiers.collector_interval(c);
        }
    }

    /// Takes the cap settings; the capped families of the enabled collectors are
    /// exported with their top N.
    pub fn set_caps(&mut self, caps: &CapSettings, collectors: &[&'static CollectorDef]) {
        self.stats.set_caps(
            cap::FAMILIES
                .iter()
                .filter(|f| collectors.iter().any(|c| c.name == f.collector))
                .map(|f| (f.name, caps.limit(f.name).top))
                .collect(),
        );
        self.caps = Arc::new(caps.clone());
    }

    /// Whether `kind` is read in this collection: fast data always; slower data when
    /// its interval has passed (within half a fast interval, as the ticks are that
    /// coarse) or when its last read failed.
    fn is_due(&self, kind: DataKind, now: Instant, tiers: &Tiers) -> bool {
        let tier = kind.tier();
        if tier == Tier::Fast {
            return true;
        }
        match self.attempts.get(&kind) {
            None | Some((_, false)) => true,
            Some((at, true)) => {
                now.saturating_duration_since(*at) + tiers.get(Tier::Fast) / 2 >= tiers.get(tier)
            }
        }
    }

    /// Fetches what is due among `needed` (concurrently, each with the timeout).
    pub async fn fetch(
        &self,
        needed: &BTreeSet<DataKind>,
        now: Instant,
        tiers: &Tiers,
        timeout: Duration,
    ) -> Fetches {
        let due: BTreeSet<DataKind> = needed
            .iter()
            .copied()
            .filter(|k| self.is_due(*k, now, tiers))
            .collect();
        let source = &self.source;
        let results = join_all(due.iter().map(|kind| async move {
            let started = Instant::now();
            let result = match tokio::time::timeout(timeout, source.fetch(*kind)).await {
                Ok(r) => r,
                Err(_) => Err(SourceError::Timeout(timeout)),
            };
            (*kind, result, started.elapsed())
        }))
        .await;
        Fetches {
            started: now,
            due,
            results,
        }
    }

    /// Runs the collectors on what was fetched; returns the names of those that ran.
    pub fn collect(
        &mut self,
        fetches: Fetches,
        needed: &BTreeSet<DataKind>,
        collectors: &[&'static CollectorDef],
    ) -> Vec<&'static str> {
        let Fetches {
            started,
            due,
            results,
        } = fetches;
        let mut data = SlurmData::default();
        let mut errors: BTreeMap<DataKind, SourceError> = BTreeMap::new();
        let mut durations: BTreeMap<DataKind, Duration> = BTreeMap::new();
        for (kind, result, elapsed) in results {
            self.stats
                .observe_request(self.source.name(), kind.as_str(), elapsed.as_secs_f64());
            durations.insert(kind, elapsed);
            self.attempts.insert(kind, (started, result.is_ok()));
            match result {
                Ok(fetched) => {
                    if self.logged_errors.remove(&kind).is_some() {
                        tracing::info!(
                            cluster = self.label(),
                            query = kind.as_str(),
                            "Slurm query succeeded again"
                        );
                    }
                    store(&mut data, fetched);
                    if kind.tier() != Tier::Fast {
                        self.slow_data.copy_kind(&data, kind);
                    }
                }
                Err(e) => {
                    if e.reason() == "auth" {
                        self.stats.slurm_auth_failures += 1;
                    }
                    let users: Vec<&str> = collectors
                        .iter()
                        .filter(|c| c.needs.contains(&kind))
                        .map(|c| c.name)
                        .collect();
                    let message = e.to_string();
                    let repeated = self.logged_errors.get(&kind) == Some(&message);
                    let users = users.join(",");
                    let (cluster, source) = (self.label(), self.source.name());
                    if repeated {
                        tracing::debug!(
                            cluster, query = kind.as_str(), source, reason = e.reason(),
                            collectors = users.as_str(), error = message.as_str(),
                            "Slurm query failed again the same way; serving the last good data as stale"
                        );
                    } else {
                        tracing::warn!(
                            cluster, query = kind.as_str(), source, reason = e.reason(),
                            collectors = users.as_str(), error = message.as_str(),
                            "Slurm query failed; serving the last good data as stale (the same error again is logged at debug level)"
                        );
                        self.logged_errors.insert(kind, message);
                    }
                    errors.insert(kind, e);
                }
            }
        }
        for kind in needed.difference(&due) {
            data.copy_kind(&self.slow_data, *kind);
        }
        if let Some(name) = data
            .controllers
            .as_ref()
            .and_then(|c| c.info.cluster_name.clone())
        {
            self.known_name = Some(name);
        }
        let ctx = Context::new(self.label(), unix_now() as i64).with_caps(self.caps.clone());
        self.stats.jwt_expiry = self.source.jwt_expiry();
        self.stats.jwt_file_insecure = self.source.jwt_file_insecure();
        let mut ran = Vec::new();
        let order = run_order(collectors);
        for (i, def) in order.iter().enumerate() {
            // A collector whose data was not read this time keeps its series as they
            // are (fresh, not stale: they are as new as their interval allows).
            if def.needs.iter().any(|k| due.contains(k)) {
                self.run_collector(def, &data, &errors, &durations, &ctx);
                ran.push(def.name);
            }
            for kind in def.needs {
                if !order[i + 1..]
                    .iter()
                    .any(|later| later.needs.contains(kind))
                {
                    data.release(*kind);
                }
            }
        }
        self.stats.add_dropped(ctx.take_folded());
        let label = self.label().to_string();
        for status in self.status.values_mut() {
            status.cluster.clone_from(&label);
        }
        ran
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
                cluster: ctx.cluster.clone(),
                up: false,
                last_success_unix: None,
                last_success: None,
                last_error: None,
                interval: Duration::ZERO,
            });
        if failures.is_empty() && def.needs.iter().all(|k| data.has(*k)) {
            let size_hint = self.segments.get(def.name).map_or(0, |s| s.encoded.len());
            let families = render::collect(def, &mut self.states, data, ctx);
            let segment = Segment::encode(families, size_hint);
            self.segments.insert(def.name, segment);
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
}

/// The order collectors run in (their output keeps the configured order): those
/// reading the job list first, so it is freed before the per-node families, the
/// other large allocation of a collection, are built.
fn run_order(collectors: &[&'static CollectorDef]) -> Vec<&'static CollectorDef> {
    let mut order = collectors.to_vec();
    order.sort_by_key(|c| !c.needs.contains(&DataKind::Jobs));
    order
}

/// What one cluster's fetch brought back.
pub struct Fetches {
    started: Instant,
    due: BTreeSet<DataKind>,
    results: Vec<(DataKind, Result<Fetched, SourceError>, Duration)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::ALL;

    #[test]
    fn job_readers_run_first_and_the_rest_keep_their_order() {
        let defs: Vec<&'static CollectorDef> = ALL.iter().collect();
        let order = run_order(&defs);
        let first_other = order
            .iter()
            .position(|c| !c.needs.contains(&DataKind::Jobs))
            .unwrap_or(order.len());
        assert!(order[first_other..]
            .iter()
            .all(|c| !c.needs.contains(&DataKind::Jobs)));
        assert!(first_other > 0, "no collector reads jobs");
        let others: Vec<&str> = order[first_other..].iter().map(|c| c.name).collect();
        let expected: Vec<&str> = defs
            .iter()
            .filter(|c| !c.needs.contains(&DataKind::Jobs))
            .map(|c| c.name)
            .collect();
        assert_eq!(others, expected);
    }
}

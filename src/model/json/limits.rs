//! Fair share, QOS and associations as JSON:
//! - `/slurm/v0.0.40+/shares` and `sshare --json` (23.11+): `shares.shares[]` with
//!   `name`, `parent`, `type: ["USER"|"ASSOCIATION"]` (a user row is named after the
//!   user and parented by its account), numbers plain (v0.0.40 generated examples) or
//!   `{set, infinite, number}` objects (v0.0.41+), `fairshare.{factor, level}`;
//! - `/slurmdb/v0.0.38+/qos` (list key `QOS` in dbv0.0.38, `qos` later): limits under
//!   `limits.max.{active_jobs, jobs, tres, wall_clock}`, TRES as `{type, name, id, count}`,
//!   wall clocks in minutes, unset numbers `null` (v0.0.38) or unset objects (v0.0.40+);
//! - `/slurmdb/v0.0.38+/associations`: `max.jobs.per.{count, submitted, wall_clock}`,
//!   `max.jobs.{active, total}`, `max.tres.total`; `user` is `null` (v0.0.38) or `""`
//!   (later) for an account's own association. slurmdbd reports no usage here.
//!
//! Paths per version are those of SchedMD's `data_parser/v0.0.NN/parsers.c` and the
//! dbv0.0.38 plugin (checked against the lab's 22.05 answers).

use serde::de::MapAccess;
use serde::{Deserialize, Deserializer};

use super::document::Body;
use super::value::{capped_list, record_list, EachElement, Names, Num};
use crate::model::{Association, Qos, ShareRow, Tres};

/// `null` or absent → the type's default.
fn nd<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn text(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawTres {
    #[serde(rename = "type", deserialize_with = "nd")]
    kind: String,
    name: Option<String>,
    count: Num,
}

fn tres(list: Vec<RawTres>) -> Vec<Tres> {
    list.into_iter()
        .filter_map(|t| {
            let count = t.count.value()?;
            let name = match text(t.name) {
                Some(n) => format!("{}/{n}", t.kind),
                None => t.kind,
            };
            (!name.is_empty()).then_some(Tres { name, count })
        })
        .collect()
}

fn minutes(n: Num) -> Option<u64> {
    n.value().and_then(|m| m.checked_mul(60))
}

// ------------------------------------------------------------------------ shares

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawFairshare {
    factor: Num,
    level: Num,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawShare {
    cluster: Option<String>,
    name: Option<String>,
    parent: Option<String>,
    partition: Option<String>,
    shares: Num,
    shares_normalized: Num,
    usage: Num,
    usage_normalized: Num,
    effective_usage: Num,
    #[serde(deserialize_with = "nd")]
    fairshare: RawFairshare,
    #[serde(rename = "type")]
    kind: Names,
}

impl From<RawShare> for ShareRow {
    fn from(raw: RawShare) -> ShareRow {
        let is_user = raw.kind.upper().iter().any(|k| k == "USER");
        let name = text(raw.name).unwrap_or_default();
        let parent = text(raw.parent);
        let (account, user) = if is_user {
            (parent.clone().unwrap_or_default(), Some(name))
        } else {
            (name, None)
        };
        ShareRow {
            account,
            user,
            partition: text(raw.partition),
            cluster: text(raw.cluster),
            shares: raw.shares.float(),
            shares_normalized: raw.shares_normalized.float(),
            usage_raw: raw.usage.float(),
            usage_normalized: raw.usage_normalized.float(),
            usage_effective: raw.effective_usage.float(),
            factor: raw.fairshare.factor.float(),
            // LevelFS is infinite for an association without usage.
            level: match raw.fairshare.level {
                Num::Infinite => Some(f64::INFINITY),
                other => other.float(),
            },
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawSharesWrap {
    #[serde(deserialize_with = "record_list")]
    shares: Option<Vec<RawShare>>,
}

#[derive(Default)]
pub(super) struct SharesBody {
    pub(super) rows: Option<Vec<ShareRow>>,
}

impl Body for SharesBody {
    const KEY: &'static str = "shares";

    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        if key != "shares" {
            return Ok(false);
        }
        let wrap = map.next_value::<Option<RawSharesWrap>>()?;
        self.rows = wrap
            .and_then(|w| w.shares)
            .map(|rows| rows.into_iter().map(ShareRow::from).collect());
        Ok(true)
    }

    fn found(&self) -> bool {
        self.rows.is_some()
    }
}

// --------------------------------------------------------------------------- qos

#[derive(Deserialize, Default)]
#[serde(default)]
struct PerAccountUser {
    account: Num,
    user: Num,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PerAccountUserWrap {
    #[serde(deserialize_with = "nd")]
    per: PerAccountUser,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct QosActiveJobs {
    count: Num,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct QosJobs {
    #[serde(deserialize_with = "nd")]
    active_jobs: PerAccountUserWrap,
    #[serde(deserialize_with = "nd")]
    per: PerAccountUser,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct QosTresPer {
    #[serde(deserialize_with = "capped_list")]
    account: Vec<RawTres>,
    #[serde(deserialize_with = "capped_list")]
    job: Vec<RawTres>,
    #[serde(deserialize_with = "capped_list")]
    user: Vec<RawTres>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct QosTres {
    #[serde(deserialize_with = "capped_list")]
    total: Vec<RawTres>,
    #[serde(deserialize_with = "nd")]
    per: QosTresPer,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct QosWallPer {
    qos: Num,
    job: Num,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct QosWall {
    #[serde(deserialize_with = "nd")]
    per: QosWallPer,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct QosMax {
    #[serde(deserialize_with = "nd")]
    active_jobs: QosActiveJobs,
    #[serde(deserialize_with = "nd")]
    jobs: QosJobs,
    #[serde(deserialize_with = "nd")]
    tres: QosTres,
    #[serde(deserialize_with = "nd")]
    wall_clock: QosWall,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct QosLimits {
    #[serde(deserialize_with = "nd")]
    max: QosMax,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawQos {
    name: Option<String>,
    priority: Num,
    usage_factor: Num,
    #[serde(deserialize_with = "nd")]
    limits: QosLimits,
}

impl From<RawQos> for Qos {
    fn from(raw: RawQos) -> Qos {
        let max = raw.limits.max;
        Qos {
            name: text(raw.name).unwrap_or_default(),
            priority: raw.priority.value(),
            usage_factor: raw.usage_factor.float(),
            grp_tres: tres(max.tres.total),
            grp_jobs: max.active_jobs.count.value(),
            // Not in the QOS of any JSON version read here: CLI only.
            grp_submit_jobs: None,
            grp_wall_seconds: minutes(max.wall_clock.per.qos),
            max_tres_per_user: tres(max.tres.per.user),
            max_jobs_per_user: max.jobs.active_jobs.per.user.value(),
            max_submit_jobs_per_user: max.jobs.per.user.value(),
            max_tres_per_job: tres(max.tres.per.job),
            max_tres_per_account: tres(max.tres.per.account),
            max_jobs_per_account: max.jobs.active_jobs.per.account.value(),
            max_submit_jobs_per_account: max.jobs.per.account.value(),
            max_wall_per_job_seconds: minutes(max.wall_clock.per.job),
        }
    }
}

#[derive(Default)]
pub(super) struct QosBody {
    pub(super) qos: Option<Vec<Qos>>,
}

impl Body for QosBody {
    const KEY: &'static str = "qos";

    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        // dbv0.0.38 spells the list key `QOS`.
        if key != "qos" && key != "QOS" {
            return Ok(false);
        }
        let mut qos = Vec::new();
        let mut push = |raw: RawQos| qos.push(Qos::from(raw));
        if map.next_value_seed(EachElement::new(&mut push))? {
            self.qos = Some(qos);
        }
        Ok(true)
    }

    fn found(&self) -> bool {
        self.qos.is_some()
    }
}

// ------------------------------------------------------------------ associations

#[derive(Deserialize, Default)]
#[serde(default)]
struct AssocJobsPer {
    count: Num,
    submitted: Num,
    wall_clock: Num,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AssocJobs {
    #[serde(deserialize_with = "nd")]
    per: AssocJobsPer,
    active: Num,
    total: Num,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AssocTres {
    #[serde(deserialize_with = "capped_list")]
    total: Vec<RawTres>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AssocMax {
    #[serde(deserialize_with = "nd")]
    jobs: AssocJobs,
    #[serde(deserialize_with = "nd")]
    tres: AssocTres,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawAssoc {
    account: Option<String>,
    cluster: Option<String>,
    user: Option<String>,
    partition: Option<String>,
    parent_account: Option<String>,
    #[serde(deserialize_with = "nd")]
    max: AssocMax,
}

impl From<RawAssoc> for Association {
    fn from(raw: RawAssoc) -> Association {
        let max = raw.max;
        Association {
            cluster: text(raw.cluster),
            account: text(raw.account).unwrap_or_default(),
            user: text(raw.user),
            partition: text(raw.partition),
            parent: text(raw.parent_account),
            grp_tres: tres(max.tres.total),
            grp_jobs: max.jobs.per.count.value(),
            grp_submit_jobs: max.jobs.per.submitted.value(),
            grp_wall_seconds: minutes(max.jobs.per.wall_clock),
            max_jobs: max.jobs.active.value(),
            max_submit_jobs: max.jobs.total.value(),
            usage: None,
        }
    }
}

#[derive(Default)]
pub(super) struct AssociationsBody {
    pub(super) associations: Option<Vec<Association>>,
}

impl Body for AssociationsBody {
    const KEY: &'static str = "associations";

    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        if key != "associations" {
            return Ok(false);
        }
        let mut associations = Vec::new();
        let mut push = |raw: RawAssoc| associations.push(Association::from(raw));
        if map.next_value_seed(EachElement::new(&mut push))? {
            self.associations = Some(associations);
        }
        Ok(true)
    }

    fn found(&self) -> bool {
        self.associations.is_some()
    }
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;

//! `/slurmdb/v0.0.NN/jobs` and `sacct --json`: jobs as slurmdbd has them. Records
//! are read one at a time into the few fields the accounting collector uses; of
//! the steps (half of a record's size) only the `mem` entry of
//! `tres.requested.max` (the step's `MaxRSS`, in bytes) is read.
//!
//! | field | v0.0.37/38 | v0.0.39 | v0.0.40+ |
//! |---|---|---|---|
//! | `state.current` | `"COMPLETED"` | string | `["COMPLETED"]` |
//! | `exit_code.status` | `"SIGNALED"` | string | `["SIGNALED"]` |
//! | `exit_code.return_code` | int or `null` | int | `{set, number}` |
//! | `exit_code.signal` | `{signal_id, name}` | same | `{id: {set, number}, name}` |
//! | `time.start/end/eligible/elapsed` | int (0 = unset) | int | int |
//! | `time.total` | `{seconds, microseconds}` | same | same (microseconds may exceed 10^6) |
//! | `tres.allocated[]` `mem` / `node` | `{type, count}` (MB / nodes) | same | same |
//! | `steps[].tres.requested.max[]` `mem` | `{type, count, task, node}` (bytes; 0 or absent: not sampled) | same | same |
//!
//! 22.05 (v0.0.38, measured on the lab) reports `{"status": "SUCCESS",
//! "return_code": 0}` for jobs that exited 1 or 3 (sacct prints `1:0`, `3:0`);
//! a FAILED job whose exit code reads as success is taken as "not reported".

use serde::de::MapAccess;
use serde::Deserialize;

use super::document::Body;
use super::value::{capped_list, capped_opt_list, step_list, EachElement, Names, Num};
use crate::model::accounting::normalize_state;
use crate::model::{AcctJob, JobMemory};

#[derive(Deserialize)]
struct RawAcctJob {
    #[serde(default)]
    job_id: Num,
    #[serde(default)]
    state: RawState,
    #[serde(default)]
    partition: Option<String>,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    qos: Option<String>,
    #[serde(default)]
    nodes: Option<String>,
    #[serde(default)]
    time: RawTime,
    #[serde(default)]
    exit_code: Option<RawExit>,
    #[serde(default)]
    tres: RawTres,
    #[serde(default, deserialize_with = "step_list")]
    steps: Option<Vec<RawStep>>,
}

#[derive(Deserialize, Default)]
struct RawStep {
    #[serde(default)]
    tres: Option<RawStepTres>,
}

#[derive(Deserialize, Default)]
struct RawStepTres {
    #[serde(default)]
    requested: Option<RawTresUsage>,
}

#[derive(Deserialize, Default)]
struct RawTresUsage {
    #[serde(default, deserialize_with = "capped_opt_list")]
    max: Option<Vec<RawTresItem>>,
}

#[derive(Deserialize, Default)]
struct RawState {
    #[serde(default)]
    current: Names,
}

#[derive(Deserialize, Default)]
struct RawTime {
    #[serde(default)]
    eligible: Num,
    #[serde(default)]
    start: Num,
    #[serde(default)]
    end: Num,
    #[serde(default)]
    elapsed: Num,
    #[serde(default)]
    total: Option<RawCpuTime>,
}

#[derive(Deserialize, Default)]
struct RawCpuTime {
    #[serde(default)]
    seconds: Num,
    #[serde(default)]
    microseconds: Num,
}

#[derive(Deserialize, Default)]
struct RawExit {
    #[serde(default)]
    status: Names,
    #[serde(default)]
    return_code: Num,
    #[serde(default)]
    signal: Option<RawSignal>,
}

#[derive(Deserialize, Default)]
struct RawSignal {
    /// v0.0.37–39.
    #[serde(default)]
    signal_id: Num,
    /// v0.0.40+.
    #[serde(default)]
    id: Num,
}

#[derive(Deserialize, Default)]
struct RawTres {
    #[serde(default, deserialize_with = "capped_list")]
    allocated: Vec<RawTresItem>,
}

#[derive(Deserialize)]
struct RawTresItem {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    count: Num,
}

fn tres_count(items: &[RawTresItem], kind: &str) -> Option<u64> {
    items
        .iter()
        .find(|t| t.kind == kind)
        .and_then(|t| t.count.value())
}

impl RawAcctJob {
    fn memory(&self) -> JobMemory {
        let mut memory = JobMemory {
            alloc_bytes: tres_count(&self.tres.allocated, "mem")
                .and_then(|mb| mb.checked_mul(1 << 20)),
            alloc_nodes: tres_count(&self.tres.allocated, "node"),
            ..JobMemory::default()
        };
        let steps = self.steps.iter().flatten();
        let peaks = steps.filter_map(|s| s.tres.as_ref()?.requested.as_ref()?.max.as_ref());
        for max in peaks {
            // A measured size: kept even where it equals a 32-bit NO_VAL.
            let rss = max.iter().find(|t| t.kind == "mem");
            memory.add_step_rss(rss.and_then(|t| t.count.counter()));
        }
        memory
    }

    fn into_job(self) -> Option<AcctJob> {
        let memory = self.memory();
        let id = self.job_id.value()?;
        let state = self
            .state
            .current
            .upper()
            .first()
            .map(|s| normalize_state(s))
            .unwrap_or_default();
        let nodes = self.nodes.as_deref().map(str::trim).unwrap_or_default();
        let text = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let total_cpu_seconds = self.time.total.and_then(|t| {
            let s = t.seconds.value()? as f64 + t.microseconds.value().unwrap_or(0) as f64 / 1e6;
            (s > 0.0).then_some(s)
        });
        let exit = self.exit_code.and_then(|e| {
            let status = e.status.upper();
            let signal = e
                .signal
                .and_then(|s| s.signal_id.value().or_else(|| s.id.value()))
                .unwrap_or(0);
            let signaled = status.iter().any(|s| s == "SIGNALED");
            if signaled && signal > 0 {
                return Some((0, u32::try_from(signal).ok()?));
            }
            let code = u32::try_from(e.return_code.value()?).ok()?;
            // See the module doc: 22.05 says SUCCESS/0 for non-zero exits.
            if state == "FAILED" && code == 0 && signal == 0 {
                return None;
            }
            Some((code, u32::try_from(signal).ok()?))
        });
        Some(AcctJob {
            id,
            partition: text(self.partition),
            account: text(self.account),
            qos: text(self.qos),
            eligible: self.time.eligible.timestamp(),
            start: self.time.start.timestamp(),
            end: self.time.end.timestamp(),
            ran: !nodes.is_empty() && nodes != "None assigned",
            elapsed_seconds: self.time.elapsed.value(),
            alloc_cpus: tres_count(&self.tres.allocated, "cpu"),
            total_cpu_seconds,
            exit,
            state,
            memory,
        })
    }
}

#[derive(Default)]
pub(super) struct AcctJobsBody {
    pub(super) jobs: Option<Vec<AcctJob>>,
}

impl Body for AcctJobsBody {
    const KEY: &'static str = "jobs";

    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        if key != "jobs" {
            return Ok(false);
        }
        let mut jobs = Vec::new();
        let mut push = |raw: RawAcctJob| jobs.extend(raw.into_job());
        if map.next_value_seed(EachElement::new(&mut push))? {
            self.jobs = Some(jobs);
        }
        Ok(true)
    }

    fn found(&self) -> bool {
        self.jobs.is_some()
    }

    fn is_empty(&self) -> bool {
        self.jobs.as_ref().is_some_and(Vec::is_empty)
    }
}

#[cfg(test)]
#[path = "sacct_tests.rs"]
mod tests;

//! `scontrol -o show assoc_mgr flags=qos|assoc`: slurmctld's association manager,
//! the limits it enforces and what currently counts against them. One record per
//! line after a `Current Association Manager state` header:
//!
//! ```text
//! QOS=lab_high(2) UsageRaw=0.000000 GrpJobs=4(1) GrpSubmitJobs=8(2) GrpWall=N(0.00)
//!   GrpTRES=cpu=6(1),mem=N(500),… MaxWallPJ=120 … Priority=10 Account Limits=… User Limits=…
//! ClusterName=lab Account=physics UserName= Partition= … ParentAccount=root(1) …
//!   GrpJobs=3(1) GrpSubmitJobs=6(2) GrpWall=N(0.00) GrpTRES=cpu=4(1),mem=4000(500),… MaxJobs= MaxSubmitJobs=
//! ```
//!
//! `limit(used)`: `N` is no limit; memory in MB, `GrpWall` in minutes. The
//! per-account and per-user sections at the end of a QOS line (keys with spaces)
//! are not read.

use std::io::BufRead;

use super::{parse_u64, Lines};
use crate::model::caps::{TooLarge, MAX_LIST_ITEMS};
use crate::model::limits::parse_tres_amount;
use crate::model::{Association, Associations, ParseError, QosUsage, QosUsages, Tres, Usage};

const HEADER: &str = "Current Association Manager state";

/// `QOS=…` lines of `scontrol -o show assoc_mgr flags=qos`.
pub fn parse_assoc_mgr_qos(reader: impl BufRead) -> Result<QosUsages, ParseError> {
    let mut qos = Vec::new();
    read(reader, |line| {
        if !line.starts_with("QOS=") {
            return Ok(());
        }
        // The Account/User Limits sections have keys with spaces: cut them off.
        let line = line.split(" Account Limits=").next().unwrap_or(line);
        let mut q = QosUsage::default();
        for (key, value) in pairs(line) {
            match key {
                "QOS" => q.name = strip_id(value).to_string(),
                "UsageRaw" => q.usage_raw = value.parse().ok().filter(|v: &f64| v.is_finite()),
                _ => read_usage(&mut q.usage, key, value)?,
            }
        }
        if !q.name.is_empty() {
            qos.push(q);
        }
        Ok(())
    })?;
    Ok(QosUsages {
        reported: true,
        qos,
    })
}

/// `ClusterName=…` lines of `scontrol -o show assoc_mgr flags=assoc`.
pub fn parse_assoc_mgr_assocs(reader: impl BufRead) -> Result<Associations, ParseError> {
    let mut associations = Vec::new();
    read(reader, |line| {
        if !line.starts_with("ClusterName=") {
            return Ok(());
        }
        let mut a = Association {
            usage: Some(Usage::default()),
            ..Default::default()
        };
        for (key, value) in pairs(line) {
            let text = || Some(strip_id(value).to_string()).filter(|v| !v.is_empty());
            match key {
                "ClusterName" => a.cluster = text(),
                "Account" => a.account = value.to_string(),
                "UserName" => a.user = text(),
                "Partition" => a.partition = text(),
                "ParentAccount" => a.parent = text(),
                "GrpJobs" => a.grp_jobs = limit_u64(value),
                "GrpSubmitJobs" => a.grp_submit_jobs = limit_u64(value),
                "GrpWall" => a.grp_wall_seconds = limit_minutes(value),
                "GrpTRES" => a.grp_tres = tres_pairs(value)?.0,
                "MaxJobs" => a.max_jobs = limit_u64(value),
                "MaxSubmitJobs" => a.max_submit_jobs = limit_u64(value),
                _ => {}
            }
            if let Some(usage) = a.usage.as_mut() {
                read_usage(usage, key, value)?;
            }
        }
        if !a.account.is_empty() {
            associations.push(a);
        }
        Ok(())
    })?;
    Ok(Associations { associations })
}

/// Calls `each` for every line; fails when the header never came (not assoc_mgr output).
fn read(
    reader: impl BufRead,
    mut each: impl FnMut(&str) -> Result<(), TooLarge>,
) -> Result<(), ParseError> {
    let mut lines = Lines::new(reader);
    let mut header = false;
    let mut last = 0;
    while let Some((number, line)) = lines.next_line()? {
        last = number;
        let line = line.trim();
        if line == HEADER {
            header = true;
        } else if header {
            each(line)?;
        }
    }
    if header {
        Ok(())
    } else {
        Err(ParseError::Text {
            line: last,
            message: format!("no {HEADER:?} header: not scontrol show assoc_mgr output"),
        })
    }
}

fn read_usage(usage: &mut Usage, key: &str, value: &str) -> Result<(), TooLarge> {
    match key {
        "GrpJobs" => usage.jobs = used_u64(value),
        "GrpSubmitJobs" => usage.submitted_jobs = used_u64(value),
        "GrpTRES" => usage.tres = tres_pairs(value)?.1,
        _ => {}
    }
    Ok(())
}

/// `Key=value` pairs of one line (values have no spaces in the keys read here).
fn pairs(line: &str) -> impl Iterator<Item = (&str, &str)> {
    line.split_whitespace().filter_map(|t| t.split_once('='))
}

/// `root(1)` → `root`, `labuser(995)` → `labuser`.
fn strip_id(value: &str) -> &str {
    match value.rfind('(') {
        Some(i) if value.ends_with(')') => &value[..i],
        _ => value,
    }
}

/// `4(1)` → (`4`, `1`); `N(0)` → (`N`, `0`); `120` → (`120`, none).
fn split_limit(value: &str) -> (&str, Option<&str>) {
    match value.rfind('(') {
        Some(i) if value.ends_with(')') => (&value[..i], Some(&value[i + 1..value.len() - 1])),
        _ => (value, None),
    }
}

fn limit_u64(value: &str) -> Option<u64> {
    let (limit, _) = split_limit(value);
    (limit != "N").then(|| parse_u64(limit)).flatten()
}

fn used_u64(value: &str) -> Option<u64> {
    split_limit(value).1.and_then(parse_u64)
}

/// `GrpWall` limit in minutes → seconds.
fn limit_minutes(value: &str) -> Option<u64> {
    limit_u64(value).and_then(|m| m.checked_mul(60))
}

/// `cpu=4(1),mem=N(500)` → (limits, usage); more than [`MAX_LIST_ITEMS`] items
/// is [`TooLarge::LIST`].
fn tres_pairs(value: &str) -> Result<(Vec<Tres>, Vec<Tres>), TooLarge> {
    let mut limits = Vec::new();
    let mut used = Vec::new();
    for (i, item) in value.split(',').enumerate() {
        if i == MAX_LIST_ITEMS {
            return Err(TooLarge::LIST);
        }
        let Some((name, v)) = item.split_once('=') else {
            continue;
        };
        let (limit, usage) = split_limit(v);
        if limit != "N" {
            if let Some(n) = parse_tres_amount(limit) {
                limits.push(Tres::new(name, n));
            }
        }
        if let Some(n) = usage.and_then(parse_u64) {
            used.push(Tres::new(name, n));
        }
    }
    Ok((limits, used))
}

#[cfg(test)]
#[path = "assoc_mgr_tests.rs"]
mod tests;

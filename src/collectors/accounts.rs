//! Accounts: jobs, CPUs, memory and GPUs by job state per Slurm account, from the
//! live job list the jobs collector reads (no extra Slurm query).
//!
//! Accounts are created by administrators (`sacctmgr add account`), so they are
//! far fewer than users; still capped (family `account`: the top N accounts by
//! CPUs of unfinished jobs, the rest summed as `account="other"`; see
//! [`super::cap`] and [`super::usage`]), and series exist only for the states an
//! account has jobs in. On by default. Jobs without an account (a cluster
//! without accounting) are not counted.

use super::{usage, Collect, CollectorDef, Context};
use crate::exposition::Family;
use crate::model::{DataKind, SlurmData};

pub const DEF: CollectorDef = CollectorDef {
    name: "accounts",
    description:
        "jobs, CPUs, memory and GPUs by job state per account (capped: top N accounts plus `other`)",
    enabled_by_default: true,
    needs: &[DataKind::Jobs],
    collect: Collect::Pure(collect),
};

fn collect(data: &SlurmData, ctx: &Context) -> Vec<Family> {
    let Some(jobs) = data.jobs.as_deref() else {
        return Vec::new();
    };
    let groups = usage::by_key(jobs, |j| j.account.as_deref());
    let capped = ctx.cap("account", groups, usage::weight);
    usage::families(ctx, "slurm_account", "account", &capped)
}

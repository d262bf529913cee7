//! Users: jobs, CPUs, memory and GPUs by job state per user, from the live job
//! list the jobs collector reads (no extra Slurm query).
//!
//! Per-user series grow with the site: opt-in (`--collector.users`) and capped
//! (family `user`: the top N users by CPUs of unfinished jobs, the rest summed as
//! `user="other"`; see [`super::cap`] and [`super::usage`]).

use super::{usage, Collect, CollectorDef, Context};
use crate::exposition::Family;
use crate::model::{DataKind, SlurmData};

pub const DEF: CollectorDef = CollectorDef {
    name: "users",
    description: "jobs, CPUs, memory and GPUs by job state per user (opt-in; capped: top N users plus `other`)",
    enabled_by_default: false,
    needs: &[DataKind::Jobs],
    collect: Collect::Pure(collect),
};

fn collect(data: &SlurmData, ctx: &Context) -> Vec<Family> {
    let Some(jobs) = data.jobs.as_deref() else {
        return Vec::new();
    };
    let groups = usage::by_key(jobs, |j| j.user.as_deref());
    let capped = ctx.cap("user", groups, usage::weight);
    usage::families(ctx, "slurm_user", "user", &capped)
}

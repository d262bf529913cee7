//! QOS: limits (Grp*, Max*PerUser, Max*PerAccount, MaxTRESPerJob, MaxWall), priority
//! and usage factor from `sacctmgr show qos` or REST slurmdb `/qos`, and what counts
//! against the Grp limits now (running jobs, submitted jobs, TRES of running jobs,
//! decayed raw usage) from slurmctld's association manager (CLI source only:
//! slurmrestd cannot see it, so those series are absent there). A limit that is not
//! set has no series. A few series per QOS (and per TRES with a limit or usage).

use super::{Collect, CollectorDef, Context};
use crate::exposition::Family;
use crate::model::{DataKind, SlurmData, Tres};

pub const DEF: CollectorDef = CollectorDef {
    name: "qos",
    description: "per-QOS limits, priority, usage factor and current usage (needs slurmdbd)",
    enabled_by_default: false,
    needs: &[DataKind::Qos, DataKind::QosUsage],
    collect: Collect::Pure(collect),
};

struct Fams(Vec<Family>);

impl Fams {
    fn add(&mut self, name: &str, help: &str) -> usize {
        self.0.push(Family::gauge(name, help));
        self.0.len() - 1
    }
}

fn push_tres(family: &mut Family, ctx: &Context, qos: &str, list: &[Tres]) {
    for t in list {
        family.push(
            ctx.labels(&[("qos", qos), ("tres", &t.name)]),
            t.base_value(),
        );
    }
}

fn collect(data: &SlurmData, ctx: &Context) -> Vec<Family> {
    let Some(list) = data.qos.as_deref() else {
        return Vec::new();
    };
    let mut f = Fams(Vec::new());
    let priority = f.add(
        "slurm_qos_priority",
        "Priority of the QOS (its weight in job priority)",
    );
    let factor = f.add(
        "slurm_qos_usage_factor",
        "Factor applied to the usage of jobs in the QOS (UsageFactor)",
    );
    let grp_tres = f.add(
        "slurm_qos_limit_grp_tres",
        "GrpTRES: resources all running jobs of the QOS may hold together (mem in bytes)",
    );
    let grp_jobs = f.add(
        "slurm_qos_limit_grp_jobs",
        "GrpJobs: running jobs the QOS may have",
    );
    let grp_submit = f.add(
        "slurm_qos_limit_grp_submit_jobs",
        "GrpSubmitJobs: running and pending jobs the QOS may have (CLI source only)",
    );
    let grp_wall = f.add(
        "slurm_qos_limit_grp_wall_seconds",
        "GrpWall: wall time all jobs of the QOS may use",
    );
    let user_tres = f.add(
        "slurm_qos_limit_max_tres_per_user",
        "MaxTRESPerUser: resources one user's running jobs may hold (mem in bytes)",
    );
    let user_jobs = f.add(
        "slurm_qos_limit_max_jobs_per_user",
        "MaxJobsPerUser: running jobs one user may have",
    );
    let user_submit = f.add(
        "slurm_qos_limit_max_submit_jobs_per_user",
        "MaxSubmitJobsPerUser: running and pending jobs one user may have",
    );
    let job_tres = f.add(
        "slurm_qos_limit_max_tres_per_job",
        "MaxTRESPerJob: resources one job may hold (mem in bytes)",
    );
    let account_tres = f.add(
        "slurm_qos_limit_max_tres_per_account",
        "MaxTRESPerAccount: resources one account's running jobs may hold (mem in bytes)",
    );
    let account_jobs = f.add(
        "slurm_qos_limit_max_jobs_per_account",
        "MaxJobsPerAccount: running jobs one account may have",
    );
    let account_submit = f.add(
        "slurm_qos_limit_max_submit_jobs_per_account",
        "MaxSubmitJobsPerAccount: running and pending jobs one account may have",
    );
    let max_wall = f.add(
        "slurm_qos_limit_max_wall_per_job_seconds",
        "MaxWall: time limit one job may ask for",
    );
    let used_jobs = f.add(
        "slurm_qos_used_jobs",
        "Running jobs of the QOS, as counted against GrpJobs (CLI source only)",
    );
    let used_submit = f.add(
        "slurm_qos_used_submit_jobs",
        "Running and pending jobs of the QOS, as counted against GrpSubmitJobs (CLI source only)",
    );
    let used_tres = f.add(
        "slurm_qos_used_tres",
        "Resources held by the running jobs of the QOS, as counted against GrpTRES (mem in bytes; CLI source only)",
    );
    let usage_raw = f.add(
        "slurm_qos_usage_raw",
        "Decayed usage of the QOS in billing-weighted CPU-seconds (CLI source only)",
    );
    let n = |v: Option<u64>| v.map(|v| v as f64);
    let fams = &mut f.0;
    for q in &list.qos {
        let name = q.name.as_str();
        let l = ctx.labels(&[("qos", name)]);
        fams[priority].push_opt(l.clone(), n(q.priority));
        fams[factor].push_opt(l.clone(), q.usage_factor);
        push_tres(&mut fams[grp_tres], ctx, name, &q.grp_tres);
        fams[grp_jobs].push_opt(l.clone(), n(q.grp_jobs));
        fams[grp_submit].push_opt(l.clone(), n(q.grp_submit_jobs));
        fams[grp_wall].push_opt(l.clone(), n(q.grp_wall_seconds));
        push_tres(&mut fams[user_tres], ctx, name, &q.max_tres_per_user);
        fams[user_jobs].push_opt(l.clone(), n(q.max_jobs_per_user));
        fams[user_submit].push_opt(l.clone(), n(q.max_submit_jobs_per_user));
        push_tres(&mut fams[job_tres], ctx, name, &q.max_tres_per_job);
        push_tres(&mut fams[account_tres], ctx, name, &q.max_tres_per_account);
        fams[account_jobs].push_opt(l.clone(), n(q.max_jobs_per_account));
        fams[account_submit].push_opt(l.clone(), n(q.max_submit_jobs_per_account));
        fams[max_wall].push_opt(l, n(q.max_wall_per_job_seconds));
    }
    if let Some(usage) = data.qos_usage.as_deref().filter(|u| u.reported) {
        for u in usage
            .qos
            .iter()
            .filter(|u| list.qos.iter().any(|q| q.name == u.name))
        {
            let name = u.name.as_str();
            let l = ctx.labels(&[("qos", name)]);
            fams[used_jobs].push_opt(l.clone(), n(u.usage.jobs));
            fams[used_submit].push_opt(l.clone(), n(u.usage.submitted_jobs));
            push_tres(&mut fams[used_tres], ctx, name, &u.usage.tres);
            fams[usage_raw].push_opt(l, u.usage_raw);
        }
    }
    f.0
}

#[cfg(test)]
#[path = "qos_tests.rs"]
mod tests;

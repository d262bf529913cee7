//! slurmdbd: whether the accounting daemon answers a probe from the exporter, and
//! how long the probe took (`sacctmgr -n -P show cluster format=cluster`, REST
//! `/slurmdb/{version}/diag`).
//!
//! A cluster that keeps no accounting in slurmdbd gets no series (rather than a
//! false 0); the source says so once in the log. One small RPC to slurmdbd per
//! interval: on by default.

use super::{Collect, CollectorDef, Context};
use crate::exposition::Family;
use crate::model::{DataKind, DbdStatus, SlurmData};

pub const DEF: CollectorDef = CollectorDef {
    name: "slurmdbd",
    description: "whether slurmdbd answers a probe, and the probe's round trip (nothing without slurmdbd accounting)",
    enabled_by_default: true,
    needs: &[DataKind::Dbd],
    collect: Collect::Pure(collect),
};

fn collect(data: &SlurmData, ctx: &Context) -> Vec<Family> {
    let Some(DbdStatus::Probed {
        up,
        latency_seconds,
    }) = data.dbd.as_deref().copied()
    else {
        return Vec::new();
    };
    let mut up_family = Family::gauge(
        "slurm_slurmdbd_up",
        "1 when slurmdbd answered the exporter's probe, 0 when it did not (absent without slurmdbd accounting)",
    );
    up_family.push(ctx.labels(&[]), if up { 1.0 } else { 0.0 });
    let mut latency = Family::gauge(
        "slurm_slurmdbd_probe_seconds",
        "Round trip of the last successful slurmdbd probe (sacctmgr run or REST call, process start included)",
    );
    latency.push_opt(ctx.labels(&[]), latency_seconds);
    vec![up_family, latency]
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::collectors::testutil::{ctx, value};

    fn with(status: DbdStatus) -> Vec<Family> {
        let data = SlurmData {
            dbd: Some(Arc::new(status)),
            ..Default::default()
        };
        collect(&data, &ctx())
    }

    #[test]
    fn up_down_and_not_configured() {
        let f = with(DbdStatus::Probed {
            up: true,
            latency_seconds: Some(0.02),
        });
        assert_eq!(
            value(&f, "slurm_slurmdbd_up", &[("cluster", "lab")]),
            Some(1.0)
        );
        assert_eq!(value(&f, "slurm_slurmdbd_probe_seconds", &[]), Some(0.02));
        let f = with(DbdStatus::Probed {
            up: false,
            latency_seconds: None,
        });
        assert_eq!(value(&f, "slurm_slurmdbd_up", &[]), Some(0.0));
        assert_eq!(value(&f, "slurm_slurmdbd_probe_seconds", &[]), None);
        assert!(with(DbdStatus::NotConfigured).is_empty());
    }
}

//! Controller: cluster identity and version, whether each slurmctld answers, ping latency.

use super::{Collect, CollectorDef, Context};
use crate::exposition::Family;
use crate::model::{DataKind, SlurmData};

pub const DEF: CollectorDef = CollectorDef {
    name: "controller",
    description: "Slurm version and cluster, controllers up and ping latency",
    enabled_by_default: true,
    needs: &[DataKind::Controllers],
    collect: Collect::Pure(collect),
};

fn collect(data: &SlurmData, ctx: &Context) -> Vec<Family> {
    let Some(c) = data.controllers.as_deref() else {
        return Vec::new();
    };
    let mut info = Family::gauge("slurm_info", "Slurm version of the controller, value 1");
    let version = c.info.version.as_deref().unwrap_or("unknown");
    info.push(ctx.labels(&[("version", version)]), 1.0);
    let mut reachable = Family::gauge(
        "slurm_controller_reachable",
        "1 when the primary (or any) controller answered the last ping",
    );
    let any_up = c.controllers.iter().any(|c| c.up);
    reachable.push(ctx.labels(&[]), if any_up { 1.0 } else { 0.0 });
    let mut up = Family::gauge(
        "slurm_controller_up",
        "1 when this slurmctld answered the last ping",
    );
    let mut latency = Family::gauge(
        "slurm_controller_ping_seconds",
        "Round-trip time of the last ping of this slurmctld",
    );
    for ctl in &c.controllers {
        let labels = ctx.labels(&[("hostname", &ctl.hostname), ("mode", ctl.mode.as_str())]);
        up.push(labels.clone(), if ctl.up { 1.0 } else { 0.0 });
        latency.push_opt(labels, ctl.latency_seconds);
    }
    vec![info, reachable, up, latency]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::testutil::{ctx, value};
    use crate::model::{ClusterInfo, Controller, ControllerData, ControllerMode};
    use std::sync::Arc;

    #[test]
    fn backup_down_primary_up() {
        let data = SlurmData {
            controllers: Some(Arc::new(ControllerData {
                controllers: vec![
                    Controller {
                        hostname: "c1".into(),
                        mode: ControllerMode::Primary,
                        up: true,
                        latency_seconds: Some(0.002),
                    },
                    Controller {
                        hostname: "c2".into(),
                        mode: ControllerMode::Backup,
                        up: false,
                        latency_seconds: None,
                    },
                ],
                info: ClusterInfo {
                    cluster_name: Some("lab".into()),
                    version: Some("22.05.8".into()),
                },
            })),
            ..Default::default()
        };
        let f = collect(&data, &ctx());
        assert_eq!(
            value(&f, "slurm_info", &[("version", "22.05.8")]),
            Some(1.0)
        );
        assert_eq!(value(&f, "slurm_controller_reachable", &[]), Some(1.0));
        assert_eq!(
            value(
                &f,
                "slurm_controller_up",
                &[("hostname", "c2"), ("mode", "backup")]
            ),
            Some(0.0)
        );
        assert_eq!(
            value(&f, "slurm_controller_ping_seconds", &[("hostname", "c1")]),
            Some(0.002)
        );
        assert_eq!(
            value(&f, "slurm_controller_ping_seconds", &[("hostname", "c2")]),
            None
        );
    }
}

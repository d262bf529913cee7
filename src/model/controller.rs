//! Controller reachability (`scontrol ping`, REST `/ping`) and cluster identity.

/// One slurmctld (primary or backup) as seen by a ping.
#[derive(Debug, Clone, PartialEq)]
pub struct Controller {
    pub hostname: String,
    pub mode: ControllerMode,
    /// Whether it answered.
    pub up: bool,
    /// Round-trip time Slurm measured, when it reports one (REST v0.0.39+).
    pub latency_seconds: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControllerMode {
    Primary,
    Backup,
}

impl ControllerMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ControllerMode::Primary => "primary",
            ControllerMode::Backup => "backup",
        }
    }
}

/// Name and version of the cluster, from `scontrol show config` or response `meta`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterInfo {
    pub cluster_name: Option<String>,
    pub version: Option<String>,
}

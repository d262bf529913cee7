//! Partitions: configuration and state. Node and CPU counts by state are derived
//! from the nodes, which carry their partition list.

/// All partitions of one collection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Partitions {
    pub partitions: Vec<Partition>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Partition {
    pub name: String,
    /// `UP`, `DOWN`, `DRAIN` or `INACTIVE` (upper-case); `None` where the version
    /// does not report it (REST v0.0.39).
    pub state: Option<String>,
    pub total_cpus: Option<u64>,
    pub total_nodes: Option<u64>,
    /// Whether jobs go here when none is named.
    pub is_default: Option<bool>,
    /// Maximum time limit in seconds; `None` when unlimited or not reported.
    pub max_time_seconds: Option<u64>,
}

/// Partition states reported as label values.
pub const PARTITION_STATES: [&str; 5] = ["up", "down", "drain", "inactive", "unknown"];

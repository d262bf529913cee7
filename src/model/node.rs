//! Nodes: capacity, allocation and state of each compute node.

use super::gres::Gres;

/// All nodes of one collection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Nodes {
    pub nodes: Vec<Node>,
}

/// One compute node as reported by `scontrol show node` or REST `/nodes`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Node {
    pub name: String,
    /// Partitions the node belongs to (a node can be in several).
    pub partitions: Vec<String>,
    pub state: NodeState,
    pub cpus_total: Option<u64>,
    pub cpus_allocated: Option<u64>,
    pub memory_total_bytes: Option<u64>,
    pub memory_allocated_bytes: Option<u64>,
    pub memory_free_bytes: Option<u64>,
    /// 1-minute load average (Slurm reports load x 100 in JSON; stored here as the load).
    pub cpu_load: Option<f64>,
    /// Free-text reason set when the node was drained or went down, without the
    /// `[user@time]` suffix the text form appends.
    pub reason: Option<String>,
    /// When the reason was set, seconds since the epoch.
    pub reason_changed_at: Option<i64>,
    /// Generic resources configured (`Gres=`, JSON `gres`); empty when none.
    pub gres: Vec<Gres>,
    /// Generic resources in use (`GresUsed=` of `scontrol -d`, JSON `gres_used`);
    /// `None` when not reported.
    pub gres_used: Option<Vec<Gres>>,
    /// `gres/…` entries of the configured TRES (`CfgTRES=`, JSON `tres`): present
    /// only when accounting tracks them.
    pub tres_gres: Vec<Gres>,
    /// `gres/…` entries of the allocated TRES (`AllocTRES=`, JSON `tres_used`);
    /// `None` when not reported, empty when nothing is allocated.
    pub tres_gres_allocated: Option<Vec<Gres>>,
}

/// Base state and flags exactly as Slurm reports them, upper-case
/// (`base = "MIXED"`, `flags = ["DRAIN"]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeState {
    pub base: String,
    pub flags: Vec<String>,
}

/// The closed set of node states the exporter reports, one per node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeStatus {
    Idle,
    Mixed,
    Allocated,
    Completing,
    Down,
    Drained,
    Draining,
    Fail,
    Maint,
    Reserved,
    Planned,
    PoweredDown,
    PoweringDown,
    PoweringUp,
    Reboot,
    NotResponding,
    Unknown,
    Other,
}

impl NodeStatus {
    /// Every status, in the order series are emitted.
    pub const ALL: [NodeStatus; 18] = [
        NodeStatus::Idle,
        NodeStatus::Mixed,
        NodeStatus::Allocated,
        NodeStatus::Completing,
        NodeStatus::Down,
        NodeStatus::Drained,
        NodeStatus::Draining,
        NodeStatus::Fail,
        NodeStatus::Maint,
        NodeStatus::Reserved,
        NodeStatus::Planned,
        NodeStatus::PoweredDown,
        NodeStatus::PoweringDown,
        NodeStatus::PoweringUp,
        NodeStatus::Reboot,
        NodeStatus::NotResponding,
        NodeStatus::Unknown,
        NodeStatus::Other,
    ];

    /// Label value used in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeStatus::Idle => "idle",
            NodeStatus::Mixed => "mixed",
            NodeStatus::Allocated => "allocated",
            NodeStatus::Completing => "completing",
            NodeStatus::Down => "down",
            NodeStatus::Drained => "drained",
            NodeStatus::Draining => "draining",
            NodeStatus::Fail => "fail",
            NodeStatus::Maint => "maint",
            NodeStatus::Reserved => "reserved",
            NodeStatus::Planned => "planned",
            NodeStatus::PoweredDown => "powered_down",
            NodeStatus::PoweringDown => "powering_down",
            NodeStatus::PoweringUp => "powering_up",
            NodeStatus::Reboot => "reboot",
            NodeStatus::NotResponding => "not_responding",
            NodeStatus::Unknown => "unknown",
            NodeStatus::Other => "other",
        }
    }
}

impl NodeState {
    /// Builds a state from Slurm's compound text form, e.g. `MIXED+DRAIN`,
    /// `IDLE*` (the `*` suffix means not responding) or `DOWN+DRAIN+NOT_RESPONDING`.
    pub fn from_compound(text: &str) -> NodeState {
        let mut parts = text.split('+');
        let mut base = parts.next().unwrap_or_default().trim().to_ascii_uppercase();
        let mut flags: Vec<String> = parts
            .map(|p| p.trim().to_ascii_uppercase())
            .filter(|p| !p.is_empty())
            .collect();
        for marker in ['*', '~', '#', '!', '%', '$', '@', '^', '-'] {
            if let Some(stripped) = base.strip_suffix(marker) {
                base = stripped.to_string();
                if marker == '*' {
                    flags.push("NOT_RESPONDING".to_string());
                }
            }
        }
        NodeState { base, flags }
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    /// The one status this node is counted under. Conditions that make a node
    /// unusable win over the base state, the way `sinfo` shows them.
    pub fn status(&self) -> NodeStatus {
        let busy = matches!(self.base.as_str(), "ALLOCATED" | "MIXED" | "COMPLETING")
            || self.has_flag("COMPLETING");
        if self.base == "DOWN" {
            return NodeStatus::Down;
        }
        if self.base == "FAIL" || self.has_flag("FAIL") {
            return NodeStatus::Fail;
        }
        if self.has_flag("DRAIN") {
            return if busy {
                NodeStatus::Draining
            } else {
                NodeStatus::Drained
            };
        }
        if self.has_flag("MAINTENANCE") || self.has_flag("MAINT") {
            return NodeStatus::Maint;
        }
        if self.has_flag("REBOOT_REQUESTED")
            || self.has_flag("REBOOT_ISSUED")
            || self.has_flag("REBOOT")
        {
            return NodeStatus::Reboot;
        }
        if self.has_flag("POWERED_DOWN") || self.base == "POWERED_DOWN" {
            return NodeStatus::PoweredDown;
        }
        if self.has_flag("POWERING_DOWN") || self.has_flag("POWER_DOWN") {
            return NodeStatus::PoweringDown;
        }
        if self.has_flag("POWERING_UP") || self.has_flag("POWER_UP") {
            return NodeStatus::PoweringUp;
        }
        if self.has_flag("NOT_RESPONDING") {
            return NodeStatus::NotResponding;
        }
        if self.has_flag("PLANNED") {
            return NodeStatus::Planned;
        }
        if self.has_flag("COMPLETING") || self.base == "COMPLETING" {
            return NodeStatus::Completing;
        }
        if self.has_flag("RESERVED") {
            return NodeStatus::Reserved;
        }
        match self.base.as_str() {
            "IDLE" => NodeStatus::Idle,
            "MIXED" => NodeStatus::Mixed,
            "ALLOCATED" | "ALLOC" => NodeStatus::Allocated,
            "UNKNOWN" => NodeStatus::Unknown,
            _ => NodeStatus::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compound_states_map_to_the_closed_set() {
        let cases = [
            ("IDLE", NodeStatus::Idle),
            ("MIXED", NodeStatus::Mixed),
            ("ALLOCATED", NodeStatus::Allocated),
            ("MIXED+DRAIN", NodeStatus::Draining),
            ("IDLE+DRAIN", NodeStatus::Drained),
            ("DOWN+DRAIN+NOT_RESPONDING", NodeStatus::Down),
            ("DOWN*", NodeStatus::Down),
            ("IDLE*", NodeStatus::NotResponding),
            ("IDLE+POWERED_DOWN", NodeStatus::PoweredDown),
            ("IDLE+PLANNED", NodeStatus::Planned),
            ("ALLOCATED+COMPLETING", NodeStatus::Completing),
            ("IDLE+MAINTENANCE+RESERVED", NodeStatus::Maint),
            ("IDLE+RESERVED", NodeStatus::Reserved),
            ("FUTURE", NodeStatus::Other),
            ("UNKNOWN", NodeStatus::Unknown),
        ];
        for (text, want) in cases {
            assert_eq!(NodeState::from_compound(text).status(), want, "{text}");
        }
    }
}

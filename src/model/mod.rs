//! Typed, version-tolerant view of what Slurm reports.
//!
//! Everything here is plain data plus pure parsers (no I/O): the sources hand raw
//! bytes or readers to the parsers, the collectors read the resulting types. A value
//! Slurm did not report is `None`, never zero, so a missing field becomes a missing
//! series rather than a wrong one.

pub mod accounting;
pub mod caps;
pub mod controller;
pub mod dbd;
pub mod diag;
pub mod gres;
pub mod hostlist;
pub mod job;
pub mod json;
pub mod license;
pub mod limits;
pub mod node;
pub mod partition;
pub mod reservation;
pub mod text;
pub mod tres;

pub use accounting::{Accounting, AcctJob, JobMemory};
pub use controller::{ClusterInfo, Controller, ControllerMode};
pub use dbd::DbdStatus;
pub use diag::{Diag, RpcStat};
pub use gres::Gres;
pub use job::{Job, JobState, Jobs};
pub use license::{License, Licenses};
pub use limits::{
    tres_count, Association, Associations, Qos, QosList, QosUsage, QosUsages, ShareRow, Shares,
    Tres, Usage,
};
pub use node::{Node, NodeState, NodeStatus, Nodes};
pub use partition::{Partition, Partitions};
pub use reservation::{Reservation, Reservations};

/// Why raw Slurm output could not be turned into the model.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The JSON was malformed, truncated or had an unexpected type where we needed a value.
    #[error("invalid JSON: {0}")]
    Json(serde_json::Error),
    /// A text line did not have the shape we expect.
    #[error("line {line}: {message}")]
    Text { line: usize, message: String },
    /// Reading the input failed (for example the command's pipe broke).
    #[error("read error: {0}")]
    Io(std::io::Error),
    /// The output went past one of the caps of [`caps`] (reason `too_large`).
    #[error("output too large: {0}")]
    TooLarge(#[from] caps::TooLarge),
    /// The document parsed but Slurm reported errors inside it.
    #[error("Slurm reported errors: {0}")]
    SlurmErrors(String),
}

impl From<std::io::Error> for ParseError {
    fn from(e: std::io::Error) -> Self {
        match caps::TooLarge::from_io(&e) {
            Some(t) => ParseError::TooLarge(t),
            None => ParseError::Io(e),
        }
    }
}

impl From<serde_json::Error> for ParseError {
    /// A cap hit below the JSON parser comes back as serde_json's I/O error, a
    /// record cap as its custom error: both become [`ParseError::TooLarge`].
    fn from(e: serde_json::Error) -> Self {
        if e.is_io() {
            return ParseError::from(std::io::Error::from(e));
        }
        if e.is_data() {
            if let Some(t) = caps::TooLarge::from_message(&e.to_string()) {
                return ParseError::TooLarge(t);
            }
        }
        ParseError::Json(e)
    }
}

/// Converts Slurm's megabytes (MiB) to bytes.
pub fn mib_to_bytes(mib: u64) -> u64 {
    mib.saturating_mul(1024 * 1024)
}

use std::sync::Arc;

/// The kinds of data a source fetches; each is fetched at most once per collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataKind {
    Nodes,
    Partitions,
    Jobs,
    Diag,
    Controllers,
    Licenses,
    Reservations,
    /// The fair-share tree (sshare, REST `/shares`).
    Shares,
    /// QOS limits (sacctmgr, REST slurmdb `/qos`).
    Qos,
    /// What counts against the QOS limits now (slurmctld's association manager).
    QosUsage,
    /// Association limits and usage (association manager, REST slurmdb `/associations`).
    Associations,
    /// Jobs finished and started since the previous read (slurmdbd).
    Accounting,
    /// Whether slurmdbd answers (a probe).
    Dbd,
}

impl DataKind {
    pub const ALL: [DataKind; 13] = [
        DataKind::Nodes,
        DataKind::Partitions,
        DataKind::Jobs,
        DataKind::Diag,
        DataKind::Controllers,
        DataKind::Licenses,
        DataKind::Reservations,
        DataKind::Shares,
        DataKind::Qos,
        DataKind::QosUsage,
        DataKind::Associations,
        DataKind::Accounting,
        DataKind::Dbd,
    ];

    /// How often this data is read: fast data every `collection.interval`, slow data
    /// (changing on an hour scale, or costly for slurmdbd) on its own longer interval.
    pub fn tier(self) -> Tier {
        match self {
            DataKind::Nodes
            | DataKind::Partitions
            | DataKind::Jobs
            | DataKind::Diag
            | DataKind::Controllers
            | DataKind::Dbd => Tier::Fast,
            DataKind::Licenses
            | DataKind::Reservations
            | DataKind::Shares
            | DataKind::Qos
            | DataKind::QosUsage
            | DataKind::Associations => Tier::Slow,
            DataKind::Accounting => Tier::Accounting,
        }
    }

    /// Label value (`query`) used in self-metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            DataKind::Nodes => "nodes",
            DataKind::Partitions => "partitions",
            DataKind::Jobs => "jobs",
            DataKind::Diag => "diag",
            DataKind::Controllers => "ping",
            DataKind::Licenses => "licenses",
            DataKind::Reservations => "reservations",
            DataKind::Shares => "shares",
            DataKind::Qos => "qos",
            DataKind::QosUsage => "qos_usage",
            DataKind::Associations => "associations",
            DataKind::Accounting => "accounting",
            DataKind::Dbd => "slurmdbd",
        }
    }
}

/// Collection tiers, each with its own interval (`collection.interval`,
/// `collection.slow_interval`, `collection.accounting_interval`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    Fast,
    Slow,
    Accounting,
}

/// Controllers as pinged, plus the cluster's identity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ControllerData {
    pub controllers: Vec<Controller>,
    pub info: ClusterInfo,
}

/// Everything fetched in one collection; `None` where the fetch failed or was not needed.
#[derive(Debug, Clone, Default)]
pub struct SlurmData {
    pub nodes: Option<Arc<Nodes>>,
    pub partitions: Option<Arc<Partitions>>,
    pub jobs: Option<Arc<Jobs>>,
    pub diag: Option<Arc<Diag>>,
    pub controllers: Option<Arc<ControllerData>>,
    pub licenses: Option<Arc<Licenses>>,
    pub reservations: Option<Arc<Reservations>>,
    pub shares: Option<Arc<Shares>>,
    pub qos: Option<Arc<QosList>>,
    pub qos_usage: Option<Arc<QosUsages>>,
    pub associations: Option<Arc<Associations>>,
    pub accounting: Option<Arc<Accounting>>,
    pub dbd: Option<Arc<DbdStatus>>,
}

impl SlurmData {
    pub fn has(&self, kind: DataKind) -> bool {
        match kind {
            DataKind::Nodes => self.nodes.is_some(),
            DataKind::Partitions => self.partitions.is_some(),
            DataKind::Jobs => self.jobs.is_some(),
            DataKind::Diag => self.diag.is_some(),
            DataKind::Controllers => self.controllers.is_some(),
            DataKind::Licenses => self.licenses.is_some(),
            DataKind::Reservations => self.reservations.is_some(),
            DataKind::Shares => self.shares.is_some(),
            DataKind::Qos => self.qos.is_some(),
            DataKind::QosUsage => self.qos_usage.is_some(),
            DataKind::Associations => self.associations.is_some(),
            DataKind::Accounting => self.accounting.is_some(),
            DataKind::Dbd => self.dbd.is_some(),
        }
    }

    /// Drops this collection's data of one kind (when no collector still needs it).
    pub fn release(&mut self, kind: DataKind) {
        match kind {
            DataKind::Nodes => self.nodes = None,
            DataKind::Partitions => self.partitions = None,
            DataKind::Jobs => self.jobs = None,
            DataKind::Diag => self.diag = None,
            DataKind::Controllers => self.controllers = None,
            DataKind::Licenses => self.licenses = None,
            DataKind::Reservations => self.reservations = None,
            DataKind::Shares => self.shares = None,
            DataKind::Qos => self.qos = None,
            DataKind::QosUsage => self.qos_usage = None,
            DataKind::Associations => self.associations = None,
            DataKind::Accounting => self.accounting = None,
            DataKind::Dbd => self.dbd = None,
        }
    }

    /// Copies (shares) `from`'s data of one kind into `self`.
    pub fn copy_kind(&mut self, from: &SlurmData, kind: DataKind) {
        match kind {
            DataKind::Nodes => self.nodes.clone_from(&from.nodes),
            DataKind::Partitions => self.partitions.clone_from(&from.partitions),
            DataKind::Jobs => self.jobs.clone_from(&from.jobs),
            DataKind::Diag => self.diag.clone_from(&from.diag),
            DataKind::Controllers => self.controllers.clone_from(&from.controllers),
            DataKind::Licenses => self.licenses.clone_from(&from.licenses),
            DataKind::Reservations => self.reservations.clone_from(&from.reservations),
            DataKind::Shares => self.shares.clone_from(&from.shares),
            DataKind::Qos => self.qos.clone_from(&from.qos),
            DataKind::QosUsage => self.qos_usage.clone_from(&from.qos_usage),
            DataKind::Associations => self.associations.clone_from(&from.associations),
            // The jobs one read reports are new only once: reusing them would count
            // them again. A collector reading them runs only when they were read.
            DataKind::Accounting => {}
            DataKind::Dbd => self.dbd.clone_from(&from.dbd),
        }
    }
}

//! Typed, version-tolerant view of what Slurm reports.
//!
//! Everything here is plain data plus pure parsers (no I/O): the sources hand raw
//! bytes or readers to the parsers, the collectors read the resulting types. A value
//! Slurm did not report is `None`, never zero, so a missing field becomes a missing
//! series rather than a wrong one.

pub mod controller;
pub mod diag;
pub mod job;
pub mod json;
pub mod node;
pub mod partition;
pub mod text;

pub use controller::{ClusterInfo, Controller, ControllerMode};
pub use diag::{Diag, RpcStat};
pub use job::{Job, JobState, Jobs};
pub use node::{Node, NodeState, NodeStatus, Nodes};
pub use partition::{Partition, Partitions};

/// Why raw Slurm output could not be turned into the model.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The JSON was malformed, truncated or had an unexpected type where we needed a value.
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A text line did not have the shape we expect.
    #[error("line {line}: {message}")]
    Text { line: usize, message: String },
    /// Reading the input failed (for example the command's pipe broke).
    #[error("read error: {0}")]
    Io(#[from] std::io::Error),
    /// The document parsed but Slurm reported errors inside it.
    #[error("Slurm reported errors: {0}")]
    SlurmErrors(String),
}

/// Converts Slurm's megabytes (MiB) to bytes.
pub fn mib_to_bytes(mib: u64) -> u64 {
    mib.saturating_mul(1024 * 1024)
}

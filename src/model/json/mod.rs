//! Streaming parsers for Slurm's JSON (REST and `--json`), every version from
//! v0.0.37 (Slurm 21.08) to v0.0.44 (25.11), told apart by field presence rather
//! than by the version the document claims.
//!
//! The big arrays (`nodes`, `jobs`, `partitions`) are consumed element by element
//! with serde visitors: each element is read into a small private struct holding
//! only the fields the model needs (everything else is skipped with
//! `IgnoredAny`) and converted at once, so a 310 MB, 100,000-job document never
//! exists in memory as anything but the model. Nothing here goes through
//! `serde_json::Value`: the envelope (`meta`, `errors`, `warnings`) is read into
//! small bounded types too, and every list inside a record is capped
//! (`value.rs`: `capped_list`, `record_list`, `step_list`).
//!
//! Shared rules (see `value.rs` for the number shapes):
//! - numbers may be plain (`60`, `-1`, NO_VAL `4294967294`, `null`), objects
//!   (`{"set": true, "infinite": false, "number": 60}`, v0.0.39+) or the
//!   `+complex` spelling (`"Infinity"`); unset, infinite and sentinels are `None`;
//! - timestamps are ints (v0.0.37–39) or objects (v0.0.40+); `0` is `None`;
//! - a document without its data key fails: with Slurm's `errors[]` text when it
//!   has some ([`ParseError::SlurmErrors`]), else as invalid JSON; a document with
//!   data *and* errors keeps the data, but an empty list with errors is the error
//!   (22.05 `squeue --json` when slurmctld is down);
//! - malformed or truncated input is an error, never a panic.
//!
//! Files: `document.rs` (envelope, `meta`, `errors`), `value.rs` (shapes that
//! changed between versions), then one file per document kind.

use std::io::Read;

use super::{
    AcctJob, Associations, Controller, Diag, Jobs, Licenses, Nodes, ParseError, Partitions,
    QosList, Reservations, Shares,
};

mod diag;
mod document;
mod jobs;
mod licenses;
mod limits;
mod nodes;
mod partitions;
mod ping;
mod reservations;
mod sacct;
mod value;

use document::{read_document, Document};

/// What a response says about the Slurm that produced it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meta {
    /// Slurm release, e.g. `22.05.8` (`meta.Slurm.release` / `meta.slurm.release`,
    /// or built from `version.{major,minor,micro}`).
    pub release: Option<String>,
    /// Cluster name (v0.0.40+, `meta.slurm.cluster`).
    pub cluster: Option<String>,
    /// Plugin or data_parser version, e.g. `v0.0.38` (`meta.plugin.data_parser`,
    /// `meta.plugins.data_parser` or `meta.plugin.type`).
    pub data_version: Option<String>,
}

/// A parsed response: the data plus its meta block, the `last_update` time
/// (v0.0.40+) that can be sent back as `update_time`, and Slurm's warnings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Response<T> {
    pub data: T,
    pub meta: Meta,
    pub last_update: Option<i64>,
    pub warnings: Vec<String>,
}

/// The warning of slurmrestd 23.02+ (data_parser) answering `/jobs?update_time=T`
/// when no job changed since T: an empty `jobs` list, not an empty cluster.
/// (22.05 answers 304 Not Modified instead.)
pub const NO_JOB_CHANGES: &str = "No job changes since update_time";

impl Response<Jobs> {
    /// Whether this is slurmrestd's "nothing changed" answer to `update_time`.
    pub fn jobs_unchanged(&self) -> bool {
        self.data.jobs.is_empty() && self.warnings.iter().any(|w| w.contains(NO_JOB_CHANGES))
    }
}

impl<B> Document<B> {
    fn into_response<T>(self, data: impl FnOnce(B) -> T) -> Response<T> {
        Response {
            data: data(self.body),
            meta: self.meta,
            last_update: self.last_update,
            warnings: self.warnings,
        }
    }
}

/// `/nodes`, or `sinfo --json` of 22.05 (the same document). The 23.02+
/// `sinfo --json` layout (top-level `sinfo`, nodes grouped by partition and
/// state) is refused with an error: it has no per-node records.
pub fn parse_nodes(reader: impl Read) -> Result<Response<Nodes>, ParseError> {
    let doc = read_document::<nodes::NodesBody>(reader)?;
    Ok(doc.into_response(|b| Nodes {
        nodes: b.nodes.unwrap_or_default(),
    }))
}

/// `/partitions` (v0.0.38 flat records, v0.0.39+ nested ones).
pub fn parse_partitions(reader: impl Read) -> Result<Response<Partitions>, ParseError> {
    let doc = read_document::<partitions::PartitionsBody>(reader)?;
    Ok(doc.into_response(|b| Partitions {
        partitions: b.partitions.unwrap_or_default(),
    }))
}

/// `/jobs` or `squeue --json`. A pending array record carries its task count.
pub fn parse_jobs(reader: impl Read) -> Result<Response<Jobs>, ParseError> {
    let doc = read_document::<jobs::JobsBody>(reader)?;
    let cluster = doc.body.cluster.clone();
    let mut response = doc.into_response(|b| Jobs {
        jobs: b.jobs.unwrap_or_default(),
    });
    // v0.0.38 has no cluster in `meta`; each job record names it.
    if response.meta.cluster.is_none() {
        response.meta.cluster = cluster;
    }
    Ok(response)
}

/// `/diag` or `sdiag --json`: the `statistics` object.
pub fn parse_diag(reader: impl Read) -> Result<Response<Diag>, ParseError> {
    let doc = read_document::<diag::DiagBody>(reader)?;
    Ok(doc.into_response(|b| b.diag.unwrap_or_default()))
}

/// `/ping` or `scontrol ping --json`: `pings[]`, primary first.
pub fn parse_ping(reader: impl Read) -> Result<Response<Vec<Controller>>, ParseError> {
    let doc = read_document::<ping::PingBody>(reader)?;
    Ok(doc.into_response(|b| b.controllers.unwrap_or_default()))
}

/// `/licenses` (v0.0.38+) or `scontrol show license --json` (23.02+).
pub fn parse_licenses(reader: impl Read) -> Result<Response<Licenses>, ParseError> {
    let doc = read_document::<licenses::LicensesBody>(reader)?;
    Ok(doc.into_response(|b| Licenses {
        licenses: b.licenses.unwrap_or_default(),
    }))
}

/// `/reservations` or `scontrol show reservation --json` (23.02+).
pub fn parse_reservations(reader: impl Read) -> Result<Response<Reservations>, ParseError> {
    let doc = read_document::<reservations::ReservationsBody>(reader)?;
    Ok(doc.into_response(|b| Reservations {
        reservations: b.reservations.unwrap_or_default(),
    }))
}

/// `/slurm/v0.0.40+/shares` or `sshare --json` (23.11+): the fair-share tree.
pub fn parse_shares(reader: impl Read) -> Result<Response<Shares>, ParseError> {
    let doc = read_document::<limits::SharesBody>(reader)?;
    Ok(doc.into_response(|b| Shares {
        rows: b.rows.unwrap_or_default(),
    }))
}

/// `/slurmdb/v0.0.38+/qos` or `sacctmgr show qos --json` (23.02+).
pub fn parse_qos(reader: impl Read) -> Result<Response<QosList>, ParseError> {
    let doc = read_document::<limits::QosBody>(reader)?;
    Ok(doc.into_response(|b| QosList {
        qos: b.qos.unwrap_or_default(),
    }))
}

/// `/slurmdb/v0.0.38+/associations` or `sacctmgr show assoc --json` (23.02+): limits
/// only (slurmdbd reports no usage).
pub fn parse_associations(reader: impl Read) -> Result<Response<Associations>, ParseError> {
    let doc = read_document::<limits::AssociationsBody>(reader)?;
    Ok(doc.into_response(|b| Associations {
        associations: b.associations.unwrap_or_default(),
    }))
}

/// `/slurmdb/v0.0.NN/jobs` or `sacct --json`. slurmdbd answers an empty result
/// with `"jobs": []` and the error "Nothing found" (22.05): that is no jobs, not a
/// failure; an empty list with any other error is the error.
pub fn parse_acct_jobs(reader: impl Read) -> Result<Response<Vec<AcctJob>>, ParseError> {
    match read_document::<sacct::AcctJobsBody>(reader) {
        Ok(doc) => Ok(doc.into_response(|b| b.jobs.unwrap_or_default())),
        Err(ParseError::SlurmErrors(e)) if e.contains("Nothing found") => Ok(Response {
            data: Vec::new(),
            meta: Meta::default(),
            last_update: None,
            warnings: Vec::new(),
        }),
        Err(e) => Err(e),
    }
}

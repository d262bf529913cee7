//! Streaming parsers for Slurm's JSON (REST and `--json`), every version by field presence.
//! STUB: being written.

use std::io::Read;

use super::{Controller, Diag, Jobs, Nodes, ParseError, Partitions};

/// What a response says about the Slurm that produced it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meta {
    /// Slurm release, e.g. `22.05.8`.
    pub release: Option<String>,
    /// Cluster name (v0.0.40+).
    pub cluster: Option<String>,
    /// Plugin or data_parser version, e.g. `v0.0.38`.
    pub data_version: Option<String>,
}

/// A parsed response: the data plus its meta block and the `last_update` time
/// (v0.0.40+) that can be sent back as `update_time`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Response<T> {
    pub data: T,
    pub meta: Meta,
    pub last_update: Option<i64>,
}

fn stub<T>() -> Result<T, ParseError> {
    Err(ParseError::SlurmErrors("parser not implemented".into()))
}

pub fn parse_nodes(_reader: impl Read) -> Result<Response<Nodes>, ParseError> {
    stub()
}
pub fn parse_partitions(_reader: impl Read) -> Result<Response<Partitions>, ParseError> {
    stub()
}
pub fn parse_jobs(_reader: impl Read) -> Result<Response<Jobs>, ParseError> {
    stub()
}
pub fn parse_diag(_reader: impl Read) -> Result<Response<Diag>, ParseError> {
    stub()
}
pub fn parse_ping(_reader: impl Read) -> Result<Response<Vec<Controller>>, ParseError> {
    stub()
}

//! Parsers for the text output of Slurm commands (the cheapest form for jobs and nodes).
//! STUB: being written.

use std::io::BufRead;

use super::{ClusterInfo, Controller, Diag, Jobs, Nodes, ParseError, Partitions};

/// `squeue -h -t all -r -o FORMAT`: reason last, because it is free text.
pub const SQUEUE_FORMAT: &str = "%i|%T|%P|%C|%D|%V|%S|%r";

fn stub<T>() -> Result<T, ParseError> {
    Err(ParseError::Text {
        line: 0,
        message: "parser not implemented".into(),
    })
}

pub fn parse_squeue(_reader: impl BufRead) -> Result<Jobs, ParseError> {
    stub()
}
pub fn parse_scontrol_nodes(_reader: impl BufRead) -> Result<Nodes, ParseError> {
    stub()
}
pub fn parse_scontrol_partitions(_reader: impl BufRead) -> Result<Partitions, ParseError> {
    stub()
}
pub fn parse_sdiag(_reader: impl BufRead) -> Result<Diag, ParseError> {
    stub()
}
pub fn parse_scontrol_ping(_reader: impl BufRead) -> Result<Vec<Controller>, ParseError> {
    stub()
}
pub fn parse_scontrol_config(_reader: impl BufRead) -> Result<ClusterInfo, ParseError> {
    stub()
}

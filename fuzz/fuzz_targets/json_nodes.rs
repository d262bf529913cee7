#![no_main]
//! REST `/nodes` and `sinfo --json` (every version's shape).

mod common;

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use slurm_exporter::model::{self, SlurmData};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = model::json::parse_nodes(data) {
        common::collect_all(&SlurmData {
            nodes: Some(Arc::new(r.data)),
            ..Default::default()
        });
    }
});

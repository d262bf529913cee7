#![no_main]
//! `scontrol -o show node` (and the multi-line form).

mod common;

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use slurm_exporter::model::{self, SlurmData};

fuzz_target!(|data: &[u8]| {
    if let Ok(nodes) = model::text::parse_scontrol_nodes(data) {
        common::collect_all(&SlurmData {
            nodes: Some(Arc::new(nodes)),
            ..Default::default()
        });
    }
});

#![no_main]
//! REST `/partitions`.

mod common;

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use slurm_exporter::model::{self, SlurmData};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = model::json::parse_partitions(data) {
        common::collect_all(&SlurmData {
            partitions: Some(Arc::new(r.data)),
            ..Default::default()
        });
    }
});

#![no_main]
//! REST `/jobs` and `squeue --json`.

mod common;

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use slurm_exporter::model::{self, SlurmData};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = model::json::parse_jobs(data) {
        common::collect_all(&SlurmData {
            jobs: Some(Arc::new(r.data)),
            ..Default::default()
        });
    }
});

#![no_main]
//! `squeue -h -t all -r -O` with `SQUEUE_FORMAT`.

mod common;

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use slurm_exporter::model::{self, SlurmData};

fuzz_target!(|data: &[u8]| {
    if let Ok(jobs) = model::text::parse_squeue(data) {
        common::collect_all(&SlurmData {
            jobs: Some(Arc::new(jobs)),
            ..Default::default()
        });
    }
});

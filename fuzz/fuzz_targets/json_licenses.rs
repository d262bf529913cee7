#![no_main]
//! REST `/licenses`.

mod common;

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use slurm_exporter::model::{self, SlurmData};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = model::json::parse_licenses(data) {
        common::collect_all(&SlurmData {
            licenses: Some(Arc::new(r.data)),
            ..Default::default()
        });
    }
});

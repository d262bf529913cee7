#![no_main]
//! `scontrol -o show license`.

mod common;

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use slurm_exporter::model::{self, SlurmData};

fuzz_target!(|data: &[u8]| {
    if let Ok(l) = model::text::parse_scontrol_licenses(data) {
        common::collect_all(&SlurmData {
            licenses: Some(Arc::new(l)),
            ..Default::default()
        });
    }
});

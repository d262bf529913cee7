#![no_main]
//! `scontrol -o show reservation`.

mod common;

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use slurm_exporter::model::{self, SlurmData};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = model::text::parse_scontrol_reservations(data) {
        common::collect_all(&SlurmData {
            reservations: Some(Arc::new(r)),
            ..Default::default()
        });
    }
});

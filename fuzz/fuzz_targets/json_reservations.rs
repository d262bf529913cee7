#![no_main]
//! REST `/reservations` (node lists go through the host-list expansion).

mod common;

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use slurm_exporter::model::{self, SlurmData};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = model::json::parse_reservations(data) {
        common::collect_all(&SlurmData {
            reservations: Some(Arc::new(r.data)),
            ..Default::default()
        });
    }
});

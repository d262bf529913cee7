#![no_main]
//! `scontrol -o show partition`.

mod common;

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use slurm_exporter::model::{self, SlurmData};

fuzz_target!(|data: &[u8]| {
    if let Ok(partitions) = model::text::parse_scontrol_partitions(data) {
        common::collect_all(&SlurmData {
            partitions: Some(Arc::new(partitions)),
            ..Default::default()
        });
    }
});

#![no_main]
//! `sdiag` text (22.05 to 26.05 layouts).

mod common;

use libfuzzer_sys::fuzz_target;
use slurm_exporter::model;

fuzz_target!(|data: &[u8]| {
    if let Ok(diag) = model::text::parse_sdiag(data) {
        common::collect_all(&common::with_diag(diag));
    }
});

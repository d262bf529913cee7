#![no_main]
//! REST `/diag` and `sdiag --json`.

mod common;

use libfuzzer_sys::fuzz_target;
use slurm_exporter::model;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = model::json::parse_diag(data) {
        common::collect_all(&common::with_diag(r.data));
    }
});

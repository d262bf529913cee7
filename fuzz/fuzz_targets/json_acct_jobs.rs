#![no_main]
//! `/slurmdb/v0.0.NN/jobs` and `sacct --json`.

mod common;

use libfuzzer_sys::fuzz_target;
use slurm_exporter::model;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = model::json::parse_acct_jobs(data) {
        common::collect_all(&common::with_accounting(r.data));
    }
});

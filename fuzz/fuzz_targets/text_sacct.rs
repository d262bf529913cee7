#![no_main]
//! `sacct -a -X -P -n -o SACCT_FORMAT` (the accounting collector's query).

mod common;

use libfuzzer_sys::fuzz_target;
use slurm_exporter::model;

fuzz_target!(|data: &[u8]| {
    if let Ok(jobs) = model::text::parse_sacct(data) {
        common::collect_all(&common::with_accounting(jobs));
    }
});

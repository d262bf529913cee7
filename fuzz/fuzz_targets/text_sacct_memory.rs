#![no_main]
//! `sacct -a -P -n -o SACCT_MEMORY_FORMAT` (steps included: the accounting
//! collector's memory read), as finished jobs that ran.

mod common;

use libfuzzer_sys::fuzz_target;
use slurm_exporter::model;

fuzz_target!(|data: &[u8]| {
    if let Ok(memory) = model::text::parse_sacct_memory(data) {
        let jobs = memory
            .into_iter()
            .map(|(id, memory)| model::AcctJob {
                id,
                state: "COMPLETED".into(),
                end: Some(1),
                ran: true,
                memory,
                ..Default::default()
            })
            .collect();
        common::collect_all(&common::with_accounting(jobs));
    }
});

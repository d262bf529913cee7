#![no_main]
//! The `Accept` header of a scrape (`Format::negotiate`).

use libfuzzer_sys::fuzz_target;
use slurm_exporter::exposition::Format;

fuzz_target!(|data: &[u8]| {
    // The server hands over only headers that are visible ASCII (`to_str`), but the
    // negotiation must not care.
    let _ = Format::negotiate(Some(&String::from_utf8_lossy(data)));
});

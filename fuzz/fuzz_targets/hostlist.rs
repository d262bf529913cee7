#![no_main]
//! Slurm host lists (`n[1-3,5],gpu[08-10]`): capped in names and bytes.

use libfuzzer_sys::fuzz_target;
use slurm_exporter::model::hostlist;

fuzz_target!(|data: &[u8]| {
    if let Ok(names) = hostlist::expand(&String::from_utf8_lossy(data)) {
        assert!(names.len() <= hostlist::MAX_HOSTS);
        assert!(names.iter().map(String::len).sum::<usize>() <= hostlist::MAX_BYTES);
    }
});

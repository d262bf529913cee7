#![no_main]
//! The `Authorization: Basic …` header (`web::auth::credentials`).

use libfuzzer_sys::fuzz_target;
use slurm_exporter::web::auth::credentials;

fuzz_target!(|data: &[u8]| {
    let _ = credentials(Some(&String::from_utf8_lossy(data)));
});

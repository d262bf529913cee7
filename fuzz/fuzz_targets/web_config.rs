#![no_main]
//! The web config file (`--web.config.file`, exporter-toolkit format), from text.

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use slurm_exporter::web::file::WebConfig;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = WebConfig::parse(Path::new("web-config.yml"), text);
    }
});

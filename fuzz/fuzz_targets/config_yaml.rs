#![no_main]
//! The YAML config file: `RawConfig::from_yaml`, then the validation of `Config::from_raw`.

mod common;

use libfuzzer_sys::fuzz_target;
use slurm_exporter::config::{Config, RawConfig};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(mut raw) = RawConfig::from_yaml(text) {
        common::no_name_lookup(&mut raw);
        let _ = Config::from_raw(raw, text.len() % 2 == 0);
    }
});

#![no_main]
//! `scontrol show config` (cluster name and version).

mod common;

use libfuzzer_sys::fuzz_target;
use slurm_exporter::model;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = model::text::parse_scontrol_config(data) {
        common::collect_all(&common::with_controllers(model::ControllerData {
            controllers: Vec::new(),
            info,
        }));
    }
});

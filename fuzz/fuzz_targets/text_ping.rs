#![no_main]
//! `scontrol ping`.

mod common;

use libfuzzer_sys::fuzz_target;
use slurm_exporter::model;

fuzz_target!(|data: &[u8]| {
    if let Ok(controllers) = model::text::parse_scontrol_ping(data) {
        common::collect_all(&common::with_controllers(model::ControllerData {
            controllers,
            info: Default::default(),
        }));
    }
});

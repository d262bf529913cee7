#![no_main]
//! REST `/ping` and `scontrol ping --json`.

mod common;

use libfuzzer_sys::fuzz_target;
use slurm_exporter::model;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = model::json::parse_ping(data) {
        common::collect_all(&common::with_controllers(model::ControllerData {
            controllers: r.data,
            info: Default::default(),
        }));
    }
});

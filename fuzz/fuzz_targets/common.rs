//! Shared by the fuzz targets: whatever a parser accepts must also go through
//! every collector that can use it and both exposition encoders without a panic.
#![allow(dead_code)]

use std::sync::Arc;

use slurm_exporter::collectors::{self, Context};
use slurm_exporter::exposition::{encode, Format};
use slurm_exporter::model::{ControllerData, SlurmData};

/// Runs every collector whose data is present and encodes its families.
pub fn collect_all(data: &SlurmData) {
    let ctx = Context::new("fuzz", 1_700_000_000);
    for collector in collectors::ALL {
        if collector.needs.iter().all(|kind| data.has(*kind)) {
            let families = collector.collect_once(data, &ctx);
            for format in [Format::Text, Format::OpenMetrics] {
                let mut out = String::new();
                encode(&families, format, &mut out);
            }
        }
    }
}

/// Data for the scheduler collector from a parsed diag.
pub fn with_diag(diag: slurm_exporter::model::Diag) -> SlurmData {
    SlurmData {
        diag: Some(Arc::new(diag)),
        ..Default::default()
    }
}

/// Data for the controller collector.
pub fn with_controllers(controllers: ControllerData) -> SlurmData {
    SlurmData {
        controllers: Some(Arc::new(controllers)),
        ..Default::default()
    }
}

/// `Config::from_raw` resolves a listen address that names a host, which would
/// make the fuzzer send DNS queries: keep only addresses that need no look-up
/// (IP literals, `:port`, or a port that does not parse, which fails first).
pub fn no_name_lookup(raw: &mut slurm_exporter::config::RawConfig) {
    use std::net::SocketAddr;
    let Some(listen) = raw.web.listen_address.as_deref() else {
        return;
    };
    let full = if listen.starts_with(':') {
        format!("0.0.0.0{listen}")
    } else {
        listen.to_string()
    };
    let literal = full.parse::<SocketAddr>().is_ok();
    let bad_port = full
        .rsplit_once(':')
        .is_none_or(|(_, port)| port.parse::<u16>().is_err());
    if !literal && !bad_port {
        raw.web.listen_address = None;
    }
}

/// Data for the accounting collector: what one read of these jobs would report.
pub fn with_accounting(jobs: Vec<slurm_exporter::model::AcctJob>) -> SlurmData {
    SlurmData {
        accounting: Some(Arc::new(slurm_exporter::model::Accounting {
            finished: jobs.iter().filter(|j| j.finished()).cloned().collect(),
            started: jobs.into_iter().filter(|j| j.ran).collect(),
            watermark: 1,
            catching_up: false,
        })),
        ..Default::default()
    }
}

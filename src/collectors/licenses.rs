//! Licenses: total, used, free and reserved counts per license, whether it is
//! remote, and for remote licenses what the license server last reported.
//! One query (`scontrol -o show license` or REST `/licenses`), a few series per
//! license: on by default.

use super::{Collect, CollectorDef, Context};
use crate::exposition::Family;
use crate::model::{DataKind, SlurmData};

pub const DEF: CollectorDef = CollectorDef {
    name: "licenses",
    description: "per-license total, used, free and reserved counts; remote license server figures",
    enabled_by_default: true,
    needs: &[DataKind::Licenses],
    collect: Collect::Pure(collect),
};

fn collect(data: &SlurmData, ctx: &Context) -> Vec<Family> {
    let Some(licenses) = data.licenses.as_deref() else {
        return Vec::new();
    };
    let mut total = Family::gauge(
        "slurm_license_configured",
        "Licenses configured (Slurm's Total)",
    );
    let mut used = Family::gauge("slurm_license_used", "Licenses in use by jobs");
    let mut free = Family::gauge("slurm_license_free", "Licenses available to new jobs");
    let mut reserved = Family::gauge("slurm_license_reserved", "Licenses held by reservations");
    let mut remote = Family::gauge(
        "slurm_license_remote",
        "1 for a remote license (served through slurmdbd), 0 for a local one",
    );
    let mut last_consumed = Family::gauge(
        "slurm_license_last_consumed",
        "Remote licenses: how many the license server last reported consumed (Slurm 23.02+)",
    );
    let mut last_deficit = Family::gauge(
        "slurm_license_last_deficit",
        "Remote licenses: how many more were consumed than Slurm accounts for, at the last update (Slurm 23.02+)",
    );
    let mut last_update = Family::gauge(
        "slurm_license_last_update_timestamp_seconds",
        "Remote licenses: when the license server's figures were last updated",
    );
    let n = |v: Option<u64>| v.map(|v| v as f64);
    for l in &licenses.licenses {
        let labels = ctx.labels(&[("license", &l.name)]);
        total.push_opt(labels.clone(), n(l.total));
        used.push_opt(labels.clone(), n(l.used));
        free.push_opt(labels.clone(), n(l.free));
        reserved.push_opt(labels.clone(), n(l.reserved));
        remote.push_opt(labels.clone(), l.remote.map(|r| if r { 1.0 } else { 0.0 }));
        last_consumed.push_opt(labels.clone(), n(l.last_consumed));
        last_deficit.push_opt(labels.clone(), n(l.last_deficit));
        last_update.push_opt(labels, l.last_update.map(|t| t as f64));
    }
    vec![
        total,
        used,
        free,
        reserved,
        remote,
        last_consumed,
        last_deficit,
        last_update,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::testutil::{ctx, value};
    use crate::model::{License, Licenses};
    use std::sync::Arc;

    #[test]
    fn local_and_remote_licenses() {
        let data = SlurmData {
            licenses: Some(Arc::new(Licenses {
                licenses: vec![
                    License {
                        name: "lab_lic".into(),
                        total: Some(8),
                        used: Some(2),
                        free: Some(6),
                        reserved: Some(0),
                        remote: Some(false),
                        ..Default::default()
                    },
                    License {
                        name: "matlab@flex".into(),
                        total: Some(420),
                        used: Some(213),
                        free: Some(205),
                        reserved: Some(357),
                        remote: Some(true),
                        last_consumed: Some(218),
                        last_deficit: Some(2),
                        last_update: Some(1_734_338_536),
                    },
                ],
            })),
            ..Default::default()
        };
        let f = collect(&data, &ctx());
        let v = |name, license| value(&f, name, &[("license", license), ("cluster", "lab")]);
        assert_eq!(v("slurm_license_configured", "lab_lic"), Some(8.0));
        assert_eq!(v("slurm_license_used", "lab_lic"), Some(2.0));
        assert_eq!(v("slurm_license_free", "lab_lic"), Some(6.0));
        assert_eq!(v("slurm_license_reserved", "lab_lic"), Some(0.0));
        assert_eq!(v("slurm_license_remote", "lab_lic"), Some(0.0));
        // 22.05 does not report the remote figures: absent, not zero
        assert_eq!(v("slurm_license_last_consumed", "lab_lic"), None);
        assert_eq!(v("slurm_license_last_deficit", "lab_lic"), None);
        assert_eq!(v("slurm_license_remote", "matlab@flex"), Some(1.0));
        assert_eq!(v("slurm_license_last_consumed", "matlab@flex"), Some(218.0));
        assert_eq!(v("slurm_license_last_deficit", "matlab@flex"), Some(2.0));
        assert_eq!(
            v("slurm_license_last_update_timestamp_seconds", "matlab@flex"),
            Some(1_734_338_536.0)
        );
    }
}

use super::*;
use crate::collectors::testutil::{ctx, value};
use crate::model::{Qos, QosList, QosUsage, QosUsages, Usage};
use std::sync::Arc;

fn data(usage: QosUsages) -> SlurmData {
    SlurmData {
        qos: Some(Arc::new(QosList {
            qos: vec![
                Qos {
                    name: "normal".into(),
                    priority: Some(0),
                    usage_factor: Some(1.0),
                    ..Default::default()
                },
                Qos {
                    name: "lab_high".into(),
                    priority: Some(10),
                    usage_factor: Some(2.0),
                    grp_tres: vec![Tres::new("cpu", 6), Tres::new("mem", 4000)],
                    grp_jobs: Some(4),
                    grp_submit_jobs: Some(8),
                    max_tres_per_user: vec![Tres::new("cpu", 4)],
                    max_jobs_per_user: Some(3),
                    max_submit_jobs_per_user: Some(5),
                    max_wall_per_job_seconds: Some(7200),
                    ..Default::default()
                },
            ],
        })),
        qos_usage: Some(Arc::new(usage)),
        ..Default::default()
    }
}

#[test]
fn limits_and_usage() {
    let usage = QosUsages {
        reported: true,
        qos: vec![
            QosUsage {
                name: "lab_high".into(),
                usage: Usage {
                    jobs: Some(1),
                    submitted_jobs: Some(2),
                    tres: vec![Tres::new("cpu", 1), Tres::new("mem", 500)],
                },
                usage_raw: Some(227.5),
            },
            QosUsage {
                name: "not_in_slurmdbd_yet".into(),
                usage: Usage {
                    jobs: Some(1),
                    ..Default::default()
                },
                usage_raw: None,
            },
        ],
    };
    let f = collect(&data(usage), &ctx());
    let v = |name, labels: &[(&str, &str)]| value(&f, name, labels);
    let high = [("cluster", "lab"), ("qos", "lab_high")];
    assert_eq!(v("slurm_qos_priority", &high), Some(10.0));
    assert_eq!(v("slurm_qos_usage_factor", &high), Some(2.0));
    assert_eq!(
        v(
            "slurm_qos_limit_grp_tres",
            &[("qos", "lab_high"), ("tres", "cpu")]
        ),
        Some(6.0)
    );
    assert_eq!(
        v(
            "slurm_qos_limit_grp_tres",
            &[("qos", "lab_high"), ("tres", "mem")]
        ),
        Some(4000.0 * 1024.0 * 1024.0)
    );
    assert_eq!(v("slurm_qos_limit_grp_jobs", &high), Some(4.0));
    assert_eq!(v("slurm_qos_limit_grp_submit_jobs", &high), Some(8.0));
    assert_eq!(
        v(
            "slurm_qos_limit_max_tres_per_user",
            &[("qos", "lab_high"), ("tres", "cpu")]
        ),
        Some(4.0)
    );
    assert_eq!(v("slurm_qos_limit_max_jobs_per_user", &high), Some(3.0));
    assert_eq!(
        v("slurm_qos_limit_max_submit_jobs_per_user", &high),
        Some(5.0)
    );
    assert_eq!(
        v("slurm_qos_limit_max_wall_per_job_seconds", &high),
        Some(7200.0)
    );
    // unset limits are absent, not 0 or -1
    assert_eq!(v("slurm_qos_limit_grp_wall_seconds", &high), None);
    assert_eq!(v("slurm_qos_limit_grp_jobs", &[("qos", "normal")]), None);
    assert_eq!(
        v(
            "slurm_qos_limit_grp_tres",
            &[("qos", "normal"), ("tres", "cpu")]
        ),
        None
    );
    // usage
    assert_eq!(v("slurm_qos_used_jobs", &high), Some(1.0));
    assert_eq!(v("slurm_qos_used_submit_jobs", &high), Some(2.0));
    assert_eq!(
        v(
            "slurm_qos_used_tres",
            &[("qos", "lab_high"), ("tres", "mem")]
        ),
        Some(500.0 * 1024.0 * 1024.0)
    );
    assert_eq!(v("slurm_qos_usage_raw", &high), Some(227.5));
    assert_eq!(
        v("slurm_qos_used_jobs", &[("qos", "not_in_slurmdbd_yet")]),
        None
    );
}

#[test]
fn no_usage_where_the_source_cannot_tell() {
    let f = collect(&data(QosUsages::default()), &ctx());
    assert_eq!(
        value(&f, "slurm_qos_limit_grp_jobs", &[("qos", "lab_high")]),
        Some(4.0)
    );
    for name in [
        "slurm_qos_used_jobs",
        "slurm_qos_used_tres",
        "slurm_qos_usage_raw",
    ] {
        let family = f.iter().find(|f| f.name == name);
        assert_eq!(family.map(|f| f.series()), Some(0), "{name}");
    }
}

#![allow(clippy::unwrap_used)]

use super::*;
use crate::model::text::testdata;
use crate::model::tres_count;

#[test]
fn qos_lab_22_05() {
    let file = testdata::fixture("scontrol-show-assoc-mgr-qos.txt");
    let u = parse_assoc_mgr_qos(file).unwrap();
    assert!(u.reported);
    let names: Vec<&str> = u.qos.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(names, ["normal", "lab_high"]);
    let high = &u.qos[1];
    assert_eq!(high.usage.jobs, Some(1));
    assert_eq!(high.usage.submitted_jobs, Some(2));
    assert_eq!(tres_count(&high.usage.tres, "cpu"), Some(1));
    assert_eq!(tres_count(&high.usage.tres, "mem"), Some(500));
    assert_eq!(high.usage_raw, Some(227.977644));
    let normal = &u.qos[0];
    assert_eq!(normal.usage.jobs, Some(5));
    assert_eq!(tres_count(&normal.usage.tres, "cpu"), Some(6));
}

#[test]
fn associations_lab_22_05() {
    let file = testdata::fixture("scontrol-show-assoc-mgr-assoc.txt");
    let a = parse_assoc_mgr_assocs(file).unwrap();
    assert_eq!(a.associations.len(), 8);
    let physics = a
        .associations
        .iter()
        .find(|a| a.account == "physics" && a.user.is_none())
        .unwrap();
    assert_eq!(physics.cluster.as_deref(), Some("lab"));
    assert_eq!(physics.parent.as_deref(), Some("root"));
    assert_eq!(physics.partition, None);
    assert_eq!(
        (physics.grp_jobs, physics.grp_submit_jobs),
        (Some(3), Some(6))
    );
    assert_eq!(physics.grp_wall_seconds, None);
    assert_eq!(
        physics.grp_tres,
        vec![Tres::new("cpu", 4), Tres::new("mem", 4000)]
    );
    assert_eq!((physics.max_jobs, physics.max_submit_jobs), (None, None));
    let usage = physics.usage.as_ref().unwrap();
    assert_eq!((usage.jobs, usage.submitted_jobs), (Some(1), Some(2)));
    assert_eq!(tres_count(&usage.tres, "cpu"), Some(1));
    assert_eq!(tres_count(&usage.tres, "mem"), Some(500));
    // a user association: user name without its uid
    let user = a
        .associations
        .iter()
        .find(|a| a.account == "physics" && a.user.is_some())
        .unwrap();
    assert_eq!(user.user.as_deref(), Some("labuser"));
    assert!(user.grp_tres.is_empty());
    // the root account counts every job below it
    let root = &a.associations[0];
    assert_eq!(
        (root.account.as_str(), root.user.as_deref()),
        ("root", None)
    );
    assert_eq!(root.parent, None);
    assert_eq!(
        tres_count(&root.usage.as_ref().unwrap().tres, "cpu"),
        Some(7)
    );
}

#[test]
fn limits_in_every_form() {
    let doc = "Current Association Manager state\nAssociation Records\n\
        ClusterName=c Account=a UserName= Partition=p1 ParentAccount=root(1) GrpJobs=N(0) \
        GrpSubmitJobs=10(3) GrpWall=90(12.50) GrpTRES=cpu=N(2),mem=4G(1024),gres/gpu=2(1) \
        MaxJobs=5 MaxSubmitJobs=7(1)\n\
        QOS=q(3) UsageRaw=inf GrpJobs=2(0) GrpSubmitJobs=N(0) GrpTRES= Account Limits= a={MaxJobsPA=N(0)} User Limits=No Users\n";
    let a = parse_assoc_mgr_assocs(doc.as_bytes()).unwrap();
    let a = &a.associations[0];
    assert_eq!(a.partition.as_deref(), Some("p1"));
    assert_eq!((a.grp_jobs, a.grp_submit_jobs), (None, Some(10)));
    assert_eq!(a.grp_wall_seconds, Some(5400));
    assert_eq!(
        a.grp_tres,
        vec![Tres::new("mem", 4096), Tres::new("gres/gpu", 2)]
    );
    assert_eq!((a.max_jobs, a.max_submit_jobs), (Some(5), Some(7)));
    let q = parse_assoc_mgr_qos(doc.as_bytes()).unwrap();
    assert_eq!(q.qos[0].name, "q");
    assert_eq!(q.qos[0].usage_raw, None);
    assert!(q.qos[0].usage.tres.is_empty());
    assert!(parse_assoc_mgr_qos(&b"slurm_load_assoc_mgr_info error\n"[..]).is_err());
    let empty = parse_assoc_mgr_assocs(&b"Current Association Manager state\n"[..]).unwrap();
    assert!(empty.associations.is_empty());
}

#[test]
fn a_long_tres_list_is_too_large() {
    use crate::model::caps::{TooLarge, MAX_LIST_ITEMS};
    let line = |n: usize| {
        format!(
            "Current Association Manager state\nClusterName=c Account=a UserName= GrpTRES={}\n",
            vec!["cpu=N(1)"; n].join(",")
        )
    };
    assert!(parse_assoc_mgr_assocs(line(MAX_LIST_ITEMS).as_bytes()).is_ok());
    match parse_assoc_mgr_assocs(line(MAX_LIST_ITEMS + 1).as_bytes()) {
        Err(ParseError::TooLarge(t)) => assert_eq!(t, TooLarge::LIST),
        other => panic!("{other:?}"),
    }
}

#![allow(clippy::unwrap_used)]

use super::*;
use crate::model::text::testdata;

fn row<'a>(s: &'a Shares, account: &str, user: Option<&str>) -> &'a ShareRow {
    s.rows
        .iter()
        .find(|r| r.account == account && r.user.as_deref() == user)
        .unwrap()
}

#[test]
fn lab_22_05() {
    let file = testdata::fixture("sshare.txt");
    let s = parse_sshare(file).unwrap();
    assert_eq!(s.rows.len(), 8);
    // the top row: no shares, effective usage 1
    let root = row(&s, "root", None);
    assert_eq!((root.shares, root.usage_raw), (None, Some(911.0)));
    assert_eq!(root.usage_effective, Some(1.0));
    assert_eq!(root.factor, None);
    // an account (indented in the Account column): LevelFS, no FairShare
    let physics = row(&s, "physics", None);
    assert_eq!(
        (physics.shares, physics.shares_normalized),
        (Some(2.0), Some(0.5))
    );
    assert_eq!(physics.usage_raw, Some(227.0));
    assert_eq!(physics.usage_normalized, Some(0.25));
    assert_eq!(physics.usage_effective, Some(0.25));
    assert_eq!((physics.factor, physics.level), (None, Some(2.0)));
    assert_eq!(physics.partition, None);
    // a user below it
    let user = row(&s, "physics", Some("labuser"));
    assert_eq!((user.factor, user.level), (Some(0.4), Some(1.0)));
    assert_eq!(user.usage_effective, Some(1.0));
    // no usage: LevelFS is inf
    assert_eq!(row(&s, "lab", None).level, Some(f64::INFINITY));
    // the root user in the root account is not the root account
    assert_eq!(row(&s, "root", Some("root")).shares, Some(1.0));
}

/// 22.05 `sshare -l` (no Partition column, two TRES columns more): found by name.
#[test]
fn long_format_by_header() {
    let file = testdata::fixture("sshare-long.txt");
    let s = parse_sshare(file).unwrap();
    let physics = row(&s, "physics", None);
    assert_eq!(physics.level, Some(2.0));
    assert_eq!(physics.partition, None);
}

/// Later releases, recorded without a header (`-n`): the header is the one asked.
/// 23.11.4 `sshare -U -n -P -o Account,User,RawShares,NormShares,RawUsage,EffectvUsage,
/// FairShare`; 24.11.7 and 26.05.2 `sshare -a -P -n -o Account,User,RawShares,NormShares,
/// RawUsage,NormUsage,FairShare`.
#[test]
#[ignore = "needs ../shared/slurm-samples"]
fn later_releases_by_header() {
    let read = |path: &str, header: &str| {
        let bytes = testdata::sample_bytes(path);
        let doc = format!("{header}\n{}", String::from_utf8_lossy(&bytes));
        parse_sshare(doc.as_bytes()).unwrap()
    };
    let s = read(
        "slurm-23.11.4/sshare__nbharathik_slurm-dashboard__fairshare.txt",
        "Account|User|RawShares|NormShares|RawUsage|EffectvUsage|FairShare",
    );
    let user = row(&s, "acct1", Some("user1"));
    assert_eq!(user.usage_raw, Some(6721.0));
    assert_eq!(user.usage_effective, Some(0.796355));
    assert_eq!(user.factor, Some(0.2));
    assert_eq!(user.usage_normalized, None, "column not asked");
    for (release, name) in [("24.11.7", "user5"), ("26.05.2", "user6")] {
        let s = read(
            &format!("slurm-{release}/sshare__SckyzO_slurm_exporter__fairshare.txt"),
            "Account|User|RawShares|NormShares|RawUsage|NormUsage|FairShare",
        );
        let account = row(&s, name, None);
        assert_eq!(account.shares, None, "{release}");
        assert_eq!(account.shares_normalized, Some(0.0), "{release}");
        let user = row(&s, name, Some(name));
        assert_eq!(
            (user.shares, user.factor),
            (Some(1.0), Some(1.0)),
            "{release}"
        );
        assert_eq!(user.usage_normalized, Some(0.0), "{release}");
    }
}

#[test]
fn bad_input_is_an_error() {
    assert!(parse_sshare(&b"no header here\n"[..]).is_err());
    assert!(parse_sshare(&b"Account|User\nphysics|u|extra\n"[..]).is_err());
    let s = parse_sshare(&b"Account|User|FairShare\n a||nan\n"[..]).unwrap();
    assert_eq!(s.rows[0].factor, None);
    assert!(parse_sshare(&b""[..]).unwrap().rows.is_empty());
}

#[test]
fn a_line_of_too_many_fields_is_too_large() {
    use crate::model::caps::{TooLarge, MAX_LIST_ITEMS};
    let text = format!("Account|User\n{}\n", "|".repeat(MAX_LIST_ITEMS));
    match parse_sshare(text.as_bytes()) {
        Err(ParseError::TooLarge(t)) => assert_eq!(t, TooLarge::LIST),
        other => panic!("{other:?}"),
    }
}

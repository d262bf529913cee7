//! The example web config files in deploy/web-config/ load with our parser and
//! pass `promtool check web-config` (the toolkit's own validation), next to
//! certificates made at test time. Both also refuse the same broken files. The
//! promtool halves are ignored by default (promtool is not part of a plain clone); run
//! with `--include-ignored`, a missing promtool is a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::tls::Pki;
use slurm_exporter::web::file::WebConfig;

fn examples() -> Vec<PathBuf> {
    let dir = common::repo().join("deploy/web-config");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    files.sort();
    files
}

/// A temp dir with the example copied in and `tls/` holding fresh certificates.
fn staged(example: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let tls = dir.path().join("tls");
    std::fs::create_dir(&tls).unwrap_or_else(|e| panic!("{e}"));
    Pki::new(&tls);
    let name = example.file_name().unwrap_or_default();
    let path = dir.path().join(name);
    std::fs::copy(example, &path).unwrap_or_else(|e| panic!("{e}"));
    (dir, path)
}

fn ours(path: &Path) -> Result<(), String> {
    let config = WebConfig::load(path).map_err(|e| e.to_string())?;
    if let Some(tls) = &config.tls {
        slurm_exporter::web::tls::build(tls)?;
    }
    Ok(())
}

/// Whether `promtool check web-config` accepts the file; panics without promtool.
fn promtool(path: &Path) -> bool {
    match Command::new("promtool")
        .arg("check")
        .arg("web-config")
        .arg(path)
        .output()
    {
        Ok(out) => out.status.success(),
        Err(e) => panic!(
            "this test needs promtool ({e}): apt-get install prometheus \
             (scripts/test.sh installs it)"
        ),
    }
}

#[test]
fn examples_pass_our_parser() {
    let files = examples();
    assert!(files.len() >= 3, "{files:?}");
    for example in files {
        let (_dir, path) = staged(&example);
        ours(&path).unwrap_or_else(|e| panic!("{}: {e}", example.display()));
    }
}

#[test]
#[ignore = "needs promtool (Debian package prometheus)"]
fn examples_pass_promtool() {
    for example in examples() {
        let (_dir, path) = staged(&example);
        assert!(
            promtool(&path),
            "promtool check web-config refused {}",
            example.display()
        );
    }
}

#[test]
fn example_password_is_the_documented_one() {
    let path = common::repo().join("deploy/web-config/tls-basic-auth.yml");
    let (_dir, path) = staged(&path);
    let config = WebConfig::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let hash = config.users.get("prometheus").cloned().unwrap_or_default();
    assert_eq!(bcrypt::verify("change-me", &hash).ok(), Some(true));
}

/// Files both must refuse: what is wrong, the file.
const BROKEN: [(&str, &str); 6] = [
    ("plaintext password", "basic_auth_users:\n  prometheus: change-me\n"),
    ("unknown key", "tls_server_config:\n  cert_file: tls/server.crt\n  key_file: tls/server.key\n  cert_fiel: x\n"),
    ("header not allowed", "http_server_config:\n  headers:\n    Server: slurm\n"),
    ("CA without policy", "tls_server_config:\n  cert_file: tls/server.crt\n  key_file: tls/server.key\n  client_ca_file: tls/ca.crt\n"),
    ("missing key", "tls_server_config:\n  cert_file: tls/server.crt\n"),
    ("missing file", "tls_server_config:\n  cert_file: tls/nope.crt\n  key_file: tls/server.key\n"),
];

/// Each broken file, staged next to fresh certificates.
fn broken() -> impl Iterator<Item = (&'static str, tempfile::TempDir, PathBuf)> {
    let good = common::repo().join("deploy/web-config/tls.yml");
    BROKEN.into_iter().map(move |(what, yaml)| {
        let (dir, path) = staged(&good);
        std::fs::write(&path, yaml).unwrap_or_else(|e| panic!("{e}"));
        (what, dir, path)
    })
}

#[test]
fn broken_files_are_refused_by_our_parser() {
    for (what, _dir, path) in broken() {
        assert!(ours(&path).is_err(), "{what}: accepted by our parser");
    }
}

#[test]
#[ignore = "needs promtool (Debian package prometheus)"]
fn broken_files_are_refused_by_promtool() {
    for (what, _dir, path) in broken() {
        assert!(!promtool(&path), "{what}: accepted by promtool");
    }
}

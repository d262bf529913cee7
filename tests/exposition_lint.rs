//! `promtool check metrics` (Prometheus' own linter) on the real binary's `/metrics`,
//! served from recorded 22.05 output. Ignored by default (promtool is not part of a
//! plain clone); run with `--include-ignored`, a missing promtool is a failure.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{value, FakeSlurm};

#[test]
#[ignore = "needs promtool (Debian package prometheus)"]
fn promtool_accepts_the_exposition() {
    assert!(
        Command::new("promtool").arg("--version").output().is_ok(),
        "this test needs promtool, which is not installed: apt-get install prometheus \
         (scripts/test.sh installs it)"
    );
    let fake = FakeSlurm::new();
    let exporter = fake.start_exporter(&["--collection.interval=1s"]);
    let metrics = exporter.wait_for("first collection", Duration::from_secs(10), |m| {
        value(
            m,
            "slurm_exporter_collector_up",
            &[("collector", "scheduler")],
        ) == Some(1.0)
    });
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(metrics.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && report.trim().is_empty(),
        "promtool check metrics:\n{report}"
    );
}

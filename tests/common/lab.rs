//! The local Slurm lab (`scripts/slurm-dev-cluster.sh up`) for integration tests:
//! whether it is up, and running its commands. A plain clone has no lab, so every test
//! that needs it is `#[ignore = "needs the local Slurm lab: …"]`; run with
//! `--include-ignored` (scripts/test.sh does), a missing lab is a failure.

use std::process::Command;

/// The lab's slurm.conf (`SLURM_CONF`, else `<repo>/.lab`); panics, saying how to
/// start it, when no cluster answers.
pub fn slurm_conf() -> String {
    let conf = std::env::var("SLURM_CONF").ok().or_else(|| {
        let p = super::repo().join(".lab/etc/slurm.conf");
        p.exists().then(|| p.display().to_string())
    });
    let up = conf.as_ref().is_some_and(|c| {
        Command::new("scontrol")
            .arg("ping")
            .env("SLURM_CONF", c)
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("is UP"))
    });
    match conf {
        Some(conf) if up => conf,
        _ => panic!(
            "this test needs the local Slurm lab and no cluster answers `scontrol ping` \
             (SLURM_CONF or <repo>/.lab/etc/slurm.conf): start it with \
             scripts/slurm-dev-cluster.sh up && scripts/slurm-dev-cluster.sh workload"
        ),
    }
}

/// Tests that stop or hang the lab's daemons run only when asked twice: they are
/// ignored (so `--include-ignored` is needed) and they want
/// `SLURM_EXPORTER_FAULT_TESTS=1` (scripts/test.sh sets it for the lab it brings up),
/// so a lab shared with others is not disturbed by a plain `--include-ignored`. Without
/// it they fail, saying so, rather than pass without running.
pub fn allow_faults(conf: &str) {
    assert!(
        std::env::var("SLURM_EXPORTER_FAULT_TESTS").as_deref() == Ok("1"),
        "this test stops and restarts daemons of the lab of {conf}: \
         set SLURM_EXPORTER_FAULT_TESTS=1 to allow it (scripts/test.sh does)"
    );
}

/// Runs a Slurm command on the lab; panics unless it succeeds.
pub fn run(conf: &str, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .env("SLURM_CONF", conf)
        .env("SLURM_TIME_FORMAT", "%s")
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

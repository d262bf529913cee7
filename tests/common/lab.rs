//! The local Slurm lab (`scripts/slurm-dev-cluster.sh up`) for integration tests:
//! whether it is up, and running its commands.

use std::process::Command;

/// The lab's slurm.conf when a cluster answers; `None` (test skipped) otherwise,
/// unless `SLURM_EXPORTER_REQUIRE_CLUSTER=1`, where a missing cluster fails.
pub fn slurm_conf() -> Option<String> {
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
    if up {
        return conf;
    }
    assert!(
        std::env::var("SLURM_EXPORTER_REQUIRE_CLUSTER").as_deref() != Ok("1"),
        "SLURM_EXPORTER_REQUIRE_CLUSTER=1 but no local Slurm cluster answers (scripts/slurm-dev-cluster.sh up)"
    );
    eprintln!(
        "skipped: no local Slurm cluster is up (scripts/slurm-dev-cluster.sh up && workload)"
    );
    None
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

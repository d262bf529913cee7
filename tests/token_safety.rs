//! The REST cluster's secrets against a fake slurmrestd (examples/fake_slurmrestd,
//! serving a small synthetic 22.05 cluster):
//! - a JWT file whose read hangs (a FIFO whose writer never writes, standing in for a
//!   hung NFS/FUSE secret mount) costs a bounded number of threads, fails the queries
//!   as `auth`, does not stop collection, and replacing it brings the collectors
//!   back; SIGTERM still exits at once;
//! - a JWT file readable by others is flagged (log once per change, metric), a
//!   world-writable one refused;
//! - with one CLI and one REST cluster, the CLI cluster's commands never see the
//!   `SLURM_JWT` the REST cluster authenticates with.

mod common;

#[path = "../examples/synth/gen.rs"]
mod gen;

#[path = "../examples/fake_slurmrestd/server.rs"]
mod server;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{value, Exporter, FakeSlurm};

/// A JWT the exporter accepts (header.payload.signature, `exp` in 2100).
const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDAsInN1biI6InJvb3QifQ.c2ln";

/// Writes a small synthetic cluster's REST answers into `dir` and serves them on
/// 127.0.0.1 from a thread of this test process; returns the port.
fn start_rest(dir: &Path) -> u16 {
    let version = gen::Version::V22_05;
    let cluster = gen::Cluster::generate(&gen::Scale::new(5, 20, 3).with_version(version));
    for file in gen::files(version) {
        let path = dir.join(file.name);
        let mut w = std::io::BufWriter::new(
            std::fs::File::create(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        );
        (file.write)(&cluster, &mut w)
            .and_then(|()| w.flush())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    server::spawn(dir)
}

fn start_exporter(port: u16, jwt: &Path, dir: &Path) -> Exporter {
    Exporter::start(
        &[
            "--slurm.source=rest",
            &format!("--slurm.rest-url=http://127.0.0.1:{port}"),
            &format!("--slurm.jwt-file={}", jwt.display()),
            "--collection.interval=1s",
            "--collection.timeout=800ms",
        ],
        &[],
        dir.join("exporter.log"),
    )
}

fn nodes_up(m: &str) -> Option<f64> {
    value(m, "slurm_exporter_collector_up", &[("collector", "nodes")])
}

fn threads(exporter: &Exporter) -> usize {
    std::fs::read_dir(format!("/proc/{}/task", exporter.child.id()))
        .map(|d| d.count())
        .unwrap_or_else(|e| panic!("/proc: {e}"))
}

fn write_jwt(path: &Path, mode: u32) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, JWT).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(&tmp, path).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_hung_jwt_file_costs_bounded_threads_recovers_and_sigterm_still_exits() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let port = start_rest(dir.path());
    let jwt = dir.path().join("jwt");
    nix::unistd::mkfifo(&jwt, nix::sys::stat::Mode::from_bits_truncate(0o600))
        .unwrap_or_else(|e| panic!("{e}"));
    // A writer that never writes: every read of the FIFO blocks in the kernel.
    let _writer = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&jwt)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut exporter = start_exporter(port, &jwt, dir.path());
    let auth_errors = |m: &str| {
        value(
            m,
            "slurm_exporter_collection_errors_total",
            &[("collector", "nodes"), ("reason", "auth")],
        )
        .unwrap_or(0.0)
    };
    let collections = |m: &str| {
        value(
            m,
            "slurm_exporter_collections_total",
            &[("collector", "nodes")],
        )
        .unwrap_or(0.0)
    };
    exporter.wait_for("a first collection", Duration::from_secs(10), |m| {
        collections(m) >= 1.0
    });
    let before = threads(&exporter);
    let m = exporter.wait_for("8 more collections", Duration::from_secs(20), |m| {
        collections(m) >= 9.0
    });
    let after = threads(&exporter);
    // Before the fix each query of each collection left a blocked thread behind
    // (about 4 a second here, up to tokio's 512 blocking threads).
    assert!(
        after <= before + 2,
        "threads grew from {before} to {after} over 8 collections"
    );
    assert_eq!(nodes_up(&m), Some(0.0));
    assert!(
        auth_errors(&m) >= 1.0,
        "the hung read is an auth failure: {m}"
    );
    let logs = exporter.logs();
    assert!(
        logs.contains("did not finish within") || logs.contains("has not returned"),
        "{logs}"
    );
    // Collection is not wedged (it finishes, failing): /health stays 200.
    assert_eq!(exporter.get("/health").0, 200);

    // The file is fixed; the thread stuck on the FIFO stays stuck (its writer lives on).
    write_jwt(&jwt, 0o600);
    exporter.wait_for("nodes up again", Duration::from_secs(10), |m| {
        nodes_up(m) == Some(1.0)
    });
    assert_eq!(exporter.get("/ready").0, 200, "{}", exporter.logs());

    let pid = nix::unistd::Pid::from_raw(exporter.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)
        .unwrap_or_else(|e| panic!("{e}"));
    let sent = Instant::now();
    loop {
        if let Ok(Some(status)) = exporter.child.try_wait() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(5),
            "still running 5 s after SIGTERM with a read stuck; logs:\n{}",
            exporter.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_insecure_jwt_file_is_flagged_once_and_a_world_writable_one_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let port = start_rest(dir.path());
    let jwt = dir.path().join("jwt");
    write_jwt(&jwt, 0o644);
    let exporter = start_exporter(port, &jwt, dir.path());
    let insecure = |m: &str| value(m, "slurm_exporter_secret_file_insecure", &[("file", "jwt")]);
    let collections = |m: &str| {
        value(
            m,
            "slurm_exporter_collections_total",
            &[("collector", "nodes")],
        )
        .unwrap_or(0.0)
    };
    exporter.wait_for(
        "flagged, used, 3 collections",
        Duration::from_secs(15),
        |m| insecure(m) == Some(1.0) && nodes_up(m) == Some(1.0) && collections(m) >= 3.0,
    );
    let warning = "the JWT file is readable or writable by others";
    assert_eq!(
        exporter.logs().matches(warning).count(),
        1,
        "warned once, not per read:\n{}",
        exporter.logs()
    );

    std::fs::set_permissions(&jwt, std::fs::Permissions::from_mode(0o600))
        .unwrap_or_else(|e| panic!("{e}"));
    exporter.wait_for("not flagged", Duration::from_secs(10), |m| {
        insecure(m) == Some(0.0) && nodes_up(m) == Some(1.0)
    });

    std::fs::set_permissions(&jwt, std::fs::Permissions::from_mode(0o666))
        .unwrap_or_else(|e| panic!("{e}"));
    exporter.wait_for("refused", Duration::from_secs(10), |m| {
        insecure(m) == Some(1.0)
            && nodes_up(m) == Some(0.0)
            && value(
                m,
                "slurm_exporter_collection_errors_total",
                &[("collector", "nodes"), ("reason", "auth")],
            )
            .unwrap_or(0.0)
                >= 1.0
    });
    let logs = exporter.logs();
    assert!(logs.contains("writable by every user"), "{logs}");
    assert_eq!(logs.matches(warning).count(), 2, "{logs}");
}

#[test]
fn cli_commands_never_see_the_rest_clusters_jwt() {
    let fake = FakeSlurm::new();
    let dir = fake.dir.path();
    let rest_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let port = start_rest(rest_dir.path());
    let config = dir.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "clusters:\n  - cluster_name: cli\n    bin_dir: {}\n  - cluster_name: rest\n    source: rest\n    rest_url: http://127.0.0.1:{port}\n",
            dir.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut envs = fake.envs();
    envs.push(("SLURM_JWT", JWT.to_string()));
    // Another Slurm setting given to the process: not the CLI cluster's either.
    envs.push(("SLURM_CLUSTERS", "elsewhere".to_string()));
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let exporter = Exporter::start(
        &[
            &format!("--config.file={}", config.display()),
            "--collection.interval=1s",
            "--collection.timeout=900ms",
        ],
        &envs,
        dir.join("exporter.log"),
    );
    let up = |m: &str, cluster: &str| {
        value(
            m,
            "slurm_exporter_collector_up",
            &[("cluster", cluster), ("collector", "nodes")],
        )
    };
    exporter.wait_for("both clusters up", Duration::from_secs(15), |m| {
        up(m, "cli") == Some(1.0) && up(m, "rest") == Some(1.0)
    });
    let seen = std::fs::read_to_string(dir.join("env")).unwrap_or_default();
    assert!(seen.lines().count() >= 3, "no command recorded: {seen}");
    for line in seen.lines() {
        assert!(
            !line.contains("SLURM_JWT") && !line.contains("SLURM_CLUSTERS"),
            "a CLI command saw the process's Slurm secrets/settings: {line}"
        );
        assert!(line.contains("SLURM_TIME_FORMAT"), "{line}");
    }
}

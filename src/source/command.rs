//! Runs one Slurm command with a hard timeout and parses its stdout as a stream.
//!
//! The command runs in its own process group; on timeout the whole group is
//! killed, so a hung `squeue` cannot leave children behind. stdout is handed to the
//! parser on a blocking thread as it arrives (never buffered whole); stderr and the
//! exit status end up in the error. A command sees none of the process's `SLURM*`
//! variables but `SLURM_CONF` (its cluster's own when it has one).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::process::Command;
use tokio_util::io::SyncIoBridge;

use super::SourceError;
use crate::model::caps::{CappedRead, TooLarge};
use crate::model::ParseError;

const STDERR_LIMIT: usize = 4096;

/// What Slurm's client library prints when it cannot talk to slurmctld (22.05:
/// `slurm_load_jobs error: Unable to contact slurm controller (connect failure)`
/// after ~9 s of retries when it is dead, `Socket timed out on send/recv operation`
/// after `MessageTimeout` when it hangs).
const CONNECTION_ERRORS: [&str; 4] = [
    "Unable to contact slurm controller",
    "Socket timed out on send/recv operation",
    "Zero Bytes were transmitted or received",
    "Connection refused",
];

/// A failed command: `connection` when Slurm says it could not reach the
/// controller, else `command`.
fn command_error(message: String) -> SourceError {
    if CONNECTION_ERRORS.iter().any(|e| message.contains(e)) {
        SourceError::Connection(message)
    } else {
        SourceError::Command(message)
    }
}

/// One command invocation.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub timeout: Duration,
    /// Accept a non-zero exit when the output parsed (`scontrol ping` exits 1
    /// when a controller is down but still says which).
    pub accept_failure_exit: bool,
    /// `SLURM_CONF` for the command; `None`: inherited.
    pub slurm_conf: Option<PathBuf>,
    /// Most bytes of stdout read (a cap of `model::caps`); past it the query fails
    /// with `too_large` and the command's group is killed.
    pub max_output: u64,
}

impl CommandSpec {
    fn display(&self) -> String {
        let mut s = self.program.display().to_string();
        for a in &self.args {
            s.push(' ');
            s.push_str(a);
        }
        s
    }
}

/// Kills the command's process group when the run is abandoned before the command
/// was reaped: the caller's own timeout (the engine's) dropped the future first.
/// Until it is reaped the leader's PID cannot be reused, so the group is ours.
struct GroupKiller(Option<i32>);

impl Drop for GroupKiller {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// Keeps the process's Slurm settings from the commands: `SLURM_JWT` (the REST
/// clusters' token) and every other inherited `SLURM*` variable (`SLURM_CLUSTERS`,
/// `SLURMRESTD_*`, ...) would reach every cluster's commands alike. Only
/// `SLURM_CONF` is inherited, and only by a cluster that sets none of its own.
fn remove_inherited_slurm_env(cmd: &mut Command) {
    for (name, _) in std::env::vars_os() {
        let text = name.to_string_lossy();
        if text.starts_with("SLURM") && text != "SLURM_CONF" {
            cmd.env_remove(&name);
        }
    }
}

/// Runs `spec` and parses stdout with `parse`.
pub async fn run<T, F>(spec: &CommandSpec, parse: F) -> Result<T, SourceError>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn BufRead) -> Result<T, ParseError> + Send + 'static,
{
    let mut cmd = Command::new(&spec.program);
    remove_inherited_slurm_env(&mut cmd);
    cmd.args(&spec.args)
        .env("SLURM_TIME_FORMAT", "%s")
        .env("LC_ALL", "C")
        // Times we pass (`sacct -S/-E`) are written in UTC; output times are epochs.
        .env("TZ", "UTC");
    if let Some(conf) = &spec.slurm_conf {
        cmd.env("SLURM_CONF", conf);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| SourceError::Command(format!("cannot run {}: {e}", spec.program.display())))?;
    let pid = child.id();
    let mut group = GroupKiller(pid.and_then(|p| i32::try_from(p).ok()));
    let (Some(stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(SourceError::Command("child pipes missing".into()));
    };

    let max_output = spec.max_output;
    let parser = tokio::task::spawn_blocking(move || {
        let stdout = CappedRead::new(SyncIoBridge::new(stdout), max_output);
        let mut reader = BufReader::with_capacity(64 * 1024, stdout);
        let result = parse(&mut reader);
        if matches!(result, Err(ParseError::TooLarge(_))) {
            return result;
        }
        // Drain what the parser left so the child never blocks on a full pipe
        // (up to the cap: more is the same failure as a parser hitting it).
        match std::io::copy(&mut reader, &mut std::io::sink()) {
            Err(e) if TooLarge::from_io(&e).is_some() => Err(ParseError::from(e)),
            _ => result,
        }
    });
    // A cap hit ends the command at once: its group is killed rather than left
    // writing into a pipe nobody reads until the timeout.
    let group_id = pid.and_then(|p| i32::try_from(p).ok());
    let parser = async move {
        let parsed = parser.await;
        if let (Ok(Err(ParseError::TooLarge(_))), Some(id)) = (&parsed, group_id) {
            let _ = killpg(Pid::from_raw(id), Signal::SIGKILL);
        }
        parsed
    };
    let stderr_reader = async move {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            match stderr.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if buf.len() < STDERR_LIMIT {
                        buf.extend_from_slice(&chunk[..n.min(STDERR_LIMIT - buf.len())]);
                    }
                }
            }
        }
        String::from_utf8_lossy(&buf).trim().to_string()
    };
    let work = async {
        let (parsed, stderr_text, status) = tokio::join!(parser, stderr_reader, child.wait());
        (parsed, stderr_text, status)
    };
    match tokio::time::timeout(spec.timeout, work).await {
        Ok((parsed, stderr_text, status)) => {
            group.0 = None; // reaped
            let status =
                status.map_err(|e| SourceError::Command(format!("{}: {e}", spec.display())))?;
            let parsed =
                parsed.map_err(|e| SourceError::Command(format!("parser task failed: {e}")))?;
            match (status.success(), parsed) {
                // Killed for it: the cap, not the signal, is the reason.
                (_, Err(e @ ParseError::TooLarge(_))) => Err(SourceError::Parse(e)),
                (true, Ok(v)) => Ok(v),
                (false, Ok(v)) if spec.accept_failure_exit => Ok(v),
                // Slurm's JSON saying the query failed (`errors[]`, exit code 0).
                (true, Err(ParseError::SlurmErrors(m))) => {
                    Err(command_error(format!("{} reported: {m}", spec.display())))
                }
                (true, Err(e)) => Err(SourceError::Parse(e)),
                (false, _) => Err(command_error(format!(
                    "{} exited with {}{}",
                    spec.display(),
                    status
                        .code()
                        .map_or_else(|| "a signal".to_string(), |c| format!("code {c}")),
                    if stderr_text.is_empty() {
                        String::new()
                    } else {
                        format!(": {stderr_text}")
                    }
                ))),
            }
        }
        Err(_) => {
            if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            }
            let _ = child.wait().await;
            group.0 = None;
            Err(SourceError::Timeout(spec.timeout))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout_ms: u64) -> CommandSpec {
        CommandSpec {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            timeout: Duration::from_millis(timeout_ms),
            accept_failure_exit: false,
            slurm_conf: None,
            max_output: crate::model::caps::MAX_TEXT_OUTPUT_BYTES,
        }
    }

    fn read_all(r: &mut dyn BufRead) -> Result<String, ParseError> {
        let mut s = String::new();
        r.read_to_string(&mut s)?;
        Ok(s)
    }

    #[tokio::test]
    async fn output_and_time_format() {
        let out = run(&sh("echo $SLURM_TIME_FORMAT", 5000), read_all).await;
        assert_eq!(out.ok().as_deref(), Some("%s\n"));
    }

    #[tokio::test]
    async fn exit_code_and_stderr_in_error() {
        let err = run(&sh("echo boom >&2; exit 3", 5000), read_all)
            .await
            .err();
        let text = err.map(|e| (e.reason(), e.to_string()));
        let (reason, text) = text.unwrap_or_default();
        assert_eq!(reason, "command");
        assert!(text.contains("code 3") && text.contains("boom"), "{text}");
    }

    #[tokio::test]
    async fn an_abandoned_run_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let marker = dir.path().join("child-alive");
        let script = format!("(sleep 2; touch {}) & sleep 30", marker.display());
        // The caller gives up (as the engine's timeout does) long before the command's own.
        let spec = sh(&script, 30_000);
        let abandoned =
            tokio::time::timeout(Duration::from_millis(300), run(&spec, read_all)).await;
        assert!(abandoned.is_err());
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert!(!marker.exists(), "grandchild survived the abandoned run");
    }

    #[tokio::test]
    async fn unreachable_controller_is_a_connection_error() {
        let script = "echo 'slurm_load_jobs error: Unable to contact slurm controller (connect failure)' >&2; exit 1";
        let err = run(&sh(script, 5000), read_all).await.err();
        assert_eq!(err.map(|e| e.reason()), Some("connection"));
        let script =
            "echo 'slurm_load_jobs error: Socket timed out on send/recv operation' >&2; exit 1";
        let err = run(&sh(script, 5000), read_all).await.err();
        assert_eq!(err.map(|e| e.reason()), Some("connection"));
    }

    fn lines(r: &mut dyn BufRead) -> Result<usize, ParseError> {
        let mut n = 0;
        for line in r.lines() {
            line?;
            n += 1;
        }
        Ok(n)
    }

    #[tokio::test]
    async fn output_over_the_cap_fails_and_kills_the_group() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let marker = dir.path().join("child-alive");
        // Endless output, and a grandchild that would touch the marker if it survived.
        let script = format!("(sleep 2; touch {}) & yes", marker.display());
        let spec = CommandSpec {
            max_output: 1 << 20,
            ..sh(&script, 30_000)
        };
        let started = std::time::Instant::now();
        let err = run(&spec, lines).await.err();
        assert_eq!(
            err.as_ref().map(|e| e.reason()),
            Some("too_large"),
            "{err:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert!(!marker.exists(), "grandchild survived the cap");
        // Exactly at the cap is fine.
        let spec = CommandSpec {
            max_output: 6,
            ..sh("printf 'a\\nb\\nc\\n'", 5000)
        };
        assert_eq!(run(&spec, lines).await.ok(), Some(3));
    }

    #[tokio::test]
    async fn missing_program() {
        let spec = CommandSpec {
            program: "/nonexistent/squeue".into(),
            ..sh("", 1000)
        };
        let err = run(&spec, read_all).await.err();
        assert_eq!(err.map(|e| e.reason()), Some("command"));
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let marker = dir.path().join("child-alive");
        // The grandchild would touch the marker after 2 s if it survived the kill.
        let script = format!("(sleep 2; touch {}) & sleep 30", marker.display());
        let started = std::time::Instant::now();
        let err = run(&sh(&script, 300), read_all).await.err();
        assert_eq!(err.map(|e| e.reason()), Some("timeout"));
        assert!(started.elapsed() < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert!(!marker.exists(), "grandchild survived the timeout");
    }
}

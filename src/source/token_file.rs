//! Reads the JWT file (`slurm.jwt_file`) without ever letting a hung read stall
//! collection: a secret mount that hangs (NFS server gone, FUSE daemon stuck) blocks
//! `open`/`read` in the kernel, and no thread blocked there can be cancelled.
//!
//! - Each read runs on its own detached std thread (not tokio's blocking pool, whose
//!   threads a hung read would use up, and which the runtime waits for at exit).
//! - A caller waits at most `timeout` for it; past that the query fails with reason
//!   `auth` and a message naming the file.
//! - Reads never pile up: callers join the read in flight; a new read starts only when
//!   none is in flight or the newest has been stuck past `timeout`, and never while
//!   `MAX_OUTSTANDING` reads have not returned.
//! - A read that hangs *after* opening (a FIFO with a silent writer) is recorded by the
//!   file's identity (device, inode): a later read that opens the same file returns at
//!   once instead of blocking beside it, while a file put in its place is read normally.
//!   So replacing the file brings collection back at the next read, stuck thread or not.
//! - The file is opened with `O_NONBLOCK` (a FIFO without writer reads as empty instead
//!   of blocking in `open`), read up to `MAX_TOKEN_BYTES`, refused when every user may
//!   write it, and its mode is checked: readable or writable by others, or writable by
//!   the group, is logged once per change of mode and exported (`insecure`).

use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::SourceError;

/// Read threads of one file that may be outstanding (not returned) at once.
pub const MAX_OUTSTANDING: usize = 4;

/// A JWT is a few hundred bytes; Slurm's own limit on a token is far below this.
pub const MAX_TOKEN_BYTES: u64 = 64 * 1024;

/// The longest a token read may take, whatever the collection timeout.
pub const MAX_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The bound on one token read for a collection timeout: half of it (so the read
/// fails as `auth` before the query's own timeout), at most `MAX_READ_TIMEOUT`.
pub fn read_timeout(collection_timeout: Duration) -> Duration {
    (collection_timeout / 2).min(MAX_READ_TIMEOUT)
}

/// What one read gives: the token, or why not (already worded for the operator).
type Outcome = Result<String, String>;

/// How a read thread reads the file; a seam for tests.
type ReadFn = dyn Fn(&Path, &Mutex<State>) -> Outcome + Send + Sync;

/// A file's identity: (device, inode).
type FileId = (u64, u64);

#[derive(Default)]
pub struct State {
    /// The newest read: when it started and where its outcome arrives.
    newest: Option<(Instant, watch::Receiver<Option<Outcome>>)>,
    /// Read threads that have not returned.
    outstanding: usize,
    /// Files a thread is blocked reading right now (opened, read not returned).
    reading: Vec<FileId>,
    /// The mode last seen, to log a change once.
    mode: Option<u32>,
}

/// The JWT file of one REST cluster.
pub struct TokenFile {
    path: PathBuf,
    timeout: Duration,
    state: Arc<Mutex<State>>,
    read_fn: Arc<ReadFn>,
}

impl TokenFile {
    pub fn new(path: PathBuf, timeout: Duration) -> TokenFile {
        TokenFile::with_reader(path, timeout, Arc::new(read_file))
    }

    fn with_reader(path: PathBuf, timeout: Duration, read_fn: Arc<ReadFn>) -> TokenFile {
        TokenFile {
            path,
            timeout,
            state: Arc::new(Mutex::new(State::default())),
            read_fn,
        }
    }

    /// Whether the file was last seen open to others or writable by the group
    /// (`None` before the first read that got as far as its mode).
    pub fn insecure(&self) -> Option<bool> {
        let state = self.state.lock().ok()?;
        state.mode.map(mode_is_insecure)
    }

    /// The token, read now (a rotated file is used at once).
    pub async fn read(&self) -> Result<String, SourceError> {
        let (started, mut rx) = self.join_or_start()?;
        let deadline = started + self.timeout;
        let waited = tokio::time::timeout_at(deadline, rx.wait_for(Option::is_some))
            .await
            .map(|r| r.map(|outcome| outcome.clone()));
        match waited {
            Ok(Ok(Some(Ok(token)))) => Ok(token),
            Ok(Ok(Some(Err(message)))) => Err(SourceError::Auth(message)),
            Ok(Ok(None)) => Err(self.auth("the read ended without a result")),
            Ok(Err(_)) => Err(self.auth("the read thread ended without a result")),
            Err(_) => Err(self.auth(&format!(
                "reading it did not finish within {:?} (a hung mount?); the read is left running, \
                 collection goes on and the file is read again at the next collection",
                self.timeout
            ))),
        }
    }

    fn auth(&self, what: &str) -> SourceError {
        SourceError::Auth(format!("JWT file {}: {what}", self.path.display()))
    }

    /// The read in flight, or a new one; refused while too many are stuck.
    fn join_or_start(&self) -> Result<(Instant, watch::Receiver<Option<Outcome>>), SourceError> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| self.auth("token reader state poisoned"))?;
        let now = Instant::now();
        if let Some((started, rx)) = &state.newest {
            let in_flight = rx.borrow().is_none();
            if in_flight && now.saturating_duration_since(*started) < self.timeout {
                return Ok((*started, rx.clone()));
            }
        }
        if state.outstanding >= MAX_OUTSTANDING {
            return Err(self.auth(&format!(
                "{} reads of it have not returned (a hung mount?); no new read starts until one does",
                state.outstanding
            )));
        }
        let (tx, rx) = watch::channel(None);
        let (path, shared, read_fn) = (self.path.clone(), self.state.clone(), self.read_fn.clone());
        let spawned = std::thread::Builder::new()
            .name("jwt-file-read".into())
            .spawn(move || {
                let outcome = read_fn(&path, &shared);
                if let Ok(mut s) = shared.lock() {
                    s.outstanding = s.outstanding.saturating_sub(1);
                }
                let _ = tx.send(Some(outcome));
            });
        if let Err(e) = spawned {
            return Err(self.auth(&format!("cannot start a thread to read it: {e}")));
        }
        state.outstanding += 1;
        state.newest = Some((now, rx.clone()));
        Ok((now, rx))
    }
}

/// Others may read or write, or the group may write. Group read stays allowed:
/// it is how a non-root exporter reads a root-owned secret (Kubernetes `fsGroup`
/// with `defaultMode: 0440`).
pub fn mode_is_insecure(mode: u32) -> bool {
    mode & 0o027 != 0
}

/// Every user may write: anyone could make us send their token (or garbage).
pub fn mode_is_world_writable(mode: u32) -> bool {
    mode & 0o002 != 0
}

/// Opens, checks and reads the file; runs on a read thread.
fn read_file(path: &Path, state: &Mutex<State>) -> Outcome {
    let shown = path.display();
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| format!("cannot read JWT file {shown}: {e}"))?;
    // Back to blocking reads: O_NONBLOCK was for `open` (a FIFO without writer).
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    use std::os::fd::AsRawFd;
    fcntl(file.as_raw_fd(), FcntlArg::F_SETFL(OFlag::empty()))
        .map_err(|e| format!("cannot read JWT file {shown}: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read JWT file {shown}: {e}"))?;
    let mode = meta.mode() & 0o7777;
    note_mode(path, state, mode);
    if mode_is_world_writable(mode) {
        return Err(format!(
            "JWT file {shown} is writable by every user (mode {mode:04o}); refusing to use it: \
             chmod 600 it (owned by the exporter's user)"
        ));
    }
    let id = (meta.dev(), meta.ino());
    {
        let Ok(mut s) = state.lock() else {
            return Err(format!("JWT file {shown}: token reader state poisoned"));
        };
        if s.reading.contains(&id) {
            return Err(format!(
                "cannot read JWT file {shown}: an earlier read of this same file has not returned \
                 (a hung mount, or a FIFO whose writer never writes); replace the file"
            ));
        }
        s.reading.push(id);
    }
    let mut bytes = Vec::new();
    let read = file
        .by_ref()
        .take(MAX_TOKEN_BYTES + 1)
        .read_to_end(&mut bytes);
    if let Ok(mut s) = state.lock() {
        if let Some(i) = s.reading.iter().position(|r| *r == id) {
            s.reading.swap_remove(i);
        }
    }
    read.map_err(|e| format!("cannot read JWT file {shown}: {e}"))?;
    if bytes.len() as u64 > MAX_TOKEN_BYTES {
        return Err(format!(
            "JWT file {shown} is larger than {MAX_TOKEN_BYTES} bytes; a JWT is a few hundred"
        ));
    }
    let text =
        String::from_utf8(bytes).map_err(|_| format!("JWT file {shown} is not UTF-8 text"))?;
    let token = text.trim().trim_start_matches("SLURM_JWT=").trim();
    if token.is_empty() {
        return Err(format!("JWT file {shown} is empty"));
    }
    Ok(token.to_string())
}

/// Logs the file's mode when it changes: a warning when it is insecure.
fn note_mode(path: &Path, state: &Mutex<State>, mode: u32) {
    let Ok(mut s) = state.lock() else { return };
    let before = s.mode.replace(mode);
    if before == Some(mode) {
        return;
    }
    let file = path.display().to_string();
    let shown = format!("{mode:04o}");
    if mode_is_insecure(mode) {
        tracing::warn!(
            file = file.as_str(),
            mode = shown.as_str(),
            "the JWT file is readable or writable by others, or writable by its group \
             (docs/security.md: mode 0600, or 0440/0640 for a group); \
             slurm_exporter_secret_file_insecure is 1"
        );
    } else if before.is_some_and(mode_is_insecure) {
        tracing::info!(
            file = file.as_str(),
            mode = shown.as_str(),
            "the JWT file's mode is safe again"
        );
    }
}

#[cfg(test)]
#[path = "token_file_tests.rs"]
mod tests;

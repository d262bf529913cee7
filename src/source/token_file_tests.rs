use super::*;
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicUsize, Ordering};

const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDAsInN1biI6InJvb3QifQ.c2ln";

/// A reader that blocks until `open` is set, counting its calls.
struct Gate {
    calls: AtomicUsize,
    open: Mutex<bool>,
    cond: std::sync::Condvar,
}

impl Gate {
    fn new() -> Arc<Gate> {
        Arc::new(Gate {
            calls: AtomicUsize::new(0),
            open: Mutex::new(false),
            cond: std::sync::Condvar::new(),
        })
    }

    fn reader(gate: &Arc<Gate>) -> Arc<ReadFn> {
        let gate = gate.clone();
        Arc::new(move |_: &Path, _: &Mutex<State>| {
            gate.calls.fetch_add(1, Ordering::SeqCst);
            let mut open = gate.open.lock().unwrap_or_else(|e| e.into_inner());
            while !*open {
                open = gate.cond.wait(open).unwrap_or_else(|e| e.into_inner());
            }
            Ok(TOKEN.to_string())
        })
    }

    fn release(&self) {
        *self.open.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cond.notify_all();
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

fn text(r: Result<String, SourceError>) -> (&'static str, String) {
    match r {
        Ok(t) => ("ok", t),
        Err(e) => (e.reason(), e.to_string()),
    }
}

#[tokio::test]
async fn a_hung_read_fails_as_auth_and_reads_never_pile_up() {
    let gate = Gate::new();
    let file = TokenFile::with_reader(
        "/secret/jwt".into(),
        Duration::from_millis(100),
        Gate::reader(&gate),
    );
    // Concurrent callers (the queries of one collection) share one read.
    let results = futures_util::future::join_all((0..10).map(|_| file.read())).await;
    for r in results {
        let (reason, message) = text(r);
        assert_eq!(reason, "auth", "{message}");
        assert!(
            message.contains("/secret/jwt") && message.contains("did not finish within"),
            "{message}"
        );
    }
    assert_eq!(gate.calls(), 1);
    // Later collections start a new read while the earlier ones hang, up to the cap.
    let mut last = String::new();
    for _ in 0..3 * MAX_OUTSTANDING {
        last = text(file.read().await).1;
    }
    // Let the threads that started reach the gate.
    while gate.calls() < MAX_OUTSTANDING {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(gate.calls(), MAX_OUTSTANDING, "reads piled up");
    assert!(last.contains("have not returned"), "{last}");
    // The mount recovers: the stuck reads return and the next read succeeds.
    gate.release();
    while file.state.lock().map(|s| s.outstanding).unwrap_or(0) > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(text(file.read().await), ("ok", TOKEN.to_string()));
}

fn write_mode(path: &Path, content: &str, mode: u32) {
    let _ = std::fs::remove_file(path);
    std::fs::write(path, content).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn a_fifo_hangs_one_thread_at_most_and_replacing_it_recovers() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("jwt");
    nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600))
        .unwrap_or_else(|e| panic!("{e}"));
    let file = TokenFile::new(path.clone(), Duration::from_millis(100));
    // Without a writer the FIFO reads as empty: no hang in open.
    let (reason, message) = text(file.read().await);
    assert_eq!(reason, "auth");
    assert!(message.contains("is empty"), "{message}");
    // A writer that never writes: the read blocks in the kernel.
    let _writer = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("{e}"));
    let (reason, message) = text(file.read().await);
    assert_eq!(reason, "auth");
    assert!(message.contains("did not finish within"), "{message}");
    // Later reads of the same FIFO return at once instead of blocking beside it.
    for _ in 0..5 {
        let (reason, message) = text(file.read().await);
        assert_eq!(reason, "auth");
        assert!(message.contains("has not returned"), "{message}");
    }
    while file.state.lock().map(|s| s.outstanding).unwrap_or(0) > 1 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The FIFO is replaced by a good file: read at once, the stuck thread aside.
    let good = dir.path().join("jwt.new");
    write_mode(&good, &format!("SLURM_JWT={TOKEN}\n"), 0o600);
    std::fs::rename(&good, &path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(text(file.read().await), ("ok", TOKEN.to_string()));
    assert_eq!(file.state.lock().map(|s| s.outstanding).unwrap_or(0), 1);
    assert_eq!(file.insecure(), Some(false));
}

#[tokio::test]
async fn modes_sizes_and_contents() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("jwt");
    let file = TokenFile::new(path.clone(), Duration::from_secs(5));
    assert_eq!(file.insecure(), None);
    let (reason, message) = text(file.read().await);
    assert_eq!(reason, "auth");
    assert!(message.contains("No such file"), "{message}");

    write_mode(&path, TOKEN, 0o600);
    assert_eq!(text(file.read().await), ("ok", TOKEN.to_string()));
    assert_eq!(file.insecure(), Some(false));

    // Readable by others: used, flagged.
    write_mode(&path, TOKEN, 0o644);
    assert_eq!(text(file.read().await), ("ok", TOKEN.to_string()));
    assert_eq!(file.insecure(), Some(true));

    // Writable by every user: refused.
    write_mode(&path, TOKEN, 0o666);
    let (reason, message) = text(file.read().await);
    assert_eq!(reason, "auth");
    assert!(
        message.contains("writable by every user") && message.contains("0666"),
        "{message}"
    );
    assert_eq!(file.insecure(), Some(true));

    write_mode(&path, " \n", 0o600);
    assert!(text(file.read().await).1.contains("is empty"));
    write_mode(&path, &"x".repeat(MAX_TOKEN_BYTES as usize + 1), 0o600);
    assert!(text(file.read().await).1.contains("larger than"));
}

#[test]
fn mode_checks() {
    assert!(!mode_is_insecure(0o600));
    assert!(!mode_is_insecure(0o400));
    assert!(!mode_is_insecure(0o440));
    assert!(!mode_is_insecure(0o640));
    assert!(mode_is_insecure(0o660));
    assert!(mode_is_insecure(0o644));
    assert!(mode_is_insecure(0o604));
    assert!(!mode_is_world_writable(0o644));
    assert!(mode_is_world_writable(0o602));
    assert_eq!(read_timeout(Duration::from_secs(30)), MAX_READ_TIMEOUT);
    assert_eq!(read_timeout(Duration::from_secs(2)), Duration::from_secs(1));
}

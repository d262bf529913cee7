//! Parsers for the text output of Slurm commands (the cheapest form for jobs and nodes).
//!
//! Every parser reads its input line by line from a `BufRead` and never holds the
//! whole output: only the resulting model is kept. Bytes that are not UTF-8 (a
//! node reason typed in Latin-1, say) are replaced, not rejected.
//!
//! Times: the sources pin `SLURM_TIME_FORMAT=%s`, so every time Slurm prints is
//! seconds since the epoch. A time in any other form (`2026-12-02T19:00:00`, which
//! Slurm prints in the local time zone of the command) is reported as `None`
//! rather than guessed.
//!
//! - `squeue -h -t all -r -O` [`SQUEUE_FORMAT`] → [`parse_squeue`]
//! - `scontrol -o show node|partition` → [`parse_scontrol_nodes`], [`parse_scontrol_partitions`]
//! - `sdiag` (22.05 to 26.05 layouts) → [`parse_sdiag`]
//! - `scontrol ping`, `scontrol show config` → [`parse_scontrol_ping`], [`parse_scontrol_config`]
//! - `scontrol -o show license|reservation` → [`parse_scontrol_licenses`], [`parse_scontrol_reservations`]
//! - `sshare -a -P -o` [`SSHARE_FORMAT`] → [`parse_sshare`]; `sacctmgr -n -P show qos
//!   format=`[`QOS_FORMAT`] → [`parse_sacctmgr_qos`]; `scontrol -o show assoc_mgr
//!   flags=qos|assoc` → [`parse_assoc_mgr_qos`], [`parse_assoc_mgr_assocs`]
//! - `sacct -a -X -P -n -o` [`SACCT_FORMAT`] → [`parse_sacct`]

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::BufRead;
use std::sync::Arc;

use super::caps::{TooLarge, MAX_INTERNED_BYTES, MAX_LINE_BYTES, MAX_RECORDS};
use super::ParseError;

mod assoc_mgr;
mod controller;
mod license;
mod reservation;
mod sacct;
mod sacctmgr;
mod scontrol;
mod sdiag;
mod squeue;
mod sshare;

pub use assoc_mgr::{parse_assoc_mgr_assocs, parse_assoc_mgr_qos};
pub use sacctmgr::{parse_sacctmgr_qos, QOS_FORMAT};
pub use sshare::{parse_sshare, SSHARE_FORMAT};

pub use controller::{parse_scontrol_config, parse_scontrol_ping};
pub use license::parse_scontrol_licenses;
pub use reservation::parse_scontrol_reservations;
pub use sacct::{parse_sacct, parse_sacct_memory, SACCT_FORMAT, SACCT_MEMORY_FORMAT};
pub use scontrol::{parse_scontrol_nodes, parse_scontrol_partitions};
pub use sdiag::parse_sdiag;
pub use squeue::{parse_squeue, SQUEUE_FORMAT};

/// Number of jobs a job-array index expression stands for: `5-20` → 16,
/// `1,3,5-7` → 5, `0-99:2` → 50, `3-20%2` → 18 (the `%N` throttle does not change
/// the count), `[5-20%2]` (brackets as squeue prints them) → 16.
///
/// Returns `None` when the expression is not a valid index list (callers count
/// such a record as one job).
pub fn count_array_tasks(spec: &str) -> Option<u64> {
    let spec = spec.trim();
    let spec = spec.strip_prefix('[').unwrap_or(spec);
    let spec = spec.strip_suffix(']').unwrap_or(spec);
    // `%N` limits how many tasks run at once; it is always last.
    let spec = spec.split('%').next().unwrap_or_default().trim();
    if spec.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    for item in spec.split(',') {
        let item = item.trim();
        let (range, step) = match item.split_once(':') {
            Some((range, step)) => (range, step.trim().parse::<u64>().ok()?),
            None => (item, 1),
        };
        if step == 0 {
            return None;
        }
        let count = match range.split_once('-') {
            Some((first, last)) => {
                let first: u64 = first.trim().parse().ok()?;
                let last: u64 = last.trim().parse().ok()?;
                if last < first {
                    return None;
                }
                // `0-18446744073709551615` has one more task than u64 holds.
                ((last - first) / step).saturating_add(1)
            }
            None => {
                range.trim().parse::<u64>().ok()?;
                1
            }
        };
        total = total.saturating_add(count);
    }
    Some(total)
}

/// Shares one allocation between equal strings (partition names, pending
/// reasons): 100,000 jobs reference a handful of `Arc<str>`s.
///
/// Holds at most [`MAX_INTERNED_BYTES`] of distinct text: past it every new value
/// becomes one shared empty string and [`Interner::check`] fails the parse.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    seen: HashSet<Arc<str>>,
    bytes: usize,
    overflow: bool,
}

impl Interner {
    pub(crate) fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(existing) = self.seen.get(s) {
            return Arc::clone(existing);
        }
        if self.bytes + s.len() > MAX_INTERNED_BYTES {
            self.overflow = true;
            return Arc::from("");
        }
        self.bytes += s.len();
        let new: Arc<str> = Arc::from(s);
        self.seen.insert(Arc::clone(&new));
        new
    }

    /// Fails when more distinct text was offered than the cap.
    pub(crate) fn check(&self) -> Result<(), TooLarge> {
        if self.overflow {
            return Err(TooLarge::INTERNED);
        }
        Ok(())
    }
}

/// Reads lines one at a time into a reused buffer, counting them from 1.
pub(crate) struct Lines<R> {
    reader: R,
    buf: Vec<u8>,
    number: usize,
    max_line: usize,
}

impl<R: BufRead> Lines<R> {
    pub(crate) fn new(reader: R) -> Self {
        Lines {
            reader,
            buf: Vec::with_capacity(512),
            number: 0,
            max_line: MAX_LINE_BYTES,
        }
    }

    #[cfg(test)]
    fn with_max_line(reader: R, max_line: usize) -> Self {
        Lines {
            max_line,
            ..Lines::new(reader)
        }
    }

    /// `read_until(b'\n')` into `buf` that stops after `limit` bytes; `false` at
    /// the end of the input. (`Read::take` per line cost the text parsers ~14%.)
    #[inline]
    fn read_until_newline(&mut self, limit: usize) -> std::io::Result<bool> {
        let mut read_any = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                return Ok(read_any);
            }
            read_any = true;
            let room = limit - self.buf.len();
            let (found, used) = match memchr::memchr(b'\n', &available[..available.len().min(room)])
            {
                Some(i) => (true, i + 1),
                None => (false, available.len().min(room)),
            };
            self.buf.extend_from_slice(&available[..used]);
            self.reader.consume(used);
            if found || self.buf.len() >= limit {
                return Ok(true);
            }
        }
    }

    /// The next line without its line ending, with its number; `None` at the end.
    /// A line longer than [`MAX_LINE_BYTES`], or more than [`MAX_RECORDS`] lines,
    /// is [`ParseError::TooLarge`]: the line is never held past the cap.
    #[inline]
    pub(crate) fn next_line(&mut self) -> Result<Option<(usize, Cow<'_, str>)>, ParseError> {
        self.buf.clear();
        // Room for the cap plus `\r\n`: a line cut there is longer than the cap.
        let limit = self.max_line + 2;
        if !self.read_until_newline(limit)? {
            return Ok(None);
        }
        let mut end = self.buf.len();
        while end > 0 && matches!(self.buf[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        if end > self.max_line {
            return Err(too_large("a line", self.max_line as u64, "bytes"));
        }
        self.number += 1;
        if self.number > MAX_RECORDS {
            return Err(too_large("the lines", MAX_RECORDS as u64, "per output"));
        }
        let line = String::from_utf8_lossy(&self.buf[..end]);
        Ok(Some((self.number, line)))
    }
}

#[cold]
fn too_large(what: &'static str, limit: u64, unit: &'static str) -> ParseError {
    ParseError::TooLarge(TooLarge { what, limit, unit })
}

/// A value Slurm prints when it has none: `N/A`, `(null)`, `n/a`, `n/s`, `None`,
/// `Unknown` or nothing at all.
pub(crate) fn is_unset(value: &str) -> bool {
    matches!(
        value.trim(),
        "" | "N/A" | "n/a" | "n/s" | "(null)" | "None" | "NONE" | "Unknown"
    )
}

/// An unsigned integer, or `None` for unset markers and anything unparsable.
pub(crate) fn parse_u64(value: &str) -> Option<u64> {
    let value = value.trim();
    if is_unset(value) {
        return None;
    }
    value.parse().ok()
}

/// Seconds since the epoch (`SLURM_TIME_FORMAT=%s`); `0`, unset markers and times
/// in any other format are `None`.
pub(crate) fn parse_epoch(value: &str) -> Option<i64> {
    let value = value.trim();
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse::<i64>().ok().filter(|t| *t > 0)
}

#[cfg(test)]
pub(crate) mod testdata {
    //! Where the tests find recorded Slurm output, read in place. The fixtures
    //! (`tests/fixtures/slurm-22.05`, recorded from our own lab) are part of the
    //! repository. The shared samples (`../shared/slurm-samples`, third-party output kept
    //! beside the repository and never copied into it) are not: every test that reads
    //! them is `#[ignore = "needs ../shared/slurm-samples"]`, and panics saying what is
    //! missing when run without them (`cargo test -- --include-ignored`).

    use std::fs::File;
    use std::io::BufReader;
    use std::path::{Path, PathBuf};

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/slurm-22.05");
    const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/slurm-samples");

    /// A file recorded from the local Slurm 22.05 cluster (`tests/fixtures/slurm-22.05`).
    pub(crate) fn fixture(name: &str) -> BufReader<File> {
        BufReader::new(open(&Path::new(FIXTURES).join(name), fixture_missing))
    }

    /// The whole text of a fixture, for tests that cut or edit it.
    pub(crate) fn fixture_bytes(name: &str) -> Vec<u8> {
        let path = Path::new(FIXTURES).join(name);
        std::fs::read(&path).unwrap_or_else(|e| fixture_missing(&path, &e))
    }

    /// A file of the shared samples (`../shared/slurm-samples` beside the repository), by path below it.
    pub(crate) fn sample(rel: &str) -> BufReader<File> {
        BufReader::new(open(&Path::new(SAMPLES).join(rel), sample_missing))
    }

    /// The whole text of a sample, for tests that cut or edit it.
    pub(crate) fn sample_bytes(rel: &str) -> Vec<u8> {
        let path = Path::new(SAMPLES).join(rel);
        std::fs::read(&path).unwrap_or_else(|e| sample_missing(&path, &e))
    }

    fn open(path: &PathBuf, missing: fn(&Path, &std::io::Error) -> !) -> File {
        File::open(path).unwrap_or_else(|e| missing(path, &e))
    }

    fn fixture_missing(path: &Path, e: &std::io::Error) -> ! {
        panic!(
            "fixture {} not readable ({e}): it belongs to the repository \
             (scripts/record-fixtures.sh records it)",
            path.display()
        )
    }

    fn sample_missing(path: &Path, e: &std::io::Error) -> ! {
        panic!(
            "this test needs ../shared/slurm-samples beside the repository, and {} is not \
             readable ({e}); without the samples, run `cargo test` without --include-ignored",
            path.display()
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn array_task_counts() {
        assert_eq!(count_array_tasks("5-20"), Some(16));
        assert_eq!(count_array_tasks("[5-20%2]"), Some(16));
        assert_eq!(count_array_tasks("3-20%2"), Some(18));
        assert_eq!(count_array_tasks("1,3,5-7"), Some(5));
        assert_eq!(count_array_tasks("0-99999:2"), Some(50_000));
        assert_eq!(count_array_tasks("0-9:3"), Some(4)); // 0 3 6 9
        assert_eq!(count_array_tasks("7"), Some(1));
        assert_eq!(count_array_tasks("412-9999"), Some(9588));
        assert_eq!(count_array_tasks(""), None);
        assert_eq!(count_array_tasks("9-3"), None);
        assert_eq!(count_array_tasks("1-5:0"), None);
        assert_eq!(count_array_tasks("array_task_string"), None);
        assert_eq!(count_array_tasks("0-18446744073709551615"), Some(u64::MAX));
        assert_eq!(
            count_array_tasks("0-18446744073709551615,1"),
            Some(u64::MAX)
        );
    }

    #[test]
    fn interner_shares_allocations() {
        let mut interner = Interner::default();
        let a = interner.intern("batch");
        let b = interner.intern("batch");
        let c = interner.intern("debug");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
    }

    #[test]
    fn lines_strip_endings_and_count() {
        let input = b"one\r\ntwo\n\nth\xffree";
        let mut lines = Lines::new(&input[..]);
        let mut seen = Vec::new();
        while let Some((n, line)) = lines.next_line().unwrap() {
            seen.push((n, line.into_owned()));
        }
        assert_eq!(
            seen,
            vec![
                (1, "one".to_string()),
                (2, "two".to_string()),
                (3, String::new()),
                (4, "th\u{fffd}ree".to_string())
            ]
        );
    }

    #[test]
    fn a_line_over_the_cap_fails_without_being_held() {
        let ok = b"12345678\r\n1234567\n123";
        let mut lines = Lines::with_max_line(&ok[..], 8);
        let mut seen = Vec::new();
        while let Some((_, line)) = lines.next_line().unwrap() {
            seen.push(line.into_owned());
        }
        assert_eq!(seen, ["12345678", "1234567", "123"]);
        for long in [&b"123456789\n"[..], b"123456789", b"1234567890123\r\n"] {
            let mut lines = Lines::with_max_line(long, 8);
            match lines.next_line() {
                Err(ParseError::TooLarge(t)) => assert_eq!((t.what, t.limit), ("a line", 8)),
                other => panic!("{other:?}"),
            }
            assert!(lines.buf.len() <= 10, "held {} bytes", lines.buf.len());
        }
    }

    #[test]
    fn more_lines_than_the_record_cap_fail() {
        let input = vec![b'\n'; MAX_RECORDS + 1];
        match parse_squeue(&input[..]) {
            Err(ParseError::TooLarge(t)) => assert_eq!(t.limit, MAX_RECORDS as u64),
            other => panic!("{other:?}"),
        }
        let input = vec![b'\n'; MAX_RECORDS];
        assert!(parse_squeue(&input[..]).is_ok());
    }

    #[test]
    fn distinct_text_over_the_cap_fails() {
        let mut interner = Interner::default();
        let big = "x".repeat(MAX_INTERNED_BYTES / 2);
        interner.intern(&big);
        interner.intern(&big); // the same value costs nothing
        assert!(interner.check().is_ok());
        interner.intern(&format!("{big}y"));
        assert_eq!(interner.check(), Err(TooLarge::INTERNED));
    }

    #[test]
    fn epochs_only() {
        assert_eq!(parse_epoch("1796238756"), Some(1_796_238_756));
        assert_eq!(parse_epoch("0"), None);
        assert_eq!(parse_epoch("N/A"), None);
        assert_eq!(parse_epoch("2026-12-02T19:00:00"), None);
        assert_eq!(parse_epoch(""), None);
    }
}

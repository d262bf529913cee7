//! Caps on what Slurm's output may make the exporter hold: one line, one JSON
//! string, one document, the records of one document. Each is derived from what
//! real Slurm prints (docs/operations.md, "Output caps"); past one, the parse fails
//! with [`TooLarge`] (reason `too_large`) instead of growing memory.
//!
//! The readers here sit between a source's stream and a parser: [`CappedRead`]
//! counts a whole document, [`JsonRunCap`] watches JSON strings on the way in.

use std::io::{self, Read};

/// Longest text line (and longest JSON string) accepted: 16 MiB. Slurm's own
/// clients refused longer strings in an RPC before 20.11 (`MAX_PACK_STR_LEN`,
/// 16 MiB, `src/common/pack.c`); the longest field Slurm prints is a hostlist that
/// does not compress, e.g. 100,000 nodes with 64-character names (`HOST_NAME_MAX`)
/// = 6.5 MB, so 16 MiB is 2.5 times that.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// Longest run of bytes inside one JSON string (or, equally, between two string
/// delimiters): the same 16 MiB as a line.
pub const MAX_JSON_RUN_BYTES: usize = MAX_LINE_BYTES;

/// Most records (jobs, nodes, ... = array elements of a JSON document's data key,
/// or lines of a text output) in one document: 500,000, five times the 100,000 jobs
/// of the largest point measured (docs/performance.md, S3) and 50 times Slurm's
/// default `MaxJobCount` (10,000); Slurm's docs warn that a controller slows down
/// with "more than a few hundred thousand jobs". At ~180 bytes per parsed job this
/// is at most ~90 MB of model.
pub const MAX_RECORDS: usize = 500_000;

/// Most nodes in one document: 32,768, twice the largest Slurm system listed by
/// SchedMD (Tianhe-2, 16,000 compute nodes) and 3.5 times Frontier (9,408).
/// Unlike jobs, every node becomes a dozen series: 130,000 nodes took the
/// exporter past 200 MiB after the parse, 65,536 with 250,000 jobs to 190 MiB
/// (docs/operations.md).
pub const MAX_NODES: usize = 32_768;

/// Most partitions in one document: 1,024. Sites have a few to a few dozen;
/// each partition becomes ~110 series, so 1,024 of them are as many series as
/// ~9,000 nodes.
pub const MAX_PARTITIONS: usize = 1024;

/// Most entries of a small list inside one record (state flags, a node's
/// partitions, a TRES list, a node's GRES items), and of the short lists of
/// records (reservations, licenses): 4,096. More is refused, not truncated.
pub const MAX_LIST_ITEMS: usize = 4096;

/// Most bytes of one text output: 64 MiB. The largest text the exporter reads is
/// `squeue -O` at ~122 bytes per job (12.2 MB at 100,000 jobs, docs/performance.md)
/// and `scontrol -d -o show node` at ~740 bytes per node (7.4 MB at 10,000 nodes):
/// 64 MiB holds the [`MAX_RECORDS`] jobs.
pub const MAX_TEXT_OUTPUT_BYTES: u64 = 64 << 20;

/// Most bytes of one job list in JSON (`squeue --json`, REST `/jobs`): 4 GiB. A
/// job record is ~3 KB in 22.05 and ~9–12 KB from 24.05 (per-core
/// `job_resources`): 310 MB (22.05) and 900 MB (25.11) at 100,000 jobs, so 4 GiB
/// holds ~400,000 jobs of 25.11 (its parse alone takes ~13 s of CPU: the
/// collection timeout usually ends such a document first). A job keeps no string
/// of its own (see [`MAX_INTERNED_BYTES`]), so memory does not grow with this cap.
pub const MAX_JOBS_JSON_BYTES: u64 = 4 << 30;

/// Most bytes of any other JSON document (nodes, partitions, accounting, ...):
/// 128 MiB. Nodes are the largest: 1.27 KB per node in 22.05, 2.2 KB in 25.11
/// (12.7 and 22 MB at 10,000 nodes), so 128 MiB holds ~58,000 nodes of 25.11;
/// the largest Slurm systems have 10,000–40,000 nodes. Node records keep their
/// strings (names, reasons, features), so this cap is also what bounds them.
pub const MAX_JSON_OUTPUT_BYTES: u64 = 128 << 20;

/// Most bytes of distinct strings (partitions, reasons, users, accounts) the jobs
/// of one document may hold: 16 MiB, e.g. 100,000 distinct users and accounts of
/// 80 bytes each. Real values repeat (a few partitions and reasons, one user per
/// person), so real clusters stay far below it.
pub const MAX_INTERNED_BYTES: usize = 16 << 20;

/// Most heap the process may hold while it reads Slurm's output: 96 MiB.
/// Every read of a command's output or a slurmrestd body checks it
/// ([`CappedRead`]), so whatever the documents hold (the models of the queries
/// parsed at once, the data of the slower tiers kept between their reads, the
/// encoded exposition), one more 64 KiB read is the most that is parsed past it.
/// The largest real point measured (10,000 nodes, 100,000 jobs) peaks at 49–61
/// MiB of RSS (docs/performance.md). Resident memory exceeds the live heap by
/// what glibc keeps free in its arenas and by what follows a parse (collectors,
/// encoding): at 128 MiB the worst hostile case measured reached 192 MiB of
/// RSS, at 96 MiB 163 MiB (docs/operations.md), under the Deployment's 256 MiB.
pub const MAX_HEAP_BYTES: usize = 96 << 20;

/// Slurm's output went past one of the caps above.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} is larger than the cap of {limit} {unit}")]
pub struct TooLarge {
    /// What overflowed: `a line`, `a JSON string`, `the output`, `the records`.
    pub what: &'static str,
    pub limit: u64,
    pub unit: &'static str,
}

impl TooLarge {
    pub(crate) fn io(self) -> io::Error {
        io::Error::other(self)
    }

    /// The cap this I/O error carries, if it is one of ours.
    pub(crate) fn from_io(e: &io::Error) -> Option<TooLarge> {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<TooLarge>())
            .cloned()
    }
}

impl TooLarge {
    /// Too many records in one document.
    pub const RECORDS: TooLarge = TooLarge {
        what: "the records",
        limit: MAX_RECORDS as u64,
        unit: "per document",
    };
    /// Too many nodes in one document.
    pub const NODES: TooLarge = TooLarge {
        what: "the nodes",
        limit: MAX_NODES as u64,
        unit: "per document",
    };
    /// Too many partitions in one document.
    pub const PARTITIONS: TooLarge = TooLarge {
        what: "the partitions",
        limit: MAX_PARTITIONS as u64,
        unit: "per document",
    };
    /// Too many entries in one list inside a record.
    pub const LIST: TooLarge = TooLarge {
        what: "a list",
        limit: MAX_LIST_ITEMS as u64,
        unit: "entries",
    };

    /// The process's heap passed [`MAX_HEAP_BYTES`] while reading an output.
    pub const HEAP: TooLarge = TooLarge {
        what: "the exporter's heap while reading Slurm's output",
        limit: MAX_HEAP_BYTES as u64,
        unit: "bytes",
    };

    /// Too much distinct text held by the jobs of one document.
    pub const INTERNED: TooLarge = TooLarge {
        what: "the distinct names and reasons",
        limit: MAX_INTERNED_BYTES as u64,
        unit: "bytes",
    };

    /// The error a serde visitor returns for `self` (a record or list cap): its
    /// message is recognised by [`TooLarge::from_message`] once serde_json wrapped it.
    pub(crate) fn de_error<E: serde::de::Error>(&self) -> E {
        E::custom(format!("{MARK}{}", self.what))
    }

    pub(crate) fn from_message(message: &str) -> Option<TooLarge> {
        let what = message.strip_prefix(MARK)?;
        [
            TooLarge::RECORDS,
            TooLarge::NODES,
            TooLarge::PARTITIONS,
            TooLarge::LIST,
            TooLarge::INTERNED,
        ]
        .into_iter()
        .find(|t| what.starts_with(t.what))
    }
}

const MARK: &str = "too large: ";

/// A reader that fails with [`TooLarge`] once more than `limit` bytes went through,
/// or (before each read) once the process's heap is over [`MAX_HEAP_BYTES`]
/// ([`TooLarge::HEAP`]).
pub struct CappedRead<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> CappedRead<R> {
    pub fn new(inner: R, limit: u64) -> Self {
        CappedRead {
            inner,
            left: limit,
            limit,
        }
    }
}

impl<R: Read> Read for CappedRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if crate::malloc::live_bytes() > MAX_HEAP_BYTES {
            return Err(TooLarge::HEAP.io());
        }
        // One byte past the limit tells "exactly at the limit" from "over it".
        let want = usize::try_from(self.left.saturating_add(1))
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            return Err(TooLarge {
                what: "the output",
                limit: self.limit,
                unit: "bytes",
            }
            .io());
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Watches a JSON stream for a string longer than `limit` bytes, before the JSON
/// parser buffers it (serde_json collects a whole string before handing it on).
///
/// Cheap by design: per chunk it looks only for the last `"` not preceded by `\`
/// (searching backwards, so it stops within a few bytes on real JSON) and counts the
/// bytes since. Inside a string every `"` is escaped, so a long string is always
/// caught; the price is that any run of `limit` bytes without a string delimiter
/// (16 MiB of numbers or blanks, which Slurm never prints) is refused too.
pub struct JsonRunCap<R> {
    inner: R,
    since_quote: usize,
    last_byte: u8,
    limit: usize,
}

impl<R: Read> JsonRunCap<R> {
    pub fn new(inner: R, limit: usize) -> Self {
        JsonRunCap {
            inner,
            since_quote: 0,
            last_byte: 0,
            limit,
        }
    }
}

impl<R: Read> JsonRunCap<R> {
    /// Whether `chunk[i]` is a `"` that is not escaped.
    fn delimiter(&self, chunk: &[u8], i: usize) -> bool {
        chunk[i] == b'"' && (if i == 0 { self.last_byte } else { chunk[i - 1] }) != b'\\'
    }

    fn too_large(&self) -> io::Error {
        TooLarge {
            what: "a JSON string",
            limit: self.limit as u64,
            unit: "bytes",
        }
        .io()
    }
}

impl<R: Read> Read for JsonRunCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        // The run carried over from earlier chunks ends at the first delimiter.
        let mut first = None;
        let mut from = 0;
        while let Some(i) = chunk[from..].iter().position(|&b| b == b'"') {
            if self.delimiter(chunk, from + i) {
                first = Some(from + i);
                break;
            }
            from += i + 1;
        }
        let Some(first) = first else {
            self.since_quote = self.since_quote.saturating_add(n);
            if let Some(&b) = chunk.last() {
                self.last_byte = b;
            }
            return match self.since_quote > self.limit {
                true => Err(self.too_large()),
                false => Ok(n),
            };
        };
        if self.since_quote.saturating_add(first) > self.limit {
            return Err(self.too_large());
        }
        // Runs inside the chunk are shorter than it; checked only when it is
        // longer than the cap (never with the 64 KiB reads of the parsers).
        let mut last = first;
        if n > self.limit {
            for i in first + 1..n {
                if self.delimiter(chunk, i) {
                    if i - last - 1 > self.limit {
                        return Err(self.too_large());
                    }
                    last = i;
                }
            }
        } else if let Some(i) = (first + 1..n).rev().find(|&i| self.delimiter(chunk, i)) {
            last = i;
        }
        self.since_quote = n - last - 1;
        self.last_byte = chunk[n - 1];
        if self.since_quote > self.limit {
            return Err(self.too_large());
        }
        Ok(n)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn read_all(mut r: impl Read) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = [0u8; 7]; // small chunks: delimiters straddle reads
        loop {
            match r.read(&mut buf)? {
                0 => return Ok(out),
                n => out.extend_from_slice(&buf[..n]),
            }
        }
    }

    #[test]
    fn document_cap() {
        assert_eq!(
            read_all(CappedRead::new(&b"0123456789"[..], 10))
                .unwrap()
                .len(),
            10
        );
        let err = read_all(CappedRead::new(&b"0123456789X"[..], 10)).unwrap_err();
        assert_eq!(
            TooLarge::from_io(&err),
            Some(TooLarge {
                what: "the output",
                limit: 10,
                unit: "bytes"
            })
        );
    }

    #[test]
    fn json_string_cap() {
        let ok = br#"{"a":"0123456789","b":"x"}"#;
        assert!(read_all(JsonRunCap::new(&ok[..], 10)).is_ok());
        let long = br#"{"a":"0123456789A","b":"x"}"#;
        let err = read_all(JsonRunCap::new(&long[..], 10)).unwrap_err();
        assert_eq!(
            TooLarge::from_io(&err).map(|t| t.what),
            Some("a JSON string")
        );
        // Escaped quotes do not end a string.
        let escaped = br#"{"a":"01\"34\"6789AB"}"#;
        assert!(read_all(JsonRunCap::new(&escaped[..], 10)).is_err());
        // Long but with strings all along: fine.
        let many = "\"ab\",".repeat(10_000);
        assert!(read_all(JsonRunCap::new(many.as_bytes(), 10)).is_ok());
    }
}

//! The snapshot: the whole exposition of one collection, encoded once in both
//! formats and gzip-compressed once, plus the status the HTTP side reports.

use std::io::Write;
use std::time::Instant;

use bytes::Bytes;
use flate2::write::DeflateEncoder;
use flate2::{Compress, Compression, FlushCompress};

use crate::exposition::Format;

/// Status of one collector after the last collection.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectorStatus {
    pub name: &'static str,
    /// The `cluster` label of the cluster it collects.
    pub cluster: String,
    /// Whether the last attempt succeeded.
    pub up: bool,
    /// Last success, seconds since the epoch.
    pub last_success_unix: Option<f64>,
    /// Last success, for age computations.
    pub last_success: Option<Instant>,
    /// Error of the last attempt, when it failed.
    pub last_error: Option<String>,
    /// How often the collector runs: the longest interval of the data it reads.
    pub interval: std::time::Duration,
}

/// One encoded exposition, shared read-only by every scrape until the next collection.
///
/// It is a list of parts (one per collector, plus the self-metrics), each encoded and
/// compressed when its collector last succeeded: a stale collector's part is reused
/// as it is, and the parts are shared with the engine instead of copied.
#[derive(Debug, Clone)]
pub struct Snapshot {
    text: Vec<Part>,
    openmetrics: Vec<Part>,
    /// Number of series in the snapshot.
    pub series: usize,
    /// When the collection that produced it finished, seconds since the epoch.
    pub created_unix: f64,
    pub collectors: Vec<CollectorStatus>,
}

/// A run of exposition bytes, plain and as raw DEFLATE ended by a sync flush
/// (byte-aligned, not final, compressed on its own), so pieces compressed
/// separately concatenate into one gzip member, followed by a per-request tail.
/// A piece is compressed once and may appear in both formats.
#[derive(Debug, Clone)]
pub struct Piece {
    plain: Bytes,
    deflate: Bytes,
    crc: crc32fast::Hasher,
}

/// DEFLATE level of the pieces: they are compressed once per change and sent
/// with every gzip scrape, so bytes matter more than the compression time.
const LEVEL: u32 = 6;

impl Piece {
    /// Compresses `plain` with `compressor` (reset first; reused to avoid
    /// allocating its tables for every piece).
    pub fn compress(plain: Bytes, compressor: &mut Compress) -> Piece {
        let mut crc = crc32fast::Hasher::new();
        crc.update(&plain);
        Piece {
            deflate: Bytes::from(deflate_sync(&plain, compressor)),
            plain,
            crc,
        }
    }

    #[cfg(test)]
    pub(crate) fn plain(&self) -> Bytes {
        self.plain.clone()
    }

    /// Where the compressed bytes live (tests check pieces are shared, not copied).
    #[cfg(test)]
    pub(crate) fn deflate_ptr(&self) -> *const u8 {
        self.deflate.as_ptr()
    }
}

/// A raw DEFLATE compressor at the pieces' level.
pub fn compressor() -> Compress {
    Compress::new(Compression::new(LEVEL), false)
}

/// `plain` as raw DEFLATE blocks ended by a sync flush, from a fresh stream.
fn deflate_sync(plain: &[u8], c: &mut Compress) -> Vec<u8> {
    c.reset();
    let mut out = Vec::with_capacity(plain.len() / 6 + 64);
    let mut consumed = 0;
    loop {
        let before = c.total_in();
        if c.compress_vec(&plain[consumed..], &mut out, FlushCompress::Sync)
            .is_err()
        {
            break; // cannot happen for in-memory input; the plain body is still right
        }
        consumed += (c.total_in() - before) as usize;
        // The flush is complete once all input is in and the output was not filled.
        if consumed >= plain.len() && out.len() < out.capacity() {
            break;
        }
        out.reserve(out.capacity().max(64));
    }
    out.shrink_to_fit();
    out
}

/// A piece of the exposition in one format (usually one collector's families):
/// its plain bytes as slices to send in order, and its pieces' DEFLATE data joined
/// into one buffer (sending hundreds of small pieces one by one costs more
/// than copying them once per change).
#[derive(Debug, Clone)]
pub struct Part {
    plain: Vec<Bytes>,
    len: usize,
    deflate: Bytes,
    crc: crc32fast::Hasher,
}

impl Part {
    /// One piece of `plain`, compressed now.
    pub fn new(plain: impl Into<Bytes>) -> Part {
        Part::from_pieces(vec![Piece::compress(plain.into(), &mut compressor())], &[])
    }

    /// The pieces in order; neighbouring pieces that are slices of one of
    /// `parents` are sent as one slice.
    pub fn from_pieces(pieces: Vec<Piece>, parents: &[&Bytes]) -> Part {
        let mut plain: Vec<Bytes> = Vec::new();
        let mut deflate = Vec::with_capacity(pieces.iter().map(|p| p.deflate.len()).sum());
        let mut crc = crc32fast::Hasher::new();
        let mut len = 0;
        for piece in pieces {
            deflate.extend_from_slice(&piece.deflate);
            crc.combine(&piece.crc);
            len += piece.plain.len();
            match plain.last_mut() {
                Some(last) => match adjacent(last, &piece.plain, parents) {
                    Some(joined) => *last = joined,
                    None => plain.push(piece.plain),
                },
                None => plain.push(piece.plain),
            }
        }
        Part {
            plain,
            len,
            deflate: Bytes::from(deflate),
            crc,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// `a` followed by `b` as one slice of `parent` when both are slices of it and `b`
/// starts where `a` ends (pieces of one encoding), without copying.
fn adjacent(a: &Bytes, b: &Bytes, parents: &[&Bytes]) -> Option<Bytes> {
    let (a_start, b_start) = (a.as_ptr() as usize, b.as_ptr() as usize);
    if a_start + a.len() != b_start {
        return None;
    }
    parents.iter().find_map(|parent| {
        let start = parent.as_ptr() as usize;
        let end = start + parent.len();
        (start <= a_start && b_start + b.len() <= end)
            .then(|| parent.slice(a_start - start..b_start + b.len() - start))
    })
}

/// The last piece of a response (per-request metrics, the OpenMetrics trailer):
/// plain, and compressed as the final DEFLATE blocks.
#[derive(Debug, Clone)]
pub struct Tail {
    plain: Bytes,
    deflate_final: Bytes,
    crc: crc32fast::Hasher,
}

impl Tail {
    pub fn new(plain: String) -> Tail {
        let mut crc = crc32fast::Hasher::new();
        crc.update(plain.as_bytes());
        let mut encoder = DeflateEncoder::new(
            Vec::with_capacity(plain.len() / 4 + 64),
            Compression::new(3),
        );
        let _ = encoder.write_all(plain.as_bytes());
        Tail {
            plain: Bytes::from(plain),
            deflate_final: Bytes::from(encoder.finish().unwrap_or_default()),
            crc,
        }
    }
}

/// Fixed gzip member header: magic, DEFLATE, no flags, no mtime, unknown OS.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

impl Snapshot {
    /// An empty snapshot, served before the first collection finishes.
    pub fn empty() -> Snapshot {
        Snapshot::new(Vec::new(), Vec::new(), 0, 0.0, Vec::new())
    }

    /// A snapshot of `text` and `openmetrics` parts (same order, same content).
    pub fn new(
        text: Vec<Part>,
        openmetrics: Vec<Part>,
        series: usize,
        created_unix: f64,
        collectors: Vec<CollectorStatus>,
    ) -> Snapshot {
        Snapshot {
            text,
            openmetrics,
            series,
            created_unix,
            collectors,
        }
    }

    /// The response body in `format` followed by `tail`, as chunks to send in order.
    /// With `gzipped`, the chunks form one gzip member: every part's pre-compressed
    /// DEFLATE data, then the tail's final blocks and the trailer.
    pub fn body_with_tail(&self, format: Format, gzipped: bool, tail: &Tail) -> Vec<Bytes> {
        let parts = match format {
            Format::Text => &self.text,
            Format::OpenMetrics => &self.openmetrics,
        };
        let mut chunks = Vec::with_capacity(parts.iter().map(|p| p.plain.len()).sum::<usize>() + 3);
        if !gzipped {
            chunks.extend(parts.iter().flat_map(|p| p.plain.iter().cloned()));
            chunks.push(tail.plain.clone());
            return chunks;
        }
        chunks.push(Bytes::from_static(&GZIP_HEADER));
        let mut crc = crc32fast::Hasher::new();
        let mut length: u64 = 0;
        for p in parts {
            chunks.push(p.deflate.clone());
            crc.combine(&p.crc);
            length += p.len as u64;
        }
        chunks.push(tail.deflate_final.clone());
        crc.combine(&tail.crc);
        length += tail.plain.len() as u64;
        let mut trailer = Vec::with_capacity(8);
        trailer.extend_from_slice(&crc.finalize().to_le_bytes());
        trailer.extend_from_slice(&(length as u32).to_le_bytes());
        chunks.push(Bytes::from(trailer));
        chunks
    }

    /// Size of the plain body in `format`, without per-request metrics.
    pub fn plain_len(&self, format: Format) -> usize {
        match format {
            Format::Text => self.text.iter().map(Part::len).sum(),
            Format::OpenMetrics => self.openmetrics.iter().map(Part::len).sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn gzip_of_parts_and_tail_is_one_valid_member() {
        let a: String = (0..5000).map(|i| format!("metric_a_{i} {i}\n")).collect();
        let b: String = (0..3000).map(|i| format!("metric_b_{i} {i}\n")).collect();
        let snapshot = Snapshot::new(
            vec![
                Part::new(a.clone()),
                Part::new(String::new()),
                Part::new(b.clone()),
            ],
            Vec::new(),
            8000,
            0.0,
            Vec::new(),
        );
        let tail = Tail::new("tail_metric 1\n".to_string());
        let gz: Vec<u8> = snapshot
            .body_with_tail(Format::Text, true, &tail)
            .iter()
            .flat_map(|c| c.iter().copied())
            .collect();
        // A single-member decoder must see everything (curl --compressed reads one member).
        let mut out = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out, format!("{a}{b}tail_metric 1\n"));
        assert!(
            gz.len() < (a.len() + b.len()) / 3,
            "not compressed: {}",
            gz.len()
        );
        let plain: Vec<u8> = snapshot
            .body_with_tail(Format::Text, false, &tail)
            .iter()
            .flat_map(|c| c.iter().copied())
            .collect();
        assert_eq!(String::from_utf8_lossy(&plain), out);
        assert_eq!(snapshot.plain_len(Format::Text), a.len() + b.len());
    }
}

//! The snapshot: the whole exposition of one collection, encoded once in both
//! formats and gzip-compressed once, plus the status the HTTP side reports.

use std::io::Write;
use std::time::Instant;

use bytes::Bytes;
use flate2::write::DeflateEncoder;
use flate2::Compression;

use crate::exposition::Format;

/// Status of one collector after the last collection.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectorStatus {
    pub name: &'static str,
    /// Whether the last attempt succeeded.
    pub up: bool,
    /// Last success, seconds since the epoch.
    pub last_success_unix: Option<f64>,
    /// Last success, for age computations.
    pub last_success: Option<Instant>,
    /// Error of the last attempt, when it failed.
    pub last_error: Option<String>,
}

/// One encoded exposition, shared read-only by every scrape until the next collection.
#[derive(Debug, Clone)]
pub struct Snapshot {
    text: Encoded,
    openmetrics: Encoded,
    /// Number of series in the snapshot.
    pub series: usize,
    /// When the collection that produced it finished, seconds since the epoch.
    pub created_unix: f64,
    pub collectors: Vec<CollectorStatus>,
}

/// One format's bytes, plain and as the start of a gzip stream.
#[derive(Debug, Clone)]
struct Encoded {
    plain: Bytes,
    /// Raw DEFLATE of `plain`, ended by a sync flush (byte-aligned, not final), so a
    /// per-request tail can be compressed and appended without recompressing this.
    deflate: Bytes,
    /// CRC-32 state after `plain`, continued over the tail for the gzip trailer.
    crc: crc32fast::Hasher,
}

impl Encoded {
    fn new(plain: String) -> Encoded {
        let mut crc = crc32fast::Hasher::new();
        crc.update(plain.as_bytes());
        let mut encoder = DeflateEncoder::new(
            Vec::with_capacity(plain.len() / 8 + 64),
            Compression::new(3),
        );
        // Writing to a Vec cannot fail; flush() ends the data with a sync flush.
        let _ = encoder.write_all(plain.as_bytes());
        let _ = encoder.flush();
        let deflate = Bytes::from(std::mem::take(encoder.get_mut()));
        Encoded {
            plain: Bytes::from(plain),
            deflate,
            crc,
        }
    }
}

/// Fixed gzip member header: magic, DEFLATE, no flags, no mtime, unknown OS.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

impl Snapshot {
    /// An empty snapshot, served before the first collection finishes.
    pub fn empty() -> Snapshot {
        Snapshot::new(String::new(), String::new(), 0, 0.0, Vec::new())
    }

    pub fn new(
        text: String,
        openmetrics: String,
        series: usize,
        created_unix: f64,
        collectors: Vec<CollectorStatus>,
    ) -> Snapshot {
        Snapshot {
            text: Encoded::new(text),
            openmetrics: Encoded::new(openmetrics),
            series,
            created_unix,
            collectors,
        }
    }

    /// The response body in `format` followed by `tail` (per-request metrics), as
    /// chunks to send in order. With `gzipped`, the chunks form one gzip member:
    /// the snapshot's pre-compressed DEFLATE data, then only the tail compressed.
    pub fn body_with_tail(&self, format: Format, gzipped: bool, tail: &[u8]) -> [Bytes; 3] {
        let encoded = match format {
            Format::Text => &self.text,
            Format::OpenMetrics => &self.openmetrics,
        };
        if !gzipped {
            return [
                encoded.plain.clone(),
                Bytes::copy_from_slice(tail),
                Bytes::new(),
            ];
        }
        let mut crc = encoded.crc.clone();
        crc.update(tail);
        let mut encoder =
            DeflateEncoder::new(Vec::with_capacity(tail.len() / 4 + 64), Compression::new(3));
        let _ = encoder.write_all(tail);
        let mut last = encoder.finish().unwrap_or_default();
        let length = (encoded.plain.len() + tail.len()) as u32;
        last.extend_from_slice(&crc.finalize().to_le_bytes());
        last.extend_from_slice(&length.to_le_bytes());
        let mut first = Vec::with_capacity(GZIP_HEADER.len() + encoded.deflate.len());
        first.extend_from_slice(&GZIP_HEADER);
        first.extend_from_slice(&encoded.deflate);
        [
            Bytes::from(first),
            encoded.deflate.slice(0..0),
            Bytes::from(last),
        ]
    }

    /// The plain body in `format`, without per-request metrics.
    pub fn body(&self, format: Format) -> Bytes {
        match format {
            Format::Text => self.text.plain.clone(),
            Format::OpenMetrics => self.openmetrics.plain.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn gzip_of_snapshot_and_tail_is_one_valid_member() {
        let text: String = (0..5000).map(|i| format!("metric_{i} {i}\n")).collect();
        let snapshot = Snapshot::new(text.clone(), String::new(), 5000, 0.0, Vec::new());
        let tail = b"tail_metric 1\n";
        let chunks = snapshot.body_with_tail(Format::Text, true, tail);
        let gz: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        // A single-member decoder must see everything (curl --compressed reads one member).
        let mut out = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out, format!("{text}tail_metric 1\n"));
        assert!(gz.len() < text.len() / 3, "not compressed: {}", gz.len());
    }
}

//! The snapshot: the whole exposition of one collection, encoded once in both
//! formats and gzip-compressed once, plus the status the HTTP side reports.

use std::io::Write;
use std::time::Instant;

use bytes::Bytes;
use flate2::write::GzEncoder;
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
    text: Bytes,
    openmetrics: Bytes,
    text_gzip: Bytes,
    openmetrics_gzip: Bytes,
    /// Number of series in the snapshot.
    pub series: usize,
    /// When the collection that produced it finished, seconds since the epoch.
    pub created_unix: f64,
    pub collectors: Vec<CollectorStatus>,
}

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
        let text_gzip = gzip(text.as_bytes());
        let openmetrics_gzip = gzip(openmetrics.as_bytes());
        Snapshot {
            text: Bytes::from(text),
            openmetrics: Bytes::from(openmetrics),
            text_gzip,
            openmetrics_gzip,
            series,
            created_unix,
            collectors,
        }
    }

    /// The encoded body in `format`, plain or gzip-compressed.
    pub fn body(&self, format: Format, gzipped: bool) -> Bytes {
        match (format, gzipped) {
            (Format::Text, false) => self.text.clone(),
            (Format::Text, true) => self.text_gzip.clone(),
            (Format::OpenMetrics, false) => self.openmetrics.clone(),
            (Format::OpenMetrics, true) => self.openmetrics_gzip.clone(),
        }
    }
}

/// Gzip-compresses `data` as one gzip member. Members can be concatenated: a
/// response may be the snapshot's member followed by a small one for per-request
/// metrics, which gzip readers (RFC 1952) decode as one stream.
pub fn gzip(data: &[u8]) -> Bytes {
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 8 + 64), Compression::new(3));
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(data);
    Bytes::from(encoder.finish().unwrap_or_default())
}

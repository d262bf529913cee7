//! Response bodies: streamed to a parser on a blocking thread, or read whole when
//! small (error answers).
//!
//! The body reaches the parser through a bounded channel fed by the query's own
//! future. When the query is abandoned (its timeout fires, or it fails), that future
//! is dropped with the body and the channel's sender: the parser's next read fails,
//! its thread returns, and hyper closes the connection. A slurmrestd that stalls
//! mid-body or trickles it a byte at a time so costs one thread and one socket for
//! at most the query timeout, never more.

use std::io::{self, BufRead, BufReader, Read};

use bytes::{Buf, Bytes};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::Response;
use tokio::sync::mpsc;

use super::in_flight;
use crate::model::{caps, ParseError};
use crate::source::SourceError;

/// Body frames buffered between the connection and the parser. hyper's frames are
/// at most its read buffer (`MAX_RESPONSE_HEAD_BYTES`, ~400 KiB), so this holds at
/// most ~3 MiB while the parser is busy.
const FRAMES_IN_FLIGHT: usize = 8;

/// What the query's future hands the parser thread.
enum Chunk {
    Data(Bytes),
    /// The body ended normally.
    End,
    /// The connection failed mid-body.
    Failed(io::Error),
}

/// Streams the body into `parse` on a blocking thread, at most `max_bytes` of it:
/// a `Content-Length` above the cap fails before reading, a longer body when the
/// cap is reached (reason `too_large`; the connection is dropped).
pub(super) async fn parse_body<T, F>(
    resp: Response<Incoming>,
    max_bytes: u64,
    parse: F,
) -> Result<T, SourceError>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn BufRead) -> Result<T, ParseError> + Send + 'static,
{
    let announced = resp
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > max_bytes) {
        return Err(SourceError::Parse(ParseError::TooLarge(caps::TooLarge {
            what: "the response (Content-Length)",
            limit: max_bytes,
            unit: "bytes",
        })));
    }
    let (tx, rx) = mpsc::channel(FRAMES_IN_FLIGHT);
    // The query's slot stays taken until this thread returns.
    let slot = in_flight::current();
    let mut parser = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let body = caps::CappedRead::new(ChannelReader::new(rx), max_bytes);
        let mut reader = BufReader::with_capacity(64 * 1024, body);
        parse(&mut reader)
    });
    // The parser may stop early (cap reached, bad JSON): then the pump and the body
    // are dropped here, which closes the connection.
    let joined = tokio::select! {
        r = &mut parser => r,
        () = pump(resp.into_body(), tx) => parser.await,
    };
    joined
        .map_err(|e| SourceError::Connection(format!("parser task failed: {e}")))?
        .map_err(|e| match e {
            ParseError::Io(io) => SourceError::Connection(format!("reading the response: {io}")),
            other => SourceError::Parse(other),
        })
}

/// Moves the body's data frames to the parser until the body ends or the parser
/// stops reading.
async fn pump(mut body: Incoming, tx: mpsc::Sender<Chunk>) {
    loop {
        let chunk = match body.frame().await {
            None => Chunk::End,
            Some(Err(e)) => Chunk::Failed(io::Error::other(e)),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) if data.is_empty() => continue,
                Ok(data) => Chunk::Data(data),
                Err(_trailers) => continue,
            },
        };
        let last = !matches!(chunk, Chunk::Data(_));
        if tx.send(chunk).await.is_err() || last {
            return;
        }
    }
}

/// The parser's side of the channel, as a blocking `Read`.
struct ChannelReader {
    rx: mpsc::Receiver<Chunk>,
    current: Bytes,
    ended: bool,
}

impl ChannelReader {
    fn new(rx: mpsc::Receiver<Chunk>) -> ChannelReader {
        ChannelReader {
            rx,
            current: Bytes::new(),
            ended: false,
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if !self.current.is_empty() {
                let n = self.current.len().min(buf.len());
                buf[..n].copy_from_slice(&self.current[..n]);
                self.current.advance(n);
                return Ok(n);
            }
            if self.ended || buf.is_empty() {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Chunk::Data(data)) => self.current = data,
                Some(Chunk::End) => self.ended = true,
                Some(Chunk::Failed(e)) => return Err(e),
                // The sender went with the query's future: timeout or failure.
                None => {
                    return Err(io::Error::other(
                        "the query was abandoned before the response ended",
                    ))
                }
            }
        }
    }
}

/// Slurm's `errors[]` of a whole (small) answer, summarized; empty when none.
pub(super) async fn body_errors(resp: Response<Incoming>) -> String {
    let mut body = resp.into_body();
    let mut buf = Vec::new();
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(data) = frame.data_ref() {
            buf.extend_from_slice(data);
        }
        if buf.len() > 1 << 20 {
            break;
        }
    }
    let errors = serde_json::from_slice::<serde_json::Value>(&buf)
        .ok()
        .and_then(|doc| doc.get("errors").cloned())
        .and_then(|e| e.as_array().map(|a| !a.is_empty()))
        .unwrap_or(false);
    if errors {
        summarize_error_body(&buf)
    } else {
        String::new()
    }
}

/// The first 512 bytes of an error answer, summarized.
pub(super) async fn body_snippet(resp: Response<Incoming>) -> String {
    let mut body = resp.into_body();
    let mut buf = Vec::new();
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(data) = frame.data_ref() {
            buf.extend_from_slice(data);
        }
        if buf.len() > 512 {
            buf.truncate(512);
            break;
        }
    }
    summarize_error_body(&buf)
}

/// Slurm's `errors[]` descriptions when the body is a Slurm JSON document,
/// else the body's text on one line.
pub(super) fn summarize_error_body(body: &[u8]) -> String {
    if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(body) {
        if let Some(errors) = doc.get("errors").and_then(|e| e.as_array()) {
            let texts: Vec<String> = errors
                .iter()
                .map(|e| {
                    ["description", "error", "source"]
                        .iter()
                        .filter_map(|k| e.get(*k).and_then(|v| v.as_str()))
                        .filter(|t| !t.is_empty())
                        .collect::<Vec<_>>()
                        .join(" / ")
                })
                .collect();
            if !texts.is_empty() {
                return texts.join("; ");
            }
        }
    }
    String::from_utf8_lossy(body)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reader_sees_the_body_then_eof() {
        let (tx, rx) = mpsc::channel(4);
        for part in [&b"{\"a\":"[..], b"", b"1}"] {
            tx.try_send(Chunk::Data(Bytes::copy_from_slice(part)))
                .unwrap_or_else(|_| panic!("channel full"));
        }
        tx.try_send(Chunk::End)
            .unwrap_or_else(|_| panic!("channel full"));
        drop(tx);
        let mut text = Vec::new();
        let read = ChannelReader::new(rx).read_to_end(&mut text);
        assert_eq!(read.ok(), Some(7));
        assert_eq!(text, b"{\"a\":1}");
    }

    /// The sender dropped without `End` (the query's future was dropped at its
    /// timeout): an error, not a silent end of the document.
    #[test]
    fn an_abandoned_body_is_an_error_not_eof() {
        let (tx, rx) = mpsc::channel(4);
        tx.try_send(Chunk::Data(Bytes::from_static(b"{\"jobs\": [")))
            .unwrap_or_else(|_| panic!("channel full"));
        drop(tx);
        let mut text = Vec::new();
        let err = ChannelReader::new(rx)
            .read_to_end(&mut text)
            .err()
            .map(|e| e.to_string());
        assert_eq!(text, b"{\"jobs\": [");
        assert!(
            err.as_deref().is_some_and(|e| e.contains("abandoned")),
            "{err:?}"
        );
    }
}

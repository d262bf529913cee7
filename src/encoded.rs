//! A collector's families encoded once, with where each family starts, so that
//! - both exposition formats are served from one encoding: the sample lines are the
//!   same in text 0.0.4 and OpenMetrics, only a counter's `# HELP`/`# TYPE` lines
//!   differ, so the OpenMetrics form is the text encoding's bytes (shared, not
//!   copied) with those header lines swapped; each family's header and samples are
//!   also DEFLATE-compressed on their own, once, and the compressed samples serve
//!   both formats' gzip responses too;
//! - the outputs of several clusters merge into one exposition in which every family
//!   appears once (one header, its samples contiguous, as OpenMetrics requires),
//!   without encoding anything again.

use std::ops::Range;

use bytes::Bytes;

use crate::exposition::{encode_header, encode_samples, Family, Format, MetricType};
use crate::snapshot::{compressor, Piece};

/// Families encoded in the text format, each family's header and samples also
/// compressed on their own (once, for both formats), and for counters the
/// OpenMetrics header.
#[derive(Debug, Clone, Default)]
pub struct Encoded {
    pub text: Bytes,
    families: Vec<Span>,
}

#[derive(Debug, Clone)]
struct Span {
    name: String,
    header: Piece,
    body: Piece,
    /// The OpenMetrics header when it differs from the text one (counters).
    openmetrics_header: Option<Piece>,
}

/// Where one family was written: name, header and samples, and the OpenMetrics
/// header of a counter.
type Written = (String, Range<usize>, Range<usize>, Option<String>);

impl Encoded {
    /// Encodes `families`, dropping each one once written so the families and
    /// their encoding do not both peak at full size. `size_hint` is the expected
    /// length (the previous encoding's), to allocate once.
    pub fn new(families: Vec<Family>, size_hint: usize) -> Encoded {
        let mut text = String::with_capacity(size_hint + size_hint / 16);
        let mut ranges: Vec<Written> = Vec::with_capacity(families.len());
        for family in families {
            if family.samples.is_empty() {
                continue; // nothing written for a family without samples
            }
            let start = text.len();
            encode_header(&family, Format::Text, &mut text);
            let header_end = text.len();
            encode_samples(&family, &mut text);
            let openmetrics_header = (family.kind == MetricType::Counter).then(|| {
                let mut h = String::new();
                encode_header(&family, Format::OpenMetrics, &mut h);
                h
            });
            ranges.push((
                family.name,
                start..header_end,
                header_end..text.len(),
                openmetrics_header,
            ));
        }
        text.shrink_to_fit();
        let text = Bytes::from(text);
        let mut c = compressor();
        let families = ranges
            .into_iter()
            .map(|(name, header, body, om)| Span {
                name,
                header: Piece::compress(text.slice(header), &mut c),
                body: Piece::compress(text.slice(body), &mut c),
                openmetrics_header: om.map(|h| Piece::compress(Bytes::from(h), &mut c)),
            })
            .collect();
        Encoded { text, families }
    }

    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The encoding in `format`, as pieces to send in order.
    pub fn chunks(&self, format: Format) -> Vec<Piece> {
        merge(&[self], format)
    }
}

impl Span {
    fn header(&self, format: Format) -> &Piece {
        match (format, &self.openmetrics_header) {
            (Format::OpenMetrics, Some(h)) => h,
            _ => &self.header,
        }
    }
}

/// Merges the encodings of one collector from several clusters into `format`:
/// families in the order they first appear, each with the first header seen and
/// the samples of every cluster that has it. Nothing is copied or compressed
/// again: the pieces are shared with the encodings.
pub fn merge(parts: &[&Encoded], format: Format) -> Vec<Piece> {
    let mut out = Vec::new();
    if let [one] = parts {
        for span in &one.families {
            out.push(span.header(format).clone());
            out.push(span.body.clone());
        }
        return out;
    }
    let mut order: Vec<&str> = Vec::new();
    for p in parts {
        for f in &p.families {
            if !order.contains(&f.name.as_str()) {
                order.push(&f.name);
            }
        }
    }
    for name in order {
        let mut header_written = false;
        for p in parts {
            for span in p.families.iter().filter(|f| f.name == name) {
                if !header_written {
                    out.push(span.header(format).clone());
                    header_written = true;
                }
                out.push(span.body.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::encode;

    fn families(cluster: &str, with_second: bool) -> Vec<Family> {
        let mut a = Family::gauge("slurm_a", "A");
        a.push(vec![("cluster", cluster.to_string())], 1.0);
        let mut b = Family::counter("slurm_b", "B");
        b.push(vec![("cluster", cluster.to_string())], 2.0);
        let mut c = Family::gauge("slurm_c", "C");
        c.push(vec![("cluster", cluster.to_string())], 3.0);
        if with_second {
            vec![a, b, c]
        } else {
            vec![a]
        }
    }

    fn joined(pieces: &[Piece]) -> String {
        pieces
            .iter()
            .map(|p| String::from_utf8_lossy(&p.plain()).into_owned())
            .collect()
    }

    #[test]
    fn both_formats_equal_a_direct_encoding() {
        for format in [Format::Text, Format::OpenMetrics] {
            let mut direct = String::new();
            encode(&families("x", true), format, &mut direct);
            let e = Encoded::new(families("x", true), 0);
            assert_eq!(joined(&e.chunks(format)), direct, "{format:?}");
        }
    }

    #[test]
    fn both_formats_share_the_compressed_samples() {
        let e = Encoded::new(families("x", true), 0);
        let text = e.chunks(Format::Text);
        let om = e.chunks(Format::OpenMetrics);
        assert_eq!(text.len(), 6);
        assert_eq!(om.len(), 6);
        // slurm_b is the counter: its header differs, its samples are the same piece.
        assert_ne!(text[2].plain(), om[2].plain());
        for i in [0, 1, 3, 4, 5] {
            assert_eq!(text[i].deflate_ptr(), om[i].deflate_ptr(), "piece {i}");
        }
    }

    #[test]
    fn each_family_appears_once_with_every_clusters_samples() {
        let x = Encoded::new(families("x", false), 0);
        let y = Encoded::new(families("y", true), 0);
        let merged = merge(&[&x, &y], Format::OpenMetrics);
        assert_eq!(
            joined(&merged),
            "# HELP slurm_a A\n# TYPE slurm_a gauge\nslurm_a{cluster=\"x\"} 1\nslurm_a{cluster=\"y\"} 1\n\
             # HELP slurm_b B\n# TYPE slurm_b counter\nslurm_b_total{cluster=\"y\"} 2\n\
             # HELP slurm_c C\n# TYPE slurm_c gauge\nslurm_c{cluster=\"y\"} 3\n"
        );
        let text = joined(&merge(&[&x, &y], Format::Text));
        assert!(text.contains("# TYPE slurm_b_total counter\nslurm_b_total{cluster=\"y\"} 2\n"));
    }

    #[test]
    fn families_without_samples_are_left_out() {
        let empty = Family::gauge("slurm_empty", "E");
        let e = Encoded::new(vec![empty.clone()], 0);
        assert!(e.is_empty());
        let e2 = Encoded::new(vec![empty], 0);
        assert!(merge(&[&e, &e2], Format::Text).is_empty());
        assert!(e.chunks(Format::OpenMetrics).is_empty());
    }
}

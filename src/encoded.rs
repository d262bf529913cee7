//! A collector's families encoded once, with where each family starts, so that
//! - both exposition formats are served from one encoding: the sample lines are the
//!   same in text 0.0.4 and OpenMetrics, only a counter's `# HELP`/`# TYPE` lines
//!   differ, so the OpenMetrics form is the text encoding's bytes (shared, not
//!   copied) with those header lines swapped;
//! - the outputs of several clusters merge into one exposition in which every family
//!   appears once (one header, its samples contiguous, as OpenMetrics requires),
//!   without encoding anything again.

use std::ops::Range;

use bytes::Bytes;

use crate::exposition::{encode_header, encode_samples, Family, Format, MetricType};

/// Families encoded in the text format, plus the span of each one's header and
/// samples and, for counters, the OpenMetrics header.
#[derive(Debug, Clone, Default)]
pub struct Encoded {
    pub text: Bytes,
    families: Vec<Span>,
}

#[derive(Debug, Clone)]
struct Span {
    name: String,
    header: Range<usize>,
    body: Range<usize>,
    /// The OpenMetrics header when it differs from the text one (counters).
    openmetrics_header: Option<Bytes>,
}

impl Encoded {
    /// Encodes `families`, dropping each one once written so the families and
    /// their encoding do not both peak at full size. `size_hint` is the expected
    /// length (the previous encoding's), to allocate once.
    pub fn new(families: Vec<Family>, size_hint: usize) -> Encoded {
        let mut text = String::with_capacity(size_hint + size_hint / 16);
        let mut spans = Vec::with_capacity(families.len());
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
                Bytes::from(h)
            });
            spans.push(Span {
                name: family.name,
                header: start..header_end,
                body: header_end..text.len(),
                openmetrics_header,
            });
        }
        text.shrink_to_fit();
        Encoded {
            text: Bytes::from(text),
            families: spans,
        }
    }

    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The encoding in `format`, as chunks to send in order (slices of one buffer).
    pub fn chunks(&self, format: Format) -> Vec<Bytes> {
        merge(&[self], format)
    }

    fn header(&self, span: &Span, format: Format) -> Bytes {
        match (format, &span.openmetrics_header) {
            (Format::OpenMetrics, Some(h)) => h.clone(),
            _ => self.text.slice(span.header.clone()),
        }
    }
}

/// Chunks of an output, with neighbouring slices of the same buffer joined.
#[derive(Default)]
struct Chunks(Vec<Bytes>);

impl Chunks {
    fn push(&mut self, source: &Bytes, range: Range<usize>) {
        if let Some(last) = self.0.last_mut() {
            // `last` ends where `range` starts in the same buffer: extend it.
            let base = source.as_ptr() as usize;
            let last_end = last.as_ptr() as usize + last.len();
            if last_end == base + range.start && last.as_ptr() as usize >= base {
                let start = last.as_ptr() as usize - base;
                *last = source.slice(start..range.end);
                return;
            }
        }
        self.0.push(source.slice(range));
    }

    fn push_bytes(&mut self, b: Bytes) {
        self.0.push(b);
    }
}

/// Merges the encodings of one collector from several clusters into `format`:
/// families in the order they first appear, each with the first header seen and
/// the samples of every cluster that has it. Nothing is copied: the chunks are
/// slices of the encodings.
pub fn merge(parts: &[&Encoded], format: Format) -> Vec<Bytes> {
    let mut out = Chunks::default();
    if let [one] = parts {
        for span in &one.families {
            match (format, &span.openmetrics_header) {
                (Format::OpenMetrics, Some(h)) => out.push_bytes(h.clone()),
                _ => out.push(&one.text, span.header.clone()),
            }
            out.push(&one.text, span.body.clone());
        }
        return out.0;
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
                    out.push_bytes(p.header(span, format));
                    header_written = true;
                }
                out.push(&p.text, span.body.clone());
            }
        }
    }
    out.0
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

    fn joined(chunks: &[Bytes]) -> String {
        chunks
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
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
    fn text_is_one_chunk_and_openmetrics_shares_its_buffer() {
        let e = Encoded::new(families("x", true), 0);
        let text = e.chunks(Format::Text);
        assert_eq!(text.len(), 1);
        assert_eq!(text[0], e.text);
        // slurm_a, the counter's own header, then slurm_b's samples with slurm_c.
        let om = e.chunks(Format::OpenMetrics);
        assert_eq!(om.len(), 3);
        let range = e.text.as_ptr() as usize..e.text.as_ptr() as usize + e.text.len();
        assert!(range.contains(&(om[0].as_ptr() as usize)));
        assert!(range.contains(&(om[2].as_ptr() as usize)));
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

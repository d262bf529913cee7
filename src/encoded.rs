//! A collector's families encoded once, with where each family starts, so the
//! outputs of several clusters can be merged into one exposition in which every
//! family appears once (one `# HELP`/`# TYPE` header, its samples contiguous, as
//! OpenMetrics requires), without encoding anything again.

use std::ops::Range;

use bytes::Bytes;

use crate::exposition::{encode, Family, Format};

/// Encoded families plus the span of each one's header and samples.
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
}

impl Encoded {
    /// Encodes `families` in `format`, remembering each family's span.
    pub fn new(families: &[Family], format: Format) -> Encoded {
        let mut text = String::new();
        let mut spans = Vec::with_capacity(families.len());
        for family in families {
            let start = text.len();
            encode(std::slice::from_ref(family), format, &mut text);
            if text.len() == start {
                continue; // no samples, nothing written
            }
            let header_end = header_end(&text, start);
            spans.push(Span {
                name: family.name.clone(),
                header: start..header_end,
                body: header_end..text.len(),
            });
        }
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
}

/// End of the `#` lines that open a family's encoding at `start`.
fn header_end(text: &str, start: usize) -> usize {
    let mut at = start;
    while text[at..].starts_with('#') {
        match text[at..].find('\n') {
            Some(nl) => at += nl + 1,
            None => return text.len(),
        }
    }
    at
}

/// Merges encodings of the same collector from several clusters: families in the
/// order they first appear, each with the first header seen and the samples of
/// every cluster that has it. One encoding is returned as it is (no copy).
pub fn merge(parts: &[&Encoded]) -> Bytes {
    match parts {
        [] => Bytes::new(),
        [one] => one.text.clone(),
        _ => {
            let mut order: Vec<&str> = Vec::new();
            for p in parts {
                for f in &p.families {
                    if !order.contains(&f.name.as_str()) {
                        order.push(&f.name);
                    }
                }
            }
            let mut out = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
            for name in order {
                let mut header_written = false;
                for p in parts {
                    for f in p.families.iter().filter(|f| f.name == name) {
                        if !header_written {
                            out.extend_from_slice(&p.text[f.header.clone()]);
                            header_written = true;
                        }
                        out.extend_from_slice(&p.text[f.body.clone()]);
                    }
                }
            }
            Bytes::from(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn families(cluster: &str, with_second: bool) -> Vec<Family> {
        let mut a = Family::gauge("slurm_a", "A");
        a.push(vec![("cluster", cluster.to_string())], 1.0);
        let mut b = Family::counter("slurm_b", "B");
        b.push(vec![("cluster", cluster.to_string())], 2.0);
        if with_second {
            vec![a, b]
        } else {
            vec![a]
        }
    }

    #[test]
    fn one_encoding_is_returned_as_it_is() {
        let e = Encoded::new(&families("x", true), Format::Text);
        assert_eq!(merge(&[&e]), e.text);
    }

    #[test]
    fn each_family_appears_once_with_every_clusters_samples() {
        let x = Encoded::new(&families("x", false), Format::OpenMetrics);
        let y = Encoded::new(&families("y", true), Format::OpenMetrics);
        let merged = merge(&[&x, &y]);
        let text = String::from_utf8_lossy(&merged);
        assert_eq!(
            text,
            "# HELP slurm_a A\n# TYPE slurm_a gauge\nslurm_a{cluster=\"x\"} 1\nslurm_a{cluster=\"y\"} 1\n\
             # HELP slurm_b B\n# TYPE slurm_b counter\nslurm_b_total{cluster=\"y\"} 2\n"
        );
    }

    #[test]
    fn families_without_samples_are_left_out() {
        let empty = Family::gauge("slurm_empty", "E");
        let e = Encoded::new(&[empty], Format::Text);
        assert!(e.is_empty());
        assert!(merge(&[&e, &e]).is_empty());
    }
}

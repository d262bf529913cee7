//! Metric families and their encoding as Prometheus text 0.0.4 and OpenMetrics 1.0.
//!
//! We encode ourselves rather than through a client library: the exposition is
//! rebuilt from an immutable model once per collection and served as bytes, the
//! families are dynamic (labels come from Slurm), and we need both text formats
//! from one family list; no maintained crate offers that combination.

use std::fmt::Write;

/// What kind of metric a family is; decides the TYPE line and sample suffixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Gauge,
    Counter,
    Histogram,
}

/// Label pairs of one sample, in output order.
pub type Labels = Vec<(&'static str, String)>;

/// One sample: `name{labels} value`, where `suffix` is appended to the family
/// name (`_total`, `_bucket`, `_sum`, `_count` or empty).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub suffix: &'static str,
    pub labels: Labels,
    pub value: f64,
}

/// A metric family: name (without `_total` for counters), help, type, samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: String,
    pub help: String,
    pub kind: MetricType,
    pub samples: Vec<Sample>,
}

impl Family {
    pub fn new(name: impl Into<String>, help: impl Into<String>, kind: MetricType) -> Family {
        Family {
            name: name.into(),
            help: help.into(),
            kind,
            samples: Vec::new(),
        }
    }

    pub fn gauge(name: impl Into<String>, help: impl Into<String>) -> Family {
        Family::new(name, help, MetricType::Gauge)
    }

    /// A counter; `name` must not end in `_total` (the suffix is added to samples).
    pub fn counter(name: impl Into<String>, help: impl Into<String>) -> Family {
        Family::new(name, help, MetricType::Counter)
    }

    pub fn histogram(name: impl Into<String>, help: impl Into<String>) -> Family {
        Family::new(name, help, MetricType::Histogram)
    }

    /// Adds one gauge or counter sample.
    pub fn push(&mut self, labels: Labels, value: f64) {
        let suffix = match self.kind {
            MetricType::Counter => "_total",
            _ => "",
        };
        self.samples.push(Sample {
            suffix,
            labels,
            value,
        });
    }

    /// Adds a sample only when the value is known: absent data gives an absent series.
    pub fn push_opt<T: Into<f64>>(&mut self, labels: Labels, value: Option<T>) {
        if let Some(v) = value {
            self.push(labels, v.into());
        }
    }

    /// Adds the buckets, sum and count of one histogram series.
    pub fn push_histogram(&mut self, labels: Labels, histogram: &Histogram) {
        let mut cumulative = 0u64;
        for (bound, count) in histogram.bounds.iter().zip(&histogram.counts) {
            cumulative += count;
            let mut l = labels.clone();
            l.push(("le", format_value(*bound)));
            self.samples.push(Sample {
                suffix: "_bucket",
                labels: l,
                value: cumulative as f64,
            });
        }
        let mut l = labels.clone();
        l.push(("le", "+Inf".to_string()));
        self.samples.push(Sample {
            suffix: "_bucket",
            labels: l,
            value: histogram.count as f64,
        });
        self.samples.push(Sample {
            suffix: "_sum",
            labels: labels.clone(),
            value: histogram.sum,
        });
        self.samples.push(Sample {
            suffix: "_count",
            labels,
            value: histogram.count as f64,
        });
    }

    /// Number of series (histograms count each bucket, sum and count).
    pub fn series(&self) -> usize {
        self.samples.len()
    }
}

/// A cumulative histogram with fixed upper bounds (the `+Inf` bucket is implicit).
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    pub bounds: &'static [f64],
    /// Observations per bucket (not cumulative); same length as `bounds`.
    pub counts: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            counts: vec![0; bounds.len()],
            sum: 0.0,
            count: 0,
        }
    }

    pub fn observe(&mut self, value: f64) {
        if let Some(i) = self.bounds.iter().position(|b| value <= *b) {
            self.counts[i] += 1;
        }
        self.sum += value;
        self.count += 1;
    }
}

/// Buckets for durations from milliseconds to minutes.
pub const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// The exposition format a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`
    Text,
    /// `application/openmetrics-text; version=1.0.0`
    OpenMetrics,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// Picks the format from an `Accept` header: OpenMetrics when the client lists
    /// it with a quality at least that of plain text, else text 0.0.4.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Text;
        };
        let mut om_q: Option<f32> = None;
        let mut text_q: Option<f32> = None;
        for part in accept.split(',') {
            let mut params = part.split(';');
            let media = params
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            let mut q = 1.0f32;
            for p in params {
                if let Some(v) = p.trim().strip_prefix("q=") {
                    q = v.trim().parse().unwrap_or(0.0);
                }
            }
            match media.as_str() {
                "application/openmetrics-text" => om_q = Some(om_q.unwrap_or(0.0).max(q)),
                "text/plain" | "*/*" | "text/*" => text_q = Some(text_q.unwrap_or(0.0).max(q)),
                _ => {}
            }
        }
        match (om_q, text_q) {
            (Some(om), Some(text)) if om > 0.0 && om >= text => Format::OpenMetrics,
            (Some(om), None) if om > 0.0 => Format::OpenMetrics,
            _ => Format::Text,
        }
    }
}

/// Appends the families to `out` in the given format. The OpenMetrics `# EOF`
/// trailer is not written here: the caller adds it once after all segments.
pub fn encode(families: &[Family], format: Format, out: &mut String) {
    for family in families {
        if family.samples.is_empty() {
            continue;
        }
        encode_header(family, format, out);
        encode_samples(family, out);
    }
}

/// Appends the `# HELP` and `# TYPE` lines of `family`. They are the only lines
/// that differ between the formats: a text 0.0.4 counter is named with `_total`,
/// an OpenMetrics one without.
pub fn encode_header(family: &Family, format: Format, out: &mut String) {
    let type_name = match family.kind {
        MetricType::Gauge => "gauge",
        MetricType::Counter => "counter",
        MetricType::Histogram => "histogram",
    };
    let total = match (format, family.kind) {
        (Format::Text, MetricType::Counter) => "_total",
        _ => "",
    };
    let name = &family.name;
    let _ = writeln!(out, "# HELP {name}{total} {}", escape_help(&family.help));
    let _ = writeln!(out, "# TYPE {name}{total} {type_name}");
}

/// Appends the sample lines of `family`, the same in both formats.
pub fn encode_samples(family: &Family, out: &mut String) {
    for sample in &family.samples {
        out.push_str(&family.name);
        out.push_str(sample.suffix);
        if !sample.labels.is_empty() {
            out.push('{');
            for (i, (k, v)) in sample.labels.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(k);
                out.push_str("=\"");
                escape_label_into(v, out);
                out.push('"');
            }
            out.push('}');
        }
        out.push(' ');
        write_value(sample.value, out);
        out.push('\n');
    }
}

/// The OpenMetrics trailer.
pub const OPENMETRICS_EOF: &str = "# EOF\n";

fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label_into(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Formats a sample value: integers without a fraction, special values as
/// Prometheus spells them.
pub fn format_value(v: f64) -> String {
    let mut s = String::new();
    write_value(v, &mut s);
    s
}

/// Appends `v` as [`format_value`] spells it, without an intermediate String.
pub fn write_value(v: f64, out: &mut String) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        let _ = write!(out, "{}", v as i64);
    } else {
        let _ = write!(out, "{v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_families() -> Vec<Family> {
        let mut g = Family::gauge("slurm_nodes", "Nodes by state");
        g.push(
            vec![("cluster", "lab".into()), ("state", "idle".into())],
            3.0,
        );
        let mut c = Family::counter("slurm_scheduler_jobs_submitted", "Jobs submitted");
        c.push(vec![], 12.0);
        let mut h = Family::histogram("x_seconds", "A histogram");
        let mut hist = Histogram::new(&[0.5, 1.0]);
        hist.observe(0.2);
        hist.observe(0.7);
        hist.observe(3.0);
        h.push_histogram(vec![("q", "a\"b\\c\nd".into())], &hist);
        vec![g, c, h]
    }

    #[test]
    fn text_format() {
        let mut out = String::new();
        encode(&sample_families(), Format::Text, &mut out);
        let expected = "\
# HELP slurm_nodes Nodes by state
# TYPE slurm_nodes gauge
slurm_nodes{cluster=\"lab\",state=\"idle\"} 3
# HELP slurm_scheduler_jobs_submitted_total Jobs submitted
# TYPE slurm_scheduler_jobs_submitted_total counter
slurm_scheduler_jobs_submitted_total 12
# HELP x_seconds A histogram
# TYPE x_seconds histogram
x_seconds_bucket{q=\"a\\\"b\\\\c\\nd\",le=\"0.5\"} 1
x_seconds_bucket{q=\"a\\\"b\\\\c\\nd\",le=\"1\"} 2
x_seconds_bucket{q=\"a\\\"b\\\\c\\nd\",le=\"+Inf\"} 3
x_seconds_sum{q=\"a\\\"b\\\\c\\nd\"} 3.9
x_seconds_count{q=\"a\\\"b\\\\c\\nd\"} 3
";
        assert_eq!(out, expected);
    }

    #[test]
    fn openmetrics_counter_header_has_no_total() {
        let mut out = String::new();
        encode(&sample_families(), Format::OpenMetrics, &mut out);
        assert!(out.contains("# TYPE slurm_scheduler_jobs_submitted counter\n"));
        assert!(out.contains("\nslurm_scheduler_jobs_submitted_total 12\n"));
    }

    #[test]
    fn negotiation() {
        assert_eq!(Format::negotiate(None), Format::Text);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Text);
        let prom = "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        assert_eq!(Format::negotiate(Some(prom)), Format::OpenMetrics);
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0")),
            Format::Text
        );
        assert_eq!(Format::negotiate(Some("garbage;;;q=x")), Format::Text);
    }

    #[test]
    fn values() {
        assert_eq!(format_value(1.0), "1");
        assert_eq!(format_value(0.25), "0.25");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(1.5e20), "150000000000000000000");
    }
}

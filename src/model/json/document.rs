//! The envelope every Slurm JSON response shares: `meta`, `errors`, `warnings`,
//! `last_update` (v0.0.40+) and the one key holding the data. The data key is
//! handed to a [`Body`], which consumes it element by element; every other key
//! is skipped without being stored.

use std::fmt;
use std::io::{BufReader, Read};
use std::marker::PhantomData;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::value::Num;
use super::Meta;
use crate::model::caps::{JsonRunCap, MAX_JSON_RUN_BYTES};
use crate::model::ParseError;

/// The data part of one kind of document.
pub(super) trait Body: Default {
    /// The key holding the data (`nodes`), for error messages.
    const KEY: &'static str;

    /// Reads the value of `key` if it belongs to the data and returns `true`;
    /// returns `false` (without reading) to have it skipped.
    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error>;

    /// Whether the data key was present (an empty array counts).
    fn found(&self) -> bool;

    /// Whether the data is an empty list: together with Slurm errors that is a
    /// failed query, not an empty cluster.
    fn is_empty(&self) -> bool {
        false
    }

    /// The error for a document that has neither the data nor Slurm errors.
    fn missing(&self) -> ParseError {
        ParseError::Json(de::Error::missing_field(Self::KEY))
    }
}

/// A parsed document.
pub(super) struct Document<B> {
    pub(super) body: B,
    pub(super) meta: Meta,
    pub(super) last_update: Option<i64>,
    /// Slurm's `warnings[]` (v0.0.39+), as text.
    pub(super) warnings: Vec<String>,
}

/// Reads one whole document from `reader`, streaming.
///
/// The reader is wrapped in a `BufReader` because serde_json reads byte by byte;
/// when the caller already buffers, this costs one extra copy, far cheaper than
/// unbuffered byte reads through a `dyn` reader.
///
/// A document without its data key is an error: [`ParseError::SlurmErrors`] with
/// Slurm's own messages when `errors[]` has any, otherwise a "missing field" error.
/// A document with both data and errors keeps the data, unless the data is an empty
/// list: 22.05 `squeue --json` answers a dead slurmctld with `"jobs": []`, an error
/// and exit code 0, which must not read as "no jobs".
pub(super) fn read_document<B: Body>(reader: impl Read) -> Result<Document<B>, ParseError> {
    let reader = JsonRunCap::new(reader, MAX_JSON_RUN_BYTES);
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(64 * 1024, reader));
    // serde_json's recursion limit (128 levels) bounds the nesting depth.
    let raw = serde::Deserializer::deserialize_map(&mut de, DocumentVisitor::<B>(PhantomData))
        .map_err(ParseError::from)?;
    de.end().map_err(ParseError::from)?;
    if !raw.body.found() || (raw.body.is_empty() && !raw.errors.is_empty()) {
        if !raw.errors.is_empty() {
            return Err(ParseError::SlurmErrors(raw.errors.join("; ")));
        }
        return Err(raw.body.missing());
    }
    Ok(Document {
        body: raw.body,
        meta: raw.meta,
        last_update: raw.last_update,
        warnings: raw.warnings,
    })
}

struct RawDocument<B> {
    body: B,
    meta: Meta,
    last_update: Option<i64>,
    errors: Vec<String>,
    warnings: Vec<String>,
}

struct DocumentVisitor<B>(PhantomData<B>);

impl<'de, B: Body> Visitor<'de> for DocumentVisitor<B> {
    type Value = RawDocument<B>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a Slurm response object with `{}`", B::KEY)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawDocument<B>, A::Error> {
        let mut doc = RawDocument {
            body: B::default(),
            meta: Meta::default(),
            last_update: None,
            errors: Vec::new(),
            warnings: Vec::new(),
        };
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                // Small: kept as a Value to tolerate every layout seen.
                "meta" => doc.meta = meta_from(&map.next_value::<Value>()?),
                "errors" => doc.errors = errors_from(map.next_value::<Value>()?),
                "warnings" => doc.warnings = errors_from(map.next_value::<Value>()?),
                "last_update" => doc.last_update = map.next_value::<Num>()?.timestamp(),
                other => {
                    if !doc.body.read(other, &mut map)? {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
        }
        Ok(doc)
    }
}

/// `meta.slurm` (v0.0.40+) or `meta.Slurm` (v0.0.37–39); `meta.plugin` or
/// `meta.plugins` (23.02 CLI).
fn meta_from(meta: &Value) -> Meta {
    let slurm = meta.get("slurm").or_else(|| meta.get("Slurm"));
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let release = text(slurm.and_then(|s| s.get("release")))
        .or_else(|| slurm.and_then(|s| s.get("version")).and_then(version_from));
    let cluster = text(slurm.and_then(|s| s.get("cluster")));
    let plugin = |p: &str, k: &str| meta.get(p).and_then(|p| p.get(k)).and_then(Value::as_str);
    let data_version = [
        plugin("plugin", "data_parser"),
        plugin("plugins", "data_parser"),
        plugin("plugin", "type"),
    ]
    .into_iter()
    .flatten()
    .find_map(api_version);
    Meta {
        release,
        cluster,
        data_version,
    }
}

/// `{major: 22, minor: 5, micro: 8}` (ints, v0.0.38) or strings (`"05"`, v0.0.40+)
/// → `22.05.8`.
fn version_from(version: &Value) -> Option<String> {
    let part = |k: &str, width: usize| match version.get(k)? {
        Value::Number(n) => n.as_u64().map(|n| format!("{n:0width$}")),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    };
    Some(format!(
        "{}.{}.{}",
        part("major", 1)?,
        part("minor", 2)?,
        part("micro", 1)?
    ))
}

/// `data_parser/v0.0.40`, `v0.0.39`, `openapi/v0.0.38`, `openapi/dbv0.0.38` →
/// the version; `openapi/slurmctld` and placeholders → `None`.
fn api_version(text: &str) -> Option<String> {
    let last = text.rsplit('/').next()?;
    let last = last.strip_prefix("db").unwrap_or(last);
    let last = last.split('+').next()?.trim();
    let mut chars = last.chars();
    (chars.next() == Some('v') && chars.next().is_some_and(|c| c.is_ascii_digit()))
        .then(|| last.to_string())
}

/// Slurm's `errors[]`: each entry's description (and error name when different).
fn errors_from(errors: Value) -> Vec<String> {
    let Value::Array(entries) = errors else {
        return Vec::new();
    };
    entries
        .into_iter()
        .map(|entry| match entry {
            Value::String(s) => s,
            Value::Object(o) => {
                let field = |k: &str| {
                    o.get(k)
                        .and_then(Value::as_str)
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                };
                match (field("description"), field("error")) {
                    (Some(d), Some(e)) if d != e => format!("{d} ({e})"),
                    (Some(d), _) => d.to_string(),
                    (None, Some(e)) => e.to_string(),
                    (None, None) => match o.get("error_number") {
                        Some(n) => format!("error {n}"),
                        None => Value::Object(o).to_string(),
                    },
                }
            }
            other => other.to_string(),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn meta_layouts() {
        let v38 = json!({"plugin": {"type": "openapi/v0.0.38", "name": "Slurm OpenAPI v0.0.38"},
            "Slurm": {"version": {"major": 22, "micro": 8, "minor": 5}, "release": "22.05.8"}});
        assert_eq!(
            meta_from(&v38),
            Meta {
                release: Some("22.05.8".into()),
                cluster: None,
                data_version: Some("v0.0.38".into())
            }
        );
        let v40 = json!({"plugin": {"type": "openapi/slurmctld", "data_parser": "data_parser/v0.0.40"},
            "slurm": {"version": {"major": "23", "micro": "1", "minor": "11"}, "release": "23.11.1", "cluster": "talapas"}});
        assert_eq!(
            meta_from(&v40),
            Meta {
                release: Some("23.11.1".into()),
                cluster: Some("talapas".into()),
                data_version: Some("v0.0.40".into())
            }
        );
        let cli_23_02 = json!({"plugins": {"data_parser": "data_parser/v0.0.39"},
            "Slurm": {"version": {"major": 23, "micro": 4, "minor": 2}}});
        assert_eq!(
            meta_from(&cli_23_02),
            Meta {
                release: Some("23.02.4".into()),
                cluster: None,
                data_version: Some("v0.0.39".into())
            }
        );
        assert_eq!(api_version("openapi/dbv0.0.38").as_deref(), Some("v0.0.38"));
        assert_eq!(api_version("v0.0.39").as_deref(), Some("v0.0.39"));
        assert_eq!(
            api_version("data_parser/v0.0.41+complex").as_deref(),
            Some("v0.0.41")
        );
        assert_eq!(api_version("openapi/slurmctld"), None);
        assert_eq!(api_version("data_parser"), None);
        assert_eq!(meta_from(&json!("weird")), Meta::default());
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn bare_infinity_is_a_syntax_error() {
        // Hand-edited sample with a bare `Infinity` (not JSON): skipped or not, the
        // document must fail cleanly.
        let file = crate::model::text::testdata::sample(
            "v0.0.40/shares__lcrownover_prometheus-slurm-exporter__V0040OpenapiSharesResp.json",
        );
        match super::super::parse_jobs(file) {
            Err(ParseError::Json(e)) => assert!(e.is_syntax(), "{e}"),
            other => panic!("unexpected {other:?}"),
        }
    }

    fn too_large(doc: &[u8]) -> Option<crate::model::caps::TooLarge> {
        match super::super::parse_jobs(doc) {
            Err(ParseError::TooLarge(t)) => Some(t),
            Err(e) => panic!("not a cap: {e}"),
            Ok(_) => None,
        }
    }

    #[test]
    fn a_json_string_over_the_cap_fails() {
        use crate::model::caps::MAX_JSON_RUN_BYTES;
        let doc = |len: usize| {
            format!(
                r#"{{"jobs": [{{"job_id": 1, "name": "{}", "job_state": "RUNNING"}}]}}"#,
                "n".repeat(len)
            )
        };
        assert_eq!(too_large(doc(1000).as_bytes()), None);
        let t = too_large(doc(MAX_JSON_RUN_BYTES + 1).as_bytes());
        assert_eq!(t.map(|t| t.what), Some("a JSON string"));
        // In a key, in the skipped envelope, escaped: the same.
        let key = format!(
            r#"{{"{}": 1, "jobs": []}}"#,
            "k".repeat(MAX_JSON_RUN_BYTES + 1)
        );
        assert!(too_large(key.as_bytes()).is_some());
        let escaped = format!(
            r#"{{"meta": "{}", "jobs": []}}"#,
            "\\\"".repeat(MAX_JSON_RUN_BYTES / 2 + 1)
        );
        assert!(too_large(escaped.as_bytes()).is_some());
    }

    #[test]
    fn more_records_than_the_cap_fail() {
        use crate::model::caps::MAX_RECORDS;
        let doc = |n: usize| {
            let mut d = String::from(r#"{"jobs": ["#);
            d.push_str(&"{},".repeat(n - 1));
            d.push_str("{}]}");
            d
        };
        assert_eq!(too_large(doc(MAX_RECORDS).as_bytes()), None);
        let t = too_large(doc(MAX_RECORDS + 1).as_bytes());
        assert_eq!(t, Some(crate::model::caps::TooLarge::RECORDS));
    }

    #[test]
    fn a_long_state_list_fails() {
        use crate::model::caps::MAX_LIST_ITEMS;
        let doc = format!(
            r#"{{"jobs": [{{"job_id": 1, "job_state": [{}"RUNNING"]}}]}}"#,
            r#""X","#.repeat(MAX_LIST_ITEMS)
        );
        let t = too_large(doc.as_bytes());
        assert_eq!(t, Some(crate::model::caps::TooLarge::LIST));
    }

    #[test]
    fn nesting_is_bounded_by_the_recursion_limit() {
        let doc = format!(
            r#"{{"meta": {}1{}, "jobs": []}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        match super::super::parse_jobs(doc.as_bytes()) {
            Err(ParseError::Json(e)) => assert!(e.to_string().contains("recursion limit"), "{e}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn error_texts() {
        let errors = json!([
            {"description": "Unable to query JobId=134", "error_number": 1007, "error": "Protocol authentication error", "source": "_handle_job_get"},
            {"error": "Invalid user"},
            {"error_number": 9},
            "plain"
        ]);
        assert_eq!(
            errors_from(errors),
            [
                "Unable to query JobId=134 (Protocol authentication error)",
                "Invalid user",
                "error 9",
                "plain"
            ]
        );
        assert!(errors_from(Value::Null).is_empty());
    }
}

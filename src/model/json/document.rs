//! The envelope every Slurm JSON response shares: `meta`, `errors`, `warnings`,
//! `last_update` (v0.0.40+) and the one key holding the data. The data key is
//! handed to a [`Body`], which consumes it element by element; `meta`, `errors`
//! and `warnings` are read into small bounded types (the few strings used, each
//! capped; at most [`MAX_MESSAGES`] messages); every other key is skipped without
//! being stored.

use std::fmt;
use std::io::{BufReader, Read};
use std::marker::PhantomData;

use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

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
                // Read into bounded types: only what is used is kept, capped.
                "meta" => {
                    doc.meta =
                        meta_from(map.next_value::<Lenient<RawMeta>>()?.0.unwrap_or_default())
                }
                "errors" => doc.errors = map.next_value::<Messages>()?.0,
                "warnings" => doc.warnings = map.next_value::<Messages>()?.0,
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

/// Most of Slurm's `errors[]` (or `warnings[]`) entries kept; the rest are skipped
/// without being stored and counted in one last entry (`(5 more)`). Slurm sends one
/// or two.
pub(super) const MAX_MESSAGES: usize = 16;

/// Longest text kept of one envelope string (an error's description, the release,
/// the cluster name); a longer one is cut at this many bytes (at a character
/// boundary) and ends with `…`. Slurm's messages are one line of ~100 bytes.
pub(super) const MAX_MESSAGE_BYTES: usize = 1024;

/// The `meta` block, as far as it is read: every other key (`client`, `command`,
/// whatever a version adds) is skipped with `IgnoredAny`, so no `meta` content
/// costs memory beyond the few capped strings below.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RawMeta {
    slurm: Lenient<RawSlurm>,
    #[serde(rename = "Slurm")]
    slurm_old: Lenient<RawSlurm>,
    plugin: Lenient<RawPlugin>,
    plugins: Lenient<RawPlugin>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawSlurm {
    release: Text,
    version: Lenient<RawVersion>,
    cluster: Text,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawVersion {
    major: Text,
    minor: Text,
    micro: Text,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawPlugin {
    data_parser: Text,
    #[serde(rename = "type")]
    kind: Text,
}

/// `meta.slurm` (v0.0.40+) or `meta.Slurm` (v0.0.37–39); `meta.plugin` or
/// `meta.plugins` (23.02 CLI).
fn meta_from(meta: RawMeta) -> Meta {
    let slurm = meta.slurm.0.or(meta.slurm_old.0).unwrap_or_default();
    let text = |t: Text| t.0.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let release = text(slurm.release).or_else(|| slurm.version.0.and_then(version_from));
    let cluster = text(slurm.cluster);
    let (plugin, plugins) = (
        meta.plugin.0.unwrap_or_default(),
        meta.plugins.0.unwrap_or_default(),
    );
    let data_version = [plugin.data_parser.0, plugins.data_parser.0, plugin.kind.0]
        .into_iter()
        .flatten()
        .find_map(|t| api_version(&t));
    Meta {
        release,
        cluster,
        data_version,
    }
}

/// `{major: 22, minor: 5, micro: 8}` (ints, v0.0.38) or strings (`"05"`, v0.0.40+)
/// → `22.05.8`.
fn version_from(version: RawVersion) -> Option<String> {
    let part = |t: Text, width: usize| {
        let s = t.0?;
        let s = s.trim();
        match s.parse::<u64>() {
            Ok(n) if t.1 => Some(format!("{n:0width$}")),
            _ if !s.is_empty() && !t.1 => Some(s.to_string()),
            _ => None,
        }
    };
    Some(format!(
        "{}.{}.{}",
        part(version.major, 1)?,
        part(version.minor, 2)?,
        part(version.micro, 1)?
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

/// Skips a value of any shape without storing it.
fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// `s` cut to [`MAX_MESSAGE_BYTES`] at a character boundary.
fn capped(s: &str) -> String {
    if s.len() <= MAX_MESSAGE_BYTES {
        return s.to_string();
    }
    let mut end = MAX_MESSAGE_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// An object read as `T`, anything else (a string, a list, ...) skipped as `None`:
/// envelopes vary between versions and a layout not understood must not fail the
/// document.
struct Lenient<T>(Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Lenient(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<fn() -> T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Lenient<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Lenient<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| Lenient(Some(t)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Lenient<T>, A::Error> {
                skip_seq(seq).map(|()| Lenient(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Lenient<T>, E> {
                Ok(Lenient(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Lenient<T>, E> {
                Ok(Lenient(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Lenient<T>, E> {
                Ok(Lenient(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Lenient<T>, E> {
                Ok(Lenient(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Lenient<T>, E> {
                Ok(Lenient(None))
            }
            fn visit_unit<E>(self) -> Result<Lenient<T>, E> {
                Ok(Lenient(None))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A string or number, capped ([`capped`]); the flag says it was a number.
/// Anything else is skipped as `None`.
#[derive(Default)]
struct Text(Option<String>, bool);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_str<E>(self, v: &str) -> Result<Text, E> {
                Ok(Text(Some(capped(v)), false))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string()), true))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string()), true))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string()), true))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Text, E> {
                Ok(Text::default())
            }
            fn visit_unit<E>(self) -> Result<Text, E> {
                Ok(Text::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Text, A::Error> {
                skip_seq(seq).map(|()| Text::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Text, A::Error> {
                skip_map(map).map(|()| Text::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// One entry of `errors[]`: `{description, error, error_number, ...}` or a string.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RawError {
    description: Text,
    error: Text,
    error_number: Text,
}

impl RawError {
    /// The description (and error name when different).
    fn text(self) -> String {
        let field = |t: Text| t.0.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        match (field(self.description), field(self.error)) {
            (Some(d), Some(e)) if d != e => format!("{d} ({e})"),
            (Some(d), _) => d,
            (None, Some(e)) => e,
            (None, None) => match self.error_number.0 {
                Some(n) => format!("error {n}"),
                None => "an error without description".to_string(),
            },
        }
    }
}

/// Slurm's `errors[]` or `warnings[]` as text: the first [`MAX_MESSAGES`] entries,
/// each capped, then `(N more)` when there were more; not a list → none.
#[derive(Default)]
struct Messages(Vec<String>);

impl<'de> Deserialize<'de> for Messages {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Messages;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of errors")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Messages, A::Error> {
                let mut kept = Vec::new();
                while kept.len() < MAX_MESSAGES {
                    match seq.next_element::<Entry>()? {
                        Some(Entry(Some(text))) => kept.push(text),
                        Some(Entry(None)) => {}
                        None => return Ok(Messages(kept)),
                    }
                }
                let mut more = 0u64;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    more += 1;
                }
                if more > 0 {
                    kept.push(format!("({more} more)"));
                }
                Ok(Messages(kept))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Messages, A::Error> {
                skip_map(map).map(|()| Messages::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<Messages, E> {
                Ok(Messages::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<Messages, E> {
                Ok(Messages::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<Messages, E> {
                Ok(Messages::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<Messages, E> {
                Ok(Messages::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<Messages, E> {
                Ok(Messages::default())
            }
            fn visit_unit<E>(self) -> Result<Messages, E> {
                Ok(Messages::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// One entry of [`Messages`]: an error object, a string, a number (`None`: a
/// list, `null` or a boolean, which say nothing).
struct Entry(Option<String>);

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an error")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Entry, A::Error> {
                RawError::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|e| Entry(Some(e.text())))
            }
            fn visit_str<E>(self, v: &str) -> Result<Entry, E> {
                Ok(Entry(Some(capped(v))))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Entry, E> {
                Ok(Entry(Some(v.to_string())))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Entry, E> {
                Ok(Entry(Some(v.to_string())))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Entry, E> {
                Ok(Entry(Some(v.to_string())))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Entry, E> {
                Ok(Entry(None))
            }
            fn visit_unit<E>(self) -> Result<Entry, E> {
                Ok(Entry(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Entry, A::Error> {
                skip_seq(seq).map(|()| Entry(None))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn meta(v: &Value) -> Meta {
        let raw: Lenient<RawMeta> = serde_json::from_value(v.clone()).unwrap();
        meta_from(raw.0.unwrap_or_default())
    }

    fn errors_from(v: Value) -> Vec<String> {
        serde_json::from_value::<Messages>(v).unwrap().0
    }

    #[test]
    fn meta_layouts() {
        let v38 = json!({"plugin": {"type": "openapi/v0.0.38", "name": "Slurm OpenAPI v0.0.38"},
            "Slurm": {"version": {"major": 22, "micro": 8, "minor": 5}, "release": "22.05.8"}});
        assert_eq!(
            meta(&v38),
            Meta {
                release: Some("22.05.8".into()),
                cluster: None,
                data_version: Some("v0.0.38".into())
            }
        );
        let v40 = json!({"plugin": {"type": "openapi/slurmctld", "data_parser": "data_parser/v0.0.40"},
            "slurm": {"version": {"major": "23", "micro": "1", "minor": "11"}, "release": "23.11.1", "cluster": "talapas"}});
        assert_eq!(
            meta(&v40),
            Meta {
                release: Some("23.11.1".into()),
                cluster: Some("talapas".into()),
                data_version: Some("v0.0.40".into())
            }
        );
        let cli_23_02 = json!({"plugins": {"data_parser": "data_parser/v0.0.39"},
            "Slurm": {"version": {"major": 23, "micro": 4, "minor": 2}}});
        assert_eq!(
            meta(&cli_23_02),
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
        assert_eq!(meta(&json!("weird")), Meta::default());
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
        // A nested value that is read (a number object in a number object ...)
        // stops at serde_json's recursion limit.
        let doc = format!(
            r#"{{"jobs": [{{"cpus": {}1{}}}]}}"#,
            r#"{"number":"#.repeat(200),
            "}".repeat(200)
        );
        match super::super::parse_jobs(doc.as_bytes()) {
            Err(ParseError::Json(e)) => assert!(e.to_string().contains("recursion limit"), "{e}"),
            other => panic!("{other:?}"),
        }
        // A skipped one (in `meta`, in a record) is skipped without recursion,
        // one byte of serde_json's scratch per level.
        let doc = format!(
            r#"{{"meta": {{"x": {}1{}}}, "jobs": [{{"x": {}}}]}}"#,
            "[".repeat(200),
            "]".repeat(200),
            "[".repeat(200) + &"]".repeat(200)
        );
        assert!(super::super::parse_jobs(doc.as_bytes()).is_ok());
    }

    #[test]
    fn envelope_messages_are_bounded() {
        // Past MAX_MESSAGES, entries are skipped and counted; each kept text is capped.
        let mut errors: Vec<Value> = (0..1000)
            .map(|i| json!({"error": format!("e{i}")}))
            .collect();
        errors[0] = json!({"description": "d".repeat(MAX_MESSAGE_BYTES * 3)});
        let kept = errors_from(Value::Array(errors));
        assert_eq!(kept.len(), MAX_MESSAGES + 1);
        assert_eq!(kept[0].len(), MAX_MESSAGE_BYTES + "…".len());
        assert_eq!(kept[1], "e1");
        assert_eq!(
            kept[MAX_MESSAGES],
            format!("({} more)", 1000 - MAX_MESSAGES)
        );
        // Nested values and other shapes are skipped, not kept.
        assert_eq!(
            errors_from(json!([[1, [2]], {"x": [3]}, null, true, 5])),
            ["an error without description", "5"]
        );
        assert!(errors_from(json!({"error": "not a list"})).is_empty());
        // The "no job changes" warning is seen among many.
        let mut warnings = vec![json!(0); 100_000];
        warnings[3] = json!({"description": super::super::NO_JOB_CHANGES});
        let doc = json!({"jobs": [], "warnings": warnings, "meta": {"slurm": {"cluster": "c"}, "x": vec![0; 1000]}});
        let r = super::super::parse_jobs(doc.to_string().as_bytes()).unwrap();
        assert!(r.jobs_unchanged());
        assert_eq!(r.warnings.len(), MAX_MESSAGES + 1);
        assert_eq!(r.meta.cluster.as_deref(), Some("c"));
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

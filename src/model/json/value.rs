//! Value shapes that changed between Slurm versions, each read into one Rust type.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::model::caps::{TooLarge, MAX_LIST_ITEMS, MAX_RECORDS};

/// Slurm's "no value" for 32-bit fields (`NO_VAL`, 0xfffffffe) and "unlimited"
/// (`INFINITE`, 0xffffffff), which leak as plain numbers in v0.0.37/38.
const NO_VAL: i128 = 0xffff_fffe;
const INFINITE: i128 = 0xffff_ffff;
/// The same for 64-bit fields (`NO_VAL64`, `INFINITE64`).
const NO_VAL64: i128 = 0xffff_ffff_ffff_fffe;
const INFINITE64: i128 = 0xffff_ffff_ffff_ffff;

/// A Slurm number in any of its JSON spellings:
/// - plain `60`, `-1`, `4294967294`, `null` (v0.0.37/38, and fields never wrapped);
/// - `{"set": true, "infinite": false, "number": 60}` (v0.0.39+): `set: false` is
///   unset, `infinite: true` is unlimited;
/// - `data_parser/...+complex`: `null`, `"Infinity"` or the plain number.
///
/// A missing field is [`Num::Unset`] (`#[serde(default)]`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) enum Num {
    #[default]
    Unset,
    Infinite,
    Int(i128),
    Float(f64),
}

impl Num {
    /// The value of a count, size or time field. Negative numbers (`-1` = unlimited,
    /// `-2` = NO_VAL64 seen through a signed type) and the 32/64-bit NO_VAL and
    /// INFINITE sentinels are `None`.
    pub(super) fn value(self) -> Option<u64> {
        match self {
            Num::Int(v) if v < 0 || matches!(v, NO_VAL | INFINITE | NO_VAL64 | INFINITE64) => None,
            Num::Int(v) => u64::try_from(v).ok(),
            Num::Float(f) if (0.0..1.8e19).contains(&f) => Some(f.round() as u64),
            _ => None,
        }
    }

    /// The value of a statistics counter: like [`Num::value`], but a counter that
    /// happens to equal a 32-bit sentinel is kept (only negative numbers and the
    /// 64-bit sentinels are dropped).
    pub(super) fn counter(self) -> Option<u64> {
        match self {
            Num::Int(v) if v < 0 || matches!(v, NO_VAL64 | INFINITE64) => None,
            Num::Int(v) => u64::try_from(v).ok(),
            other => other.value(),
        }
    }

    /// A time in seconds since the epoch; `0` (Slurm's "never") and sentinels are `None`.
    pub(super) fn timestamp(self) -> Option<i64> {
        self.value()
            .filter(|t| *t > 0)
            .and_then(|t| i64::try_from(t).ok())
    }

    /// The value as a float (sentinels excluded, as in [`Num::value`]).
    pub(super) fn float(self) -> Option<f64> {
        match self {
            Num::Float(f) if f.is_finite() && f >= 0.0 => Some(f),
            Num::Float(_) => None,
            other => other.value().map(|v| v as f64),
        }
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Num, D::Error> {
        deserializer.deserialize_any(NumVisitor)
    }
}

struct NumVisitor;

impl<'de> Visitor<'de> for NumVisitor {
    type Value = Num;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number, null, \"Infinity\" or {set, infinite, number}")
    }

    fn visit_u64<E>(self, v: u64) -> Result<Num, E> {
        Ok(Num::Int(v.into()))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Num, E> {
        Ok(Num::Int(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Num, E> {
        Ok(if v.is_finite() {
            Num::Float(v)
        } else {
            Num::Infinite
        })
    }

    fn visit_unit<E>(self) -> Result<Num, E> {
        Ok(Num::Unset)
    }

    fn visit_none<E>(self) -> Result<Num, E> {
        Ok(Num::Unset)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Num, D::Error> {
        d.deserialize_any(NumVisitor)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Num, E> {
        let v = v.trim();
        Ok(match v {
            "Infinity" | "infinity" | "INFINITE" | "UNLIMITED" | "unlimited" => Num::Infinite,
            _ => {
                if let Ok(i) = v.parse::<i128>() {
                    Num::Int(i)
                } else if let Ok(f) = v.parse::<f64>() {
                    Num::Float(f).filter_finite()
                } else {
                    // "", "N/A" and anything else that is not a number: no value.
                    Num::Unset
                }
            }
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Num, A::Error> {
        let mut set = None;
        let mut infinite = false;
        let mut number = Num::Unset;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Set => set = Some(map.next_value::<FlexBool>()?.0.unwrap_or(false)),
                Key::Infinite => infinite = map.next_value::<FlexBool>()?.0.unwrap_or(false),
                Key::Number => number = map.next_value::<Num>()?,
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(if infinite {
            Num::Infinite
        } else if set == Some(false) {
            Num::Unset
        } else {
            number
        })
    }
}

impl Num {
    fn filter_finite(self) -> Num {
        match self {
            Num::Float(f) if f.is_nan() => Num::Unset,
            Num::Float(f) if f.is_infinite() => Num::Infinite,
            other => other,
        }
    }
}

/// Keys of the `{set, infinite, number}` object.
enum Key {
    Set,
    Infinite,
    Number,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "set" => Key::Set,
                    "infinite" => Key::Infinite,
                    "number" => Key::Number,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}

/// A boolean however Slurm spells it: `true`, `1`, `"true"`, `"yes"`, `"UP"` (and
/// the opposites); `null` and anything else is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct FlexBool(pub(super) Option<bool>);

impl<'de> Deserialize<'de> for FlexBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FlexBool, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FlexBool;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a boolean")
            }
            fn visit_bool<E>(self, v: bool) -> Result<FlexBool, E> {
                Ok(FlexBool(Some(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<FlexBool, E> {
                Ok(FlexBool(Some(v != 0)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<FlexBool, E> {
                Ok(FlexBool(Some(v != 0)))
            }
            fn visit_str<E>(self, v: &str) -> Result<FlexBool, E> {
                let v = v.trim();
                Ok(FlexBool(
                    if ["true", "yes", "up", "1"]
                        .iter()
                        .any(|t| v.eq_ignore_ascii_case(t))
                    {
                        Some(true)
                    } else if ["false", "no", "down", "0"]
                        .iter()
                        .any(|t| v.eq_ignore_ascii_case(t))
                    {
                        Some(false)
                    } else {
                        None
                    },
                ))
            }
            fn visit_unit<E>(self) -> Result<FlexBool, E> {
                Ok(FlexBool(None))
            }
            fn visit_none<E>(self) -> Result<FlexBool, E> {
                Ok(FlexBool(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<FlexBool, D::Error> {
                d.deserialize_any(V)
            }
        }
        d.deserialize_any(V)
    }
}

/// A state that is a string in old versions (`"mixed"`, `"PENDING"`) and a list of
/// names in new ones (`["MIXED", "DRAIN"]`); `null` is an empty list.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Names {
    One(String),
    Many(Vec<String>),
}

impl Default for Names {
    fn default() -> Self {
        Names::Many(Vec::new())
    }
}

impl Names {
    /// Every name, upper-case, empty ones dropped.
    pub(super) fn upper(&self) -> Vec<String> {
        let all: Vec<&String> = match self {
            Names::One(s) => vec![s],
            Names::Many(v) => v.iter().collect(),
        };
        all.into_iter()
            .map(|s| s.trim().to_ascii_uppercase())
            .filter(|s| !s.is_empty())
            .collect()
    }
}

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Names, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Names;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E>(self, v: &str) -> Result<Names, E> {
                Ok(Names::One(v.to_string()))
            }
            fn visit_unit<E>(self) -> Result<Names, E> {
                Ok(Names::default())
            }
            fn visit_none<E>(self) -> Result<Names, E> {
                Ok(Names::default())
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Names, D::Error> {
                d.deserialize_any(V)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Names, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    if names.len() == MAX_LIST_ITEMS {
                        return Err(TooLarge::LIST.de_error());
                    }
                    names.push(name);
                }
                Ok(Names::Many(names))
            }
        }
        d.deserialize_any(V)
    }
}

/// A list inside a record (`partitions` of a node, a TRES list, ...): at most
/// [`MAX_LIST_ITEMS`] entries, more is [`TooLarge::LIST`]; `null` is empty. For
/// `#[serde(deserialize_with = "capped_list")]`.
pub(super) fn capped_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(capped_opt_list(d)?.unwrap_or_default())
}

/// [`capped_list`] keeping `null` apart from `[]` (`None`).
pub(super) fn capped_opt_list<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_any(ListVisitor::<T>(
        MAX_LIST_ITEMS,
        TooLarge::LIST,
        PhantomData,
    ))
}

/// A list of records nested in the data (the rows of `shares`, RPC statistics per
/// user): at most [`MAX_RECORDS`], more is [`TooLarge::RECORDS`]; `null` is `None`.
pub(super) fn record_list<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_any(ListVisitor::<T>(
        MAX_RECORDS,
        TooLarge::RECORDS,
        PhantomData,
    ))
}

/// Most steps of one accounting job read: 100,000, 2.5 times Slurm's default
/// `MaxStepCount` (40,000), the most steps slurmctld lets one job start.
pub(super) const MAX_STEPS: usize = 100_000;

/// A job's `steps[]` (sacct): at most [`MAX_STEPS`], more is [`TooLarge::LIST`].
pub(super) fn step_list<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_any(ListVisitor::<T>(MAX_STEPS, TooLarge::LIST, PhantomData))
}

/// A list of at most `.0` entries; past it, the error `.1`.
struct ListVisitor<T>(usize, TooLarge, PhantomData<fn() -> T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
    type Value = Option<Vec<T>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<T>()? {
            if items.len() == self.0 {
                return Err(self.1.de_error());
            }
            items.push(item);
        }
        Ok(Some(items))
    }
}

/// `Option<Vec<T>>` read with [`capped_opt_list`], for `next_value`.
pub(super) struct CappedList<T>(pub(super) Option<Vec<T>>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for CappedList<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        capped_opt_list(d).map(CappedList)
    }
}

/// `nodes` / `cpus` of a partition: a host list string in v0.0.38 (ignored), an
/// object with `total` in v0.0.39+.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Total(pub(super) Num);

impl<'de> Deserialize<'de> for Total {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Total, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Total;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an object with `total`")
            }
            fn visit_str<E>(self, _: &str) -> Result<Total, E> {
                Ok(Total(Num::Unset))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Total, E> {
                Ok(Total(Num::Int(v.into())))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Total, E> {
                Ok(Total(Num::Int(v.into())))
            }
            fn visit_unit<E>(self) -> Result<Total, E> {
                Ok(Total(Num::Unset))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Total, A::Error> {
                let mut total = Num::Unset;
                while let Some(key) = map.next_key::<TotalKey>()? {
                    match key {
                        TotalKey::Total => total = map.next_value()?,
                        TotalKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Total(total))
            }
        }
        d.deserialize_any(V)
    }
}

enum TotalKey {
    Total,
    Other,
}

impl<'de> Deserialize<'de> for TotalKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TotalKey, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = TotalKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E>(self, v: &str) -> Result<TotalKey, E> {
                Ok(if v == "total" {
                    TotalKey::Total
                } else {
                    TotalKey::Other
                })
            }
        }
        d.deserialize_identifier(V)
    }
}

/// Consumes a JSON array one element at a time, handing each element (read as
/// `R`) to `each`; the array itself is never held. `null` counts as absent
/// (`Ok(false)`).
pub(super) struct EachElement<'f, R, F> {
    each: &'f mut F,
    /// Most elements accepted, and the error past them.
    limit: (usize, TooLarge),
    _raw: PhantomData<fn() -> R>,
}

impl<'f, R, F> EachElement<'f, R, F> {
    /// At most [`MAX_RECORDS`] elements.
    pub(super) fn new(each: &'f mut F) -> Self {
        EachElement {
            each,
            limit: (MAX_RECORDS, TooLarge::RECORDS),
            _raw: PhantomData,
        }
    }

    /// At most `limit` elements, more is `error`.
    pub(super) fn with_limit(each: &'f mut F, limit: usize, error: TooLarge) -> Self {
        EachElement {
            each,
            limit: (limit, error),
            _raw: PhantomData,
        }
    }
}

impl<'de, R: Deserialize<'de>, F: FnMut(R)> DeserializeSeed<'de> for EachElement<'_, R, F> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, R: Deserialize<'de>, F: FnMut(R)> Visitor<'de> for EachElement<'_, R, F> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let mut count = 0usize;
        while let Some(element) = seq.next_element::<R>()? {
            count += 1;
            if count > self.limit.0 {
                return Err(self.limit.1.de_error());
            }
            (self.each)(element);
        }
        Ok(true)
    }

    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn num(json: &str) -> Num {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn number_spellings() {
        assert_eq!(num("60").value(), Some(60));
        assert_eq!(num("null").value(), None);
        assert_eq!(num("-1").value(), None);
        assert_eq!(num("-2").value(), None);
        assert_eq!(num("4294967294").value(), None);
        assert_eq!(num("4294967295").value(), None);
        assert_eq!(num("18446744073709551614").value(), None);
        assert_eq!(num("4294967296").value(), Some(4_294_967_296));
        assert_eq!(num("-9223372036854776000").value(), None);
        assert_eq!(
            num(r#"{"set":true,"infinite":false,"number":60}"#).value(),
            Some(60)
        );
        assert_eq!(
            num(r#"{"set":false,"infinite":false,"number":0}"#),
            Num::Unset
        );
        assert_eq!(
            num(r#"{"set":false,"infinite":true,"number":0}"#),
            Num::Infinite
        );
        assert_eq!(
            num(r#"{"number":7,"set":true,"infinite":true}"#),
            Num::Infinite
        );
        assert_eq!(num(r#"{"number":7,"extra":[1,{"a":2}]}"#).value(), Some(7));
        assert_eq!(num(r#""Infinity""#), Num::Infinite);
        assert_eq!(num(r#""23""#).value(), Some(23));
        assert_eq!(num(r#""N/A""#), Num::Unset);
        assert_eq!(num("1.5").float(), Some(1.5));
        assert!(serde_json::from_str::<Num>("[1]").is_err());
        assert!(serde_json::from_str::<Num>("true").is_err());
    }

    #[test]
    fn counters_keep_u32_sentinel_values() {
        assert_eq!(num("4294967294").counter(), Some(4_294_967_294));
        assert_eq!(num("18446744073709551615").counter(), None);
        assert_eq!(num("-5").counter(), None);
    }

    #[test]
    fn timestamps() {
        assert_eq!(num("0").timestamp(), None);
        assert_eq!(num("1796238759").timestamp(), Some(1_796_238_759));
        assert_eq!(
            num(r#"{"set":true,"infinite":false,"number":0}"#).timestamp(),
            None
        );
        assert_eq!(
            num(r#"{"set":true,"infinite":false,"number":1710797454}"#).timestamp(),
            Some(1_710_797_454)
        );
    }

    #[test]
    fn names_and_bools() {
        let one: Names = serde_json::from_str(r#""mixed""#).unwrap();
        assert_eq!(one.upper(), ["MIXED"]);
        let many: Names = serde_json::from_str(r#"["IDLE","drain",""]"#).unwrap();
        assert_eq!(many.upper(), ["IDLE", "DRAIN"]);
        let none: Names = serde_json::from_str("null").unwrap();
        assert!(none.upper().is_empty());
        for (json, want) in [
            ("true", Some(true)),
            ("0", Some(false)),
            (r#""UP""#, Some(true)),
            (r#""DOWN""#, Some(false)),
            ("null", None),
            (r#""maybe""#, None),
        ] {
            assert_eq!(
                serde_json::from_str::<FlexBool>(json).unwrap().0,
                want,
                "{json}"
            );
        }
    }

    #[test]
    fn totals() {
        let t: Total = serde_json::from_str(r#""n[1-4]""#).unwrap();
        assert_eq!(t.0, Num::Unset);
        let t: Total =
            serde_json::from_str(r#"{"allowed_allocation":"","configured":"cn[1-4]","total":4}"#)
                .unwrap();
        assert_eq!(t.0.value(), Some(4));
    }
}

//! Caps on unbounded label values (users, accounts, …): keep the top N by weight,
//! fold the rest into one `other` value, and count what was folded.
//!
//! A per-user or per-account series set grows with the site, so every family of
//! such series is *capped*. Its settings ([`CapLimit`], config key `caps.<family>`,
//! flags `--caps.<family>.top|allow|deny`, defaults from `caps.default`) are:
//! - `top`: how many values keep their own series, the heaviest first (ties by name);
//! - `allow`: values always kept, on top of the `top` N (exact names or `*` globs);
//! - `deny`: values never shown under their own name; they are folded into `other`
//!   like the rest, so sums over the label still add up to the cluster totals.
//!   Deny wins over allow.
//!
//! Values folded because of `top` are counted in
//! `slurm_exporter_series_dropped_total{family}` (denied values are a deliberate choice
//! and are not counted); the configured `top` is exported as
//! `slurm_exporter_series_cap{family}`. A real value spelled `other` is folded into the
//! `other` bucket too (it could not be told apart).
//!
//! Adding a capped family to a collector:
//! 1. add a [`CapFamily`] to [`FAMILIES`] (name, collector, what the values are);
//! 2. in the collector, gather `(label value, V)` pairs where `V: Fold` (a number, an
//!    array of numbers, …) and call `ctx.cap("family", pairs, |v| weight(v))`;
//! 3. emit one series per `kept` entry and, when `other` is `Some`, one with the label
//!    value [`OTHER`] (skip `other` for values that do not add up, such as ratios: the
//!    folded count is reported either way).
//!
//! ```ignore
//! let capped = ctx.cap("user", per_user, |v: &[u64; 4]| v[1] as f64);
//! for (user, v) in capped.iter() { /* push series with ("user", user) */ }
//! ```

use std::collections::BTreeMap;

/// The label value of the bucket that holds everything folded.
pub const OTHER: &str = "other";

/// The top N a family keeps when nothing is configured.
pub const DEFAULT_TOP: usize = 50;

/// A capped family: its config name, the collector that emits it, what it holds.
#[derive(Debug, Clone, Copy)]
pub struct CapFamily {
    pub name: &'static str,
    pub collector: &'static str,
    pub description: &'static str,
}

/// Every capped family (the names of `caps.<family>` and `--caps.<family>.*`).
pub const FAMILIES: &[CapFamily] = &[
    CapFamily {
        name: "user",
        collector: "users",
        description: "users of the users collector (slurm_user_*)",
    },
    CapFamily {
        name: "account",
        collector: "accounts",
        description: "accounts of the accounts collector (slurm_account_*)",
    },
    CapFamily {
        name: "rpc_user",
        collector: "rpc_users",
        description: "users of sdiag's RPC statistics (slurm_scheduler_user_*)",
    },
    CapFamily {
        name: "fairshare_user",
        collector: "fairshare_users",
        description: "users of the fair-share tree (slurm_user_fairshare_*), heaviest by raw usage",
    },
    CapFamily {
        name: "association_user",
        collector: "associations_users",
        description: "users' associations (slurm_user_association_*), heaviest by submitted jobs",
    },
];

/// Looks a capped family up by name.
pub fn find(name: &str) -> Option<&'static CapFamily> {
    FAMILIES.iter().find(|f| f.name == name)
}

/// The settings of one capped family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapLimit {
    pub top: usize,
    pub allow: Vec<String>,
    pub deny: Vec<String>,
}

impl Default for CapLimit {
    fn default() -> Self {
        CapLimit {
            top: DEFAULT_TOP,
            allow: Vec::new(),
            deny: Vec::new(),
        }
    }
}

/// The settings of every family; a family not listed gets `default`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapSettings {
    pub default: CapLimit,
    pub families: BTreeMap<&'static str, CapLimit>,
}

impl CapSettings {
    /// The settings in force for `family`.
    pub fn limit(&self, family: &str) -> &CapLimit {
        self.families.get(family).unwrap_or(&self.default)
    }
}

/// Values that can be folded together into `other` (summed).
pub trait Fold {
    fn fold(&mut self, other: &Self);
}

impl Fold for u64 {
    fn fold(&mut self, other: &Self) {
        *self = self.saturating_add(*other);
    }
}

impl Fold for f64 {
    fn fold(&mut self, other: &Self) {
        *self += *other;
    }
}

impl<T: Fold, const N: usize> Fold for [T; N] {
    fn fold(&mut self, other: &Self) {
        for (a, b) in self.iter_mut().zip(other) {
            a.fold(b);
        }
    }
}

impl<A: Fold, B: Fold> Fold for (A, B) {
    fn fold(&mut self, other: &Self) {
        self.0.fold(&other.0);
        self.1.fold(&other.1);
    }
}

/// The outcome of capping one family.
#[derive(Debug, Clone, PartialEq)]
pub struct Capped<V> {
    /// Values kept under their own name, sorted by name.
    pub kept: Vec<(String, V)>,
    /// Everything else summed, `None` when nothing was folded.
    pub other: Option<V>,
    /// Values folded because of `top` (what `series_dropped_total` counts).
    pub folded: usize,
    /// Values folded because of `deny` (or spelled `other`).
    pub denied: usize,
}

impl<V> Capped<V> {
    /// Kept values then `other`, as (label value, value).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.kept
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .chain(self.other.as_ref().map(|v| (OTHER, v)))
    }
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob_match(pattern: &str, value: &str) -> bool {
    let Some((first, rest)) = pattern.split_once('*') else {
        return pattern == value;
    };
    let Some(mut remaining) = value.strip_prefix(first) else {
        return false;
    };
    let mut parts: Vec<&str> = rest.split('*').collect();
    let last = parts.pop().unwrap_or_default();
    for part in parts {
        match remaining.find(part) {
            Some(i) => remaining = &remaining[i + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

fn matches_any(patterns: &[String], value: &str) -> bool {
    patterns.iter().any(|p| glob_match(p, value))
}

/// Caps `items` (label value → value; a repeated label value is folded into the
/// first) by `limit`, heaviest `weight` first.
pub fn cap<V: Fold>(
    items: impl IntoIterator<Item = (String, V)>,
    weight: impl Fn(&V) -> f64,
    limit: &CapLimit,
) -> Capped<V> {
    let mut merged: BTreeMap<String, V> = BTreeMap::new();
    for (k, v) in items {
        match merged.get_mut(&k) {
            Some(existing) => existing.fold(&v),
            None => {
                merged.insert(k, v);
            }
        }
    }
    let mut other: Option<V> = None;
    let mut fold_in = |v: V| match other.as_mut() {
        Some(o) => o.fold(&v),
        None => other = Some(v),
    };
    let mut denied = 0;
    let mut allowed = Vec::new();
    let mut ranked = Vec::new();
    for (k, v) in merged {
        if k == OTHER || matches_any(&limit.deny, &k) {
            denied += 1;
            fold_in(v);
        } else if matches_any(&limit.allow, &k) {
            allowed.push((k, v));
        } else {
            ranked.push((weight(&v), k, v));
        }
    }
    // Heaviest first, ties by name (the map gave name order; the sort is stable).
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let folded = ranked.len().saturating_sub(limit.top);
    let mut kept = allowed;
    for (i, (_, k, v)) in ranked.into_iter().enumerate() {
        if i < limit.top {
            kept.push((k, v));
        } else {
            fold_in(v);
        }
    }
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    Capped {
        kept,
        other,
        folded,
        denied,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(top: usize, allow: &[&str], deny: &[&str]) -> CapLimit {
        CapLimit {
            top,
            allow: allow.iter().map(|s| s.to_string()).collect(),
            deny: deny.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn items(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn keeps_the_heaviest_and_folds_the_rest() {
        let c = cap(
            items(&[("a", 5), ("b", 50), ("c", 10), ("d", 1), ("e", 10)]),
            |v| *v as f64,
            &limit(3, &[], &[]),
        );
        // b (50), then c and e tie at 10: both kept; a and d folded.
        assert_eq!(c.kept, items(&[("b", 50), ("c", 10), ("e", 10)]));
        assert_eq!(c.other, Some(6));
        assert_eq!((c.folded, c.denied), (2, 0));
        let all: Vec<(&str, u64)> = c.iter().map(|(k, v)| (k, *v)).collect();
        assert_eq!(all, [("b", 50), ("c", 10), ("e", 10), ("other", 6)]);
    }

    #[test]
    fn ties_are_broken_by_name() {
        let c = cap(
            items(&[("z", 1), ("y", 1), ("x", 1)]),
            |v| *v as f64,
            &limit(2, &[], &[]),
        );
        assert_eq!(c.kept, items(&[("x", 1), ("y", 1)]));
        assert_eq!((c.other, c.folded), (Some(1), 1));
    }

    #[test]
    fn nothing_folded_means_no_other() {
        let c = cap(items(&[("a", 1)]), |v| *v as f64, &limit(5, &[], &[]));
        assert_eq!(c.kept, items(&[("a", 1)]));
        assert_eq!((c.other, c.folded, c.denied), (None, 0, 0));
        let empty = cap(
            Vec::<(String, u64)>::new(),
            |v| *v as f64,
            &limit(0, &[], &[]),
        );
        assert_eq!(empty.iter().count(), 0);
    }

    #[test]
    fn allow_is_kept_beyond_top_and_deny_is_folded_uncounted() {
        let c = cap(
            items(&[
                ("root", 100),
                ("big", 90),
                ("small", 1),
                ("vip", 0),
                ("svc-a", 7),
            ]),
            |v| *v as f64,
            &limit(1, &["vip", "svc-a"], &["root", "svc-*"]),
        );
        // root and svc-a denied (deny wins over allow); vip allowed; big is the top 1.
        assert_eq!(c.kept, items(&[("big", 90), ("vip", 0)]));
        assert_eq!(c.other, Some(108));
        assert_eq!((c.folded, c.denied), (1, 2));
    }

    #[test]
    fn top_zero_folds_everything_but_the_allow_list() {
        let c = cap(
            items(&[("a", 1), ("b", 2)]),
            |v| *v as f64,
            &limit(0, &["b"], &[]),
        );
        assert_eq!(c.kept, items(&[("b", 2)]));
        assert_eq!((c.other, c.folded), (Some(1), 1));
    }

    #[test]
    fn a_value_named_other_joins_the_bucket_and_repeats_merge() {
        let c = cap(
            items(&[("other", 3), ("a", 1), ("a", 2), ("b", 1)]),
            |v| *v as f64,
            &limit(1, &[], &[]),
        );
        assert_eq!(c.kept, items(&[("a", 3)]));
        assert_eq!(c.other, Some(4));
        assert_eq!((c.folded, c.denied), (1, 1));
        assert_eq!(c.iter().filter(|(k, _)| *k == OTHER).count(), 1);
    }

    #[test]
    fn arrays_and_pairs_fold_element_wise() {
        let c = cap(
            vec![
                ("a".to_string(), ([1u64, 2], 0.5f64)),
                ("b".to_string(), ([10, 20], 1.5)),
                ("c".to_string(), ([100, 200], 2.0)),
            ],
            |v| v.0[0] as f64,
            &limit(1, &[], &[]),
        );
        assert_eq!(c.other, Some(([11, 22], 2.0)));
    }

    #[test]
    fn globs() {
        for (p, v, want) in [
            ("root", "root", true),
            ("root", "roots", false),
            ("svc-*", "svc-backup", true),
            ("svc-*", "svc-", true),
            ("svc-*", "xsvc-a", false),
            ("*bot", "slackbot", true),
            ("*bot", "bots", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "acb", false),
            ("ab*ba", "aba", false),
            ("*", "", true),
        ] {
            assert_eq!(glob_match(p, v), want, "{p} vs {v}");
        }
    }
}

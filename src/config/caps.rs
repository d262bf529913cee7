//! `caps.*`: the settings of the capped (per-user, per-account) families, raw and
//! validated (see `collectors::cap`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{invalid, ConfigError};
use crate::collectors::cap::{self, CapLimit, CapSettings};

/// Settings of one capped family; unset fields come from `caps.default`.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCap {
    /// Values kept under their own name, heaviest first.
    pub top: Option<usize>,
    /// Values always kept (exact names or `*` globs).
    pub allow: Option<Vec<String>>,
    /// Values folded into `other` (exact names or `*` globs); wins over `allow`.
    pub deny: Option<Vec<String>>,
}

/// Validates `caps.*`: known family names, patterns that are not empty; a family's
/// unset fields take `caps.default`'s.
pub(super) fn cap_settings(raw: &BTreeMap<String, RawCap>) -> Result<CapSettings, ConfigError> {
    fn patterns(key: &str, list: Option<&Vec<String>>) -> Result<Option<Vec<String>>, ConfigError> {
        let Some(list) = list else { return Ok(None) };
        let mut out = Vec::with_capacity(list.len());
        for p in list {
            let p = p.trim();
            if p.is_empty() {
                return Err(invalid(key, "an empty name matches nothing; remove it"));
            }
            out.push(p.to_string());
        }
        Ok(Some(out))
    }
    let base = CapLimit::default();
    let raw_default = raw.get("default").cloned().unwrap_or_default();
    let default = CapLimit {
        top: raw_default.top.unwrap_or(base.top),
        allow: patterns("caps.default.allow", raw_default.allow.as_ref())?.unwrap_or_default(),
        deny: patterns("caps.default.deny", raw_default.deny.as_ref())?.unwrap_or_default(),
    };
    let mut settings = CapSettings {
        default: default.clone(),
        families: BTreeMap::new(),
    };
    for (name, r) in raw {
        if name == "default" {
            continue;
        }
        let Some(family) = cap::find(name) else {
            let known: Vec<&str> = cap::FAMILIES.iter().map(|f| f.name).collect();
            return Err(invalid(
                &format!("caps.{name}"),
                format!(
                    "unknown capped family (known: default, {})",
                    known.join(", ")
                ),
            ));
        };
        let limit = CapLimit {
            top: r.top.unwrap_or(default.top),
            allow: patterns(&format!("caps.{name}.allow"), r.allow.as_ref())?
                .unwrap_or_else(|| default.allow.clone()),
            deny: patterns(&format!("caps.{name}.deny"), r.deny.as_ref())?
                .unwrap_or_else(|| default.deny.clone()),
        };
        settings.families.insert(family.name, limit);
    }
    Ok(settings)
}

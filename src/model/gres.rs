//! Generic resources (GRES: GPUs, MIG slices, shards, MPS, …) as nodes report
//! them, configured and in use.
//!
//! Forms read ([`parse_gres`]), from `Gres=`/`GresUsed=` of `scontrol -d show node`
//! and JSON `gres`/`gres_used`, comma-separated:
//! - `gpu:a100:4(S:0-1)` (configured, with the sockets it is close to),
//!   `gpu:a100:2(IDX:0-1)` / `gpu:a100:3(IDX:0,2-3)` (in use, with indexes; the
//!   parentheses may hold commas), `gpu:a100:0(IDX:N/A)`;
//! - `gpu:8` (no type), `gpu:(null):8(IDX:0-7)` (in use, no type), `gpu:0`;
//! - `gpu:1g.10gb:7` (MIG profiles are types), `shard:a100:16`, `mps:400`;
//! - counts with a suffix (`bandwidth:4G` = 4·1024³), `no_consume` markers.
//!
//! And from TRES strings ([`parse_tres_gres`]), `CfgTRES`/`AllocTRES` or JSON
//! `tres`/`tres_used`: `gres/gpu=4`, `gres/gpu:a100=2` (only when
//! `AccountingStorageTRES` tracks them). An item that does not parse is left
//! out, never guessed.

use super::caps::{TooLarge, MAX_LIST_ITEMS};

/// One GRES entry: name (`gpu`, `shard`, `mps`), type or model (`a100`,
/// `1g.10gb`; `None` when untyped) and count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gres {
    pub name: String,
    pub model: Option<String>,
    pub count: u64,
}

impl Gres {
    pub fn new(name: &str, model: Option<&str>, count: u64) -> Gres {
        Gres {
            name: name.to_string(),
            model: model.map(str::to_string),
            count,
        }
    }
}

fn is_unset(value: &str) -> bool {
    matches!(value.trim(), "" | "(null)" | "N/A" | "none" | "None")
}

/// Parses a GRES list; entries with the same name and model are added up
/// (`gpu:a100:2(S:0),gpu:a100:2(S:1)` → 4). A list over the caps of
/// [`capped_gres`] is empty here (a job's request: it only loses its GPU count).
pub fn parse_gres(list: &str) -> Vec<Gres> {
    capped_gres(list).unwrap_or_default()
}

/// [`parse_gres`] for a node's `Gres=`: more than [`MAX_LIST_ITEMS`] items, or
/// more than [`MAX_GRES_KINDS`] distinct name/model pairs, is [`TooLarge::LIST`].
pub fn capped_gres(list: &str) -> Result<Vec<Gres>, TooLarge> {
    let mut out: Vec<Gres> = Vec::new();
    if is_unset(list) {
        return Ok(out);
    }
    for (i, item) in split_outside_parentheses(list).enumerate() {
        if i == MAX_LIST_ITEMS {
            return Err(TooLarge::LIST);
        }
        if let Some(g) = parse_item(item.trim()) {
            add(&mut out, g)?;
        }
    }
    Ok(out)
}

/// The `gres/…` entries of a TRES list (`cpu=4,mem=4000M,gres/gpu=4,gres/gpu:a100=4`);
/// empty over the caps of [`capped_tres_gres`].
pub fn parse_tres_gres(tres: &str) -> Vec<Gres> {
    capped_tres_gres(tres).unwrap_or_default()
}

/// [`parse_tres_gres`] for a node's `CfgTRES=`/`AllocTRES=`, capped as [`capped_gres`].
pub fn capped_tres_gres(tres: &str) -> Result<Vec<Gres>, TooLarge> {
    let mut out: Vec<Gres> = Vec::new();
    for (i, item) in tres.split(',').enumerate() {
        if i == MAX_LIST_ITEMS {
            return Err(TooLarge::LIST);
        }
        let Some((key, value)) = item.trim().split_once('=') else {
            continue;
        };
        let Some(gres) = key.strip_prefix("gres/") else {
            continue;
        };
        let Some(count) = parse_count(value) else {
            continue;
        };
        let (name, model) = match gres.split_once(':') {
            Some((n, m)) => (n, Some(m)),
            None => (gres, None),
        };
        if name.is_empty() {
            continue;
        }
        add(
            &mut out,
            Gres::new(name, model.filter(|m| !m.is_empty()), count),
        )?;
    }
    Ok(out)
}

/// Most distinct GRES (name and model) of one node: 256. A node has a few
/// (`gpu`, `shard`, `mps`, a model or MIG profiles per GPU kind); this keeps
/// the linear merge in [`add`] cheap on a hostile list.
pub const MAX_GRES_KINDS: usize = 256;

fn add(out: &mut Vec<Gres>, g: Gres) -> Result<(), TooLarge> {
    let full = out.len() == MAX_GRES_KINDS;
    match out
        .iter_mut()
        .find(|o| o.name == g.name && o.model == g.model)
    {
        Some(existing) => existing.count = existing.count.saturating_add(g.count),
        None if full => return Err(TooLarge::LIST),
        None => out.push(g),
    }
    Ok(())
}

/// The items of `list` split at commas outside parentheses, one at a time (no
/// list of them is built).
fn split_outside_parentheses(list: &str) -> impl Iterator<Item = &str> {
    let mut depth = 0usize;
    let mut start = 0;
    let mut chars = list.char_indices();
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        for (i, c) in chars.by_ref() {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    let item = &list[start..i];
                    start = i + 1;
                    return Some(item);
                }
                _ => {}
            }
        }
        done = true;
        Some(&list[start..])
    })
}

fn parse_item(item: &str) -> Option<Gres> {
    if item.is_empty() {
        return None;
    }
    // A trailing `(S:…)` or `(IDX:…)`; `(null)` as a type stays.
    let base = match item
        .strip_suffix(')')
        .and_then(|s| s.rfind('(').map(|p| (s, p)))
    {
        Some((s, p)) if s[p + 1..].starts_with("S:") || s[p + 1..].starts_with("IDX:") => {
            &item[..p]
        }
        _ => item,
    };
    let parts: Vec<&str> = base
        .split(':')
        .map(str::trim)
        .filter(|p| !p.eq_ignore_ascii_case("no_consume"))
        .collect();
    let (name, rest) = parts.split_first()?;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return None;
    }
    let (count, model_parts) = match rest.split_last() {
        Some((last, before)) => match parse_count(last) {
            Some(n) => (n, before),
            None => (1, rest),
        },
        None => (1, rest),
    };
    let model = model_parts.join(":");
    let model = (!model.is_empty() && model != "(null)").then_some(model);
    Some(Gres {
        name: name.to_string(),
        model,
        count,
    })
}

/// `4`, `16K`, `4G` (powers of 1024, as Slurm counts GRES).
fn parse_count(value: &str) -> Option<u64> {
    let value = value.trim();
    let (digits, factor) = match value.char_indices().last()? {
        (i, 'k' | 'K') => (&value[..i], 1u64 << 10),
        (i, 'm' | 'M') => (&value[..i], 1 << 20),
        (i, 'g' | 'G') => (&value[..i], 1 << 30),
        (i, 't' | 'T') => (&value[..i], 1 << 40),
        (i, 'p' | 'P') => (&value[..i], 1 << 50),
        _ => (value, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(name: &str, model: Option<&str>, count: u64) -> Gres {
        Gres::new(name, model, count)
    }

    #[test]
    fn configured_and_used_forms() {
        assert_eq!(parse_gres("gpu:a100:4(S:0-1)"), [g("gpu", Some("a100"), 4)]);
        assert_eq!(
            parse_gres("gpu:a100:2(IDX:0-1)"),
            [g("gpu", Some("a100"), 2)]
        );
        assert_eq!(
            parse_gres("gpu:1g.10gb:9(IDX:0-3,5-9),shard:a100:16(S:0-1)"),
            [g("gpu", Some("1g.10gb"), 9), g("shard", Some("a100"), 16)]
        );
        assert_eq!(parse_gres("gpu:1g.10gb:7"), [g("gpu", Some("1g.10gb"), 7)]);
        assert_eq!(parse_gres("gpu:8(S:0-1)"), [g("gpu", None, 8)]);
        assert_eq!(parse_gres("gpu:(null):8(IDX:0-7)"), [g("gpu", None, 8)]);
        assert_eq!(parse_gres("gpu:0"), [g("gpu", None, 0)]);
        assert_eq!(
            parse_gres("gpu:a100:0(IDX:N/A)"),
            [g("gpu", Some("a100"), 0)]
        );
        assert_eq!(
            parse_gres("gpu:h100:2,gpu:h200:4"),
            [g("gpu", Some("h100"), 2), g("gpu", Some("h200"), 4)]
        );
        assert_eq!(
            parse_gres("gpu:tesla:2(S:0),gpu:tesla:2(S:1)"),
            [g("gpu", Some("tesla"), 4)]
        );
        assert_eq!(
            parse_gres("gpu:nvidia_a100_80gb_pcie:3(S:1)"),
            [g("gpu", Some("nvidia_a100_80gb_pcie"), 3)]
        );
        assert_eq!(parse_gres("mps:400"), [g("mps", None, 400)]);
        assert_eq!(
            parse_gres("bandwidth:lustre:no_consume:4G"),
            [g("bandwidth", Some("lustre"), 4 << 30)]
        );
        assert_eq!(parse_gres("gpu"), [g("gpu", None, 1)]);
        assert!(parse_gres("(null)").is_empty());
        assert!(parse_gres("").is_empty());
        assert!(parse_gres("N/A").is_empty());
        // garbage items are left out, the rest kept
        assert_eq!(
            parse_gres(":3,gpu:fake:2(IDX:0-1),(weird"),
            [g("gpu", Some("fake"), 2)]
        );
    }

    #[test]
    fn tres_forms() {
        assert_eq!(
            parse_tres_gres("cpu=128,mem=1612647M,billing=128,gres/gpu=8"),
            [g("gpu", None, 8)]
        );
        assert_eq!(
            parse_tres_gres("cpu=4,gres/gpu=4,gres/gpu:a100=4,gres/shard=16"),
            [
                g("gpu", None, 4),
                g("gpu", Some("a100"), 4),
                g("shard", None, 16)
            ]
        );
        assert!(parse_tres_gres("cpu=4,mem=4000M").is_empty());
        assert!(parse_tres_gres("").is_empty());
        assert!(parse_tres_gres("gres/gpu=x").is_empty());
    }
}

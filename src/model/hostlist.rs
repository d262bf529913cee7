//! Slurm host lists: `n[1-3,5],f[1-2]` → `n1 n2 n3 n5 f1 f2`.
//!
//! The forms Slurm prints: names separated by commas; a bracket holds a
//! comma-separated list of numbers and ranges, zero-padded ranges keep their
//! width (`gpu[08-10]` → `gpu08 gpu09 gpu10`); several brackets in one name
//! multiply (`r[1-2]n[1-2]` → `r1n1 r1n2 r2n1 r2n2`). Spaces around names are
//! ignored. A malformed list is an error, never a guess, and the expansion is
//! capped so a hostile or broken list cannot exhaust memory.

/// Largest number of names one list may expand to: 200,000, five times the
/// largest Slurm systems (10,000–40,000 nodes).
pub const MAX_HOSTS: usize = 200_000;

/// Largest number of bytes the names of one list may take together: 16 MiB,
/// 200,000 names of 64 bytes (`HOST_NAME_MAX`) and more. A long name with two
/// brackets (`<1 KB of name>[0-999][0-999]`) stays under `MAX_HOSTS` yet would
/// take a gigabyte. With each name's own allocation, one expansion holds at most
/// ~30 MB, and only while one reservation is counted.
pub const MAX_BYTES: usize = 16 * 1024 * 1024;

/// Widest zero-padded number accepted (`n[0001-0010]` has width 4).
const MAX_WIDTH: usize = 64;

/// Why a host list could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostlistError {
    #[error("unbalanced brackets in host list {0:?}")]
    Brackets(String),
    #[error("bad range {0:?} in host list")]
    Range(String),
    #[error("host list expands to more than {MAX_HOSTS} names or {MAX_BYTES} bytes")]
    TooLarge,
}

/// Expands a host list into its names, in the order written. `""`, `(null)` and
/// `N/A` are the empty list.
pub fn expand(list: &str) -> Result<Vec<String>, HostlistError> {
    let list = list.trim();
    if matches!(list, "" | "(null)" | "N/A" | "None") {
        return Ok(Vec::new());
    }
    let mut names = Vec::new();
    let mut bytes_left = MAX_BYTES;
    for item in split_top_level(list)? {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        expand_one(item, &mut names, &mut bytes_left)?;
    }
    Ok(names)
}

/// Splits at commas that are outside brackets.
fn split_top_level(list: &str) -> Result<Vec<&str>, HostlistError> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in list.char_indices() {
        match c {
            '[' if depth == 0 => depth = 1,
            ']' if depth == 1 => depth = 0,
            '[' | ']' => return Err(HostlistError::Brackets(list.to_string())),
            ',' if depth == 0 => {
                items.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(HostlistError::Brackets(list.to_string()));
    }
    items.push(&list[start..]);
    Ok(items)
}

/// Expands one name with zero or more bracket groups, appending to `out`.
fn expand_one(
    item: &str,
    out: &mut Vec<String>,
    bytes_left: &mut usize,
) -> Result<(), HostlistError> {
    let mut prefixes = vec![String::new()];
    let mut rest = item;
    while let Some(open) = rest.find('[') {
        let close = rest[open..]
            .find(']')
            .map(|c| open + c)
            .ok_or_else(|| HostlistError::Brackets(item.to_string()))?;
        let literal = &rest[..open];
        let numbers = bracket_values(&rest[open + 1..close])?;
        let size = prefixes.len().saturating_mul(numbers.len());
        if size.saturating_add(out.len()) > MAX_HOSTS {
            return Err(HostlistError::TooLarge);
        }
        let longest = longest(&prefixes) + literal.len() + longest(&numbers);
        if size.saturating_mul(longest) > *bytes_left {
            return Err(HostlistError::TooLarge);
        }
        let mut next = Vec::with_capacity(size);
        for p in &prefixes {
            for n in &numbers {
                next.push(format!("{p}{literal}{n}"));
            }
        }
        prefixes = next;
        rest = &rest[close + 1..];
    }
    if rest.contains(']') {
        return Err(HostlistError::Brackets(item.to_string()));
    }
    if out.len().saturating_add(prefixes.len()) > MAX_HOSTS {
        return Err(HostlistError::TooLarge);
    }
    let bytes = prefixes
        .len()
        .saturating_mul(longest(&prefixes) + rest.len());
    if bytes > *bytes_left {
        return Err(HostlistError::TooLarge);
    }
    *bytes_left -= bytes;
    out.extend(prefixes.into_iter().map(|p| format!("{p}{rest}")));
    Ok(())
}

fn longest(strings: &[String]) -> usize {
    strings.iter().map(String::len).max().unwrap_or(0)
}

/// `1-3,5,08-10` → `["1", "2", "3", "5", "08", "09", "10"]`.
fn bracket_values(inner: &str) -> Result<Vec<String>, HostlistError> {
    let mut values = Vec::new();
    for part in inner.split(',') {
        let part = part.trim();
        let bad = || HostlistError::Range(part.to_string());
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        match part.split_once('-') {
            Some((lo, hi)) => {
                if !digits(lo) || !digits(hi) {
                    return Err(bad());
                }
                let width = if lo.len() > 1 && lo.starts_with('0') {
                    lo.len()
                } else {
                    0
                };
                // Host names are at most 64 bytes; a wider padding is not a host
                // list (and `format!` panics on widths above 65535).
                if width > MAX_WIDTH {
                    return Err(bad());
                }
                let lo_n: u64 = lo.parse().map_err(|_| bad())?;
                let hi_n: u64 = hi.parse().map_err(|_| bad())?;
                if hi_n < lo_n {
                    return Err(bad());
                }
                if (hi_n - lo_n) as usize >= MAX_HOSTS.saturating_sub(values.len()) {
                    return Err(HostlistError::TooLarge);
                }
                values.extend((lo_n..=hi_n).map(|n| format!("{n:0width$}")));
            }
            None if digits(part) => values.push(part.to_string()),
            None => return Err(bad()),
        }
    }
    Ok(values)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn names(list: &str) -> Vec<String> {
        expand(list).unwrap()
    }

    #[test]
    fn forms_slurm_prints() {
        assert_eq!(
            names("n[1-3,5],f[1-2]"),
            ["n1", "n2", "n3", "n5", "f1", "f2"]
        );
        assert_eq!(names("n1,n2"), ["n1", "n2"]);
        assert_eq!(names("login"), ["login"]);
        assert_eq!(names("gpu[08-10]"), ["gpu08", "gpu09", "gpu10"]);
        assert_eq!(names("gpu[098-100]"), ["gpu098", "gpu099", "gpu100"]);
        assert_eq!(names("r[1-2]n[1-2]"), ["r1n1", "r1n2", "r2n1", "r2n2"]);
        assert_eq!(names("node[1-2]-ib"), ["node1-ib", "node2-ib"]);
        assert_eq!(names(" n[1, 3] , x "), ["n1", "n3", "x"]);
        assert!(names("").is_empty());
        assert!(names("(null)").is_empty());
        assert_eq!(names("n[7]"), ["n7"]);
    }

    #[test]
    fn malformed_lists_are_errors() {
        assert!(matches!(expand("n[1-3"), Err(HostlistError::Brackets(_))));
        assert!(matches!(expand("n1-3]"), Err(HostlistError::Brackets(_))));
        assert!(matches!(expand("n[[1]]"), Err(HostlistError::Brackets(_))));
        assert!(matches!(expand("n[3-1]"), Err(HostlistError::Range(_))));
        assert!(matches!(expand("n[a-b]"), Err(HostlistError::Range(_))));
        assert!(matches!(expand("n[]"), Err(HostlistError::Range(_))));
        assert_eq!(expand("n[0-99999999999]"), Err(HostlistError::TooLarge));
        assert_eq!(
            expand("a[0-999]b[0-999]c[0-9]"),
            Err(HostlistError::TooLarge)
        );
    }

    #[test]
    fn bytes_are_capped_too() {
        // 100,000 names of 1 KB each: under MAX_HOSTS, over MAX_BYTES.
        let long = format!("{}[0-99][0-999]", "x".repeat(1000));
        assert_eq!(expand(&long), Err(HostlistError::TooLarge));
        let long_tail = format!("[0-99][0-999]{}", "x".repeat(1000));
        assert_eq!(expand(&long_tail), Err(HostlistError::TooLarge));
        let many = vec![format!("{}[0-999]", "x".repeat(1000)); 20].join(",");
        assert_eq!(expand(&many), Err(HostlistError::TooLarge));
        // A padding wider than format! allows used to panic.
        let padded = format!("n[{}-{}]", "0".repeat(100_000), "0".repeat(99_999) + "9");
        assert!(matches!(expand(&padded), Err(HostlistError::Range(_))));
        let wide = format!("n[{}-{}9]", "0".repeat(64), "0".repeat(63));
        assert!(expand(&wide).is_ok_and(|n| n.len() == 10 && n[9].len() == 65));
        assert_eq!(names("n[1-2]x,m").len(), 3);
    }
}

//! `sshare -a -P -o …` ([`SSHARE_FORMAT`]): the fair-share tree, one `|`-separated
//! row per association, accounts indented by their depth in the Account column
//! (`root`, ` physics`, `  physics|labuser`). Columns are found by the header's
//! names, so a release that adds, drops or reorders columns still parses; a
//! column Slurm does not print is `None`.

use std::io::BufRead;

use super::Lines;
use crate::model::caps::{TooLarge, MAX_LIST_ITEMS};
use crate::model::{ParseError, ShareRow, Shares};

/// The columns asked of `sshare -o`.
pub const SSHARE_FORMAT: &str =
    "Account,User,Partition,RawShares,NormShares,RawUsage,NormUsage,EffectvUsage,FairShare,LevelFS";

/// Parses `sshare -a -P -o` [`SSHARE_FORMAT`] output (with its header line).
pub fn parse_sshare(reader: impl BufRead) -> Result<Shares, ParseError> {
    let mut lines = Lines::new(reader);
    let mut columns: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    while let Some((number, line)) = lines.next_line()? {
        if line.trim().is_empty() {
            continue;
        }
        // At most one field past the cap is collected (16 bytes each: a line of
        // `|` would cost 16 times its size).
        let fields: Vec<&str> = line.split('|').take(MAX_LIST_ITEMS + 1).collect();
        if fields.len() > MAX_LIST_ITEMS {
            return Err(TooLarge::LIST.into());
        }
        let Some(names) = columns.as_ref() else {
            if !fields.iter().any(|f| f.trim() == "Account") {
                return Err(ParseError::Text {
                    line: number,
                    message: format!(
                        "expected the sshare header (Account|User|…), got {:?}",
                        line.chars().take(80).collect::<String>()
                    ),
                });
            }
            columns = Some(fields.iter().map(|f| f.trim().to_string()).collect());
            continue;
        };
        if fields.len() != names.len() {
            return Err(ParseError::Text {
                line: number,
                message: format!("{} fields, the header has {}", fields.len(), names.len()),
            });
        }
        let get = |name: &str| {
            names
                .iter()
                .position(|n| n == name)
                .and_then(|i| fields.get(i))
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
        };
        let number_of = |name: &str| {
            get(name)
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| !v.is_nan())
        };
        let Some(account) = get("Account") else {
            continue;
        };
        rows.push(ShareRow {
            account: account.to_string(),
            user: get("User").map(str::to_string),
            partition: get("Partition").map(str::to_string),
            cluster: None,
            shares: number_of("RawShares"),
            shares_normalized: number_of("NormShares"),
            usage_raw: number_of("RawUsage"),
            usage_normalized: number_of("NormUsage"),
            usage_effective: number_of("EffectvUsage"),
            factor: number_of("FairShare"),
            level: number_of("LevelFS"),
        });
    }
    Ok(Shares { rows })
}

#[cfg(test)]
#[path = "sshare_tests.rs"]
mod tests;

//! `scontrol -o show license`: one `LicenseName=… Total=… Used=… Free=…
//! Reserved=… Remote=yes|no` line per license; 23.02+ add `LastConsumed=`,
//! `LastDeficit=` and `LastUpdate=` (a time in `SLURM_TIME_FORMAT`).

use std::io::BufRead;

use super::scontrol::{parse_records, Record};
use super::{is_unset, parse_epoch, parse_u64};
use crate::model::{License, Licenses, ParseError};

/// Parses `scontrol -o show license`. `No licenses configured in Slurm.` gives an
/// empty list.
pub fn parse_scontrol_licenses(reader: impl BufRead) -> Result<Licenses, ParseError> {
    let licenses = parse_records(
        reader,
        "LicenseName",
        "No licenses configured in Slurm.",
        |l: &mut License, k, v| {
            apply(l, k, v);
            Ok(())
        },
    )?;
    if licenses.len() > crate::model::caps::MAX_LIST_ITEMS {
        return Err(ParseError::TooLarge(crate::model::caps::TooLarge::LIST));
    }
    Ok(Licenses { licenses })
}

impl Record for License {
    fn set_name(&mut self, name: &str) {
        self.name = name.trim().to_string();
    }
}

fn apply(license: &mut License, key: &str, value: &str) {
    match key {
        "Total" => license.total = parse_u64(value),
        "Used" => license.used = parse_u64(value),
        "Free" => license.free = parse_u64(value),
        "Reserved" => license.reserved = parse_u64(value),
        "Remote" => {
            license.remote = match value.trim() {
                "yes" | "YES" => Some(true),
                "no" | "NO" => Some(false),
                v if is_unset(v) => None,
                _ => None,
            }
        }
        "LastConsumed" => license.last_consumed = parse_u64(value),
        "LastDeficit" => license.last_deficit = parse_u64(value),
        "LastUpdate" => license.last_update = parse_epoch(value),
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::text::testdata;

    #[test]
    fn lab_22_05() {
        let file = testdata::fixture("scontrol-show-license.txt");
        let licenses = parse_scontrol_licenses(file).unwrap().licenses;
        assert_eq!(
            licenses,
            [License {
                name: "lab_lic".into(),
                total: Some(8),
                used: Some(2),
                free: Some(6),
                reserved: Some(0),
                remote: Some(false),
                ..Default::default()
            }]
        );
    }

    #[test]
    fn remote_license_23_02_layout_and_multi_line_form() {
        let text = "LicenseName=matlab@flex\n    Total=420 Used=213 Free=205 Reserved=357 Remote=yes\n    LastConsumed=218 LastDeficit=2 LastUpdate=1734338536\nLicenseName=local Total=4 Used=0 Free=4 Reserved=0 Remote=no LastConsumed=0 LastDeficit=0 LastUpdate=2024-12-16T08:42:16\n";
        let licenses = parse_scontrol_licenses(text.as_bytes()).unwrap().licenses;
        assert_eq!(licenses.len(), 2);
        assert_eq!(
            licenses[0],
            License {
                name: "matlab@flex".into(),
                total: Some(420),
                used: Some(213),
                free: Some(205),
                reserved: Some(357),
                remote: Some(true),
                last_consumed: Some(218),
                last_deficit: Some(2),
                last_update: Some(1_734_338_536),
            }
        );
        // An ISO time (local time zone, not stated) is not guessed.
        assert_eq!(licenses[1].last_update, None);
        assert_eq!(licenses[1].last_consumed, Some(0));
    }

    #[test]
    fn none_configured_and_garbage() {
        let empty = parse_scontrol_licenses(&b"No licenses configured in Slurm.\n"[..]).unwrap();
        assert!(empty.licenses.is_empty());
        assert!(parse_scontrol_licenses(&b"this is not scontrol\n"[..]).is_err());
    }
}

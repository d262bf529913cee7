//! `/licenses` (v0.0.38+) and `scontrol show license --json` (23.02+).
//!
//! Keys are CamelCase in every version: `LicenseName Total Used Free Reserved
//! Remote` (v0.0.38), plus `LastConsumed LastDeficit LastUpdate` (v0.0.39+) and
//! `Nodes` (v0.0.44, ignored). `Remote` is a boolean. `LastUpdate` is a local
//! time string in the 23.02 CLI sample (`"2024-12-16T08:42:16"`, time zone not
//! stated, so not used) and a number or `{set, number}` object elsewhere.

use serde::de::MapAccess;
use serde::Deserialize;

use super::document::Body;
use super::value::{EachElement, FlexBool, Num};
use crate::model::caps::{TooLarge, MAX_LIST_ITEMS};
use crate::model::License;

#[derive(Deserialize)]
struct RawLicense {
    #[serde(rename = "LicenseName")]
    name: String,
    #[serde(rename = "Total", default)]
    total: Num,
    #[serde(rename = "Used", default)]
    used: Num,
    #[serde(rename = "Free", default)]
    free: Num,
    #[serde(rename = "Reserved", default)]
    reserved: Num,
    #[serde(rename = "Remote", default)]
    remote: FlexBool,
    #[serde(rename = "LastConsumed", default)]
    last_consumed: Num,
    #[serde(rename = "LastDeficit", default)]
    last_deficit: Num,
    #[serde(rename = "LastUpdate", default)]
    last_update: Num,
}

impl From<RawLicense> for License {
    fn from(raw: RawLicense) -> License {
        License {
            name: raw.name,
            total: raw.total.value(),
            used: raw.used.value(),
            free: raw.free.value(),
            reserved: raw.reserved.value(),
            remote: raw.remote.0,
            last_consumed: raw.last_consumed.value(),
            last_deficit: raw.last_deficit.value(),
            last_update: raw.last_update.timestamp(),
        }
    }
}

#[derive(Default)]
pub(super) struct LicensesBody {
    pub(super) licenses: Option<Vec<License>>,
}

impl Body for LicensesBody {
    const KEY: &'static str = "licenses";

    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        if key != "licenses" {
            return Ok(false);
        }
        let mut licenses = Vec::new();
        let mut push = |raw: RawLicense| licenses.push(License::from(raw));
        if map.next_value_seed(EachElement::with_limit(
            &mut push,
            MAX_LIST_ITEMS,
            TooLarge::LIST,
        ))? {
            self.licenses = Some(licenses);
        }
        Ok(true)
    }

    fn found(&self) -> bool {
        self.licenses.is_some()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::parse_licenses;
    use crate::model::text::testdata;
    use crate::model::License;

    #[test]
    fn v0_0_38_lab() {
        let file = testdata::fixture("rest-v0.0.38-licenses.json");
        let r = parse_licenses(file).unwrap();
        assert_eq!(r.meta.release.as_deref(), Some("22.05.8"));
        assert_eq!(
            r.data.licenses,
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
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_39_remote_cli_23_02() {
        let file = testdata::sample(
            "v0.0.39/licenses__rivosinc_prometheus-slurm-exporter__license_out.json",
        );
        let r = parse_licenses(file).unwrap();
        assert_eq!(r.meta.release.as_deref(), Some("23.02.4"));
        assert_eq!(
            r.data.licenses,
            [License {
                name: "AscentLintBase".into(),
                total: Some(420),
                used: Some(213),
                free: Some(205),
                reserved: Some(357),
                remote: Some(true),
                last_consumed: Some(218),
                last_deficit: Some(2),
                // "2024-12-16T08:42:16": local time without a zone, not guessed
                last_update: None,
            }]
        );
    }

    /// v0.0.40+ shape per the OpenAPI specification (no public sample): numbers
    /// may be `{set, infinite, number}` objects, `LastUpdate` a timestamp object,
    /// `Nodes` a string (v0.0.44).
    #[test]
    fn v0_0_44_shape_from_specification() {
        let doc = br#"{"licenses":[{"LicenseName":"fluent","Total":{"set":true,"infinite":false,"number":10},
            "Used":3,"Free":7,"Reserved":0,"Remote":false,"LastConsumed":0,"LastDeficit":0,
            "LastUpdate":{"set":true,"infinite":false,"number":1764000000},"Nodes":"n[1-2]"}],
            "meta":{"slurm":{"release":"25.11.0","cluster":"c"}},"warnings":[],"errors":[]}"#;
        let r = parse_licenses(&doc[..]).unwrap();
        assert_eq!(r.meta.cluster.as_deref(), Some("c"));
        let l = &r.data.licenses[0];
        assert_eq!((l.total, l.used, l.free), (Some(10), Some(3), Some(7)));
        assert_eq!(l.last_update, Some(1_764_000_000));
    }

    #[test]
    fn errors_without_data_fail() {
        let doc = br#"{"errors":[{"error":"Unable to read license information"}],"meta":{}}"#;
        assert!(parse_licenses(&doc[..]).is_err());
        let empty = br#"{"licenses":[],"errors":[]}"#;
        assert!(parse_licenses(&empty[..]).unwrap().data.licenses.is_empty());
    }
}

//! `/reservations` and `scontrol show reservation --json` (23.02+).
//!
//! | field | v0.0.38 / v0.0.39 | v0.0.40+ |
//! |---|---|---|
//! | `start_time`, `end_time` | ints | `{set, infinite, number}` objects |
//! | `node_count`, `core_count` | ints | ints (objects tolerated) |
//! | `flags` | list of names | same |
//!
//! Constant: `name`, `partition`, `node_list` (a host list). JSON has no state:
//! [`crate::model::Reservation::is_active`] derives it from the times.

use serde::de::MapAccess;
use serde::Deserialize;

use super::document::Body;
use super::value::{EachElement, Names, Num};
use crate::model::caps::{TooLarge, MAX_LIST_ITEMS};
use crate::model::Reservation;

#[derive(Deserialize)]
struct RawReservation {
    name: String,
    #[serde(default)]
    partition: Option<String>,
    #[serde(default)]
    flags: Option<Names>,
    #[serde(default)]
    start_time: Num,
    #[serde(default)]
    end_time: Num,
    #[serde(default)]
    node_list: Option<String>,
    #[serde(default)]
    node_count: Num,
    #[serde(default)]
    core_count: Num,
}

fn text(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty() && v != "(null)")
}

impl From<RawReservation> for Reservation {
    fn from(raw: RawReservation) -> Reservation {
        Reservation {
            name: raw.name,
            partition: text(raw.partition),
            flags: raw.flags.map(|f| f.upper()).unwrap_or_default(),
            start_time: raw.start_time.timestamp(),
            end_time: raw.end_time.timestamp(),
            node_list: text(raw.node_list),
            node_count: raw.node_count.value(),
            core_count: raw.core_count.value(),
            state: None,
        }
    }
}

#[derive(Default)]
pub(super) struct ReservationsBody {
    pub(super) reservations: Option<Vec<Reservation>>,
}

impl Body for ReservationsBody {
    const KEY: &'static str = "reservations";

    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        if key != "reservations" {
            return Ok(false);
        }
        let mut reservations = Vec::new();
        let mut push = |raw: RawReservation| reservations.push(Reservation::from(raw));
        if map.next_value_seed(EachElement::with_limit(
            &mut push,
            MAX_LIST_ITEMS,
            TooLarge::LIST,
        ))? {
            self.reservations = Some(reservations);
        }
        Ok(true)
    }

    fn found(&self) -> bool {
        self.reservations.is_some()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::parse_reservations;
    use crate::model::text::testdata;
    use crate::model::Reservation;

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn v0_0_38_empty_sample() {
        let file =
            testdata::sample("v0.0.38/reservations__influxdata_telegraf__gather-reservations.json");
        let r = parse_reservations(file).unwrap();
        assert_eq!(r.meta.release.as_deref(), Some("22.05.9"));
        assert!(r.data.reservations.is_empty());
    }

    #[test]
    fn v0_0_38_lab() {
        let file = testdata::fixture("rest-v0.0.38-reservations.json");
        let r = parse_reservations(file).unwrap().data.reservations;
        assert_eq!(r.len(), 1);
        let maint = &r[0];
        assert_eq!(maint.name, "lab_maint");
        assert_eq!(maint.node_list.as_deref(), Some("f[1-2],n[1-2]"));
        assert_eq!((maint.node_count, maint.core_count), (Some(4), Some(16)));
        assert!(
            maint.flags.contains(&"MAINT".to_string()),
            "{:?}",
            maint.flags
        );
        assert_eq!(maint.partition, None);
        assert_eq!(maint.end_time.unwrap() - maint.start_time.unwrap(), 3600);
        assert_eq!(maint.state, None);
    }

    /// v0.0.40+ per the OpenAPI specification (no public sample with a
    /// reservation): times are `{set, infinite, number}` objects.
    #[test]
    fn v0_0_41_shape_from_specification() {
        let doc = br#"{"reservations":[{"accounts":"","burst_buffer":"","core_count":64,
            "core_specializations":[],"end_time":{"set":true,"infinite":false,"number":1796086400},
            "features":"","flags":["MAINT","SPEC_NODES"],"groups":"","licenses":"",
            "max_start_delay":{"set":false,"infinite":false,"number":0},"name":"maint",
            "node_count":2,"node_list":"gpu[01-02]","partition":"gpu",
            "purge_completed":{"time":{"set":false,"infinite":false,"number":0}},
            "start_time":{"set":true,"infinite":false,"number":1796000000},
            "watts":{"set":false,"infinite":true,"number":0},"tres":"cpu=64","users":"root"}],
            "last_update":{"set":true,"infinite":false,"number":1795990000},
            "meta":{"slurm":{"release":"24.05.6","cluster":"c"}},"warnings":[],"errors":[]}"#;
        let r = parse_reservations(&doc[..]).unwrap();
        assert_eq!(r.last_update, Some(1_795_990_000));
        assert_eq!(
            r.data.reservations,
            [Reservation {
                name: "maint".into(),
                partition: Some("gpu".into()),
                flags: vec!["MAINT".into(), "SPEC_NODES".into()],
                start_time: Some(1_796_000_000),
                end_time: Some(1_796_086_400),
                node_list: Some("gpu[01-02]".into()),
                node_count: Some(2),
                core_count: Some(64),
                state: None,
            }]
        );
    }
}

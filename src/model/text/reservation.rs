//! `scontrol -o show reservation`: one line per reservation,
//! `ReservationName=… StartTime=… EndTime=… Duration=… Nodes=n[1-2] NodeCnt=2
//! CoreCnt=8 Features=… PartitionName=… Flags=MAINT,SPEC_NODES TRES=cpu=8
//! Users=… Groups=… Accounts=… Licenses=… State=ACTIVE|INACTIVE …`.
//! Times are epochs under `SLURM_TIME_FORMAT=%s`.

use std::io::BufRead;

use super::scontrol::{capped_list, parse_records, Record};
use super::{is_unset, parse_epoch, parse_u64};
use crate::model::caps::TooLarge;
use crate::model::{ParseError, Reservation, Reservations};

/// Parses `scontrol -o show reservation`. `No reservations in the system` gives an
/// empty list.
pub fn parse_scontrol_reservations(reader: impl BufRead) -> Result<Reservations, ParseError> {
    let reservations = parse_records(
        reader,
        "ReservationName",
        "No reservations in the system",
        apply,
    )?;
    if reservations.len() > crate::model::caps::MAX_LIST_ITEMS {
        return Err(ParseError::TooLarge(crate::model::caps::TooLarge::LIST));
    }
    Ok(Reservations { reservations })
}

impl Record for Reservation {
    fn set_name(&mut self, name: &str) {
        self.name = name.trim().to_string();
    }
}

fn text(value: &str) -> Option<String> {
    let value = value.trim();
    (!is_unset(value)).then(|| value.to_string())
}

fn apply(r: &mut Reservation, key: &str, value: &str) -> Result<(), TooLarge> {
    match key {
        "StartTime" => r.start_time = parse_epoch(value),
        "EndTime" => r.end_time = parse_epoch(value),
        "Nodes" => r.node_list = text(value),
        "NodeCnt" => r.node_count = parse_u64(value),
        "CoreCnt" => r.core_count = parse_u64(value),
        "PartitionName" => r.partition = text(value),
        "Flags" => {
            r.flags = match text(value) {
                Some(f) => capped_list(&f.to_ascii_uppercase())?,
                None => Vec::new(),
            }
        }
        "State" => r.state = text(value).map(|s| s.to_ascii_uppercase()),
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::text::testdata;

    #[test]
    fn lab_22_05() {
        let file = testdata::fixture("scontrol-show-reservation.txt");
        let r = parse_scontrol_reservations(file).unwrap().reservations;
        assert_eq!(r.len(), 1);
        let maint = &r[0];
        assert_eq!(maint.name, "lab_maint");
        assert_eq!(maint.node_list.as_deref(), Some("f[1-2],n[1-2]"));
        assert_eq!((maint.node_count, maint.core_count), (Some(4), Some(16)));
        assert_eq!(maint.flags, ["MAINT", "SPEC_NODES", "ALL_NODES"]);
        assert_eq!(maint.partition, None);
        assert_eq!(maint.state.as_deref(), Some("INACTIVE"));
        let (start, end) = (maint.start_time.unwrap(), maint.end_time.unwrap());
        assert_eq!(end - start, 3600);
        assert!(start > 1_700_000_000);
    }

    #[test]
    fn active_reservation_with_partition() {
        let line = "ReservationName=gpu_day StartTime=1796000000 EndTime=1796086400 Duration=1-00:00:00 Nodes=g[01-02] NodeCnt=2 CoreCnt=128 Features=(null) PartitionName=gpu Flags=DAILY,IGNORE_JOBS TRES=cpu=128 Users=(null) Groups=(null) Accounts=physics Licenses=(null) State=ACTIVE BurstBuffer=(null) Watts=n/a MaxStartDelay=(null) Comment=for the physics course\n";
        let r = parse_scontrol_reservations(line.as_bytes())
            .unwrap()
            .reservations;
        assert_eq!(
            r,
            [Reservation {
                name: "gpu_day".into(),
                partition: Some("gpu".into()),
                flags: vec!["DAILY".into(), "IGNORE_JOBS".into()],
                start_time: Some(1_796_000_000),
                end_time: Some(1_796_086_400),
                node_list: Some("g[01-02]".into()),
                node_count: Some(2),
                core_count: Some(128),
                state: Some("ACTIVE".into()),
            }]
        );
    }

    #[test]
    fn none_and_iso_times() {
        let empty = parse_scontrol_reservations(&b"No reservations in the system\n"[..]).unwrap();
        assert!(empty.reservations.is_empty());
        let iso = "ReservationName=r StartTime=2026-12-09T19:50:00 EndTime=2026-12-09T20:50:00 Nodes=n1 NodeCnt=1 CoreCnt=4 Flags=MAINT State=INACTIVE\n";
        let r = &parse_scontrol_reservations(iso.as_bytes())
            .unwrap()
            .reservations[0];
        assert_eq!((r.start_time, r.end_time), (None, None));
        assert_eq!(r.node_count, Some(1));
    }
}

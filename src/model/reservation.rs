//! Reservations: nodes (or cores) set aside for some users during a time window,
//! as `scontrol show reservation` and REST `/reservations` report them.

/// All reservations of one collection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reservations {
    pub reservations: Vec<Reservation>,
}

/// One reservation. Values Slurm did not report are `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reservation {
    pub name: String,
    /// Partition the reservation is limited to, if any.
    pub partition: Option<String>,
    /// Flags, upper-case as Slurm prints them (`MAINT`, `SPEC_NODES`, …).
    pub flags: Vec<String>,
    /// Start and end, seconds since the epoch.
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    /// The reserved nodes as a Slurm host list (`n[1-3,5],f1`); see [`super::hostlist`].
    pub node_list: Option<String>,
    pub node_count: Option<u64>,
    pub core_count: Option<u64>,
    /// `ACTIVE` or `INACTIVE` where Slurm says it (text only; JSON has no state).
    pub state: Option<String>,
}

impl Reservation {
    /// Whether the reservation is in force at `now`: Slurm's own state when it
    /// printed one, else derived from the start and end times.
    pub fn is_active(&self, now: i64) -> Option<bool> {
        if let Some(state) = self.state.as_deref() {
            match state {
                "ACTIVE" => return Some(true),
                "INACTIVE" => return Some(false),
                _ => {}
            }
        }
        let start = self.start_time?;
        Some(start <= now && self.end_time.map_or(true, |end| now < end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_from_state_or_times() {
        let r = |state: Option<&str>, start, end| Reservation {
            state: state.map(String::from),
            start_time: start,
            end_time: end,
            ..Default::default()
        };
        assert_eq!(r(Some("ACTIVE"), None, None).is_active(0), Some(true));
        assert_eq!(r(Some("INACTIVE"), Some(0), None).is_active(5), Some(false));
        assert_eq!(r(None, Some(10), Some(20)).is_active(15), Some(true));
        assert_eq!(r(None, Some(10), Some(20)).is_active(20), Some(false));
        assert_eq!(r(None, Some(10), Some(20)).is_active(5), Some(false));
        assert_eq!(r(None, Some(10), None).is_active(50), Some(true));
        assert_eq!(r(None, None, Some(20)).is_active(5), None);
    }
}

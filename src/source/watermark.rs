//! The accounting watermark: what has been read from slurmdbd, so each finished
//! (and each started) job is reported exactly once, whatever the interval and
//! however long slurmdbd was away. Pure logic; the sources do the I/O.
//!
//! - The mark is a time on slurmctld's clock (end and start times are
//!   slurmctld's): every job that ended or started before it has been reported,
//!   and so have those at exactly the mark whose ids are kept (a window's bounds
//!   are inclusive, so the next read sees them again and drops them).
//! - A window ends at the time slurmctld last reported an empty DBD agent queue
//!   (`sdiag`): records slurmctld has not yet sent (slurmdbd was down, or is
//!   behind) carry their real, earlier end times, and would be missed by a mark
//!   that had already passed them.
//! - A window spans at most `max_window`: after a long outage the backlog is read
//!   in slices, one per collection, so no single read is unbounded.
//! - The mark moves only through [`Watermark::advance`], which the source calls
//!   after the read parsed; a failed read leaves it where it was.

use std::collections::BTreeSet;

use crate::model::{Accounting, AcctJob};

/// One read: jobs that ended or started in `from..=to` (slurmctld's clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: i64,
    pub to: i64,
    /// `to` was cut at `max_window`: the backlog continues after it.
    pub capped: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Watermark {
    mark: i64,
    finished_at_mark: BTreeSet<u64>,
    started_at_mark: BTreeSet<u64>,
    /// The last slurmctld time at which its DBD agent queue was empty.
    complete_until: i64,
    max_window: i64,
}

impl Watermark {
    /// Starts at `start` (now, or now minus the configured look-back).
    pub fn new(start: i64, max_window_seconds: i64) -> Watermark {
        Watermark {
            mark: start,
            finished_at_mark: BTreeSet::new(),
            started_at_mark: BTreeSet::new(),
            complete_until: start,
            max_window: max_window_seconds.max(1),
        }
    }

    pub fn mark(&self) -> i64 {
        self.mark
    }

    /// The window to read now, given slurmctld's time and DBD agent queue size
    /// (`None`: not reported, taken as empty).
    pub fn window(&mut self, ctld_time: i64, dbd_queue: Option<u64>) -> Window {
        if dbd_queue.unwrap_or(0) == 0 {
            self.complete_until = self.complete_until.max(ctld_time);
        }
        let limit = self.mark.saturating_add(self.max_window);
        let to = self.complete_until.min(limit).max(self.mark);
        Window {
            from: self.mark,
            to,
            capped: self.complete_until > limit,
        }
    }

    /// Takes the jobs slurmdbd returned for `window` (any superset of the jobs
    /// that ended or started in it), keeps those not yet reported, and moves the
    /// mark to the window's end.
    pub fn advance(&mut self, window: Window, jobs: Vec<AcctJob>) -> Accounting {
        let inside = |t: Option<i64>| t.is_some_and(|t| t >= window.from && t <= window.to);
        let mut finished_at_to = BTreeSet::new();
        let mut started_at_to = BTreeSet::new();
        let mut out = Accounting {
            watermark: window.to,
            catching_up: window.capped,
            ..Accounting::default()
        };
        for job in jobs {
            let finished = job.finished() && inside(job.end);
            let started = job.ran && inside(job.start);
            if finished && job.end == Some(window.to) {
                finished_at_to.insert(job.id);
            }
            if started && job.start == Some(window.to) {
                started_at_to.insert(job.id);
            }
            let new_finish = finished
                && !(job.end == Some(self.mark) && self.finished_at_mark.contains(&job.id));
            let new_start = started
                && !(job.start == Some(self.mark) && self.started_at_mark.contains(&job.id));
            match (new_finish, new_start) {
                (true, true) => {
                    out.started.push(job.clone());
                    out.finished.push(job);
                }
                (true, false) => out.finished.push(job),
                (false, true) => out.started.push(job),
                (false, false) => {}
            }
        }
        if window.to == self.mark {
            finished_at_to.append(&mut self.finished_at_mark);
            started_at_to.append(&mut self.started_at_mark);
        }
        self.mark = window.to;
        self.finished_at_mark = finished_at_to;
        self.started_at_mark = started_at_to;
        out
    }
}

#[cfg(test)]
#[path = "watermark_tests.rs"]
mod tests;

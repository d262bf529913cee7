//! Accounting through slurmrestd: `/slurm/{v}/diag` (slurmctld's clock and DBD
//! agent queue bound the window, as for the CLI), then `/slurmdb/{v}/jobs` with
//! `state`, `start_time` and `end_time`.
//!
//! 22.05 (measured): epochs are refused as times ("Unable to parse time format"),
//! local-time strings would be read in slurmrestd's time zone, and a state filter
//! without `end_time` returns nothing. So the window is asked relative to the
//! server's clock (`now-N` … `now`), widened by a margin, and cut to the exact
//! window here: the answer is a superset, filtered by the watermark.

use super::{RestSource, SourceError};
use crate::model::json;
use crate::model::{Accounting, ParseError};

/// Seconds added before the window start, for clock differences between this
/// host, slurmrestd and slurmctld.
const MARGIN_SECONDS: i64 = 120;

/// Final states and RUNNING, as for `sacct -s` (commas encoded).
const STATES: &str = "BF%2CCA%2CCD%2CDL%2CF%2CNF%2COOM%2CPR%2CTO%2CR";

impl RestSource {
    pub(super) async fn accounting(&self, v: &'static str) -> Result<Accounting, SourceError> {
        let diag = self
            .get_json(&format!("/slurm/{v}/diag"), |r| json::parse_diag(r))
            .await?
            .data;
        let now = super::unix_now();
        let ctld_time = diag.req_time.unwrap_or(now);
        let window = match self.watermark.lock() {
            Ok(mut w) => w.window(ctld_time, diag.dbd_agent_queue_size),
            Err(_) => return Err(SourceError::Command("watermark lock poisoned".into())),
        };
        let back = now
            .saturating_sub(window.from)
            .max(0)
            .saturating_add(MARGIN_SECONDS);
        let path = format!("/slurmdb/{v}/jobs?state={STATES}&start_time=now-{back}&end_time=now");
        // slurmdbd down: HTTP 200, `"jobs": []` and "Unable to connect to database".
        let jobs = match self.get_json(&path, |r| json::parse_acct_jobs(r)).await {
            Ok(r) => r.data,
            Err(SourceError::Parse(ParseError::SlurmErrors(e))) => {
                return Err(SourceError::Connection(format!("slurmdbd: {e}")))
            }
            Err(e) => return Err(e),
        };
        match self.watermark.lock() {
            Ok(mut w) => Ok(w.advance(window, jobs)),
            Err(_) => Err(SourceError::Command("watermark lock poisoned".into())),
        }
    }
}

//! Connection limits: how many connections may be open at once, overall and per
//! client IP, derived at start from the file-descriptor limit so that a flood of
//! idle connections can never take the descriptors the Slurm commands need; and
//! a log that summarises repeated refusals instead of writing one line each.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Descriptors kept out of the connection budget for collection (Slurm command
/// pipes, slurmrestd connections, token and config files) and the process itself.
pub const FD_RESERVE: u64 = 256;

/// The connection cap for a descriptor limit: `wanted`, but at most `fd_limit -
/// FD_RESERVE`; when the limit is too low for that, half of it (at least 1).
pub fn effective_cap(wanted: usize, fd_limit: u64) -> usize {
    let budget = if fd_limit >= 2 * FD_RESERVE {
        fd_limit - FD_RESERVE
    } else {
        fd_limit / 2
    };
    let budget = usize::try_from(budget).unwrap_or(usize::MAX);
    wanted.min(budget).max(1)
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (as most servers do) and
/// returns the soft limit in force; `None` when it cannot be read.
pub fn raise_fd_limit() -> Option<u64> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft < hard {
        match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => {
                tracing::info!(from = soft, to = hard, "raised the file descriptor limit");
                return Some(hard);
            }
            Err(e) => {
                tracing::warn!(error = %e, soft, hard, "cannot raise the file descriptor limit")
            }
        }
    }
    Some(soft)
}

/// Why a connection was refused, as the `reason` label of
/// `slurm_exporter_http_connections_refused_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `--web.max-connections` (after the descriptor reserve) reached.
    Limit,
    /// `--web.max-connections-per-ip` reached for this client IP.
    PerIpLimit,
}

impl Refused {
    pub fn reason(self) -> &'static str {
        match self {
            Refused::Limit => "limit",
            Refused::PerIpLimit => "per_ip_limit",
        }
    }
}

/// Open connections, overall (a semaphore, so the accept loop can wait for a
/// free slot) and per client IP (a map holding only IPs with open connections).
pub struct ConnLimits {
    cap: usize,
    per_ip: usize,
    slots: Arc<Semaphore>,
    by_ip: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One open connection; dropping it frees its slot and its per-IP count.
pub struct ConnPermit {
    _slot: OwnedSemaphorePermit,
    ip: IpAddr,
    by_ip: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for ConnPermit {
    fn drop(&mut self) {
        if let Ok(mut map) = self.by_ip.lock() {
            if let Some(n) = map.get_mut(&self.ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    map.remove(&self.ip);
                }
            }
        }
    }
}

/// A free overall slot, tied to a client by `admit`.
pub struct Slot(OwnedSemaphorePermit);

impl ConnLimits {
    pub fn new(cap: usize, per_ip: usize) -> ConnLimits {
        ConnLimits {
            cap: cap.max(1),
            per_ip: per_ip.max(1),
            slots: Arc::new(Semaphore::new(cap.max(1))),
            by_ip: Arc::default(),
        }
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.cap - self.slots.available_permits()
    }

    /// A free overall slot, if any.
    pub fn slot(&self) -> Option<Slot> {
        self.slots.clone().try_acquire_owned().ok().map(Slot)
    }

    /// Admits a connection from `ip` into `slot`, unless that IP is at its cap.
    pub fn admit(&self, slot: Slot, ip: IpAddr) -> Result<ConnPermit, Refused> {
        let mut map = self.by_ip.lock().map_err(|_| Refused::PerIpLimit)?;
        let n = map.entry(ip).or_insert(0);
        if *n >= self.per_ip {
            return Err(Refused::PerIpLimit);
        }
        *n += 1;
        Ok(ConnPermit {
            _slot: slot.0,
            ip,
            by_ip: self.by_ip.clone(),
        })
    }
}

/// Logs an event at most once per `every`, with how many happened since the last line.
#[derive(Debug)]
pub struct LogEvery {
    every: Duration,
    last: Option<Instant>,
    pub suppressed: u64,
}

impl LogEvery {
    pub fn new(every: Duration) -> LogEvery {
        LogEvery {
            every,
            last: None,
            suppressed: 0,
        }
    }

    /// `Some(n)` when this event is to be logged, `n` being the events since the
    /// last logged one (this one included); `None` when it is only counted.
    pub fn hit(&mut self, now: Instant) -> Option<u64> {
        self.suppressed += 1;
        match self.last {
            Some(last) if now.duration_since(last) < self.every => None,
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn cap_keeps_the_reserve() {
        assert_eq!(effective_cap(1024, 8192), 1024);
        assert_eq!(effective_cap(1024, 1024), 768);
        assert_eq!(effective_cap(1024, 512), 256);
        // Too low for the reserve: half of it.
        assert_eq!(effective_cap(1024, 256), 128);
        assert_eq!(effective_cap(1024, 1), 1);
        assert_eq!(effective_cap(10, u64::MAX), 10);
    }

    #[tokio::test]
    async fn overall_and_per_ip_caps() {
        let limits = ConnLimits::new(3, 2);
        let a = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        let b = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));
        let slot = || async { limits.slot().unwrap_or_else(|| panic!("no slot")) };
        let a1 = limits.admit(slot().await, a);
        let a2 = limits.admit(slot().await, a);
        assert!(a1.is_ok() && a2.is_ok());
        // A third from `a` is refused, and its slot is given back.
        assert_eq!(
            limits.admit(slot().await, a).err(),
            Some(Refused::PerIpLimit)
        );
        assert_eq!(limits.open(), 2);
        let b1 = limits.admit(slot().await, b);
        assert!(b1.is_ok());
        assert_eq!(limits.open(), 3);
        assert!(limits.slot().is_none(), "over the overall cap");
        drop(a1);
        assert_eq!(limits.open(), 2);
        assert!(limits.admit(slot().await, a).is_ok());
        drop((a2, b1));
        assert_eq!(limits.by_ip.lock().map(|m| m.len()).unwrap_or(9), 0);
    }

    #[test]
    fn log_every_summarises() {
        let mut log = LogEvery::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(log.hit(t0), Some(1));
        for i in 1..100 {
            assert_eq!(log.hit(t0 + Duration::from_millis(i * 10)), None);
        }
        assert_eq!(log.hit(t0 + Duration::from_secs(10)), Some(100));
    }
}

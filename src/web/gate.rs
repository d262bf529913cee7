//! The bound on bcrypt work: bcrypt is slow on purpose, so a credential the
//! exporter has not verified yet may cost at most one verification at a time,
//! with at most `MAX_PENDING` verifications running or waiting overall and
//! `MAX_PENDING_PER_IP` per client IP. Past that a request is refused at once,
//! without hashing (the caller answers 429), so password guessing from a few
//! addresses can neither queue up unbounded work nor hold requests for long.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

/// Verifications running or waiting, overall.
pub const MAX_PENDING: usize = 8;
/// Verifications running or waiting from one client IP.
pub const MAX_PENDING_PER_IP: usize = 2;

/// Shared by every loaded web config, so a reload does not reset the bound.
pub struct BcryptGate {
    running: Semaphore,
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    total: usize,
    by_ip: HashMap<IpAddr, usize>,
}

impl Default for BcryptGate {
    fn default() -> Self {
        BcryptGate {
            running: Semaphore::new(1),
            pending: Mutex::default(),
        }
    }
}

/// A place in the queue; dropping it gives the place back.
pub struct Ticket {
    gate: Arc<BcryptGate>,
    ip: IpAddr,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Ok(mut p) = self.gate.pending.lock() {
            p.total = p.total.saturating_sub(1);
            if let Some(n) = p.by_ip.get_mut(&self.ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    p.by_ip.remove(&self.ip);
                }
            }
        }
    }
}

impl BcryptGate {
    /// A place in the queue for a verification from `ip`; `None` when full.
    pub fn enter(self: &Arc<Self>, ip: Option<IpAddr>) -> Option<Ticket> {
        let ip = ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let mut p = self.pending.lock().ok()?;
        let mine = p.by_ip.get(&ip).copied().unwrap_or(0);
        if p.total >= MAX_PENDING || mine >= MAX_PENDING_PER_IP {
            return None;
        }
        p.total += 1;
        p.by_ip.insert(ip, mine + 1);
        Some(Ticket {
            gate: self.clone(),
            ip,
        })
    }
}

impl Ticket {
    /// Runs `verify` on a blocking thread once it is this ticket's turn.
    pub async fn run(self, verify: impl FnOnce() -> bool + Send + 'static) -> bool {
        let Ok(_turn) = self.gate.running.acquire().await else {
            return false;
        };
        tokio::task::spawn_blocking(verify).await.unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_overall_and_per_ip() {
        let gate = Arc::new(BcryptGate::default());
        let ip = |n| Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)));
        let a: Vec<_> = (0..MAX_PENDING_PER_IP).map(|_| gate.enter(ip(2))).collect();
        assert!(a.iter().all(Option::is_some));
        assert!(gate.enter(ip(2)).is_none(), "per-IP bound");
        let others: Vec<_> = (0..MAX_PENDING - MAX_PENDING_PER_IP)
            .map(|i| gate.enter(ip(10 + i as u8)))
            .collect();
        assert!(others.iter().all(Option::is_some));
        assert!(gate.enter(ip(3)).is_none(), "overall bound");
        drop(a);
        assert!(gate.enter(ip(2)).is_some());
        drop(others);
        assert_eq!(gate.pending.lock().map(|p| p.total).unwrap_or(99), 0);
    }
}

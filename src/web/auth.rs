//! HTTP basic auth against `basic_auth_users` (bcrypt hashes), as the
//! exporter-toolkit does it: unknown users are checked against a dummy hash of
//! the same cost so that timing does not tell which users exist. Results are
//! cached per user:hash:password, verified ones apart from failed ones, so that
//! guessing cannot push a good credential out: a verified credential never
//! waits for bcrypt again, and a repeated bad one is refused without hashing.
//! Everything else goes through the `gate` (one bcrypt at a time, a bounded
//! queue overall and per client IP, refused at once beyond it).

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::gate::BcryptGate;

/// Why a request was refused, as the `reason` label of `http_auth_failures_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    NoCredentials,
    UnknownUser,
    BadPassword,
    /// Not verified: too many verifications already pending (answered 429).
    Throttled,
}

impl Denied {
    pub fn reason(self) -> &'static str {
        match self {
            Denied::NoCredentials => "no_credentials",
            Denied::UnknownUser => "unknown_user",
            Denied::BadPassword => "bad_password",
            Denied::Throttled => "throttled",
        }
    }
}

/// Verified credentials kept (only a correct password gets in, so few).
const VERIFIED_MAX: usize = 64;
/// Failed credentials kept; the set is emptied when full, so guessing many
/// passwords costs bounded memory (and at worst a bcrypt per forgotten guess).
const FAILED_MAX: usize = 4096;

type Key = [u8; 32];

/// The users of one loaded web config.
pub struct BasicAuth {
    users: BTreeMap<String, String>,
    dummy_hash: String,
    verified: Mutex<HashSet<Key>>,
    failed: Mutex<HashSet<Key>>,
    gate: Arc<BcryptGate>,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth")
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// `user` and `password` from an `Authorization: Basic …` header value.
pub fn credentials(header: Option<&str>) -> Option<(String, String)> {
    let value = header?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

impl BasicAuth {
    /// Builds the checker; computes the dummy hash at the highest cost in use
    /// (blocking: call from a blocking context). `gate` bounds bcrypt across reloads.
    pub fn new(users: BTreeMap<String, String>, gate: Arc<BcryptGate>) -> BasicAuth {
        let cost = users
            .values()
            .filter_map(|h| h.parse::<bcrypt::HashParts>().ok())
            .map(|p| p.get_cost())
            .max()
            .unwrap_or(bcrypt::DEFAULT_COST);
        let dummy_hash = bcrypt::hash("not a password", cost).unwrap_or_default();
        BasicAuth {
            users,
            dummy_hash,
            verified: Mutex::default(),
            failed: Mutex::default(),
            gate,
        }
    }

    /// Checks an `Authorization` header value sent from `client`.
    pub async fn check(&self, header: Option<&str>, client: Option<IpAddr>) -> Result<(), Denied> {
        let (user, password) = credentials(header).ok_or(Denied::NoCredentials)?;
        let (hash, known) = match self.users.get(&user) {
            Some(h) => (h.clone(), true),
            None => (self.dummy_hash.clone(), false),
        };
        let key: Key = Sha256::new()
            .chain_update(user.as_bytes())
            .chain_update([0])
            .chain_update(hash.as_bytes())
            .chain_update([0])
            .chain_update(password.as_bytes())
            .finalize()
            .into();
        let ok = match self.cached(&key) {
            Some(ok) => ok,
            None => {
                let ticket = self.gate.enter(client).ok_or(Denied::Throttled)?;
                // Another request may have verified the same credential meanwhile.
                match self.cached(&key) {
                    Some(ok) => ok,
                    None => {
                        let ok = ticket
                            .run(move || bcrypt::verify(password, &hash).unwrap_or(false))
                            .await;
                        self.remember(key, ok);
                        ok
                    }
                }
            }
        };
        match (known, ok) {
            (true, true) => Ok(()),
            (true, false) => Err(Denied::BadPassword),
            (false, _) => Err(Denied::UnknownUser),
        }
    }

    fn cached(&self, key: &Key) -> Option<bool> {
        if self.verified.lock().is_ok_and(|v| v.contains(key)) {
            return Some(true);
        }
        self.failed
            .lock()
            .is_ok_and(|f| f.contains(key))
            .then_some(false)
    }

    fn remember(&self, key: Key, ok: bool) {
        let (set, max) = if ok {
            (&self.verified, VERIFIED_MAX)
        } else {
            (&self.failed, FAILED_MAX)
        };
        if let Ok(mut set) = set.lock() {
            if set.len() >= max {
                set.clear();
            }
            set.insert(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user: &str, password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    }

    #[tokio::test]
    async fn users_passwords_and_cache() {
        let hash = bcrypt::hash("right", 4).unwrap_or_else(|e| panic!("{e}"));
        let users = BTreeMap::from([("alice".to_string(), hash)]);
        let auth = BasicAuth::new(users, Arc::default());
        assert!(auth.dummy_hash.starts_with("$2b$04$"));
        let auth = Checker(auth);
        assert_eq!(auth.check(None).await, Err(Denied::NoCredentials));
        assert_eq!(
            auth.check(Some("Bearer x")).await,
            Err(Denied::NoCredentials)
        );
        assert_eq!(
            auth.check(Some(&header("alice", "wrong"))).await,
            Err(Denied::BadPassword)
        );
        assert_eq!(
            auth.check(Some(&header("bob", "right"))).await,
            Err(Denied::UnknownUser)
        );
        assert_eq!(auth.check(Some(&header("alice", "right"))).await, Ok(()));
        assert_eq!(auth.check(Some(&header("alice", "right"))).await, Ok(()));
        assert_eq!(auth.0.verified.lock().map(|c| c.len()).unwrap_or(0), 1);
        assert_eq!(auth.0.failed.lock().map(|c| c.len()).unwrap_or(0), 2);
    }

    struct Checker(BasicAuth);
    impl Checker {
        async fn check(&self, header: Option<&str>) -> Result<(), Denied> {
            self.0.check(header, None).await
        }
    }

    #[tokio::test]
    async fn guessing_neither_evicts_a_good_credential_nor_queues_without_bound() {
        let hash = bcrypt::hash("right", 4).unwrap_or_else(|e| panic!("{e}"));
        let users = BTreeMap::from([("alice".to_string(), hash)]);
        let gate = Arc::new(BcryptGate::default());
        let auth = Arc::new(BasicAuth::new(users, gate.clone()));
        let good = header("alice", "right");
        assert_eq!(auth.check(Some(&good), None).await, Ok(()));
        for i in 0..100 {
            let guess = header("alice", &format!("guess{i}"));
            assert_eq!(
                auth.check(Some(&guess), None).await,
                Err(Denied::BadPassword)
            );
        }
        // The good credential is still known: no bcrypt, even with the gate full.
        let ip = Some(IpAddr::from([127, 0, 0, 9]));
        let held: Vec<_> = (0..super::super::gate::MAX_PENDING_PER_IP)
            .filter_map(|_| gate.enter(ip))
            .collect();
        assert_eq!(auth.check(Some(&good), ip).await, Ok(()));
        // A new guess from that client is refused at once, without hashing.
        let guess = header("alice", "one more");
        assert_eq!(auth.check(Some(&guess), ip).await, Err(Denied::Throttled));
        drop(held);
        assert_eq!(auth.check(Some(&guess), ip).await, Err(Denied::BadPassword));
    }

    #[test]
    fn credentials_parse() {
        assert_eq!(
            credentials(Some(&header("a", "b:c"))),
            Some(("a".into(), "b:c".into()))
        );
        assert_eq!(credentials(Some("Basic !!!")), None);
    }
}

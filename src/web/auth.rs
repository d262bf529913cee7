//! HTTP basic auth against `basic_auth_users` (bcrypt hashes), as the
//! exporter-toolkit does it: unknown users are checked against a dummy hash of
//! the same cost so that timing does not tell which users exist; bcrypt runs one
//! at a time (it is deliberately slow; a burst of bad passwords must not take
//! every core); results are cached per user:hash:password.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Why a request was refused, as the `reason` label of `http_auth_failures_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    NoCredentials,
    UnknownUser,
    BadPassword,
}

impl Denied {
    pub fn reason(self) -> &'static str {
        match self {
            Denied::NoCredentials => "no_credentials",
            Denied::UnknownUser => "unknown_user",
            Denied::BadPassword => "bad_password",
        }
    }
}

/// Cached results are dropped past this many entries, so guessing many
/// passwords cannot grow memory without bound.
const CACHE_MAX: usize = 1024;

/// The users of one loaded web config.
pub struct BasicAuth {
    users: BTreeMap<String, String>,
    dummy_hash: String,
    cache: Mutex<HashMap<[u8; 32], bool>>,
    gate: Arc<tokio::sync::Mutex<()>>,
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
    /// (blocking: call from a blocking context). `gate` serialises bcrypt across reloads.
    pub fn new(users: BTreeMap<String, String>, gate: Arc<tokio::sync::Mutex<()>>) -> BasicAuth {
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
            cache: Mutex::new(HashMap::new()),
            gate,
        }
    }

    /// Checks an `Authorization` header value.
    pub async fn check(&self, header: Option<&str>) -> Result<(), Denied> {
        let (user, password) = credentials(header).ok_or(Denied::NoCredentials)?;
        let (hash, known) = match self.users.get(&user) {
            Some(h) => (h.clone(), true),
            None => (self.dummy_hash.clone(), false),
        };
        let key: [u8; 32] = Sha256::new()
            .chain_update(user.as_bytes())
            .chain_update([0])
            .chain_update(hash.as_bytes())
            .chain_update([0])
            .chain_update(password.as_bytes())
            .finalize()
            .into();
        let cached = self.cache.lock().ok().and_then(|c| c.get(&key).copied());
        let ok = match cached {
            Some(ok) => ok,
            None => {
                let _one_at_a_time = self.gate.lock().await;
                let ok = tokio::task::spawn_blocking(move || {
                    bcrypt::verify(password, &hash).unwrap_or(false)
                })
                .await
                .unwrap_or(false);
                if let Ok(mut cache) = self.cache.lock() {
                    if cache.len() >= CACHE_MAX {
                        cache.clear();
                    }
                    cache.insert(key, ok);
                }
                ok
            }
        };
        match (known, ok) {
            (true, true) => Ok(()),
            (true, false) => Err(Denied::BadPassword),
            (false, _) => Err(Denied::UnknownUser),
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
        assert_eq!(auth.cache.lock().map(|c| c.len()).unwrap_or(0), 3);
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

//! The web config file (`--web.config.file`) in the exporter-toolkit format that
//! node_exporter uses: `tls_server_config`, `http_server_config`, `basic_auth_users`.
//! Parsed strictly (an unknown key is an error naming it) and validated like the
//! toolkit does; relative paths are relative to the file. Stricter than the
//! toolkit in one way: a file with nothing in it (empty, only comments, `{}`) and
//! a `tls_server_config:` or `basic_auth_users:` key with nothing under it are
//! errors, not "plain HTTP without auth": they are what a truncated write (the
//! first half of `cat new > web.yml`) looks like, and the file is there to protect.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use axum::http::{HeaderName, HeaderValue};
use serde::Deserialize;

/// A problem with the web config file or a file it names.
#[derive(Debug, thiserror::Error)]
#[error("web config {path}: {message}")]
pub struct WebConfigError {
    pub path: PathBuf,
    pub message: String,
}

/// Top-level sections: `None` absent, `Some(None)` present with nothing under it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    #[serde(default, deserialize_with = "present")]
    pub tls_server_config: Option<Option<RawTls>>,
    #[serde(default)]
    pub http_server_config: RawHttp,
    #[serde(default, deserialize_with = "present")]
    pub basic_auth_users: Option<Option<BTreeMap<String, String>>>,
}

/// Tells a key written with nothing under it (`Some(None)`) from an absent one.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTls {
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    pub client_auth_type: Option<String>,
    pub client_ca_file: Option<String>,
    #[serde(default)]
    pub cipher_suites: Vec<String>,
    #[serde(default)]
    pub curve_preferences: Vec<String>,
    pub min_version: Option<String>,
    pub max_version: Option<String>,
    /// Accepted for compatibility; rustls always prefers the server's order.
    #[allow(dead_code)]
    pub prefer_server_cipher_suites: Option<bool>,
    #[serde(default)]
    pub client_allowed_sans: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHttp {
    pub http2: Option<bool>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// Go's `tls.ClientAuthType` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    NoClientCert,
    RequestClientCert,
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

impl ClientAuth {
    fn parse(name: &str) -> Option<ClientAuth> {
        Some(match name {
            "" | "NoClientCert" => ClientAuth::NoClientCert,
            "RequestClientCert" => ClientAuth::RequestClientCert,
            // "RequireClientCert" is the toolkit's older spelling.
            "RequireAnyClientCert" | "RequireClientCert" => ClientAuth::RequireAnyClientCert,
            "VerifyClientCertIfGiven" => ClientAuth::VerifyClientCertIfGiven,
            "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerifyClientCert,
            _ => return None,
        })
    }

    /// Whether a connection without a client certificate is refused.
    pub fn mandatory(self) -> bool {
        matches!(
            self,
            ClientAuth::RequireAnyClientCert | ClientAuth::RequireAndVerifyClientCert
        )
    }
}

/// TLS protocol versions; older ones than 1.2 are refused at load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

/// The validated `tls_server_config`; paths are resolved.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub client_auth: ClientAuth,
    pub client_ca_file: Option<PathBuf>,
    /// Go cipher suite names (TLS 1.2 ones restrict TLS 1.2; empty: rustls' defaults).
    pub cipher_suites: Vec<String>,
    pub curve_preferences: Vec<String>,
    pub min_version: TlsVersion,
    pub max_version: TlsVersion,
    pub client_allowed_sans: Vec<String>,
}

/// The validated web config file.
#[derive(Debug, Clone)]
pub struct WebConfig {
    pub path: PathBuf,
    /// `None`: plain HTTP (the file may still set users and headers).
    pub tls: Option<TlsSettings>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub http2: bool,
    /// User → bcrypt hash.
    pub users: BTreeMap<String, String>,
}

/// Headers an operator may set, with their allowed values (empty: any value).
const ALLOWED_HEADERS: &[(&str, &[&str])] = &[
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

/// Why a file with no setting in it is refused.
pub const EMPTY_FILE: &str = "the file is empty (or holds only comments): it sets no TLS, client certificate or basic auth; a truncated or half-written file? Without --web.config.file the exporter serves plain HTTP without auth";

/// Whether YAML `text` holds no value: empty, blank, only comments, `---`, `~`.
/// Walks the events without building a tree (aliases stay cheap).
pub(crate) fn no_document(text: &str) -> bool {
    matches!(
        serde_yaml::from_str::<Option<serde::de::IgnoredAny>>(text),
        Ok(None)
    )
}

pub(crate) fn parse_raw(text: &str) -> Result<RawFile, String> {
    if no_document(text) {
        return Err(EMPTY_FILE.into());
    }
    let de = serde_yaml::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let message = e.into_inner().to_string();
        if key == "." {
            message
        } else {
            format!("key `{key}`: {message}")
        }
    })
}

/// Joins a relative `file` with the directory of the config file.
pub(crate) fn resolve(config_path: &Path, file: &str) -> PathBuf {
    let p = PathBuf::from(file);
    if p.is_absolute() {
        return p;
    }
    config_path.parent().map(|dir| dir.join(&p)).unwrap_or(p)
}

fn parse_version(
    key: &str,
    value: Option<&str>,
    default: TlsVersion,
) -> Result<TlsVersion, String> {
    match value {
        None | Some("") => Ok(default),
        Some("TLS12") => Ok(TlsVersion::Tls12),
        Some("TLS13") => Ok(TlsVersion::Tls13),
        Some(v @ ("TLS10" | "TLS11")) => Err(format!(
            "key `tls_server_config.{key}`: {v} is refused: TLS older than 1.2 is not supported"
        )),
        Some(v) => Err(format!(
            "key `tls_server_config.{key}`: unknown TLS version: {v}"
        )),
    }
}

impl WebConfig {
    /// Reads and validates the file. Certificates are not read here (see `tls`).
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let fail = |message: String| WebConfigError {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        WebConfig::parse(path, &text)
    }

    /// Parses and validates the text of the file at `path` (which relative file
    /// names are resolved against); reads nothing.
    pub fn parse(path: &Path, text: &str) -> Result<WebConfig, WebConfigError> {
        let fail = |message: String| WebConfigError {
            path: path.to_path_buf(),
            message,
        };
        let raw = parse_raw(text).map_err(fail)?;
        WebConfig::from_raw(path, raw).map_err(fail)
    }

    fn from_raw(path: &Path, raw: RawFile) -> Result<WebConfig, String> {
        let http = &raw.http_server_config;
        if raw.tls_server_config.is_none()
            && raw.basic_auth_users.is_none()
            && http.http2.is_none()
            && http.headers.is_empty()
        {
            return Err(EMPTY_FILE.into());
        }
        let tls = match raw.tls_server_config {
            None => None,
            Some(None) => return Err(
                "key `tls_server_config`: present with nothing under it: set cert_file and key_file, or remove the key".into(),
            ),
            Some(Some(t)) => Some(tls_settings(path, t)?),
        };
        let users = match raw.basic_auth_users {
            None => BTreeMap::new(),
            Some(Some(users)) if !users.is_empty() => users,
            Some(_) => return Err(
                "key `basic_auth_users`: present with no user under it: add users, or remove the key".into(),
            ),
        };
        let mut headers = Vec::new();
        for (name, value) in &raw.http_server_config.headers {
            let Some((_, allowed)) = ALLOWED_HEADERS.iter().find(|(n, _)| n == name) else {
                return Err(format!(
                    "key `http_server_config.headers`: HTTP header {name:?} can not be configured"
                ));
            };
            if !allowed.is_empty() && !allowed.contains(&value.as_str()) {
                return Err(format!(
                    "key `http_server_config.headers`: invalid value for {name}. Expected one of: {allowed:?}, but got: {value:?}"
                ));
            }
            let header_value = HeaderValue::from_str(value).map_err(|_| {
                format!("key `http_server_config.headers`: {name}: {value:?} is not a valid header value")
            })?;
            let header_name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| format!("key `http_server_config.headers`: {name}: {e}"))?;
            headers.push((header_name, header_value));
        }
        for (user, hash) in &users {
            if hash.parse::<bcrypt::HashParts>().is_err() {
                return Err(format!(
                    "key `basic_auth_users.{user}`: not a bcrypt hash (plaintext passwords are refused; make one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)"
                ));
            }
        }
        Ok(WebConfig {
            path: path.to_path_buf(),
            tls,
            headers,
            http2: raw.http_server_config.http2.unwrap_or(true),
            users,
        })
    }

    /// The files this configuration reads, the config file first.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files = vec![self.path.clone()];
        if let Some(t) = &self.tls {
            files.push(t.cert_file.clone());
            files.push(t.key_file.clone());
            files.extend(t.client_ca_file.clone());
        }
        files
    }
}

/// A `tls_server_config` that is written must name a certificate: the toolkit's
/// "every field empty means plain HTTP" is refused (see the module doc).
fn tls_settings(path: &Path, t: RawTls) -> Result<TlsSettings, String> {
    let cert_file = t
        .cert_file
        .filter(|s| !s.is_empty())
        .ok_or("missing cert_file")?;
    let key_file = t
        .key_file
        .filter(|s| !s.is_empty())
        .ok_or("missing key_file")?;
    let auth_name = t.client_auth_type.unwrap_or_default();
    let client_auth = ClientAuth::parse(&auth_name).ok_or_else(|| {
        format!("key `tls_server_config.client_auth_type`: invalid ClientAuth: {auth_name}")
    })?;
    let client_ca_file = t.client_ca_file.filter(|s| !s.is_empty());
    if client_ca_file.is_some() && client_auth == ClientAuth::NoClientCert {
        return Err("Client CA's have been configured without a Client Auth Policy".into());
    }
    let verifies = matches!(
        client_auth,
        ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert
    );
    if verifies && client_ca_file.is_none() {
        return Err(format!(
            "key `tls_server_config.client_ca_file`: required with client_auth_type {auth_name}"
        ));
    }
    if !t.client_allowed_sans.is_empty() && !client_auth.mandatory() {
        return Err(format!(
            "key `tls_server_config.client_allowed_sans`: needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert, not {auth_name:?}"
        ));
    }
    let min_version = parse_version("min_version", t.min_version.as_deref(), TlsVersion::Tls12)?;
    let max_version = parse_version("max_version", t.max_version.as_deref(), TlsVersion::Tls13)?;
    if min_version > max_version {
        return Err("key `tls_server_config.min_version`: higher than max_version".into());
    }
    for name in &t.cipher_suites {
        crate::web::tls::cipher_suite(name)
            .map_err(|e| format!("key `tls_server_config.cipher_suites`: {e}"))?;
    }
    for name in &t.curve_preferences {
        crate::web::tls::kx_group(name)
            .map_err(|e| format!("key `tls_server_config.curve_preferences`: {e}"))?;
    }
    Ok(TlsSettings {
        cert_file: resolve(path, &cert_file),
        key_file: resolve(path, &key_file),
        client_auth,
        client_ca_file: client_ca_file.map(|f| resolve(path, &f)),
        cipher_suites: t.cipher_suites,
        curve_preferences: t.curve_preferences,
        min_version,
        max_version,
        client_allowed_sans: t.client_allowed_sans,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str) -> Result<WebConfig, String> {
        let raw = parse_raw(yaml)?;
        WebConfig::from_raw(Path::new("/etc/exporter/web.yml"), raw)
    }

    const HASH: &str = "$2y$04$VY8fpxIK4PFmAsAeIEXFMuNIGd6.pAMkm3a.mpPGS8UdJz8VTyRkK";

    #[test]
    fn a_file_that_protects_nothing_by_mistake_is_refused() {
        for yaml in [
            "",
            "  \n\n",
            "# all commented out\n# tls_server_config:\n",
            "{}\n",
            "---\n",
        ] {
            let err = load(yaml).err().unwrap_or_default();
            assert!(err.contains("the file is empty"), "{yaml:?}: {err}");
        }
        for (yaml, key) in [
            ("tls_server_config:\n", "tls_server_config"),
            ("tls_server_config:\n# cert_file: a\n", "tls_server_config"),
            ("tls_server_config: {}\n", "missing cert_file"),
            (
                "tls_server_config:\n  min_version: TLS13\n",
                "missing cert_file",
            ),
            ("basic_auth_users:\n", "basic_auth_users"),
            ("basic_auth_users: {}\n", "basic_auth_users"),
        ] {
            let err = load(yaml).err().unwrap_or_default();
            assert!(err.contains(key), "{yaml:?}: {err}");
        }
        // Headers alone are a file with something in it: plain HTTP, no auth.
        let c = load("http_server_config:\n  http2: false\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(c.tls.is_none() && c.users.is_empty() && !c.http2);
    }

    #[test]
    fn tls_paths_are_relative_to_the_file() {
        let c = load("tls_server_config:\n  cert_file: a.crt\n  key_file: /abs/a.key\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let tls = c.tls.unwrap_or_else(|| panic!("no tls"));
        assert_eq!(tls.cert_file, Path::new("/etc/exporter/a.crt"));
        assert_eq!(tls.key_file, Path::new("/abs/a.key"));
        assert_eq!(tls.min_version, TlsVersion::Tls12);
        assert_eq!(tls.client_auth, ClientAuth::NoClientCert);
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            ("tls_server_config:\n  cert_fil: a\n", "cert_fil"),
            ("rate_limit:\n  burst: 1\n", "rate_limit"),
            ("tls_server_config:\n  cert_file: a\n", "missing key_file"),
            ("tls_server_config:\n  key_file: a\n", "missing cert_file"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS11\n", "TLS11 is refused"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  max_version: SSL3\n", "unknown TLS version"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Maybe\n", "invalid ClientAuth"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: ca\n", "without a Client Auth Policy"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n", "client_ca_file"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_FOO]\n", "unknown cipher"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]\n", "not supported"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_allowed_sans: [x]\n", "client_allowed_sans"),
            ("http_server_config:\n  headers:\n    Server: x\n", "can not be configured"),
            ("http_server_config:\n  headers:\n    X-Frame-Options: allow\n", "invalid value for X-Frame-Options"),
            ("basic_auth_users:\n  alice: secret\n", "basic_auth_users.alice"),
        ];
        for (yaml, want) in cases {
            let err = load(yaml).err().unwrap_or_default();
            assert!(err.contains(want), "{yaml:?}: {err}");
        }
    }

    #[test]
    fn valid_full_file() {
        let yaml = format!(
            "tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca\n  min_version: TLS13\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n  curve_preferences: [X25519]\n  client_allowed_sans: [prometheus]\nhttp_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n    Strict-Transport-Security: max-age=31536000\nbasic_auth_users:\n  prometheus: '{HASH}'\n"
        );
        let c = load(&yaml).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.headers.len(), 2);
        assert!(!c.http2);
        assert_eq!(c.files().len(), 4);
    }
}

//! How much a loaded web config protects the endpoint, and what a new one would
//! take away. A reload may keep or raise protection, never lower it: dropping TLS,
//! client certificates or basic auth needs a restart (see docs/security.md).

use super::file::{ClientAuth, TlsVersion, WebConfig};

/// The protections of one web config, each one that can only be given up by a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Protection {
    /// TLS on; `None`: plain HTTP.
    pub tls_min_version: Option<TlsVersion>,
    /// A connection without a client certificate is refused.
    pub client_cert_required: bool,
    /// A client certificate that is sent is checked against `client_ca_file`.
    pub client_cert_verified: bool,
    /// Only client certificates with a SAN in `client_allowed_sans` are let in.
    pub client_sans_restricted: bool,
    /// Requests need a `basic_auth_users` password.
    pub basic_auth: bool,
}

impl Protection {
    pub fn of(config: &WebConfig) -> Protection {
        let tls = config.tls.as_ref();
        let auth = tls.map_or(ClientAuth::NoClientCert, |t| t.client_auth);
        Protection {
            tls_min_version: tls.map(|t| t.min_version),
            client_cert_required: auth.mandatory(),
            client_cert_verified: matches!(
                auth,
                ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert
            ),
            client_sans_restricted: tls.is_some_and(|t| !t.client_allowed_sans.is_empty()),
            basic_auth: !config.users.is_empty(),
        }
    }

    /// What `new` gives up compared with `self`, in words; empty when nothing.
    pub fn lowered_by(&self, new: &Protection) -> Vec<&'static str> {
        let mut lost = Vec::new();
        match (self.tls_min_version, new.tls_min_version) {
            (Some(_), None) => lost.push("TLS off"),
            (Some(old), Some(new)) if new < old => lost.push("TLS minimum version lowered"),
            _ => {}
        }
        let mut dropped = |was: bool, is: bool, what| {
            if was && !is {
                lost.push(what);
            }
        };
        dropped(
            self.client_cert_required,
            new.client_cert_required,
            "client certificate no longer required",
        );
        dropped(
            self.client_cert_verified,
            new.client_cert_verified,
            "client certificate no longer verified",
        );
        dropped(
            self.client_sans_restricted,
            new.client_sans_restricted,
            "client_allowed_sans removed",
        );
        dropped(self.basic_auth, new.basic_auth, "basic auth off");
        lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn of(yaml: &str) -> Protection {
        let c = WebConfig::parse(Path::new("/etc/exporter/web.yml"), yaml)
            .unwrap_or_else(|e| panic!("{yaml}: {e}"));
        Protection::of(&c)
    }

    const HASH: &str = "$2y$04$VY8fpxIK4PFmAsAeIEXFMuNIGd6.pAMkm3a.mpPGS8UdJz8VTyRkK";
    const TLS: &str = "tls_server_config:\n  cert_file: c\n  key_file: k\n";
    const MTLS: &str = "tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca\n  client_allowed_sans: [prometheus]\n";

    #[test]
    fn each_loss_is_named() {
        let auth = format!("basic_auth_users:\n  p: '{HASH}'\n");
        let headers = "http_server_config:\n  http2: false\n";
        let cases: Vec<(String, &str, Vec<&str>)> = vec![
            (format!("{TLS}{auth}"), headers, vec!["TLS off", "basic auth off"]),
            (TLS.into(), headers, vec!["TLS off"]),
            (format!("{TLS}  min_version: TLS13\n"), TLS, vec!["TLS minimum version lowered"]),
            (
                MTLS.into(),
                "tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca\n",
                vec!["client certificate no longer required", "client_allowed_sans removed"],
            ),
            (
                MTLS.into(),
                "tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: RequireAnyClientCert\n",
                vec!["client certificate no longer verified", "client_allowed_sans removed"],
            ),
            (format!("{TLS}{auth}"), TLS, vec!["basic auth off"]),
        ];
        for (old, new, want) in cases {
            assert_eq!(of(&old).lowered_by(&of(new)), want, "{old} -> {new}");
        }
    }

    #[test]
    fn keeping_or_raising_is_not_a_loss() {
        let auth = format!("basic_auth_users:\n  p: '{HASH}'\n  q: '{HASH}'\n");
        let plain = "http_server_config:\n  http2: false\n";
        for (old, new) in [
            (TLS.to_string(), TLS.to_string()),
            (plain.into(), TLS.into()),
            (TLS.into(), MTLS.into()),
            (TLS.into(), format!("{TLS}{auth}")),
            (
                MTLS.into(),
                MTLS.replace("[prometheus]", "[prometheus, thanos]"),
            ),
            (TLS.into(), format!("{TLS}  min_version: TLS13\n")),
        ] {
            assert!(of(&old).lowered_by(&of(&new)).is_empty(), "{old} -> {new}");
        }
    }
}

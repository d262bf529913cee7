//! `tls_server_config` → a rustls `ServerConfig` (ring provider): Go cipher-suite
//! and curve names mapped to rustls', the five Go client-auth policies, the
//! serving certificate's expiry and the `client_allowed_sans` check.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{ring, CryptoProvider, SupportedKxGroup};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
    SupportedCipherSuite,
};

use super::file::{ClientAuth, TlsSettings, TlsVersion};

/// What a TLS listener needs for new connections.
#[derive(Debug)]
pub struct TlsState {
    pub server_config: Arc<ServerConfig>,
    /// `notAfter` of the serving certificate, Unix seconds.
    pub expiry_unix: f64,
    /// Client certificate SANs allowed in (empty: any).
    pub allowed_sans: Vec<String>,
}

/// Go's secure TLS 1.2 suites that rustls lacks (CBC modes).
const GO_ONLY_SUITES: &[&str] = &[
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
];

/// The rustls suite for a Go cipher-suite name; `Ok(None)` for TLS 1.3 names,
/// which Go accepts but ignores (TLS 1.3 suites are not configurable).
pub fn cipher_suite(name: &str) -> Result<Option<SupportedCipherSuite>, String> {
    use ring::cipher_suite as cs;
    Ok(Some(match name {
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
        | "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305" => {
            cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        }
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" | "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" => {
            cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        }
        "TLS_AES_128_GCM_SHA256" | "TLS_AES_256_GCM_SHA384" | "TLS_CHACHA20_POLY1305_SHA256" => {
            return Ok(None)
        }
        n if GO_ONLY_SUITES.contains(&n) => {
            return Err(format!(
                "{n} is not supported by rustls (CBC); use a GCM or CHACHA20 suite"
            ))
        }
        n => return Err(format!("unknown cipher: {n}")),
    }))
}

/// The rustls key-exchange group for a Go curve name.
pub fn kx_group(name: &str) -> Result<&'static dyn SupportedKxGroup, String> {
    match name {
        "X25519" => Ok(ring::kx_group::X25519),
        "CurveP256" => Ok(ring::kx_group::SECP256R1),
        "CurveP384" => Ok(ring::kx_group::SECP384R1),
        "CurveP521" => Err("CurveP521 is not supported by rustls".into()),
        n => Err(format!("unknown curve: {n}")),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn certificates(path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate found", path.display()));
    }
    Ok(certs)
}

/// `notAfter` of a DER certificate, Unix seconds.
pub fn expiry(der: &[u8]) -> Result<f64, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
    Ok(cert.validity().not_after.timestamp() as f64)
}

/// DNS names, e-mail addresses, IP addresses and URIs of a certificate, as the
/// toolkit compares them with `client_allowed_sans`.
pub fn subject_alt_names(der: &[u8]) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return Vec::new();
    };
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(s) | GeneralName::RFC822Name(s) | GeneralName::URI(s) => {
                Some(s.to_string())
            }
            GeneralName::IPAddress(b) => match b.len() {
                4 => <[u8; 4]>::try_from(*b)
                    .ok()
                    .map(|a| std::net::IpAddr::from(a).to_string()),
                16 => <[u8; 16]>::try_from(*b)
                    .ok()
                    .map(|a| std::net::IpAddr::from(a).to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Reads the certificate, key and CA files and builds the rustls configuration.
pub fn build(t: &TlsSettings) -> Result<TlsState, String> {
    let certs = certificates(&t.cert_file, &read(&t.cert_file)?)?;
    let key = PrivateKeyDer::from_pem_slice(&read(&t.key_file)?)
        .map_err(|e| format!("{}: {e}", t.key_file.display()))?;
    let expiry_unix = expiry(&certs[0]).map_err(|e| format!("{}: {e}", t.cert_file.display()))?;

    let mut provider = ring::default_provider();
    let tls12: Vec<SupportedCipherSuite> = t
        .cipher_suites
        .iter()
        .filter_map(|n| cipher_suite(n).ok().flatten())
        .collect();
    if !tls12.is_empty() {
        provider
            .cipher_suites
            .retain(|s| s.version() == &rustls::version::TLS13);
        provider.cipher_suites.extend(tls12);
    }
    if !t.curve_preferences.is_empty() {
        provider.kx_groups = t
            .curve_preferences
            .iter()
            .filter_map(|n| kx_group(n).ok())
            .collect();
    }
    let provider = Arc::new(provider);
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = [
        (TlsVersion::Tls12, &rustls::version::TLS12),
        (TlsVersion::Tls13, &rustls::version::TLS13),
    ]
    .into_iter()
    .filter(|(v, _)| *v >= t.min_version && *v <= t.max_version)
    .map(|(_, p)| p)
    .collect();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| e.to_string())?;
    let verifier: Option<Arc<dyn ClientCertVerifier>> = match t.client_auth {
        ClientAuth::NoClientCert => None,
        ClientAuth::RequestClientCert | ClientAuth::RequireAnyClientCert => {
            Some(Arc::new(AnyClientCert {
                mandatory: t.client_auth.mandatory(),
                provider: provider.clone(),
            }))
        }
        ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert => {
            let ca_path = t
                .client_ca_file
                .as_deref()
                .ok_or("client_ca_file is required")?;
            let mut roots = RootCertStore::empty();
            for ca in certificates(ca_path, &read(ca_path)?)? {
                roots
                    .add(ca)
                    .map_err(|e| format!("{}: {e}", ca_path.display()))?;
            }
            let b = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let b = if t.client_auth.mandatory() {
                b
            } else {
                b.allow_unauthenticated()
            };
            Some(b.build().map_err(|e| e.to_string())?)
        }
    };
    let builder = match verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let mut server_config = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("{} / {}: {e}", t.cert_file.display(), t.key_file.display()))?;
    server_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsState {
        server_config: Arc::new(server_config),
        expiry_unix,
        allowed_sans: t.client_allowed_sans.clone(),
    })
}

/// Go's `RequestClientCert` / `RequireAnyClientCert`: a certificate is asked for
/// (or required) but not verified against a CA; the handshake signature still is.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

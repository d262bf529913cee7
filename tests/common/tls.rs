//! A test PKI made at test time with rcgen (no key is ever committed), and a
//! minimal blocking HTTPS client on rustls that also reports the server's certificate.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use super::RawResponse;

/// A CA and the directory its files are written to (`ca.crt`, `server.crt`, `server.key`).
pub struct Pki {
    pub dir: PathBuf,
    ca: CertifiedIssuer<'static, KeyPair>,
}

fn key() -> KeyPair {
    KeyPair::generate().unwrap_or_else(|e| panic!("{e}"))
}

impl Pki {
    pub fn new(dir: &Path) -> Pki {
        let mut params =
            CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| panic!("{e}"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.not_after = rcgen::date_time_ymd(2040, 1, 1);
        let ca = CertifiedIssuer::self_signed(params, key()).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join("ca.crt"), ca.pem()).unwrap_or_else(|e| panic!("{e}"));
        let pki = Pki {
            dir: dir.to_path_buf(),
            ca,
        };
        pki.write_server_cert(2035);
        pki
    }

    pub fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// A certificate for `sans`, valid until 1 January of `year`: (cert PEM, key PEM).
    pub fn issue(&self, sans: &[&str], year: i32) -> (String, String) {
        let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(sans).unwrap_or_else(|e| panic!("{e}"));
        params.not_after = rcgen::date_time_ymd(year, 1, 1);
        let key = key();
        let cert = params
            .signed_by(&key, &self.ca)
            .unwrap_or_else(|e| panic!("{e}"));
        (cert.pem(), key.serialize_pem())
    }

    /// (Re)writes `server.crt` and `server.key` for localhost, expiring in `year`;
    /// each file is replaced atomically.
    pub fn write_server_cert(&self, year: i32) {
        let (cert, key) = self.issue(&["localhost", "127.0.0.1"], year);
        for (name, content) in [("server.key", key), ("server.crt", cert)] {
            let tmp = self.dir.join(format!("{name}.tmp"));
            std::fs::write(&tmp, content).unwrap_or_else(|e| panic!("{e}"));
            std::fs::rename(&tmp, self.dir.join(name)).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// Unix time of 1 January `year`, as `write_server_cert` sets `notAfter`.
pub fn new_year(year: i32) -> f64 {
    rcgen::date_time_ymd(year, 1, 1).unix_timestamp() as f64
}

/// `notAfter` of a DER certificate, Unix seconds.
pub fn expiry(der: &[u8]) -> f64 {
    let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap_or_else(|e| panic!("{e}"));
    cert.validity().not_after.timestamp() as f64
}

/// What a TLS client presents: the CA it trusts and an optional client certificate.
pub struct Client {
    pub ca_pem: String,
    pub identity: Option<(String, String)>,
}

impl Client {
    fn config(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(self.ca_pem.as_bytes()) {
            roots
                .add(c.unwrap_or_else(|e| panic!("{e}")))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|e| panic!("{e}"))
        .with_root_certificates(roots);
        let config = match &self.identity {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let certs = CertificateDer::pem_slice_iter(cert.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .unwrap_or_else(|e| panic!("{e}"));
                let key =
                    PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
                builder
                    .with_client_auth_cert(certs, key)
                    .unwrap_or_else(|e| panic!("{e}"))
            }
        };
        Arc::new(config)
    }

    /// HTTPS GET over HTTP/1.0: the response and the server's leaf certificate (DER).
    pub fn get(
        &self,
        port: u16,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<(RawResponse, Vec<u8>), String> {
        let tcp = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
        tcp.set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| e.to_string())?;
        let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
        let conn = rustls::ClientConnection::new(self.config(), name).map_err(|e| e.to_string())?;
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let mut req = format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        tls.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        match tls.read_to_end(&mut raw) {
            Ok(_) => {}
            // A server that closes without close_notify after a full response is fine.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
            Err(e) => return Err(e.to_string()),
        }
        let cert = tls
            .conn
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.to_vec())
            .unwrap_or_default();
        let response = super::parse_response(&raw).ok_or("unparsable response")?;
        Ok((response, cert))
    }
}

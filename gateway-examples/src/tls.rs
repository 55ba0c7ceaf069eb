//! TLS material for the example servers: a certificate chain and its key read from PEM
//! files, or a self-signed pair for localhost made at start, checked and turned into a
//! rustls configuration on the ring provider.
//!
//! Every error names the file (or flag) at fault: these are the user's inputs, and a server
//! that cannot load them must say which one before it opens any socket.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A certificate chain and its private key, as PEM: what the HTTPS server is configured
/// with, and what a wss:// listener takes (`SocketOption::WssCertPem`, `WssKeyPem`).
#[derive(Clone)]
pub struct TlsPems {
    /// The certificate chain, leaf first.
    pub cert_pem: Vec<u8>,
    /// The leaf's private key (PKCS#8, PKCS#1 or SEC1).
    pub key_pem: Vec<u8>,
    /// Where the certificate came from, or was written to for a self-signed one.
    pub cert_path: PathBuf,
    /// Where the key came from, for messages.
    key_source: String,
}

// The key stays out of logs and panics.
impl fmt::Debug for TlsPems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsPems")
            .field("cert_path", &self.cert_path)
            .field("key_source", &self.key_source)
            .finish_non_exhaustive()
    }
}

impl TlsPems {
    /// Reads `cert` and `key` (PEM) and checks that rustls accepts them as a pair.
    pub fn from_files(cert: &Path, key: &Path) -> Result<Self, String> {
        let read = |path: &Path, flag: &str| {
            std::fs::read(path).map_err(|e| format!("{flag} {}: {e}", path.display()))
        };
        let pems = TlsPems {
            cert_pem: read(cert, "--tls-cert")?,
            key_pem: read(key, "--tls-key")?,
            cert_path: cert.to_owned(),
            key_source: format!("--tls-key {}", key.display()),
        };
        pems.server_config()?;
        Ok(pems)
    }

    /// Makes a self-signed certificate for `localhost`, `127.0.0.1` and `::1`, and writes
    /// the certificate (not the key, which stays in memory) into a new folder under
    /// `parent` named `{prefix}-{pid}[-n]`, for the user to trust in a browser.
    pub fn self_signed(parent: &Path, prefix: &str) -> Result<Self, String> {
        let names = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
        let made = rcgen::generate_simple_self_signed(names)
            .map_err(|e| format!("--tls-self-signed: cannot make a certificate: {e}"))?;
        let dir = fresh_dir(parent, &format!("{prefix}-{}", std::process::id())).map_err(|e| {
            format!(
                "--tls-self-signed: cannot create a folder in {}: {e}",
                parent.display()
            )
        })?;
        let cert_path = dir.join("cert.pem");
        let cert_pem = made.cert.pem().into_bytes();
        std::fs::write(&cert_path, &cert_pem).map_err(|e| {
            format!(
                "--tls-self-signed: cannot write {}: {e}",
                cert_path.display()
            )
        })?;
        Ok(TlsPems {
            cert_pem,
            key_pem: made.signing_key.serialize_pem().into_bytes(),
            cert_path,
            key_source: "the self-signed key".into(),
        })
    }

    /// The HTTPS server's configuration: TLS 1.2 and 1.3 on ring, HTTP/1.1 only (the
    /// pages are a handful of files).
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, String> {
        let cert_source = format!("--tls-cert {}", self.cert_path.display());
        let certs = CertificateDer::pem_slice_iter(&self.cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{cert_source}: {e}"))?;
        if certs.is_empty() {
            return Err(format!("{cert_source}: no CERTIFICATE in the file"));
        }
        let key = PrivateKeyDer::from_pem_slice(&self.key_pem)
            .map_err(|e| format!("{}: {e}", self.key_source))?;
        // ring, not aws-lc-rs: no large C library to build. rustls marks ring's provider
        // deprecated because it lacks the post-quantum key exchange (X25519MLKEM768); the
        // page's TLS uses X25519 and P-256 instead, as most servers' still does.
        #[expect(
            deprecated,
            reason = "ring is chosen; it lacks only post-quantum key exchange"
        )]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| format!("{} does not go with {cert_source}: {e}", self.key_source))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// Creates a folder under `parent` that did not exist before: `name`, or `name-1`,
/// `name-2`... when an earlier process of the same id left one. A new folder, so that
/// nobody can have planted a file or link where the certificate goes.
fn fresh_dir(parent: &Path, name: &str) -> std::io::Result<PathBuf> {
    let mut attempt = 0u32;
    loop {
        let dir = match attempt {
            0 => parent.join(name),
            n => parent.join(format!("{name}-{n}")),
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1
            }
            Err(e) => return Err(e),
        }
    }
}

//! The wss:// options (libzmq's ZMQ_WSS_*): the certificate a wss:// listener presents, and
//! what a wss:// connecter trusts. The core only keeps them; the native host runs TLS with
//! them (docs/wss.md). A page's wss:// is the browser's TLS, which they do not change.

use bytes::Bytes;

use super::{OptionName, SocketOption};
use crate::security::SecretBytes;

/// A socket's wss:// options. The private key is zeroized when dropped and never printed.
#[derive(Clone)]
pub struct WssOptions {
    /// ZMQ_WSS_CERT_PEM: the certificate chain (PEM, leaf first) wss:// binds present.
    pub cert_pem: Bytes,
    key_pem: SecretBytes,
    /// ZMQ_WSS_TRUST_PEM: trust anchors (PEM) wss:// connects accept, besides the system's.
    pub trust_pem: Bytes,
    /// ZMQ_WSS_TRUST_SYSTEM: whether wss:// connects trust the system's root certificates
    /// (default true, as libzmq).
    pub trust_system: bool,
    /// ZMQ_WSS_HOSTNAME: the name the server's certificate must carry; empty (default) means
    /// the endpoint's host.
    pub hostname: String,
}

impl Default for WssOptions {
    fn default() -> WssOptions {
        WssOptions {
            cert_pem: Bytes::new(),
            key_pem: SecretBytes::default(),
            trust_pem: Bytes::new(),
            trust_system: true,
            hostname: String::new(),
        }
    }
}

impl std::fmt::Debug for WssOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WssOptions")
            .field("cert_pem", &self.cert_pem.len())
            .field("trust_pem", &self.trust_pem.len())
            .field("trust_system", &self.trust_system)
            .field("hostname", &self.hostname)
            .finish_non_exhaustive()
    }
}

impl WssOptions {
    /// ZMQ_WSS_KEY_PEM: the private key (PEM) of [`cert_pem`](WssOptions::cert_pem).
    pub fn key_pem(&self) -> &[u8] {
        self.key_pem.as_bytes()
    }

    /// Records a wss option; false for any other option.
    pub(super) fn store(&mut self, option: &SocketOption) -> bool {
        use SocketOption as O;
        match option {
            O::WssCertPem(pem) => self.cert_pem = Bytes::copy_from_slice(pem),
            O::WssKeyPem(pem) => self.key_pem = pem.clone(),
            O::WssTrustPem(pem) => self.trust_pem = Bytes::copy_from_slice(pem),
            O::WssTrustSystem(on) => self.trust_system = *on,
            // validate() checked that it is text.
            O::WssHostname(name) => self.hostname = String::from_utf8_lossy(name).into_owned(),
            _ => return false,
        }
        true
    }

    /// The current value of a readable wss option; `None` for any other option.
    pub(super) fn get(&self, name: OptionName) -> Option<SocketOption> {
        use OptionName as N;
        use SocketOption as O;
        Some(match name {
            N::WssCertPem => O::WssCertPem(self.cert_pem.to_vec()),
            N::WssTrustPem => O::WssTrustPem(self.trust_pem.to_vec()),
            N::WssTrustSystem => O::WssTrustSystem(self.trust_system),
            N::WssHostname => O::WssHostname(self.hostname.as_bytes().to_vec()),
            _ => return None,
        })
    }
}

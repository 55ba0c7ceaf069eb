//! A throwaway PKI for wss:// tests: a CA made for the test run and a server certificate it
//! signs, so tests trust exactly what they made (WSS_TRUST_PEM) and nothing on the machine.

use std::sync::atomic::{AtomicU32, Ordering};

use isomq::{Socket, SocketOption};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

/// A CA and one server certificate with its key, all PEM.
#[derive(Debug, Clone)]
pub struct Pki {
    /// The CA's certificate: what clients trust.
    pub ca_pem: String,
    /// The server's certificate (signed by the CA).
    pub cert_pem: String,
    /// The server certificate's private key (PKCS#8).
    pub key_pem: String,
}

impl Pki {
    /// A fresh CA and a server certificate valid for `names` (DNS names or IP addresses).
    pub fn new(names: &[&str]) -> Pki {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // A name of its own: two CAs of one name would look like one CA with a bad
        // signature, not like an unknown one.
        static SERIAL: AtomicU32 = AtomicU32::new(0);
        let n = SERIAL.fetch_add(1, Ordering::Relaxed);
        ca_params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("isomq test CA {} {n}", std::process::id()),
        );
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");
        let key = KeyPair::generate().expect("server key");
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let cert = CertificateParams::new(names)
            .expect("server params")
            .signed_by(&key, &ca)
            .expect("server certificate");
        Pki {
            ca_pem: ca.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// For `localhost` and 127.0.0.1, where the tests listen.
    pub fn localhost() -> Pki {
        Pki::new(&["localhost", "127.0.0.1"])
    }

    /// Makes `s` present this PKI's server certificate on wss:// binds.
    pub fn serve(&self, s: &mut Socket) {
        s.set_option(SocketOption::WssCertPem(self.cert_pem.clone().into_bytes()))
            .expect("WSS_CERT_PEM");
        s.set_option(SocketOption::WssKeyPem(
            self.key_pem.clone().into_bytes().into(),
        ))
        .expect("WSS_KEY_PEM");
    }

    /// Makes `s` trust this PKI's CA (and only it) on wss:// connects.
    pub fn trust(&self, s: &mut Socket) {
        s.set_option(SocketOption::WssTrustPem(self.ca_pem.clone().into_bytes()))
            .expect("WSS_TRUST_PEM");
        s.set_option(SocketOption::WssTrustSystem(false))
            .expect("WSS_TRUST_SYSTEM");
    }
}

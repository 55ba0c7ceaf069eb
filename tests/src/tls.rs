//! A throwaway PKI for wss:// tests: a CA made for the test run and a server certificate it
//! signs, so tests trust exactly what they made (WSS_TRUST_PEM) and nothing on the machine.

use std::sync::atomic::{AtomicU32, Ordering};

use isomq::{Context, Socket, SocketOption, SocketType};
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

    /// A socket of type `t` bound on `path` of a fresh wss:// port (OS-chosen), presenting
    /// this PKI's certificate; returns it with the endpoint to connect to.
    pub fn bound(&self, ctx: &Context, t: SocketType, path: &str) -> (Socket, String) {
        let mut s = crate::socket(ctx, t);
        self.serve(&mut s);
        s.bind(&format!("wss://127.0.0.1:*{path}"))
            .expect("wss bind");
        let ep = s.last_endpoint().expect("last endpoint").to_owned();
        (s, ep)
    }

    /// Makes `s` trust this PKI's CA (and only it) on wss:// connects.
    pub fn trust(&self, s: &mut Socket) {
        s.set_option(SocketOption::WssTrustPem(self.ca_pem.clone().into_bytes()))
            .expect("WSS_TRUST_PEM");
        s.set_option(SocketOption::WssTrustSystem(false))
            .expect("WSS_TRUST_SYSTEM");
    }
}

/// A blocking TLS client trusting only `pki`'s CA, for tests that speak raw bytes over
/// wss:// (hostile or browser-like clients). `addr` is `host:port`.
pub fn tls_client(
    pki: &Pki,
    addr: &str,
) -> rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let ca =
        rustls::pki_types::CertificateDer::from_pem_slice(pki.ca_pem.as_bytes()).expect("CA PEM");
    roots.add(ca).expect("CA");
    #[allow(deprecated)]
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h).to_owned();
    let name = rustls::pki_types::ServerName::try_from(host).expect("server name");
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).expect("client");
    let tcp = std::net::TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(crate::PATIENCE))
        .expect("timeout");
    rustls::StreamOwned::new(conn, tcp)
}

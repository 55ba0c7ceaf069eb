//! The security mechanism of a comparison run: NULL, or CURVE with keys made once per run
//! and given to both libraries (isomq makes them; libzmq takes the same 32 raw bytes).

use std::fmt;

use crate::BoxError;

/// A server's and a client's long-term CURVE key pairs, as raw bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CurveKeys {
    /// The server's public key (the client's CURVE_SERVERKEY).
    pub server_public: [u8; 32],
    /// The server's secret key.
    pub server_secret: [u8; 32],
    /// The client's public key.
    pub client_public: [u8; 32],
    /// The client's secret key.
    pub client_secret: [u8; 32],
}

impl CurveKeys {
    /// Two fresh key pairs from the OS generator (`isomq::curve_keypair`).
    pub fn generate() -> Result<CurveKeys, BoxError> {
        let server = isomq::curve_keypair()?;
        let client = isomq::curve_keypair()?;
        Ok(CurveKeys {
            server_public: *server.public.as_bytes(),
            server_secret: *server.secret.as_bytes(),
            client_public: *client.public.as_bytes(),
            client_secret: *client.secret.as_bytes(),
        })
    }
}

impl fmt::Debug for CurveKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Bench keys, but still no key material in logs.
        f.write_str("CurveKeys(..)")
    }
}

/// A CA and a server certificate for 127.0.0.1 it signs, PEM, made once per run for
/// wss://: the binding side presents the certificate, the connecting side trusts the CA.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsPki {
    /// The server's certificate.
    pub cert_pem: String,
    /// Its private key.
    pub key_pem: String,
    /// The CA the client trusts.
    pub ca_pem: String,
}

impl TlsPki {
    /// A fresh CA and server certificate, kept for the whole run (the rounds copy
    /// [`Security`] by value, so it holds a reference).
    pub fn generate() -> Result<&'static TlsPki, BoxError> {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "isomq bench CA");
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;
        let key = KeyPair::generate()?;
        let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])?.signed_by(&key, &ca)?;
        Ok(Box::leak(Box::new(TlsPki {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            ca_pem: ca.pem(),
        })))
    }
}

impl fmt::Debug for TlsPki {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsPki(..)")
    }
}

/// How both sides of a run secure their connection. The binding side is the CURVE server
/// (or presents the TLS certificate), the connecting side the client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Security {
    /// No security (ZMTP NULL).
    #[default]
    Null,
    /// CURVE (RFC 26) with these keys.
    Curve(CurveKeys),
    /// TLS under a wss:// endpoint (isomq only: libzmq as built here has no wss://).
    Tls(&'static TlsPki),
}

impl fmt::Display for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Security::Null => "NULL",
            Security::Curve(_) => "CURVE",
            Security::Tls(_) => "TLS",
        })
    }
}

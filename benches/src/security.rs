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

/// How both sides of a run secure their connection. The binding side is the CURVE server,
/// the connecting side the client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Security {
    /// No security (ZMTP NULL).
    #[default]
    Null,
    /// CURVE (RFC 26) with these keys.
    Curve(CurveKeys),
}

impl fmt::Display for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Security::Null => "NULL",
            Security::Curve(_) => "CURVE",
        })
    }
}

//! Security configuration and material: which mechanism a socket speaks ([`Security`]), CURVE
//! keys ([`PublicKey`], [`SecretKey`], [`KeyPair`]), their Z85 text form ([`z85`]), and the
//! host-provided random source ([`Random`]). The mechanisms themselves (the handshakes and the
//! CURVE message boxes) live with the ZMTP connection they run in; docs/security.md describes
//! them and the choice of cryptographic crates.

mod keys;
mod random;
pub mod z85;

use std::fmt;

use bytes::Bytes;
use zeroize::Zeroizing;

pub use keys::{KeyPair, PublicKey, SecretKey, KEY_LEN, KEY_Z85_LEN};
pub use random::Random;

/// Bytes that must not leak (a PLAIN password): zeroized when dropped, never printed,
/// compared in constant time.
#[derive(Clone, Default)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(bytes: Vec<u8>) -> SecretBytes {
        SecretBytes(Zeroizing::new(bytes))
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBytes(..)")
    }
}

impl PartialEq for SecretBytes {
    fn eq(&self, other: &SecretBytes) -> bool {
        use subtle::ConstantTimeEq;
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for SecretBytes {}

/// The mechanism a socket's connections use, with what it needs; derived from the socket's
/// options by [`Options::security`](crate::Options::security) (the last of PLAIN_SERVER,
/// PLAIN_USERNAME/PASSWORD, CURVE_SERVER and CURVE_SERVERKEY set decides, as in libzmq).
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Security {
    /// NULL: no authentication, no encryption.
    #[default]
    Null,
    /// PLAIN client (RFC 24): sends a username and password in clear text.
    PlainClient {
        /// PLAIN_USERNAME.
        username: Bytes,
        /// PLAIN_PASSWORD, zeroized when dropped.
        password: Zeroizing<Vec<u8>>,
    },
    /// PLAIN server: asks ZAP to check the client's username and password.
    PlainServer,
    /// CURVE client (RFC 26): authenticates the server by its public key, encrypts everything.
    CurveClient {
        /// CURVE_PUBLICKEY and CURVE_SECRETKEY: this client's long-term key pair.
        keys: KeyPair,
        /// CURVE_SERVERKEY: the server's long-term public key.
        server: PublicKey,
    },
    /// CURVE server: proves it holds its secret key, learns the client's public key (which
    /// ZAP may check), encrypts everything.
    CurveServer {
        /// CURVE_PUBLICKEY and CURVE_SECRETKEY: the server's long-term key pair.
        keys: KeyPair,
    },
}

impl Security {
    /// The mechanism's name as the ZMTP greeting spells it.
    pub fn mechanism(&self) -> &'static str {
        match self {
            Security::Null => "NULL",
            Security::PlainClient { .. } | Security::PlainServer => "PLAIN",
            Security::CurveClient { .. } | Security::CurveServer { .. } => "CURVE",
        }
    }

    /// Whether this side authenticates its peers through ZAP (PLAIN and CURVE servers; NULL
    /// only with a ZAP_DOMAIN).
    pub fn is_server(&self) -> bool {
        matches!(self, Security::PlainServer | Security::CurveServer { .. })
    }
}

impl fmt::Debug for Security {
    /// Names the mechanism and the public keys only: passwords and secret keys never print.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Security::Null => f.write_str("Null"),
            Security::PlainClient { username, .. } => f
                .debug_struct("PlainClient")
                .field("username", username)
                .finish_non_exhaustive(),
            Security::PlainServer => f.write_str("PlainServer"),
            Security::CurveClient { keys, server } => f
                .debug_struct("CurveClient")
                .field("public", &keys.public)
                .field("server", server)
                .finish_non_exhaustive(),
            Security::CurveServer { keys } => f
                .debug_struct("CurveServer")
                .field("public", &keys.public)
                .finish_non_exhaustive(),
        }
    }
}

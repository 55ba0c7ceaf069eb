//! CURVE keys (Curve25519, as CurveZMQ uses them): 32 bytes each, given as raw bytes or as
//! 40 characters of Z85, with the secret half zeroized when dropped and never printed.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::random::Random;
use super::z85;
use crate::error::{Error, Result};

/// Length of a CURVE key in bytes.
pub const KEY_LEN: usize = 32;
/// Length of a CURVE key in Z85 text.
pub const KEY_Z85_LEN: usize = 40;

/// A Curve25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; KEY_LEN]);

/// A Curve25519 secret key. Zeroized on drop; its `Debug` shows no key material.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey([u8; KEY_LEN]);

/// A long-term CURVE key pair.
#[derive(Clone)]
pub struct KeyPair {
    /// The half given to peers.
    pub public: PublicKey,
    /// The half kept secret.
    pub secret: SecretKey,
}

/// Reads a key as libzmq's CURVE options take it: 32 raw bytes, 40 Z85 characters, or 41
/// bytes that are 40 Z85 characters and a NUL.
fn key_bytes(value: &[u8], what: &str) -> Result<[u8; KEY_LEN]> {
    let text = match value.len() {
        KEY_LEN => {
            let mut key = [0u8; KEY_LEN];
            key.copy_from_slice(value);
            return Ok(key);
        }
        KEY_Z85_LEN => value,
        41 if value[40] == 0 => &value[..40],
        n => {
            return Err(Error::Inval(format!(
                "a {what} is 32 bytes or 40 Z85 characters, not {n} bytes"
            )))
        }
    };
    let text =
        std::str::from_utf8(text).map_err(|_| Error::Inval(format!("{what} is not Z85 text")))?;
    let mut decoded = z85::decode(text)?;
    let mut key = [0u8; KEY_LEN];
    key.copy_from_slice(&decoded);
    decoded.zeroize();
    Ok(key)
}

impl PublicKey {
    /// From 32 raw bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> PublicKey {
        PublicKey(bytes)
    }

    /// From 32 raw bytes, 40 Z85 characters, or 41 (Z85 and a NUL), as CURVE_PUBLICKEY and
    /// CURVE_SERVERKEY accept.
    pub fn parse(value: &[u8]) -> Result<PublicKey> {
        key_bytes(value, "CURVE public key").map(PublicKey)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The key as 40 characters of Z85.
    pub fn to_z85(&self) -> String {
        encode_key(&self.0)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_z85())
    }
}

impl SecretKey {
    /// From 32 raw bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> SecretKey {
        SecretKey(bytes)
    }

    /// From 32 raw bytes, 40 Z85 characters, or 41 (Z85 and a NUL), as CURVE_SECRETKEY
    /// accepts.
    pub fn parse(value: &[u8]) -> Result<SecretKey> {
        key_bytes(value, "CURVE secret key").map(SecretKey)
    }

    /// A new secret key from the host's random source.
    ///
    /// # Errors
    /// The source's, when it cannot deliver.
    pub fn generate(rng: &mut dyn Random) -> Result<SecretKey> {
        let mut key = SecretKey([0u8; KEY_LEN]);
        rng.fill(&mut key.0)?;
        Ok(key)
    }

    /// The public key that belongs to this secret key (libzmq's `zmq_curve_public`).
    pub fn public_key(&self) -> PublicKey {
        let secret = x25519_dalek::StaticSecret::from(self.0);
        PublicKey(x25519_dalek::PublicKey::from(&secret).to_bytes())
    }

    /// The raw bytes. Callers that copy them out are responsible for zeroizing the copy.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The key as 40 characters of Z85 (for key files and `isomq keygen`).
    pub fn to_z85(&self) -> String {
        encode_key(&self.0)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl PartialEq for SecretKey {
    /// In constant time, so that comparing secrets reveals nothing through timing.
    fn eq(&self, other: &SecretKey) -> bool {
        use subtle::ConstantTimeEq;
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for SecretKey {}

impl KeyPair {
    /// A new key pair from the host's random source (libzmq's `zmq_curve_keypair`).
    ///
    /// # Errors
    /// The source's, when it cannot deliver.
    pub fn generate(rng: &mut dyn Random) -> Result<KeyPair> {
        let secret = SecretKey::generate(rng)?;
        Ok(KeyPair {
            public: secret.public_key(),
            secret,
        })
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

fn encode_key(key: &[u8; KEY_LEN]) -> String {
    // A 32-byte key is a whole number of 4-byte groups, so encoding cannot fail.
    z85::encode(key).unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// RFC 26's example client key pair (the Z85 keys libzmq's test suite also uses).
    const CLIENT_PUBLIC: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
    const CLIENT_SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";

    #[test]
    fn public_key_is_derived_from_the_secret_key() {
        let secret = SecretKey::parse(CLIENT_SECRET.as_bytes()).unwrap();
        assert_eq!(secret.public_key().to_z85(), CLIENT_PUBLIC);
    }

    /// libzmq's `set_curve_key`: 32 bytes raw, 40 Z85 characters, or 41 with a final NUL.
    #[test]
    fn keys_parse_raw_z85_and_nul_terminated_z85() {
        let z85 = PublicKey::parse(CLIENT_PUBLIC.as_bytes()).unwrap();
        let raw = PublicKey::parse(z85.as_bytes()).unwrap();
        let mut nul = CLIENT_PUBLIC.as_bytes().to_vec();
        nul.push(0);
        assert_eq!(raw, z85);
        assert_eq!(PublicKey::parse(&nul).unwrap(), z85);
        assert!(PublicKey::parse(&[0; 31]).is_err());
        assert!(PublicKey::parse(&[b'a'; 41]).is_err());
        assert!(PublicKey::parse(&[b'"'; 40]).is_err());
    }

    #[test]
    fn secret_keys_never_print() {
        let secret = SecretKey::parse(CLIENT_SECRET.as_bytes()).unwrap();
        assert!(!format!("{secret:?}").contains(CLIENT_SECRET));
        let pair = KeyPair {
            public: secret.public_key(),
            secret,
        };
        assert!(!format!("{pair:?}").contains(CLIENT_SECRET));
    }
}

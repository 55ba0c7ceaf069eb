//! CURVE (RFC 26 CurveZMQ, as libzmq speaks it in ZMTP 3.x): a handshake that authenticates
//! the server by its long-term key and the client by its own (checked by ZAP), then every
//! frame boxed with short-term keys. docs/security.md §3 has the bytes and the rules.
//!
//! The boxes are NaCl's `crypto_box` (X25519 through HSalsa20, then XSalsa20-Poly1305) and
//! the cookie NaCl's `crypto_secretbox`, from RustCrypto and dalek's x25519. MESSAGE boxes
//! are the same XSalsa20-Poly1305 put together from RustCrypto's `salsa20` and `poly1305`
//! ([`message_box`]), so that the HSalsa20 step of a direction is done once per connection.
//! Nothing cryptographic is written here beyond laying out nonces and fields as the RFC says.

pub(crate) mod cipher;
mod client;
mod message_box;
mod server;

pub(crate) use cipher::Cipher;
pub(crate) use client::Client;
pub(crate) use server::Server;

use crypto_secretbox::aead::consts::{U16, U24};
use crypto_secretbox::aead::{AeadInPlace, KeyInit};
use crypto_secretbox::{Kdf, Key, XSalsa20Poly1305};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::security::{PublicKey, SecretKey};

/// The mechanism name in the greeting.
pub(crate) const NAME: &str = "CURVE";

/// NaCl's box and secretbox: 24-byte nonces, 16-byte authenticators.
trait Boxer: AeadInPlace<NonceSize = U24, TagSize = U16> {}
impl<T: AeadInPlace<NonceSize = U24, TagSize = U16>> Boxer for T {}

/// A box's authenticator, before its ciphertext.
const TAG_LEN: usize = 16;

/// The precomputed key of a box between our secret key and a peer's public key (NaCl's
/// `crypto_box_beforenm`: the X25519 shared secret through HSalsa20), refusing keys whose
/// shared secret is all zeros (a low-order point: the box would be readable by anyone), as
/// libsodium does. One X25519 per box. Zeroized when dropped.
fn shared_key(peer: &PublicKey, ours: &SecretKey) -> Result<Zeroizing<Key>> {
    let secret = x25519_dalek::StaticSecret::from(*ours.as_bytes());
    let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(*peer.as_bytes()));
    if !shared.was_contributory() {
        return Err(Error::Proto(
            "CURVE peer key gives an all-zero shared secret".into(),
        ));
    }
    Ok(Zeroizing::new(<XSalsa20Poly1305 as Kdf>::kdf(
        shared.as_bytes().into(),
        &Default::default(),
    )))
}

/// A precomputed box ([`shared_key`]): XSalsa20-Poly1305 boxes under that key.
fn precompute(peer: &PublicKey, ours: &SecretKey) -> Result<XSalsa20Poly1305> {
    let key = shared_key(peer, ours)?;
    Ok(XSalsa20Poly1305::new(&key))
}

/// The 24-byte nonce: an ASCII prefix and a counter or random tail (RFC 26).
fn nonce(prefix: &[u8], tail: &[u8]) -> crypto_secretbox::Nonce {
    let mut n = crypto_secretbox::Nonce::default();
    n[..prefix.len()].copy_from_slice(prefix);
    n[prefix.len()..].copy_from_slice(tail);
    n
}

/// Boxes `plaintext`: the 16-byte authenticator, then the ciphertext (NaCl's layout).
fn seal(cipher: &impl Boxer, prefix: &[u8], tail: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; TAG_LEN + plaintext.len()];
    out[TAG_LEN..].copy_from_slice(plaintext);
    // XSalsa20-Poly1305 encryption cannot fail for buffers this size (the aead crate errs
    // only past the cipher's 2^70-byte limit).
    if let Ok(tag) =
        cipher.encrypt_in_place_detached(&nonce(prefix, tail), b"", &mut out[TAG_LEN..])
    {
        out[..TAG_LEN].copy_from_slice(&tag);
    }
    out
}

/// Opens a box made by [`seal`]; an error names `what` failed to authenticate.
fn open(
    cipher: &impl Boxer,
    prefix: &[u8],
    tail: &[u8],
    boxed: &[u8],
    what: &str,
) -> Result<Zeroizing<Vec<u8>>> {
    let bad = || Error::Proto(format!("CURVE {what} box does not open"));
    if boxed.len() < TAG_LEN {
        return Err(bad());
    }
    let (tag, ciphertext) = boxed.split_at(TAG_LEN);
    let mut plain = Zeroizing::new(ciphertext.to_vec());
    cipher
        .decrypt_in_place_detached(&nonce(prefix, tail), b"", &mut plain, tag.into())
        .map_err(|_| bad())?;
    Ok(plain)
}

/// Reads the 8-byte big-endian short nonce at `at` and checks that it is strictly greater
/// than the last one received (libzmq closes on a replayed or reordered nonce).
fn short_nonce(body: &[u8], at: usize, last: u64) -> Result<u64> {
    let bytes: [u8; 8] = body
        .get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Error::Proto("truncated CURVE command".into()))?;
    let n = u64::from_be_bytes(bytes);
    if n <= last {
        return Err(Error::Proto(format!(
            "CURVE nonce {n} replayed (last {last})"
        )));
    }
    Ok(n)
}

/// The next short nonce to send; the counter never wraps (a connection that used 2^64
/// nonces fails instead of reusing one).
fn next_nonce(counter: &mut u64) -> Result<[u8; 8]> {
    let n = *counter;
    *counter = n
        .checked_add(1)
        .ok_or_else(|| Error::Proto("CURVE nonces exhausted".into()))?;
    Ok(n.to_be_bytes())
}

/// Reads a 32-byte key at `at`.
fn key_at(body: &[u8], at: usize) -> Result<PublicKey> {
    body.get(at..at + 32)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(PublicKey::from_bytes)
        .ok_or_else(|| Error::Proto("truncated CURVE command".into()))
}

//! The MESSAGE boxes of one direction of a CURVE connection: NaCl's `crypto_secretbox`
//! (XSalsa20-Poly1305) under the connection's precomputed box key, put together from
//! RustCrypto's `salsa20` and `poly1305` exactly as `crypto_secretbox` puts them together
//! (docs/security.md §3.7). No primitive is written here.
//!
//! Why not `crypto_secretbox` itself, as the handshake uses: XSalsa20 starts every box with
//! HSalsa20 over the key and the first 16 bytes of the 24-byte nonce, and in a MESSAGE nonce
//! those 16 bytes are the direction's constant prefix (`CurveZMQMESSAGEC` or `...S`). The
//! subkey is therefore the same for every MESSAGE of a direction: it is computed once, when
//! the handshake ends, instead of once per message. What follows per message is XSalsa20's
//! second half, Salsa20 under that subkey with the 8-byte short nonce: the first 32 bytes of
//! its keystream are the one-time Poly1305 key, the rest encrypts the payload, and the
//! authenticator is Poly1305 over the ciphertext. The tests check the result byte for byte
//! against `crypto_secretbox`.

use crypto_secretbox::aead::Error;
use crypto_secretbox::{Key, Tag};
use poly1305::universal_hash::{KeyInit, UniversalHash};
use poly1305::Poly1305;
use salsa20::cipher::consts::U10;
use salsa20::cipher::{KeyIvInit, StreamCipher};
use salsa20::{hsalsa, Salsa20};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Poly1305's block.
const BLOCK: usize = 16;

/// Boxes of one direction: its nonces all begin with the same 16 bytes.
pub(crate) struct MessageBox {
    /// HSalsa20 of the box key and the direction's nonce prefix: the XSalsa20 subkey of
    /// every box in this direction. Zeroized when dropped.
    subkey: Zeroizing<Key>,
}

impl MessageBox {
    /// The boxes under `key` whose nonces begin with `prefix`.
    pub(crate) fn new(key: &Key, prefix: &[u8; 16]) -> MessageBox {
        MessageBox {
            subkey: Zeroizing::new(hsalsa::<U10>(key, prefix.into())),
        }
    }

    /// Encrypts `buf` in place under the nonce `prefix || tail` and returns the
    /// authenticator (`crypto_secretbox_detached`).
    pub(crate) fn seal_in_place(&self, tail: &[u8; 8], buf: &mut [u8]) -> Result<Tag, Error> {
        let (mut cipher, mac) = self.start(tail)?;
        cipher.try_apply_keystream(buf).map_err(|_| Error)?;
        Ok(authenticate(mac, buf))
    }

    /// Checks `tag` over the ciphertext in `buf` (in constant time), then decrypts `buf` in
    /// place (`crypto_secretbox_open_detached`). A box that does not open is left as it was.
    pub(crate) fn open_in_place(
        &self,
        tail: &[u8; 8],
        buf: &mut [u8],
        tag: &Tag,
    ) -> Result<(), Error> {
        let (mut cipher, mac) = self.start(tail)?;
        if !bool::from(authenticate(mac, buf).ct_eq(tag)) {
            return Err(Error);
        }
        cipher.try_apply_keystream(buf).map_err(|_| Error)
    }

    /// Salsa20 under the subkey with the short nonce, and Poly1305 keyed by the first 32
    /// bytes of its keystream (the cipher is left at byte 32, where the payload starts).
    fn start(&self, tail: &[u8; 8]) -> Result<(Salsa20, Poly1305), Error> {
        let mut cipher = Salsa20::new(&self.subkey, tail.into());
        let mut mac_key = Zeroizing::new(poly1305::Key::default());
        cipher
            .try_apply_keystream(&mut mac_key)
            .map_err(|_| Error)?;
        Ok((cipher, Poly1305::new(&mac_key)))
    }
}

/// Poly1305 of `data` with NaCl's final partial block (`compute_unpadded`). The whole
/// 16-byte blocks go through `update_padded`, which pads nothing when given whole blocks but
/// hands them to the backend several at a time (the AVX2 backend takes four), where
/// `compute_unpadded` feeds them one by one.
fn authenticate(mut mac: Poly1305, data: &[u8]) -> Tag {
    let (blocks, rest) = data.split_at(data.len() - data.len() % BLOCK);
    mac.update_padded(blocks);
    mac.compute_unpadded(rest)
}

#[cfg(test)]
mod tests {
    use crypto_secretbox::aead::{AeadInPlace, KeyInit};
    use crypto_secretbox::XSalsa20Poly1305;

    use super::*;

    /// splitmix64: test inputs only, reproducible from the seed.
    struct Inputs(u64);

    impl Inputs {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn fill(&mut self, buf: &mut [u8]) {
            for b in buf {
                *b = self.next() as u8;
            }
        }

        fn array<const N: usize>(&mut self) -> [u8; N] {
            let mut a = [0u8; N];
            self.fill(&mut a);
            a
        }
    }

    /// Seals and opens `len` random bytes under a random key and nonce, both ways against
    /// `crypto_secretbox`: same ciphertext, same authenticator, each opens the other's box,
    /// and a box with one bit flipped (authenticator or ciphertext) opens with neither.
    fn check(inputs: &mut Inputs, len: usize) {
        let key = Key::from(inputs.array::<32>());
        let prefix = inputs.array::<16>();
        let tail = inputs.array::<8>();
        let mut nonce = crypto_secretbox::Nonce::default();
        nonce[..16].copy_from_slice(&prefix);
        nonce[16..].copy_from_slice(&tail);
        let mut plain = vec![0u8; len];
        inputs.fill(&mut plain);

        let ours = MessageBox::new(&key, &prefix);
        let reference = XSalsa20Poly1305::new(&key);

        let mut sealed = plain.clone();
        let tag = ours.seal_in_place(&tail, &mut sealed).expect("seal");
        let mut expected = plain.clone();
        let expected_tag = reference
            .encrypt_in_place_detached(&nonce, b"", &mut expected)
            .expect("reference seal");
        assert_eq!(sealed, expected, "ciphertext, {len} bytes");
        assert_eq!(tag, expected_tag, "authenticator, {len} bytes");

        let mut opened = expected.clone();
        ours.open_in_place(&tail, &mut opened, &expected_tag)
            .expect("open the reference box");
        assert_eq!(opened, plain, "opened, {len} bytes");
        let mut opened = sealed.clone();
        reference
            .decrypt_in_place_detached(&nonce, b"", &mut opened, &tag)
            .expect("reference opens ours");
        assert_eq!(opened, plain);

        let mut bad_tag = tag;
        bad_tag[(inputs.next() % 16) as usize] ^= 1 << (inputs.next() % 8);
        let mut buf = sealed.clone();
        assert!(ours.open_in_place(&tail, &mut buf, &bad_tag).is_err());
        assert_eq!(buf, sealed, "a box that does not open is left as it was");
        if len > 0 {
            let mut bad = sealed.clone();
            bad[(inputs.next() % len as u64) as usize] ^= 1 << (inputs.next() % 8);
            let mut buf = bad.clone();
            assert!(ours.open_in_place(&tail, &mut buf, &tag).is_err());
            assert!(reference
                .decrypt_in_place_detached(&nonce, b"", &mut bad, &tag)
                .is_err());
        }
    }

    #[test]
    fn same_boxes_as_crypto_secretbox_for_every_length_to_300() {
        let mut inputs = Inputs(0x1505_c0de);
        // Eight rounds, each with new keys and nonces for every length.
        for _ in 0..8 {
            for len in 0..=300 {
                check(&mut inputs, len);
            }
        }
    }

    #[test]
    fn same_boxes_as_crypto_secretbox_for_large_messages() {
        let mut inputs = Inputs(0xc0ff_ee00);
        for len in [
            1023,
            1024,
            1025,
            4095,
            4096,
            4097,
            65535,
            65536,
            65537,
            65536 + 64 + 13,
            1 << 20,
            (1 << 20) + 7,
        ] {
            check(&mut inputs, len);
        }
    }

    #[test]
    fn the_wrong_nonce_does_not_open() {
        let mut inputs = Inputs(7);
        let key = Key::from(inputs.array::<32>());
        let send = MessageBox::new(&key, b"CurveZMQMESSAGEC");
        let other_direction = MessageBox::new(&key, b"CurveZMQMESSAGES");
        let mut buf = *b"payload of a message";
        let tag = send
            .seal_in_place(&3u64.to_be_bytes(), &mut buf)
            .expect("seal");
        let sealed = buf;
        assert!(other_direction
            .open_in_place(&3u64.to_be_bytes(), &mut buf, &tag)
            .is_err());
        assert!(send
            .open_in_place(&4u64.to_be_bytes(), &mut buf, &tag)
            .is_err());
        assert_eq!(buf, sealed);
        send.open_in_place(&3u64.to_be_bytes(), &mut buf, &tag)
            .expect("open");
        assert_eq!(&buf, b"payload of a message");
    }
}

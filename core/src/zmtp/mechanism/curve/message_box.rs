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
        let mut cipher = Salsa20::new(&self.subkey, tail.into());
        let mac = one_time_mac(&mut cipher)?;
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
        let mut cipher = Salsa20::new(&self.subkey, tail.into());
        let mac = one_time_mac(&mut cipher)?;
        if !bool::from(authenticate(mac, buf).ct_eq(tag)) {
            return Err(Error);
        }
        cipher.try_apply_keystream(buf).map_err(|_| Error)
    }
}

/// Poly1305 keyed by the first 32 bytes of the box's keystream; `cipher` is left at byte 32,
/// where the payload's keystream starts. The cipher and the key are taken by reference and
/// built where they are used: returned by value they were copied (memcpy) on every box.
#[inline(always)]
fn one_time_mac(cipher: &mut Salsa20) -> Result<Poly1305, Error> {
    let mut mac_key = Zeroizing::new(poly1305::Key::default());
    cipher
        .try_apply_keystream(&mut mac_key)
        .map_err(|_| Error)?;
    Ok(Poly1305::new(&mac_key))
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

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// Known answers from libsodium 1.0.18's `crypto_secretbox_detached` (an implementation
    /// independent of RustCrypto's): key 00 01 .. 1f, nonce `CurveZMQMESSAGEC` and 3 as the
    /// short nonce, message byte i = (7i + len) mod 256.
    #[test]
    fn same_boxes_as_libsodium() {
        let tags = [
            (0, "c3a6b55fc034f8e8140397c6093ba055"),
            (1, "2eb58bc4abb312b45efdd611952888a5"),
            (15, "3d259b5b38274ea4f0397e609d6b2c87"),
            (16, "c8a9f8e663d8c8f365676ecf1cb62e21"),
            (17, "7c8e00bbcdbbfbf36059efc748a1b4cc"),
            (31, "7728f9d3ffadd310fce11efc93b7c4da"),
            (32, "5a2994b5d246fcc631eb5ac2e8da5b0b"),
            (33, "179cd344917bc87112eed820a2c86dc5"),
            (63, "9151a3b2243d173e63cb07bee8d107da"),
            (64, "1c3655e18a0f013d0d540dbb13fbff73"),
            (65, "827c44331b558a0d75a6b19074ef264a"),
            (127, "e79bf04994e25ff35d8e67616d708a80"),
            (128, "11a0473de03e520e443f1845e4354ce1"),
            (129, "c992bb325c70e760d91b5c7e47ea619a"),
            (255, "e1979dc659648f5478ab7034b48a36f8"),
            (256, "dcbb9c8f0ad069436a99ee8522d3f2e0"),
            (300, "3605f2b15232d9d0f11800577684b306"),
            (1000, "5ac91eabc391c3c062a87dd462f5f56e"),
            (4096, "5c74f6cd88586c063c1d7b0f6291c36f"),
            (65536, "fc33fc5c9b000b271614a741df06db3b"),
        ];
        let key = Key::from(std::array::from_fn::<u8, 32, _>(|i| i as u8));
        let sbox = MessageBox::new(&key, b"CurveZMQMESSAGEC");
        let message = |len: usize| -> Vec<u8> { (0..len).map(|i| (i * 7 + len) as u8).collect() };
        for (len, tag) in tags {
            let mut buf = message(len);
            let sealed = sbox
                .seal_in_place(&3u64.to_be_bytes(), &mut buf)
                .expect("seal");
            assert_eq!(sealed.to_vec(), hex(tag), "authenticator, {len} bytes");
            sbox.open_in_place(&3u64.to_be_bytes(), &mut buf, &sealed)
                .expect("open");
            assert_eq!(buf, message(len));
        }
        let mut buf = message(131);
        sbox.seal_in_place(&3u64.to_be_bytes(), &mut buf)
            .expect("seal");
        assert_eq!(
            buf,
            hex(concat!(
                "6e68be78fb578f5cef920713809065b626c85ed312981e77aa7d8e109d0d8ef1",
                "cfe0aaac3362d4ab99eed7cca960f37a99340ad96c2d5d33e5b6a3074044f908",
                "25238274c095e5e7a57173ff8fe13a8088fc46e8df11fd8dee4d1475e937f9de",
                "09b1e945e487b8b29613311ec301d4301a17078ee06475c756f4b3bd7a4a98a1",
                "3cd3b5"
            ))
        );
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

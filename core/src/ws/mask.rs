//! Payload masking (RFC 6455 §5.3): byte `i` of a payload is XORed with byte `i % 4` of the
//! frame's key, both ways (masking and unmasking are the same operation).
//!
//! Done a word at a time: a few bytes one by one up to an 8-byte boundary of the buffer,
//! then whole u64 words XORed with the key repeated twice and rotated to the word's position
//! in the payload, then the last few bytes one by one. Byte by byte, unmasking a large frame
//! costs more than reading it.

use std::mem::MaybeUninit;

use bytes::BytesMut;

/// Appends `src` to `dst` masked with `key`, `src[0]` being byte `offset` of the payload:
/// one pass that reads each byte once and writes it once, where a copy followed by
/// [`apply_mask`] over the copy goes over every byte twice (a client's cost per byte sent).
/// Eight bytes at a time, as a word XORed with the key repeated to its position.
pub(crate) fn extend_masked(dst: &mut BytesMut, src: &[u8], key: [u8; 4], offset: usize) {
    dst.reserve(src.len());
    let start = dst.len();
    let pattern: [u8; 8] = std::array::from_fn(|j| key[offset.wrapping_add(j) & 3]);
    let word = u64::from_ne_bytes(pattern);
    let spare = dst.spare_capacity_mut();
    let (spare, _) = spare.split_at_mut(src.len().min(spare.len()));
    let mut out = spare.chunks_exact_mut(8);
    let mut words = src.chunks_exact(8);
    for (o, w) in (&mut out).zip(&mut words) {
        // Both chunks are 8 bytes long (`chunks_exact`): one load, one XOR, one store.
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(w);
        let masked = (u64::from_ne_bytes(bytes) ^ word).to_ne_bytes();
        o.copy_from_slice(&masked.map(MaybeUninit::new));
    }
    // The words covered a multiple of 8 bytes: the key position is `offset`'s again.
    for ((o, w), p) in out
        .into_remainder()
        .iter_mut()
        .zip(words.remainder())
        .zip(pattern)
    {
        o.write(w ^ p);
    }
    let written = spare.len();
    // SAFETY: `reserve` made room for `src.len()` bytes, so `spare` is that long, and the two
    // loops wrote every byte of it (the words, then the last bytes).
    unsafe { dst.set_len(start + written) };
}

/// XORs `buf` with `key` in place, `buf[0]` being byte `offset` of the payload (so that a
/// payload can be masked in pieces).
pub(crate) fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let head_len = buf.as_ptr().align_offset(8).min(buf.len());
    let (head, body) = buf.split_at_mut(head_len);
    mask_bytes(head, key, offset);
    let pos = offset.wrapping_add(head_len);
    let word = u64::from_ne_bytes(std::array::from_fn(|j| key[pos.wrapping_add(j) & 3]));
    let mut words = body.chunks_exact_mut(8);
    for chunk in &mut words {
        // Always 8 bytes (`chunks_exact_mut`); the conversion cannot fail.
        if let Ok(w) = <&mut [u8; 8]>::try_from(chunk) {
            *w = (u64::from_ne_bytes(*w) ^ word).to_ne_bytes();
        }
    }
    // The words covered a multiple of 8 bytes, so the key position is `pos`'s again.
    mask_bytes(words.into_remainder(), key, pos);
}

fn mask_bytes(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= key[offset.wrapping_add(i) & 3];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::tests::Rng;

    /// The RFC 6455 §5.3 definition, byte by byte: `j = i MOD 4`,
    /// `transformed-octet-i = original-octet-i XOR masking-key-octet-j`.
    fn reference(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(offset + i) % 4];
        }
    }

    #[test]
    fn matches_the_bytewise_definition_for_every_length_and_offset() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let data: Vec<u8> = (0..200u32).map(|i| (i * 7 + 3) as u8).collect();
        // Every length 0..=64, every key position 0..4 and every buffer alignment 0..8.
        for len in 0..=64 {
            for offset in 0..4 {
                for start in 0..8 {
                    let mut fast = data.clone();
                    let mut slow = data.clone();
                    apply_mask(&mut fast[start..start + len], key, offset);
                    reference(&mut slow[start..start + len], key, offset);
                    assert_eq!(fast, slow, "len {len} offset {offset} start {start}");
                }
            }
        }
    }

    #[test]
    fn matches_the_bytewise_definition_on_random_input() {
        let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
        for _ in 0..2000 {
            let len = (rng.next() % 3000) as usize;
            let start = (rng.next() % 16) as usize;
            let offset = rng.next() as usize;
            let key = (rng.next() as u32).to_be_bytes();
            let data: Vec<u8> = (0..len + start).map(|_| rng.next() as u8).collect();
            let mut fast = data.clone();
            let mut slow = data.clone();
            apply_mask(&mut fast[start..], key, offset);
            reference(&mut slow[start..], key, offset % 4);
            assert_eq!(fast, slow, "len {len} start {start} offset {offset}");
        }
    }

    #[test]
    fn extend_masked_equals_copying_then_masking() {
        let mut rng = Rng::new(0x2545_f491_4f6c_dd1d);
        for len in (0..=70).chain([1000, 4099]) {
            for offset in 0..4 {
                let key = (rng.next() as u32).to_be_bytes();
                let src: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                let mut fast = BytesMut::from(&b"head"[..]);
                extend_masked(&mut fast, &src, key, offset);
                let mut slow = src.clone();
                reference(&mut slow, key, offset);
                assert_eq!(&fast[..4], b"head");
                assert_eq!(&fast[4..], &slow[..], "len {len} offset {offset}");
            }
        }
    }

    #[test]
    fn masking_in_pieces_equals_masking_at_once() {
        let key = [1, 2, 3, 4];
        let data: Vec<u8> = (0..100u8).collect();
        let mut whole = data.clone();
        apply_mask(&mut whole, key, 0);
        let mut pieces = data.clone();
        let (a, b) = pieces.split_at_mut(13);
        apply_mask(a, key, 0);
        apply_mask(b, key, 13);
        assert_eq!(whole, pieces);
        apply_mask(&mut whole, key, 0);
        assert_eq!(whole, data, "masking twice gives the payload back");
    }
}

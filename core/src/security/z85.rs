//! Z85 (RFC 32): the text form of CURVE keys, four bytes to five printable characters.
//!
//! Strict: a binary length that is not a multiple of 4, a text length that is not a multiple
//! of 5, a character outside the alphabet, or a group whose value exceeds 2^32 - 1 is an
//! error, never a silently wrong key.

use crate::error::{Error, Result};

/// RFC 32's alphabet: value `i` is written as `ALPHABET[i]`.
const ALPHABET: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// The inverse of [`ALPHABET`] for bytes 0..128: the value, or 0xFF for "not in the alphabet".
const DECODE: [u8; 128] = {
    let mut table = [0xFFu8; 128];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Encodes `data` (length a multiple of 4) as Z85 text.
pub fn encode(data: &[u8]) -> Result<String> {
    if data.len() % 4 != 0 {
        return Err(Error::Inval(format!(
            "Z85 encodes multiples of 4 bytes, not {}",
            data.len()
        )));
    }
    let mut out = String::with_capacity(data.len() / 4 * 5);
    for group in data.chunks_exact(4) {
        let mut value = u32::from_be_bytes([group[0], group[1], group[2], group[3]]);
        let mut chars = [0u8; 5];
        for c in chars.iter_mut().rev() {
            *c = ALPHABET[(value % 85) as usize];
            value /= 85;
        }
        out.extend(chars.iter().map(|&c| char::from(c)));
    }
    Ok(out)
}

/// Decodes Z85 text (length a multiple of 5) into bytes.
pub fn decode(text: &str) -> Result<Vec<u8>> {
    let text = text.as_bytes();
    if text.len() % 5 != 0 {
        return Err(Error::Inval(format!(
            "Z85 text comes in groups of 5 characters, not {}",
            text.len()
        )));
    }
    let mut out = Vec::with_capacity(text.len() / 5 * 4);
    for group in text.chunks_exact(5) {
        let mut value: u64 = 0;
        for &c in group {
            let digit = DECODE.get(usize::from(c)).copied().unwrap_or(0xFF);
            if digit == 0xFF {
                return Err(Error::Inval(format!(
                    "{:?} is not a Z85 character",
                    char::from(c)
                )));
            }
            value = value * 85 + u64::from(digit);
        }
        let value =
            u32::try_from(value).map_err(|_| Error::Inval("Z85 group exceeds 2^32 - 1".into()))?;
        out.extend_from_slice(&value.to_be_bytes());
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// RFC 32's test vector: `86 4F D2 6F B5 59 F7 5B` is "HelloWorld".
    #[test]
    fn rfc32_test_vector() {
        let data = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
        assert_eq!(encode(&data).unwrap(), "HelloWorld");
        assert_eq!(decode("HelloWorld").unwrap(), data);
    }

    #[test]
    fn every_group_value_round_trips() {
        for value in [0u32, 1, 84, 85, 0x1234_5678, u32::MAX - 1, u32::MAX] {
            let text = encode(&value.to_be_bytes()).unwrap();
            assert_eq!(decode(&text).unwrap(), value.to_be_bytes());
        }
        assert_eq!(encode(&[0xFF; 4]).unwrap(), "%nSc0");
    }

    /// RFC 32: "the binary frame SHALL have a length that is divisible by 4" and "the string
    /// frame SHALL have a length that is divisible by 5"; other input is rejected.
    #[test]
    fn bad_lengths_characters_and_overflow_are_errors() {
        assert!(encode(&[1, 2, 3]).is_err());
        assert!(decode("Hell").is_err());
        assert!(decode("Hell\"").is_err());
        assert!(decode("Hellé").is_err());
        assert!(
            decode("%nSc1").is_err(),
            "2^32 is one past the largest group"
        );
        assert!(decode("#####").is_err());
        assert_eq!(decode("").unwrap(), Vec::<u8>::new());
    }
}

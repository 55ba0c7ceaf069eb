// Run from the repository root:
//   RUSTC_BOOTSTRAP=1 cargo fuzz run z85 -- -max_total_time=60
//
// Z85 (RFC 32) and the CURVE key options that read it. The input is decoded as text (lossily
// when it is not UTF-8, so that multi-byte characters reach the decoder too); every decoded
// text must encode back to itself (Z85 has one spelling per value), and the input's bytes,
// cut to a multiple of 4, must survive encode then decode. Key parsing (32 raw bytes, 40 Z85
// characters, or 41 with a final NUL) must agree with the decoder.
#![no_main]

use isomq_core::security::{z85, PublicKey, SecretKey};
use libfuzzer_sys::fuzz_target;

const ALPHABET: &[u8] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match z85::decode(&text) {
        Ok(bytes) => {
            assert_eq!(text.len() % 5, 0);
            assert_eq!(bytes.len(), text.len() / 5 * 4);
            assert_eq!(z85::encode(&bytes).ok().as_deref(), Some(&*text));
        }
        Err(_) => assert!(
            !text.len().is_multiple_of(5)
                || text.bytes().any(|c| !ALPHABET.contains(&c))
                || text
                    .as_bytes()
                    .chunks(5)
                    .any(|g| g.iter().fold(0u64, |v, &c| v * 85 + digit(c)) > u64::from(u32::MAX)),
            "valid Z85 refused"
        ),
    }

    let whole = &data[..data.len() / 4 * 4];
    let encoded = z85::encode(whole);
    match &encoded {
        Ok(s) => {
            assert_eq!(s.len(), whole.len() / 4 * 5);
            assert!(s.bytes().all(|c| ALPHABET.contains(&c)));
            assert_eq!(z85::decode(s).ok().as_deref(), Some(whole));
        }
        Err(e) => panic!("encoding {} bytes failed: {e}", whole.len()),
    }
    if !data.len().is_multiple_of(4) {
        assert!(z85::encode(data).is_err(), "a partial group was encoded");
    }

    // Keys: whatever parses must be the same key in every spelling.
    if let Ok(key) = PublicKey::parse(data) {
        let z = key.to_z85();
        assert_eq!(PublicKey::parse(z.as_bytes()).ok(), Some(key));
        if data.len() != 32 {
            assert_eq!(&data[..40], z.as_bytes());
        }
    }
    if let Ok(secret) = SecretKey::parse(data) {
        assert_eq!(
            SecretKey::parse(secret.to_z85().as_bytes()).ok(),
            Some(secret)
        );
    }
});

fn digit(c: u8) -> u64 {
    ALPHABET.iter().position(|&a| a == c).unwrap_or(0) as u64
}

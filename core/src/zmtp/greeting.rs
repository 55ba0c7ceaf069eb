//! The 64-byte ZMTP 3.x greeting (docs/wire.md §2): what we send and how we read the peer's.

use crate::error::{Error, Result};

/// Length of a ZMTP 3.x greeting.
pub(crate) const GREETING_LEN: usize = 64;

const SIGNATURE_END: usize = 9;
const MAJOR: usize = 10;
const MINOR: usize = 11;
const MECHANISM: usize = 12;
const MECHANISM_LEN: usize = 20;

/// The ZMTP 3.x revision spoken on a connection, after downgrade to what the peer understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    /// ZMTP 3.0 (libzmq ≤ 4.3.2): subscriptions travel as `0x01`/`0x00` data frames.
    V3_0,
    /// ZMTP 3.1: subscriptions travel as SUBSCRIBE/CANCEL commands.
    V3_1,
}

impl Version {
    /// As `(major, minor)`.
    pub(crate) fn pair(self) -> (u8, u8) {
        match self {
            Version::V3_0 => (3, 0),
            Version::V3_1 => (3, 1),
        }
    }
}

/// The 20-byte mechanism field: the name, NUL-padded (truncated past 20 bytes).
pub(crate) fn mechanism_field(name: &str) -> [u8; MECHANISM_LEN] {
    let mut field = [0u8; MECHANISM_LEN];
    let n = name.len().min(MECHANISM_LEN);
    field[..n].copy_from_slice(&name.as_bytes()[..n]);
    field
}

/// The full greeting isomq sends: ZMTP 3.1, `mechanism`, as-server 0.
///
/// The padding holds `identity_len + 1` (big-endian), as libzmq writes it: that makes the first
/// ten bytes a valid ZMTP 1.0 identity header, so our greeting is byte-identical to libzmq's.
/// The as-server byte is always 0, also as libzmq (docs/wire.md §2.2).
pub fn greeting_bytes(mechanism: &str, identity_len: usize) -> [u8; GREETING_LEN] {
    let mut g = [0u8; GREETING_LEN];
    g[0] = 0xFF;
    let padding = u64::try_from(identity_len)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    g[1..SIGNATURE_END].copy_from_slice(&padding.to_be_bytes());
    g[SIGNATURE_END] = 0x7F;
    g[MAJOR] = 3;
    g[MINOR] = 1;
    g[MECHANISM..MECHANISM + MECHANISM_LEN].copy_from_slice(&mechanism_field(mechanism));
    g
}

/// Checks as much of the peer's greeting as has arrived, so that a bad peer is dropped at the
/// first byte that shows it (libzmq also decides on the signature after 10 bytes and on the
/// version after 11). Returns the negotiated version once all 64 bytes are there.
///
/// ZMTP 1.0 and 2.0 peers are not supported: a signature libzmq would read as 1.0 (`b[0] !=
/// 0xFF` or bit 0 of `b[9]` clear) and a major version below 3 are errors.
pub(crate) fn check(buf: &[u8], mechanism: &[u8; MECHANISM_LEN]) -> Result<Option<Version>> {
    if buf.len() > SIGNATURE_END {
        // libzmq tests only these two bits of the signature, nothing in the padding.
        if buf[0] != 0xFF || buf[SIGNATURE_END] & 1 == 0 {
            return Err(Error::Proto(
                "bad greeting signature (ZMTP 1.0 peers are not supported)".into(),
            ));
        }
    }
    if let Some(&major) = buf.get(MAJOR) {
        if major < 3 {
            return Err(Error::Proto(format!(
                "peer speaks ZMTP major version {major} (only 3.x is supported)"
            )));
        }
    }
    if let Some(field) = buf.get(MECHANISM..MECHANISM + MECHANISM_LEN) {
        // All 20 bytes count: space padding or another case is a mismatch, as in libzmq.
        if field != mechanism {
            return Err(Error::Proto(format!(
                "security mechanism mismatch: peer wants {:?}",
                String::from_utf8_lossy(field).trim_end_matches('\0')
            )));
        }
    }
    if buf.len() < GREETING_LEN {
        return Ok(None);
    }
    // RFC 37: a peer SHALL accept any higher version and speak its own; only 3.0 downgrades.
    if buf[MAJOR] == 3 && buf[MINOR] == 0 {
        Ok(Some(Version::V3_0))
    } else {
        Ok(Some(Version::V3_1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_greeting_waits_then_fails_early() {
        let null = mechanism_field("NULL");
        let g = greeting_bytes("NULL", 0);
        for n in 0..GREETING_LEN {
            assert_eq!(check(&g[..n], &null), Ok(None), "prefix {n}");
        }
        assert_eq!(check(&g, &null), Ok(Some(Version::V3_1)));
        // A wrong signature end is seen at byte 10, before the rest arrives.
        let mut bad = g;
        bad[9] = 0x7E;
        assert!(check(&bad[..10], &null).is_err());
    }

    #[test]
    fn higher_versions_are_spoken_as_3_1() {
        // RFC 37: "a peer MUST accept higher protocol versions as valid".
        let null = mechanism_field("NULL");
        let mut g = greeting_bytes("NULL", 0);
        g[MAJOR] = 4;
        g[MINOR] = 0;
        assert_eq!(check(&g, &null), Ok(Some(Version::V3_1)));
        g[MAJOR] = 3;
        g[MINOR] = 7;
        assert_eq!(check(&g, &null), Ok(Some(Version::V3_1)));
    }
}

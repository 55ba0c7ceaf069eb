//! Close frames (RFC 6455 §5.5.1): an optional 2-byte status code, then an optional UTF-8
//! reason, 125 bytes in all.

use super::error::ProtocolError;
use super::frame::MAX_CONTROL_PAYLOAD;

/// The longest reason a close frame can carry beside its code.
pub(crate) const MAX_REASON: usize = MAX_CONTROL_PAYLOAD - 2;

/// Whether `code` may appear in a close frame (RFC 6455 §7.4): 1000-1003 and 1007-1011
/// (RFC 6455 §7.4.1), 1012-1014 (registered since in the IANA "WebSocket Close Code Number"
/// registry, RFC 6455 §11.7), 3000-3999 (registered by libraries and frameworks) and
/// 4000-4999 (private use, RFC 6455 §7.4.2).
///
/// Refused: under 1000 (unused), 1004 (reserved), 1005, 1006 and 1015 (which "MUST NOT be set
/// as a status code in a Close control frame"), 1016-2999 (reserved for RFC 6455 itself and
/// for extensions, none assigned) and 5000 up (undefined).
pub fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Checks a received close payload and returns its code and reason.
pub(crate) fn parse(payload: &[u8]) -> Result<(Option<u16>, &str), ProtocolError> {
    let (code, reason) = match payload {
        [] => return Ok((None, "")),
        // Half a status code (RFC 6455 §5.5.1: "the first two bytes of the body MUST be a
        // 2-byte unsigned integer").
        [_] => return Err(ProtocolError::CloseTooShort),
        [hi, lo, reason @ ..] => (u16::from_be_bytes([*hi, *lo]), reason),
    };
    if !is_valid_close_code(code) {
        return Err(ProtocolError::CloseCode(code));
    }
    // RFC 6455 §5.5.1: the reason is UTF-8; §8.1: invalid UTF-8 fails the connection, and
    // 1007 is the code for data inconsistent with its type (§7.4.1).
    let reason = std::str::from_utf8(reason).map_err(|_| ProtocolError::CloseReasonUtf8)?;
    Ok((Some(code), reason))
}

/// A close payload for `code` (none: an empty close frame) and `reason` (dropped without a
/// code, cut at a character boundary to fit).
pub(crate) fn payload(code: Option<u16>, reason: &str) -> ([u8; MAX_CONTROL_PAYLOAD], usize) {
    let mut out = [0u8; MAX_CONTROL_PAYLOAD];
    let Some(code) = code else {
        return (out, 0);
    };
    let mut end = reason.len().min(MAX_REASON);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let reason = reason.as_bytes().get(..end).unwrap_or_default();
    out[..2].copy_from_slice(&code.to_be_bytes());
    out[2..2 + reason.len()].copy_from_slice(reason);
    (out, 2 + reason.len())
}

//! The frame header (RFC 6455 §5.2): parsed and checked as its bytes arrive, and written.
//!
//! ```text
//! FIN RSV1-3 opcode(4) | MASK len(7) | len ext: 0, 2 or 8 bytes | masking key: 0 or 4 bytes
//! ```
//!
//! Checks run in a fixed order, each as soon as the bytes it needs are there, so that the
//! same input gives the same error however it is split between reads.

use bytes::{BufMut, BytesMut};

use super::error::ProtocolError;
use super::Role;

pub(crate) const CONTINUATION: u8 = 0x0;
pub(crate) const TEXT: u8 = 0x1;
pub(crate) const BINARY: u8 = 0x2;
pub(crate) const CLOSE: u8 = 0x8;
pub(crate) const PING: u8 = 0x9;
pub(crate) const PONG: u8 = 0xA;

const FIN: u8 = 0x80;
const RSV: u8 = 0x70;
const OPCODE: u8 = 0x0F;
const MASK: u8 = 0x80;
const LEN7: u8 = 0x7F;
/// Opcodes with this bit set are control frames (RFC 6455 §5.5).
const CONTROL: u8 = 0x08;

/// The largest control frame payload (RFC 6455 §5.5).
pub(crate) const MAX_CONTROL_PAYLOAD: usize = 125;

/// A complete, checked frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) fin: bool,
    pub(crate) opcode: u8,
    /// The masking key, present on frames from a client.
    pub(crate) key: Option<[u8; 4]>,
    pub(crate) header_len: usize,
    pub(crate) payload_len: usize,
}

pub(crate) fn is_control(opcode: u8) -> bool {
    opcode & CONTROL != 0
}

/// Reads and checks the header at the start of `buf` for a codec of `role`; `Ok(None)` while
/// it has not all arrived. Only what the header alone says is checked here; what depends on
/// earlier frames (fragmentation, the message size) is the decoder's.
pub(crate) fn parse(buf: &[u8], role: Role) -> Result<Option<Header>, ProtocolError> {
    let Some(&b0) = buf.first() else {
        return Ok(None);
    };
    let (fin, opcode) = (b0 & FIN != 0, b0 & OPCODE);
    check_first_byte(b0)?;
    let Some(&b1) = buf.get(1) else {
        return Ok(None);
    };
    let masked = b1 & MASK != 0;
    match (role, masked) {
        (Role::Server, false) => return Err(ProtocolError::Unmasked),
        (Role::Client, true) => return Err(ProtocolError::Masked),
        _ => {}
    }
    let Some((len_end, len)) = payload_len(buf)? else {
        return Ok(None);
    };
    // RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less".
    // The length itself, not its form: a short length in a longer form is accepted.
    if is_control(opcode) && len > MAX_CONTROL_PAYLOAD as u64 {
        return Err(ProtocolError::ControlTooLong);
    }
    let header_len = len_end + if masked { 4 } else { 0 };
    let key = match buf.get(len_end..header_len) {
        None => return Ok(None),
        Some(key) => <[u8; 4]>::try_from(key).ok(),
    };
    // A length this host cannot address could never be received (RFC 6455 §7.4.1: 1009).
    let payload_len = usize::try_from(len)
        .ok()
        .filter(|n| n.checked_add(header_len).is_some())
        .ok_or(ProtocolError::TooBig)?;
    Ok(Some(Header {
        fin,
        opcode,
        key,
        header_len,
        payload_len,
    }))
}

/// RSV bits, the opcode, and FIN on control frames.
fn check_first_byte(b0: u8) -> Result<(), ProtocolError> {
    // RFC 6455 §5.2: RSV1-3 "MUST be 0 unless an extension is negotiated"; none is.
    if b0 & RSV != 0 {
        return Err(ProtocolError::ReservedBits((b0 & RSV) >> 4));
    }
    let opcode = b0 & OPCODE;
    match opcode {
        CONTINUATION | BINARY | CLOSE | PING | PONG => {}
        TEXT => return Err(ProtocolError::Text),
        other => return Err(ProtocolError::ReservedOpcode(other)),
    }
    // RFC 6455 §5.5: "Control frames themselves MUST NOT be fragmented."
    if is_control(opcode) && b0 & FIN == 0 {
        return Err(ProtocolError::ControlFragmented);
    }
    Ok(())
}

/// Where the length field ends and the payload length it gives, once it has arrived.
///
/// A length written in more bytes than needed (126 then a value under 126, say) is accepted:
/// RFC 6455 §5.2 makes the minimal form a sender's duty, and receivers commonly take the
/// longer forms.
fn payload_len(buf: &[u8]) -> Result<Option<(usize, u64)>, ProtocolError> {
    let Some(&b1) = buf.get(1) else {
        return Ok(None);
    };
    match b1 & LEN7 {
        126 => Ok(buf
            .get(2..4)
            .and_then(|b| <[u8; 2]>::try_from(b).ok())
            .map(|b| (4, u64::from(u16::from_be_bytes(b))))),
        127 => {
            let Some(b) = buf.get(2..10).and_then(|b| <[u8; 8]>::try_from(b).ok()) else {
                return Ok(None);
            };
            let len = u64::from_be_bytes(b);
            // RFC 6455 §5.2: "the most significant bit MUST be 0".
            if len >> 63 != 0 {
                return Err(ProtocolError::LengthTopBit);
            }
            Ok(Some((10, len)))
        }
        short => Ok(Some((2, u64::from(short)))),
    }
}

/// The whole size (header and payload) of the frame at the start of `buf` once its header
/// is there, checked or not: a transport sizes its next read with it, so that a large
/// payload arrives in one buffer.
pub(crate) fn head_frame_len(buf: &[u8]) -> Option<usize> {
    let b1 = *buf.get(1)?;
    let (len_end, len) = payload_len(buf).ok()??;
    let header_len = len_end + if b1 & MASK != 0 { 4 } else { 0 };
    usize::try_from(len).ok()?.checked_add(header_len)
}

/// Writes a final (FIN set) frame header: isomq never fragments what it sends. The length
/// takes the minimal form (RFC 6455 §5.2).
pub(crate) fn write_header(out: &mut BytesMut, opcode: u8, len: usize, key: Option<[u8; 4]>) {
    out.put_u8(FIN | opcode);
    let mask = if key.is_some() { MASK } else { 0 };
    if len < 126 {
        // Under 126: fits in the 7 bits.
        out.put_u8(mask | len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        out.put_u8(mask | 126);
        out.put_u16(len);
    } else {
        out.put_u8(mask | 127);
        // usize -> u64 never truncates on supported targets (≤ 64-bit).
        out.put_u64(len as u64);
    }
    if let Some(key) = key {
        out.put_slice(&key);
    }
}

/// The length of the header `write_header` writes.
pub(crate) fn header_len(len: usize, masked: bool) -> usize {
    let ext = match len {
        0..126 => 0,
        126..=0xFFFF => 2,
        _ => 8,
    };
    2 + ext + if masked { 4 } else { 0 }
}

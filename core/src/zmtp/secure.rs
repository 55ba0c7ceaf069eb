//! CURVE traffic on a ZMTP connection (docs/security.md §3.5): after the handshake every
//! frame, data or command, travels boxed in a MESSAGE. As libzmq, the MESSAGE goes out as an
//! ordinary frame (outer flags 0, LONG when needed, never MORE): MORE and COMMAND travel
//! inside, in the boxed flags byte. On input any outer flags are accepted.

use bytes::BytesMut;

use super::decoder::Frame;
use super::encoder::Encoder;
use super::mechanism::curve::{cipher, Cipher};
use crate::error::{Error, Result};
use crate::msg::Msg;

/// Inner flag for commands (PING, PONG, SUBSCRIBE, CANCEL).
pub(crate) const COMMAND: u8 = cipher::COMMAND;

/// Boxes one frame whose body is the concatenation of `parts` straight into the output
/// batch. `inner` is MORE and/or COMMAND.
pub(crate) fn send(
    cipher: &mut Cipher,
    tx: &mut Encoder,
    inner: u8,
    parts: &[&[u8]],
) -> Result<()> {
    let payload_len: usize = parts.iter().map(|p| p.len()).sum();
    tx.frame_appended(
        0,
        Cipher::OVERHEAD + payload_len,
        |batch| cipher.seal_append(inner, parts, batch),
        // A closure: an error built up front would allocate for every message.
        || Error::Inval("CURVE MESSAGE of the wrong length".into()),
    )
}

/// Opens a received MESSAGE in place into the frame it carries: a data frame (small ones
/// copied inline, large ones shared from the input buffer) or a command body.
pub(crate) fn open(cipher: &mut Cipher, mut body: BytesMut) -> Result<Frame> {
    let (flags, range) = cipher.open_in_place(&mut body)?;
    if flags & COMMAND != 0 {
        return Ok(Frame::Command(body.freeze().slice(range)));
    }
    let msg = if range.len() <= Msg::INLINE_CAP {
        Msg::copy_from_slice(&body[range])
    } else {
        Msg::from_bytes(body.freeze().slice(range))
    };
    Ok(Frame::Data(msg.with_more(flags & cipher::MORE != 0)))
}

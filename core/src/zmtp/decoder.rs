//! ZMTP 3.x frame decoder (docs/wire.md §3), lenient in the ways libzmq's `v2_decoder` is.
//!
//! It works in place on the connection's input buffer: a frame is only taken out once it has
//! fully arrived; small payloads are copied inline into a [`Msg`], larger ones are split off the
//! buffer and shared (`BytesMut::split_to(..).freeze()`), never copied. The declared size is only
//! compared, never allocated: a peer announcing 2^63 bytes costs nothing until it sends them.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::{Error, Result};
use crate::msg::Msg;

/// Frame flag: more frames of this message follow.
pub(crate) const MORE: u8 = 0x01;
/// Frame flag: the size is 8 bytes instead of 1.
pub(crate) const LONG: u8 = 0x02;
/// Frame flag: the frame is a command.
pub(crate) const COMMAND: u8 = 0x04;

/// One decoded frame.
#[derive(Debug)]
pub(crate) enum Frame {
    /// A message frame (the MORE flag carried over into the `Msg`).
    Data(Msg),
    /// A command frame's body (`name-len name data`), not yet parsed.
    Command(Bytes),
}

/// A frame header as read by [`peek_header`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub(crate) flags: u8,
    pub(crate) header_len: usize,
    pub(crate) body_len: usize,
}

/// Reads the header at the start of `buf`, or `None` when it has not all arrived.
///
/// Reserved flag bits are ignored and a LONG header may carry a small size (libzmq accepts
/// both). `MAXMSGSIZE` is checked here, so an oversized frame is refused before its body comes.
#[inline]
pub(crate) fn peek_header(buf: &[u8], max_msg_size: Option<u64>) -> Result<Option<Header>> {
    let Some(&flags) = buf.first() else {
        return Ok(None);
    };
    let (header_len, size) = if flags & LONG != 0 {
        let Some(size) = buf.get(1..9) else {
            return Ok(None);
        };
        let size =
            <[u8; 8]>::try_from(size).map_err(|_| Error::Proto("frame header truncated".into()))?;
        (9, u64::from_be_bytes(size))
    } else {
        let Some(&size) = buf.get(1) else {
            return Ok(None);
        };
        (2, u64::from(size))
    };
    if max_msg_size.is_some_and(|max| size > max) {
        return Err(Error::MsgSize);
    }
    // A size that cannot be addressed could never be received: EMSGSIZE, as libzmq says when the
    // size does not fit in a size_t.
    let body_len = usize::try_from(size)
        .ok()
        .filter(|n| n.checked_add(header_len).is_some())
        .ok_or(Error::MsgSize)?;
    Ok(Some(Header {
        flags,
        header_len,
        body_len,
    }))
}

/// The whole size (header and body) of the frame at the head of `rx`, once its header is
/// there: a transport sizes its next read with it so that a large body arrives in one buffer.
pub(crate) fn head_frame_len(rx: &[u8]) -> Option<usize> {
    match peek_header(rx, None) {
        // Cannot overflow: peek_header checked it.
        Ok(Some(h)) => Some(h.header_len + h.body_len),
        _ => None,
    }
}

/// Frames above this size are "large": reads between frames make room for the next one.
const LARGE_FRAME: usize = 32 * 1024;
/// After this many smaller frames in a row, reads go back to their usual size.
const HINT_DECAY: u32 = 64;
/// The room a read of large frames aims at (see [`ReadHint::batch_room`]): 256 KiB, as the
/// raw-socket baseline's reads (benches/RESULTS.md).
const READ_BATCH: usize = 256 * 1024;
/// The most room a hint asks for (a hostile header cannot make every read huge).
pub(crate) const MAX_HINT: usize = 8 << 20;

/// Remembers the size of recent large frames, so that the read at a frame boundary has room
/// for a whole large frame and its body never needs moving to a larger buffer.
#[derive(Debug, Default)]
pub(crate) struct ReadHint {
    large: usize,
    small_run: u32,
}

impl ReadHint {
    pub(crate) fn saw(&mut self, total: usize) {
        if total > LARGE_FRAME {
            self.large = total.min(MAX_HINT);
            self.small_run = 0;
        } else if self.large > 0 {
            self.small_run += 1;
            if self.small_run >= HINT_DECAY {
                self.large = 0;
            }
        }
    }

    /// Room to make at a frame boundary: the last large frame's size, or 0.
    pub(crate) fn room(&self) -> usize {
        self.large
    }

    /// Room to make at a frame boundary for one read to take several whole large frames:
    /// [`READ_BATCH`] rounded up to whole frames of the last large frame's size, or 0.
    /// Each read is delivered and flushed to the application at once, so frames per read
    /// are wake-ups of the receiving thread saved; and since the frames are whole multiples,
    /// a stream of equal frames still ends each buffer on a frame's end and never moves a
    /// partial frame.
    pub(crate) fn batch_room(&self) -> usize {
        let frames = READ_BATCH.div_ceil(self.large.max(1));
        self.large * frames
    }
}

/// Takes the next complete frame off the front of `rx`, or returns `None` (leaving `rx` as it
/// was) when more input is needed. Complete frames are recorded in `hint`.
#[inline]
pub(crate) fn next_frame(
    rx: &mut BytesMut,
    max_msg_size: Option<u64>,
    hint: &mut ReadHint,
) -> Result<Option<Frame>> {
    let Some(h) = peek_header(rx, max_msg_size)? else {
        return Ok(None);
    };
    // Cannot overflow: peek_header checked it.
    let total = h.header_len + h.body_len;
    if rx.len() < total {
        return Ok(None);
    }
    hint.saw(total);
    if h.flags & COMMAND != 0 {
        rx.advance(h.header_len);
        return Ok(Some(Frame::Command(rx.split_to(h.body_len).freeze())));
    }
    let mut msg = if h.body_len <= Msg::INLINE_CAP {
        let msg = Msg::inline_from_tail(&rx[h.header_len..], h.body_len);
        rx.advance(total);
        msg
    } else {
        rx.advance(h.header_len);
        Msg::from_bytes(rx.split_to(h.body_len).freeze())
    };
    msg.set_more(h.flags & MORE != 0);
    Ok(Some(Frame::Data(msg)))
}

/// Like [`next_frame`], but hands over the raw flags and body, which stays mutable (a CURVE
/// MESSAGE is opened in place, never copied).
pub(crate) fn next_raw_frame(
    rx: &mut BytesMut,
    max_msg_size: Option<u64>,
    hint: &mut ReadHint,
) -> Result<Option<(u8, BytesMut)>> {
    let Some(h) = peek_header(rx, max_msg_size)? else {
        return Ok(None);
    };
    let total = h.header_len + h.body_len;
    if rx.len() < total {
        return Ok(None);
    }
    hint.saw(total);
    rx.advance(h.header_len);
    Ok(Some((h.flags, rx.split_to(h.body_len))))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn data(frame: Option<Frame>) -> Msg {
        match frame {
            Some(Frame::Data(m)) => m,
            other => panic!("expected a data frame, got {other:?}"),
        }
    }

    #[test]
    fn short_and_long_frames() {
        let mut rx = BytesMut::from(&b"\x01\x02hi\x02\x00\x00\x00\x00\x00\x00\x00\x01!"[..]);
        let m = data(next_frame(&mut rx, None, &mut ReadHint::default()).unwrap());
        assert_eq!((m.as_slice(), m.more()), (&b"hi"[..], true));
        // v2_decoder: a LONG header with a small size is accepted.
        let m = data(next_frame(&mut rx, None, &mut ReadHint::default()).unwrap());
        assert_eq!((m.as_slice(), m.more()), (&b"!"[..], false));
        assert!(next_frame(&mut rx, None, &mut ReadHint::default())
            .unwrap()
            .is_none());
    }

    /// Small frames are copied inline from a fixed window when enough input follows them,
    /// byte by byte otherwise; either way a frame holds exactly its own payload, whatever
    /// comes after it in the buffer (every inline size, the last frames without a window).
    #[test]
    fn small_frames_hold_only_their_own_bytes() {
        let mut rx = BytesMut::new();
        for len in 0..=Msg::INLINE_CAP {
            rx.extend_from_slice(&[0, len as u8]);
            rx.extend((0..len).map(|i| (len * 7 + i) as u8));
        }
        let mut hint = ReadHint::default();
        for len in 0..=Msg::INLINE_CAP {
            let m = data(next_frame(&mut rx, None, &mut hint).unwrap());
            let want: Vec<u8> = (0..len).map(|i| (len * 7 + i) as u8).collect();
            assert_eq!(m.as_slice(), &want[..], "frame of {len} bytes");
            assert!(m.is_inline() && !m.more());
            assert_eq!(m, Msg::copy_from_slice(&want));
        }
        assert!(rx.is_empty());
    }

    #[test]
    fn reserved_bits_are_ignored() {
        // libzmq ignores flag bits 3-7 (RFC 37 says they SHALL be zero).
        let mut rx = BytesMut::from(&b"\xf9\x01x"[..]);
        let m = data(next_frame(&mut rx, None, &mut ReadHint::default()).unwrap());
        assert_eq!((m.as_slice(), m.more()), (&b"x"[..], true));
    }

    /// A declared size is never allocated up front: 2^63 bytes waits for input on a 64-bit
    /// host; a 32-bit host (wasm32) cannot hold such a frame at all and refuses it.
    #[test]
    fn huge_declared_size_is_not_allocated() {
        let mut rx = BytesMut::from(&b"\x02\x80\x00\x00\x00\x00\x00\x00\x00abc"[..]);
        let got = next_frame(&mut rx, None, &mut ReadHint::default());
        if usize::BITS < 64 {
            assert_eq!(got.unwrap_err(), Error::MsgSize);
            return;
        }
        assert!(got.unwrap().is_none());
        assert_eq!(
            rx.len(),
            12,
            "input left in place until the frame completes"
        );
        let mut rx = BytesMut::from(&b"\x02\xff\xff\xff\xff\xff\xff\xff\xff"[..]);
        assert_eq!(
            next_frame(&mut rx, None, &mut ReadHint::default()).unwrap_err(),
            Error::MsgSize
        );
    }

    #[test]
    fn max_msg_size_is_checked_on_the_header() {
        // ZMQ_MAXMSGSIZE: "Limits the size of the inbound message" (per frame in v2_decoder).
        let mut rx = BytesMut::from(&b"\x00\x05"[..]);
        assert_eq!(
            next_frame(&mut rx, Some(4), &mut ReadHint::default()).unwrap_err(),
            Error::MsgSize
        );
        let mut rx = BytesMut::from(&b"\x00\x04abcd"[..]);
        assert!(next_frame(&mut rx, Some(4), &mut ReadHint::default())
            .unwrap()
            .is_some());
    }

    #[test]
    fn large_frames_share_the_input_buffer() {
        let mut rx = BytesMut::new();
        rx.extend_from_slice(&[0x02, 0, 0, 0, 0, 0, 0, 4, 0]);
        rx.extend_from_slice(&[7u8; 1024]);
        let base = rx[9..].as_ptr();
        let m = data(next_frame(&mut rx, None, &mut ReadHint::default()).unwrap());
        assert_eq!(m.len(), 1024);
        assert_eq!(m.as_slice().as_ptr(), base, "payload was copied");
    }
}

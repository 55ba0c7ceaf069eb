//! The receiving half: frames taken off the input buffer once whole, unmasked in place,
//! fragments joined into messages (RFC 6455 §5.4).
//!
//! Works like the ZMTP decoder (docs/architecture.md §7.3): the host reads straight into the
//! spare capacity of the input buffer, a frame stays there until it has fully arrived, and
//! its payload leaves as a slice of the buffer (`split_to` then `freeze`), never copied. Only
//! a fragmented message is copied, once, into a buffer of its own. A declared length is only
//! compared, never allocated: a peer announcing 2^62 bytes costs nothing until it sends them.

use bytes::{Buf, Bytes, BytesMut};

use super::error::ProtocolError;
use super::frame::{self, Header, BINARY, CLOSE, CONTINUATION, PING, PONG};
use super::mask::apply_mask;
use super::{close, Incoming, Role};
use crate::zmtp::decoder::{ReadHint, MAX_HINT};
use crate::zmtp::recycle::Recycler;

/// An input buffer holding no more than this many bytes is copied into an exact-size one by
/// [`Decoder::shrink_idle`] (the start of a frame, while the connection is quiet); spare
/// room beyond this is freed from an open fragmented message.
const IDLE_KEEP: usize = 256;

/// While large frames of up to 64 KiB flow (none larger seen lately: larger ones keep being
/// read to their exact size), every read makes room for a whole frame of up to 64 KiB (with
/// the longest header of a frame that size, 14 bytes), in a buffer of at least twice that.
/// A stream of frames of up to 64 KiB (the ZWS batches of docs/wire.md §10.9 at
/// saturation) then stays in one buffer: the unread start of a frame is at most one frame,
/// so either the room behind it suffices or the bytes before it, already decoded, outnumber
/// it and it moves to the front (`BytesMut::try_reclaim`, no allocation). Sized for each
/// frame instead, a frame larger than the buffer it starts in moved to a new buffer, an
/// allocation every few thousand small messages.
const SETTLED_FRAME: usize = 64 * 1024 + 14;

#[derive(Debug)]
pub(crate) struct Decoder {
    role: Role,
    /// The largest message payload accepted, fragments included.
    max_message: Option<usize>,
    /// Received bytes not yet decoded: frames wait here until `next`.
    rx: BytesMut,
    /// Sizes reads between frames after the large frames seen (see `input_buffer`).
    read_hint: ReadHint,
    /// Input buffers kept for reuse while large frames flow.
    recycler: Recycler,
    /// The fragments of the open message so far.
    partial: BytesMut,
    /// Whether a fragmented message is open (its first frame had FIN clear).
    open: bool,
}

impl Decoder {
    pub(crate) fn new(role: Role, max_message: Option<usize>) -> Decoder {
        Decoder {
            role,
            max_message,
            rx: BytesMut::new(),
            read_hint: ReadHint::default(),
            recycler: Recycler::default(),
            partial: BytesMut::new(),
            open: false,
        }
    }

    /// The input buffer with room for at least `min` more bytes, sized as the ZMTP
    /// connection's (`zmtp::Connection::input_buffer`): exactly the rest of a large frame
    /// whose header has arrived (8 MiB at most at a time), else room for the last large
    /// frame seen.
    pub(crate) fn input_buffer(&mut self, min: usize) -> &mut BytesMut {
        let rest = frame::head_frame_len(&self.rx)
            .filter(|&total| total > min)
            .map_or(0, |total| total - self.rx.len().min(total));
        let large = self.read_hint.room() > 0;
        let settled = large && self.read_hint.room() <= SETTLED_FRAME;
        if settled && self.rx.len() + rest <= SETTLED_FRAME {
            // Room for any frame of up to 64 KiB, in a buffer of twice that: see
            // SETTLED_FRAME.
            let want = (SETTLED_FRAME - self.rx.len()).max(min);
            let capacity = 2 * SETTLED_FRAME;
            self.recycler
                .make_room_in(&mut self.rx, want, capacity, large);
            return &mut self.rx;
        }
        let want = if rest > 0 {
            rest.min(MAX_HINT)
        } else {
            min.max(self.read_hint.room()).max(1)
        };
        self.recycler.make_room(&mut self.rx, want, large);
        &mut self.rx
    }

    pub(crate) fn extend(&mut self, data: &[u8]) {
        self.rx.extend_from_slice(data);
    }

    pub(crate) fn input_len(&self) -> usize {
        self.rx.len()
    }

    /// Drops buffered input (after the peer's close: nothing more is read).
    pub(crate) fn discard_input(&mut self) {
        self.rx.clear();
    }

    /// The next message or control frame, `Ok(None)` when more input is needed.
    pub(crate) fn next(&mut self) -> Result<Option<Incoming>, ProtocolError> {
        loop {
            let Some(h) = frame::parse(&self.rx, self.role)? else {
                return Ok(None);
            };
            self.check_sequence(&h)?;
            // Cannot overflow: `frame::parse` checked it.
            let total = h.header_len + h.payload_len;
            if self.rx.len() < total {
                return Ok(None);
            }
            self.read_hint.saw(total);
            let payload = self.take_payload(&h);
            match h.opcode {
                BINARY if h.fin => return Ok(Some(Incoming::Message(payload.freeze()))),
                BINARY | CONTINUATION => {
                    if let Some(msg) = self.add_fragment(&payload, h.fin) {
                        return Ok(Some(Incoming::Message(msg)));
                    }
                }
                PING => return Ok(Some(Incoming::Ping(payload.freeze()))),
                PONG => return Ok(Some(Incoming::Pong(payload.freeze()))),
                CLOSE => {
                    let (code, reason) = close::parse(&payload)?;
                    let reason = reason.to_owned();
                    return Ok(Some(Incoming::Close { code, reason }));
                }
                // `frame::parse` let no other opcode through.
                _ => return Err(ProtocolError::ReservedOpcode(h.opcode)),
            }
        }
    }

    /// What depends on the frames before: fragmentation (RFC 6455 §5.4) and the message
    /// size, checked on the header so that an oversized payload is refused before it comes.
    fn check_sequence(&self, h: &Header) -> Result<(), ProtocolError> {
        match h.opcode {
            CONTINUATION if !self.open => return Err(ProtocolError::ContinuationWithoutStart),
            BINARY if self.open => return Err(ProtocolError::MessageInterrupted),
            BINARY | CONTINUATION => {}
            _ => return Ok(()),
        }
        let so_far = if self.open { self.partial.len() } else { 0 };
        let size = so_far
            .checked_add(h.payload_len)
            .ok_or(ProtocolError::TooBig)?;
        if self.max_message.is_some_and(|max| size > max) {
            return Err(ProtocolError::TooBig);
        }
        Ok(())
    }

    /// Takes the whole frame off the buffer and returns its payload, unmasked in place.
    fn take_payload(&mut self, h: &Header) -> BytesMut {
        self.rx.advance(h.header_len);
        let mut payload = self.rx.split_to(h.payload_len);
        if let Some(key) = h.key {
            apply_mask(&mut payload, key, 0);
        }
        payload
    }

    /// Adds a fragment to the open message; the message once `fin`.
    fn add_fragment(&mut self, payload: &[u8], fin: bool) -> Option<Bytes> {
        self.open = !fin;
        self.partial.extend_from_slice(payload);
        // The whole buffer goes with the message: none is kept behind for the next one.
        fin.then(|| std::mem::take(&mut self.partial).freeze())
    }

    /// Frees spare capacity while the connection is quiet.
    pub(crate) fn shrink_idle(&mut self) {
        if self.rx.len() <= IDLE_KEEP && self.rx.capacity() > self.rx.len() {
            self.rx = BytesMut::from(&self.rx[..]);
        }
        self.recycler = Recycler::default();
        self.read_hint = ReadHint::default();
        // An open message keeps its bytes, not the room it grew for the next fragments.
        if self.partial.capacity() - self.partial.len() > IDLE_KEEP {
            self.partial = BytesMut::from(&self.partial[..]);
        }
    }

    /// Bytes of buffer capacity held (the input buffer, the open message).
    pub(crate) fn capacity(&self) -> usize {
        self.rx.capacity() + self.partial.capacity()
    }
}

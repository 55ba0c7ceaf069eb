//! The framing of isomq's batch extension (docs/wire.md §10.9): one binary WebSocket message
//! carries one or more whole ZMTP 3.x frames (RFC 37 "Framing": a flags byte, a 1- or 8-byte
//! size, the body), so that a peer that pays per WebSocket message (a browser) pays once per
//! batch. Headers are ZMTP's, read here for a whole message at once; unlike ZMTP over a stream
//! (docs/wire.md §3.2), reserved flag bits are refused: only isomq speaks this framing.
//!
//! A sender packs frames while they pile up, up to [`BATCH_LIMIT`] bytes per message; a frame
//! that does not fit in that bound travels alone. A frame never spans two messages.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{Error, Result};
use crate::zmtp::decoder::{COMMAND, LONG, MORE};

/// Frames are packed into one WebSocket message up to this many bytes, headers included;
/// a longer message holds exactly one frame (docs/wire.md §10.9).
pub const BATCH_LIMIT: usize = 64 * 1024;

/// The longest frame header: flags and an 8-byte size.
const LONG_HEADER: usize = 9;

/// The longest WebSocket message a receiver with this MAXMSGSIZE accepts: a full batch, or
/// one frame of the largest allowed body with a long header. `None`: no limit.
pub fn max_message_len(max_msg_size: Option<u64>) -> Option<usize> {
    let max = max_msg_size?;
    let frame = usize::try_from(max.saturating_add(LONG_HEADER as u64)).unwrap_or(usize::MAX);
    Some(frame.max(BATCH_LIMIT))
}

/// Where one frame of a batch lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameAt {
    /// The flags byte: MORE `01`, LONG `02`, COMMAND `04`.
    pub(crate) flags: u8,
    /// The body: `payload[start..end]`.
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl FrameAt {
    pub(crate) fn more(&self) -> bool {
        self.flags & MORE != 0
    }

    pub(crate) fn command(&self) -> bool {
        self.flags & COMMAND != 0
    }
}

fn malformed(what: &str) -> Error {
    Error::Proto(format!("malformed ZWS batch: {what}"))
}

/// Reads the frame that starts at `pos` of a batch (docs/wire.md §10.9, in the order the
/// errors are checked there): reserved flag bits, MORE on a command, a size over MAXMSGSIZE
/// ([`Error::MsgSize`]), a header or body cut off by the end of the message.
pub(crate) fn frame_at(payload: &[u8], pos: usize, max_msg_size: Option<u64>) -> Result<FrameAt> {
    let rest = payload.get(pos..).unwrap_or_default();
    let Some(&flags) = rest.first() else {
        return Err(malformed("a frame header is cut off"));
    };
    if flags & !(MORE | LONG | COMMAND) != 0 {
        return Err(malformed(&format!("reserved flag bits set: {flags:#04x}")));
    }
    if flags & (MORE | COMMAND) == MORE | COMMAND {
        // RFC 37 "Framing": a command is a single frame.
        return Err(malformed("MORE set on a command"));
    }
    // Read here rather than with the stream decoder's `peek_header`: this runs for every
    // frame of every batch, and a batch needs no "wait for more input" answer.
    let header = if flags & LONG == 0 {
        rest.get(1).map(|&size| (2, u64::from(size)))
    } else {
        rest.get(1..LONG_HEADER)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(|size| (LONG_HEADER, u64::from_be_bytes(size)))
    };
    let Some((header_len, size)) = header else {
        return Err(malformed("a frame header is cut off"));
    };
    if max_msg_size.is_some_and(|max| size > max) {
        return Err(Error::MsgSize);
    }
    let start = pos + header_len;
    // A size that does not even fit in memory runs past the end of the message too.
    let end = usize::try_from(size)
        .ok()
        .and_then(|n| start.checked_add(n))
        .filter(|&end| end <= payload.len())
        .ok_or_else(|| malformed("a frame body is cut off"))?;
    Ok(FrameAt { flags, start, end })
}

/// The frame at `pos` of a batch [`check`] accepted, its header read without checking it
/// again (the receive path reads each frame twice: once to check the batch whole, once to
/// take it). `None` only where `check` would have refused the batch.
pub(crate) fn checked_frame_at(payload: &[u8], pos: usize) -> Option<FrameAt> {
    let &flags = payload.get(pos)?;
    let (start, len) = if flags & LONG == 0 {
        (pos + 2, usize::from(*payload.get(pos + 1)?))
    } else {
        let size = <[u8; 8]>::try_from(payload.get(pos + 1..pos + LONG_HEADER)?).ok()?;
        (
            pos + LONG_HEADER,
            usize::try_from(u64::from_be_bytes(size)).ok()?,
        )
    };
    let end = start.checked_add(len).filter(|&end| end <= payload.len())?;
    Some(FrameAt { flags, start, end })
}

/// Checks a whole batch before any frame of it is used, so that a bad message is refused
/// whole: at least one frame, every frame valid and whole, and a message longer than
/// [`BATCH_LIMIT`] holding only one. Returns the number of frames.
pub fn check(payload: &[u8], max_msg_size: Option<u64>) -> Result<usize> {
    if payload.is_empty() {
        return Err(malformed(
            "an empty message (a batch holds at least one frame)",
        ));
    }
    let (mut pos, mut frames) = (0, 0);
    // The largest short frame body MAXMSGSIZE lets through.
    let short_max = max_msg_size.map_or(u8::MAX, |max| u8::try_from(max).unwrap_or(u8::MAX));
    while pos < payload.len() {
        frames += 1;
        // The common frame, a short one with valid flags within MAXMSGSIZE, in a few
        // instructions; anything else goes through `frame_at`'s checks in their order.
        let head = payload.get(pos..pos + 2);
        if let Some([flags, size]) = head.and_then(|h| <[u8; 2]>::try_from(h).ok()) {
            let end = pos + 2 + usize::from(size);
            if flags & !(MORE | COMMAND) == 0
                && flags != MORE | COMMAND
                && size <= short_max
                && end <= payload.len()
            {
                pos = end;
                continue;
            }
        }
        pos = frame_at(payload, pos, max_msg_size)?.end;
    }
    if frames > 1 && payload.len() > BATCH_LIMIT {
        return Err(malformed("a message over 64 KiB holds more than one frame"));
    }
    Ok(frames)
}

/// Whether a frame with a body of `body_len` bytes fits in a batch (longer ones travel
/// alone).
pub(crate) fn fits(body_len: usize) -> bool {
    body_len.saturating_add(LONG_HEADER) <= BATCH_LIMIT
}

/// A frame header as the ZMTP encoder writes it: the short form up to 255 bytes of body,
/// the long form above (docs/wire.md §3.2).
pub(crate) fn header(flags: u8, body_len: usize) -> ([u8; LONG_HEADER], usize) {
    let mut out = [0; LONG_HEADER];
    if let Ok(short) = u8::try_from(body_len) {
        out[0] = flags;
        out[1] = short;
        (out, 2)
    } else {
        out[0] = flags | LONG;
        // usize -> u64 never truncates on supported targets (≤ 64-bit).
        out[1..].copy_from_slice(&(body_len as u64).to_be_bytes());
        (out, LONG_HEADER)
    }
}

/// The outgoing side: frames are appended to an open batch, which is sealed into a message
/// when the next frame would take it over [`BATCH_LIMIT`], or when the transport asks for
/// the next message (so nothing waits for company: no Nagle).
///
/// Under saturation two buffers take turns: a full batch leaves as a shared slice of its
/// buffer, and while it is on its way the next batch fills the other one; by the time that
/// one is full the first batch has normally been written (or copied, by a client masking
/// it), and its buffer is taken back whole, without allocating.
#[derive(Debug, Default)]
pub(crate) struct Packer {
    open: BytesMut,
    /// The buffer of the batch sealed last, for the batch after next.
    back: BytesMut,
}

/// What [`Packer::push`] gives back: messages sealed on the way, in order.
#[derive(Debug)]
pub(crate) enum Sealed {
    None,
    /// The open batch, sealed because the frame did not fit after it.
    One(Bytes),
    /// A frame too long for any batch, alone: the batch sealed before it (possibly empty),
    /// then its header and its body (shared, never copied).
    Alone {
        before: Bytes,
        head: Bytes,
        body: Bytes,
    },
}

impl Packer {
    /// Bytes in the open batch.
    pub(crate) fn len(&self) -> usize {
        self.open.len()
    }

    /// Room for `frame_len` more bytes. A new batch takes its buffer back whole if the
    /// batch sealed from it before is gone and a full batch fits (`try_reclaim` does not
    /// allocate); `reserve` alone would reuse it only while the new batch is shorter than
    /// the old one, and double it, an allocation, whenever a batch outgrew the one before.
    fn make_room(&mut self, frame_len: usize) {
        if self.open.is_empty() {
            // False (nothing done) while the batch is still out or the buffer too small.
            let _ = self.open.try_reclaim(BATCH_LIMIT);
        }
        self.open.reserve(frame_len);
    }

    /// Seals the open batch, if it holds anything.
    pub(crate) fn seal(&mut self) -> Option<Bytes> {
        (!self.open.is_empty()).then(|| self.open.split().freeze())
    }

    /// Seals a full batch (the next frame did not fit) and goes on in the other buffer:
    /// full batches come one after another only while output is saturated, when a batch is
    /// often still queued as the next one fills. Batches sealed because the transport asked
    /// (light traffic, many connections) stay in one buffer, so that a connection that never
    /// fills a batch never holds a second buffer.
    fn seal_full(&mut self) -> Option<Bytes> {
        let batch = self.seal()?;
        std::mem::swap(&mut self.open, &mut self.back);
        Some(batch)
    }

    /// Appends one frame whose body is `mark` then `body`, both copied: the path of every
    /// small message, without [`push`](Packer::push)'s list of parts and 9-byte header, and
    /// returning only a batch sealed on the way (`push`'s [`Sealed`] is three `Bytes` long,
    /// moved on every call). A body over 255 bytes goes through `push`.
    pub(crate) fn push_small(&mut self, flags: u8, mark: &[u8], body: &[u8]) -> Sealed {
        let body_len = mark.len() + body.len();
        match u8::try_from(body_len) {
            Ok(short) => self
                .push_short(flags, short, mark, body)
                .map_or(Sealed::None, Sealed::One),
            Err(_) => self.push(flags, &[mark, body], None),
        }
    }

    /// A frame with a short header (`len` = `mark` and `body`'s length); returns the batch
    /// sealed before it, if it did not fit.
    pub(crate) fn push_short(
        &mut self,
        flags: u8,
        len: u8,
        mark: &[u8],
        body: &[u8],
    ) -> Option<Bytes> {
        let frame_len = 2 + usize::from(len);
        let sealed = if self.open.len() + frame_len > BATCH_LIMIT {
            self.seal_full()
        } else {
            None
        };
        self.make_room(frame_len);
        self.open.put_slice(&[flags, len]);
        if !mark.is_empty() {
            self.open.put_slice(mark);
        }
        self.open.put_slice(body);
        sealed
    }

    /// Appends one frame whose body is `parts` joined (copied), or `shared` when given
    /// (large bodies are then not copied when they travel alone).
    pub(crate) fn push(&mut self, flags: u8, parts: &[&[u8]], shared: Option<Bytes>) -> Sealed {
        let body_len = match &shared {
            Some(b) => b.len(),
            None => parts.iter().map(|p| p.len()).sum(),
        };
        let (head, head_len) = header(flags, body_len);
        let frame_len = head_len + body_len;
        if frame_len > BATCH_LIMIT {
            let before = self.seal().unwrap_or_default();
            let head = Bytes::copy_from_slice(&head[..head_len]);
            let body = shared.unwrap_or_else(|| Bytes::from(parts.concat()));
            return Sealed::Alone { before, head, body };
        }
        let sealed = if self.open.len() + frame_len > BATCH_LIMIT {
            self.seal_full().map_or(Sealed::None, Sealed::One)
        } else {
            Sealed::None
        };
        self.make_room(frame_len);
        self.open.put_slice(&head[..head_len]);
        match &shared {
            Some(b) => self.open.put_slice(b),
            None => parts.iter().for_each(|p| self.open.put_slice(p)),
        }
        sealed
    }
}

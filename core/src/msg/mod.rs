//! One frame of a ZeroMQ message.
//!
//! # Memory layout
//!
//! A [`Msg`] is a handle with two storages behind it, like `bytes::Bytes`:
//!
//! - **inline**: payloads of up to [`Msg::INLINE_CAP`] bytes live inside the handle itself. Creating,
//!   moving and dropping them never touches the heap, which is what keeps the small-message critical
//!   path free of allocations.
//! - **pooled**: payloads of up to 1 KiB copied from a slice are a reference-counted block that
//!   goes back to a per-thread cache when the last clone is dropped (`block`, `cache`): a
//!   stream of them from one thread to another allocates nothing.
//! - **shared**: larger payloads are a [`Bytes`]: cloning a `Msg` bumps a reference count and never
//!   copies payload, and a frame decoded from a large input buffer is a slice of that buffer.
//!
//! Next to the payload sit the frame flags: [`Msg::more`] for multipart messages, and marks
//! private to the core: subscriptions travel through pipes as marked messages rather than
//! with a textual prefix (as libzmq 4.3.3+ does), and a connection hands a ROUTER socket its
//! peer's routing id as a marked message ([`Pipe::write_routing_id`](crate::Pipe)). Users
//! never see a marked message: the patterns consume them.

mod block;
mod cache;
mod pool;

use bytes::Bytes;
use std::fmt;

use block::Block;

/// Flag bits kept beside the payload.
pub(crate) mod flags {
    /// More frames of the same message follow.
    pub const MORE: u8 = 0x01;
    /// A subscription (`SUBSCRIBE` command on ZMTP 3.1); the payload is the topic.
    pub const SUBSCRIBE: u8 = 0x02;
    /// A cancelled subscription (`CANCEL` command on ZMTP 3.1); the payload is the topic.
    pub const CANCEL: u8 = 0x04;
    /// The peer's routing id, written by a session as the first message towards a ROUTER.
    pub const ROUTING_ID: u8 = 0x08;
    /// Pipe-private: the writer has finished with the pipe (termination handshake).
    pub const DELIMITER: u8 = 0x80;
}

const INLINE_CAP: usize = 30;

/// An inline payload's bytes, aligned to 8 so that they start at the second word of
/// [`Data`] whatever the variant. A `Msg` moves by value through every layer (decoder,
/// connection, session, pipe, socket), copied in words and 16-byte halves; a load that
/// reads back bytes written by several narrower stores cannot be forwarded from them and
/// stalls. So every field is written whole on the boundaries of those moves: the length
/// and flags in the first word, the tag (`repr(u64)`) in the second, the payload in the
/// last two 16-byte halves, which the decoder fills with two 16-byte stores. With the
/// length beside the payload, as before, the tag's word held odd-offset payload bytes and
/// `perf` put a quarter of the tcp receiver's time at such loads (benches/RESULTS.md,
/// "Round two, sixth stop").
#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct InlineBuf([u8; INLINE_ROOM]);

/// The bytes an inline payload occupies: [`INLINE_CAP`] rounded up to whole words. A decoder
/// with that many bytes buffered copies them all ([`Msg::inline_from_window`]): a copy of
/// fixed size is two whole 16-byte moves, where a copy of the payload's own length is a
/// `memcpy` whose narrow stores the next move of the `Msg` cannot forward from.
const INLINE_ROOM: usize = 32;

/// `repr(u64)`: the tag is a whole word, written with one store (see [`InlineBuf`]).
#[derive(Clone)]
#[repr(u64)]
enum Data {
    /// The length is the `Msg`'s `inline_len`.
    Inline(InlineBuf),
    Pooled(Block),
    Shared(Bytes),
}

/// One frame: a payload and its flags. Cheap to clone; see the module docs for the layout.
// `repr(C)`: the length and flags first, so that the payload ends the struct on the
// 16-byte halves a move copies (see `InlineBuf`).
#[derive(Clone)]
#[repr(C)]
pub struct Msg {
    /// The payload's length when it is inline; 0 otherwise.
    inline_len: u8,
    flags: u8,
    data: Data,
}

impl Msg {
    /// Payloads up to this many bytes are stored inline, without a heap allocation.
    pub const INLINE_CAP: usize = INLINE_CAP;

    /// An empty frame (zero-length payload, no flags).
    #[inline]
    pub const fn new() -> Msg {
        Msg {
            data: Data::Inline(InlineBuf([0; INLINE_ROOM])),
            inline_len: 0,
            flags: 0,
        }
    }

    /// A frame holding a copy of `data`: inline when small; otherwise in a buffer of its own,
    /// which large payloads (8 KiB to 1 MiB) take from and give back to a small pool of
    /// recycled buffers, so that a stream of them does not fault fresh pages in for each.
    /// To send a large payload without the copy, build the frame from [`Bytes`]
    /// ([`Msg::from_bytes`]).
    #[inline]
    pub fn copy_from_slice(data: &[u8]) -> Msg {
        if data.len() <= INLINE_CAP {
            let mut buf = [0; INLINE_ROOM];
            buf[..data.len()].copy_from_slice(data);
            Msg {
                data: Data::Inline(InlineBuf(buf)),
                // Cannot truncate: data.len() <= INLINE_CAP < 256.
                inline_len: data.len() as u8,
                flags: 0,
            }
        } else if data.len() <= block::MAX_POOLED {
            let data = match Block::copy(data) {
                Some(b) => Data::Pooled(b),
                None => Data::Shared(Bytes::copy_from_slice(data)),
            };
            Msg {
                data,
                inline_len: 0,
                flags: 0,
            }
        } else {
            Msg {
                data: Data::Shared(pool::copy(data)),
                inline_len: 0,
                flags: 0,
            }
        }
    }

    /// An inline frame of the first `len` bytes of `window` (`len` at most [`INLINE_CAP`]);
    /// the rest of the window is copied too, unseen (see [`INLINE_ROOM`]).
    #[inline]
    fn inline_from_window(window: &[u8; INLINE_ROOM], len: usize) -> Msg {
        debug_assert!(len <= INLINE_CAP);
        Msg {
            data: Data::Inline(InlineBuf(*window)),
            // Cannot truncate: clamped to INLINE_CAP < 256.
            inline_len: len.min(INLINE_CAP) as u8,
            flags: 0,
        }
    }

    /// An inline frame of the first `len` bytes of `tail` (`len` at most [`INLINE_CAP`] and
    /// at most `tail.len()`): a fixed [`INLINE_ROOM`]-byte window copy when `tail` has
    /// that many bytes (a decoder's input, with the frames after this one), the bytes alone
    /// otherwise. The fixed copy is whole words, where a copy of `len` bytes is a
    /// variable-length `memcpy` (docs/architecture.md §7.2a).
    #[inline]
    pub(crate) fn inline_from_tail(tail: &[u8], len: usize) -> Msg {
        match tail.first_chunk::<INLINE_ROOM>() {
            Some(window) => Msg::inline_from_window(window, len),
            None => Msg::copy_from_slice(tail.get(..len).unwrap_or(tail)),
        }
    }

    /// A frame sharing `bytes`: the zero-copy way to send a large payload (a clone of a
    /// `Bytes` is a reference count, and the I/O thread writes straight from it). Small
    /// payloads are copied inline so that the shared buffer they came from (say, a large
    /// receive buffer) is not kept alive by a few bytes.
    #[inline]
    pub fn from_bytes(bytes: Bytes) -> Msg {
        if bytes.len() <= INLINE_CAP {
            Msg::copy_from_slice(&bytes)
        } else {
            Msg {
                data: Data::Shared(bytes),
                inline_len: 0,
                flags: 0,
            }
        }
    }

    /// The payload.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match &self.data {
            Data::Inline(buf) => &buf.0[..usize::from(self.inline_len)],
            Data::Pooled(b) => b.as_slice(),
            Data::Shared(b) => b,
        }
    }

    /// Payload length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        match &self.data {
            Data::Inline(_) => usize::from(self.inline_len),
            Data::Pooled(b) => b.len(),
            Data::Shared(b) => b.len(),
        }
    }

    /// Whether the payload is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the payload is stored inline (no heap).
    #[inline]
    pub fn is_inline(&self) -> bool {
        matches!(self.data, Data::Inline(_))
    }

    /// Whether the payload is a pooled block (31 B to 1 KiB, copied into the message).
    #[inline]
    pub(crate) fn is_pooled(&self) -> bool {
        matches!(self.data, Data::Pooled(_))
    }

    /// Asks the CPU for a pooled payload's lines (its block's header and bytes); nothing for
    /// other payloads.
    #[inline]
    pub(crate) fn prefetch_payload(&self) {
        if let Data::Pooled(b) = &self.data {
            b.prefetch();
        }
    }

    /// Whether the payload is a shared `Bytes` (above 1 KiB, or built from `Bytes`), which
    /// [`Msg::into_bytes`] hands over without a copy; inline and pooled payloads (up to
    /// 1 KiB) are copied there, and are best copied straight from [`Msg::as_slice`].
    #[inline]
    pub fn is_shared(&self) -> bool {
        matches!(self.data, Data::Shared(_))
    }

    /// The payload as `Bytes`; free for shared payloads, one copy for inline and pooled
    /// ones (up to 1 KiB).
    pub fn into_bytes(self) -> Bytes {
        match self.data {
            Data::Inline(buf) => Bytes::copy_from_slice(&buf.0[..usize::from(self.inline_len)]),
            Data::Pooled(b) => Bytes::copy_from_slice(b.as_slice()),
            Data::Shared(b) => b,
        }
    }

    /// The payload's `Bytes` when it is shared (larger than 1 KiB, or built from `Bytes`):
    /// an encoder queues those by reference and copies the others into its batch.
    #[inline]
    pub(crate) fn shared(&self) -> Option<&Bytes> {
        match &self.data {
            Data::Shared(b) => Some(b),
            _ => None,
        }
    }

    /// The payload as a `Vec<u8>` (copies).
    pub fn to_vec(&self) -> Vec<u8> {
        self.as_slice().to_vec()
    }

    /// Whether more frames of the same message follow this one.
    #[inline]
    pub fn more(&self) -> bool {
        self.flags & flags::MORE != 0
    }

    /// Marks whether more frames of the same message follow.
    #[inline]
    pub fn set_more(&mut self, more: bool) {
        if more {
            self.flags |= flags::MORE;
        } else {
            self.flags &= !flags::MORE;
        }
    }

    /// Builder form of [`Msg::set_more`].
    #[inline]
    pub fn with_more(mut self, more: bool) -> Msg {
        self.set_more(more);
        self
    }

    /// A subscription for `topic`, as it travels from SUB/XSUB towards PUB/XPUB.
    pub(crate) fn subscribe(topic: &[u8]) -> Msg {
        let mut m = Msg::copy_from_slice(topic);
        m.flags = flags::SUBSCRIBE;
        m
    }

    /// A cancelled subscription for `topic`.
    pub(crate) fn cancel(topic: &[u8]) -> Msg {
        let mut m = Msg::copy_from_slice(topic);
        m.flags = flags::CANCEL;
        m
    }

    /// Whether this frame is a subscription in command form (payload = topic).
    #[inline]
    pub(crate) fn is_subscribe(&self) -> bool {
        self.flags & flags::SUBSCRIBE != 0
    }

    /// Whether this frame is a cancelled subscription in command form (payload = topic).
    #[inline]
    pub(crate) fn is_cancel(&self) -> bool {
        self.flags & flags::CANCEL != 0
    }

    /// The peer's routing id (its ZMTP `Identity`, possibly empty), as a session passes it
    /// to a ROUTER socket: the first message of the pipe, as libzmq's `routing_id` flag.
    /// Other socket types skip such a message.
    pub(crate) fn routing_id(id: &[u8]) -> Msg {
        let mut m = Msg::copy_from_slice(id);
        m.flags = flags::ROUTING_ID;
        m
    }

    /// Whether this frame is a peer's routing id (see [`Msg::routing_id`]).
    #[inline]
    pub(crate) fn is_routing_id(&self) -> bool {
        self.flags & flags::ROUTING_ID != 0
    }

    #[inline]
    pub(crate) fn delimiter() -> Msg {
        let mut m = Msg::new();
        m.flags = flags::DELIMITER;
        m
    }

    #[inline]
    pub(crate) fn is_delimiter(&self) -> bool {
        self.flags & flags::DELIMITER != 0
    }
}

impl Default for Msg {
    fn default() -> Msg {
        Msg::new()
    }
}

impl PartialEq for Msg {
    fn eq(&self, other: &Msg) -> bool {
        self.flags == other.flags && self.as_slice() == other.as_slice()
    }
}

impl Eq for Msg {}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Msg");
        d.field("len", &self.len());
        d.field("more", &self.more());
        if self.is_subscribe() {
            d.field("subscribe", &true);
        }
        if self.is_cancel() {
            d.field("cancel", &true);
        }
        if self.is_routing_id() {
            d.field("routing_id", &true);
        }
        let shown = &self.as_slice()[..self.len().min(32)];
        d.field("data", &String::from_utf8_lossy(shown));
        d.finish()
    }
}

impl From<&[u8]> for Msg {
    fn from(data: &[u8]) -> Msg {
        Msg::copy_from_slice(data)
    }
}

impl<const N: usize> From<&[u8; N]> for Msg {
    fn from(data: &[u8; N]) -> Msg {
        Msg::copy_from_slice(data)
    }
}

impl From<&str> for Msg {
    fn from(data: &str) -> Msg {
        Msg::copy_from_slice(data.as_bytes())
    }
}

impl From<String> for Msg {
    fn from(data: String) -> Msg {
        Msg::from(data.into_bytes())
    }
}

impl From<Vec<u8>> for Msg {
    fn from(data: Vec<u8>) -> Msg {
        if data.len() <= INLINE_CAP {
            Msg::copy_from_slice(&data)
        } else {
            Msg::from_bytes(Bytes::from(data))
        }
    }
}

impl From<Bytes> for Msg {
    fn from(data: Bytes) -> Msg {
        Msg::from_bytes(data)
    }
}

impl AsRef<[u8]> for Msg {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_payloads_are_inline_large_are_shared() {
        let small = Msg::from(&[7u8; 30]);
        assert!(small.is_inline());
        assert_eq!(small.as_slice(), &[7u8; 30]);
        let large = Msg::from(vec![1u8; 31]);
        assert!(!large.is_inline());
        assert_eq!(large.len(), 31);
    }

    #[test]
    fn clone_of_large_payload_shares_the_buffer() {
        let large = Msg::from(vec![9u8; 4096]);
        let copy = large.clone();
        assert_eq!(large.as_slice().as_ptr(), copy.as_slice().as_ptr());
    }

    #[test]
    fn more_flag_round_trips() {
        let mut m = Msg::from("a");
        assert!(!m.more());
        m.set_more(true);
        assert!(m.more());
        m.set_more(false);
        assert!(!m.more());
    }

    #[test]
    fn subscription_marks_are_distinct_from_data() {
        let s = Msg::subscribe(b"cpu");
        assert!(s.is_subscribe() && !s.is_cancel() && !s.more());
        assert_eq!(s.as_slice(), b"cpu");
        assert_ne!(s, Msg::from("cpu"));
        assert!(Msg::cancel(b"").is_cancel());
        assert!(Msg::delimiter().is_delimiter());
        let id = Msg::routing_id(b"peer");
        assert!(id.is_routing_id() && !id.more() && !id.is_subscribe());
        assert_ne!(id, Msg::from("peer"));
    }

    #[test]
    fn msg_stays_small() {
        // libzmq's zmq_msg_t is 64 bytes; a Msg must be no larger to move as cheaply.
        assert!(std::mem::size_of::<Msg>() <= 48);
    }
}

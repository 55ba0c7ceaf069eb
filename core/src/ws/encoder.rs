//! The sending half: frame headers and small payloads copied into one batch buffer, so that
//! many small messages leave in one write; a large payload a server sends is queued as its
//! own shared chunk for `writev`, never copied (docs/architecture.md §7.3).
//!
//! A client masks every frame (RFC 6455 §5.3), which changes the bytes: its payloads are
//! copied into the batch and masked there in place, a word at a time.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

use super::frame::{header_len, write_header};
use super::mask::apply_mask;

/// Payloads above this many bytes are queued by reference rather than copied into the
/// batch (the ZMTP encoder's threshold).
const SHARE_THRESHOLD: usize = 1024;

/// Output queue: `chunks` go out first, in order, then `batch`.
#[derive(Debug, Default)]
pub(crate) struct Encoder {
    /// Sealed pieces: parts of the batch cut off before a shared payload, and shared payloads.
    chunks: VecDeque<Bytes>,
    /// Where frames are being appended.
    batch: BytesMut,
    /// Total bytes pending in `chunks` and `batch`.
    len: usize,
}

impl Encoder {
    /// One final frame whose payload is `head` then `body`, copied into the batch and masked
    /// with `key` when there is one.
    pub(crate) fn frame(&mut self, opcode: u8, head: &[u8], body: &[u8], key: Option<[u8; 4]>) {
        let len = head.len() + body.len();
        self.batch.reserve(header_len(len, key.is_some()) + len);
        write_header(&mut self.batch, opcode, len, key);
        let start = self.batch.len();
        self.batch.extend_from_slice(head);
        self.batch.extend_from_slice(body);
        if let Some(key) = key {
            apply_mask(&mut self.batch[start..], key, 0);
        }
        self.len += header_len(len, key.is_some()) + len;
    }

    /// One unmasked final frame whose payload is `head` then `body`: `body` shared when
    /// large, copied when small.
    pub(crate) fn frame_shared(&mut self, opcode: u8, head: &[u8], body: Bytes) {
        if body.len() <= SHARE_THRESHOLD {
            self.frame(opcode, head, &body, None);
            return;
        }
        let len = head.len() + body.len();
        write_header(&mut self.batch, opcode, len, None);
        self.batch.extend_from_slice(head);
        self.len += header_len(len, false) + len;
        self.chunks.push_back(self.batch.split().freeze());
        self.chunks.push_back(body);
    }

    /// Bytes waiting to be written.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Fills `out` with the pending bytes in order; returns how many slices were filled.
    pub(crate) fn slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        let pieces = self
            .chunks
            .iter()
            .map(|c| &c[..])
            .chain(std::iter::once(&self.batch[..]))
            .filter(|p| !p.is_empty());
        let mut n = 0;
        for (slot, piece) in out.iter_mut().zip(pieces) {
            *slot = IoSlice::new(piece);
            n += 1;
        }
        n
    }

    /// The first contiguous pending piece, empty when nothing is pending.
    pub(crate) fn chunk(&self) -> &[u8] {
        self.chunks
            .iter()
            .find(|c| !c.is_empty())
            .map_or(&self.batch[..], |c| &c[..])
    }

    /// Drops the first `n` pending bytes (they were written). More than pending is clamped.
    pub(crate) fn advance(&mut self, mut n: usize) {
        debug_assert!(n <= self.len, "advance past the pending output");
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else {
                break;
            };
            if n < front.len() {
                front.advance(n);
                return;
            }
            n -= front.len();
            self.chunks.pop_front();
        }
        self.batch.advance(n);
    }

    /// Frees the buffers when nothing is pending.
    pub(crate) fn shrink_idle(&mut self) {
        if self.len == 0 {
            self.batch = BytesMut::new();
            self.chunks = VecDeque::new();
        }
    }

    /// Bytes of buffer capacity held (the batch and the chunk queue's slots; shared chunks
    /// belong to whoever sent them).
    pub(crate) fn capacity(&self) -> usize {
        self.batch.capacity() + self.chunks.capacity() * std::mem::size_of::<Bytes>()
    }
}

//! The bytes a connection has encoded and not yet written, shared by the ZMTP and the
//! WebSocket encoders: small frames are appended to one batch buffer, so that many leave in
//! one write; a large payload is queued as its own shared chunk, so that it reaches `writev`
//! without a copy (docs/architecture.md §7.3, §7.4).

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

/// Payloads above this many bytes are queued by reference rather than copied into the batch.
pub(crate) const SHARE_THRESHOLD: usize = 1024;

/// Output queue: `chunks` go out first, in order, then `batch`.
#[derive(Debug, Default)]
pub(crate) struct OutQueue {
    /// Sealed pieces: parts of the batch cut off before a shared payload, and shared payloads.
    chunks: VecDeque<Bytes>,
    /// Where frames are being appended.
    batch: BytesMut,
    /// Total bytes pending in `chunks` and `batch`.
    len: usize,
}

impl OutQueue {
    /// The batch, to append to; call [`OutQueue::added`] with what was appended.
    pub(crate) fn batch(&mut self) -> &mut BytesMut {
        &mut self.batch
    }

    /// Counts `n` bytes appended to the batch.
    pub(crate) fn added(&mut self, n: usize) {
        self.len += n;
    }

    /// Queues `payload` by reference after what the batch holds.
    pub(crate) fn push_shared(&mut self, payload: Bytes) {
        if !self.batch.is_empty() {
            self.chunks.push_back(self.batch.split().freeze());
        }
        self.len += payload.len();
        self.chunks.push_back(payload);
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

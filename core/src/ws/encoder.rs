//! The sending half: frame headers and small payloads copied into one batch buffer, so that
//! many small messages leave in one write; a large payload a server sends is queued as its
//! own shared chunk for `writev`, never copied (docs/architecture.md §7.3).
//!
//! A client masks every frame (RFC 6455 §5.3), which changes the bytes: its payloads are
//! masked as they are copied into the batch, in one pass (`mask::extend_masked`).

use std::io::IoSlice;

use bytes::Bytes;

use crate::outq::{OutQueue, SHARE_THRESHOLD};
use crate::session::OUT_BATCH;

use super::frame::{header_len, write_header};
use super::mask::extend_masked;

/// Output queue, with WebSocket framing on top.
#[derive(Debug, Default)]
pub(crate) struct Encoder {
    out: OutQueue,
    /// The output batch has grown to its backed-up size once (see `frame`).
    grown: bool,
}

impl Encoder {
    /// One final frame whose payload is `head` then `body`, copied into the batch and masked
    /// with `key` when there is one.
    pub(crate) fn frame(&mut self, opcode: u8, head: &[u8], body: &[u8], key: Option<[u8; 4]>) {
        let len = head.len() + body.len();
        let need = header_len(len, key.is_some()) + len;
        let batch = self.out.batch();
        let large_masked = key.is_some() && need > SHARE_THRESHOLD;
        if large_masked
            && !self.grown
            && batch.len() >= need
            && batch.capacity() - batch.len() < need
        {
            self.grown = true;
            // Output is backing up and a large frame (a client's masked ZWS batch) does not
            // fit: grow once to twice the most a session lets wait plus this frame, rather
            // than doubling towards it, an allocation now and then, over the following
            // batches. Twice: the unwritten bytes move to the front of the buffer only when
            // the written ones before them outnumber them (`BytesMut::reserve`).
            batch.reserve(2 * (OUT_BATCH + need) - batch.len().min(OUT_BATCH));
        }
        batch.reserve(need);
        write_header(batch, opcode, len, key);
        match key {
            Some(key) => {
                extend_masked(batch, head, key, 0);
                extend_masked(batch, body, key, head.len());
            }
            None => {
                batch.extend_from_slice(head);
                batch.extend_from_slice(body);
            }
        }
        self.out.added(header_len(len, key.is_some()) + len);
    }

    /// One unmasked final frame whose payload is `head` then `body`: `body` shared when
    /// large, copied when small.
    pub(crate) fn frame_shared(&mut self, opcode: u8, head: &[u8], body: Bytes) {
        if body.len() <= SHARE_THRESHOLD {
            self.frame(opcode, head, &body, None);
            return;
        }
        let len = head.len() + body.len();
        let batch = self.out.batch();
        write_header(batch, opcode, len, None);
        batch.extend_from_slice(head);
        self.out.added(header_len(len, false) + head.len());
        self.out.push_shared(body);
    }

    /// Bytes waiting to be written.
    pub(crate) fn len(&self) -> usize {
        self.out.len()
    }

    /// See [`OutQueue::slices`].
    pub(crate) fn slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        self.out.slices(out)
    }

    /// See [`OutQueue::chunk`].
    pub(crate) fn chunk(&self) -> &[u8] {
        self.out.chunk()
    }

    /// See [`OutQueue::advance`].
    pub(crate) fn advance(&mut self, n: usize) {
        self.out.advance(n);
    }

    /// See [`OutQueue::shrink_idle`].
    pub(crate) fn shrink_idle(&mut self) {
        self.out.shrink_idle();
    }

    /// See [`OutQueue::capacity`].
    pub(crate) fn capacity(&self) -> usize {
        self.out.capacity()
    }
}

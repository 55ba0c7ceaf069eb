//! ZMTP 3.x frame encoder and the queue of bytes waiting to be written.
//!
//! Small frames are copied into one batch buffer, so many messages leave in one `write`. A large
//! payload is queued as its own shared chunk (the `Bytes` the user sent), so it is never copied
//! on its way to `writev`.

use std::io::IoSlice;

use bytes::{BufMut, Bytes, BytesMut};

use crate::outq::{OutQueue, SHARE_THRESHOLD};

use super::decoder::{COMMAND, LONG};

/// The largest data frame copied into the batch: a long-form header and a shared-threshold body.
const MAX_COPIED_FRAME: usize = 9 + SHARE_THRESHOLD;

/// Output queue, with ZMTP framing on top.
#[derive(Debug, Default)]
pub(crate) struct Encoder {
    out: OutQueue,
    /// The pending-bytes limit the batch has been sized for (see `size_for_limit`).
    sized_for: usize,
}

impl Encoder {
    /// Appends bytes as they are (the greeting).
    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.out.batch().extend_from_slice(bytes);
        self.out.added(bytes.len());
    }

    fn header(&mut self, flags: u8, body_len: usize) {
        let n = put_header(self.out.batch(), flags, body_len);
        self.out.added(n);
    }

    /// One frame whose body is the concatenation of `parts`, copied into the batch.
    pub(crate) fn frame(&mut self, flags: u8, parts: &[&[u8]]) {
        let body_len = parts.iter().map(|p| p.len()).sum();
        self.header(flags, body_len);
        let batch = self.out.batch();
        batch.reserve(body_len);
        for p in parts {
            batch.extend_from_slice(p);
        }
        self.out.added(body_len);
    }

    /// One frame of `body_len` bytes that `fill` appends to the batch (a CURVE MESSAGE
    /// sealed where it lands, with no buffer of its own). When `fill` fails, or appends
    /// another length, nothing is queued.
    pub(crate) fn frame_appended<E>(
        &mut self,
        flags: u8,
        body_len: usize,
        fill: impl FnOnce(&mut BytesMut) -> Result<(), E>,
        wrong_len: impl FnOnce() -> E,
    ) -> Result<(), E> {
        let batch = self.out.batch();
        let start = batch.len();
        let head = put_header(batch, flags, body_len);
        let filled = fill(batch);
        let appended = batch.len() - start - head;
        match filled {
            Ok(()) if appended == body_len => {
                self.out.added(head + body_len);
                Ok(())
            }
            other => {
                batch.truncate(start);
                other.and_then(|()| Err(wrong_len()))
            }
        }
    }

    /// One frame whose body is `body`: shared when large, copied when small.
    pub(crate) fn frame_bytes(&mut self, flags: u8, body: Bytes) {
        if body.len() <= SHARE_THRESHOLD {
            self.frame(flags, &[&body]);
            return;
        }
        self.header(flags, body.len());
        self.out.push_shared(body);
    }

    /// One command frame: `name-len name data` (docs/wire.md §3.3).
    pub(crate) fn command(&mut self, name: &[u8], data: &[u8]) {
        // Command names are ours (READY, PING, ...), all far below 256 bytes.
        self.frame(COMMAND, &[&[name.len() as u8], name, data]);
    }

    /// Sizes the batch for a writer that adds frames only while fewer than `limit` bytes
    /// are pending, so that copied frames never make it grow again. `BytesMut` reuses the
    /// written front of its buffer only when that front is at least as long as what is
    /// pending (else it reallocates); at twice the limit plus a few frames, whenever the free
    /// end is too short for a frame, the written front is that long. Grown by doubling
    /// instead, the batch would reallocate whenever a backlog happened to beat its record,
    /// long after start-up. No-op once sized for `limit`.
    pub(crate) fn size_for_limit(&mut self, limit: usize) {
        if self.sized_for >= limit {
            return;
        }
        self.sized_for = limit;
        let room = 2 * (limit + 4 * MAX_COPIED_FRAME);
        let batch = self.out.batch();
        batch.reserve(room.saturating_sub(batch.len()));
    }

    /// Bytes waiting to be written.
    pub(crate) fn len(&self) -> usize {
        self.out.len()
    }

    /// Frees the buffers when nothing is pending (see [`OutQueue::shrink_idle`]); the next
    /// [`size_for_limit`](Encoder::size_for_limit) sizes the batch again.
    pub(crate) fn shrink_idle(&mut self) {
        if self.out.len() == 0 {
            self.out.shrink_idle();
            self.sized_for = 0;
        }
    }

    /// Bytes of buffer capacity held (see [`OutQueue::capacity`]).
    pub(crate) fn capacity(&self) -> usize {
        self.out.capacity()
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
}

/// Writes a frame header; returns its length. libzmq's encoder uses the LONG form iff the
/// size does not fit in one byte.
fn put_header(batch: &mut BytesMut, flags: u8, body_len: usize) -> usize {
    if let Ok(short) = u8::try_from(body_len) {
        batch.put_u8(flags);
        batch.put_u8(short);
        2
    } else {
        batch.put_u8(flags | LONG);
        // usize -> u64 never truncates on supported targets (≤ 64-bit).
        batch.put_u64(body_len as u64);
        9
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(e: &Encoder) -> Vec<u8> {
        let mut slices = [IoSlice::new(&[]); 8];
        let n = e.slices(&mut slices);
        slices[..n].iter().flat_map(|s| s.iter().copied()).collect()
    }

    #[test]
    fn long_form_iff_size_over_255() {
        // libzmq v2/v3_1 encoder: LONG is set when the size exceeds 255.
        let mut e = Encoder::default();
        e.frame(0, &[&[1u8; 255]]);
        assert_eq!(&pending(&e)[..2], &[0x00, 0xff]);
        let mut e = Encoder::default();
        e.frame(1, &[&[1u8; 256]]);
        assert_eq!(&pending(&e)[..9], &[0x03, 0, 0, 0, 0, 0, 0, 1, 0]);
    }

    #[test]
    fn large_payload_is_queued_by_reference() {
        let mut e = Encoder::default();
        e.frame(0, &[b"a"]);
        let big = Bytes::from(vec![5u8; 4096]);
        e.frame_bytes(0, big.clone());
        e.frame(0, &[b"b"]);
        let mut slices = [IoSlice::new(&[]); 8];
        assert_eq!(e.slices(&mut slices), 3);
        assert_eq!(slices[1].as_ptr(), big.as_ptr(), "large payload was copied");
        assert_eq!(e.len(), 3 + 9 + 4096 + 3);
        assert_eq!(
            e.chunk(),
            &[0x00, 0x01, b'a', 0x02, 0, 0, 0, 0, 0, 0, 0x10, 0]
        );
        e.advance(13);
        assert_eq!(e.chunk().len(), 4095);
        e.advance(4095 + 2);
        assert_eq!(e.chunk(), b"b");
        e.advance(1);
        assert_eq!((e.len(), e.chunk()), (0, &[][..]));
    }
}

//! Input buffers that are used again once every frame handed out of them is dropped.
//!
//! Large frames leave the input buffer as shared slices of it, so a full buffer cannot be
//! reused in place while the application still holds them: the connection moves on to a new
//! buffer. Left to the allocator, each new buffer of a large-frame stream is fresh memory
//! (glibc returns the freed ones to the kernel as they come back from the receiving thread),
//! and its page faults cost as much as the bytes' copy from the kernel (measured on tcp
//! 64 KiB: four faults per message). Here a few retired buffers are kept and taken back as
//! soon as they are unique again, which `BytesMut::try_reclaim` checks without allocating.
//!
//! Only while large frames flow: a connection of small messages keeps no spare buffers, so
//! thousands of idle connections cost nothing extra.

use std::collections::VecDeque;

use bytes::BytesMut;

/// Retired buffers kept per connection: the frames in flight to the application when it
/// keeps up; when it does not, new buffers are allocated as before. Measured on tcp 64 KiB
/// with a buffer per frame (`local_thr`/`remote_thr`, 5 runs, medians): 1 kept 24.5 k msg/s,
/// 4 kept 27.4 k, 16 kept 28.2 k. Reads now take several large frames per buffer (up to
/// 256 KiB, `ReadHint::batch_room`), so the count is also bounded by [`KEEP_BYTES`]: eight
/// buffers (32 frames) for 64 KiB messages, two for frames near 1 MiB; none once smaller
/// frames have followed for a while (`make_room`). Small frames above the inline size
/// fill buffers of 128 KiB (`Connection::input_buffer`), 16 of them for the few thousand
/// messages that can be queued for a receiver that is behind (benches/tests/alloc.rs, the
/// inline CURVE cases: with 8, 2 allocations per 10,000 messages in 1 window of 48). Only
/// buffers the backlog needed at once are ever kept.
const KEEP: usize = 16;
/// Bytes of retired buffers kept per connection, at most (but always one buffer).
const KEEP_BYTES: usize = 2 << 20;
/// Buffers above this size are not kept (their page faults are small beside their bytes).
const MAX_KEPT: usize = 1 << 20;

#[derive(Debug, Default)]
pub(crate) struct Recycler {
    retired: VecDeque<BytesMut>,
    /// Whether the current input buffer is to be kept when retired.
    keep_current: bool,
}

impl Recycler {
    /// Makes room in `rx` for `want` more bytes, moving its unread bytes (the start of a
    /// frame) to another buffer when it has no room left. `recycle` says whether large frames
    /// are flowing, i.e. whether buffers are worth keeping.
    pub(crate) fn make_room(&mut self, rx: &mut BytesMut, want: usize, recycle: bool) {
        self.make_room_in(rx, want, 0, recycle);
    }

    /// [`make_room`](Recycler::make_room), a new buffer holding at least `capacity` bytes.
    pub(crate) fn make_room_in(
        &mut self,
        rx: &mut BytesMut,
        want: usize,
        capacity: usize,
        recycle: bool,
    ) {
        if !recycle {
            self.retired.clear();
            self.keep_current = false;
        }
        if rx.capacity() - rx.len() >= want || rx.try_reclaim(want) {
            return;
        }
        let need = (rx.len() + want).max(capacity);
        let mut next = match self.take(need) {
            Some(buf) => buf,
            None => shared_buffer(need),
        };
        next.extend_from_slice(rx);
        let mut old = std::mem::replace(rx, next);
        if std::mem::replace(&mut self.keep_current, recycle && need <= MAX_KEPT) {
            old.clear();
            // By the size of the buffers made now: `old`'s own capacity is only what is left
            // past the frames split off it.
            let keep = (KEEP_BYTES / need.max(1)).clamp(1, KEEP);
            while self.retired.len() >= keep {
                self.retired.pop_front();
            }
            self.retired.push_back(old);
        }
    }

    /// A retired buffer whose frames are all gone, with room for `need` bytes.
    fn take(&mut self, need: usize) -> Option<BytesMut> {
        let i = self.retired.iter_mut().position(|b| b.try_reclaim(need))?;
        self.retired.remove(i)
    }

    #[cfg(test)]
    fn kept(&self) -> usize {
        self.retired.len()
    }
}

/// A new buffer of `capacity` bytes, in `BytesMut`'s shared form from the start. In its
/// first (vec) form every `advance` also keeps the offset in the pointer's spare bits: 12
/// more instructions per small frame taken off the input (callgrind, tcp 16 B). The first
/// frame split off would make it shared anyway; input buffers that only ever pass small
/// frames (copied out, then advanced over) would stay slow.
fn shared_buffer(capacity: usize) -> BytesMut {
    let mut buf = BytesMut::with_capacity(capacity);
    // Splitting shares the allocation (dropping the empty half leaves it unique).
    drop(buf.split_to(0));
    buf
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Fills `rx` with `n` bytes and hands them out as a frame would leave.
    fn fill(rx: &mut BytesMut) -> bytes::Bytes {
        let n = rx.capacity() - rx.len();
        frame(rx, n)
    }

    fn frame(rx: &mut BytesMut, n: usize) -> bytes::Bytes {
        rx.extend(std::iter::repeat_n(7u8, n));
        rx.split_to(n).freeze()
    }

    #[test]
    fn a_buffer_comes_back_once_its_frames_are_dropped() {
        let mut r = Recycler::default();
        let mut rx = BytesMut::new();
        r.make_room(&mut rx, 1000, true);
        let first = rx.as_ptr();
        let f1 = fill(&mut rx);
        r.make_room(&mut rx, 1000, true);
        assert_ne!(
            rx.as_ptr(),
            first,
            "the first buffer is still shared with f1"
        );
        assert_eq!(r.kept(), 1);
        let f2 = fill(&mut rx);
        drop(f1);
        r.make_room(&mut rx, 1000, true);
        assert_eq!(rx.as_ptr(), first, "the first buffer was taken back");
        drop(f2);
    }

    #[test]
    fn a_buffer_still_shared_is_not_reused() {
        let mut r = Recycler::default();
        let mut rx = BytesMut::new();
        let mut held = Vec::new();
        let mut seen = Vec::new();
        for _ in 0..KEEP + 2 {
            r.make_room(&mut rx, 1000, true);
            seen.push(rx.as_ptr());
            held.push(fill(&mut rx));
        }
        seen.sort();
        seen.dedup();
        assert_eq!(
            seen.len(),
            KEEP + 2,
            "every buffer in use must be a new one"
        );
        assert!(r.kept() <= KEEP);
        assert!(held.iter().all(|f| f.iter().all(|&b| b == 7)));
    }

    /// Retired buffers are bounded in bytes as well as in count: a stream of frames near
    /// 1 MiB that the application holds on to keeps two buffers, not [`KEEP`].
    #[test]
    #[cfg_attr(miri, ignore)]
    fn large_buffers_are_bounded_in_bytes() {
        let mut r = Recycler::default();
        let mut rx = BytesMut::new();
        let mut held = Vec::new();
        for _ in 0..KEEP + 2 {
            r.make_room(&mut rx, 900_000, true);
            held.push(fill(&mut rx));
        }
        assert_eq!(r.kept(), KEEP_BYTES / 900_000);
        drop(held);
    }

    #[test]
    fn unread_bytes_move_with_the_buffer() {
        let mut r = Recycler::default();
        let mut rx = BytesMut::new();
        r.make_room(&mut rx, 16, true);
        let _held = frame(&mut rx, 8);
        rx.extend_from_slice(b"partial");
        r.make_room(&mut rx, 100_000, true);
        assert_eq!(&rx[..], b"partial");
        assert!(rx.capacity() - rx.len() >= 100_000);
    }

    #[test]
    fn small_traffic_keeps_nothing() {
        let mut r = Recycler::default();
        let mut rx = BytesMut::new();
        r.make_room(&mut rx, 1000, true);
        let _f = fill(&mut rx);
        r.make_room(&mut rx, 1000, true);
        assert_eq!(r.kept(), 1);
        r.make_room(&mut rx, 1000, false);
        assert_eq!(r.kept(), 0);
        let _g = fill(&mut rx);
        r.make_room(&mut rx, 1000, false);
        assert_eq!(r.kept(), 0);
    }
}

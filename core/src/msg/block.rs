//! Reference-counted payload blocks for small heap messages (31 B to 1 KiB), recycled through
//! per-thread caches instead of the allocator.
//!
//! # Why
//!
//! A message of a few hundred bytes is made on one thread and dropped on another: the
//! application's and an I/O thread's, or the two ends of an inproc pipe. With the allocator,
//! each one is a `malloc` on the sender and a cross-thread `free` on the receiver, which in
//! glibc takes the sender's arena lock, so both threads contend on it once per message
//! (benches/RESULTS.md, "Why inproc small messages"). Here a block dropped on the receiving
//! thread goes to that thread's cache ([`super::cache`]), full caches hand their blocks to a
//! shared depot 32 at a time, and an empty cache takes 32 back: one lock per 32 messages on
//! each side, and no allocation once the stream is running.
//!
//! # Layout
//!
//! One allocation per block: a [`Header`] (the reference count and the size class), then the
//! payload's capacity, [`class_capacity`] bytes. A [`Block`] handle points at the header and
//! holds the payload's length; clones share the block (a count, as `Arc`), and the last one
//! dropped gives it back to the cache of the thread dropping it.

use std::alloc::{self, Layout};
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicUsize, Ordering};

use super::cache;
use crate::pipe::hint;

/// Payloads of up to this many bytes use blocks; larger ones are `Bytes` (shared by
/// reference into the output, see `outq::SHARE_THRESHOLD`, which this matches: every pooled
/// payload is copied into an output batch, never queued by reference).
pub(crate) const MAX_POOLED: usize = 1024;
/// The smallest class's capacity; classes double from here to [`MAX_POOLED`].
const MIN_CLASS: usize = 64;
/// Number of size classes: 64, 128, 256, 512 and 1024 bytes.
pub(super) const CLASSES: usize = 5;
/// Above this many references, a clone aborts, as `Arc`'s does (a leak of clones that large
/// is a bug, and wrapping would free a block still in use).
const MAX_REFS: usize = isize::MAX as usize;

/// What precedes a block's payload.
#[repr(C)]
pub(super) struct Header {
    refs: AtomicUsize,
    class: usize,
}

/// The payload capacity of a class.
pub(super) const fn class_capacity(class: usize) -> usize {
    MIN_CLASS << class
}

/// The class for a payload of `len` bytes (`len <= MAX_POOLED`).
fn class_of(len: usize) -> usize {
    let cap = len.max(MIN_CLASS).next_power_of_two();
    (cap / MIN_CLASS).trailing_zeros() as usize
}

/// The layout of a block of `class`.
pub(super) fn layout(class: usize) -> Layout {
    let size = std::mem::size_of::<Header>() + class_capacity(class);
    // Cannot fail: the size is at most a few KiB and the alignment a power of two.
    Layout::from_size_align(size, std::mem::align_of::<Header>()).unwrap_or(Layout::new::<Header>())
}

/// A new, uninitialised block of `class` from the allocator; `None` when it has no memory.
pub(super) fn allocate(class: usize) -> Option<NonNull<Header>> {
    // SAFETY: the layout has a non-zero size (the header alone is 16 bytes).
    NonNull::new(unsafe { alloc::alloc(layout(class)) }.cast::<Header>())
}

/// Returns a block's memory to the allocator.
///
/// # Safety
/// `ptr` came from [`allocate`] with the same `class` and is referenced by nothing else.
pub(super) unsafe fn deallocate(ptr: NonNull<Header>, class: usize) {
    // SAFETY: the caller's contract: allocated with this layout, and unused.
    unsafe { alloc::dealloc(ptr.as_ptr().cast(), layout(class)) }
}

/// A shared handle to a payload in a block.
pub(crate) struct Block {
    ptr: NonNull<Header>,
    len: usize,
}

// SAFETY: the payload is immutable once the block is shared, and the reference count is an
// atomic, as in `Arc<[u8]>`; the last handle dropped owns the block alone.
unsafe impl Send for Block {}
// SAFETY: see `Send`: `&Block` only reads the immutable payload and the header's class.
unsafe impl Sync for Block {}

impl Block {
    /// A block holding a copy of `data` (`data.len() <= MAX_POOLED`); `None` when the
    /// allocator has no memory.
    pub(crate) fn copy(data: &[u8]) -> Option<Block> {
        debug_assert!(data.len() <= MAX_POOLED);
        let class = class_of(data.len());
        let ptr = cache::take(class).or_else(|| allocate(class))?;
        // SAFETY: the block is ours alone (fresh, or taken from a cache that owned it): we
        // write its header, then `data.len()` bytes into a payload of at least that
        // capacity (`class_of`), neither overlapping `data`.
        unsafe {
            ptr.as_ptr().write(Header {
                refs: AtomicUsize::new(1),
                class,
            });
            let payload = ptr.as_ptr().add(1).cast::<u8>();
            std::ptr::copy_nonoverlapping(data.as_ptr(), payload, data.len());
        }
        Some(Block {
            ptr,
            len: data.len(),
        })
    }

    /// The payload.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: the block lives while `self` does (a reference counted in the header),
        // and its first `len` payload bytes were written before it was shared.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(1).cast::<u8>(), self.len) }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Asks the CPU for the block's lines: the header and the payload.
    #[inline]
    pub(crate) fn prefetch(&self) {
        let len = std::mem::size_of::<Header>() + self.len;
        hint::prefetch_bytes(self.ptr.as_ptr().cast(), len);
    }

    fn header(&self) -> &Header {
        // SAFETY: the block lives while `self` does.
        unsafe { self.ptr.as_ref() }
    }
}

impl Clone for Block {
    fn clone(&self) -> Block {
        // Relaxed, as `Arc::clone`: a new reference comes from an existing one, which keeps
        // the block alive and its payload visible to whoever holds it.
        if self.header().refs.fetch_add(1, Ordering::Relaxed) > MAX_REFS {
            std::process::abort();
        }
        Block {
            ptr: self.ptr,
            len: self.len,
        }
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        // The only handle (a message sent once, the usual case): no other handle exists to
        // change the count, so a load decides, and the thread dropping the block only reads
        // its line (a payload just copied out leaves it shared, not owned, on this core).
        // Acquire: the reads of the payload by holders that dropped theirs before (their
        // Release decrements) happen before the block is reused, as below.
        if self.header().refs.load(Ordering::Acquire) == 1 {
            cache::give(self.header().class, self.ptr);
            return;
        }
        // Release, then Acquire by the last: every other holder's reads of the payload
        // happen before the block is reused (as `Arc`'s drop).
        if self.header().refs.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        fence(Ordering::Acquire);
        let class = self.header().class;
        cache::give(class, self.ptr);
    }
}

#[cfg(all(test, not(loom)))]
#[allow(clippy::unwrap_used)] // Tests may unwrap (project rules).
mod tests {
    use super::*;

    #[test]
    fn classes_fit_their_payloads() {
        assert_eq!(class_of(31), 0);
        assert_eq!(class_of(64), 0);
        assert_eq!(class_of(65), 1);
        assert_eq!(class_of(256), 2);
        assert_eq!(class_of(MAX_POOLED), CLASSES - 1);
        for len in 31..=MAX_POOLED {
            assert!(class_capacity(class_of(len)) >= len);
        }
    }

    #[test]
    fn copies_are_exact_and_clones_share() {
        for len in [31, 64, 100, 256, 700, MAX_POOLED] {
            let data: Vec<u8> = (0..len).map(|i| (i * 3) as u8).collect();
            let b = Block::copy(&data).unwrap();
            let c = b.clone();
            drop(b);
            assert_eq!(c.as_slice(), &data[..]);
            assert_eq!(c.len(), len);
        }
    }

    /// A block shared by two threads goes back to a cache once, by whichever drops it last:
    /// the sole-holder shortcut of `drop` must not fire while another handle lives. A block
    /// given back twice would be handed out twice while one copy is still in a channel, and
    /// the receivers' checks of its payload would fail (miri reports the race as well).
    #[test]
    fn shared_blocks_are_given_back_once() {
        use std::sync::mpsc::{sync_channel, Receiver};
        let count: usize = if cfg!(miri) { 150 } else { 100_000 };
        let check = |rx: Receiver<Block>| {
            std::thread::spawn(move || {
                for i in 0..count {
                    let b = rx.recv().unwrap();
                    assert_eq!(b.len(), 100);
                    assert!(b.as_slice().iter().all(|&x| x == (i % 251) as u8));
                }
            })
        };
        let (tx_a, rx_a) = sync_channel::<Block>(64);
        let (tx_b, rx_b) = sync_channel::<Block>(64);
        let (a, b) = (check(rx_a), check(rx_b));
        for i in 0..count {
            let block = Block::copy(&[(i % 251) as u8; 100]).unwrap();
            tx_a.send(block.clone()).unwrap();
            tx_b.send(block).unwrap();
        }
        a.join().unwrap();
        b.join().unwrap();
    }

    /// Blocks made on one thread and dropped on another, as messages through a pipe: every
    /// payload arrives intact while the blocks go round the two threads' caches.
    #[test]
    fn blocks_cross_threads_intact() {
        // Under miri, enough to go round the caches and the depot a few times.
        let count: usize = if cfg!(miri) { 200 } else { 200_000 };
        // Classes 0 to 2 only: the cache tests use the larger ones alone.
        let spread = if cfg!(miri) { 40 } else { 220 };
        let (tx, rx) = std::sync::mpsc::sync_channel::<Block>(64);
        let sender = std::thread::spawn(move || {
            for i in 0..count {
                let len = 31 + i % spread;
                let data = vec![(i % 251) as u8; len];
                tx.send(Block::copy(&data).unwrap()).unwrap();
            }
        });
        for i in 0..count {
            let b = rx.recv().unwrap();
            assert_eq!(b.len(), 31 + i % spread);
            assert!(b.as_slice().iter().all(|&x| x == (i % 251) as u8));
        }
        sender.join().unwrap();
    }
}

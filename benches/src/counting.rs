//! A counting global allocator: bytes allocated and not freed, by every thread. Resident
//! memory also moves with what the allocator keeps for later (its arenas, freed holes);
//! this does not, so a leak shows here as a trend however the allocator behaves. A binary
//! installs it with `#[global_allocator] static A: Counting = Counting;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};

/// Bytes allocated and not freed. Relaxed: a figure read when it is sampled, not a
/// synchronisation.
static LIVE: AtomicI64 = AtomicI64::new(0);

/// The system allocator, counting what is live.
#[derive(Debug)]
pub struct Counting;

// SAFETY: forwards every call to `System` unchanged; counting touches no allocator state.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract is `GlobalAlloc::alloc`'s, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract is `GlobalAlloc::dealloc`'s, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract is `GlobalAlloc::realloc`'s, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Bytes allocated and not freed so far: 0 unless the binary installed [`Counting`].
pub fn live_bytes() -> i64 {
    LIVE.load(Ordering::Relaxed)
}

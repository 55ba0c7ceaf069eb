//! Prefetch hints: asking the CPU for cache lines before the code needs them.
//!
//! Used where a thread goes round many pipes and would otherwise wait for each pipe's lines
//! in turn (docs/architecture.md §7.5a). A hint neither faults nor changes memory, so any
//! address will do; a wrong one only wastes a fetch. x86-64 only; elsewhere, and under miri,
//! nothing.

/// Asks for the cache line holding `p`.
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch is a hint: it neither faults nor changes memory, whatever the
        // address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) };
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = p;
}

/// Asks for every cache line of the `T` at `p` (a value may straddle two or more).
#[inline(always)]
pub(crate) fn prefetch_all<T>(p: *const T) {
    prefetch_bytes(p.cast(), std::mem::size_of::<T>());
}

/// Asks for every cache line of the `len` bytes at `start`.
#[inline(always)]
pub(crate) fn prefetch_bytes(start: *const u8, len: usize) {
    let mut offset = 0;
    while offset < len {
        prefetch(start.wrapping_add(offset));
        offset += 64;
    }
    // The last byte's line, when the bytes do not start on a line boundary.
    if len > 0 {
        prefetch(start.wrapping_add(len - 1));
    }
}

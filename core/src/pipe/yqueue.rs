//! A queue of chunks, shared by one writer and one reader.
//!
//! # Algorithm
//!
//! This is libzmq's `yqueue_t` (`src/yqueue.hpp`, Martin Sustrik et al.): the queue is a linked
//! list of chunks of `N` slots. The writer fills slots at the back and links a new chunk when one
//! is full; the reader empties slots at the front and, when it leaves a chunk, hands it back
//! through a *spare* pointer, which the writer takes before it asks the allocator for a new one.
//! When both ends move at about the same rate the queue allocates nothing.
//!
//! Unlike libzmq, which keeps one spare chunk, the queue keeps several (up to [`MAX_SPARES`],
//! as many as its owner asks for): a pipe whose length swings between empty and its
//! high-water mark (a fast writer against a batching reader, the normal case at saturation)
//! spans several chunks, and with one spare it would free and allocate a chunk every `N`
//! messages. Keeping as many spares as a full queue spans makes that steady state
//! allocation-free, and never holds more memory than the queue at its high-water mark.
//!
//! Unlike libzmq too, the first chunk is small (`N / 16` slots): most pipes of a server with
//! many connections carry a message now and then, and a full chunk for each direction of each
//! connection (two 12 KiB chunks of 48-byte messages) would be most of what an idle connection
//! costs.
//! The chunks after it have `N` slots; the first is freed once left, never kept as a spare.
//!
//! The queue itself does not know which slots are published to the reader: that is
//! [`ypipe`](super::ypipe)'s job. Hence the `unsafe` entry points, whose contracts say which side
//! may call them and what must already be published.
//!
//! # Invariants
//!
//! Positions are `(chunk, index)` pairs with `index` below the chunk's size, so every position
//! names a real slot and a slot pointer identifies a position among the chunks in use (`T` is
//! never zero-sized).
//!
//! - `front <= back` in queue order; the chunks from `front.chunk` to `back.chunk` are linked
//!   through `next` and owned by the queue;
//! - the slots in `[front, back)` hold initialised values, all other slots are uninitialised;
//! - `back` (and every chunk's `prev`) is touched only by the writer, `front` only by the reader;
//! - a chunk's `next` is written by the writer before any slot of the next chunk is published,
//!   and read by the reader only after it has consumed the chunk's last published slot;
//! - each of `spares` is null or a chunk owned by nobody else, with no initialised slot.

use std::alloc::{self, Layout};
use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::ptr;

use super::sync::atomic::{AtomicPtr, Ordering};

/// Slots per chunk of a pipe's queue. libzmq uses 256 for messages (`message_pipe_granularity`).
pub(crate) const DEFAULT_CHUNK: usize = 256;

/// The most empty chunks a queue keeps for reuse (see the module docs): enough for the
/// default inproc HWM (2000 messages, nine chunks of [`DEFAULT_CHUNK`]).
pub(crate) const MAX_SPARES: usize = 10;

/// A chunk's links and size; its `cap` slots follow it in the same allocation.
///
/// `repr(C)`: the slots must come after the header. Without it the compiler may put the
/// zero-sized `slots` field first, at offset 0, when `T` is more aligned than the header's
/// pointers: it did for 8-aligned messages on 32-bit targets (wasm32), where the first
/// slot then overwrote the links (miri, `--target i686-unknown-linux-gnu`).
#[repr(C)]
struct Chunk<T> {
    /// The chunk before this one; writer-only (used to step back on `unpush`).
    prev: *mut Chunk<T>,
    /// The chunk after this one; see the module invariants for who touches it when.
    next: *mut Chunk<T>,
    /// Slots in this chunk: set at allocation, never changed.
    cap: usize,
    /// Where the slots start (aligned for `T`); they extend past the struct.
    slots: [MaybeUninit<T>; 0],
}

impl<T> Chunk<T> {
    /// The allocation of a chunk of `cap` slots: the header, then the slots.
    fn layout(cap: usize) -> Layout {
        let slots = std::mem::size_of::<T>()
            .checked_mul(cap)
            .and_then(|n| n.checked_add(std::mem::offset_of!(Chunk<T>, slots)));
        match slots.map(|size| Layout::from_size_align(size, std::mem::align_of::<Chunk<T>>())) {
            Some(Ok(layout)) => layout,
            // A queue's chunk sizes are small constants: this is a programming error.
            _ => panic!("pipe chunk of {cap} slots is too large"),
        }
    }

    /// A chunk of `cap` slots, every one uninitialised, with null links.
    fn alloc(cap: usize) -> *mut Chunk<T> {
        let layout = Self::layout(cap);
        // SAFETY: the layout has a non-zero size: a chunk holds two pointers.
        let chunk = unsafe { alloc::alloc(layout) }.cast::<Chunk<T>>();
        if chunk.is_null() {
            alloc::handle_alloc_error(layout);
        }
        // SAFETY: `chunk` is a fresh allocation for a `Chunk`; writing its header fields
        // through raw places needs no initialised value (the slots are `MaybeUninit`).
        unsafe {
            ptr::addr_of_mut!((*chunk).prev).write(ptr::null_mut());
            ptr::addr_of_mut!((*chunk).next).write(ptr::null_mut());
            ptr::addr_of_mut!((*chunk).cap).write(cap);
        }
        chunk
    }

    /// # Safety
    /// `chunk` came from [`Chunk::alloc`], holds no initialised slot and is used by nobody.
    unsafe fn free(chunk: *mut Chunk<T>) {
        // SAFETY: guaranteed by the caller: the header is initialised, and the layout is the
        // one it was allocated with (from its size).
        unsafe { alloc::dealloc(chunk.cast(), Self::layout((*chunk).cap)) }
    }

    /// The first slot of `chunk`: plain address arithmetic, which neither reads the chunk
    /// nor makes a reference to it (the other side may be using other slots of it).
    #[inline]
    fn slots(chunk: *mut Chunk<T>) -> *mut T {
        chunk
            .cast::<u8>()
            .wrapping_add(std::mem::offset_of!(Chunk<T>, slots))
            .cast::<T>()
    }
}

/// A position in the queue: a slot of a live chunk, and that chunk's size.
struct Cursor<T> {
    chunk: *mut Chunk<T>,
    /// The chunk's first slot, kept to address slots with one addition.
    slots: *mut T,
    /// 32 bits, as `cap`: a cursor and its end's state fit one cache line (`ypipe.rs`).
    index: u32,
    /// The chunk's `cap`, kept here so that moving along a chunk reads no shared memory.
    cap: u32,
}

impl<T> Cursor<T> {
    #[inline]
    fn slot(&self) -> *mut T {
        // SAFETY: a cursor always names a slot of a live chunk (module invariants), and
        // `slots` is that chunk's first slot.
        unsafe { self.slots.add(self.index as usize) }
    }

    /// Moves to the start of `chunk`, a live chunk.
    #[inline]
    fn enter(&mut self, chunk: *mut Chunk<T>) {
        self.chunk = chunk;
        self.slots = Chunk::slots(chunk);
        self.index = 0;
        // SAFETY: `chunk` is live and its header was written before it was linked.
        self.cap = cap32(unsafe { (*chunk).cap });
    }
}

/// Slots in a queue's first chunk: a small fraction of `n`, so that a pipe that carries a
/// message now and then (an idle connection's) holds a few hundred bytes, not a full chunk.
/// The chunks that follow have `n` slots.
const fn first_chunk(n: usize) -> usize {
    let small = n / 16;
    if small == 0 {
        1
    } else {
        small
    }
}

/// A chunk's slot count as a cursor keeps it. Lossless: a chunk has at most `N` slots, and
/// [`YQueue::VALID`] holds `N` to 32 bits.
#[inline]
fn cap32(cap: usize) -> u32 {
    debug_assert!(u32::try_from(cap).is_ok());
    cap as u32
}

/// One cache line (64 bytes on the targets isomq runs on), aligned.
#[repr(C, align(64))]
struct Line<X>(X);

/// One end's cursor, and what the user of the queue keeps beside it for that end alone.
struct End<C, X> {
    cursor: C,
    extra: X,
}

/// The chunk list of one [`ypipe`](super::ypipe). See the module docs.
///
/// `W` and `R` are the writer's and the reader's own state in the `ypipe`, kept on the
/// cache line of their end's cursor: each side then writes one line of its own per item, and
/// neither takes a line the other writes (with 1,000 pipes, a PUB's fan-out, every extra line
/// per pipe is a cache miss per message). `S` is what both ends share in the `ypipe`; it
/// starts the line after the writer's, followed by the spares, which both ends touch too but
/// only once per chunk. Before, both cursors shared a line: the writer's every push took
/// the line the reader's every pop had just written, and inproc 16 B ran at 10 M msg/s
/// against 16–17 M with the ends apart (benches/RESULTS.md, "Round two, sixth stop").
/// Lines of 64 bytes, not crossbeam's 128-byte pairs: a fan-out keeps a pipe per
/// subscriber, and each pipe's lines count against the cache.
#[repr(C)]
pub(crate) struct YQueue<T, const N: usize, W, R, S> {
    /// The next slot to fill. Writer-only.
    back: Line<UnsafeCell<End<Cursor<T>, W>>>,
    /// What both ends of the `ypipe` share.
    shared: S,
    /// How many of `spares` are used (1..=MAX_SPARES); fixed at creation.
    max_spares: usize,
    /// Emptied chunks kept for the writer's next chunks; each slot is null or one chunk, and is
    /// handed over on its own (a single-pointer exchange, as libzmq's one `spare`).
    spares: [AtomicPtr<Chunk<T>>; MAX_SPARES],
    /// The next slot to empty. Reader-only.
    front: Line<UnsafeCell<End<Cursor<T>, R>>>,
}

impl<T, const N: usize, W, R, S> YQueue<T, N, W, R, S> {
    /// Checked when the queue is created: a zero-sized `T` would give every slot of a chunk the
    /// same address, and `ypipe` tells positions apart by slot address.
    const VALID: () = assert!(N > 0 && N <= u32::MAX as usize && std::mem::size_of::<T>() > 0);

    /// A queue keeping up to `max_spares` empty chunks (clamped to 1..=[`MAX_SPARES`]), with
    /// `writer` and `reader` kept beside the cursors and `shared` beside the spares.
    pub(crate) fn with_ends(
        max_spares: usize,
        writer: W,
        reader: R,
        shared: S,
    ) -> YQueue<T, N, W, R, S> {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        let cap = first_chunk(N);
        let chunk = Chunk::alloc(cap);
        let cursor = || Cursor {
            chunk,
            slots: Chunk::slots(chunk),
            index: 0,
            cap: cap32(cap),
        };
        YQueue {
            back: Line(UnsafeCell::new(End {
                cursor: cursor(),
                extra: writer,
            })),
            front: Line(UnsafeCell::new(End {
                cursor: cursor(),
                extra: reader,
            })),
            spares: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            max_spares: max_spares.clamp(1, MAX_SPARES),
            shared,
        }
    }

    /// What both ends share.
    #[inline]
    pub(crate) fn shared(&self) -> &S {
        &self.shared
    }

    /// The writer's own state.
    ///
    /// # Safety
    /// Called by the writer only; the reference must not outlive a call of another method of
    /// the writer (none of them touches it).
    #[inline]
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn writer_state(&self) -> &mut W {
        // SAFETY: only the writer touches `back` (caller's contract), and of it only this
        // field, which the queue's own methods never reference.
        unsafe { &mut (*self.back.0.get()).extra }
    }

    /// The reader's own state.
    ///
    /// # Safety
    /// As [`writer_state`](Self::writer_state), for the reader.
    #[inline]
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn reader_state(&self) -> &mut R {
        // SAFETY: as in `writer_state`, for `front`.
        unsafe { &mut (*self.front.0.get()).extra }
    }

    /// The address of the slot the next [`push`](Self::push) fills.
    ///
    /// # Safety
    /// Called by the writer only.
    #[inline]
    pub(crate) unsafe fn back(&self) -> *mut T {
        // SAFETY: only the writer touches `back` (caller's contract).
        unsafe { (*self.back.0.get()).cursor.slot() }
    }

    /// Appends `value`.
    ///
    /// # Safety
    /// Called by the writer only.
    #[inline]
    pub(crate) unsafe fn push(&self, value: T) {
        // SAFETY: only the writer touches `back` (caller's contract).
        let back = unsafe { &mut (*self.back.0.get()).cursor };
        // SAFETY: the back slot is uninitialised and unpublished, so the reader does not touch it.
        unsafe { back.slot().write(value) };
        back.index += 1;
        if back.index < back.cap {
            return;
        }
        // The chunk is full: keep `back` on a real slot by linking the next chunk now, before
        // any of its slots can be published (module invariants).
        //
        // Acquire: the spare was emptied by the reader, which handed it over with a Release
        // swap; its reads of the old values happen before our writes into the slots.
        let mut next = ptr::null_mut();
        for spare in &self.spares[..self.max_spares] {
            next = spare.swap(ptr::null_mut(), Ordering::Acquire);
            if !next.is_null() {
                break;
            }
        }
        if next.is_null() {
            next = Chunk::alloc(N);
        }
        // SAFETY: `next` is ours alone (fresh or taken from `spare`); `back.chunk` is live and
        // its `next` is not read by the reader before a slot of `next` is published.
        unsafe {
            (*next).prev = back.chunk;
            (*next).next = ptr::null_mut();
            (*back.chunk).next = next;
        }
        back.enter(next);
    }

    /// Removes and returns the value last pushed.
    ///
    /// # Safety
    /// Called by the writer only, when the last pushed value exists and is not published (the
    /// reader cannot have consumed it, nor anything in its chunk beyond it).
    #[inline]
    pub(crate) unsafe fn unpush(&self) -> T {
        // SAFETY: only the writer touches `back` (caller's contract).
        let back = unsafe { &mut (*self.back.0.get()).cursor };
        if back.index > 0 {
            back.index -= 1;
        } else {
            let empty = back.chunk;
            // SAFETY: the unpushed value is in the previous chunk, which is live because that
            // value is unread; `prev` is writer-only.
            let prev = unsafe { (*empty).prev };
            back.enter(prev);
            back.index = back.cap - 1;
            // SAFETY: `empty` has no initialised slot and is unreachable by the reader (nothing
            // in it was published), so it can be recycled.
            unsafe { self.recycle(empty) };
        }
        // SAFETY: the slot held the last pushed value, which is initialised; `back` now points at
        // it, so the slot counts as uninitialised again.
        unsafe { back.slot().read() }
    }

    /// The address of the slot the next [`pop`](Self::pop) empties.
    ///
    /// # Safety
    /// Called by the reader only.
    #[inline]
    pub(crate) unsafe fn front(&self) -> *mut T {
        // SAFETY: only the reader touches `front` (caller's contract).
        unsafe { (*self.front.0.get()).cursor.slot() }
    }

    /// The address of the slot `ahead` places after the front, when it is in the front's
    /// chunk and before `limit` (the end of what the reader may read, in this chunk or a
    /// later one); `None` otherwise. For prefetching only: the slot may be read only once
    /// the cursor reaches it.
    ///
    /// # Safety
    /// Called by the reader only.
    #[inline]
    pub(crate) unsafe fn front_ahead(&self, ahead: u32, limit: *mut T) -> Option<*const T> {
        // SAFETY: only the reader touches `front` (caller's contract).
        let front = unsafe { &(*self.front.0.get()).cursor };
        let index = front.index.checked_add(ahead).filter(|&i| i < front.cap)?;
        let slot = front.slots.wrapping_add(index as usize);
        let end = front.slots.wrapping_add(front.cap as usize);
        // `limit` in this chunk bounds the slot; in a later chunk, the rest of this one is
        // readable.
        let bounded = limit >= front.slots && limit < end;
        if bounded && slot >= limit {
            return None;
        }
        Some(slot.cast_const())
    }

    /// Removes and returns the front value.
    ///
    /// # Safety
    /// Called by the reader only, when the front value has been published to it (its write,
    /// and the link to the next chunk, happen before this call).
    #[inline]
    pub(crate) unsafe fn pop(&self) -> T {
        // SAFETY: only the reader touches `front` (caller's contract).
        let front = unsafe { &mut (*self.front.0.get()).cursor };
        // SAFETY: the front value is initialised and published (caller's contract); moving it
        // out makes the slot uninitialised, and `front` moves past it below.
        let value = unsafe { front.slot().read() };
        front.index += 1;
        if front.index == front.cap {
            let done = front.chunk;
            // SAFETY: the writer linked `next` before publishing the value just read.
            front.enter(unsafe { (*done).next });
            // SAFETY: every slot of `done` has been read and the writer has moved on from it.
            unsafe { self.recycle(done) };
        }
        value
    }

    /// Where the writer's end, the shared part and the reader's end lie, as byte ranges from
    /// the start of `self` (for the layout test in `ypipe`).
    #[cfg(test)]
    pub(crate) fn layout(&self) -> [std::ops::Range<usize>; 3] {
        let start = ptr::from_ref(self) as usize;
        let range = |p: usize, len: usize| p - start..p - start + len;
        [
            range(
                ptr::from_ref(&self.back.0) as usize,
                std::mem::size_of::<End<Cursor<T>, W>>(),
            ),
            range(
                ptr::from_ref(&self.shared) as usize,
                std::mem::size_of::<S>(),
            ),
            range(
                ptr::from_ref(&self.front.0) as usize,
                std::mem::size_of::<End<Cursor<T>, R>>(),
            ),
        ]
    }

    /// Frees the spare chunks (a quiet pipe needs none). Either side may call it: each spare
    /// is taken by one swap, as the writer takes them.
    pub(crate) fn release_spares(&self) {
        for spare in &self.spares[..self.max_spares] {
            // Acquire: the side that parked the chunk (with Release) is done with it.
            let chunk = spare.swap(ptr::null_mut(), Ordering::Acquire);
            if !chunk.is_null() {
                // SAFETY: the swap made the empty chunk ours alone.
                unsafe { Chunk::free(chunk) };
            }
        }
    }

    /// Keeps `chunk` as a spare; when every spare slot is taken, replaces the first one and
    /// frees the chunk it held. The small first chunk is freed: spares are full-size.
    ///
    /// # Safety
    /// `chunk` holds no initialised slot and neither side will touch it again.
    unsafe fn recycle(&self, chunk: *mut Chunk<T>) {
        // SAFETY: `chunk` is live (caller's contract); its size never changes.
        if unsafe { (*chunk).cap } != N {
            // SAFETY: the chunk is empty and nobody else's (caller's contract).
            unsafe { Chunk::free(chunk) };
            return;
        }
        for spare in &self.spares[..self.max_spares] {
            // Release: our accesses to `chunk` happen before the writer refills it (it takes
            // spares with Acquire). On failure nothing is handed over: Relaxed.
            if spare
                .compare_exchange(ptr::null_mut(), chunk, Ordering::Release, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
        // Release as above. Acquire: the previous spare may come from the other side, whose
        // accesses to it must happen before we free it.
        let old = self.spares[0].swap(chunk, Ordering::AcqRel);
        if !old.is_null() {
            // SAFETY: the spare is owned by nobody else and has no initialised slot.
            unsafe { Chunk::free(old) };
        }
    }
}

impl<T, const N: usize, W, R, S> Drop for YQueue<T, N, W, R, S> {
    fn drop(&mut self) {
        let back = &mut self.back.0.get_mut().cursor;
        let back_slot = back.slot();
        let back_chunk = back.chunk;
        let front = &mut self.front.0.get_mut().cursor;
        // `&mut self`: both sides are gone, everything is ours.
        while front.slot() != back_slot {
            // SAFETY: slots in [front, back) are initialised.
            unsafe { ptr::drop_in_place(front.slot()) };
            front.index += 1;
            if front.index == front.cap {
                let done = front.chunk;
                // SAFETY: `done` is before `back.chunk`, so its `next` is linked.
                front.enter(unsafe { (*done).next });
                // SAFETY: every initialised slot of `done` has been dropped.
                unsafe { Chunk::free(done) };
            }
        }
        // SAFETY: `front` reached `back`: the last chunk holds no initialised slot.
        unsafe { Chunk::free(back_chunk) };
        for spare in &self.spares {
            let spare = spare.swap(ptr::null_mut(), Ordering::Relaxed);
            if !spare.is_null() {
                // SAFETY: the spare is ours and empty.
                unsafe { Chunk::free(spare) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// More aligned than the header's pointers on any target: as an 8-aligned message is on
    /// a 32-bit one.
    #[derive(Debug, Clone, Copy, PartialEq)]
    #[repr(align(16))]
    struct Wide(u64);

    /// The slots start after the header whatever `T`'s alignment, and a queue of such
    /// values keeps them intact across chunks (run under miri, this also checks that no
    /// slot strays outside its chunk).
    #[test]
    fn slots_follow_the_header_for_any_alignment() {
        let header_end = std::mem::offset_of!(Chunk<Wide>, cap) + std::mem::size_of::<usize>();
        assert!(std::mem::offset_of!(Chunk<Wide>, slots) >= header_end);
        let queue = YQueue::<Wide, 4, (), (), ()>::with_ends(2, (), (), ());
        for round in 0..3u64 {
            for i in 0..10 {
                // SAFETY: this thread is the queue's only writer and reader.
                unsafe { queue.push(Wide(round * 100 + i)) };
            }
            for i in 0..10 {
                // SAFETY: as above; ten values were pushed and not yet popped.
                assert_eq!(unsafe { queue.pop() }, Wide(round * 100 + i));
            }
        }
    }
}

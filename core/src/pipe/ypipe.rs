//! A lock-free single-producer single-consumer pipe with batched publication.
//!
//! # Algorithm
//!
//! This is libzmq's `ypipe_t` (`src/ypipe.hpp`, Martin Sustrik et al.) over a [`YQueue`], with
//! the sleep protocol changed so that neither side needs a read-modify-write on the message
//! path. The writer appends items privately and publishes all complete ones on
//! [`flush`](Writer::flush) with one store of their end position, `published`; the reader
//! prefetches everything published with one load in [`check_read`](Reader::check_read) and
//! then reads the batch without touching shared state.
//!
//! libzmq makes `published` the sleep flag too: a reader that finds nothing swaps it to null,
//! and the writer publishes with a compare-and-swap that fails when the reader sleeps. That
//! locked instruction waits for the word's cache line, which the reader takes at every batch;
//! it was the writer's costliest instruction (benches/RESULTS.md, "Round two, seventeenth
//! stop"). Here each shared word has one writer:
//!
//! - `published`, the writer's: the end of what is published;
//! - `sleeps`, the reader's: a count of its announcements that it sleeps, odd while the
//!   latest stands, made even when the reader takes it back (it found items after all);
//! - `woken`, the writer's: the last announcement it answered with a wakeup.
//!
//! A flush stores `published`, then loads `sleeps`; it asks the caller to wake the reader
//! (returns false) when that is an announcement it has not answered yet, and records it in
//! `woken`. A reader that finds nothing stores its next announcement, then loads `published`
//! once more. Each side stores one word and then loads the other's: store buffering, where
//! two plain loads can both miss both stores. A SeqCst fence between the store and the load
//! on each side forbids that: whichever fence comes second in their single total order, the
//! load after it sees the other side's store. So a flush that the reader's second look misses
//! sees the announcement and wakes the reader.
//!
//! A wakeup may reach a reader that is awake (it found the items on a look of its own and
//! took its announcement back after the writer had answered it); owners accept that, as
//! libzmq's do. A reader that was woken and finds nothing announces again instead of
//! trusting the answered announcement: the flush that answered it may have been followed by
//! flushes that saw no new announcement and that its look missed.
//!
//! The fence costs the writer about what the compare-and-swap did when the reader holds the
//! line, and less when it does not. Replacing it by a compiler fence, with a process-wide
//! barrier (`membarrier`) on the reader's way to sleep, was measured: throughput rose, but
//! every sleep then cost a system call and an interrupt on every CPU, and an inproc
//! request-reply hop went from about 1 µs to 14 µs (benches/RESULTS.md, "Round two,
//! eighteenth stop"). Not kept.
//!
//! A new pipe starts with the reader asleep (announcement 1), so the first flush always asks
//! for a wakeup: a reader that has never looked at the pipe is woken like one that found it
//! empty.
//!
//! # Invariants
//!
//! In queue order, `front <= prefetched <= published <= flushed == complete_end <= back`.
//! `sleeps` is odd only after the reader found `prefetched == front == published`, and it
//! changes only by the reader's hand.
//!
//! # Testing
//!
//! Unit and stress tests run under miri, also for a 32-bit target (wasm32 is one, and type
//! layouts differ there: a chunk's slots once overlapped its header only on 32 bits), and
//! the wakeup protocol under loom:
//!
//! ```text
//! cargo +nightly miri test -p isomq-core --lib pipe::
//! cargo +nightly miri test -p isomq-core --lib --target i686-unknown-linux-gnu -- pipe:: msg::
//! RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target-loom \
//!     cargo test -p isomq-core --release --lib loom
//! ```

use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr;

use super::hint;
use super::sync::atomic::{fence, AtomicPtr, AtomicUsize, Ordering};
use super::sync::Arc;
use super::yqueue::{YQueue, DEFAULT_CHUNK};

/// Writer-only state.
struct WriterState<T> {
    /// Slot after the last complete item (libzmq's `f`): what the next flush publishes up to.
    complete_end: *mut T,
    /// Slot after the last item published by this writer (libzmq's `w`); equals the last value
    /// the writer stored in `published`.
    flushed: *mut T,
    /// The last announcement to sleep this writer answered with a wakeup (see [`Shared`]).
    woken: usize,
}

/// Reader-only state.
struct ReaderState<T> {
    /// Slot after the last prefetched item (libzmq's `r`): `[front, prefetched)` may be read
    /// without touching `published`.
    prefetched: *mut T,
    /// The reader's latest announcement (see [`Shared`]): odd while it sleeps.
    announced: usize,
    /// The reader pauses within a stream (see [`Reader::pace`]).
    paced: bool,
    /// Paced, and the last look found items while the reader was awake: the next look,
    /// once the reader has read them, waits [`STREAM_PAUSES`] first.
    streaming: bool,
}

/// What both sides look at. Each word has one writer, so neither side needs a
/// read-modify-write (see the module docs).
struct Shared<T> {
    /// The slot after the last published item (libzmq's `c`). Written by the writer.
    published: AtomicPtr<T>,
    /// Counts the reader's announcements: odd while it sleeps, even once it has taken the
    /// latest back. Written by the reader.
    sleeps: AtomicUsize,
    /// The last announcement (odd) the writer answered with a wakeup. Written by the writer.
    woken: AtomicUsize,
}

struct Inner<T, const N: usize> {
    /// The queue, with each side's own state on the cache line of its cursor and the shared
    /// word on a line of neither (`yqueue`'s `YQueue`).
    queue: YQueue<T, N, WriterState<T>, ReaderState<T>, Shared<T>>,
}

// SAFETY: an `Inner` is shared by exactly one `Writer` and one `Reader`. `writer` and the queue's
// writer side are touched only through `&mut Writer`, `reader` and the queue's reader side only
// through `&mut Reader`, and `published`/`spares` are atomics; so the only thing that crosses
// threads is ownership of `T` values (moved from writer to reader, or dropped by whichever side
// drops the `Inner` last). No `&T` is ever reachable from two threads, so `T: Send` suffices.
unsafe impl<T: Send, const N: usize> Send for Inner<T, N> {}
// SAFETY: see the `Send` impl: shared access goes through the two halves' disjoint state.
unsafe impl<T: Send, const N: usize> Sync for Inner<T, N> {}

/// A new pipe: the writing half and the reading half, to be moved to two threads.
#[cfg(test)]
pub(crate) fn channel<T, const N: usize>() -> (Writer<T, N>, Reader<T, N>) {
    channel_with_spares(1)
}

/// A new pipe whose queue keeps up to `spares` empty chunks for reuse (see
/// [`yqueue`](super::yqueue)).
pub(crate) fn channel_with_spares<T, const N: usize>(
    spares: usize,
) -> (Writer<T, N>, Reader<T, N>) {
    let queue = YQueue::<T, N, _, _, _>::with_ends(
        spares,
        WriterState {
            complete_end: ptr::null_mut(),
            flushed: ptr::null_mut(),
            woken: 0,
        },
        // A new reader has announced that it sleeps (see the module docs).
        ReaderState {
            prefetched: ptr::null_mut(),
            announced: 1,
            paced: false,
            streaming: false,
        },
        Shared {
            published: AtomicPtr::new(ptr::null_mut()),
            sleeps: AtomicUsize::new(1),
            woken: AtomicUsize::new(0),
        },
    );
    // SAFETY: nobody else has the queue yet, and no other reference to its states lives.
    unsafe {
        let (back, front) = (queue.back(), queue.front());
        let writer = queue.writer_state();
        writer.complete_end = back;
        writer.flushed = back;
        queue.reader_state().prefetched = front;
        queue.shared().published.store(front, Ordering::Relaxed);
    }
    let inner = Arc::new(Inner { queue });
    let writer = Writer {
        inner: inner.clone(),
        _not_sync: PhantomData,
    };
    let reader = Reader {
        inner,
        _not_sync: PhantomData,
    };
    (writer, reader)
}

/// The writing half of a pipe (default chunk size: libzmq's 256).
pub(crate) struct Writer<T, const N: usize = DEFAULT_CHUNK> {
    inner: Arc<Inner<T, N>>,
    _not_sync: PhantomData<Cell<()>>,
}

/// The reading half of a pipe.
pub(crate) struct Reader<T, const N: usize = DEFAULT_CHUNK> {
    inner: Arc<Inner<T, N>>,
    _not_sync: PhantomData<Cell<()>>,
}

impl<T, const N: usize> Writer<T, N> {
    /// Frees the queue's spare chunks (see `YQueue::release_spares`).
    pub(crate) fn release_spares(&self) {
        self.inner.queue.release_spares();
    }

    #[inline]
    fn state(&mut self) -> &mut WriterState<T> {
        // SAFETY: the writer's state is touched only here, through `&mut self` of the only
        // `Writer`, and no queue method references it.
        unsafe { self.inner.queue.writer_state() }
    }

    #[inline]
    fn shared(&self) -> &Shared<T> {
        self.inner.queue.shared()
    }

    /// Appends `item`, unpublished. `incomplete`: more items of the same unit follow, and none
    /// of the unit is published until its last item is written.
    #[inline]
    pub(crate) fn write(&mut self, item: T, incomplete: bool) {
        // SAFETY: this is the only writer.
        unsafe { self.inner.queue.push(item) };
        if !incomplete {
            // SAFETY: this is the only writer.
            let back = unsafe { self.inner.queue.back() };
            self.state().complete_end = back;
        }
    }

    /// Asks the CPU to fetch the slot the next `write` fills and the words the next `flush`
    /// stores and reads (one line), so that a writer going round many pipes (a PUB's fan-out)
    /// finds them in its cache instead of stalling on each in turn.
    #[inline]
    pub(crate) fn prefetch(&self) {
        // SAFETY: this is the only writer.
        let back = unsafe { self.inner.queue.back() };
        hint::prefetch(back);
        hint::prefetch(&self.inner.queue.shared().published);
    }

    /// Takes back the last item of an incomplete unit; `None` when there is none.
    #[inline]
    pub(crate) fn unwrite(&mut self) -> Option<T> {
        // SAFETY: this is the only writer.
        let back = unsafe { self.inner.queue.back() };
        if self.state().complete_end == back {
            return None;
        }
        // SAFETY: there is an item after `complete_end`, so it is unpublished.
        Some(unsafe { self.inner.queue.unpush() })
    }

    /// Publishes every complete item. Returns false when the reader was asleep: the caller must
    /// then wake it (it will find the items on its next `check_read`).
    #[inline]
    pub(crate) fn flush(&mut self) -> bool {
        if !self.publish() {
            return true;
        }
        // Store-load (see the module docs): either the reader's look after announcing sleep
        // sees the store in `publish`, or the load in `reader_awake` sees the announcement.
        publish_fence();
        self.reader_awake()
    }

    /// The first half of [`flush`](Writer::flush): publishes every complete item, and says
    /// whether there were any. A caller that flushes many pipes (a PUB's fan-out) publishes
    /// in each, then calls [`publish_fence`] once, then [`reader_awake`](Writer::reader_awake)
    /// on each pipe that published: one fence serves them all, as the store-load argument
    /// (module docs) holds for each pipe whose store precedes the fence.
    #[inline]
    pub(crate) fn publish(&mut self) -> bool {
        let WriterState {
            complete_end,
            flushed,
            ..
        } = *self.state();
        if flushed == complete_end {
            return false;
        }
        self.state().flushed = complete_end;
        // Release: the items' writes (and chunk links) happen before the reader's Acquire of
        // the new position.
        self.shared()
            .published
            .store(complete_end, Ordering::Release);
        true
    }

    /// The second half of [`flush`](Writer::flush), after a [`publish_fence`] that follows
    /// [`publish`](Writer::publish): false when the reader announced that it sleeps and no
    /// flush has answered that yet; the caller must then wake it.
    #[inline]
    pub(crate) fn reader_awake(&mut self) -> bool {
        let sleeps = self.shared().sleeps.load(Ordering::Relaxed);
        if sleeps & 1 == 0 || sleeps == self.state().woken {
            // Awake, or asleep with our wakeup for this announcement already under way.
            return true;
        }
        self.state().woken = sleeps;
        // Relaxed: the wakeup the caller sends carries it to the reader.
        self.shared().woken.store(sleeps, Ordering::Relaxed);
        false
    }
}

/// The fence between [`Writer::publish`] and [`Writer::reader_awake`] (a SeqCst fence; see
/// the module docs).
#[inline]
pub(crate) fn publish_fence() {
    fence(Ordering::SeqCst);
}

impl<T, const N: usize> Reader<T, N> {
    /// Frees the queue's spare chunks (see `YQueue::release_spares`).
    pub(crate) fn release_spares(&self) {
        self.inner.queue.release_spares();
    }

    /// Makes the reader pause within a stream: after a look that found new items while it
    /// was awake, its next look (once it has read them) waits [`STREAM_PAUSES`] pause
    /// instructions first. A reader that keeps up with its writer otherwise takes the line
    /// of `published` at every message or two, and the writer's fence waits for that line
    /// at its next flush; pausing lets the writer publish several items per look. For a
    /// reader whose writer runs on another thread and which serves no other pipes while it
    /// pauses (an inproc peer): an I/O thread serving a thousand pipes, or a socket whose
    /// writer is its own inline session, would pay the pause and gain nothing
    /// (benches/RESULTS.md, "Round two, eighteenth stop").
    pub(crate) fn pace(&mut self) {
        self.state().paced = true;
    }

    #[inline]
    fn state(&mut self) -> &mut ReaderState<T> {
        // SAFETY: the reader's state is touched only here, through `&mut self` of the only
        // `Reader`, and no queue method references it.
        unsafe { self.inner.queue.reader_state() }
    }

    #[inline]
    fn front(&self) -> *mut T {
        // SAFETY: the only reader is `self`.
        unsafe { self.inner.queue.front() }
    }

    /// Asks the CPU to fetch the front slot, which the writer's thread wrote last, so that a
    /// reader going round many pipes (a fair queue's round robin) finds the next item in its
    /// cache instead of stalling on each in turn.
    #[inline]
    pub(crate) fn prefetch(&self) {
        // An item may straddle two cache lines (a 48-byte `Msg` does in one slot of four).
        hint::prefetch_all(self.front());
    }

    /// Whether an item is published and not read yet, without going to sleep when there is
    /// none (unlike [`check_read`](Reader::check_read)): one load of the shared word.
    #[inline]
    pub(crate) fn has_unread(&mut self) -> bool {
        let front = self.front();
        if self.state().prefetched != front {
            return true;
        }
        // Acquire, as in `check_read`.
        self.inner.queue.shared().published.load(Ordering::Acquire) != front
    }

    /// Whether an item can be read. When nothing is published, the reader goes to sleep and the
    /// writer's next flush reports it (returns false).
    #[inline]
    pub(crate) fn check_read(&mut self) -> bool {
        let front = self.front();
        if self.state().prefetched != front {
            return true;
        }
        if self.state().streaming {
            // Let the writer add to the batch before we take the line it publishes in.
            for _ in 0..STREAM_PAUSES {
                std::hint::spin_loop();
            }
        }
        // Prefetch everything published with a plain load. Acquire: we read the items up to
        // the position we load, written before the writer's Release. The position cannot go
        // stale under us: only the writer moves it, and only forward.
        let published = self.inner.queue.shared().published.load(Ordering::Acquire);
        if published != front {
            let state = self.state();
            state.streaming = state.paced && state.announced & 1 == 0;
            return self.prefetch_to(published);
        }
        self.state().streaming = false;
        let announced = self.state().announced;
        let asleep = announced & 1 == 1;
        if asleep && self.inner.queue.shared().woken.load(Ordering::Relaxed) != announced {
            // Announced, and no flush has answered yet: the one that does wakes us.
            return false;
        }
        // Nothing new, and awake, or woken (that wakeup may have come before a later flush
        // that found no new announcement, and the look above may miss that flush): announce,
        // then look once more (store-load, see the module docs). A flush whose position
        // this look misses sees the announcement and wakes us.
        let announced = announced.wrapping_add(if asleep { 2 } else { 1 });
        self.state().announced = announced;
        let shared = self.inner.queue.shared();
        shared.sleeps.store(announced, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        let published = shared.published.load(Ordering::Acquire);
        if published != front {
            return self.prefetch_to(published);
        }
        false
    }

    /// Prefetches up to `published`, past the front, and takes back an announcement to
    /// sleep if one stands, so that a later flush does not wake a reader that is awake. A
    /// flush may have answered it already: its wakeup then finds the reader awake, which
    /// owners accept.
    #[inline]
    fn prefetch_to(&mut self, published: *mut T) -> bool {
        let state = self.state();
        state.prefetched = published;
        if state.announced & 1 == 1 {
            state.announced = state.announced.wrapping_add(1);
            let announced = state.announced;
            self.inner
                .queue
                .shared()
                .sleeps
                .store(announced, Ordering::Relaxed);
        }
        true
    }

    /// The next item, without removing it.
    #[inline]
    pub(crate) fn peek(&mut self) -> Option<&T> {
        if !self.check_read() {
            return None;
        }
        // SAFETY: the front item is prefetched (published to us), and stays put while `self`
        // is borrowed.
        Some(unsafe { &*self.front() })
    }

    /// Removes and returns the next item; `None` when nothing is published (the reader is then
    /// asleep).
    #[inline]
    pub(crate) fn read(&mut self) -> Option<T> {
        if !self.check_read() {
            return None;
        }
        // SAFETY: the only reader is `self`, and the front item is prefetched.
        Some(unsafe { self.inner.queue.pop() })
    }

    /// Asks the CPU for the slot [`READ_AHEAD`] items on, if it is readable already: the
    /// writer's thread wrote it, and a reader that comes back to this queue after reading
    /// others (a fair queue's round robin) would otherwise wait for each line in turn.
    #[inline]
    pub(crate) fn prefetch_ahead(&mut self) {
        let limit = self.state().prefetched;
        // SAFETY: the only reader is `self`.
        if let Some(slot) = unsafe { self.inner.queue.front_ahead(READ_AHEAD, limit) } {
            hint::prefetch(slot);
        }
    }

    /// The item `ahead` places after the front, if it is readable already (published and
    /// prefetched by this reader), without removing it.
    #[inline]
    pub(crate) fn peek_ahead(&mut self, ahead: u32) -> Option<&T> {
        let limit = self.state().prefetched;
        // SAFETY: the only reader is `self`.
        let slot = unsafe { self.inner.queue.front_ahead(ahead, limit) }?;
        // SAFETY: the slot is before `prefetched`, so its item is initialised and published
        // to us (the Acquire in `check_read`); the writer no longer touches it, and it stays
        // in the queue while `self` is borrowed.
        Some(unsafe { &*slot })
    }
}

/// How many pause instructions a paced reader waits within a stream ([`Reader::pace`]):
/// about 0.3 µs on the machine measured, where 16 and 32 gave the same throughput.
const STREAM_PAUSES: u32 = 16;

/// How many items ahead of the front [`Reader::prefetch_ahead`] prefetches.
const READ_AHEAD: u32 = 4;

#[cfg(all(test, not(loom)))]
#[allow(clippy::unwrap_used)] // Tests may unwrap (project rules).
mod tests {
    use super::*;

    #[test]
    fn items_come_out_in_order_across_chunks() {
        let (mut w, mut r) = channel::<u32, 3>();
        for i in 0..10 {
            w.write(i, false);
        }
        w.flush();
        let got: Vec<u32> = std::iter::from_fn(|| r.read()).collect();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn nothing_is_readable_before_flush() {
        let (mut w, mut r) = channel::<u32, 4>();
        w.write(1, false);
        assert!(!r.check_read());
        w.flush();
        assert_eq!(r.read(), Some(1));
        assert_eq!(r.read(), None);
    }

    // libzmq ypipe.hpp: "Incomplete items are never flushed down the stream."
    #[test]
    fn incomplete_items_are_not_flushed() {
        let (mut w, mut r) = channel::<u32, 2>();
        w.write(1, true);
        w.write(2, true);
        w.flush();
        assert!(!r.check_read());
        w.write(3, false);
        w.flush();
        assert_eq!([r.read(), r.read(), r.read()], [Some(1), Some(2), Some(3)]);
    }

    #[test]
    fn unwrite_takes_back_only_the_incomplete_tail() {
        let (mut w, mut r) = channel::<String, 2>();
        w.write("a".into(), false);
        // Three incomplete items cross a chunk boundary, which unwrite must step back over.
        for s in ["b", "c", "d"] {
            w.write(s.into(), true);
        }
        assert_eq!(w.unwrite().as_deref(), Some("d"));
        assert_eq!(w.unwrite().as_deref(), Some("c"));
        assert_eq!(w.unwrite().as_deref(), Some("b"));
        assert_eq!(w.unwrite(), None);
        w.write("e".into(), false);
        w.flush();
        assert_eq!(r.read().as_deref(), Some("a"));
        assert_eq!(r.read().as_deref(), Some("e"));
        assert_eq!(r.read(), None);
    }

    // libzmq ypipe.hpp: flush "Returns false if the reader thread is sleeping."
    #[test]
    fn flush_reports_a_sleeping_reader_exactly() {
        let (mut w, mut r) = channel::<u32, 4>();
        // A new reader counts as asleep.
        w.write(1, false);
        assert!(!w.flush());
        // Awake (it has not yet found the pipe empty): no wakeup needed.
        assert_eq!(r.read(), Some(1));
        w.write(2, false);
        assert!(w.flush());
        assert_eq!(r.read(), Some(2));
        // Found empty: asleep, so the next flush asks for a wakeup, once.
        assert_eq!(r.read(), None);
        assert!(w.flush(), "nothing to flush, nothing to report");
        w.write(3, false);
        assert!(!w.flush());
        w.write(4, false);
        assert!(w.flush());
        assert_eq!([r.read(), r.read(), r.read()], [Some(3), Some(4), None]);
    }

    /// A paced reader pauses only within a stream: after a look that found new items while
    /// it was awake. A woken reader (its first look after sleeping) and a reader that found
    /// nothing look again at once, so that a request–reply exchange never waits; an unpaced
    /// reader never pauses.
    #[test]
    fn a_paced_reader_pauses_only_within_a_stream() {
        for paced in [false, true] {
            let (mut w, mut r) = channel::<u32, 8>();
            if paced {
                r.pace();
            }
            w.write(1, false);
            assert!(!w.flush(), "a new reader is asleep");
            assert_eq!(r.read(), Some(1));
            assert!(
                !r.state().streaming,
                "woken: its look found items while asleep"
            );
            w.write(2, false);
            w.flush();
            assert_eq!(r.read(), Some(2));
            assert_eq!(
                r.state().streaming,
                paced,
                "awake, and the look found an item"
            );
            assert_eq!(r.read(), None);
            assert!(!r.state().streaming, "the look found nothing");
        }
    }

    /// A pipe (first chunk 4 slots, then 64) with items `0..n` published and seen by the
    /// reader, and item `n` written but not flushed.
    fn published_then_one_more(n: u32) -> (Writer<u32, 64>, Reader<u32, 64>) {
        let (mut w, mut r) = channel::<u32, 64>();
        for i in 0..n {
            w.write(i, false);
        }
        w.flush();
        w.write(n, false); // written, not flushed
        assert!(r.check_read());
        (w, r)
    }

    /// The read-ahead prefetch names only slots the writer has published: a hint on a slot
    /// still to be written would pull the writer's line away from it.
    #[test]
    fn read_ahead_stays_within_what_is_published() {
        let (_w, mut r) = published_then_one_more(3);
        let limit = r.state().prefetched;
        let front = r.front().cast_const();
        // SAFETY: `r` is the only reader.
        let ahead = |n| unsafe { r.inner.queue.front_ahead(n, limit) };
        assert_eq!(ahead(2), Some(front.wrapping_add(2)));
        assert_eq!(ahead(3), None, "the unflushed item is not readable");
        assert_eq!(ahead(u32::MAX), None);
    }

    /// Looking ahead sees only items published to the reader and in the front's chunk, and
    /// takes nothing out.
    #[test]
    fn peek_ahead_sees_only_published_items() {
        // A first chunk of 4 slots, then chunks of 64.
        let (_w, mut r) = published_then_one_more(10);
        assert_eq!(r.peek_ahead(2), Some(&2));
        // Past the front's chunk: not looked at.
        assert_eq!(r.peek_ahead(4), None);
        for i in 0..5 {
            assert_eq!(r.read(), Some(i));
        }
        assert_eq!(r.peek_ahead(1), Some(&6));
        assert_eq!(r.peek_ahead(4), Some(&9));
        assert_eq!(r.peek_ahead(5), None, "the unflushed item is not readable");
        assert_eq!(r.read(), Some(5), "looking ahead takes nothing out");
    }

    #[test]
    fn peek_does_not_consume() {
        let (mut w, mut r) = channel::<u32, 2>();
        w.write(7, false);
        w.flush();
        assert_eq!(r.peek(), Some(&7));
        assert_eq!(r.read(), Some(7));
        assert_eq!(r.peek(), None);
    }

    #[test]
    fn unread_and_unflushed_items_are_dropped_with_the_pipe() {
        let item = std::rc::Rc::new(());
        {
            // Rc is not Send, which the single-threaded queue does not need.
            let (mut w, mut r) = channel::<std::rc::Rc<()>, 2>();
            for _ in 0..5 {
                w.write(item.clone(), false);
            }
            w.flush();
            drop(r.read());
            w.write(item.clone(), true);
            assert_eq!(std::rc::Rc::strong_count(&item), 6);
        }
        assert_eq!(std::rc::Rc::strong_count(&item), 1);
    }

    // libzmq yqueue.hpp: "holding onto the most recently freed chunk saves us from having to
    // call malloc/free" when both ends move at similar rates.
    #[test]
    fn steady_state_allocates_nothing() {
        let (mut w, mut r) = channel::<u64, 4>();
        let mut cycle = |base: u64| {
            // Three items per round, four slots per chunk: most rounds cross a chunk boundary
            // on both sides, and at most two chunks are ever in use.
            for i in base..base + 3 {
                w.write(i, false);
            }
            w.flush();
            for i in base..base + 3 {
                assert_eq!(r.read(), Some(i));
            }
        };
        // Warm up until both sides have crossed a chunk boundary and the spare is in use.
        for round in 0..4 {
            cycle(round * 3);
        }
        let allocations = crate::test_alloc::allocations_during(|| {
            for round in 4..100 {
                cycle(round * 3);
            }
        });
        assert_eq!(allocations, 0);
    }

    /// Each side writes on every message only a cache line of its own: the writer's cursor
    /// and state on one, the reader's on another, the shared word on neither (a line both
    /// wrote on every message cost inproc 16 B 40 % of its rate, benches/RESULTS.md).
    #[test]
    fn each_end_has_a_cache_line_of_its_own() {
        let (w, _r) = channel::<crate::msg::Msg, DEFAULT_CHUNK>();
        let queue = &w.inner.queue;
        let start = ptr::from_ref(queue) as usize;
        assert_eq!(start % 64, 0, "the queue starts a cache line");
        let lines = queue
            .layout()
            .map(|bytes| bytes.start / 64..(bytes.end - 1) / 64 + 1);
        let [writer, shared, reader] = &lines;
        assert_eq!(writer.len(), 1, "the writer's end spans {writer:?}");
        assert_eq!(reader.len(), 1, "the reader's end spans {reader:?}");
        for (a, b) in [(writer, shared), (writer, reader), (shared, reader)] {
            assert!(a.end <= b.start, "lines {a:?} and {b:?} overlap");
        }
    }

    /// A pipe that carries a message now and then (an idle connection's) holds its small
    /// first chunk, not a full one: 24-byte items, like messages, in a pipe of libzmq's
    /// chunk size (a full chunk alone is 6 KiB).
    #[test]
    fn a_quiet_pipe_stays_small() {
        let bytes = crate::test_alloc::bytes_during(|| {
            let (mut w, mut r) = channel_with_spares::<[u64; 3], DEFAULT_CHUNK>(5);
            for i in 0..3 {
                w.write([i; 3], false);
                w.flush();
                assert_eq!(r.read(), Some([i; 3]));
            }
        });
        assert!(bytes < 1024, "{bytes} bytes for a quiet pipe");
    }

    /// Released spares are freed: the next burst allocates its chunks again.
    #[test]
    fn released_spares_are_allocated_again() {
        let (mut w, mut r) = channel_with_spares::<u64, 4>(5);
        let burst = |w: &mut Writer<u64, 4>, r: &mut Reader<u64, 4>| {
            for i in 0..17 {
                w.write(i, false);
            }
            w.flush();
            for i in 0..17 {
                assert_eq!(r.read(), Some(i));
            }
        };
        burst(&mut w, &mut r);
        r.release_spares();
        w.release_spares();
        let allocations = crate::test_alloc::allocations_during(|| burst(&mut w, &mut r));
        assert!(
            allocations >= 3,
            "{allocations} allocations after the spares went"
        );
    }

    /// A queue that swings between empty and several chunks (a writer running ahead up to its
    /// HWM, then a reader draining it) reuses its chunks when it keeps enough spares, and
    /// allocates again for every chunk with libzmq's single spare.
    #[test]
    fn swinging_queue_reuses_its_spares() {
        fn allocations(spares: usize) -> u64 {
            let (mut w, mut r) = channel_with_spares::<u64, 4>(spares);
            let mut swing = |base: u64| {
                // 17 items: up to six chunks of four slots in use at the peak, five of which
                // the reader then empties.
                for i in base..base + 17 {
                    w.write(i, false);
                }
                w.flush();
                for i in base..base + 17 {
                    assert_eq!(r.read(), Some(i));
                }
            };
            // Warm up across every alignment of the 17 items on the chunks: four rounds after
            // the first, which starts in the queue's small first chunk.
            for round in 0..5 {
                swing(round * 17);
            }
            crate::test_alloc::allocations_during(|| {
                for round in 5..50 {
                    swing(round * 17);
                }
            })
        }
        assert_eq!(allocations(5), 0);
        assert!(allocations(1) > 50);
    }

    /// Writer and reader on two threads, the reader parking until woken as a pipe's owner
    /// would: every item arrives once, in order.
    fn two_thread_stress<const N: usize>(count: u64, spares: usize) {
        let (mut w, mut r) = channel_with_spares::<Box<u64>, N>(spares);
        let reader = std::thread::current();
        let writer = std::thread::spawn(move || {
            for i in 0..count {
                // Units of up to three items, published together.
                let incomplete = i % 3 != 2 && i + 1 != count;
                w.write(Box::new(i), incomplete);
                if (!incomplete && i % 7 == 0 || i + 1 == count) && !w.flush() {
                    reader.unpark();
                }
            }
        });
        let mut next = 0;
        while next < count {
            match r.read() {
                Some(v) => {
                    assert_eq!(*v, next);
                    next += 1;
                }
                None => std::thread::park(),
            }
        }
        writer.join().unwrap();
        assert_eq!(r.read(), None);
    }

    #[test]
    fn two_threads_pass_millions_in_order() {
        let count = if cfg!(miri) { 2_000 } else { 3_000_000 };
        two_thread_stress::<DEFAULT_CHUNK>(count, 1);
    }

    #[test]
    fn two_threads_small_chunks() {
        let count = if cfg!(miri) { 1_000 } else { 1_000_000 };
        two_thread_stress::<2>(count, 1);
    }

    /// The same with several spares: the writer takes them while the reader recycles
    /// chunks into them.
    #[test]
    fn two_threads_small_chunks_several_spares() {
        let count = if cfg!(miri) { 1_000 } else { 1_000_000 };
        two_thread_stress::<2>(count, 4);
    }
}

#[cfg(all(test, loom))]
#[allow(clippy::unwrap_used)] // Tests may unwrap (project rules).
mod loom_tests {
    use super::*;
    use loom::sync::Notify;
    use loom::thread;

    /// The writer wakes a sleeping reader through a loom `Notify` (standing for the owner's
    /// mailbox). A lost wakeup leaves the reader waiting forever, which loom reports as a
    /// deadlock.
    fn transfer(units: &'static [&'static [u32]]) {
        let mut builder = loom::model::Builder::new();
        // Bounded preemptions keep the search finite (as in the pipe's models). With this
        // bound the models still deadlock when either fence is removed, or when a woken
        // reader trusts its answered announcement (each checked).
        if builder.preemption_bound.is_none() {
            builder.preemption_bound = Some(3);
        }
        builder.check(move || {
            let (mut w, mut r) = channel::<u32, 2>();
            let wake = Arc::new(Notify::new());
            let wake2 = wake.clone();
            let t = thread::spawn(move || {
                for unit in units {
                    for (i, v) in unit.iter().enumerate() {
                        w.write(*v, i + 1 < unit.len());
                    }
                    if !w.flush() {
                        wake2.notify();
                    }
                }
            });
            let expected: Vec<u32> = units.iter().flat_map(|u| u.iter().copied()).collect();
            let mut got = Vec::new();
            while got.len() < expected.len() {
                match r.read() {
                    Some(v) => got.push(v),
                    None => wake.wait(),
                }
            }
            assert_eq!(got, expected);
            assert_eq!(r.read(), None);
            t.join().unwrap();
        });
    }

    #[test]
    fn loom_ypipe_single_items_wake_the_reader() {
        transfer(&[&[1], &[2], &[3]]);
    }

    #[test]
    fn loom_ypipe_units_across_chunks() {
        transfer(&[&[1, 2, 3], &[4]]);
    }

    #[test]
    fn loom_ypipe_drop_with_unread_items_on_either_thread() {
        loom::model(|| {
            let (mut w, mut r) = channel::<Box<u32>, 2>();
            let t = thread::spawn(move || {
                for i in 0..3 {
                    w.write(Box::new(i), false);
                    w.flush();
                }
                w.write(Box::new(9), true);
            });
            let _ = r.read();
            drop(r);
            t.join().unwrap();
        });
    }
}

//! Pipes: the lock-free, bidirectional message channels between a socket and its peers.
//!
//! A [`Pipe`] is one end of a pair. Each direction is a [`ypipe`] of frames, written by one end
//! and read by the other, so each end may live on its own thread (a socket on a user thread, a
//! session on an I/O thread) and neither ever locks. An end learns that it can go on (the peer
//! has flushed, the peer has drained below the high-water mark, the peer has gone) through
//! [`PipeEvent`]s, which the peer raises at the end's [`Notify`] only when the end is waiting.
//!
//! # Flow control
//!
//! As in libzmq's `pipe.cpp`, the high-water mark counts whole messages (a frame without MORE
//! ends a message) and is checked at a message's first frame only. The reader publishes how many
//! messages it has read every low-water-mark messages (libzmq's `compute_lwm`), and whenever it
//! finds the pipe empty. A writer that finds the pipe full sets a *waiting* bit in the same
//! atomic word, so the reader's publication (a swap that clears the bit) and the writer's request
//! are ordered by that word alone: whoever comes second sees the other, and exactly one
//! `ActivateWrite` answers each time the writer is refused. In libzmq terms, the reader's
//! `activate_write` command is sent only when the writer is actually waiting.
//!
//! # Termination
//!
//! [`Pipe::terminate`] queues a delimiter behind the end's last message. The peer learns that the
//! end is gone by reading up to it ([`Pipe::is_terminated`]), as in libzmq's termination
//! handshake, or at once from the [`PipeEvent::Terminated`] event (an end that never reads, say
//! PUSH, learns it only so).
//!
//! # Attaching an owner
//!
//! Events raised before an end's owner attaches its [`Notify`] are dropped; an owner that
//! attaches late checks the pipe right after [`Pipe::attach`]. That check and the dropped event
//! race: the peer stores what the event announces and then finds no owner, while the owner
//! stores itself and then looks at the pipe. Without more, both may see the other's old value
//! (store buffering, which the C++ memory model and x86 both allow), and the event is lost for
//! good: the ypipe still believes the reader awake, so no later flush wakes it. A SeqCst fence
//! in `attach` and one in `raise` when it finds no owner close the race, off the per-message
//! path.

pub(crate) mod hint;
mod owner_slot;
mod sync;
mod ypipe;
mod yqueue;

#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(all(test, not(loom)))]
mod tests;

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use crossbeam_utils::CachePadded;

use crate::Msg;
use owner_slot::OwnerSlot;
use sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use sync::Arc;
pub(crate) use ypipe::publish_fence;

/// Frames per chunk of a pipe's queues. Small under loom, to model chunk recycling cheaply.
const CHUNK: usize = if cfg!(loom) { 2 } else { yqueue::DEFAULT_CHUNK };

/// Names a pipe pair; chosen by whoever creates the pair. Both ends carry the same id.
pub type PipeId = u64;

/// What the peer end tells an end's owner, through [`Notify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipeEvent {
    /// The peer flushed messages into a pipe this end had found empty (reader was asleep).
    ActivateRead,
    /// The peer has read enough that this end, which had hit its HWM, may write again.
    ActivateWrite,
    /// The peer terminated its end; its delimiter is queued behind its last message.
    Terminated,
}

/// Receives the events of one pipe end; implemented by the end's owner (a socket, or a
/// session on an I/O thread). Called from the PEER end's thread: must not block, typically
/// posts a command to the owner's mailbox.
///
/// The pipe keeps the `Arc` until both ends are dropped, so it should be a handle to the
/// owner's mailbox rather than the owner itself (which holds the pipe: a cycle would leak).
pub trait Notify: Send + Sync {
    /// Called once per event, from the thread of the end that raised it.
    fn notify(&self, pipe: PipeId, event: PipeEvent);
}

/// How many frames ahead of the front [`Pipe::prefetch_payload_ahead`] fetches a payload; the
/// frames' own slots are fetched further on (`ypipe`'s read-ahead), so that the slot read
/// here is in the cache already.
const PAYLOAD_AHEAD: u32 = 2;
/// Set in [`Flow::state`] while the writer waits for `ActivateWrite`.
const WAITING: u64 = 1 << 63;
/// The message count in [`Flow::state`].
const COUNT: u64 = !WAITING;

/// Flow control of one direction, shared by its writer and its reader.
struct Flow {
    /// The reader's count of whole messages read, as last published (bits 0..63), and
    /// [`WAITING`]. The reader only swaps in a new count, clearing `WAITING`; the writer only sets
    /// `WAITING` (`fetch_or`) and withdraws its own request (`compare_exchange`). All are
    /// read-modify-writes of this one word, so their single modification order decides who
    /// raises `ActivateWrite`, whatever the memory ordering: every access is `Relaxed`, because
    /// the word publishes no other memory (frames travel through the ypipe, chunks through its
    /// spare pointer, events through the owner's mailbox). An `ActivateWrite` dropped because the
    /// writer's owner attaches only now is covered by the fences of `attach` and `raise`.
    state: AtomicU64,
    /// How many messages the reader reads between publications: the writer's low-water mark,
    /// `u64::MAX` when it has no HWM. Written by the writer, loaded by the reader at each
    /// publication; `Relaxed`, as it is a value on its own (a stale one only delays the switch
    /// to the new interval, and the publication on empty keeps the writer live meanwhile).
    lwm: AtomicU64,
}

/// What an end shares with its peer.
struct EndShared {
    /// Receives the events for this end; set at most once, by this end's owner.
    notify: OwnerSlot,
    /// This end has terminated; its delimiter is flushed. Set once, by this end.
    terminated: AtomicBool,
    /// Flow control of the messages this end writes; on its own cache line, away from the
    /// read-mostly fields above.
    flow: CachePadded<Flow>,
}

struct Shared {
    id: PipeId,
    /// Indexed by side: 0 is end `a` of [`Pipe::pair`], 1 is end `b`.
    ends: [EndShared; 2],
}

/// One end of a bidirectional pipe. See the [module docs](self).
pub struct Pipe {
    shared: Arc<Shared>,
    /// This end's index in `shared.ends`; the peer's is `1 - side`.
    side: usize,
    out: ypipe::Writer<Msg, CHUNK>,
    inp: ypipe::Reader<Msg, CHUNK>,

    /// Writer side: max whole messages queued towards the peer; 0 = unlimited.
    hwm: u64,
    /// Whole messages written (frames without MORE), flushed or not.
    written: u64,
    /// The peer's read count, as last loaded from our `Flow`; never ahead of the peer.
    peer_read: u64,
    /// The last frame written had MORE: a message is in progress.
    out_more: bool,
    /// `terminate` has run: the delimiter is written and flushed.
    terminated: bool,

    /// Reader side: whole messages read.
    read: u64,
    /// `read` as last published to the peer's `Flow`.
    published: u64,
    /// The peer's low-water mark, as last loaded.
    lwm: u64,
    /// The peer's delimiter has been read: the peer is gone and everything it wrote was read.
    delimited: bool,

    /// Not `Sync`: every operation that matters takes `&mut self`, and keeping `&self`
    /// operations single-threaded leaves room to add more.
    _not_sync: PhantomData<Cell<()>>,
}

/// libzmq's `compute_lwm` (pipe.cpp), or `u64::MAX` for no HWM. "The pipe can be reactivated
/// only when the number of messages in it drops to LWM", kept well below HWM for big HWMs so
/// the writer is not woken for every few messages.
fn compute_lwm(hwm: u64) -> u64 {
    match hwm {
        0 => u64::MAX,
        h if h > 2 * 1024 => h - 1024,
        h => h.div_ceil(2),
    }
}

/// Empty chunks a direction keeps for reuse: one more than its queue spans when full, so that
/// a queue swinging between empty and HWM allocates nothing (two for an unlimited queue).
/// With only as many as a full queue spans, a queue swinging between LWM and HWM under a
/// loaded scheduler was seen allocating chunks in steady state (benches/tests/alloc.rs,
/// CURVE over tcp: 22 chunk allocations in 10,000 messages, on two loaded cores); one more
/// spare stopped it. It costs at most one chunk per busy pipe direction, and the idle sweep
/// frees the spares of a quiet one.
fn spares_for(hwm: u64) -> usize {
    match usize::try_from(hwm) {
        Ok(0) | Err(_) => 2,
        Ok(h) => h.div_ceil(CHUNK) + 2,
    }
}

impl Pipe {
    /// Two connected ends a and b. hwm_ab: max messages queued from a to b, counted in whole
    /// messages (a multipart message counts once); 0 = unlimited. hwm_ba likewise.
    pub fn pair(id: PipeId, hwm_ab: usize, hwm_ba: usize) -> (Pipe, Pipe) {
        let (hwm_ab, hwm_ba) = (hwm_ab as u64, hwm_ba as u64);
        let end = |hwm| EndShared {
            notify: OwnerSlot::new(),
            terminated: AtomicBool::new(false),
            flow: CachePadded::new(Flow {
                state: AtomicU64::new(0),
                lwm: AtomicU64::new(compute_lwm(hwm)),
            }),
        };
        let shared = Arc::new(Shared {
            id,
            ends: [end(hwm_ab), end(hwm_ba)],
        });
        let (ab_out, ab_in) = ypipe::channel_with_spares(spares_for(hwm_ab));
        let (ba_out, ba_in) = ypipe::channel_with_spares(spares_for(hwm_ba));
        let a = Pipe::end(shared.clone(), 0, ab_out, ba_in, hwm_ab, hwm_ba);
        let b = Pipe::end(shared, 1, ba_out, ab_in, hwm_ba, hwm_ab);
        (a, b)
    }

    fn end(
        shared: Arc<Shared>,
        side: usize,
        out: ypipe::Writer<Msg, CHUNK>,
        inp: ypipe::Reader<Msg, CHUNK>,
        hwm: u64,
        peer_hwm: u64,
    ) -> Pipe {
        Pipe {
            shared,
            side,
            out,
            inp,
            hwm,
            written: 0,
            peer_read: 0,
            out_more: false,
            terminated: false,
            read: 0,
            published: 0,
            lwm: compute_lwm(peer_hwm),
            delimited: false,
            _not_sync: PhantomData,
        }
    }

    /// The id given to [`Pipe::pair`].
    pub fn id(&self) -> PipeId {
        self.shared.id
    }

    /// Frees the empty chunks both directions keep for reuse after a burst: for a pipe gone
    /// quiet (they come back, one allocation each, with the next burst). Safe while the peer
    /// end reads and writes.
    pub fn shrink_idle(&self) {
        self.out.release_spares();
        self.inp.release_spares();
    }

    /// Sets who receives this end's events (which the peer end raises). Until it is set,
    /// events for this end are dropped, so an owner that attaches late must call
    /// check_read/check_write (or read/write) right after attaching: those see whatever a
    /// dropped event announced. Only the first call has an effect.
    pub fn attach(&self, notify: std::sync::Arc<dyn Notify>) {
        // A second owner is a caller bug with no good answer; the first one keeps the pipe.
        self.shared.ends[self.side].notify.set(notify);
        // SeqCst, paired with the fence in `raise` (see there): whatever event the peer dropped
        // for want of an owner, our next check sees what it announced.
        fence(Ordering::SeqCst);
    }

    /// Whether a frame can be read now. false: nothing readable (the peer sends ActivateRead
    /// after its next flush), or the peer terminated and everything was read.
    pub fn check_read(&mut self) -> bool {
        if self.delimited {
            return false;
        }
        match self.inp.peek().map(Msg::is_delimiter) {
            Some(false) => true,
            Some(true) => {
                let _delimiter = self.inp.read();
                self.delimited = true;
                false
            }
            None => {
                // Empty: the ypipe reader is now asleep. Publish what was read, so that a writer
                // waiting for us is released even when it is short of a low-water-mark batch.
                self.publish_read();
                false
            }
        }
    }

    /// The next frame. None when empty (ActivateRead will follow a later flush) or when the
    /// peer terminated and all its frames were read (then is_terminated() is true).
    pub fn read(&mut self) -> Option<Msg> {
        if !self.check_read() {
            return None;
        }
        let msg = self.inp.read()?;
        if !msg.more() {
            self.read += 1;
            if self.read - self.published >= self.lwm {
                self.publish_read();
            }
        }
        Some(msg)
    }

    /// Tells the peer's writer how much we have read, and wakes it if it waits for that.
    fn publish_read(&mut self) {
        if self.read == self.published {
            return;
        }
        self.published = self.read;
        let peer = 1 - self.side;
        let flow = &self.shared.ends[peer].flow;
        self.lwm = flow.lwm.load(Ordering::Relaxed);
        // A swap, not a store: a store could erase a WAITING bit set after we looked at it.
        // Relaxed: see `Flow::state`.
        let prev = flow.state.swap(self.read & COUNT, Ordering::Relaxed);
        if prev & WAITING != 0 {
            self.raise(peer, PipeEvent::ActivateWrite);
        }
    }

    /// Whether another message may be written under the HWM. false: the peer will send
    /// ActivateWrite once it has read down to the low-water mark.
    ///
    /// Also false after [`terminate`](Pipe::terminate) or once the peer has terminated (then no
    /// ActivateWrite follows; the peer raised Terminated). Finding the pipe full flushes it, so
    /// that the peer can drain it even if the owner forgot to.
    pub fn check_write(&mut self) -> bool {
        if self.terminated || self.peer_terminated() {
            return false;
        }
        self.out_more || !self.full()
    }

    /// Whether the HWM forbids a new message. When it does, asks the reader for an ActivateWrite
    /// (exactly one answers any number of refusals).
    #[inline]
    fn full(&mut self) -> bool {
        if self.hwm == 0 || self.queued() < self.hwm {
            return false;
        }
        self.full_at_hwm()
    }

    /// [`full`](Pipe::full) once the count known to the writer reaches the HWM: the
    /// reader's latest count, then a request for `ActivateWrite`. Out of line: a writer
    /// reaches it about once per low-water-mark batch, and the test above runs per message.
    #[inline(never)]
    fn full_at_hwm(&mut self) -> bool {
        let flow = &self.shared.ends[self.side].flow;
        // Relaxed: see `Flow::state`.
        self.peer_read = flow.state.load(Ordering::Relaxed) & COUNT;
        if self.queued() < self.hwm {
            return false;
        }
        // The reader can only drain what is published.
        self.flush();
        let flow = &self.shared.ends[self.side].flow;
        let prev = flow.state.fetch_or(WAITING, Ordering::Relaxed);
        self.peer_read = prev & COUNT;
        if self.queued() < self.hwm && prev & WAITING == 0 {
            // The reader published between our load and our request: withdraw it, unless a
            // newer publication has already claimed it and is raising ActivateWrite, which
            // must then answer a refusal.
            if flow
                .state
                .compare_exchange(prev | WAITING, prev, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                return false;
            }
        }
        // Full, or a request made by an earlier refusal is pending (the HWM was raised since):
        // stay refused until its ActivateWrite, which the reader raises at its next publication.
        true
    }

    /// Whole messages written and not yet known to be read.
    fn queued(&self) -> u64 {
        // Wrapping: the counts would wrap only after 2^63 messages, and the difference is small.
        self.written.wrapping_sub(self.peer_read) & COUNT
    }

    /// Queues the peer's routing id (its ZMTP `Identity`, possibly empty) as the pipe's next
    /// message, for a ROUTER on the reading end: a ROUTER learns who is connected in-band,
    /// ahead of the peer's data, as libzmq's sessions do; other socket types skip it. Err
    /// gives the message back when the pipe is full, to be written once there is room.
    pub fn write_routing_id(&mut self, id: &[u8]) -> Result<(), Msg> {
        self.write(Msg::routing_id(id))
    }

    /// Queues a frame (visible to the reader after flush). Err(msg) when the HWM is reached at
    /// the first frame of a message, or after terminate(), or when the peer has terminated.
    /// Frames after the first of a multipart message are always accepted.
    ///
    /// A refusal at the HWM is answered by ActivateWrite, as for [`check_write`](Pipe::check_write).
    pub fn write(&mut self, msg: Msg) -> Result<(), Msg> {
        if self.terminated || self.peer_terminated() || (!self.out_more && self.full()) {
            return Err(msg);
        }
        let more = msg.more();
        self.out.write(msg, more);
        self.out_more = more;
        if !more {
            self.written += 1;
        }
        Ok(())
    }

    /// Asks the CPU to fetch the next frame to read (see `ypipe`).
    #[inline]
    pub(crate) fn prefetch_read(&self) {
        self.inp.prefetch();
    }

    /// Asks the CPU to fetch a frame a few places after the next one, if written already
    /// (see `ypipe`).
    #[inline]
    pub(crate) fn prefetch_read_ahead(&mut self) {
        self.inp.prefetch_ahead();
    }

    /// Asks the CPU to fetch the payload of a frame a few places on, if written already:
    /// a thread that copies pooled payloads (a session encoding them) would otherwise wait
    /// for each payload's lines from the writer's core in turn.
    #[inline]
    pub(crate) fn prefetch_payload_ahead(&mut self) {
        self.inp.prefetch_ahead();
        if let Some(m) = self.inp.peek_ahead(PAYLOAD_AHEAD) {
            m.prefetch_payload();
        }
    }

    /// Asks the CPU to fetch what the next `write` and `flush` touch (see `ypipe`).
    #[inline]
    pub(crate) fn prefetch_write(&self) {
        self.out.prefetch();
    }

    /// Drops the frames of an incomplete (not yet ended, unflushed) multipart message.
    pub fn rollback(&mut self) {
        while self.out.unwrite().is_some() {}
        self.out_more = false;
    }

    /// Publishes all complete written messages; raises ActivateRead at the peer's owner if
    /// the peer's reader was asleep.
    pub fn flush(&mut self) {
        if !self.out.flush() {
            self.raise(1 - self.side, PipeEvent::ActivateRead);
        }
    }

    /// Makes this end's reads pause within a stream, for an end whose peer writes from
    /// another thread and whose owner serves nothing else meanwhile (an inproc peer; see
    /// `ypipe::Reader::pace`).
    pub(crate) fn pace_reads(&mut self) {
        self.inp.pace();
    }

    /// The first half of [`flush`](Pipe::flush), for a writer that flushes many pipes at
    /// once: publishes all complete written messages and says whether there were any. Each
    /// pipe that returns true needs [`publish_fence`] and then
    /// [`wake_reader`](Pipe::wake_reader), and one fence may serve many pipes.
    #[inline]
    pub(crate) fn publish(&mut self) -> bool {
        self.out.publish()
    }

    /// The second half of [`flush`](Pipe::flush), after [`publish`](Pipe::publish) and a
    /// [`publish_fence`]: raises ActivateRead at the peer's owner if the peer's reader was
    /// asleep.
    #[inline]
    pub(crate) fn wake_reader(&mut self) {
        if !self.out.reader_awake() {
            self.raise(1 - self.side, PipeEvent::ActivateRead);
        }
    }

    /// Ends this end: no more writes; queues the delimiter behind everything written
    /// (rolling back an incomplete message), flushes, raises Terminated at the peer's owner.
    /// Idempotent. Drop calls it.
    pub fn terminate(&mut self) {
        if self.terminated {
            return;
        }
        self.terminated = true;
        self.rollback();
        self.out.write(Msg::delimiter(), false);
        self.flush();
        // Release, paired with the Acquire in `peer_terminated`: a peer that sees the flag also
        // sees the flushed delimiter, so it can drain to it without waiting for an event.
        self.shared.ends[self.side]
            .terminated
            .store(true, Ordering::Release);
        self.raise(1 - self.side, PipeEvent::Terminated);
    }

    /// Whether the peer wrote something this end has not read yet (its termination
    /// included), with no effect on the pipe: no sleep, no wake-up asked for.
    pub fn has_unread(&mut self) -> bool {
        !self.delimited && self.inp.has_unread()
    }

    /// The peer terminated and this end has read everything it wrote (delimiter reached).
    pub fn is_terminated(&self) -> bool {
        self.delimited
    }

    /// The peer has terminated (its unread messages may still be queued for us).
    pub fn peer_terminated(&self) -> bool {
        // Acquire: see `terminate`.
        self.delimited
            || self.shared.ends[1 - self.side]
                .terminated
                .load(Ordering::Acquire)
    }

    /// Changes the HWM for messages written by this end (inproc adjusts it at bind time).
    ///
    /// The reader switches to the new low-water mark at its next publication.
    pub fn set_out_hwm(&mut self, hwm: usize) {
        self.hwm = hwm as u64;
        // Relaxed: see `Flow::lwm`.
        self.shared.ends[self.side]
            .flow
            .lwm
            .store(compute_lwm(self.hwm), Ordering::Relaxed);
    }

    /// Raises `event` at the owner of end `side`, if it has attached. Nothing is held here.
    ///
    /// Each caller has just changed what the event announces (the ypipe's `published`, the
    /// flow word, the `terminated` flag). An event dropped for want of an owner is safe only if
    /// the owner, attaching meanwhile, then sees that change: this is store buffering (we store
    /// the change and load the slot, the owner stores the slot and loads the change), where
    /// Release/Acquire, and even x86's store buffer, let both loads miss both stores: the event
    /// is dropped and the owner's check after attaching finds nothing (a reader asleep forever
    /// behind a flushed message, a writer refused forever by a drained pipe). A SeqCst fence on
    /// each side between its store and its load forbids that: whichever fence comes second in
    /// their single total order, the load after it sees the other side's store. The fence costs
    /// nothing once the owner is known: an attached owner stays attached.
    fn raise(&self, side: usize, event: PipeEvent) {
        let slot = &self.shared.ends[side].notify;
        let notify = slot.get().or_else(|| {
            fence(Ordering::SeqCst);
            slot.get()
        });
        if let Some(notify) = notify {
            notify.notify(self.shared.id, event);
        }
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        self.terminate();
    }
}

impl fmt::Debug for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipe")
            .field("id", &self.shared.id)
            .field("side", &["a", "b"][self.side])
            .field("hwm", &self.hwm)
            .field("written", &self.written)
            .field("read", &self.read)
            .field("terminated", &self.terminated)
            .field("peer_terminated", &self.peer_terminated())
            .field("delimited", &self.delimited)
            .finish_non_exhaustive()
    }
}

//! What the objects of an I/O thread (its sessions) may use while being driven: the
//! thread's clock, its timers, id allocation, pipe notifiers that post to the thread, and
//! the list of objects to drive again (docs/architecture.md §5.1).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use isomq_core::Notify;

use super::command::IoCommand;
use super::mailbox::IoNotify;
use crate::doorbell::Doorbell;
use crate::queue::QueueTx;

/// Sessions that may have to be driven again in one iteration before the lists grow (they
/// never shrink): allocated up front, so that the first busy moment does not allocate.
pub(super) const AGAIN_CAPACITY: usize = 16;

/// How long a session whose buffers grew with traffic stays quiet before they shrink back:
/// between one and two of these. Long enough that a connection held up by back-pressure for
/// a moment keeps its buffers; a quiet connection costs what a new one does after that.
pub(super) const IDLE_SWEEP: Duration = Duration::from_secs(5);

/// What objects on this thread may use while being driven.
#[derive(Debug)]
pub(crate) struct Services {
    tx: QueueTx<IoCommand>,
    waker: Arc<Doorbell>,
    /// (when, slot, object id), earliest first: the object looks at its own deadlines when
    /// it fires. An ordered set rather than a heap so that an object's timer goes when the
    /// object does (or moves its deadline): the set holds at most one timer per live
    /// object, and its memory follows the number of objects, not the connection rate.
    pub(super) timers: BTreeSet<(Instant, usize, u64)>,
    ids: Arc<AtomicU64>,
    /// Slots that stopped early to let others run and must be driven again.
    pub(super) again: Vec<usize>,
    /// The time at the top of this loop iteration.
    pub(crate) now: Instant,
    /// The origin of [`Services::clock`].
    epoch: Instant,
    /// Sessions whose buffers grew with traffic (slot, id), for the next sweep to shrink
    /// those that stayed quiet (see `Reactor::sweep_idle`).
    pub(super) grown: Vec<(usize, u64)>,
    /// When the next sweep is due; none while `grown` is empty.
    pub(super) sweep_at: Option<Instant>,
    /// The time between sweeps: [`IDLE_SWEEP`], shorter in tests.
    pub(super) idle_sweep: Duration,
    /// For a socket's own reactor (inline I/O): set when the socket's pipe posted a
    /// command without ringing (see [`Services::notify_socket_pipe`]).
    pub(super) local: Option<Arc<AtomicBool>>,
    /// Sessions with output waiting to go to their peer, counted by the sessions
    /// (`Session::track_output`): while any do, an inline socket's helper turns the loop.
    pub(crate) waiting_output: usize,
    /// Whether the sessions' readiness is as fresh as a read would make it when they take
    /// the first output after a pause: whatever arrived before a message was sent was seen
    /// by a poll of this loop before the message is driven. So on a socket's own reactor
    /// turned by the socket's thread, which polls after its sends or just before one
    /// (`InlineHost::before_send`); not on an I/O thread, nor in the inline helper's turns,
    /// during which the socket's thread may send. Without it, a session reads before that
    /// output (`Session::pump_once`).
    pub(crate) polled_after_send: bool,
}

impl Services {
    pub(super) fn new(
        tx: QueueTx<IoCommand>,
        waker: Arc<Doorbell>,
        ids: Arc<AtomicU64>,
    ) -> Services {
        Services {
            tx,
            waker,
            timers: BTreeSet::new(),
            ids,
            again: Vec::with_capacity(AGAIN_CAPACITY),
            now: Instant::now(),
            epoch: Instant::now(),
            grown: Vec::new(),
            sweep_at: None,
            idle_sweep: IDLE_SWEEP,
            local: None,
            waiting_output: 0,
            polled_after_send: false,
        }
    }

    /// Whether this loop is a socket's own (inline I/O), turned by the socket's thread.
    pub(crate) fn is_inline(&self) -> bool {
        self.local.is_some()
    }

    /// The notifier for a pipe whose other end is on another thread (a ZAP request's).
    pub(crate) fn notify(&self, slot: usize) -> Arc<dyn Notify> {
        Arc::new(IoNotify::new(
            self.tx.clone(),
            self.waker.clone(),
            slot,
            None,
        ))
    }

    /// The notifier for a session's pipe to its socket. On a socket's own reactor the
    /// socket's end is used only on the thread that turns the reactor, which is then not
    /// in its poll: the command needs no doorbell, only the flag the socket looks at
    /// before it turns (docs/architecture.md §5.5).
    pub(crate) fn notify_socket_pipe(&self, slot: usize) -> Arc<dyn Notify> {
        Arc::new(IoNotify::new(
            self.tx.clone(),
            self.waker.clone(),
            slot,
            self.local.clone(),
        ))
    }

    /// A context-wide unique id, for pipes and objects alike.
    pub(crate) fn next_id(&self) -> u64 {
        // Relaxed: ids only need to be unique, not ordered with anything else.
        self.ids.fetch_add(1, Ordering::Relaxed)
    }

    /// Wakes the object `id` in `slot` at `at` on [`Services::clock`]'s scale.
    pub(crate) fn add_timer(&mut self, at: Duration, slot: usize, id: u64) {
        self.timers.insert((self.epoch + at, slot, id));
    }

    /// Removes a timer set with [`Services::add_timer`], if it has not fired.
    pub(crate) fn cancel_timer(&mut self, at: Duration, slot: usize, id: u64) {
        self.timers.remove(&(self.epoch + at, slot, id));
    }

    /// The time at the top of this loop iteration, as a duration since the thread started:
    /// the clock the core's sans-IO state machines take.
    pub(crate) fn clock(&self) -> Duration {
        self.now.saturating_duration_since(self.epoch)
    }

    /// Has the session `id` in `slot` looked at by the sweeps until it has been quiet.
    pub(crate) fn watch_idle(&mut self, slot: usize, id: u64) {
        self.grown.push((slot, id));
        if self.sweep_at.is_none() {
            self.sweep_at = Some(self.now + self.idle_sweep);
        }
    }

    pub(crate) fn drive_again(&mut self, slot: usize) {
        self.again.push(slot);
    }
}

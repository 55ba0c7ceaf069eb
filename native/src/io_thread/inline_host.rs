//! The host of a socket's own reactor (docs/architecture.md §5.5): the lock the socket's
//! calls take, and the helper thread that turns the reactor between them, writing held and
//! queued output and keeping an idle socket's connections going.

use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, TryLockError, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use super::burst::{BURST_GAP, HOLD_MAX};
use super::command::IoCommand;
use super::inline::InlineIo;
use super::mailbox::Mailbox;
use super::stamp::{SendStart, Stamp};
use crate::doorbell::Doorbell;
use crate::stats::IoStats;
use crate::sync::lock;

/// Time after which a socket that made no call has its connections turned by its helper
/// thread (see [`InlineHost`]): accepts, handshakes, heartbeats and reconnects go on while
/// the application does other work, at most this late.
const IDLE: Duration = Duration::from_millis(10);

/// How long the helper waits before it looks again at connections that have something
/// while the socket makes calls (see [`serve_connections`]): [`LOOK_FIRST`] at first,
/// twice as long at each look that finds the socket still making calls, up to [`LOOK`].
const LOOK: Duration = Duration::from_millis(1);

/// See [`LOOK`]. A socket whose application makes the odd call (a server that polls now
/// and then) has a connection accepted and handshaken this late after its last call, not
/// [`LOOK`] late: `churn --cycles 3000` took 4.6 s inline with a fixed [`LOOK`], 2.1–2.3 s
/// with this, 1.1–1.7 s with I/O threads (benches/RESULTS.md, "fifteenth stop").
const LOOK_FIRST: Duration = Duration::from_micros(50);

/// The longest the helper sleeps between looks at a socket that holds sends and goes on
/// sending (see [`write_output`]): how late the last burst of a stream can be written when
/// the socket then makes no call at all.
const WATCH_MAX: Duration = Duration::from_micros(320);

/// Calls of the socket between two of its waits from which it is taken to be streaming
/// (see [`InlineIo::wait`]): a request and its reply make two.
const STREAM_CALLS: u64 = 16;

/// What the socket and its helper thread share.
struct Shared {
    io: Mutex<InlineIo>,
    /// The socket's thread wants the reactor: the helper lets go of it and parks.
    wanted: AtomicBool,
    /// The socket's calls so far: unchanged over [`IDLE`], the socket is idle.
    calls: AtomicU64,
    /// Until when the socket's next send is part of its last one's burst
    /// ([`Stamp::as_nanos`]; the socket's thread stores it, at each frame's start and after
    /// each send, `InlineIo::after_send`): such a send needs no poll first (see
    /// [`InlineHost::before_send`]), and while sends come that close, the socket writes
    /// its own held sends (each send checks how old they are), and the helper leaves the
    /// reactor alone.
    burst_until: AtomicU64,
    /// An async task waits on the socket: the helper turns its reactor from now until the
    /// socket's next call, without waiting for [`IDLE`] to pass.
    eager: AtomicBool,
    /// The socket's readiness fd (a poll over its reactor's) was handed out: an event loop
    /// outside waits on it and calls the socket when it fires, and those calls do the
    /// socket's I/O, so the helper no longer turns the reactor for an idle socket (it
    /// would take the reactor from those calls).
    external: AtomicBool,
    /// Output waited (held or queued) when a call of the socket returned: the helper
    /// writes it until none does. Set by the socket, cleared by the helper, under the lock.
    active: AtomicBool,
    /// The helper may be blocked in the reactor's poll: a socket that wants the reactor
    /// rings the doorbell. Paired with `wanted` (each stores its own, then loads the other).
    polling: AtomicBool,
    stop: AtomicBool,
    /// The helper waits for the reactor's poll descriptor to become readable (see
    /// [`watch_connections`]): waking it takes a ring of `wake`, not an unpark.
    watching: AtomicBool,
    /// The reactor's poll descriptor, open as long as the reactor.
    poll_fd: RawFd,
    /// Wakes the helper from [`watch_connections`]: a doorbell of its own and the reading
    /// end it watches (`None` if the system gave no socket pair: the helper then sleeps as
    /// before, without watching). Not the reactor's doorbell: a turn of the socket's own
    /// can take that wake-up before the helper's poll sees it, and the helper then slept
    /// on with output to write.
    wake: Option<(Doorbell, UnixStream)>,
    /// Rings the reactor's doorbell, to end the helper's poll.
    bell: Mailbox,
}

impl Shared {
    /// Until when a send is part of the socket's burst (see `burst_until`).
    fn burst_until(&self) -> Stamp {
        Stamp::from_nanos(self.burst_until.load(Ordering::Relaxed))
    }

    /// Stores it; only the socket's thread does.
    fn set_burst_until(&self, at: Stamp) {
        self.burst_until.store(at.as_nanos(), Ordering::Relaxed);
    }

    /// Ends the helper's [`watch_connections`].
    fn wake_watcher(&self) {
        if let Some((bell, _)) = &self.wake {
            // A failed write leaves the helper to wake at the end of its wait, as before
            // it watched.
            let _ = bell.ring();
        }
    }

    /// Whether the socket has work for the helper other than its connections (output to
    /// write, an async task waiting), or is closing: the helper's connection watch gives
    /// way to it.
    fn helper_called(&self) -> bool {
        self.active.load(Ordering::SeqCst)
            || self.eager.load(Ordering::SeqCst)
            || self.stop.load(Ordering::SeqCst)
    }
}

/// A socket's own reactor, and the helper thread that turns it while the socket is outside
/// its calls (docs/architecture.md §5.5):
/// - it writes output: sends a burst holds (see [`InlineIo::after_send`]), and messages a
///   send could not hand to the kernel (or queued before the handshake completed), which
///   would otherwise wait for the socket's next call;
/// - once the socket has made no call for [`IDLE`], it turns the reactor until the socket
///   makes one: connections accept, handshake, heartbeat and reconnect as with an I/O
///   thread while the application does other work.
///
/// On the message path the socket's thread only takes an uncontended lock and counts the
/// call; the first call after an idle time takes the reactor back from the helper's poll.
pub(crate) struct InlineHost {
    shared: Arc<Shared>,
    /// The socket's call count at its last wait (see [`InlineHost::wait`]).
    calls_at_wait: u64,
    helper: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for InlineHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineHost").finish_non_exhaustive()
    }
}

impl InlineHost {
    /// The host of `io`, with its helper thread (without one if the system refuses a
    /// thread: output then waits for the socket's calls).
    pub(crate) fn new(io: InlineIo) -> InlineHost {
        let bell = io.mailbox();
        let poll_fd = io.poll_fd();
        let shared = Arc::new(Shared {
            io: Mutex::new(io),
            wanted: AtomicBool::new(false),
            calls: AtomicU64::new(0),
            burst_until: AtomicU64::new(Stamp::now().as_nanos()),
            eager: AtomicBool::new(false),
            external: AtomicBool::new(false),
            active: AtomicBool::new(false),
            polling: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            watching: AtomicBool::new(false),
            poll_fd,
            wake: Doorbell::pair().ok(),
            bell,
        });
        let for_helper = shared.clone();
        let helper = std::thread::Builder::new()
            .name("isomq-inline".to_owned())
            .spawn(move || helper(&for_helper))
            .ok();
        InlineHost {
            shared,
            calls_at_wait: 0,
            helper,
        }
    }

    /// A handle through which another thread counts this reactor's live objects
    /// (`Context::stats`), which stops answering once the socket is closed.
    pub(crate) fn probe(&self) -> InlineProbe {
        InlineProbe(Arc::downgrade(&self.shared))
    }

    /// Runs `f` on the reactor from the socket's thread, taking it back from the helper
    /// if it has it; afterwards wakes the helper when output waits.
    pub(crate) fn with<R>(&mut self, f: impl FnOnce(&mut InlineIo) -> R) -> R {
        let shared = &self.shared;
        count(&shared.calls);
        let (mut io, contended) = match shared.io.try_lock() {
            Ok(io) => (io, false),
            Err(TryLockError::Poisoned(p)) => (p.into_inner(), false),
            Err(TryLockError::WouldBlock) => {
                // The helper has it: ask it to let go, waking it if it is in the poll.
                shared.wanted.store(true, Ordering::SeqCst);
                if shared.polling.load(Ordering::SeqCst) {
                    shared.bell.ring();
                }
                let io = lock(&shared.io);
                shared.wanted.store(false, Ordering::SeqCst);
                (io, true)
            }
        };
        let result = f(&mut io);
        let waits = io.output_waits();
        let start = if contended {
            // The helper parked for us: it goes on only if woken.
            shared.active.store(waits, Ordering::SeqCst);
            waits
        } else {
            // Otherwise only the helper clears `active`, when it finds nothing to write: a
            // burst of sends wakes it once, not once per write. The load first spares a
            // locked swap per send while the helper is already on it.
            waits
                && !shared.active.load(Ordering::SeqCst)
                && !shared.active.swap(true, Ordering::SeqCst)
        };
        drop(io);
        if start {
            self.start_helper();
        }
        result
    }

    /// The socket's readiness fd (see [`InlineIo::readiness_fd`]); from now on an idle
    /// socket's reactor waits for the event loop that watches it.
    pub(crate) fn readiness_fd(&mut self) -> std::io::Result<RawFd> {
        self.shared.external.store(true, Ordering::SeqCst);
        self.with(InlineIo::readiness_fd)
    }

    /// Before a send that comes after a pause (it will be written at once, see
    /// [`InlineIo::after_send`]): a turn without waiting, so that what the connections
    /// have is handled before the message reaches a session's pipe. A connection its peer
    /// closed (or whose peer sent its WebSocket close) is then seen closed before the
    /// session takes the message, which waits for the next connection instead of being
    /// written into this one and lost, as with an I/O thread that saw the close when it
    /// came. Returns when the send began and whether it turned; the time is the send's
    /// only reading of the clock (a tenth of an inline send's cost on a virtual machine's
    /// clock: benches/RESULTS.md, "twelfth stop").
    pub(crate) fn before_send(&mut self) -> SendStart {
        let at = Stamp::now();
        let until = self.shared.burst_until();
        let polled = at >= until;
        if polled {
            self.with(|io| io.turn(Some(Duration::ZERO)));
        }
        // The helper sees a send under way.
        self.shared.set_burst_until(until.max(at.after(BURST_GAP)));
        SendStart { at, polled }
    }

    /// The socket waits for its connections, up to `timeout` (see [`InlineIo::wait`]): it
    /// is streaming when it made [`STREAM_CALLS`] calls or more since its last wait.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) {
        let calls = self.shared.calls.load(Ordering::Relaxed);
        let streaming = calls.wrapping_sub(self.calls_at_wait) >= STREAM_CALLS;
        self.calls_at_wait = calls;
        self.with(|io| io.wait(timeout, streaming));
    }

    /// Counts a call of the socket that does not need the reactor (a receive from its
    /// queue): a socket busy with its queues is not idle, and the helper must not take its
    /// connections (it would read and decode on its own thread, in turns with the socket).
    pub(crate) fn note_call(&self) {
        count(&self.shared.calls);
    }

    /// After an accepted send: [`InlineIo::after_send`], then its time told to the helper
    /// (see [`write_output`]).
    pub(crate) fn after_send(&mut self, size: usize, start: SendStart) {
        let until = self.with(|io| io.after_send(size, start));
        self.shared.set_burst_until(until);
    }

    /// An async task waits for the socket (its waker is registered with the socket's
    /// signal): the helper turns the reactor at once, until the socket's next call, so
    /// that what the connections bring wakes the task.
    pub(crate) fn watch_now(&self) {
        self.shared.eager.store(true, Ordering::SeqCst);
        self.start_helper();
    }

    fn start_helper(&self) {
        if let Some(helper) = &self.helper {
            helper.thread().unpark();
            // Paired with the helper's store of `watching` and load of `active` and
            // `eager` (see `watch_connections`): one of them sees the other.
            if self.shared.watching.load(Ordering::SeqCst) {
                self.shared.wake_watcher();
            }
        }
    }

    /// The socket is closing: the helper ends, and the reactor finishes as
    /// [`InlineIo::finish`] says.
    pub(crate) fn finish(mut self) -> Option<JoinHandle<()>> {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.bell.ring();
        self.shared.wake_watcher();
        if let Some(helper) = self.helper.take() {
            helper.thread().unpark();
            let _ = helper.join();
        }
        // A probe may hold the state for a moment (`InlineProbe::stats`): wait it out,
        // since what is queued must reach the lingering thread.
        let mut shared = self.shared;
        let shared = loop {
            match Arc::try_unwrap(shared) {
                Ok(s) => break s,
                Err(still_shared) => {
                    shared = still_shared;
                    std::thread::yield_now();
                }
            }
        };
        let io = shared.io.into_inner().unwrap_or_else(|p| p.into_inner());
        io.finish()
    }
}

/// Another thread's view of a socket's own reactor: counts its live objects for
/// `Context::stats` without waiting on the socket's thread, which may hold the reactor
/// in a long blocking call.
#[derive(Clone, Debug)]
pub(crate) struct InlineProbe(Weak<Shared>);

/// How long [`InlineProbe::stats`] waits for a turn to answer before it tries the
/// reactor's lock again.
const PROBE_RETRY: Duration = Duration::from_millis(1);

impl InlineProbe {
    /// The reactor's live objects; `None` once its socket is closed (what a closed socket
    /// still delivers within LINGER is not counted).
    ///
    /// A reactor no one turns is counted at once, under its lock. One that is being
    /// turned (by the socket, perhaps blocked in a long receive, or by the helper) gets a
    /// command that rings its doorbell, so the turn answers it; the probe tries the lock
    /// again every millisecond in case the holder was in a short call that left the
    /// command for later.
    pub(crate) fn stats(&self) -> Option<IoStats> {
        let shared = self.0.upgrade()?;
        if let Some(stats) = stats_if_free(&shared) {
            return Some(stats);
        }
        let (reply, answer) = mpsc::channel();
        shared.bell.send(IoCommand::Stats { reply });
        loop {
            match answer.recv_timeout(PROBE_RETRY) {
                Ok(stats) => return Some(stats),
                Err(RecvTimeoutError::Disconnected) => return None,
                Err(RecvTimeoutError::Timeout) => {}
            }
            if shared.stop.load(Ordering::SeqCst) {
                return None;
            }
            if let Some(stats) = stats_if_free(&shared) {
                return Some(stats);
            }
        }
    }

    /// Whether the socket is closed.
    pub(crate) fn is_gone(&self) -> bool {
        self.0.strong_count() == 0
    }
}

/// The reactor's live objects when no one holds it (a lock poisoned by a panic counts as
/// free: the objects are still there to count).
fn stats_if_free(shared: &Shared) -> Option<IoStats> {
    match shared.io.try_lock() {
        Ok(io) => Some(io.stats()),
        Err(TryLockError::Poisoned(p)) => Some(p.into_inner().stats()),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// Counts one call of the socket. Only the socket's thread counts (its calls take `&mut`
/// or run on it), so a load and a store do what a locked add would, at a fraction of the
/// cost on the send path; the helper only compares the count over [`IDLE`].
fn count(counter: &AtomicU64) {
    let n = counter.load(Ordering::Relaxed);
    counter.store(n.wrapping_add(1), Ordering::Relaxed);
}

/// The helper's loop: writes what waits to go out (see [`write_output`]); otherwise wakes
/// every [`IDLE`] to see whether the socket made a call since, and when it did not, turns
/// the reactor in its poll until the socket makes one (each call counts itself, and one
/// that finds the reactor taken sets `wanted` and rings the poll). The helper lets go of
/// the reactor whenever the socket wants it.
fn helper(shared: &Shared) {
    tighten_timer_slack();
    let mut seen = shared.calls.load(Ordering::SeqCst);
    let mut idle = false;
    // The current watch is for an async task (see `InlineHost::watch_now`).
    let mut eager = false;
    let mut watch = Watch::new();
    let mut look = LOOK_FIRST;
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        if shared.wanted.load(Ordering::SeqCst) {
            idle = false;
            std::thread::park_timeout(IDLE);
            continue;
        }
        if shared.active.load(Ordering::SeqCst) {
            write_output(shared, &mut watch);
            continue;
        }
        let calls = shared.calls.load(Ordering::SeqCst);
        if shared.eager.swap(false, Ordering::SeqCst) {
            // A task waits: the socket is idle from its last call on.
            (idle, seen, eager) = (true, calls, true);
        }
        if !eager && shared.external.load(Ordering::SeqCst) {
            std::thread::park();
            continue;
        }
        if !idle || calls != seen {
            eager = false;
            // Not known idle: look again after IDLE, or once the connections have something.
            let quiet = calls == seen;
            (idle, seen) = (quiet, calls);
            if watch_connections(shared, IDLE) {
                // Quiet: no call since the look before the last, nor while it watched.
                let quiet = quiet && shared.calls.load(Ordering::SeqCst) == seen;
                serve_connections(shared, quiet, &mut look);
                idle = false;
            }
            continue;
        }
        // No call for IDLE: the connections are the helper's until the socket's next call.
        let Ok(mut io) = shared.io.try_lock() else {
            // The socket is in a call, perhaps a long blocking one: it turns them itself.
            (idle, eager) = (false, false);
            continue;
        };
        if shared.calls.load(Ordering::SeqCst) == seen {
            poll_for_helper(shared, &mut io);
        }
    }
}

/// Waits up to `timeout` for the reactor's poll descriptor to become readable (a peer
/// connecting, input, a command for the reactor) without taking the reactor; returns
/// whether it did. Ends at once when the socket has work for the helper or is closing
/// ([`Shared::helper_called`]); the socket rings `wake` to end it (see
/// `InlineHost::start_helper`). Without that doorbell it only sleeps.
fn watch_connections(shared: &Shared, timeout: Duration) -> bool {
    let Some((bell, reader)) = &shared.wake else {
        std::thread::park_timeout(timeout);
        return false;
    };
    shared.watching.store(true, Ordering::SeqCst);
    let ready =
        !shared.helper_called() && poll_readable(shared.poll_fd, reader.as_raw_fd(), timeout);
    shared.watching.store(false, Ordering::SeqCst);
    bell.answer(reader);
    ready
}

/// The connections have something while the socket is not idle: when the socket made no
/// call since the helper's last look (`quiet`) and is not in one now, the helper turns
/// the reactor without waiting, so that a peer connecting to a socket whose application
/// makes only the odd call is accepted and handshaken at once, not after [`IDLE`] (5.7 ms
/// per connection of the churn bench on average). A socket that made a call since looks
/// again after `look` (see [`LOOK`]); one in a call, after [`IDLE`].
fn serve_connections(shared: &Shared, quiet: bool, look: &mut Duration) {
    if shared.helper_called() {
        return;
    }
    let wait = match shared.io.try_lock() {
        Ok(mut io) if quiet => {
            io.turn_now_for_helper();
            *look = LOOK_FIRST;
            return;
        }
        Ok(_) => {
            let wait = *look;
            *look = (wait * 2).min(LOOK);
            wait
        }
        // In a call (a blocking receive, most often): the socket turns the reactor itself,
        // and a helper woken by each arrival would take the socket's CPU from it.
        Err(_) => IDLE,
    };
    std::thread::park_timeout(wait);
}

/// Waits up to `timeout` for `fd` or `wake` to become readable; returns whether `fd` is.
fn poll_readable(fd: RawFd, wake: RawFd, timeout: Duration) -> bool {
    let mut fds = [fd, wake].map(|fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    });
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: two `pollfd`s in a live local array, its length passed with it; the
    // descriptors are the reactor's poll and the reading end of the helper's doorbell,
    // both open as long as `Shared` holds them.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
    n > 0 && fds[0].revents & libc::POLLIN != 0
}

/// The helper's look at a socket while its output waits (see [`write_output`]).
struct Watch {
    /// How long the helper sleeps while the socket is busy: twice as long at each look
    /// that finds it still busy, up to [`WATCH_MAX`].
    period: Duration,
    /// The socket's call count at the last look.
    calls: u64,
}

impl Watch {
    fn new() -> Watch {
        Watch {
            period: HOLD_MAX,
            calls: u64::MAX,
        }
    }

    /// Sleeps for the period, and doubles it for the next look.
    fn sleep(&mut self) {
        std::thread::park_timeout(self.period);
        self.period = (self.period * 2).min(WATCH_MAX);
    }
}

/// One step of writing output for the socket.
///
/// While the socket goes on sending (its next send would still be part of its last one's
/// burst: `burst_until`) it writes its held sends itself (each send writes a burst once
/// its oldest is [`HOLD_MAX`] old, or older, `burst::hold_max`), so the helper only
/// sleeps and looks again, without taking the reactor from it: a stream costs neither a lock taken from the sending thread nor a
/// wake-up per burst. While the socket makes other calls (sends further apart, receives),
/// the helper writes what waits without blocking, when the reactor is free, and sleeps
/// again: a socket in its calls turns the reactor itself whenever it would wait, and a
/// helper blocked in the poll would hold the reactor each call needs (each send then
/// rang the helper out of its poll: 0.05× libzmq's fan-out to 10 subscribers). Once a
/// look finds no call since the last, the socket is away: the helper takes the reactor,
/// sleeps while the oldest held send is younger than [`HOLD_MAX`], writes it, and turns
/// the reactor, blocking in its poll, while output stays queued. It clears `active` when
/// nothing waits.
fn write_output(shared: &Shared, watch: &mut Watch) {
    let calls = shared.calls.load(Ordering::Relaxed);
    if Stamp::now() < shared.burst_until() {
        watch.calls = calls;
        watch.sleep();
        return;
    }
    if calls != watch.calls {
        watch.calls = calls;
        if let Ok(mut io) = shared.io.try_lock() {
            if io.hold_left().is_none() {
                io.flush_for_helper();
                io.turn_now_for_helper();
                if !io.output_waits() {
                    shared.active.store(false, Ordering::SeqCst);
                    *watch = Watch::new();
                    return;
                }
            }
        }
        watch.sleep();
        return;
    }
    *watch = Watch::new();
    let mut io = lock(&shared.io);
    if shared.wanted.load(Ordering::SeqCst) || shared.stop.load(Ordering::SeqCst) {
        return;
    }
    if let Some(left) = io.hold_left() {
        drop(io);
        std::thread::park_timeout(left);
        return;
    }
    io.flush_for_helper();
    if io.output_waits() {
        poll_for_helper(shared, &mut io);
    } else {
        shared.active.store(false, Ordering::SeqCst);
    }
}

/// A turn of the reactor on the helper, which may block in the poll: says so in `polling`
/// first, and does not poll when the socket already wants the reactor (paired with the
/// socket's store of `wanted` and load of `polling`: one of them sees the other).
fn poll_for_helper(shared: &Shared, io: &mut InlineIo) {
    shared.polling.store(true, Ordering::SeqCst);
    if !shared.wanted.load(Ordering::SeqCst) {
        io.turn_for_helper();
    }
    shared.polling.store(false, Ordering::SeqCst);
}

/// Asks the kernel to wake this thread within a microsecond of its timeouts: the default
/// slack of 50 µs would be longer than a held send is meant to wait.
fn tighten_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes an integer argument and changes only this thread's
    // timer slack; no memory is passed.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1000 as libc::c_ulong);
    }
}

//! Inline I/O: a socket's own reactor, run on the socket's thread inside its calls
//! (docs/architecture.md §5.5). The same loop an I/O thread runs, with the same listeners
//! and sessions; only who turns it differs.
//!
//! Why: each hand-over between a socket and an I/O thread is a thread wake-up, and a
//! request–reply round trip over tcp:// or ipc:// makes four of them on top of the two the
//! kernel makes. On a machine where waking an idle core costs microseconds (a virtual
//! machine, a core in a deep sleep state) those dominate the latency. Inline, a send
//! writes to the connection before it returns, and a blocking receive sleeps in the
//! reactor's poll, so the kernel wakes the receiving thread itself.

use std::io;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, TryLockError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::{Events, Token};

use super::command::IoCommand;
use super::mailbox::{Mailbox, Siblings};
use super::reactor::Reactor;
use crate::mailbox::Signal;
use crate::sync::lock;

/// The token of the socket's command bell in the reactor's poll: commands for the socket
/// (a peer arriving, termination) end a blocking turn. The reactor has no object there.
const SOCKET_BELL: Token = Token(usize::MAX - 1);

/// Time after which a send turns the reactor in any case: a session whose writes met a
/// full socket buffer waits for writability, and a handshake or a peer's subscription waits
/// for input, which only a poll sees. A socket that sends now and then makes its
/// connections progress at each send.
const TURN_INTERVAL: Duration = Duration::from_millis(1);

/// A send this soon after the previous one is part of a burst: it is held, to be written
/// with the sends after it in one system call (see [`InlineIo::after_send`]). A sender that
/// waits longer between sends than a write takes gets each written at once.
const BURST_GAP: Duration = Duration::from_micros(10);

/// Sends in a row, each less than [`BURST_GAP`] after the last, that are written at once
/// before the next ones are held: a pair of messages, or a few, sent now and then are not
/// delayed; a stream is held from its third message on.
const BURST_MIN: u32 = 2;

/// The longest a held send waits: the next send after that writes the burst, and when the
/// socket makes no call, the helper thread does (see [`InlineHost`]).
const HOLD_MAX: Duration = Duration::from_micros(40);

/// How long a blocking turn polls without sleeping before it sleeps in the poll, when the
/// last blocking turn ended within that time (see [`InlineIo::turn`]).
const SPIN: Duration = Duration::from_micros(50);

/// Time after which a socket that made no call has its connections turned by its helper
/// thread (see [`InlineHost`]): accepts, handshakes, heartbeats and reconnects go on while
/// the application does other work, at most this late.
const IDLE: Duration = Duration::from_millis(10);

/// Turns at most of [`InlineIo::settle`] after the first.
const SETTLE_TURNS: usize = 8;

/// Bytes held at which a burst is written: past this, one write per burst saves little.
const HOLD_BYTES: usize = 32 * 1024;

/// A socket's reactor, turned by the socket.
pub(crate) struct InlineIo {
    reactor: Reactor,
    events: Events,
    mailbox: Mailbox,
    /// Set when the socket's pipes posted commands without ringing the doorbell (they
    /// are used on this thread only: `Services::notify_socket_pipe`).
    local: Arc<AtomicBool>,
    /// The socket's signal, whose bell rings only while a turn may block in the poll.
    signal: Arc<Signal>,
    /// When the last turn was (see [`InlineIo::after_send`]).
    last_turn: Instant,
    /// When the last send returned, when the oldest held send was accepted, and the bytes
    /// held: a burst's sends wait to be written together.
    last_send: Instant,
    /// Sends in a row, each less than [`BURST_GAP`] after the last.
    streak: u32,
    held_since: Option<Instant>,
    held_bytes: usize,
    /// Whether the next blocking turn polls without sleeping first: the last one ended
    /// within [`SPIN`], and the machine has more than one CPU (a peer sharing ours would
    /// wait for the spin to end).
    spin: bool,
    spin_cpus: bool,
}

impl std::fmt::Debug for InlineIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineIo").finish_non_exhaustive()
    }
}

impl InlineIo {
    /// A reactor of its own for a socket whose commands ring `socket_bell` while it
    /// polls (the reading end is watched here too, so that a blocking turn ends when one
    /// arrives); `signal` is the socket's, gated here (`Signal::gate_fd_bell`).
    pub(crate) fn new(
        ids: Arc<AtomicU64>,
        socket_bell: &UnixStream,
        signal: Arc<Signal>,
    ) -> io::Result<InlineIo> {
        let siblings = Siblings::default();
        let (mut reactor, mailbox) = Reactor::new(0, ids, siblings.clone())?;
        // Its only sibling is itself: what its listeners accept stays here.
        let _ = siblings.set(vec![mailbox.clone()]);
        reactor.watch(socket_bell.try_clone()?, SOCKET_BELL)?;
        let local = Arc::new(AtomicBool::new(false));
        reactor.set_local(local.clone());
        signal.gate_fd_bell();
        Ok(InlineIo {
            reactor,
            events: Events::with_capacity(64),
            mailbox,
            local,
            signal,
            last_turn: Instant::now(),
            last_send: Instant::now(),
            streak: 0,
            held_since: None,
            held_bytes: 0,
            spin: true,
            spin_cpus: std::thread::available_parallelism().is_ok_and(|n| n.get() > 1),
        })
    }

    /// A descriptor that is readable while the socket's connections or mailbox have
    /// something for a turn: the reactor's poll itself. From the first call on, commands
    /// ring the socket's bell at all times (an event loop outside the socket watches it).
    pub(crate) fn readiness_fd(&self) -> std::os::fd::RawFd {
        self.signal.ungate_fd_bell();
        self.reactor.poll_fd()
    }

    /// Posts a command; it is carried out at the next turn.
    pub(crate) fn send(&self, cmd: IoCommand) {
        self.mailbox.send(cmd);
    }

    /// After a send of `size` bytes that woke a session (its pipe's notifier posted a
    /// command): carries out the command, and the session writes the message; `polled`:
    /// the reactor was turned just before the send (see [`InlineHost::before_send`]),
    /// otherwise this turns it without waiting. A send that woke none turns when a
    /// command came from another thread (the doorbell rang) or the last turn is
    /// [`TURN_INTERVAL`] old.
    ///
    /// A send in a burst (more than [`BURST_MIN`] in a row, each less than [`BURST_GAP`]
    /// after the last) is held instead, its command left queued: the burst is written in
    /// one system call once it holds [`HOLD_BYTES`], its oldest send is [`HOLD_MAX`] old,
    /// or it ends. It ends at the next send after a pause, at the socket's next wait, poll
    /// or turn, or when the helper finds it [`HOLD_MAX`] old. Sends written one by one
    /// cost a system call each, a fifth of the messages per second the I/O thread's
    /// batching reaches (benches/RESULTS.md, "eleventh stop").
    pub(crate) fn after_send(&mut self, size: usize, polled: bool) {
        let now = Instant::now();
        let quick = now.saturating_duration_since(self.last_send) < BURST_GAP;
        self.last_send = now;
        self.streak = if quick {
            self.streak.saturating_add(1)
        } else {
            0
        };
        if self.mailbox.is_rung() || now.saturating_duration_since(self.last_turn) >= TURN_INTERVAL
        {
            self.turn(Some(Duration::ZERO));
            return;
        }
        if !self.local.load(Ordering::Relaxed) {
            // No session waits for a command: nothing of this send is held here.
            self.flush();
            return;
        }
        self.held_bytes = self.held_bytes.saturating_add(size);
        let since = *self.held_since.get_or_insert(now);
        let young = now.saturating_duration_since(since) < HOLD_MAX;
        if self.streak >= BURST_MIN && young && self.held_bytes < HOLD_BYTES {
            return;
        }
        if polled {
            // `InlineHost::before_send` (or the async poll) turned just before the send.
            self.flush();
        } else {
            self.turn(Some(Duration::ZERO));
        }
    }

    /// Writes what sends hold: carries out the commands they posted.
    pub(crate) fn flush(&mut self) {
        self.held_since = None;
        self.held_bytes = 0;
        if self.local.swap(false, Ordering::Acquire) {
            self.reactor.run_commands();
        }
    }

    /// How much longer the oldest held send may wait; `None` when none is held, or it
    /// must be written now.
    fn hold_left(&self) -> Option<Duration> {
        let left = HOLD_MAX.checked_sub(self.held_since?.elapsed())?;
        (!left.is_zero()).then_some(left)
    }

    /// One round of the loop, waiting up to `timeout` (`None`: until something happens)
    /// for readiness, a command or a timer. The loop's timers bound the wait on their own;
    /// `timeout` only shortens it.
    pub(crate) fn turn(&mut self, timeout: Option<Duration>) {
        // Commands the socket posted are carried out in this turn: it must not block.
        let mut timeout = if self.local.swap(false, Ordering::Acquire) {
            Some(Duration::ZERO)
        } else {
            timeout
        };
        let may_block = timeout != Some(Duration::ZERO);
        if may_block && !self.signal.enter_poll() {
            timeout = Some(Duration::ZERO);
        }
        let polled = if may_block {
            let started = Instant::now();
            let polled = self.wait_spinning(timeout, started);
            self.signal.leave_poll();
            self.spin = self.spin_cpus && started.elapsed() <= SPIN;
            polled
        } else {
            self.reactor.wait(&mut self.events, timeout)
        };
        if polled {
            self.reactor.handle(&self.events);
        }
        // The turn carried out what sends held.
        self.held_since = None;
        self.held_bytes = 0;
        self.last_turn = Instant::now();
    }

    /// A blocking wait of [`turn`](Self::turn), begun at `started`: when the last one ended
    /// within [`SPIN`], it polls without sleeping for up to that long first. A thread that
    /// sleeps in the poll is woken by the kernel, and where a sleeping CPU is expensive to
    /// wake (a virtual machine's halted vCPU: benches/RESULTS.md) that wake-up is most of
    /// a round trip's latency; one still polling costs the writer no wake-up at all. The
    /// spin adapts: a socket whose waits outlast it (sparse traffic) sleeps at once.
    fn wait_spinning(&mut self, timeout: Option<Duration>, started: Instant) -> bool {
        if self.spin {
            let budget = timeout.map_or(SPIN, |t| t.min(SPIN));
            loop {
                if !self.reactor.wait(&mut self.events, Some(Duration::ZERO)) {
                    return false;
                }
                if !self.events.is_empty() {
                    return true;
                }
                if started.elapsed() >= budget {
                    break;
                }
                std::hint::spin_loop();
            }
        }
        let rest = timeout.map(|t| t.saturating_sub(started.elapsed()));
        self.reactor.wait(&mut self.events, rest)
    }

    /// Turns without waiting until no session waits to be driven again (at most a few
    /// times): what a command started (a listener's connections closing with it) is done
    /// when the socket's call returns, as an I/O thread would have done it by then.
    pub(crate) fn settle(&mut self) {
        self.turn(Some(Duration::ZERO));
        for _ in 0..SETTLE_TURNS {
            if !self.reactor.has_work() {
                break;
            }
            self.turn(Some(Duration::ZERO));
        }
    }

    /// Whether messages wait to go to some peer, held or queued in a session: two loads.
    pub(crate) fn output_waits(&self) -> bool {
        self.held_since.is_some() || self.reactor.output_waits()
    }

    /// A turn for the helper (see [`InlineHost`]): up to the next event, command or timer,
    /// leaving the socket's signal alone (the socket's own commands wait for its calls).
    fn turn_for_helper(&mut self) {
        self.reactor.turn(&mut self.events, None);
    }

    /// The socket is closing: listeners go now, and sessions with output queued deliver it
    /// within LINGER on a thread of their own, whose handle is returned for the context to
    /// join. `None` when nothing is left to deliver.
    pub(crate) fn finish(mut self) -> Option<JoinHandle<()>> {
        self.send(IoCommand::Stop);
        if !self.reactor.turn(&mut self.events, Some(Duration::ZERO)) {
            return None;
        }
        std::thread::Builder::new()
            .name("isomq-linger".to_owned())
            .spawn(move || {
                let mut io = self;
                io.reactor.run();
            })
            .ok()
    }
}

/// What the socket and its helper thread share.
struct Shared {
    io: Mutex<InlineIo>,
    /// The socket's thread wants the reactor: the helper lets go of it and parks.
    wanted: AtomicBool,
    /// The socket's calls so far: unchanged over [`IDLE`], the socket is idle.
    calls: AtomicU64,
    /// An async task waits on the socket: the helper turns its reactor from now until the
    /// socket's next call, without waiting for [`IDLE`] to pass.
    eager: AtomicBool,
    /// The socket's readiness fd (its reactor's poll) was handed out: an event loop outside
    /// waits on it and calls the socket when it fires, and the helper must not take the
    /// events it waits for, so it no longer turns the reactor for an idle socket.
    external: AtomicBool,
    /// Output waited (held or queued) when a call of the socket returned: the helper
    /// writes it until none does. Set by the socket, cleared by the helper, under the lock.
    active: AtomicBool,
    /// The helper may be blocked in the reactor's poll: a socket that wants the reactor
    /// rings the doorbell. Paired with `wanted` (each stores its own, then loads the other).
    polling: AtomicBool,
    stop: AtomicBool,
    /// Rings the reactor's doorbell, to end the helper's poll.
    bell: Mailbox,
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
    helper: Option<JoinHandle<()>>,
    /// When the socket's last send began: a send within [`BURST_GAP`] of it needs no poll
    /// first (see [`InlineHost::before_send`]), found without taking the lock.
    last_send: Instant,
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
        let bell = io.mailbox.clone();
        let shared = Arc::new(Shared {
            io: Mutex::new(io),
            wanted: AtomicBool::new(false),
            calls: AtomicU64::new(0),
            eager: AtomicBool::new(false),
            external: AtomicBool::new(false),
            active: AtomicBool::new(false),
            polling: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            bell,
        });
        let for_helper = shared.clone();
        let helper = std::thread::Builder::new()
            .name("isomq-inline".to_owned())
            .spawn(move || helper(&for_helper))
            .ok();
        InlineHost {
            shared,
            helper,
            last_send: Instant::now(),
        }
    }

    /// Runs `f` on the reactor from the socket's thread, taking it back from the helper
    /// if it has it; afterwards wakes the helper when output waits.
    pub(crate) fn with<R>(&mut self, f: impl FnOnce(&mut InlineIo) -> R) -> R {
        let shared = &self.shared;
        shared.calls.fetch_add(1, Ordering::Relaxed);
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
            // burst of sends wakes it once, not once per write.
            waits && !shared.active.swap(true, Ordering::SeqCst)
        };
        drop(io);
        if start {
            self.start_helper();
        }
        result
    }

    /// The socket's readiness fd (see [`InlineIo::readiness_fd`]); from now on an idle
    /// socket's reactor waits for the event loop that watches it.
    pub(crate) fn readiness_fd(&mut self) -> std::os::fd::RawFd {
        self.shared.external.store(true, Ordering::SeqCst);
        self.with(|io| io.readiness_fd())
    }

    /// Before a send that comes after a pause (it will be written at once, see
    /// [`InlineIo::after_send`]): a turn without waiting, so that what the connections
    /// have is handled before the message reaches a session's pipe. A connection its peer
    /// closed (or whose peer sent its WebSocket close) is then seen closed before the
    /// session takes the message, which waits for the next connection instead of being
    /// written into this one and lost, as with an I/O thread that saw the close when it
    /// came.
    /// Returns whether it turned.
    pub(crate) fn before_send(&mut self) -> bool {
        let now = Instant::now();
        let pause = now.saturating_duration_since(self.last_send) >= BURST_GAP;
        if pause {
            self.with(|io| io.turn(Some(Duration::ZERO)));
        }
        self.last_send = now;
        pause
    }

    /// Counts a call of the socket that does not need the reactor (a receive from its
    /// queue): a socket busy with its queues is not idle, and the helper must not take its
    /// connections (it would read and decode on its own thread, in turns with the socket).
    pub(crate) fn note_call(&self) {
        self.shared.calls.fetch_add(1, Ordering::Relaxed);
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
        }
    }

    /// The socket is closing: the helper ends, and the reactor finishes as
    /// [`InlineIo::finish`] says.
    pub(crate) fn finish(mut self) -> Option<JoinHandle<()>> {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.bell.ring();
        if let Some(helper) = self.helper.take() {
            helper.thread().unpark();
            let _ = helper.join();
        }
        let shared = Arc::try_unwrap(self.shared).ok()?;
        let io = shared.io.into_inner().unwrap_or_else(|p| p.into_inner());
        io.finish()
    }
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
            write_output(shared);
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
            // Not known idle: look again after IDLE.
            idle = calls == seen;
            seen = calls;
            std::thread::park_timeout(IDLE);
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

/// One step of writing output for the socket: sleeps while the oldest held send is younger
/// than [`HOLD_MAX`] (a socket still sending writes it first), writes it, and turns the
/// reactor while output stays queued; clears `active` when nothing waits.
fn write_output(shared: &Shared) {
    let mut io = lock(&shared.io);
    if shared.wanted.load(Ordering::SeqCst) || shared.stop.load(Ordering::SeqCst) {
        return;
    }
    if let Some(left) = io.hold_left() {
        drop(io);
        std::thread::park_timeout(left);
        return;
    }
    io.flush();
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

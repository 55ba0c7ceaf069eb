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
use std::sync::{Arc, Mutex};
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

/// Sends after which a send turns the reactor even though no session asked for it: a
/// session whose writes met a full socket buffer waits for writability, and a handshake
/// or a peer's subscription waits for input, which only a poll sees.
const SENDS_PER_TURN: u32 = 64;

/// Time after which a send turns the reactor in any case: a socket that sends now and then
/// makes its connections progress at each send.
const TURN_INTERVAL: Duration = Duration::from_millis(1);

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
    /// Sends since the last turn, and when that was (see [`InlineIo::after_send`]).
    sends: u32,
    last_turn: Instant,
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
            sends: 0,
            last_turn: Instant::now(),
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

    /// After a send: carries out the commands it posted (a session's pipe woke it), with
    /// no syscall but the session's write. A whole turn without waiting instead when a
    /// command came from another thread (the doorbell rang), every [`SENDS_PER_TURN`]
    /// sends, and when the last turn is [`TURN_INTERVAL`] old.
    pub(crate) fn after_send(&mut self) {
        self.sends += 1;
        if self.mailbox.is_rung()
            || self.sends >= SENDS_PER_TURN
            || self.last_turn.elapsed() >= TURN_INTERVAL
        {
            self.turn(Some(Duration::ZERO));
        } else if self.local.swap(false, Ordering::Acquire) {
            self.reactor.run_commands();
        }
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
        let polled = self.reactor.wait(&mut self.events, timeout);
        if may_block {
            self.signal.leave_poll();
        }
        if polled {
            self.reactor.handle(&self.events);
        }
        self.sends = 0;
        self.last_turn = Instant::now();
    }

    /// Whether messages wait to go to some peer: one load.
    pub(crate) fn output_waits(&self) -> bool {
        self.reactor.output_waits()
    }

    /// A turn for the helper (see [`InlineHost`]): the reactor's own, up to the next
    /// event, command or timer, leaving the socket's signal alone (the socket's own
    /// commands wait for its calls).
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
    /// The socket's thread wants the reactor: the helper lets go of it and waits.
    wanted: AtomicBool,
    /// Output waited when the socket's last call returned: the helper turns the reactor
    /// until it no longer does.
    active: AtomicBool,
    stop: AtomicBool,
    /// Rings the reactor's doorbell, to end the helper's poll.
    bell: Mailbox,
}

/// A socket's own reactor, and the helper thread that turns it while the socket is outside
/// its calls with output waiting (docs/architecture.md §5.5): without it, messages a send
/// could not hand to the kernel (or queued before the handshake completed) would wait for
/// the socket's next call. The helper starts the first time that happens and parks
/// otherwise; on the message path the socket's thread only takes an uncontended lock.
pub(crate) struct InlineHost {
    shared: Arc<Shared>,
    helper: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for InlineHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineHost").finish_non_exhaustive()
    }
}

impl InlineHost {
    pub(crate) fn new(io: InlineIo) -> InlineHost {
        let bell = io.mailbox.clone();
        InlineHost {
            shared: Arc::new(Shared {
                io: Mutex::new(io),
                wanted: AtomicBool::new(false),
                active: AtomicBool::new(false),
                stop: AtomicBool::new(false),
                bell,
            }),
            helper: None,
        }
    }

    /// Runs `f` on the reactor from the socket's thread, taking it back from the helper
    /// if it has it; afterwards wakes the helper when output waits.
    pub(crate) fn with<R>(&mut self, f: impl FnOnce(&mut InlineIo) -> R) -> R {
        let shared = &self.shared;
        // Only this thread sets `active` to true, so it knows whether the helper may hold
        // the reactor in its poll, and must be asked to let go.
        let helper_on = shared.active.load(Ordering::SeqCst);
        if helper_on {
            shared.wanted.store(true, Ordering::SeqCst);
            shared.bell.ring();
        }
        let mut io = lock(&shared.io);
        let result = f(&mut io);
        let waits = io.output_waits();
        shared.active.store(waits, Ordering::SeqCst);
        drop(io);
        if helper_on {
            shared.wanted.store(false, Ordering::SeqCst);
        }
        if waits {
            self.start_helper();
        }
        result
    }

    fn start_helper(&mut self) {
        match &self.helper {
            Some(h) => h.thread().unpark(),
            None => {
                let shared = self.shared.clone();
                self.helper = std::thread::Builder::new()
                    .name("isomq-inline".to_owned())
                    .spawn(move || helper(&shared))
                    .ok();
            }
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

/// The helper's loop: turns the reactor while output waits and the socket's thread does
/// not want it; parks otherwise (the socket unparks it when output waits again).
fn helper(shared: &Shared) {
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        if !shared.active.load(Ordering::SeqCst) || shared.wanted.load(Ordering::SeqCst) {
            std::thread::park();
            continue;
        }
        let mut io = lock(&shared.io);
        if shared.wanted.load(Ordering::SeqCst) || shared.stop.load(Ordering::SeqCst) {
            continue;
        }
        if !io.output_waits() {
            shared.active.store(false, Ordering::SeqCst);
            continue;
        }
        io.turn_for_helper();
    }
}

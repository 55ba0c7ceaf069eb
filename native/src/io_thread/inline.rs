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
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::{Events, Token};

use super::command::IoCommand;
use super::mailbox::{Mailbox, Siblings};
use super::reactor::Reactor;
use crate::mailbox::Signal;

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

    /// Closes the object `id` (a listener, a connecting session) at once, as
    /// `CtxInner::close_listener` does on an I/O thread.
    pub(crate) fn close_now(&mut self, id: u64) {
        self.send(IoCommand::Close { id, done: None });
        self.turn(Some(Duration::ZERO));
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
                while io.reactor.turn(&mut io.events, None) {}
            })
            .ok()
    }
}

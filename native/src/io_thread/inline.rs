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
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Token};

use super::burst::{Burst, Write};
use super::command::IoCommand;
use super::mailbox::{Mailbox, Siblings};
use super::reactor::Reactor;
use super::spin::SPIN;
use super::stamp::{SendStart, Stamp};
use crate::mailbox::Signal;
use crate::stats::IoStats;

/// The token of the socket's command bell in the reactor's poll: commands for the socket
/// (a peer arriving, termination) end a blocking turn. The reactor has no object there.
const SOCKET_BELL: Token = Token(usize::MAX - 1);

/// The token of the reactor's poll in the readiness fd's (see [`InlineIo::readiness_fd`]).
const REACTOR: Token = Token(0);

/// The shortest time between two polls of a paced spin (see [`InlineIo::wait`]).
const PACE_MIN: Duration = Duration::from_micros(2);

/// Turns at most of [`InlineIo::settle`] after the first.
const SETTLE_TURNS: usize = 8;

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
    /// Which sends are held, and since when (see [`InlineIo::after_send`]).
    burst: Burst,
    /// Whether the next blocking turn polls without sleeping first: the last one ended
    /// within [`SPIN`], and the machine has more than one CPU (a peer sharing ours would
    /// wait for the spin to end).
    spin: bool,
    spin_cpus: bool,
    /// The reading end of the socket's bell, as the reactor watches it.
    bell_fd: RawFd,
    /// The socket's readiness fd, once handed out (see [`readiness_fd`](Self::readiness_fd)).
    readiness: Option<mio::Poll>,
}

impl std::fmt::Debug for InlineIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineIo").finish_non_exhaustive()
    }
}

impl InlineIo {
    /// A reactor of its own for a socket whose commands ring `socket_bell` while it
    /// polls (the reading end is watched here too, so that a blocking turn ends when one
    /// arrives); `signal` is the socket's, gated here (`Signal::gate_fd_bell`);
    /// `several_cpus`: the machine has more than one CPU (the context's word).
    pub(crate) fn new(
        ids: Arc<AtomicU64>,
        socket_bell: &UnixStream,
        signal: Arc<Signal>,
        several_cpus: bool,
    ) -> io::Result<InlineIo> {
        let siblings = Siblings::default();
        let (mut reactor, mailbox) = Reactor::new(0, ids, siblings.clone())?;
        // Its only sibling is itself: what its listeners accept stays here.
        let _ = siblings.set(vec![mailbox.clone()]);
        let watched_bell = socket_bell.try_clone()?;
        // Open as long as the reactor, which keeps what it watches.
        let bell_fd = watched_bell.as_raw_fd();
        reactor.watch(watched_bell, SOCKET_BELL)?;
        let local = Arc::new(AtomicBool::new(false));
        reactor.set_local(local.clone());
        signal.gate_fd_bell();
        Ok(InlineIo {
            reactor,
            events: Events::with_capacity(64),
            mailbox,
            local,
            signal,
            burst: Burst::new(Stamp::now()),
            spin: true,
            spin_cpus: several_cpus,
            bell_fd,
            readiness: None,
        })
    }

    /// A descriptor that is readable while the socket's connections or mailbox have
    /// something for a turn: a poll of its own over the reactor's poll and the socket's
    /// bell, made at the first call, which also rings the bell so that the first wait
    /// returns and the caller looks at the socket (a command posted before, while the bell
    /// was gated, rang nothing). From then on, commands ring the bell at all times (an
    /// event loop outside the socket watches it).
    ///
    /// Why not the reactor's poll itself: the bell is watched there edge-triggered, and a
    /// turn of the helper thread takes its event without reading the bell (only the
    /// socket answers it). The reactor's poll then looked idle with a command queued and
    /// the bell armed, so no ring wrote again: an event loop waited for good (1 run in 16
    /// of `readiness_fd_drives_an_external_event_loop`). Here the bell's reading end is
    /// watched directly: readable until the socket answers it, whoever turned the reactor.
    pub(crate) fn readiness_fd(&mut self) -> io::Result<RawFd> {
        if let Some(poll) = &self.readiness {
            return Ok(poll.as_raw_fd());
        }
        let poll = mio::Poll::new()?;
        let reactor = self.reactor.poll_fd();
        poll.registry()
            .register(&mut SourceFd(&reactor), REACTOR, Interest::READABLE)?;
        poll.registry().register(
            &mut SourceFd(&self.bell_fd),
            SOCKET_BELL,
            Interest::READABLE,
        )?;
        self.signal.ungate_fd_bell();
        self.signal.ring_fd_bell();
        let fd = poll.as_raw_fd();
        self.readiness = Some(poll);
        Ok(fd)
    }

    /// The reactor's poll descriptor, readable while events wait (see `InlineHost`'s
    /// helper), without handing it out as [`readiness_fd`](Self::readiness_fd) does.
    pub(super) fn poll_fd(&self) -> std::os::fd::RawFd {
        self.reactor.poll_fd()
    }

    /// The reactor's mailbox: its commands end a blocking turn (the helper's too).
    pub(super) fn mailbox(&self) -> Mailbox {
        self.mailbox.clone()
    }

    /// Posts a command; it is carried out at the next turn.
    pub(crate) fn send(&self, cmd: IoCommand) {
        self.mailbox.send(cmd);
    }

    /// After a send of `size` bytes: writes it (and what is held) now, or holds it with its
    /// burst, as [`Burst::handle_send`] says; `start`: when the send began, and whether the
    /// reactor was turned just before it (see `InlineHost::before_send`). Returns until
    /// when the next send is part of this one's burst.
    pub(crate) fn after_send(&mut self, size: usize, start: SendStart) -> Stamp {
        let woke = self.local.load(Ordering::Relaxed);
        let write = self
            .burst
            .handle_send(size, start, woke, self.mailbox.is_rung());
        match write {
            Write::Hold => {}
            Write::Flush => self.flush(),
            Write::FlushTurned => {
                self.flush();
                self.burst.handle_turned(Stamp::now());
            }
            Write::Turn => self.turn(Some(Duration::ZERO)),
        }
        let wrote = matches!(write, Write::FlushTurned | Write::Turn);
        self.burst.handle_written(start, wrote)
    }

    /// Writes what sends hold: carries out the commands they posted.
    pub(crate) fn flush(&mut self) {
        self.burst.clear();
        if self.local.swap(false, Ordering::Acquire) {
            self.reactor.run_commands();
        }
    }

    /// How much longer the oldest held send may wait; `None` when none is held, or it
    /// must be written now.
    pub(super) fn hold_left(&self) -> Option<Duration> {
        self.burst.poll_hold_left(Stamp::now())
    }

    /// One round of the loop, waiting up to `timeout` (`None`: until something happens)
    /// for readiness, a command or a timer. The loop's timers bound the wait on their own;
    /// `timeout` only shortens it.
    pub(crate) fn turn(&mut self, timeout: Option<Duration>) {
        self.wait(timeout, false);
    }

    /// A blocking turn of a socket that waits for its connections: as
    /// [`turn`](Self::turn), with `streaming` when the socket made many calls since its
    /// last wait (see `InlineHost::wait`). A streaming socket's next input comes with its
    /// peer's next write, which carries a burst of messages and comes tens of microseconds
    /// later, not within the few hundred nanoseconds one poll takes: its spin polls at a
    /// slower pace (see [`wait_spinning`](Self::wait_spinning)). Polling back to back, a
    /// receiver made 0.10-0.19 poll calls per 16 B message (benches/RESULTS.md,
    /// "thirteenth stop").
    pub(crate) fn wait(&mut self, timeout: Option<Duration>, streaming: bool) {
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
            let polled = self.wait_spinning(timeout, started, streaming);
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
        self.burst.handle_turned(Stamp::now());
    }

    /// A blocking wait of [`turn`](Self::turn), begun at `started`: when the last one ended
    /// within [`SPIN`], it polls without sleeping for up to that long first. A thread that
    /// sleeps in the poll is woken by the kernel, and where a sleeping CPU is expensive to
    /// wake (a virtual machine's halted vCPU: benches/RESULTS.md) that wake-up is most of
    /// a round trip's latency; one still polling costs the writer no wake-up at all. The
    /// spin adapts: a socket whose waits outlast it (sparse traffic) sleeps at once.
    ///
    /// With `paced` (a socket streaming, see `InlineHost::wait`) each poll comes half the
    /// time waited so far after the last, and at least [`PACE_MIN`] after it (the first
    /// too: the turn before this wait read what had come): what arrives is seen at most
    /// [`PACE_MIN`] or half again as late, and a wait costs two or three polls instead of
    /// one every few hundred nanoseconds.
    fn wait_spinning(&mut self, timeout: Option<Duration>, started: Instant, paced: bool) -> bool {
        if self.spin {
            let budget = timeout.map_or(SPIN, |t| t.min(SPIN));
            loop {
                let waited = started.elapsed();
                if paced {
                    let next = waited + (waited / 2).max(PACE_MIN);
                    while started.elapsed() < next.min(budget) {
                        std::hint::spin_loop();
                    }
                }
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

    /// The live objects of this reactor, counted now (see `IoStats`).
    pub(super) fn stats(&self) -> IoStats {
        self.reactor.stats()
    }

    /// Whether messages wait to go to some peer, held or queued in a session: two loads.
    pub(crate) fn output_waits(&self) -> bool {
        self.burst.holds() || self.reactor.output_waits()
    }

    /// A turn for the helper (see `InlineHost`): up to the next event, command or timer,
    /// leaving the socket's signal alone (the socket's own commands wait for its calls).
    pub(super) fn turn_for_helper(&mut self) {
        self.for_helper(|io| io.reactor.turn(&mut io.events, None));
    }

    /// A turn for the helper that does not wait (see `InlineHost`).
    pub(super) fn turn_now_for_helper(&mut self) {
        self.for_helper(|io| io.reactor.turn(&mut io.events, Some(Duration::ZERO)));
    }

    /// What the helper's [`flush`](Self::flush) writes.
    pub(super) fn flush_for_helper(&mut self) {
        self.for_helper(InlineIo::flush);
    }

    /// Runs `f` on the helper's thread, beside the socket's, which may send meanwhile: the
    /// sessions then read before the first output after a pause, as an I/O thread's do
    /// (`Services::polled_after_send`).
    fn for_helper<R>(&mut self, f: impl FnOnce(&mut InlineIo) -> R) -> R {
        let own = self.reactor.set_polled_after_send(false);
        let r = f(self);
        self.reactor.set_polled_after_send(own);
        r
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
                io.reactor.run(io.spin_cpus);
            })
            .ok()
    }
}

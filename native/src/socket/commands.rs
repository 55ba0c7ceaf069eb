//! A socket's side of its mailbox (docs/architecture.md §5.2): pipe events posted as
//! commands, reading and handling the commands (throttled on the fast path), and waiting
//! for them.

use std::time::{Duration, Instant};

use isomq_core::{Error, Notify, Pipe, PipeEvent, PipeId, Result};

use super::wait_spin::{WAIT_SPIN, WAIT_SPIN_ALONE};
use super::Socket;
use crate::command::SocketCommand;
use crate::mailbox::{MailboxTx, WaitError};

/// The socket's end of pipe notifications: events become mailbox commands.
#[derive(Debug)]
pub(crate) struct SocketNotify {
    pub(crate) tx: MailboxTx,
}

impl Notify for SocketNotify {
    fn notify(&self, pipe: PipeId, event: PipeEvent) {
        let woke = self.tx.send(SocketCommand::Pipe(pipe, event));
        if woke && event == PipeEvent::ActivateRead {
            crate::io_thread::note_woke_reader();
        }
    }
}

/// See [`Socket::process_commands_throttled`].
const COMMAND_INTERVAL: u32 = 256;
/// See [`Socket::process_commands_throttled`] (libzmq: 3,000,000 TSC ticks, about 1 ms).
const COMMAND_DELAY: Duration = Duration::from_millis(1);

impl Socket {
    /// Attaches a pipe a peer made; returns whether it is still alive. One whose peer
    /// terminated before the notifier was attached sends no `Terminated` (the pattern
    /// finds it dead on its own): nothing must be kept for it outside the pattern.
    pub(super) fn attach_pipe(&mut self, pipe: Pipe) -> bool {
        pipe.attach(self.notify.clone());
        let alive = !pipe.peer_terminated();
        self.pattern.attach(pipe);
        alive
    }

    /// Attaches a pipe this socket made by connecting (a ROUTER may name its peer locally).
    pub(super) fn attach_connected(&mut self, pipe: Pipe) {
        pipe.attach(self.notify.clone());
        self.pattern.attach_connected(pipe);
    }

    /// The fast path's share of [`check_term`](Self::check_term), after libzmq's
    /// `process_commands (0, true)` throttle. Commands queued while the pattern can proceed
    /// are left for later: a reader that wakes for every "more data" command reads fewer
    /// messages per wake-up (inproc throughput fell to less than half when every send and recv
    /// looked). They are read once [`COMMAND_INTERVAL`] calls went by or [`COMMAND_DELAY`]
    /// passed since the last look, so a new peer or a subscription never waits long; with
    /// nothing queued (one atomic load) the clock is not read at all. Whenever the pattern
    /// cannot proceed, `wait` reads the mailbox before blocking or giving up.
    pub(super) fn process_commands_throttled(&mut self) -> Result<()> {
        self.calls_since_commands = self.calls_since_commands.saturating_add(1);
        if !self.mailbox.signal().maybe_queued() {
            return Ok(());
        }
        if self.calls_since_commands >= COMMAND_INTERVAL
            || self.last_commands.elapsed() >= COMMAND_DELAY
        {
            return self.check_term();
        }
        Ok(())
    }

    pub(super) fn check_term(&mut self) -> Result<()> {
        self.calls_since_commands = 0;
        self.last_commands = Instant::now();
        self.drain();
        if self.terminated {
            return Err(Error::Term);
        }
        Ok(())
    }

    fn handle(&mut self, cmd: SocketCommand) {
        match cmd {
            SocketCommand::Pipe(id, event) => {
                if event == isomq_core::PipeEvent::Terminated {
                    // Messages still queued from that peer lose their properties: the map
                    // must not grow with every connection ever made.
                    self.peer_properties.remove(&id);
                }
                self.pattern.pipe_event(id, event);
            }
            SocketCommand::Properties(id, properties) => {
                // Not for a pipe the socket has disconnected meanwhile.
                if self.connects_through(id) {
                    self.peer_properties.insert(id, properties);
                }
            }
            SocketCommand::Attach(pipe, properties) => {
                let id = pipe.id();
                if let (true, Some(properties)) = (self.attach_pipe(pipe), properties) {
                    self.peer_properties.insert(id, properties);
                }
            }
            SocketCommand::Hiccup(id) => self.pattern.hiccup(id),
            SocketCommand::Term => self.terminated = true,
        }
    }

    /// Processes every queued command without blocking; returns whether there were any.
    pub(super) fn drain(&mut self) -> bool {
        if let Some(reader) = &self.fd_reader {
            self.mailbox.signal().clear_fd(reader);
        }
        self.mailbox.signal().clear_queued();
        let mut any = false;
        while let Some(cmd) = self.mailbox.try_recv() {
            self.handle(cmd);
            any = true;
        }
        any
    }

    /// Waits for the next command (a pipe event usually), then processes the queue.
    /// `deadline`: `None` = don't wait, `Some(None)` = forever.
    /// `input`: the caller waits to receive (see
    /// [`WaitSpin::should_spin`](super::wait_spin::WaitSpin::should_spin)).
    pub(super) fn wait(&mut self, deadline: Option<Option<Instant>>, input: bool) -> Result<()> {
        if self.inline.is_some() {
            return self.wait_inline(deadline);
        }
        let Some(at) = deadline else {
            // Not waiting: commands the throttle left queued may be what lets the caller
            // proceed, so look at them before saying EAGAIN (the caller retries once).
            if self.drain() {
                return self.check_term();
            }
            return Err(Error::Again);
        };
        // One clock reading for the timeout and for the spin.
        let started = Instant::now();
        let timeout = at.map(|at| at.saturating_duration_since(started));
        let cmd = match self.spin_for_command(started, timeout, input) {
            Some(cmd) => Ok(cmd),
            None => self
                .mailbox
                .recv(timeout.map(|t| t.saturating_sub(started.elapsed()))),
        };
        self.spin.handle_waited(started.elapsed());
        let cmd = match cmd {
            Ok(cmd) => cmd,
            Err(WaitError::Timeout) => return Err(Error::Again),
            Err(WaitError::Closed) => return Err(Error::Term),
        };
        self.handle(cmd);
        self.check_term()
    }

    /// Before a blocking wait: polls the mailbox without sleeping for up to
    /// [`WAIT_SPIN`] (and `timeout`), when the wait is a receive awaiting an answer and the
    /// socket's recent waits were that short (see
    /// [`WaitSpin::should_spin`](super::wait_spin::WaitSpin::should_spin)). Returns the
    /// command that came meanwhile.
    fn spin_for_command(
        &mut self,
        started: Instant,
        timeout: Option<Duration>,
        input: bool,
    ) -> Option<SocketCommand> {
        if !self.spin.should_spin(input) {
            return None;
        }
        let budget = timeout.map_or(WAIT_SPIN, |t| t.min(WAIT_SPIN));
        loop {
            // One load while nothing is queued: the queue's lock is taken only once a
            // sender has flagged a command.
            if self.mailbox.signal().maybe_queued() {
                if let Some(cmd) = self.mailbox.try_recv() {
                    self.spin.handle_spun();
                    return Some(cmd);
                }
            }
            let polled = started.elapsed();
            if polled >= budget {
                return None;
            }
            if polled >= WAIT_SPIN_ALONE {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }
}

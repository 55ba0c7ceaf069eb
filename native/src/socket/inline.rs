//! A socket of a context with inline I/O (`ContextBuilder::inline_io`, docs/architecture.md
//! §5.5): its tcp:// and ipc:// listeners and sessions, and its ws:// connects, live on a
//! reactor of its own, which its calls turn: after a send that woke a session, and
//! whenever the socket would wait.

use std::time::{Duration, Instant};

use isomq_core::{Error, Result};

use super::Socket;
use crate::doorbell::Doorbell;
use crate::io_thread::{InlineHost, InlineIo, IoCommand, SendStart};

/// The "I/O thread" index of an object on the socket's own reactor.
pub(super) const INLINE: usize = usize::MAX;

impl Socket {
    /// Where a new listener or connecting session goes: the socket's own reactor with
    /// inline I/O (made at the first one), an I/O thread of the context otherwise.
    pub(super) fn choose_io(&mut self) -> Result<usize> {
        if !self.is_inline() {
            return Ok(self.ctx.choose_thread());
        }
        self.ensure_inline()?;
        Ok(INLINE)
    }

    /// The socket's own reactor, made at the first call.
    pub(super) fn ensure_inline(&mut self) -> Result<&mut InlineHost> {
        if self.inline.is_none() {
            let signal = self.mailbox.signal().clone();
            let made = Doorbell::pair().and_then(|(bell, reader)| {
                let io = InlineIo::new(self.ctx.ids(), &reader, signal, self.ctx.several_cpus)?;
                Ok((bell, reader, io))
            });
            let (bell, reader, io) =
                made.map_err(|e| Error::Resource(format!("inline I/O: {e}")))?;
            // Commands ring the bell, whose reading end the reactor watches: a blocking
            // turn ends when one arrives. The socket answers it when it reads its queue.
            self.mailbox.signal().set_fd_bell(bell);
            self.fd_reader = Some(reader);
            let host = InlineHost::new(io);
            self.ctx.add_inline_reactor(host.probe());
            self.inline = Some(host);
        }
        match &mut self.inline {
            Some(io) => Ok(io),
            None => Err(Error::Resource("inline I/O".to_owned())),
        }
    }

    /// Whether the socket drives its own connections (its context's I/O mode and its
    /// type: `CtxInner::inline_for`).
    pub(crate) fn is_inline(&self) -> bool {
        self.ctx.inline_for(self.socket_type)
    }

    /// A turn of the socket's own reactor that does not wait, if it has one: what the
    /// connections have for the socket now, before it says whether it is ready.
    pub(super) fn turn_inline(&mut self) {
        if let Some(host) = &mut self.inline {
            host.with(|io| io.turn(Some(Duration::ZERO)));
        }
    }

    /// Posts `cmd` where [`choose_io`](Self::choose_io) placed its object; on the socket's
    /// own reactor it is carried out before this returns (a connect starts now).
    pub(super) fn send_io(&mut self, thread: usize, cmd: IoCommand) {
        match &mut self.inline {
            Some(host) if thread == INLINE => host.with(|io| {
                io.send(cmd);
                io.settle();
            }),
            _ => self.ctx.send_io(thread, cmd),
        }
    }

    /// Closes a listener and returns once it is closed (its address can be bound again):
    /// on the socket's own reactor the close is carried out by [`send_io`](Self::send_io)'s
    /// turn, on an I/O thread `CtxInner::close_listener` waits for it.
    pub(super) fn close_io(&mut self, thread: usize, id: u64) {
        if thread == INLINE {
            self.send_io(thread, IoCommand::Close { id, done: None });
        } else {
            self.ctx.close_listener(thread, id);
        }
    }

    /// A send or receive begins: counted for the helper's idleness check
    /// (`InlineHost::note_call`).
    pub(super) fn note_call(&self) {
        if let Some(host) = &self.inline {
            host.note_call();
        }
    }

    /// An async call found nothing to do and registered its waker: the socket's helper
    /// turns its reactor from now on, so that what its connections bring wakes the task
    /// (`InlineHost::watch_now`).
    pub(super) fn watch_inline(&self) {
        if let Some(host) = &self.inline {
            host.watch_now();
        }
    }

    /// Before a send: a turn without waiting when the send comes after a pause
    /// (`InlineHost::before_send`); `None` without inline I/O.
    pub(super) fn before_send(&mut self) -> Option<SendStart> {
        self.inline.as_mut().map(InlineHost::before_send)
    }

    /// After an accepted send of `size` bytes: writes it out now when it woke a session
    /// (its pipe's reader was asleep) unless it is part of a burst, and turns the reactor
    /// now and then (`InlineIo::after_send`); `start`: from
    /// [`before_send`](Self::before_send), `None` for a send begun now without a turn.
    pub(super) fn after_send(&mut self, size: usize, start: Option<SendStart>) {
        if let Some(host) = &mut self.inline {
            let start = start.unwrap_or_else(|| SendStart::now(false));
            host.after_send(size, start);
        }
    }

    /// `Socket::wait` with inline I/O: turns the reactor, blocking in its poll up to the
    /// deadline, instead of waiting for an I/O thread's command. Returns Ok when the caller
    /// should try again, [`Error::Again`] when the time is up.
    pub(super) fn wait_inline(&mut self, deadline: Option<Option<Instant>>) -> Result<()> {
        // Commands the throttle left queued may be what lets the caller proceed.
        if self.drain() {
            return self.check_term();
        }
        let timeout = match deadline {
            None => Some(Duration::ZERO),
            Some(None) => None,
            Some(Some(at)) => Some(at.saturating_duration_since(Instant::now())),
        };
        if let Some(host) = &mut self.inline {
            host.wait(timeout);
        }
        let commands = self.drain();
        self.check_term()?;
        match timeout {
            Some(t) if t.is_zero() && !commands => Err(Error::Again),
            _ => Ok(()),
        }
    }

    /// The socket is closing: its reactor delivers what is queued within LINGER on a
    /// thread of its own, which the context joins as it ends.
    pub(super) fn finish_inline(&mut self) {
        if let Some(host) = self.inline.take() {
            if let Some(handle) = host.finish() {
                self.ctx.add_lingering(handle);
            }
        }
    }
}

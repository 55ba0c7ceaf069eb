//! What a socket can do now, for `poll` and for external event loops: readiness, and the
//! readiness fd (libzmq's ZMQ_FD).

use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;

use isomq_core::{Error, Result};

use super::Socket;
use crate::doorbell::Doorbell;
use crate::mailbox::Signal;
use crate::readiness::PollEvents;

impl Socket {
    pub(crate) fn signal(&self) -> &Arc<Signal> {
        self.mailbox.signal()
    }

    /// The subset of `events` the socket is ready for now.
    pub(crate) fn readiness(&mut self, events: PollEvents) -> Result<PollEvents> {
        self.turn_inline();
        self.check_term()?;
        let mut found = PollEvents::NONE;
        if events.contains(PollEvents::IN) && self.pattern.has_in() {
            found = found | PollEvents::IN;
        }
        if events.contains(PollEvents::OUT) && self.pattern.has_out() {
            found = found | PollEvents::OUT;
        }
        Ok(found)
    }

    /// A file descriptor that becomes readable when the socket's state may have changed,
    /// for external event loops (epoll, mio, an async reactor): libzmq's ZMQ_FD. Like
    /// ZMQ_FD it is a wake-up, not a level: when it fires, call [`Socket::has_in`] /
    /// [`Socket::has_out`] (or receive until [`Error::Again`]), which also re-arms it.
    /// The fd belongs to the socket and is valid until the socket is closed.
    ///
    /// With inline I/O (`ContextBuilder::inline_io`) the fd is the socket's own poll,
    /// readable while its connections or its mailbox have something; `has_in`, `has_out`
    /// and the DONTWAIT calls do the socket's I/O.
    ///
    /// # Errors
    /// [`Error::Resource`] if the descriptor pair cannot be created.
    pub fn readiness_fd(&mut self) -> Result<RawFd> {
        if self.is_inline() {
            return self
                .ensure_inline()?
                .readiness_fd()
                .map_err(|e| Error::Resource(format!("readiness fd: {e}")));
        }
        if let Some(reader) = &self.fd_reader {
            return Ok(reader.as_raw_fd());
        }
        let (bell, reader) =
            Doorbell::pair().map_err(|e| Error::Resource(format!("readiness fd: {e}")))?;
        let fd = reader.as_raw_fd();
        self.mailbox.signal().set_fd_bell(bell);
        self.fd_reader = Some(reader);
        Ok(fd)
    }

    /// Whether a frame can be received now without blocking (ZMQ_POLLIN).
    pub fn has_in(&mut self) -> bool {
        self.turn_inline();
        self.drain();
        self.pattern.has_in()
    }

    /// Whether a frame can be sent now without blocking (ZMQ_POLLOUT).
    pub fn has_out(&mut self) -> bool {
        self.turn_inline();
        self.drain();
        self.pattern.has_out()
    }
}

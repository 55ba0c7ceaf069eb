//! A session's end: lingering after its socket closed (ZMQ_LINGER, docs/wire.md §7.2),
//! ending at once for `disconnect`.
//!
//! A closing session keeps its WebSocket and its reconnect schedule. It finishes when the
//! core's policy says everything the socket queued went out, when LINGER runs out (what is
//! left is dropped), or when no connection will come to carry it (reconnection off, or a
//! protocol error). "Went out" includes the WebSocket's `bufferedAmount`: bytes a
//! WebSocket holds are sent only if it is not torn down, and browsers have no event for
//! the buffer draining, so the drain timer looks until it is empty. Then the WebSocket is
//! closed with status 1000, behind the bytes it sent.

use std::time::Duration;

use isomq_core::session::Done;

use super::Session;
use crate::host::Host;

impl Session {
    /// The socket closed (its end of the pipe is terminated): deliver what it queued within
    /// `linger`, LINGER as the socket has it now (libzmq reads it at close too); `None`
    /// waits for as long as it takes. [`Session::is_finished`] tells when it is over.
    pub(crate) fn begin_close(&mut self, linger: Option<Duration>, host: &dyn Host) {
        self.closing = true;
        self.linger = linger;
        let _ = self.drive(host);
    }

    /// Closing is over: end the session with [`Session::finish`].
    pub(crate) fn is_finished(&self) -> bool {
        self.finished
    }

    /// After anything happened: a closing session looks whether it is finished; a session
    /// that goes on sets its timers.
    pub(super) fn settle(&mut self, host: &dyn Host) {
        if self.closing && !self.finished {
            if !self.is_ready() {
                // Nobody reads the pipe without a ready connection: look whether the socket
                // left anything in it (a message taken out goes first on the next one).
                self.policy.poll_pipe_idle();
            }
            let no_connection_to_come =
                self.engine.is_none() && !self.policy.lifecycle().reconnecting();
            let unsent = self.unsent();
            self.finished = no_connection_to_come
                || self.policy.check_done(host.now(), self.linger, unsent) == Done::Yes;
        }
        if !self.finished {
            self.set_timers(host);
        }
    }

    /// Bytes of the socket's messages not yet sent: encoded and not handed to the
    /// WebSocket, or held in its buffer. Bytes of a handshake in progress are not the
    /// socket's.
    fn unsent(&self) -> bool {
        if !self.is_ready() {
            return false;
        }
        self.engine.as_ref().is_some_and(|e| {
            e.ws.buffered_amount() > 0 || e.conn.as_ref().is_some_and(|c| c.transmit_len() > 0)
        })
    }

    /// Ends a finished session: its timers stop and its WebSocket closes normally.
    pub(crate) fn finish(self, host: &dyn Host) {
        host.cancel_timers(self.key());
        if let Some(engine) = &self.engine {
            engine.ws.close();
        }
    }

    /// `disconnect`: hands what is queued to an open connection now and closes it, without
    /// LINGER (as native sockets' `disconnect`). A connection not yet open loses its queued
    /// messages.
    pub(crate) fn disconnect(mut self, host: &dyn Host) {
        host.cancel_timers(self.key());
        let _ = self.pump(true, host.now());
        if let Some(engine) = self.engine.take() {
            engine.ws.close();
        }
    }
}

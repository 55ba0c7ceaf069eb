//! A session's life around its connections (docs/wire.md §7.2–§7.4): connecting and
//! reconnecting by the core's backoff, the thread timers behind its deadlines (handshake,
//! heartbeat, linger), what a failed engine leads to, and finishing once its socket is
//! gone. The policy is the core's `Lifecycle`; this is the I/O thread's side of it.

use std::sync::atomic::Ordering;
use std::time::Duration;

use isomq_core::session::{Action, Expired};
use isomq_core::Pipe;
use mio::Registry;

use super::{Outcome, Session};
use crate::engine::{Failure, Kind};
use crate::io_thread::services::Services;
use crate::monitor::MonitorEvent;
use crate::stream::PeerAddr;
use crate::transport::random_u64;

impl Session {
    /// Sets a thread timer for the lifecycle's next deadline unless one fires before it.
    /// A timer that finds nothing due (the deadline moved) costs one look.
    pub(super) fn arm(&mut self, sv: &mut Services) {
        let Some(at) = self.life.poll_timeout() else {
            return;
        };
        if self.armed.is_some_and(|armed| armed <= at) {
            return;
        }
        self.armed = Some(at);
        sv.add_timer(at, self.slot, self.id);
    }

    /// Starts a connection attempt (the first one at once, later ones from the timer).
    pub(crate) fn start_connect(&mut self, sv: &mut Services, registry: &Registry) {
        let Some(addr) = &self.connect else { return };
        let kind = match addr {
            PeerAddr::Ws { uri, .. } => Kind::WsClient { uri: uri.clone() },
            _ => Kind::Zmtp,
        };
        match addr.connect() {
            Ok(stream) => {
                if self.start_engine(stream, kind, true, sv, registry).is_err() {
                    let _ = self.schedule_reconnect(sv);
                } else {
                    self.emit(|endpoint| MonitorEvent::ConnectDelayed { endpoint });
                }
            }
            Err(_) => {
                let _ = self.schedule_reconnect(sv);
            }
        }
    }

    /// The connection or the attempt is gone: schedules the next attempt by the core's
    /// backoff. Returns false when there will be none.
    fn schedule_reconnect(&mut self, sv: &mut Services) -> bool {
        let Some(delay) = self.life.handle_lost(sv.clock(), random_u64()) else {
            return false;
        };
        self.arm(sv);
        self.emit(|endpoint| MonitorEvent::ConnectRetried {
            endpoint,
            interval: delay,
        });
        true
    }

    /// A thread timer set by [`Session::arm`] fired: acts on what the lifecycle says is due.
    pub(crate) fn on_timer(&mut self, sv: &mut Services, registry: &Registry) -> Outcome {
        let now = sv.clock();
        if self.armed.is_some_and(|armed| armed <= now) {
            self.armed = None;
        }
        self.life.handle_timeout(now);
        let mut outcome = Outcome::Keep;
        while let Some(action) = self.life.poll_action() {
            outcome = match action {
                Action::Connect if self.engine.is_none() && !self.lingering_done() => {
                    self.start_connect(sv, registry);
                    self.drive(sv, registry)
                }
                Action::Connect => Outcome::Keep,
                Action::Ping { ttl_deciseconds } => {
                    if let Some(engine) = self.engine.as_mut().filter(|e| e.is_ready()) {
                        engine.send_ping(ttl_deciseconds);
                    }
                    self.drive(sv, registry)
                }
                Action::Disconnect(expired) if self.engine.is_some() => {
                    let why = match expired {
                        Expired::Handshake => "handshake timed out",
                        Expired::Heartbeat | Expired::PeerTtl => "heartbeat timed out",
                    };
                    self.engine_failed(Failure::Transient, why, sv, registry)
                }
                Action::Disconnect(_) => Outcome::Keep,
                Action::Finish => Outcome::Close,
            };
            if outcome == Outcome::Close {
                return outcome;
            }
        }
        self.arm(sv);
        outcome
    }

    fn lingering_done(&self) -> bool {
        self.pipe_done && self.pending_out.is_none()
    }

    pub(super) fn check_done(&mut self, sv: &mut Services) -> Outcome {
        // The socket closed its end (or disconnected us): finish within LINGER. This must
        // not wait for the pipe to be read, which only happens on a live connection.
        let socket_gone = self.orphaned
            || self.pipe_done
            || self.pipe.as_ref().is_some_and(|p| p.peer_terminated());
        if !socket_gone {
            return Outcome::Keep;
        }
        // What the socket queued: up to its delimiter; for an orphan (whose socket may not
        // look at its mailbox again), what is in the pipe now.
        let queued = if self.orphaned {
            self.pipe.as_mut().is_some_and(Pipe::check_read)
        } else {
            !self.pipe_done
        };
        // Only what the socket sent counts: bytes of a handshake in progress do not.
        let unsent = queued
            || self.pending_out.is_some()
            || self
                .engine
                .as_ref()
                .is_some_and(|e| e.is_ready() && e.transmit_len() > 0);
        if !unsent {
            return Outcome::Close;
        }
        if !self.lingering {
            self.lingering = true;
            // LINGER as it is when the socket closes (libzmq reads it then too).
            let linger = u64::try_from(self.link.linger_ms.load(Ordering::Relaxed))
                .ok()
                .map(Duration::from_millis);
            if linger == Some(Duration::ZERO) {
                return Outcome::Close;
            }
            self.life.handle_linger(sv.clock(), linger);
            self.arm(sv);
        }
        Outcome::Keep
    }

    pub(super) fn engine_failed(
        &mut self,
        failure: Failure,
        why: &str,
        sv: &mut Services,
        registry: &Registry,
    ) -> Outcome {
        if let Some(mut engine) = self.engine.take() {
            engine.deregister(registry);
            let reason = match failure {
                Failure::Protocol => format!("protocol error: {why}"),
                Failure::Transient => why.to_owned(),
            };
            // A refused or failed connect attempt is not a connection: only the retry
            // is reported (as libzmq).
            if engine.is_ready() {
                self.emit(|endpoint| MonitorEvent::Disconnected { endpoint, reason });
            } else if !engine.is_connecting() {
                self.emit(|endpoint| MonitorEvent::HandshakeFailed { endpoint, reason });
            }
        }
        self.pending_in = None;
        if failure == Failure::Protocol {
            // libzmq does not reconnect to a peer that broke the protocol (docs/wire.md §7.4).
            self.life.stop_reconnecting();
        }
        if self.connect.is_none() || self.lingering_done() || !self.schedule_reconnect(sv) {
            return Outcome::Close;
        }
        Outcome::Keep
    }

    /// Its listener or ws:// path went away (unbind, or the socket closed): the session
    /// stops taking messages from the peer for the socket and tells the socket it is gone,
    /// then delivers what the socket had already queued for it within LINGER, as libzmq's
    /// sessions do when their owner terminates (docs/wire.md §7.2). Returns false for a
    /// session with nothing to deliver (no pipe yet: handshake unfinished), to be closed now.
    pub(crate) fn orphan(&mut self) -> bool {
        match &mut self.pipe {
            Some(pipe) => {
                pipe.terminate();
                self.pending_in = None;
                self.orphaned = true;
                true
            }
            None => false,
        }
    }
}

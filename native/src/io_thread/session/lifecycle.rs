//! A session's life around its connections (docs/wire.md §7.2–§7.4): connecting and
//! reconnecting by the core's backoff, the thread timers behind its deadlines (connect,
//! handshake, heartbeat, linger), what a failed engine leads to, and finishing once its socket is
//! gone. The policy is the core session's; this is the I/O thread's side of it.

use std::sync::atomic::Ordering;
use std::time::Duration;

use isomq_core::session::{Action, Codec, Done, Expired};
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
        let Some(at) = self.policy.lifecycle().poll_timeout() else {
            return;
        };
        if self.armed.is_some_and(|armed| armed <= at) {
            return;
        }
        // One timer per session: an earlier deadline replaces the one set.
        if let Some(old) = self.armed.replace(at) {
            sv.cancel_timer(old, self.slot, self.id);
        }
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
        let Some(delay) = self.policy.handle_lost(sv.clock(), random_u64()) else {
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
        self.policy.handle_timeout(now);
        let mut outcome = Outcome::Keep;
        loop {
            // Pings due go straight to a ready engine.
            let codec = self.engine.as_mut().map(|e| e as &mut dyn Codec);
            let Some(action) = self.policy.poll_action(codec) else {
                break;
            };
            outcome = match action {
                Action::Connect if self.engine.is_none() && !self.policy.nothing_to_deliver() => {
                    self.start_connect(sv, registry);
                    self.drive(sv, registry)
                }
                Action::Connect => Outcome::Keep,
                Action::Ping { .. } => Outcome::Keep,
                Action::Disconnect(expired) if self.engine.is_some() => {
                    let why = match expired {
                        Expired::Connect => "connect timed out",
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
        // Pings are written by the next drive.
        let outcome = match outcome {
            Outcome::Keep if self.engine.is_some() => self.drive(sv, registry),
            other => other,
        };
        if outcome == Outcome::Keep {
            self.arm(sv);
        }
        outcome
    }

    /// The socket closed its end (or disconnected us, or the listener went): finish once
    /// everything it queued is out, or within LINGER (as the socket has it now: libzmq
    /// reads it at close too). Bytes of a handshake in progress are not the socket's.
    pub(super) fn check_done(&mut self, sv: &mut Services) -> Outcome {
        let unsent = self
            .engine
            .as_ref()
            .is_some_and(|e| e.is_ready() && e.transmit_len() > 0);
        let linger = u64::try_from(self.link.linger_ms.load(Ordering::Relaxed))
            .ok()
            .map(Duration::from_millis);
        match self.policy.check_done(sv.clock(), linger, unsent) {
            Done::Yes => Outcome::Close,
            Done::No => {
                self.arm(sv);
                Outcome::Keep
            }
        }
    }

    pub(super) fn engine_failed(
        &mut self,
        failure: Failure,
        why: &str,
        sv: &mut Services,
        registry: &Registry,
    ) -> Outcome {
        // A ZAP request of the connection that failed has no one left to answer.
        self.zap = None;
        if let Some(mut engine) = self.engine.take() {
            if failure != Failure::Transient {
                // An ERROR the mechanism queued for the peer goes out before the close.
                let _ = engine.write();
            }
            engine.deregister(registry);
            // What the engine knows (a TLS certificate error, an HTTP refusal) says more
            // than the kind of failure.
            let why = engine.take_failure().unwrap_or_else(|| why.to_owned());
            let reason = match failure {
                Failure::Protocol => format!("protocol error: {why}"),
                Failure::Auth(_) | Failure::Transient => why,
            };
            // A refused or failed connect attempt is not a connection: only the retry
            // is reported (as libzmq).
            if let (Failure::Auth(status), false) = (failure, self.ready) {
                self.emit(|endpoint| MonitorEvent::HandshakeFailedAuth { endpoint, status });
            } else if self.ready {
                let messages_out = self.policy.messages_out();
                self.emit(|endpoint| MonitorEvent::Disconnected {
                    endpoint,
                    reason,
                    messages_out,
                });
            } else if !engine.is_connecting() {
                self.emit(|endpoint| MonitorEvent::HandshakeFailed { endpoint, reason });
            }
        }
        if failure != Failure::Transient {
            // libzmq does not reconnect to a peer that broke the protocol (docs/wire.md §7.4).
            self.policy.lifecycle().stop_reconnecting();
        }
        if self.connect.is_none() {
            // Takes back a message cut short; nothing more will come.
            let _ = self.policy.handle_lost(sv.clock(), 0);
            return Outcome::Close;
        }
        if self.policy.nothing_to_deliver() || !self.schedule_reconnect(sv) {
            return Outcome::Close;
        }
        // What the socket queued before the failure raises no new event: drive the session
        // now as one without a connection. A socket that closed (its pipe's end already
        // queued) ends the session here unless it left messages to deliver within LINGER;
        // the failure may have come from the read made before the first output after a
        // pause, before the output was looked at (`Session::pump_once`).
        self.drive_idle(sv)
    }

    /// Its listener or ws:// path went away (unbind, or the socket closed): see the core's
    /// `Session::orphan`. Returns false for a session with nothing to deliver (no pipe yet:
    /// handshake unfinished), to be closed now.
    pub(crate) fn orphan(&mut self) -> bool {
        self.policy.orphan()
    }
}

//! A session: one `ws://` connection of a socket, for the socket's whole life. The policy is
//! the core's [`isomq_core::session::Session`] (the same as native sessions run): the pipe
//! to the socket's pattern, reconnect backoff, the handshake deadline, a ROUTER's peer id.
//! This host adds the WebSocket and the JavaScript event loop's timers. When the WebSocket
//! closes it reconnects after a backoff, keeping the pipe (messages queue in it up to SNDHWM
//! meanwhile).
//!
//! # Flow control
//!
//! Outbound: messages leave the pipe only while the WebSocket's `bufferedAmount` is below
//! [`OUT_BATCH`], so a slow link fills the pipe and the socket's SNDHWM applies (`send`
//! waits, or PUB drops, as in libzmq). Browsers have no "drained" event: a short timer looks
//! again.
//!
//! Inbound: a browser WebSocket cannot be paused. What WebSocket messages bring waits for
//! room while the pipe to the socket is at RCVHWM (the application is not reading), up to
//! [`HELD_INPUT`] bytes; when a new message would take it over that, what still finds no
//! room is dropped whole and counted ([`Inbound::DropAtHwm`]). Memory stays bounded by
//! RCVHWM messages plus `HELD_INPUT` bytes and one WebSocket message per connection.
//!
//! # Closing
//!
//! When its socket closes, a session lingers (`close.rs`): it keeps delivering what the
//! socket queued, reconnecting if need be, until all of it has left the WebSocket's buffer or
//! LINGER runs out, then closes the WebSocket with status 1000.

mod close;
mod codec;

use std::time::Duration;

use isomq_core::session::{Action, Inbound, Session as Policy, SessionEvent, OUT_BATCH};
use isomq_core::zmtp::Config;
use isomq_core::zws::{Connection, Subprotocol};
use isomq_core::{Options, Pipe, PipeId, Result, SocketType};

use crate::host::{ConnKey, Host, HostRandom, Input, TimerKey, TimerKind};
use codec::{flush_transmit, Engine, WsCodec};

/// How often a session blocked on a full WebSocket buffer looks again.
const DRAIN_POLL_MS: u32 = 5;

/// Input that waits for room in the pipe (at RCVHWM) is dropped only when a new WebSocket
/// message would take it over this many bytes: browsers and Node dispatch the messages of
/// one network read one after another, with no chance for the application to read in
/// between, and a burst of a few batches (docs/wire.md §10.9) must not be lost to that.
pub(crate) const HELD_INPUT: usize = 256 * 1024;

/// What happened to a session that its socket must act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    Nothing,
    /// The ZWS handshake completed; `again` after an earlier connection (resubscribe).
    Connected {
        again: bool,
    },
    /// A connection that had completed its handshake was lost.
    Disconnected,
}

#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) id: u64,
    socket: u64,
    socket_type: SocketType,
    /// The endpoint as the user gave it.
    pub(crate) url: String,
    protocols: Vec<String>,
    options: Options,
    pipe_id: PipeId,
    engine: Option<Engine>,
    generation: u64,
    /// The core's session: pipe, timers, routing id.
    policy: Policy,
    /// When the pending lifecycle timer fires, if one is set.
    armed: Option<Duration>,
    drain_timer: bool,
    /// The socket closed: deliver what it queued, then finish.
    closing: bool,
    /// LINGER as the socket had it when it closed (`None`: forever).
    linger: Option<Duration>,
    /// Closing is over: the session is to be ended with [`Session::finish`].
    finished: bool,
}

impl Session {
    pub(crate) fn new(
        id: u64,
        socket: u64,
        socket_type: SocketType,
        url: String,
        protocols: Vec<String>,
        options: Options,
        pipe: Pipe,
    ) -> Session {
        // A page cannot send WebSocket pings, and a silent server is not a dead one: the
        // heartbeat options are the native host's (a native server pings its browsers).
        let mut timing = options.clone();
        timing.heartbeat_ivl = None;
        timing.heartbeat_timeout = None;
        let mut policy = Policy::new(socket_type, &timing, true, Inbound::DropAtHwm);
        let pipe_id = pipe.id();
        policy.attach_pipe(pipe);
        Session {
            id,
            socket,
            socket_type,
            url,
            protocols,
            options,
            pipe_id,
            engine: None,
            generation: 0,
            policy,
            armed: None,
            drain_timer: false,
            closing: false,
            linger: None,
            finished: false,
        }
    }

    pub(crate) fn pipe_id(&self) -> PipeId {
        self.pipe_id
    }

    /// Inbound messages dropped because the pipe to the socket was full.
    pub(crate) fn dropped(&self) -> u64 {
        self.policy.dropped()
    }

    pub(crate) fn key(&self) -> ConnKey {
        ConnKey {
            socket: self.socket,
            session: self.id,
            generation: self.generation,
        }
    }

    /// Whether `conn` names the current WebSocket.
    fn current(&self, conn: ConnKey) -> bool {
        self.engine.is_some() && conn.generation == self.generation
    }

    fn is_ready(&self) -> bool {
        self.engine
            .as_ref()
            .and_then(|e| e.conn.as_ref())
            .is_some_and(Connection::is_ready)
    }

    /// Opens a WebSocket (the first time at once, later from the reconnect timer). Err: the
    /// environment refused to make one; a reconnect is scheduled.
    pub(crate) fn start(&mut self, host: &dyn Host) -> Result<()> {
        self.generation += 1;
        match host.open(&self.url, &self.protocols, self.key()) {
            Ok(ws) => {
                self.engine = Some(Engine { ws, conn: None });
                // A server that accepts the TCP connection but never completes the upgrade
                // or the handshake must not hold the connection forever (as native).
                self.policy.handle_started(host.now());
                self.arm(host);
                Ok(())
            }
            Err(e) => {
                self.lost(host);
                Err(e)
            }
        }
    }

    /// The connection or the attempt is gone: schedule the next one (the core's backoff).
    fn lost(&mut self, host: &dyn Host) {
        let _ = self.policy.handle_lost(host.now(), host.random());
        self.arm(host);
    }

    /// Sets the host timer for the lifecycle's next deadline, unless one is set for it.
    fn arm(&mut self, host: &dyn Host) {
        let Some(at) = self.policy.lifecycle().poll_timeout() else {
            return;
        };
        if self.armed == Some(at) {
            return;
        }
        self.armed = Some(at);
        let delay = at.saturating_sub(host.now());
        // Rounded up: a timer that fires early finds nothing due and must be set again.
        let ms = delay.as_micros().div_ceil(1000);
        host.set_timer(
            u32::try_from(ms).unwrap_or(u32::MAX),
            TimerKey {
                conn: self.key(),
                kind: TimerKind::Lifecycle,
            },
        );
    }

    /// Acts on what the environment reported about this session's WebSocket or timers.
    pub(crate) fn handle(&mut self, input: Input, host: &dyn Host) -> Change {
        let conn = input.conn();
        let change = match input {
            Input::Open { protocol, .. } => {
                self.on_open(conn, &protocol, host);
                Change::Nothing
            }
            Input::Message { data, .. } => self.on_message(conn, data, host),
            Input::Invalid { .. } => self.on_invalid(conn),
            Input::Closed { .. } => self.on_closed(conn, host),
            Input::Timer(key) => {
                self.on_timer(key, host);
                Change::Nothing
            }
        };
        if self.closing {
            // Inputs that do not drive the session (a lost connection, a timer) may end it.
            self.settle(host);
        }
        change
    }

    fn on_timer(&mut self, key: TimerKey, host: &dyn Host) {
        match key.kind {
            TimerKind::Drain if key.conn.generation == self.generation => {
                self.drain_timer = false;
                // Only messages from the pipe move here: no handshake completes.
                let _ = self.drive(host);
            }
            TimerKind::Drain => {}
            TimerKind::Lifecycle => {
                self.armed = None;
                let now = host.now();
                self.policy.handle_timeout(now);
                while let Some(action) = self.policy.poll_action(None) {
                    match action {
                        // Closing, a connection is made only for what is left to deliver.
                        Action::Connect
                            if self.engine.is_none() && !self.policy.nothing_to_deliver() =>
                        {
                            // A failure schedules the next attempt.
                            let _ = self.start(host);
                        }
                        Action::Disconnect(_) if self.engine.is_some() => {
                            // Not connected yet, so there is nothing to report: try again.
                            let _ = self.fail(false);
                            let _ = self.policy.handle_lost(now, host.random());
                        }
                        // LINGER ran out: what is left is dropped.
                        Action::Finish => self.finished = true,
                        _ => {}
                    }
                }
                self.arm(host);
            }
        }
    }

    fn on_open(&mut self, conn: ConnKey, protocol: &str, host: &dyn Host) {
        if !self.current(conn) {
            return;
        }
        // The WebSocket API already refuses a subprotocol that was not offered.
        let Some(subprotocol) = Subprotocol::from_token(protocol) else {
            self.fail(true);
            return;
        };
        // The codec refuses a subprotocol of another mechanism than the socket's: a socket
        // set up for CURVE never talks in clear.
        let Ok(auth) = self.options.security.auth() else {
            self.fail(true);
            return;
        };
        let config = Config {
            socket_type: self.socket_type,
            identity: self.options.routing_id.clone(),
            max_msg_size: self.options.maxmsgsize,
            auth,
        };
        if let Some(engine) = &mut self.engine {
            // The page is the client: with the batch extension it waits for the server's
            // first message, in case the server only echoed the token (docs/wire.md §10.9).
            engine.conn = Some(if subprotocol.mechanism() == "NULL" {
                Connection::client(config, subprotocol)
            } else {
                Connection::with_random(config, subprotocol, &mut HostRandom(host))
            });
        }
        // The first messages (READY) go out; the peer's come later, with `on_message`.
        let _ = self.drive(host);
    }

    /// One binary WebSocket message.
    fn on_message(&mut self, conn: ConnKey, data: bytes::Bytes, host: &dyn Host) -> Change {
        if !self.current(conn) {
            return Change::Nothing;
        }
        let Some(engine) = &mut self.engine else {
            return Change::Nothing;
        };
        let Some(zws) = &mut engine.conn else {
            return Change::Nothing;
        };
        // The WebSocket cannot be paused: past HELD_INPUT, what earlier messages brought and
        // still finds no room in the pipe is dropped, whole messages, and counted
        // (docs/wire.md §7.1).
        let mut codec = WsCodec {
            zws,
            ws: engine.ws.as_ref(),
            unbounded: false,
        };
        let over = codec.zws.input_bytes().saturating_add(data.len()) > HELD_INPUT;
        if (over && self.policy.make_room(host.now(), &mut codec).is_err())
            || codec.zws.handle_message(data).is_err()
        {
            return self.fail(true);
        }
        self.drive(host)
    }

    /// A message ZWS cannot carry (text): the peer is not speaking ZWS.
    fn on_invalid(&mut self, conn: ConnKey) -> Change {
        if !self.current(conn) {
            return Change::Nothing;
        }
        self.fail(true)
    }

    fn on_closed(&mut self, conn: ConnKey, host: &dyn Host) -> Change {
        if !self.current(conn) {
            return Change::Nothing;
        }
        let change = self.fail(false);
        self.lost(host);
        change
    }

    /// Drops the engine. A protocol error also stops reconnection.
    fn fail(&mut self, protocol: bool) -> Change {
        let was_ready = self.is_ready();
        if let Some(mut engine) = self.engine.take() {
            // What arrived whole and waits for room goes to the pipe if it fits now; the
            // rest is lost with the connection, and counted as dropped.
            if let Some(zws) = &mut engine.conn {
                let mut codec = WsCodec {
                    zws,
                    ws: engine.ws.as_ref(),
                    unbounded: false,
                };
                // The connection is going: a handshake event still pending has no timer to
                // set, so the time it is given does not matter.
                let _ = self.policy.make_room(std::time::Duration::ZERO, &mut codec);
            }
            engine.ws.abort();
        }
        self.drain_timer = false;
        if protocol {
            // libzmq does not reconnect to a peer that broke the protocol (docs/wire.md §7.4).
            self.policy.lifecycle().stop_reconnecting();
        }
        if was_ready {
            Change::Disconnected
        } else {
            Change::Nothing
        }
    }

    /// Moves what can move between the WebSocket and the pipe; reports a completed
    /// handshake. Sets the drain timer while the WebSocket's buffer is over its bound.
    pub(crate) fn drive(&mut self, host: &dyn Host) -> Change {
        let change = match self.pump(false, host.now()) {
            Ok(change) => change,
            Err(_) => self.fail(true),
        };
        self.settle(host);
        change
    }

    /// Sets the timers the session's state calls for: the drain timer while the
    /// WebSocket's buffer is over its bound, the lifecycle's next deadline.
    fn set_timers(&mut self, host: &dyn Host) {
        if self.blocked() && !self.drain_timer {
            self.drain_timer = true;
            host.set_timer(
                DRAIN_POLL_MS,
                TimerKey {
                    conn: self.key(),
                    kind: TimerKind::Drain,
                },
            );
        }
        self.arm(host);
    }

    /// The WebSocket's buffer is over its bound: messages may wait in the pipe. Closing,
    /// the bound is any byte: the WebSocket closes once its buffer is empty.
    fn blocked(&self) -> bool {
        let bound = if self.closing { 1 } else { OUT_BATCH as u64 };
        self.is_ready()
            && self
                .engine
                .as_ref()
                .is_some_and(|e| e.ws.buffered_amount() >= bound)
    }

    /// Drives the core session over the current connection. `all`: ignore the buffer bound
    /// (disconnecting: hand everything over now).
    fn pump(&mut self, all: bool, now: Duration) -> Result<Change> {
        let Some(engine) = &mut self.engine else {
            return Ok(Change::Nothing);
        };
        let Some(zws) = &mut engine.conn else {
            return Ok(Change::Nothing);
        };
        let mut codec = WsCodec {
            zws,
            ws: engine.ws.as_ref(),
            unbounded: all,
        };
        self.policy.drive(now, &mut codec)?;
        // Handshake messages (READY) are not sent through `send_msg`.
        flush_transmit(codec.zws, codec.ws);
        let mut change = Change::Nothing;
        while let Some(event) = self.policy.poll_event() {
            // ZAP requests come from server-side mechanisms, which a page does not run.
            if let SessionEvent::Ready { hiccup, .. } = event {
                change = Change::Connected { again: hiccup };
            }
        }
        Ok(change)
    }
}

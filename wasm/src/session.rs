//! A session: one `ws://` connection of a socket, for the socket's whole life. It owns the
//! pipe end that leads to the socket's pattern and, while connected, an engine: the WebSocket
//! plus the sans-IO ZWS connection. When the WebSocket closes it reconnects after a backoff,
//! keeping the pipe (messages queue in it up to SNDHWM meanwhile).
//!
//! # Flow control
//!
//! Outbound: messages leave the pipe only while the WebSocket's `bufferedAmount` is below
//! [`OUT_BUFFER`], so a slow link fills the pipe and the socket's SNDHWM applies (`send`
//! waits, or PUB drops, as in libzmq). Browsers have no "drained" event: a short timer looks
//! again.
//!
//! Inbound: a browser WebSocket cannot be paused. A message arriving while the pipe to the
//! socket is at RCVHWM (the application is not reading) is dropped whole and counted in
//! [`Session::dropped`]; memory stays bounded by RCVHWM messages per connection.

use std::time::Duration;

use isomq_core::session::{Action, Lifecycle};
use isomq_core::zmtp::{Config, Event};
use isomq_core::zws::{Connection, Subprotocol};
use isomq_core::{Msg, Options, Pipe, PipeId, SocketType};

use crate::host::{ConnKey, Host, TimerKey, TimerKind, Ws};

/// Stop taking messages from the pipe while the WebSocket holds this many unsent bytes.
pub(crate) const OUT_BUFFER: u64 = 1024 * 1024;
/// How often a session blocked on a full WebSocket buffer looks again.
const DRAIN_POLL_MS: u32 = 5;

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

struct Engine {
    ws: Box<dyn Ws>,
    /// Made when the WebSocket opens and the subprotocol is known.
    conn: Option<Connection>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("conn", &self.conn)
            .finish_non_exhaustive()
    }
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
    pipe: Pipe,
    engine: Option<Engine>,
    generation: u64,
    /// Reconnect backoff and the handshake deadline: the core's policy, as native's.
    life: Lifecycle,
    /// When the pending lifecycle timer fires, if one is set.
    armed: Option<Duration>,
    /// Dropping the rest of an inbound message whose first frame found the pipe full.
    dropping: bool,
    /// A ROUTER's peer routing id that found the pipe full (of an earlier connection's
    /// messages): it goes first once there is room, and until then this connection's
    /// messages are dropped, never delivered under a wrong or generated id.
    pending_routing_id: Option<Msg>,
    /// Inbound messages dropped because the pipe to the socket was full.
    pub(crate) dropped: u64,
    /// The last frame sent had MORE: the rest of its message must follow, buffer full or not.
    out_more: bool,
    drain_timer: bool,
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
        Session {
            id,
            socket,
            socket_type,
            url,
            protocols,
            life: Lifecycle::new(&timing, true),
            armed: None,
            options,
            pipe,
            engine: None,
            generation: 0,
            dropping: false,
            pending_routing_id: None,
            dropped: 0,
            out_more: false,
            drain_timer: false,
        }
    }

    pub(crate) fn pipe_id(&self) -> PipeId {
        self.pipe.id()
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
    pub(crate) fn start(&mut self, host: &dyn Host) -> isomq_core::Result<()> {
        self.generation += 1;
        match host.open(&self.url, &self.protocols, self.key()) {
            Ok(ws) => {
                self.engine = Some(Engine { ws, conn: None });
                // A server that accepts the TCP connection but never completes the upgrade
                // or the handshake must not hold the connection forever (as native).
                self.life.handle_started(host.now());
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
        let _ = self.life.handle_lost(host.now(), host.random());
        self.arm(host);
    }

    /// Sets the host timer for the lifecycle's next deadline, unless one is set for it.
    fn arm(&mut self, host: &dyn Host) {
        let Some(at) = self.life.poll_timeout() else {
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

    pub(crate) fn on_timer(&mut self, key: TimerKey, host: &dyn Host) {
        match key.kind {
            TimerKind::Drain if key.conn.generation == self.generation => {
                self.drain_timer = false;
                self.drive(host);
            }
            TimerKind::Drain => {}
            TimerKind::Lifecycle => {
                self.armed = None;
                let now = host.now();
                self.life.handle_timeout(now);
                while let Some(action) = self.life.poll_action() {
                    match action {
                        Action::Connect if self.engine.is_none() => {
                            // A failure schedules the next attempt.
                            let _ = self.start(host);
                        }
                        Action::Disconnect(_) if self.engine.is_some() => {
                            // Not connected yet, so there is nothing to report: try again.
                            let _ = self.fail(false);
                            let _ = self.life.handle_lost(now, host.random());
                        }
                        // Pings are off for pages; closing does not linger here.
                        _ => {}
                    }
                }
                self.arm(host);
            }
        }
    }

    pub(crate) fn on_open(&mut self, conn: ConnKey, protocol: &str, host: &dyn Host) {
        if !self.current(conn) {
            return;
        }
        let Some(subprotocol) = Subprotocol::select(protocol) else {
            // The server chose no ZWS 2.0 subprotocol we offered: it cannot be a ZWS peer.
            self.fail(true);
            return;
        };
        let config = Config {
            socket_type: self.socket_type,
            identity: self.options.routing_id.clone(),
            max_msg_size: self.options.maxmsgsize,
        };
        if let Some(engine) = &mut self.engine {
            engine.conn = Some(Connection::new(config, subprotocol));
        }
        self.drive(host);
    }

    /// One binary WebSocket message.
    pub(crate) fn on_message(
        &mut self,
        conn: ConnKey,
        data: bytes::Bytes,
        host: &dyn Host,
    ) -> Change {
        if !self.current(conn) {
            return Change::Nothing;
        }
        let Some(zws) = self.engine.as_mut().and_then(|e| e.conn.as_mut()) else {
            return Change::Nothing;
        };
        if zws.handle_message(data).is_err() {
            return self.fail(true);
        }
        let mut change = Change::Nothing;
        let mut wrote = false;
        while let Some(event) = zws.poll_event() {
            if let Event::Ready(peer) = event {
                change = Change::Connected {
                    again: self.life.handle_ready(host.now()),
                };
                // A ROUTER learns its peer's routing id in-band, as the first message of
                // each connection (as the native session and libzmq do).
                if self.socket_type == SocketType::Router {
                    match self.pipe.write_routing_id(&peer.identity) {
                        Ok(()) => wrote = true,
                        Err(id) => self.pending_routing_id = Some(id),
                    }
                }
            }
        }
        loop {
            let msg = match zws.poll_msg() {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(_) => return self.fail(true),
            };
            wrote |= write_pending(&mut self.pipe, &mut self.pending_routing_id);
            if self.pending_routing_id.is_some() {
                // Dropped whole, as at RCVHWM: counted once per message.
                if !self.dropping {
                    self.dropped += 1;
                }
                self.dropping = msg.more();
                continue;
            }
            wrote |= deliver(&mut self.pipe, msg, &mut self.dropping, &mut self.dropped);
        }
        if wrote {
            self.pipe.flush();
        }
        self.drive(host);
        change
    }

    /// A message ZWS cannot carry (text): the peer is not speaking ZWS.
    pub(crate) fn on_invalid(&mut self, conn: ConnKey) -> Change {
        if !self.current(conn) {
            return Change::Nothing;
        }
        self.fail(true)
    }

    pub(crate) fn on_closed(&mut self, conn: ConnKey, host: &dyn Host) -> Change {
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
        if let Some(engine) = self.engine.take() {
            engine.ws.close();
        }
        // Frames of a message cut short must not be completed by the next connection.
        self.pipe.rollback();
        self.dropping = false;
        self.pending_routing_id = None;
        self.drain_timer = false;
        if protocol {
            // libzmq does not reconnect to a peer that broke the protocol (docs/wire.md §7.4).
            self.life.stop_reconnecting();
        }
        if was_ready {
            Change::Disconnected
        } else {
            Change::Nothing
        }
    }

    /// Moves messages from the pipe to the WebSocket while it is ready and its buffer has room.
    pub(crate) fn drive(&mut self, host: &dyn Host) {
        if write_pending(&mut self.pipe, &mut self.pending_routing_id) {
            self.pipe.flush();
        }
        self.pump(false);
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
    }

    /// Messages wait in the pipe for the WebSocket's buffer to drain.
    fn blocked(&mut self) -> bool {
        self.is_ready()
            && self
                .engine
                .as_ref()
                .is_some_and(|e| e.ws.buffered_amount() >= OUT_BUFFER)
            && self.pipe.check_read()
    }

    /// `all`: ignore the buffer bound (closing: hand everything over now).
    fn pump(&mut self, all: bool) {
        let ready = self.is_ready();
        let Some(engine) = &mut self.engine else {
            return;
        };
        let Some(zws) = &mut engine.conn else {
            return;
        };
        if ready {
            while all || self.out_more || engine.ws.buffered_amount() < OUT_BUFFER {
                let Some(msg) = self.pipe.read() else { break };
                self.out_more = msg.more();
                zws.send_msg(&msg);
                flush_transmit(zws, engine.ws.as_ref());
            }
        }
        flush_transmit(zws, engine.ws.as_ref());
    }

    /// Hands what is queued to an open connection and closes it (socket close or
    /// disconnect). A connection not yet open loses its queued messages.
    pub(crate) fn close(mut self, host: &dyn Host) {
        host.cancel_timers(self.key());
        self.pump(true);
        if let Some(engine) = self.engine.take() {
            engine.ws.close();
        }
    }
}

/// Writes a waiting message (a ROUTER's peer routing id) if the pipe has room now; returns
/// whether it did.
fn write_pending(pipe: &mut Pipe, pending: &mut Option<Msg>) -> bool {
    let Some(msg) = pending.take() else {
        return false;
    };
    match pipe.write(msg) {
        Ok(()) => true,
        Err(msg) => {
            *pending = Some(msg);
            false
        }
    }
}

/// Writes one inbound frame to the pipe, or drops it (and the rest of its message) when the
/// pipe is at its HWM. Returns whether it was written.
fn deliver(pipe: &mut Pipe, msg: Msg, dropping: &mut bool, dropped: &mut u64) -> bool {
    let more = msg.more();
    if *dropping {
        *dropping = more;
        return false;
    }
    match pipe.write(msg) {
        Ok(()) => true,
        Err(_) => {
            *dropped += 1;
            *dropping = more;
            false
        }
    }
}

fn flush_transmit(zws: &mut Connection, ws: &dyn Ws) {
    while let Some(data) = zws.poll_transmit() {
        // A false return means the socket is closing; its Closed input follows.
        let _ = ws.send(&data);
    }
}

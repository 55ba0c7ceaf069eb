//! A session: one peer connection's life on an I/O thread. It owns the pipe end that leads
//! to the socket and, while connected, an [`Engine`] (the stream plus the sans-IO protocol
//! codec: ZMTP or ZWS). A connecting session outlives its engines and reconnects; an
//! accepted one ends with its connection (libzmq's `session_base_t` + its engines).

use std::sync::atomic::Ordering;
use std::time::Duration;

use isomq_core::zmtp::{Config, Event};
use isomq_core::{Msg, Options, Pipe, SocketType};
use mio::{Registry, Token};

use crate::command::{Owner, SocketCommand, SocketLink};
use crate::engine::{Engine, Failure, Kind};
use crate::io_thread::{Services, TimerKind};
use crate::listener::Parent;
use crate::monitor::MonitorEvent;
use crate::stream::{PeerAddr, Stream};
use crate::transport::random_u64;

/// Stop pulling from the pipe when this much output is waiting (batching bound).
const OUT_BATCH: usize = 256 * 1024;
/// Iterations of the pump per readiness event before letting other sessions run.
const BUDGET: usize = 64;

/// What the reactor should do with a session after driving it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Keep,
    Close,
}

#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) id: u64,
    slot: usize,
    link: SocketLink,
    options: Options,
    /// Set for connecting sessions: where to (re)connect.
    connect: Option<PeerAddr>,
    /// For sessions accepted on a ws:// port: the bind (path) that took the connection,
    /// so that unbinding the path closes it.
    pub(crate) route_id: Option<u64>,
    pipe: Option<Pipe>,
    engine: Option<Engine>,
    /// A decoded message waiting for room in the pipe (back-pressure).
    pending_in: Option<Msg>,
    /// A message taken from the pipe while no engine was up.
    pending_out: Option<Msg>,
    /// The socket's end is gone and everything it sent has been read from the pipe.
    pipe_done: bool,
    lingering: bool,
    was_connected: bool,
    backoff: Duration,
    generation: u64,
    /// The endpoint as connected or bound, for monitor events.
    endpoint: String,
    /// Reads that brought data; heartbeat timers compare it to see whether the peer spoke.
    reads: u64,
}

impl Session {
    pub(crate) fn connecting(
        id: u64,
        slot: usize,
        addr: PeerAddr,
        pipe: Pipe,
        owner: Owner,
        sv: &Services,
    ) -> Session {
        let Owner {
            link,
            options,
            endpoint,
        } = owner;
        pipe.attach(sv.notify(slot));
        let backoff = options.reconnect_ivl.unwrap_or(Duration::ZERO);
        Session {
            id,
            slot,
            link,
            options,
            connect: Some(addr),
            route_id: None,
            pipe: Some(pipe),
            engine: None,
            pending_in: None,
            pending_out: None,
            pipe_done: false,
            lingering: false,
            was_connected: false,
            backoff,
            generation: 0,
            endpoint,
            reads: 0,
        }
    }

    pub(crate) fn accepted(
        id: u64,
        slot: usize,
        stream: Stream,
        parent: Parent,
        sv: &mut Services,
        registry: &Registry,
    ) -> Option<Session> {
        parent.link.monitor.emit(|| MonitorEvent::Accepted {
            endpoint: parent.endpoint.clone(),
        });
        let mut s = Session {
            id,
            slot,
            link: parent.link,
            options: parent.options,
            connect: None,
            route_id: None,
            pipe: None,
            engine: None,
            pending_in: None,
            pending_out: None,
            pipe_done: false,
            lingering: false,
            was_connected: false,
            backoff: Duration::ZERO,
            generation: 0,
            endpoint: parent.endpoint,
            reads: 0,
        };
        let kind = match parent.ws {
            Some(routes) => Kind::WsServer { routes },
            None => Kind::Zmtp,
        };
        s.start_engine(stream, kind, false, sv, registry).ok()?;
        Some(s)
    }

    pub(crate) fn has_pipe(&self) -> bool {
        self.pipe.is_some()
    }

    pub(crate) fn owns_pipe(&self, id: isomq_core::PipeId) -> bool {
        self.pipe.as_ref().is_some_and(|p| p.id() == id)
    }

    pub(crate) fn set_ready(&mut self, readable: bool, writable: bool) {
        if let Some(e) = &mut self.engine {
            e.readable |= readable;
            e.writable |= writable;
        }
    }

    fn start_engine(
        &mut self,
        stream: Stream,
        kind: Kind,
        connecting: bool,
        sv: &mut Services,
        registry: &Registry,
    ) -> std::io::Result<()> {
        let config = Config {
            socket_type: self.link.socket_type,
            identity: self.options.routing_id.clone(),
            max_msg_size: self.options.maxmsgsize,
        };
        let engine = Engine::new(
            stream,
            kind,
            config,
            connecting,
            self.generation + 1,
            registry,
            Token(self.slot),
        )?;
        self.generation += 1;
        self.engine = Some(engine);
        if !connecting {
            self.arm_handshake_timer(sv);
        }
        Ok(())
    }

    fn arm_handshake_timer(&mut self, sv: &mut Services) {
        if let Some(ivl) = self.options.handshake_ivl {
            sv.add_timer(
                ivl,
                self.slot,
                self.id,
                TimerKind::Handshake(self.generation),
            );
        }
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
                    self.schedule_reconnect(sv);
                } else {
                    self.emit(|endpoint| MonitorEvent::ConnectDelayed { endpoint });
                }
            }
            Err(_) => self.schedule_reconnect(sv),
        }
    }

    fn schedule_reconnect(&mut self, sv: &mut Services) {
        let Some(ivl) = self.options.reconnect_ivl else {
            return;
        };
        let max = self.options.reconnect_ivl_max;
        let delay = if max.is_zero() {
            // libzmq: the interval plus a random jitter in [0, ivl), so that many clients
            // do not reconnect in lockstep.
            let ivl_ms = ivl.as_millis().max(1) as u64;
            ivl + Duration::from_millis(random_u64() % ivl_ms)
        } else {
            let d = self.backoff.min(max);
            self.backoff = (self.backoff * 2).min(max);
            d
        };
        sv.add_timer(delay, self.slot, self.id, TimerKind::Reconnect);
        self.emit(|endpoint| MonitorEvent::ConnectRetried {
            endpoint,
            interval: delay,
        });
    }

    fn emit(&self, event: impl FnOnce(String) -> MonitorEvent) {
        self.link.monitor.emit(|| event(self.endpoint.clone()));
    }

    /// Whether the engine of `generation` is the current one and past its handshake.
    fn live(&self, generation: u64) -> bool {
        self.engine
            .as_ref()
            .is_some_and(|e| e.generation == generation && e.is_ready())
    }

    pub(crate) fn on_timer(
        &mut self,
        kind: TimerKind,
        sv: &mut Services,
        registry: &Registry,
    ) -> Outcome {
        match kind {
            TimerKind::Reconnect => {
                if self.engine.is_none() && !self.lingering_done() {
                    self.start_connect(sv, registry);
                    return self.drive(sv, registry);
                }
                Outcome::Keep
            }
            TimerKind::Handshake(generation) => {
                let stalled = self
                    .engine
                    .as_ref()
                    .is_some_and(|e| e.generation == generation && !e.is_ready());
                if stalled {
                    return self.engine_failed(
                        Failure::Transient,
                        "handshake timed out",
                        sv,
                        registry,
                    );
                }
                Outcome::Keep
            }
            TimerKind::Linger => Outcome::Close,
            TimerKind::HeartbeatIvl(generation) => {
                if !self.live(generation) {
                    return Outcome::Keep;
                }
                let ttl = self.options.heartbeat_ttl.map_or(0, |t| {
                    u16::try_from(t.as_millis() / 100).unwrap_or(u16::MAX)
                });
                if let Some(engine) = &mut self.engine {
                    engine.send_ping(ttl);
                }
                if let Some(ivl) = self.options.heartbeat_ivl {
                    let timeout = self.options.heartbeat_timeout.unwrap_or(ivl);
                    let check = TimerKind::HeartbeatTimeout(generation, self.reads);
                    sv.add_timer(timeout, self.slot, self.id, check);
                    sv.add_timer(ivl, self.slot, self.id, TimerKind::HeartbeatIvl(generation));
                }
                self.drive(sv, registry)
            }
            TimerKind::HeartbeatTimeout(generation, reads)
            | TimerKind::HeartbeatTtl(generation, reads) => {
                // Any traffic since the timer was set proves the peer alive (libzmq).
                if self.live(generation) && self.reads == reads {
                    return self.engine_failed(
                        Failure::Transient,
                        "heartbeat timed out",
                        sv,
                        registry,
                    );
                }
                Outcome::Keep
            }
        }
    }

    fn lingering_done(&self) -> bool {
        self.pipe_done && self.pending_out.is_none()
    }

    /// Makes all the progress possible now: connect completion, handshake, reading,
    /// decoding into the pipe, pulling from the pipe, writing; then checks whether the
    /// session is finished.
    pub(crate) fn drive(&mut self, sv: &mut Services, registry: &Registry) -> Outcome {
        if self.engine.is_some() {
            if let Err(failure) = self.pump(sv) {
                let why = match failure {
                    Failure::Protocol => "the peer broke the protocol",
                    Failure::Transient => "the connection was closed or reset",
                };
                return self.engine_failed(failure, why, sv, registry);
            }
        } else if !self.pipe_done && self.pending_out.is_none() {
            // No engine: only look for the socket's termination. One message may be taken
            // out and kept for the next engine.
            if let Some(pipe) = &mut self.pipe {
                self.pending_out = pipe.read();
                if self.pending_out.is_none() && pipe.is_terminated() {
                    self.pipe_done = true;
                }
            }
        }
        self.check_done(sv)
    }

    fn check_done(&mut self, sv: &mut Services) -> Outcome {
        // The socket closed its end (or disconnected us): finish within LINGER. This must
        // not wait for the pipe to be read, which only happens on a live connection.
        let socket_gone = self.pipe_done || self.pipe.as_ref().is_some_and(|p| p.peer_terminated());
        if !socket_gone {
            return Outcome::Keep;
        }
        // Only what the socket sent counts: bytes of a handshake in progress do not.
        let unsent = !self.pipe_done
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
            match self.link.linger_ms.load(Ordering::Relaxed) {
                0 => return Outcome::Close,
                ms if ms > 0 => {
                    sv.add_timer(
                        Duration::from_millis(ms as u64),
                        self.slot,
                        self.id,
                        TimerKind::Linger,
                    );
                }
                _ => {}
            }
        }
        Outcome::Keep
    }

    fn pump(&mut self, sv: &mut Services) -> Result<(), Failure> {
        let Some(engine) = &mut self.engine else {
            return Ok(());
        };
        if engine.connecting {
            if !engine.writable {
                return Ok(());
            }
            if !engine.finish_connect()? {
                return Ok(());
            }
            self.arm_handshake_timer(sv);
            self.emit(|endpoint| MonitorEvent::Connected { endpoint });
        }
        for _ in 0..BUDGET {
            if !self.pump_once(sv)? {
                return Ok(());
            }
        }
        sv.drive_again(self.slot);
        Ok(())
    }

    /// One round of input and output; returns whether anything moved.
    fn pump_once(&mut self, sv: &mut Services) -> Result<bool, Failure> {
        let Some(engine) = &mut self.engine else {
            return Ok(false);
        };
        let mut progress = false;

        // Decoded input → pipe, until the pipe is full.
        if let Some(pipe) = &mut self.pipe {
            let mut wrote = false;
            while engine.is_ready() {
                let msg = match self.pending_in.take() {
                    Some(m) => m,
                    None => match engine.poll_msg()? {
                        Some(m) => m,
                        None => break,
                    },
                };
                match pipe.write(msg) {
                    Ok(()) => wrote = true,
                    Err(m) => {
                        self.pending_in = Some(m);
                        break;
                    }
                }
            }
            if wrote {
                pipe.flush();
            }
        }

        // Stream → decoder, unless back-pressure holds us.
        if self.pending_in.is_none() && engine.read()? {
            progress = true;
            self.reads += 1;
        }
        if let Some(ttl) = engine.take_peer_ttl() {
            let check = TimerKind::HeartbeatTtl(engine.generation, self.reads);
            sv.add_timer(
                Duration::from_millis(u64::from(ttl) * 100),
                self.slot,
                self.id,
                check,
            );
        }

        // A ws:// upgrade names the socket this connection belongs to (by its path).
        if let Some(route) = engine.take_route() {
            self.link = route.link;
            self.options = route.options;
            self.route_id = Some(route.id);
        }

        while let Some(event) = engine.poll_event() {
            if let Event::Ready(peer) = event {
                {
                    progress = true;
                    self.link.monitor.emit(|| MonitorEvent::HandshakeSucceeded {
                        endpoint: self.endpoint.clone(),
                    });
                    if let Some(ivl) = self.options.heartbeat_ivl {
                        let first = TimerKind::HeartbeatIvl(engine.generation);
                        sv.add_timer(ivl, self.slot, self.id, first);
                    }
                    if self.connect.is_some() {
                        if self.was_connected {
                            if let Some(pipe) = &self.pipe {
                                self.link.send(SocketCommand::Hiccup(pipe.id()));
                            }
                        }
                        self.was_connected = true;
                        self.backoff = self.options.reconnect_ivl.unwrap_or(Duration::ZERO);
                    } else if self.pipe.is_none() {
                        // Sessions of bound sockets get their pipe once the peer is known.
                        let (socket_end, own_end) =
                            Pipe::pair(sv.next_id(), self.options.sndhwm, self.options.rcvhwm);
                        own_end.attach(sv.notify(self.slot));
                        self.pipe = Some(own_end);
                        self.link.send(SocketCommand::Attach(socket_end));
                    }
                    if self.link.socket_type == SocketType::Router {
                        push_routing_id(&mut self.pipe, &mut self.pending_in, &peer.identity);
                    }
                }
            }
        }

        // Pipe → encoder, bounded so one busy session cannot hoard memory.
        if engine.is_ready() {
            if let Some(m) = self.pending_out.take() {
                engine.send_msg(&m);
            }
            if let Some(pipe) = &mut self.pipe {
                while !self.pipe_done && engine.transmit_len() < OUT_BATCH {
                    match pipe.read() {
                        Some(m) => engine.send_msg(&m),
                        None => {
                            if pipe.is_terminated() {
                                self.pipe_done = true;
                            }
                            break;
                        }
                    }
                }
                if engine.transmit_len() >= OUT_BATCH {
                    // Saturated: from now on the output buffer stays this size.
                    engine.size_transmit_for(OUT_BATCH);
                }
            }
        }

        // Encoder → stream: many messages per syscall when they have piled up.
        progress |= engine.write()?;
        Ok(progress)
    }

    fn engine_failed(
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
            } else if !engine.connecting {
                self.emit(|endpoint| MonitorEvent::HandshakeFailed { endpoint, reason });
            }
        }
        self.pending_in = None;
        if self.connect.is_none() || failure == Failure::Protocol || self.lingering_done() {
            return Outcome::Close;
        }
        if self.options.reconnect_ivl.is_none() {
            return Outcome::Close;
        }
        self.schedule_reconnect(sv);
        Outcome::Keep
    }

    /// Tears down the session; dropping the pipe end terminates it, so the socket learns
    /// the peer is gone after reading everything that arrived.
    pub(crate) fn close(&mut self, registry: &Registry) {
        if let Some(mut engine) = self.engine.take() {
            engine.deregister(registry);
        }
        self.pipe = None;
    }
}

/// A ROUTER learns its peer's routing id in-band: as the first message of each connection,
/// ahead of the peer's data (libzmq's zmtp_engine with `recv_routing_id`).
fn push_routing_id(pipe: &mut Option<Pipe>, pending_in: &mut Option<Msg>, identity: &[u8]) {
    if let Some(pipe) = pipe {
        match pipe.write(Msg::routing_id(identity)) {
            Ok(()) => pipe.flush(),
            // Full with messages of an earlier connection: it goes first once there is room.
            Err(m) => *pending_in = Some(m),
        }
    }
}

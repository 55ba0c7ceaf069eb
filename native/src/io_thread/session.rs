//! A session: one peer connection's life on an I/O thread. It owns the pipe end that leads
//! to the socket and, while connected, an [`Engine`] (the stream plus the sans-IO protocol
//! codec: ZMTP or ZWS). A connecting session outlives its engines and reconnects; an
//! accepted one ends with its connection (libzmq's `session_base_t` + its engines).
//!
//! Here: making a session, driving it, and its data path (the pump between pipe and
//! engine). Its life around its connections (connecting, timers, reconnecting, failures,
//! lingering and finishing) is in `session/lifecycle.rs`.

use std::time::Duration;

use isomq_core::session::Lifecycle;
use isomq_core::zmtp::{Config, Event};
use isomq_core::{Msg, Options, Pipe, SocketType};
use mio::{Registry, Token};

use super::listener::Parent;
use super::services::Services;
use crate::command::SocketCommand;
use crate::engine::{Engine, Failure, Kind};
use crate::link::{Owner, SocketLink};
use crate::monitor::MonitorEvent;
use crate::stream::{PeerAddr, Stream};

mod lifecycle;

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
    /// Its listener went away: deliver what is queued, then end (see `orphan`).
    orphaned: bool,
    lingering: bool,
    /// The endpoint as connected or bound, for monitor events.
    endpoint: String,
    /// Reconnect backoff, handshake deadline, heartbeats, linger: the core's policy, shared
    /// with the wasm host.
    life: Lifecycle,
    /// The earliest time a thread timer is set for this session, if any.
    armed: Option<Duration>,
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
        Session {
            life: Lifecycle::new(&options, true),
            armed: None,
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
            orphaned: false,
            lingering: false,
            endpoint,
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
            life: Lifecycle::new(&parent.options, false),
            armed: None,
            link: parent.link,
            options: parent.options,
            connect: None,
            route_id: None,
            pipe: None,
            engine: None,
            pending_in: None,
            pending_out: None,
            pipe_done: false,
            orphaned: false,
            lingering: false,
            endpoint: parent.endpoint,
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
            e.set_ready(readable, writable);
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
        let engine = Engine::new(stream, kind, config, connecting, registry, Token(self.slot))?;
        self.engine = Some(engine);
        if !connecting {
            // HANDSHAKE_IVL runs from the accept; for a connect, from its completion.
            self.life.handle_started(sv.clock());
            self.arm(sv);
        }
        Ok(())
    }

    fn emit(&self, event: impl FnOnce(String) -> MonitorEvent) {
        self.link.monitor.emit(|| event(self.endpoint.clone()));
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

    fn pump(&mut self, sv: &mut Services) -> Result<(), Failure> {
        let Some(engine) = &mut self.engine else {
            return Ok(());
        };
        if engine.is_connecting() {
            if !engine.is_writable() {
                return Ok(());
            }
            if !engine.finish_connect()? {
                return Ok(());
            }
            self.life.handle_started(sv.clock());
            self.arm(sv);
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
        self.deliver_input()?;
        let mut progress = self.read_input(sv)?;
        progress |= self.handle_engine_events(sv);
        let Some(engine) = &mut self.engine else {
            return Ok(progress);
        };
        // Pipe → encoder, bounded so one busy session cannot hoard memory.
        if engine.is_ready() {
            self.encode_output();
        }
        // Encoder → stream: many messages per syscall when they have piled up.
        let Some(engine) = &mut self.engine else {
            return Ok(progress);
        };
        progress |= engine.write()?;
        Ok(progress)
    }

    /// Decoded input → pipe, until the pipe is full.
    fn deliver_input(&mut self) -> Result<(), Failure> {
        let (Some(engine), Some(pipe)) = (&mut self.engine, &mut self.pipe) else {
            return Ok(());
        };
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
        Ok(())
    }

    /// Stream → decoder, unless back-pressure holds us; returns whether bytes came. Any
    /// bytes prove the peer alive to the heartbeat; a PING may carry the peer's TTL.
    fn read_input(&mut self, sv: &mut Services) -> Result<bool, Failure> {
        let Some(engine) = &mut self.engine else {
            return Ok(false);
        };
        let read = self.pending_in.is_none() && engine.read()?;
        let mut timers_changed = read;
        if read {
            self.life.handle_input(sv.clock());
        }
        // Decoded while delivering input, maybe in an earlier round than its bytes' read.
        if let Some(ttl) = engine.take_peer_ttl() {
            self.life.handle_peer_ttl(sv.clock(), ttl);
            timers_changed = true;
        }
        // A ws:// upgrade names the socket this connection belongs to (by its path): its
        // options, timers included, apply from here on.
        if let Some(route) = engine.take_route() {
            self.link = route.link;
            self.options = route.options;
            self.route_id = Some(route.id);
            self.life = Lifecycle::new(&self.options, false);
            self.life.handle_started(sv.clock());
        }
        if timers_changed {
            self.arm(sv);
        }
        Ok(read)
    }

    /// The handshake's outcome: on `Ready`, the pipe to the socket (made now for accepted
    /// connections), the hiccup of a reconnection, and a ROUTER's peer routing id.
    fn handle_engine_events(&mut self, sv: &mut Services) -> bool {
        let mut progress = false;
        while let Some(event) = self.engine.as_mut().and_then(Engine::poll_event) {
            let Event::Ready(peer) = event else { continue };
            progress = true;
            self.link.monitor.emit(|| MonitorEvent::HandshakeSucceeded {
                endpoint: self.endpoint.clone(),
            });
            let again = self.life.handle_ready(sv.clock());
            self.arm(sv);
            if self.connect.is_some() {
                if let (true, Some(pipe)) = (again, &self.pipe) {
                    self.link.send(SocketCommand::Hiccup(pipe.id()));
                }
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
        progress
    }

    /// Pipe → encoder, until OUT_BATCH bytes wait for the stream.
    fn encode_output(&mut self) {
        let Some(engine) = &mut self.engine else {
            return;
        };
        if let Some(m) = self.pending_out.take() {
            engine.send_msg(&m);
        }
        let Some(pipe) = &mut self.pipe else { return };
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
        match pipe.write_routing_id(identity) {
            Ok(()) => pipe.flush(),
            // Full with messages of an earlier connection: it goes first once there is room.
            Err(m) => *pending_in = Some(m),
        }
    }
}

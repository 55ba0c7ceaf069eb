//! A session: one peer connection's life on an I/O thread. The policy is the core's
//! [`isomq_core::session::Session`] (the same as the wasm host runs): the pipe to the
//! socket, back-pressure, a ROUTER's peer id, hiccups, timers, linger. This host adds, while
//! connected, an [`Engine`] (the stream plus the sans-IO protocol codec: ZMTP or ZWS), the
//! thread's timers and the monitor events. A connecting session outlives its engines and
//! reconnects; an accepted one ends with its connection (libzmq's `session_base_t`).
//!
//! Here: making a session, driving it, and its data path (read, drive the policy, write).
//! Its life around its connections (connecting, timers, reconnecting, failures, lingering
//! and finishing) is in `session/lifecycle.rs`.

use std::time::Duration;

use isomq_core::session::Codec;
use isomq_core::session::{Inbound, Session as Policy, SessionEvent};
use isomq_core::zap::{ZapOutcome, ZapRequest};
use isomq_core::zmtp::{Config, PeerInfo};
use isomq_core::{Options, Pipe};
use mio::{Registry, Token};

use super::listener::{HandshakeSlot, Parent};
use super::services::Services;
use crate::command::{PeerProperties, SocketCommand};
use crate::engine::{Engine, Failure, Kind};
use crate::link::{Owner, SocketLink};
use crate::monitor::MonitorEvent;
use crate::stream::{PeerAddr, Stream};

mod lifecycle;
mod zap;

/// Iterations of the pump per readiness event before letting other sessions run.
const BUDGET: usize = 64;

/// Whether a round of [`Session::drive_policy`] takes messages from the pipe.
#[derive(Clone, Copy)]
enum Output {
    Take,
    Hold,
}

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
    /// For accepted sessions: the listener that accepted it (orphaned when it closes).
    parent: Option<u64>,
    /// For sessions accepted on a ws:// port: the bind (path) that took the connection,
    /// so that unbinding the path closes it.
    pub(crate) route_id: Option<u64>,
    engine: Option<Engine>,
    /// The core's session: pipe, back-pressure, routing id, hiccup, timers, linger.
    policy: Policy,
    /// The endpoint as connected or bound, for monitor events.
    endpoint: String,
    /// The earliest time a thread timer is set for this session, if any.
    armed: Option<Duration>,
    /// A ZAP request waiting for the handler's reply.
    zap: Option<zap::ZapClient>,
    /// On the thread's list of sessions whose buffers grew.
    watched: bool,
    /// An accepted connection's place among its listener's handshakes, until it completes.
    handshake: Option<HandshakeSlot>,
    /// The current connection completed its handshake: its end is a disconnection, even
    /// when a protocol error (which the codec no longer counts as ready) ends it.
    ready: bool,
    /// Counted in `Services::waiting_output` (see [`Session::track_output`]).
    output_waits: bool,
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
        pipe.attach(sv.notify_socket_pipe(slot));
        let mut policy = Policy::new(link.socket_type, &options, true, Inbound::Backpressure);
        policy.attach_pipe(pipe);
        Session {
            policy,
            armed: None,
            zap: None,
            watched: false,
            id,
            slot,
            link,
            options,
            connect: Some(addr),
            parent: None,
            route_id: None,
            engine: None,
            endpoint,
            handshake: None,
            ready: false,
            output_waits: false,
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
            policy: Policy::new(
                parent.link.socket_type,
                &parent.options,
                false,
                Inbound::Backpressure,
            ),
            armed: None,
            zap: None,
            watched: false,
            link: parent.link,
            options: parent.options,
            connect: None,
            parent: Some(parent.listener),
            route_id: None,
            engine: None,
            endpoint: parent.endpoint,
            handshake: parent.handshake,
            ready: false,
            output_waits: false,
        };
        let kind = match parent.ws {
            Some(routes) => Kind::WsServer { routes },
            None => Kind::Zmtp,
        };
        s.start_engine(stream, kind, false, sv, registry).ok()?;
        Some(s)
    }

    /// The listener that accepted it, for an accepted session.
    pub(crate) fn parent(&self) -> Option<u64> {
        self.parent
    }

    pub(crate) fn has_pipe(&self) -> bool {
        self.policy.pipe().is_some()
    }

    /// Whether events of pipe `id` concern this session: its pipe to the socket, or the
    /// pipe of its ZAP request.
    pub(crate) fn owns_pipe(&self, id: isomq_core::PipeId) -> bool {
        self.policy.pipe().is_some_and(|p| p.id() == id)
            || self.zap.as_ref().is_some_and(|z| z.pipe_id() == id)
    }

    /// Whether a connection exists and has not completed its handshake yet.
    pub(crate) fn is_handshaking(&self) -> bool {
        self.engine.as_ref().is_some_and(|e| !e.is_ready())
    }

    /// Bytes encoded for the peer and not written yet.
    pub(crate) fn queued_bytes(&self) -> usize {
        self.engine.as_ref().map_or(0, Engine::transmit_len)
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
        let auth =
            self.options.security.auth().map_err(|e| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string())
            })?;
        let config = Config {
            socket_type: self.link.socket_type,
            identity: self.options.routing_id.clone(),
            max_msg_size: self.options.maxmsgsize,
            auth,
        };
        let engine = Engine::new(stream, kind, config, connecting, registry, Token(self.slot))?;
        self.engine = Some(engine);
        self.ready = false;
        if connecting {
            // CONNECT_TIMEOUT runs until the connect completes.
            self.policy.handle_connecting(sv.clock());
        } else {
            // HANDSHAKE_IVL runs from the accept; for a connect, from its completion.
            self.policy.handle_started(sv.clock());
        }
        self.arm(sv);
        Ok(())
    }

    fn emit(&self, event: impl FnOnce(String) -> MonitorEvent) {
        self.link.monitor.emit(|| event(self.endpoint.clone()));
    }

    /// Makes all the progress possible now: connect completion, handshake, reading,
    /// decoding into the pipe, pulling from the pipe, writing; then checks whether the
    /// session is finished.
    pub(crate) fn drive(&mut self, sv: &mut Services, registry: &Registry) -> Outcome {
        let outcome = self.drive_engine(sv, registry);
        self.track_output(sv);
        outcome
    }

    /// [`drive`](Session::drive) before the waiting output is counted.
    fn drive_engine(&mut self, sv: &mut Services, registry: &Registry) -> Outcome {
        if self.engine.is_some() {
            let pumped = self.pump(sv).and_then(|()| self.update_interest(registry));
            if let Err(failure) = pumped {
                let why = match failure {
                    Failure::Protocol => "the peer broke the protocol",
                    Failure::Auth(_) => "the security handshake failed",
                    Failure::Transient => "the connection was closed or reset",
                };
                return self.engine_failed(failure, why, sv, registry);
            }
            self.check_done(sv)
        } else {
            self.drive_idle(sv)
        }
    }

    /// A drive without a connection: only looks for the socket's termination (one message
    /// may be taken out and kept for the next engine), then whether the session is done.
    fn drive_idle(&mut self, sv: &mut Services) -> Outcome {
        self.policy.poll_pipe_idle();
        self.check_done(sv)
    }

    /// Keeps `Services::waiting_output` up to date after a drive: whether messages wait
    /// to go to the peer (bytes the stream did not take, messages not encoded yet, one
    /// kept for the next connection). An inline socket's helper turns the loop while any
    /// do (docs/architecture.md §5.5).
    fn track_output(&mut self, sv: &mut Services) {
        // Only a socket's own reactor has a helper; an I/O thread's sessions skip the look
        // (it reads the pipe's shared word, which the socket's thread writes).
        if !sv.is_inline() {
            return;
        }
        let waits = self.engine.as_ref().is_some_and(|e| e.transmit_len() > 0)
            || self.policy.output_waits();
        if waits != self.output_waits {
            self.output_waits = waits;
            if waits {
                sv.waiting_output += 1;
            } else {
                sv.waiting_output = sv.waiting_output.saturating_sub(1);
            }
        }
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
            self.policy.handle_started(sv.clock());
            self.arm(sv);
            self.emit(|endpoint| MonitorEvent::Connected { endpoint });
        }
        for _ in 0..BUDGET {
            if !self.pump_once(sv)? {
                self.watch_growth(sv);
                return Ok(());
            }
        }
        sv.drive_again(self.slot);
        Ok(())
    }

    /// After a drive: the stream is watched for writability only while output waits on it
    /// (`Engine::update_interest`). A failed `epoll_ctl` leaves the connection unable to
    /// learn when it may write again, so it ends it.
    fn update_interest(&mut self, registry: &Registry) -> Result<(), Failure> {
        let token = Token(self.slot);
        match &mut self.engine {
            Some(engine) => engine
                .update_interest(registry, token)
                .map_err(|_| Failure::Transient),
            None => Ok(()),
        }
    }

    /// Whether the stream is watched for writability; `None` without a connection.
    #[cfg(test)]
    pub(crate) fn watches_writable(&self) -> Option<bool> {
        self.engine.as_ref().map(Engine::watches_writable)
    }

    /// Once traffic has grown the engine's buffers, the thread's sweeps look at the session
    /// until it has been quiet (a flag and a few comparisons per drive until then).
    fn watch_growth(&mut self, sv: &mut Services) {
        if !self.watched && self.engine.as_ref().is_some_and(Engine::is_grown) {
            self.watched = true;
            sv.watch_idle(self.slot, self.id);
        }
    }

    /// Whether the engine holds buffers grown by traffic; `None` without an engine.
    #[cfg(test)]
    pub(crate) fn is_grown(&self) -> Option<bool> {
        self.engine.as_ref().map(Engine::is_grown)
    }

    /// A sweep of the grown sessions: when the connection was quiet since the last one
    /// (no read or write of more than 256 bytes: heartbeats and a small message now and
    /// then are quiet), frees the buffers traffic grew (the engine's, the pipe's spare
    /// chunks). Returns whether to keep watching the session.
    pub(crate) fn sweep(&mut self) -> bool {
        if self.engine.as_mut().is_some_and(Engine::take_busy) {
            return true;
        }
        if let Some(engine) = &mut self.engine {
            engine.shrink_idle();
        }
        if let Some(pipe) = self.policy.pipe() {
            pipe.shrink_idle();
        }
        self.watched = false;
        false
    }

    /// One round of input and output; returns whether anything moved.
    /// - What was decoded is delivered before the next read, so that a read meeting the
    ///   peer's end of file never finds decoded messages still waiting (a sender that
    ///   closes right after sending).
    /// - Output is taken from the pipe only after that read, and the first output after a
    ///   pause only after a read tried whatever the poller said. A peer that unbound or
    ///   closed (its end of file, its WebSocket close frame) before the send is seen ended
    ///   first: the message stays in the pipe for the next connection, where taking it
    ///   first would lose it with this one.
    fn pump_once(&mut self, sv: &mut Services) -> Result<bool, Failure> {
        if !sv.polled_after_send && self.policy.output_resumes() {
            // Whatever drove the session (the socket's wake-up, a timer, a writability
            // event), the stream is read before the first output after a pause, also when
            // the poller has not reported it readable (yet): one read that finds nothing,
            // per pause of the output. A socket's own thread polled after the send, or just
            // before it, which did the same.
            if let Some(engine) = &mut self.engine {
                engine.set_ready(true, false);
            }
        }
        let mut progress = self.drive_policy(sv, Output::Hold)?;
        progress |= self.read_input(sv)?;
        let output = match &self.engine {
            Some(engine) if engine.peer_ended() => Output::Hold,
            _ => Output::Take,
        };
        progress |= self.drive_policy(sv, output)?;
        // Encoder → stream: many messages per syscall when they have piled up.
        let Some(engine) = &mut self.engine else {
            return Ok(progress);
        };
        progress |= engine.write()?;
        // Output failed: the connection stays only to pass on what the peer sent before
        // its end. Once nothing can reach the socket (orphaned, or the socket closed), it
        // ends here; a lingering session reconnects for what it still has to send.
        if engine.output_failed() && !self.policy.delivers_input() {
            return Err(Failure::Transient);
        }
        Ok(progress)
    }

    /// Decoded input → pipe, handshake → events, and with [`Output::Take`] pipe → encoder
    /// (bounded).
    fn drive_policy(&mut self, sv: &mut Services, output: Output) -> Result<bool, Failure> {
        let Some(engine) = &mut self.engine else {
            return Ok(false);
        };
        let mut zap_done = false;
        if let Some(reply) = self.zap.as_mut().and_then(zap::ZapClient::poll) {
            self.zap = None;
            zap_done = true;
            let outcome = reply.map_err(|_| Failure::Protocol)?;
            engine
                .handle_zap(ZapOutcome::Reply(outcome))
                .map_err(|e| Failure::from_error(&e))?;
        }
        let moved = match output {
            Output::Take => self.policy.drive(sv.clock(), engine),
            Output::Hold => self.policy.drive_input(sv.clock(), engine),
        }
        .map_err(|e| Failure::from_error(&e))?;
        Ok(self.handle_policy_events(sv)? || moved || zap_done)
    }

    /// Stream → decoder, unless back-pressure holds us; returns whether bytes came. Any
    /// bytes prove the peer alive to the heartbeat; a PING may carry the peer's TTL.
    fn read_input(&mut self, sv: &mut Services) -> Result<bool, Failure> {
        let Some(engine) = &mut self.engine else {
            return Ok(false);
        };
        let read = self.policy.wants_input() && engine.read()?;
        // Also after no read: a PING is decoded while input is delivered, maybe in an
        // earlier round than its bytes' read. Only a new deadline needs a timer: on the
        // per-message path the thread's timers are left alone.
        let mut earlier = self.policy.handle_input(sv.clock(), read, engine);
        // A ws:// upgrade names the socket this connection belongs to (by its path): its
        // options, timers included, apply from here on.
        if let Some(route) = engine.take_route() {
            self.link = route.link;
            self.options = route.options;
            self.route_id = Some(route.id);
            self.policy = Policy::new(
                self.link.socket_type,
                &self.options,
                false,
                Inbound::Backpressure,
            );
            self.policy.handle_started(sv.clock());
            earlier = true;
        }
        if earlier {
            self.arm(sv);
        }
        Ok(read)
    }

    /// The handshake's outcome: a ZAP request to ask, or the handshake done.
    fn handle_policy_events(&mut self, sv: &mut Services) -> Result<bool, Failure> {
        let mut progress = false;
        while let Some(event) = self.policy.poll_event() {
            progress = true;
            match event {
                SessionEvent::Ready { hiccup, peer } => self.handshake_done(hiccup, peer, sv),
                SessionEvent::Zap(request) => self.ask_zap(&request, sv)?,
            }
        }
        Ok(progress)
    }

    /// The handshake completed: the pipe to the socket (made now for accepted connections)
    /// with the peer's properties, the hiccup of a reconnection, then the monitor event.
    fn handshake_done(&mut self, hiccup: bool, peer: PeerInfo, sv: &mut Services) {
        self.handshake = None;
        self.ready = true;
        self.arm(sv);
        let properties = self.properties(peer);
        match self.policy.pipe() {
            Some(pipe) => {
                let id = pipe.id();
                if hiccup && self.connect.is_some() {
                    self.link.send(SocketCommand::Hiccup(id));
                }
                if let Some(properties) = properties {
                    self.link.send(SocketCommand::Properties(id, properties));
                }
            }
            None => {
                // Sessions of bound sockets get their pipe once the peer is known.
                let (socket_end, own_end) =
                    Pipe::pair(sv.next_id(), self.options.sndhwm, self.options.rcvhwm);
                own_end.attach(sv.notify_socket_pipe(self.slot));
                self.policy.attach_pipe(own_end);
                self.link
                    .send(SocketCommand::Attach(socket_end, properties));
            }
        }
        // After the commands: once the monitor says so, the socket has the pipe.
        self.link.monitor.emit(|| MonitorEvent::HandshakeSucceeded {
            endpoint: self.endpoint.clone(),
        });
    }

    /// What the peer said about itself, with its address, for the socket to give with the
    /// messages it sends.
    fn properties(&self, peer: PeerInfo) -> Option<PeerProperties> {
        let engine = self.engine.as_ref()?;
        let mut properties = peer.properties;
        properties.push(("Peer-Address".to_owned(), engine.peer_ip().into()));
        Some(properties.into())
    }

    /// Sends the mechanism's ZAP request to the context's handler; without one, tells the
    /// mechanism at once.
    fn ask_zap(&mut self, request: &ZapRequest, sv: &Services) -> Result<(), Failure> {
        let Some(engine) = &mut self.engine else {
            return Ok(());
        };
        let address = engine.peer_ip();
        self.zap =
            zap::ZapClient::start(&self.link, request, &self.options, &address, sv, self.slot);
        if self.zap.is_none() {
            engine
                .handle_zap(ZapOutcome::NoHandler)
                .map_err(|e| Failure::from_error(&e))?;
        }
        Ok(())
    }

    /// Tears down the session; dropping the pipe end terminates it, so the socket learns
    /// the peer is gone after reading everything that arrived.
    pub(crate) fn close(&mut self, sv: &mut Services, registry: &Registry) {
        if std::mem::take(&mut self.output_waits) {
            sv.waiting_output = sv.waiting_output.saturating_sub(1);
        }
        if let Some(at) = self.armed.take() {
            sv.cancel_timer(at, self.slot, self.id);
        }
        if let Some(mut engine) = self.engine.take() {
            engine.deregister(registry);
        }
        self.policy.detach_pipe();
    }
}

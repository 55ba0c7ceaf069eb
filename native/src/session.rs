//! A session: one peer connection's life on an I/O thread. It owns the pipe end that leads
//! to the socket and, while connected, an engine (the stream plus the sans-IO ZMTP
//! connection). A connecting session outlives its engines and reconnects; an accepted one
//! ends with its connection (libzmq's `session_base_t` + `stream_engine_t`).

use std::io::{self, IoSlice};
use std::sync::atomic::Ordering;
use std::time::Duration;

use isomq_core::zmtp::{Config, Connection, Event};
use isomq_core::{Msg, Options, Pipe, SocketType};
use mio::{Registry, Token};

use crate::command::{SocketCommand, SocketLink};
use crate::io_thread::{Services, TimerKind};
use crate::listener::Parent;
use crate::stream::{PeerAddr, Stream};
use crate::transport::random_u64;

/// Read at most this much per read call.
const READ_CHUNK: usize = 64 * 1024;
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

/// Why an engine stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// EOF, reset, timeout: a connecting session tries again.
    Transient,
    /// The peer broke the protocol: libzmq does not reconnect (PROTOCOL.md §6.1).
    Protocol,
}

#[derive(Debug)]
struct Engine {
    stream: Stream,
    conn: Connection,
    /// Non-blocking connect still in progress.
    connecting: bool,
    /// Edge-triggered readiness we have not yet exhausted.
    readable: bool,
    writable: bool,
    generation: u64,
}

#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) id: u64,
    slot: usize,
    link: SocketLink,
    options: Options,
    /// Set for connecting sessions: where to (re)connect.
    connect: Option<PeerAddr>,
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
    buf: Vec<u8>,
}

impl Session {
    pub(crate) fn connecting(
        id: u64,
        slot: usize,
        addr: PeerAddr,
        pipe: Pipe,
        link: SocketLink,
        options: Options,
        sv: &Services,
    ) -> Session {
        pipe.attach(sv.notify(slot));
        let backoff = options.reconnect_ivl.unwrap_or(Duration::ZERO);
        Session {
            id,
            slot,
            link,
            options,
            connect: Some(addr),
            pipe: Some(pipe),
            engine: None,
            pending_in: None,
            pending_out: None,
            pipe_done: false,
            lingering: false,
            was_connected: false,
            backoff,
            generation: 0,
            buf: Vec::new(),
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
        let mut s = Session {
            id,
            slot,
            link: parent.link,
            options: parent.options,
            connect: None,
            pipe: None,
            engine: None,
            pending_in: None,
            pending_out: None,
            pipe_done: false,
            lingering: false,
            was_connected: false,
            backoff: Duration::ZERO,
            generation: 0,
            buf: Vec::new(),
        };
        s.start_engine(stream, false, sv, registry).ok()?;
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
        mut stream: Stream,
        connecting: bool,
        sv: &mut Services,
        registry: &Registry,
    ) -> io::Result<()> {
        stream.register(registry, Token(self.slot))?;
        self.generation += 1;
        let conn = Connection::new(Config {
            socket_type: self.link.socket_type,
            identity: self.options.routing_id.clone(),
            max_msg_size: self.options.maxmsgsize,
        });
        if self.buf.len() < READ_CHUNK {
            self.buf = vec![0; READ_CHUNK];
        }
        self.engine = Some(Engine {
            stream,
            conn,
            connecting,
            readable: false,
            writable: false,
            generation: self.generation,
        });
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
        match addr.connect() {
            Ok(stream) => {
                if self.start_engine(stream, true, sv, registry).is_err() {
                    self.schedule_reconnect(sv);
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
                    .is_some_and(|e| e.generation == generation && !e.conn.is_ready());
                if stalled {
                    return self.engine_failed(Failure::Transient, sv, registry);
                }
                Outcome::Keep
            }
            TimerKind::Linger => Outcome::Close,
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
                return self.engine_failed(failure, sv, registry);
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
                .is_some_and(|e| e.conn.is_ready() && e.conn.transmit_len() > 0);
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
            match engine.stream.finish_connect() {
                Ok(true) => {
                    engine.connecting = false;
                    engine.stream.set_nodelay();
                    self.arm_handshake_timer(sv);
                }
                Ok(false) => {
                    engine.writable = false;
                    return Ok(());
                }
                Err(_) => return Err(Failure::Transient),
            }
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
            while engine.conn.is_ready() {
                let msg = match self.pending_in.take() {
                    Some(m) => m,
                    None => match engine.conn.poll_msg() {
                        Ok(Some(m)) => m,
                        Ok(None) => break,
                        Err(_) => return Err(Failure::Protocol),
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

        // Stream → decoder, unless back-pressure holds us. Without a pending message the
        // decoder has consumed every complete frame, so buffered input is bounded by one
        // frame (and MAXMSGSIZE).
        if engine.readable && self.pending_in.is_none() {
            match engine.stream.read(&mut self.buf) {
                Ok(0) => return Err(Failure::Transient),
                Ok(n) => {
                    let input = self.buf.get(..n).unwrap_or_default();
                    engine
                        .conn
                        .handle_input(input)
                        .map_err(|_| Failure::Protocol)?;
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => engine.readable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => progress = true,
                Err(_) => return Err(Failure::Transient),
            }
        }

        while let Some(event) = engine.conn.poll_event() {
            if let Event::Ready(peer) = event {
                {
                    progress = true;
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
        if engine.conn.is_ready() {
            if let Some(m) = self.pending_out.take() {
                engine.conn.send_msg(&m);
            }
            if let Some(pipe) = &mut self.pipe {
                while !self.pipe_done && engine.conn.transmit_len() < OUT_BATCH {
                    match pipe.read() {
                        Some(m) => engine.conn.send_msg(&m),
                        None => {
                            if pipe.is_terminated() {
                                self.pipe_done = true;
                            }
                            break;
                        }
                    }
                }
            }
        }

        // Encoder → stream: many messages per syscall when they have piled up.
        while engine.writable && engine.conn.transmit_len() > 0 {
            let mut slices = [IoSlice::new(&[]); 32];
            let n = engine.conn.transmit_slices(&mut slices);
            match engine
                .stream
                .write_vectored(slices.get(..n).unwrap_or_default())
            {
                Ok(0) => return Err(Failure::Transient),
                Ok(k) => {
                    engine.conn.advance_transmit(k);
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => engine.writable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(Failure::Transient),
            }
        }
        Ok(progress)
    }

    fn engine_failed(
        &mut self,
        failure: Failure,
        sv: &mut Services,
        registry: &Registry,
    ) -> Outcome {
        if let Some(mut engine) = self.engine.take() {
            engine.stream.deregister(registry);
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
            engine.stream.deregister(registry);
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

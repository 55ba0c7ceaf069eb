//! Engines: what turns a connected stream into messages for a session. A session drives
//! one engine at a time (and a new one after each reconnect); the engine owns the stream
//! and the protocol codec: ZMTP for tcp:// and ipc://, ZWS 2.0 over WebSocket for ws://.
//! Session logic (pipe, reconnect, linger, back-pressure) stays in the session.

mod failure;
mod room;
mod ws;
mod ws_open;
mod zmtp;

use std::io;

use isomq_core::session::Codec;
use isomq_core::zap::ZapOutcome;
use isomq_core::zmtp::{Config, Event};
use isomq_core::Msg;
use mio::{Registry, Token};

use crate::stream::Stream;
use crate::ws::{Route, Routes};

pub(crate) use failure::Failure;
pub(crate) use ws::WsEngine;
pub(crate) use zmtp::ZmtpEngine;

/// How a new engine talks.
#[derive(Debug)]
pub(crate) enum Kind {
    /// ZMTP 3.x.
    Zmtp,
    /// The client side of a ws:// connection to `uri` (`ws://host:port/path`).
    WsClient { uri: String },
    /// The server side of a ws:// connection; the path picks the socket in `routes`.
    WsServer { routes: std::sync::Arc<Routes> },
}

#[derive(Debug)]
// The ws state (handshake machines, frame codec) is three times ZMTP's size: boxed so that
// ZMTP sessions do not carry it; ZMTP stays inline, where the hot path reads it.
#[allow(clippy::large_enum_variant)]
enum Protocol {
    Zmtp(ZmtpEngine),
    Ws(Box<WsEngine>),
}

/// One connection: the stream and its codec, plus the readiness not yet used up (mio is
/// edge-triggered).
#[derive(Debug)]
pub(crate) struct Engine {
    protocol: Protocol,
    /// Non-blocking connect still in progress.
    connecting: bool,
    readable: bool,
    writable: bool,
    /// The stream is registered for writability too (see [`Engine::update_interest`]).
    write_interest: bool,
}

impl Engine {
    /// Registers the stream and wraps it; `config` describes the local socket (for a ws
    /// server, the socket is only known after the upgrade: it comes from the route).
    pub(crate) fn new(
        mut stream: Stream,
        kind: Kind,
        config: Config,
        connecting: bool,
        registry: &Registry,
        token: Token,
    ) -> std::io::Result<Engine> {
        stream.register(registry, token)?;
        let protocol = match kind {
            Kind::Zmtp => Protocol::Zmtp(ZmtpEngine::new(stream, config)),
            Kind::WsClient { uri } => Protocol::Ws(Box::new(WsEngine::client(stream, uri, config))),
            Kind::WsServer { routes } => Protocol::Ws(Box::new(WsEngine::server(stream, routes))),
        };
        Ok(Engine {
            protocol,
            connecting,
            readable: false,
            writable: false,
            write_interest: true,
        })
    }

    /// Records readiness from a `mio` event; it lasts until a read or write uses it up
    /// (WouldBlock), since the events are edge-triggered.
    pub(crate) fn set_ready(&mut self, readable: bool, writable: bool) {
        self.readable |= readable;
        self.writable |= writable;
    }

    /// Registers the stream for writability only while something waits on it: a connect
    /// in progress, or output that met a full socket buffer. As libzmq's engines do
    /// (`set_pollout` / `reset_pollout`); called after each drive.
    ///
    /// Why: a Unix socket wakes every writability watcher each time its peer reads, not
    /// only after a write found it full as TCP does. A ZMTP connection over ipc:// watching
    /// writability all the time woke its I/O thread once for every message the peer read:
    /// in a request–reply exchange, one needless wake-up per hop (benches/RESULTS.md,
    /// "Round two, ninth stop").
    ///
    /// In between, the stream counts as writable, and a write meeting a full buffer (which
    /// clears `writable`) makes the next call watch again. Linux looks at the stream's
    /// state when the interest changes, so a buffer that drained in between still reports
    /// writability. Each change is one `epoll_ctl`, paid only when a write has already
    /// failed with WouldBlock or the output has drained after one. ws:// engines keep both
    /// interests: they run over TCP only, and their handshake layers track readiness on
    /// their own.
    pub(crate) fn update_interest(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let Protocol::Zmtp(e) = &mut self.protocol else {
            return Ok(());
        };
        let wanted = self.connecting || !self.writable;
        if wanted != self.write_interest {
            e.stream.watch_writable(registry, token, wanted)?;
            self.write_interest = wanted;
        }
        Ok(())
    }

    /// Whether the stream is registered for writability now.
    #[cfg(test)]
    pub(crate) fn watches_writable(&self) -> bool {
        self.write_interest
    }

    /// The non-blocking connect has not completed yet.
    pub(crate) fn is_connecting(&self) -> bool {
        self.connecting
    }

    /// The stream may take bytes (for a connecting stream: the connect has an outcome).
    pub(crate) fn is_writable(&self) -> bool {
        self.writable
    }

    /// After writability on a connecting stream: `Ok(true)` once connected.
    pub(crate) fn finish_connect(&mut self) -> Result<bool, Failure> {
        let done = match &mut self.protocol {
            Protocol::Zmtp(e) => {
                let done = e.stream.finish_connect();
                if matches!(done, Ok(true)) {
                    e.stream.set_nodelay();
                }
                done
            }
            Protocol::Ws(e) => e.finish_connect(),
        }
        .map_err(|_| Failure::Transient)?;
        if done {
            self.connecting = false;
        } else {
            self.writable = false;
        }
        Ok(done)
    }

    /// Handshake complete (and no error): messages may flow.
    pub(crate) fn is_ready(&self) -> bool {
        match &self.protocol {
            Protocol::Zmtp(e) => e.conn.is_ready(),
            Protocol::Ws(e) => e.is_ready(),
        }
    }

    /// Bytes encoded and not yet written (an estimate for ws: nonzero means "some").
    pub(crate) fn transmit_len(&self) -> usize {
        match &self.protocol {
            Protocol::Zmtp(e) => e.conn.transmit_len(),
            Protocol::Ws(e) => e.transmit_len(),
        }
    }

    /// Stream → codec, once; `Ok(true)` when something was read.
    pub(crate) fn read(&mut self) -> Result<bool, Failure> {
        if !self.readable {
            return Ok(false);
        }
        match &mut self.protocol {
            Protocol::Zmtp(e) => e.read(&mut self.readable),
            Protocol::Ws(e) => e.read(&mut self.readable, &mut self.writable),
        }
    }

    /// Codec → stream, as much as the stream takes; `Ok(true)` when something was written.
    pub(crate) fn write(&mut self) -> Result<bool, Failure> {
        match &mut self.protocol {
            Protocol::Zmtp(e) => e.write(&mut self.writable),
            Protocol::Ws(e) => e.write(&mut self.readable, &mut self.writable),
        }
    }

    /// Whether the peer has ended the connection, with reading not yet reporting it (a
    /// WebSocket close frame whose echo is still to be written). A ZMTP stream's end of
    /// file is reported by the read that meets it.
    pub(crate) fn peer_ended(&self) -> bool {
        match &self.protocol {
            Protocol::Zmtp(_) => false,
            Protocol::Ws(e) => e.peer_ended(),
        }
    }

    /// Whether a write failed: output stopped, and the connection ends when reading meets
    /// the peer's end.
    pub(crate) fn output_failed(&self) -> bool {
        match &self.protocol {
            Protocol::Zmtp(e) => e.output_failed(),
            Protocol::Ws(e) => e.output_failed(),
        }
    }

    /// Whether traffic has grown the buffers past what a new connection holds: such a
    /// connection is watched, and shrunk with [`shrink_idle`](Engine::shrink_idle) once it
    /// has been quiet for a while.
    pub(crate) fn is_grown(&self) -> bool {
        match &self.protocol {
            Protocol::Zmtp(e) => e.is_grown(),
            Protocol::Ws(e) => e.is_grown(),
        }
    }

    /// Whether the connection moved more than a quiet one (heartbeats, a small message now
    /// and then) since the last call: reads or writes of more than 256 bytes.
    pub(crate) fn take_busy(&mut self) -> bool {
        match &mut self.protocol {
            Protocol::Zmtp(e) => e.take_busy(),
            Protocol::Ws(e) => e.take_busy(),
        }
    }

    /// Frees spare buffer capacity (input and output back to a first read's size).
    pub(crate) fn shrink_idle(&mut self) {
        match &mut self.protocol {
            Protocol::Zmtp(e) => e.shrink_idle(),
            Protocol::Ws(e) => e.shrink_idle(),
        }
    }

    /// For a ws server engine whose upgrade has just completed: the socket bound on the
    /// requested path, once.
    pub(crate) fn take_route(&mut self) -> Option<Route> {
        match &mut self.protocol {
            Protocol::Zmtp(_) => None,
            Protocol::Ws(e) => e.take_route(),
        }
    }

    /// The peer's address for ZAP requests.
    pub(crate) fn peer_ip(&self) -> String {
        match &self.protocol {
            Protocol::Zmtp(e) => e.stream.peer_ip(),
            Protocol::Ws(e) => e.peer_ip(),
        }
    }

    /// Why the handshake failed, when the engine knows more than its [`Failure`] says
    /// (an HTTP refusal, a TLS alert or certificate error).
    pub(crate) fn take_failure(&mut self) -> Option<String> {
        match &mut self.protocol {
            Protocol::Zmtp(_) => None,
            Protocol::Ws(e) => e.take_failure(),
        }
    }

    pub(crate) fn deregister(&mut self, registry: &Registry) {
        match &mut self.protocol {
            Protocol::Zmtp(e) => e.stream.deregister(registry),
            Protocol::Ws(e) => e.deregister(registry),
        }
    }
}

/// The session drives the engine's codec through the core's interface; the engine keeps
/// the stream and its I/O.
impl Codec for Engine {
    fn is_ready(&self) -> bool {
        Engine::is_ready(self)
    }

    fn poll_event(&mut self) -> Option<Event> {
        match &mut self.protocol {
            Protocol::Zmtp(e) => e.conn.poll_event(),
            Protocol::Ws(e) => e.poll_event(),
        }
    }

    // Once per message: kept inline in the session's delivery loop (the compiler stopped
    // inlining it on its own when the engine grew, at 15 instructions per message on ws).
    #[inline]
    fn poll_msg(&mut self) -> isomq_core::Result<Option<Msg>> {
        match &mut self.protocol {
            Protocol::Zmtp(e) => e.conn.poll_msg(),
            Protocol::Ws(e) => e.poll_msg(),
        }
    }

    fn handle_zap(&mut self, outcome: ZapOutcome) -> isomq_core::Result<()> {
        match &mut self.protocol {
            Protocol::Zmtp(e) => e.conn.handle_zap(outcome),
            Protocol::Ws(e) => e.handle_zap(outcome),
        }
    }

    fn send_msg(&mut self, msg: &Msg) {
        match &mut self.protocol {
            Protocol::Zmtp(e) => e.conn.send_msg(msg),
            Protocol::Ws(e) => e.send_msg(msg),
        }
    }

    /// A ZMTP PING carrying `ttl` (deciseconds), or a WebSocket ping (docs/wire.md §10.6).
    fn send_ping(&mut self, ttl_deciseconds: u16) {
        match &mut self.protocol {
            Protocol::Zmtp(e) => e.conn.send_ping(ttl_deciseconds, &[]),
            Protocol::Ws(e) => e.send_ping(),
        }
    }

    /// ZMTP only: WebSocket pings carry no TTL.
    fn take_peer_ttl(&mut self) -> Option<u16> {
        match &mut self.protocol {
            Protocol::Zmtp(e) => e.conn.take_peer_ttl(),
            Protocol::Ws(_) => None,
        }
    }

    fn transmit_len(&self) -> usize {
        Engine::transmit_len(self)
    }

    /// ws frames its output message by message, so there is nothing to size.
    fn size_transmit_for(&mut self, limit: usize) {
        if let Protocol::Zmtp(e) = &mut self.protocol {
            e.conn.size_transmit_for(limit);
        }
    }
}

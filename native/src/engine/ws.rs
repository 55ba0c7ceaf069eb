//! The ZWS engine (ws://): the HTTP upgrade and WebSocket framing over the non-blocking
//! stream, on the I/O thread (tungstenite's handshake, resumed on WouldBlock, and its frame
//! codec), and the sans-IO ZWS 2.0 connection from the core above them.
//!
//! Frames are read one by one rather than as tungstenite messages so that what libzmq
//! refuses is refused here too, by closing the connection (libzmq 4.3.5 stalls instead,
//! docs/wire.md §10.7): text frames, fragmented messages, wrong masking, and (in the codec)
//! zero-length and oversized payloads.

use std::io;
use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use isomq_core::zmtp::{Config, Event};
use isomq_core::zws::{self, Subprotocol, CLIENT_PROTOCOLS};
use isomq_core::Msg;
use mio::Registry;
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::client::ClientHandshake;
use tungstenite::handshake::server::{Callback, ErrorResponse, Request, Response, ServerHandshake};
use tungstenite::handshake::{HandshakeError, MidHandshake};
use tungstenite::http::{HeaderValue, StatusCode};
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tungstenite::protocol::frame::{Frame, FrameSocket};

use super::failure::Failure;
use crate::stream::Stream;
use crate::sync::lock;
use crate::transport::random_u64;
use crate::ws::{HsStream, Route, Routes};

/// Largest WebSocket frame accepted when MAXMSGSIZE is unset. The frame reader reserves a
/// frame's declared length before its payload arrives, so some bound is needed; ZMTP over
/// tcp has none.
const DEFAULT_MAX_FRAME: usize = 256 * 1024 * 1024;
/// Frames read per call, so that one busy connection yields to the pipe and to others.
const READ_FRAMES: usize = 64;

/// What the server's upgrade picked: the socket bound on the path, and the subprotocol.
type Selected = Arc<Mutex<Option<(Route, Subprotocol)>>>;

/// Looks at the upgrade request: the path must be bound in this context (404 otherwise)
/// and a ZWS 2.0 subprotocol offered (400 otherwise; libzmq just closes).
#[derive(Debug)]
struct PathCallback {
    routes: Arc<Routes>,
    selected: Selected,
}

fn refusal(status: StatusCode) -> ErrorResponse {
    let mut r = ErrorResponse::new(None);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert("Content-Length", HeaderValue::from_static("0"));
    h.insert("Connection", HeaderValue::from_static("close"));
    r
}

impl Callback for PathCallback {
    fn on_request(
        self,
        request: &Request,
        mut response: Response,
    ) -> Result<Response, ErrorResponse> {
        let route = lock(&self.routes).get(request.uri().path()).cloned();
        let Some(route) = route else {
            return Err(refusal(StatusCode::NOT_FOUND));
        };
        // libzmq: the header may be repeated or a list; the first supported token wins.
        let sub = request
            .headers()
            .get_all("Sec-WebSocket-Protocol")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(Subprotocol::select);
        let Some(sub) = sub else {
            return Err(refusal(StatusCode::BAD_REQUEST));
        };
        response.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(sub.token()),
        );
        *lock(&self.selected) = Some((route, sub));
        Ok(response)
    }
}

#[derive(Debug)]
enum State {
    /// Client: the TCP connect is in progress.
    Connecting {
        stream: Stream,
        uri: String,
    },
    Server(MidHandshake<ServerHandshake<HsStream, PathCallback>>),
    Client(MidHandshake<ClientHandshake<HsStream>>),
    Open(FrameSocket<HsStream>),
    /// Only while moving between states.
    Gone,
}

#[derive(Debug)]
pub(crate) struct WsEngine {
    state: State,
    client: bool,
    /// The local socket: known from the start on a client, from the route on a server.
    config: Option<Config>,
    conn: Option<zws::Connection>,
    selected: Selected,
    /// The route picked by the upgrade, until the session takes it.
    route: Option<Route>,
    /// Frames were accepted by the frame writer but not all written out yet.
    out_pending: bool,
    /// The peer closed its end after frames this engine decoded in the same call: those
    /// are delivered first, the end is reported on the next read.
    eof: bool,
}

fn max_frame(config: &Config) -> usize {
    config.max_msg_size.map_or(DEFAULT_MAX_FRAME, |max| {
        usize::try_from(max.saturating_add(1)).unwrap_or(usize::MAX)
    })
}

fn would_block(e: &tungstenite::Error) -> bool {
    matches!(e, tungstenite::Error::Io(e) if e.kind() == io::ErrorKind::WouldBlock)
}

impl WsEngine {
    pub(crate) fn client(stream: Stream, uri: String, config: Config) -> WsEngine {
        WsEngine {
            state: State::Connecting { stream, uri },
            client: true,
            config: Some(config),
            conn: None,
            selected: Arc::default(),
            route: None,
            out_pending: false,
            eof: false,
        }
    }

    pub(crate) fn server(stream: Stream, routes: Arc<Routes>) -> WsEngine {
        let selected = Selected::default();
        let callback = PathCallback {
            routes,
            selected: selected.clone(),
        };
        WsEngine {
            state: State::Server(ServerHandshake::start(
                HsStream::new(stream),
                callback,
                None,
            )),
            client: false,
            config: None,
            conn: None,
            selected,
            route: None,
            out_pending: false,
            eof: false,
        }
    }

    /// Completes the TCP connect and starts the upgrade request.
    pub(crate) fn finish_connect(&mut self) -> io::Result<bool> {
        let State::Connecting { stream, .. } = &self.state else {
            return Ok(true);
        };
        if !stream.finish_connect()? {
            return Ok(false);
        }
        let State::Connecting { stream, uri } = std::mem::replace(&mut self.state, State::Gone)
        else {
            return Ok(true);
        };
        stream.set_nodelay();
        let invalid = |e: tungstenite::Error| io::Error::new(io::ErrorKind::InvalidInput, e);
        let mut request = uri.as_str().into_client_request().map_err(invalid)?;
        let protocols = HeaderValue::from_str(&CLIENT_PROTOCOLS.join(","))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", protocols);
        let mid = ClientHandshake::start(HsStream::new(stream), request, None).map_err(invalid)?;
        self.state = State::Client(mid);
        Ok(true)
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.is_ready())
    }

    pub(crate) fn transmit_len(&self) -> usize {
        self.conn.as_ref().map_or(0, |c| c.transmit_len()) + usize::from(self.out_pending)
    }

    pub(crate) fn poll_msg(&mut self) -> Result<Option<Msg>, Failure> {
        match &mut self.conn {
            Some(c) => c.poll_msg().map_err(|_| Failure::Protocol),
            None => Ok(None),
        }
    }

    pub(crate) fn poll_event(&mut self) -> Option<Event> {
        self.conn.as_mut()?.poll_event()
    }

    pub(crate) fn send_msg(&mut self, msg: &Msg) {
        if let Some(c) = &mut self.conn {
            c.send_msg(msg);
        }
    }

    pub(crate) fn take_route(&mut self) -> Option<Route> {
        self.route.take()
    }

    pub(crate) fn deregister(&mut self, registry: &Registry) {
        match &mut self.state {
            State::Connecting { stream, .. } => stream.deregister(registry),
            State::Server(mid) => mid.get_mut().get_mut().stream.deregister(registry),
            State::Client(mid) => mid.get_mut().get_mut().stream.deregister(registry),
            State::Open(sock) => sock.get_mut().stream.deregister(registry),
            State::Gone => {}
        }
    }

    pub(crate) fn read(
        &mut self,
        readable: &mut bool,
        writable: &mut bool,
    ) -> Result<bool, Failure> {
        if !matches!(self.state, State::Open(_)) {
            return self.handshake(readable, writable);
        }
        if self.eof {
            return Err(Failure::Transient);
        }
        let mut progress = false;
        for _ in 0..READ_FRAMES {
            let (State::Open(sock), Some(config)) = (&mut self.state, &self.config) else {
                return Ok(progress);
            };
            match sock.read(Some(max_frame(config))) {
                Ok(Some(frame)) => {
                    progress = true;
                    self.on_frame(frame)?;
                }
                // EOF. Frames decoded by this call are still in the ZWS connection: a sender
                // that closes right after sending must have them all delivered (LINGER), so
                // the end waits until the session has taken them.
                Ok(None) if progress => {
                    self.eof = true;
                    return Ok(true);
                }
                Ok(None) => return Err(Failure::Transient),
                Err(e) if would_block(&e) => {
                    *readable = false;
                    return Ok(progress);
                }
                Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(tungstenite::Error::Io(_)) => return Err(Failure::Transient),
                // Bad header, oversized frame.
                Err(_) => return Err(Failure::Protocol),
            }
        }
        Ok(progress)
    }

    pub(crate) fn write(
        &mut self,
        readable: &mut bool,
        writable: &mut bool,
    ) -> Result<bool, Failure> {
        if !*writable {
            return Ok(false);
        }
        if !matches!(self.state, State::Open(_)) {
            return self.handshake(readable, writable);
        }
        let mut progress = false;
        if self.out_pending {
            let State::Open(sock) = &mut self.state else {
                return Ok(false);
            };
            match sock.flush() {
                Ok(()) => {
                    self.out_pending = false;
                    progress = true;
                }
                Err(e) if would_block(&e) => {
                    *writable = false;
                    return Ok(false);
                }
                Err(_) => return Err(Failure::Transient),
            }
        }
        while let Some(payload) = self.conn.as_mut().and_then(|c| c.poll_transmit()) {
            progress = true;
            let frame = Frame::message(payload, OpCode::Data(Data::Binary), true);
            if !self.send_frame(frame)? {
                *writable = false;
                break;
            }
        }
        Ok(progress)
    }

    /// Sends a WebSocket ping: libzmq's ws engine heartbeats with WS pings, not ZMTP PINGs
    /// (docs/wire.md §10.6). A failure to write shows up on the next read or write.
    pub(crate) fn send_ping(&mut self) {
        if matches!(self.state, State::Open(_)) {
            let _ = self.send_frame(Frame::ping(Vec::new()));
        }
    }

    /// Queues a frame (masked on a client, as RFC 6455 requires) and writes what the stream
    /// takes; `Ok(false)` when the stream is full (the rest goes out on the next write).
    fn send_frame(&mut self, mut frame: Frame) -> Result<bool, Failure> {
        let State::Open(sock) = &mut self.state else {
            return Ok(true);
        };
        if self.client {
            frame.header_mut().mask = Some((random_u64() as u32).to_ne_bytes());
        }
        match sock.write(frame) {
            Ok(()) => Ok(true),
            Err(e) if would_block(&e) => {
                self.out_pending = true;
                Ok(false)
            }
            Err(_) => Err(Failure::Transient),
        }
    }

    fn on_frame(&mut self, frame: Frame) -> Result<(), Failure> {
        let header = frame.header();
        if header.rsv1 || header.rsv2 || header.rsv3 {
            return Err(Failure::Protocol);
        }
        // Clients mask, servers do not; libzmq enforces both directions.
        let mask = header.mask;
        if mask.is_some() == self.client {
            return Err(Failure::Protocol);
        }
        let (opcode, is_final) = (header.opcode, header.is_final);
        let mut payload = frame.into_payload();
        if let Some(mask) = mask {
            let mut data = BytesMut::from(&payload[..]);
            for (i, b) in data.iter_mut().enumerate() {
                *b ^= mask[i & 3];
            }
            payload = data.freeze();
        }
        match opcode {
            // One ZWS frame per whole binary message; text, fragments and continuations
            // are refused.
            OpCode::Data(Data::Binary) if is_final => {
                let conn = self.conn.as_mut().ok_or(Failure::Protocol)?;
                conn.handle_message(payload).map_err(|_| Failure::Protocol)
            }
            OpCode::Data(_) => Err(Failure::Protocol),
            OpCode::Control(_) if !is_final || payload.len() > 125 => Err(Failure::Protocol),
            OpCode::Control(Control::Ping) => {
                // RFC 6455: the pong echoes the ping's payload (libzmq sends it empty).
                self.send_frame(Frame::pong(payload))?;
                Ok(())
            }
            OpCode::Control(Control::Pong) => Ok(()),
            OpCode::Control(Control::Close) => {
                // Echo the close, then end the connection (as libzmq).
                let _ = self.send_frame(Frame::close(None));
                Err(Failure::Transient)
            }
            OpCode::Control(Control::Reserved(_)) => Err(Failure::Protocol),
        }
    }

    fn handshake(&mut self, readable: &mut bool, writable: &mut bool) -> Result<bool, Failure> {
        match std::mem::replace(&mut self.state, State::Gone) {
            State::Server(mid) => self.server_handshake(mid, readable, writable),
            State::Client(mid) => self.client_handshake(mid, readable, writable),
            other => {
                self.state = other;
                Ok(false)
            }
        }
    }

    /// Resumes the server's upgrade; on success the route its path picked is kept for the
    /// session.
    fn server_handshake(
        &mut self,
        mut mid: MidHandshake<ServerHandshake<HsStream, PathCallback>>,
        readable: &mut bool,
        writable: &mut bool,
    ) -> Result<bool, Failure> {
        mid.get_mut().get_mut().blocked_read = false;
        mid.get_mut().get_mut().blocked_write = false;
        match mid.handshake() {
            Ok(ws) => {
                let (route, sub) = lock(&self.selected).take().ok_or(Failure::Protocol)?;
                let config = Config {
                    socket_type: route.link.socket_type,
                    identity: route.options.routing_id.clone(),
                    max_msg_size: route.options.maxmsgsize,
                };
                self.route = Some(route);
                self.open(ws.into_inner(), config, sub, readable);
                Ok(true)
            }
            Err(HandshakeError::Interrupted(mut mid)) => {
                Self::blocked(mid.get_mut().get_mut(), readable, writable);
                self.state = State::Server(mid);
                Ok(false)
            }
            // Not an upgrade, unknown path, no ZWS subprotocol, head too long...
            Err(HandshakeError::Failure(_)) => Err(Failure::Protocol),
        }
    }

    /// Resumes the client's upgrade; the server must have picked a ZWS subprotocol.
    fn client_handshake(
        &mut self,
        mut mid: MidHandshake<ClientHandshake<HsStream>>,
        readable: &mut bool,
        writable: &mut bool,
    ) -> Result<bool, Failure> {
        mid.get_mut().get_mut().blocked_read = false;
        mid.get_mut().get_mut().blocked_write = false;
        match mid.handshake() {
            Ok((ws, response)) => {
                let sub = response
                    .headers()
                    .get("Sec-WebSocket-Protocol")
                    .and_then(|v| v.to_str().ok())
                    .and_then(Subprotocol::from_token)
                    .ok_or(Failure::Protocol)?;
                let config = self.config.clone().ok_or(Failure::Protocol)?;
                self.open(ws.into_inner(), config, sub, readable);
                Ok(true)
            }
            Err(HandshakeError::Interrupted(mut mid)) => {
                Self::blocked(mid.get_mut().get_mut(), readable, writable);
                self.state = State::Client(mid);
                Ok(false)
            }
            // A refusal (say 404 while the path is not bound yet) or a reset: like
            // a refused tcp connection, try again later.
            Err(HandshakeError::Failure(
                tungstenite::Error::Http(_) | tungstenite::Error::Io(_),
            )) => Err(Failure::Transient),
            Err(HandshakeError::Failure(_)) => Err(Failure::Protocol),
        }
    }

    fn blocked(hs: &HsStream, readable: &mut bool, writable: &mut bool) {
        if hs.blocked_read {
            *readable = false;
        }
        if hs.blocked_write {
            *writable = false;
        }
    }

    /// Switches to framing. Bytes the peer sent right after its head (libzmq and jszmq send
    /// their first message with the `101`) may already sit in the stream's read-ahead, and
    /// the readiness that announced them may have been used up by the handshake: read again
    /// rather than wait for an edge that will not come.
    fn open(&mut self, mut hs: HsStream, config: Config, sub: Subprotocol, readable: &mut bool) {
        *readable = true;
        hs.end_head();
        self.conn = Some(zws::Connection::new(config.clone(), sub));
        self.config = Some(config);
        self.state = State::Open(FrameSocket::new(hs));
    }
}

//! The ZWS engine (ws://): the HTTP upgrade over the non-blocking stream, on the I/O thread
//! (tungstenite's handshake, resumed on WouldBlock), then the core's WebSocket frame codec
//! (`engine/ws_open.rs`) and the sans-IO ZWS 2.0 connection above it. What the framing
//! refuses closes the connection with the matching close code (docs/wire.md §10.7, §10.8).

use std::io;
use std::sync::{Arc, Mutex};

use isomq_core::ws::Codec;
use isomq_core::zap::ZapOutcome;
use isomq_core::zmtp::{Config, Event};
use isomq_core::zws::{self, Subprotocol};
use isomq_core::Msg;
use mio::Registry;
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::client::ClientHandshake;
use tungstenite::handshake::server::{Callback, ErrorResponse, Request, Response, ServerHandshake};
use tungstenite::handshake::{HandshakeError, MidHandshake};
use tungstenite::http::{HeaderValue, StatusCode};
use tungstenite::protocol::WebSocketConfig;

use super::failure::Failure;
use super::ws_open::OpenWs;
use crate::random::OsRandom;
use crate::stream::Stream;
use crate::sync::lock;
use crate::transport::random_u64;
use crate::ws::{HsStream, Route, Routes};

/// tungstenite only runs the upgrade here: the frames are the core codec's. Its WebSocket,
/// made when the upgrade completes and taken apart right away, then needs no buffers (by
/// default it reserves 128 KiB for reading).
fn handshake_only() -> Option<WebSocketConfig> {
    Some(
        WebSocketConfig::default()
            .read_buffer_size(0)
            .write_buffer_size(0),
    )
}

/// What the server's upgrade picked: the socket bound on the path, and the subprotocol.
type Selected = Arc<Mutex<Option<(Route, Subprotocol)>>>;

/// Looks at the upgrade request: the path must be bound in this context (404 otherwise)
/// and a ZWS 2.0 subprotocol offered (400 otherwise; libzmq just closes). The first offered
/// token it supports wins, the batch extension's included (docs/wire.md §10.2, §10.9).
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
        // WS_ORIGIN: a browser's upgrade from a page of another origin is refused (its
        // scripts could otherwise use the socket); non-browsers send no Origin.
        let origin = request
            .headers()
            .get("Origin")
            .and_then(|v| v.to_str().ok());
        if !route.options.accepts_origin(origin) {
            return Err(refusal(StatusCode::FORBIDDEN));
        }
        // libzmq: the header may be repeated or a list; the first supported token wins,
        // among those of the mechanism the bound socket speaks (a CURVE socket never agrees
        // to NULL). A socket whose security options are incomplete agrees to nothing.
        let mechanism = route
            .options
            .security
            .auth()
            .map(|a| a.security.mechanism())
            .map_err(|_| refusal(StatusCode::BAD_REQUEST))?;
        let sub = request
            .headers()
            .get_all("Sec-WebSocket-Protocol")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|offered| Subprotocol::select_for(offered, mechanism));
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
    Open(OpenWs),
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
    /// Why the upgrade (or the TLS under it) failed, for the monitor event.
    failure: Option<String>,
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
            failure: None,
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
                handshake_only(),
            )),
            client: false,
            config: None,
            conn: None,
            selected,
            route: None,
            failure: None,
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
        let mechanism = self
            .config
            .as_ref()
            .map_or("NULL", |c| c.auth.security.mechanism());
        let protocols = HeaderValue::from_str(&zws::client_protocols(mechanism, false).join(","))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", protocols);
        let mid = ClientHandshake::start(HsStream::new(stream), request, handshake_only())
            .map_err(invalid)?;
        self.state = State::Client(mid);
        Ok(true)
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.is_ready())
    }

    pub(crate) fn transmit_len(&self) -> usize {
        let framed = match &self.state {
            State::Open(open) => open.transmit_len(),
            _ => 0,
        };
        self.conn.as_ref().map_or(0, |c| c.transmit_len()) + framed
    }

    /// The ZWS connection's next message; its error as it is (the session fails the
    /// connection on any).
    pub(crate) fn poll_msg(&mut self) -> isomq_core::Result<Option<Msg>> {
        match &mut self.conn {
            Some(c) => c.poll_msg(),
            None => Ok(None),
        }
    }

    pub(crate) fn poll_event(&mut self) -> Option<Event> {
        self.conn.as_mut()?.poll_event()
    }

    pub(crate) fn send_msg(&mut self, msg: &Msg) {
        if let Some(c) = &mut self.conn {
            c.send_msg(msg);
            if c.has_sealed() {
                if let State::Open(open) = &mut self.state {
                    open.frame_sealed(c);
                }
            }
        }
    }

    /// The outcome of the mechanism's ZAP request.
    pub(crate) fn handle_zap(&mut self, outcome: ZapOutcome) -> isomq_core::Result<()> {
        match &mut self.conn {
            Some(c) => c.handle_zap(outcome),
            None => Err(isomq_core::Error::Proto(
                "ZAP reply without a request".into(),
            )),
        }
    }

    /// The peer's IP address, for ZAP requests.
    pub(crate) fn peer_ip(&self) -> String {
        match &self.state {
            State::Open(open) => open.stream.peer_ip(),
            _ => String::new(),
        }
    }

    /// Whether traffic grew the frame codec's buffers (none before the upgrade).
    pub(crate) fn is_grown(&self) -> bool {
        matches!(&self.state, State::Open(open) if open.is_grown())
    }

    pub(crate) fn take_busy(&mut self) -> bool {
        match &mut self.state {
            State::Open(open) => open.take_busy(),
            _ => false,
        }
    }

    pub(crate) fn shrink_idle(&mut self) {
        if let State::Open(open) = &mut self.state {
            open.shrink_idle();
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
            State::Open(open) => open.stream.deregister(registry),
            State::Gone => {}
        }
    }

    pub(crate) fn read(
        &mut self,
        readable: &mut bool,
        writable: &mut bool,
    ) -> Result<bool, Failure> {
        match (&mut self.state, &mut self.conn) {
            (State::Open(open), Some(conn)) => open.read(conn, readable),
            _ => self.handshake(readable, writable),
        }
    }

    pub(crate) fn write(
        &mut self,
        readable: &mut bool,
        writable: &mut bool,
    ) -> Result<bool, Failure> {
        if !*writable {
            return Ok(false);
        }
        match (&mut self.state, &mut self.conn) {
            (State::Open(open), Some(conn)) => open.write(conn, writable),
            _ => self.handshake(readable, writable),
        }
    }

    /// Whether a write failed on the open connection (see `OpenWs::output_failed`).
    pub(crate) fn output_failed(&self) -> bool {
        matches!(&self.state, State::Open(open) if open.output_failed())
    }

    /// Whether the peer ended the open connection (see `OpenWs::peer_ended`).
    pub(crate) fn peer_ended(&self) -> bool {
        matches!(&self.state, State::Open(open) if open.peer_ended())
    }

    /// Sends a WebSocket ping: libzmq's ws engine heartbeats with WS pings, not ZMTP PINGs
    /// (docs/wire.md §10.6). It leaves with the next write.
    pub(crate) fn send_ping(&mut self) {
        if let State::Open(open) = &mut self.state {
            open.send_ping();
        }
    }

    /// Why the upgrade failed (the HTTP status, the TLS alert or certificate error), once.
    pub(crate) fn take_failure(&mut self) -> Option<String> {
        self.failure.take()
    }

    fn handshake(&mut self, readable: &mut bool, writable: &mut bool) -> Result<bool, Failure> {
        if let State::Server(mid) = &mut self.state {
            Self::flush_tls(&mut mid.get_mut().get_mut().stream, writable)?;
        }
        if let State::Client(mid) = &mut self.state {
            Self::flush_tls(&mut mid.get_mut().get_mut().stream, writable)?;
        }
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
                    // A socket configured for PLAIN or CURVE fails here (ZWS speaks NULL
                    // only so far) rather than talking in clear.
                    auth: route
                        .options
                        .security
                        .auth()
                        .map_err(|_| Failure::Protocol)?,
                };
                self.route = Some(route);
                self.open(ws.into_inner(), config, sub, readable)?;
                Ok(true)
            }
            Err(HandshakeError::Interrupted(mut mid)) => {
                Self::blocked(mid.get_mut().get_mut(), readable, writable);
                self.state = State::Server(mid);
                Ok(false)
            }
            // Not an upgrade, unknown path, no ZWS subprotocol, head too long, a TLS
            // handshake that failed...
            Err(HandshakeError::Failure(tungstenite::Error::Io(e))) => {
                self.failure = Some(e.to_string());
                Err(Failure::Protocol)
            }
            Err(HandshakeError::Failure(e)) => {
                self.failure = Some(e.to_string());
                Err(Failure::Protocol)
            }
        }
    }

    /// Resumes the client's upgrade; the server must have picked a ZWS subprotocol (the
    /// offer: the batch extension first, then libzmq's, docs/wire.md §10.9).
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
                self.open(ws.into_inner(), config, sub, readable)?;
                Ok(true)
            }
            Err(HandshakeError::Interrupted(mut mid)) => {
                Self::blocked(mid.get_mut().get_mut(), readable, writable);
                self.state = State::Client(mid);
                Ok(false)
            }
            // A refusal (say 404 while the path is not bound yet) or a reset: like
            // a refused tcp connection, try again later.
            // A certificate the client does not trust is the same: the server may be
            // given a good one (or the trust fixed) while the socket keeps trying.
            Err(HandshakeError::Failure(tungstenite::Error::Io(e))) => {
                self.failure = Some(e.to_string());
                Err(Failure::Transient)
            }
            Err(HandshakeError::Failure(e @ tungstenite::Error::Http(_))) => {
                self.failure = Some(e.to_string());
                Err(Failure::Transient)
            }
            Err(HandshakeError::Failure(e)) => {
                self.failure = Some(e.to_string());
                Err(Failure::Protocol)
            }
        }
    }

    /// TLS handshake records a full socket held back: out first, or nothing moves (the
    /// peer waits for them).
    fn flush_tls(stream: &mut Stream, writable: &mut bool) -> Result<(), Failure> {
        if !*writable || !stream.has_pending() {
            return Ok(());
        }
        match stream.flush_pending() {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                *writable = false;
                Ok(())
            }
            Err(_) => Err(Failure::Transient),
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
    /// rather than wait for an edge that will not come. The handshake's buffers go with it.
    fn open(
        &mut self,
        hs: HsStream,
        config: Config,
        sub: Subprotocol,
        readable: &mut bool,
    ) -> Result<(), Failure> {
        *readable = true;
        // MAXMSGSIZE bounds a ZWS frame's body; its WebSocket message adds the flags byte
        // (docs/wire.md §10.3), or is a batch of frames (§10.9).
        let max = match sub {
            Subprotocol::Batch => zws::batch::max_message_len(config.max_msg_size),
            Subprotocol::Null | Subprotocol::Bare | Subprotocol::Plain | Subprotocol::WebPlain => {
                config
                    .max_msg_size
                    .and_then(|m| usize::try_from(m.saturating_add(1)).ok())
            }
            // A CURVE MESSAGE adds its name, nonce, authenticator and flags (33 bytes).
            Subprotocol::Curve | Subprotocol::WebCurve => config
                .max_msg_size
                .and_then(|m| usize::try_from(m.saturating_add(1 + 33)).ok()),
        };
        let codec = if self.client {
            Codec::client(max, mask_keys())
        } else {
            Codec::server(max)
        };
        let (stream, ahead) = hs.into_parts();
        let open = OpenWs::new(stream, codec, &ahead)?;
        self.conn = Some(if sub.mechanism() != "NULL" {
            zws::Connection::with_random(config.clone(), sub, &mut OsRandom)
        } else if self.client {
            zws::Connection::client(config.clone(), sub)
        } else {
            zws::Connection::new(config.clone(), sub)
        });
        self.config = Some(config);
        self.state = State::Open(open);
        Ok(())
    }
}

/// A client's masking keys (RFC 6455 §5.3): splitmix64 over a per-connection seed from
/// `random_u64` (the OS-seeded keys of std's hasher), one step per frame.
///
/// Why not `random_u64` per frame: it builds and runs a SipHash for each frame, a cost per
/// small message. Masking exists so that script in a web page cannot choose the bytes an
/// intermediary sees (RFC 6455 §10.3); the keys must be unpredictable to whoever picks the
/// payload, not secret in the cryptographic sense. Here the payload comes from the
/// application itself, and the seed is still unknown to the peer and to anything on the
/// path, so a fast generator seeded once is enough.
fn mask_keys() -> impl FnMut() -> u32 + Send {
    let mut state = random_u64();
    move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        // The high half: splitmix64's best-mixed bits.
        ((z ^ (z >> 31)) >> 32) as u32
    }
}

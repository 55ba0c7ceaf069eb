//! One ZWS 2.0 connection after the WebSocket upgrade: binary message payloads in, messages
//! and events out, payloads to send out. The transport owns the socket, the HTTP upgrade, the
//! WebSocket framing (masking, ping/pong, close) and the clock.

use std::collections::VecDeque;

use bytes::{BufMut, Bytes, BytesMut};

use super::Subprotocol;
use crate::error::{Error, Result};
use crate::msg::Msg;
use crate::socket_type::SocketType;
use crate::zmtp::command::{self, Command};
use crate::zmtp::mechanism::null;
use crate::zmtp::{Config, Event, PeerInfo};

/// Payload flag: more frames of this message follow (RFC 45).
const MORE: u8 = 0x01;
/// Payload flag: the body is a command (`name-len name data`). ZWS has no LONG flag: the
/// WebSocket frame carries the length.
const COMMAND: u8 = 0x02;

/// The version [`PeerInfo::version`] reports on ZWS connections: ZWS 2.0.
const ZWS_VERSION: (u8, u8) = (2, 0);

/// Where the handshake stands, named after what it waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// `ZWS2.0/NULL`: the peer's READY command.
    ExpectReady,
    /// `ZWS2.0`: the peer's routing-id message.
    ExpectRoutingId,
    /// Handshake done: messages and commands.
    Traffic,
}

/// One WebSocket binary message to send.
#[derive(Debug, Clone)]
pub enum Transmit {
    /// The whole payload (handshake messages, commands, subscriptions).
    Payload(Bytes),
    /// A data frame: the flags byte, then the frame's body.
    Frame {
        /// `00`, or `01` (MORE).
        flags: u8,
        /// The body (its own MORE mark is not used).
        body: Msg,
    },
}

/// A ZWS 2.0 connection (`ZWS2.0/NULL` or bare `ZWS2.0`), without I/O.
///
/// Feed it each binary WebSocket message ([`handle_message`](Connection::handle_message)),
/// send each payload [`poll_transmit`](Connection::poll_transmit) returns as one whole binary
/// message, take events and messages with [`poll_event`](Connection::poll_event) and
/// [`poll_msg`](Connection::poll_msg).
///
/// Any error is fatal: the caller closes the WebSocket. Later calls return the same error.
#[derive(Debug)]
pub struct Connection {
    config: Config,
    subprotocol: Subprotocol,
    state: State,
    /// Frames received after the handshake, waiting for `poll_msg` (so a full pipe applies
    /// back-pressure by not calling it).
    rx: VecDeque<Bytes>,
    /// Whether the last data frame taken out by `poll_msg` had MORE (the next one continues
    /// a message and is never read as a subscription).
    rx_more: bool,
    tx: VecDeque<Transmit>,
    tx_len: usize,
    events: VecDeque<Event>,
    /// The error that ended the connection, returned again by later calls.
    failed: Option<Error>,
}

impl Connection {
    /// After the WebSocket upgrade. Queues READY (`ZWS2.0/NULL`: `02 05 'READY' props`) or,
    /// for bare `ZWS2.0`, the routing-id message (`00 <id>`), at once, as libzmq does; there
    /// is no ZMTP greeting on ZWS.
    pub fn new(config: Config, subprotocol: Subprotocol) -> Connection {
        let mut conn = Connection {
            state: match subprotocol {
                Subprotocol::Null => State::ExpectReady,
                Subprotocol::Bare => State::ExpectRoutingId,
            },
            subprotocol,
            rx: VecDeque::new(),
            rx_more: false,
            tx: VecDeque::new(),
            tx_len: 0,
            events: VecDeque::new(),
            failed: None,
            config,
        };
        match subprotocol {
            Subprotocol::Null => {
                let ready = null::ready_data(conn.config.socket_type, &conn.config.identity);
                conn.push_command(command::READY, &ready);
            }
            Subprotocol::Bare => {
                let id = conn.config.identity.clone();
                conn.push_frame(0, &id);
            }
        }
        conn
    }

    /// The subprotocol this connection speaks.
    pub fn subprotocol(&self) -> Subprotocol {
        self.subprotocol
    }

    /// One binary WebSocket message (flags byte + body). Err = fatal for the connection:
    /// an empty payload (the flags byte is mandatory), reserved flag bits set, a handshake
    /// violation, an incompatible socket type, ERROR received, or a frame over MAXMSGSIZE.
    pub fn handle_message(&mut self, payload: Bytes) -> Result<()> {
        self.check_failed()?;
        self.receive(payload)
            .inspect_err(|e| self.failed = Some(e.clone()))
    }

    /// The next event, if any: [`Event::Ready`] once, when the handshake completes.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Whether the handshake is complete (and no error has happened).
    pub fn is_ready(&self) -> bool {
        self.state == State::Traffic && self.failed.is_none()
    }

    /// Frames received and not yet taken by `poll_msg`.
    pub fn input_len(&self) -> usize {
        self.rx.len()
    }

    /// Next received frame (MORE set on all but the last of a message), `Ok(None)` when none.
    ///
    /// On PUB/XPUB sockets a single-frame data message `01 topic` / `00 topic` becomes
    /// [`Msg::subscribe`] / [`Msg::cancel`] (the ZWS form of a subscription; the socket
    /// patterns accept both forms anyway). Commands after the handshake are handled here:
    /// ERROR is fatal, everything else (SUBSCRIBE/CANCEL, ZMTP PING/PONG, unknown names) is
    /// ignored, as libzmq's ws engine does.
    pub fn poll_msg(&mut self) -> Result<Option<Msg>> {
        self.check_failed()?;
        if self.state != State::Traffic {
            return Ok(None);
        }
        self.next_msg()
            .inspect_err(|e| self.failed = Some(e.clone()))
    }

    /// Encodes one frame (only valid once ready; before that, ignored).
    /// [`Msg::subscribe`] / [`Msg::cancel`] become `00 01 topic` / `00 00 topic` data
    /// messages (the ZWS form), data frames `flags(00 | 01 MORE) body`.
    pub fn send_msg(&mut self, msg: &Msg) {
        if !self.can_send() {
            return;
        }
        let subscribe = msg.is_subscribe();
        if subscribe || msg.is_cancel() {
            let mut buf = BytesMut::with_capacity(2 + msg.len());
            buf.put_u8(0);
            buf.put_u8(u8::from(subscribe));
            buf.put_slice(msg.as_slice());
            self.push(buf.freeze());
            return;
        }
        let flags = if msg.more() { MORE } else { 0 };
        // Kept as the flags byte and the frame itself: a small frame is copied once, into
        // the WebSocket encoder's batch, and a large one is shared, never joined here.
        self.tx_len += 1 + msg.len();
        self.tx.push_back(Transmit::Frame {
            flags,
            body: msg.clone().with_more(false),
        });
    }

    /// The next WebSocket binary message to send, whole (never to be fragmented).
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        Some(match self.poll_transmit_parts()? {
            Transmit::Payload(payload) => payload,
            Transmit::Frame { flags, body } => {
                let mut buf = BytesMut::with_capacity(1 + body.len());
                buf.put_u8(flags);
                buf.put_slice(body.as_slice());
                buf.freeze()
            }
        })
    }

    /// Like [`poll_transmit`](Connection::poll_transmit), without joining a data frame's
    /// flags byte and body: for a WebSocket encoder that takes them apart.
    pub fn poll_transmit_parts(&mut self) -> Option<Transmit> {
        let out = self.tx.pop_front()?;
        self.tx_len -= match &out {
            Transmit::Payload(payload) => payload.len(),
            Transmit::Frame { body, .. } => 1 + body.len(),
        };
        Some(out)
    }

    /// Bytes waiting in [`poll_transmit`](Connection::poll_transmit).
    pub fn transmit_len(&self) -> usize {
        self.tx_len
    }

    fn check_failed(&self) -> Result<()> {
        match &self.failed {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn can_send(&self) -> bool {
        debug_assert!(
            self.state == State::Traffic,
            "send before the ZWS handshake completed"
        );
        self.state == State::Traffic && self.failed.is_none()
    }

    fn push(&mut self, payload: Bytes) {
        self.tx_len += payload.len();
        self.tx.push_back(Transmit::Payload(payload));
    }

    fn push_frame(&mut self, flags: u8, body: &[u8]) {
        let mut buf = BytesMut::with_capacity(1 + body.len());
        buf.put_u8(flags);
        buf.put_slice(body);
        self.push(buf.freeze());
    }

    fn push_command(&mut self, name: &[u8], data: &[u8]) {
        let mut buf = BytesMut::with_capacity(2 + name.len() + data.len());
        buf.put_u8(COMMAND);
        // Command names are ours (READY), far below 256 bytes.
        buf.put_u8(name.len() as u8);
        buf.put_slice(name);
        buf.put_slice(data);
        self.push(buf.freeze());
    }

    fn receive(&mut self, payload: Bytes) -> Result<()> {
        let Some(&flags) = payload.first() else {
            return Err(Error::Proto(
                "empty WebSocket message (the flags byte is mandatory)".into(),
            ));
        };
        if flags & !(MORE | COMMAND) != 0 {
            return Err(Error::Proto(format!(
                "reserved ZWS flag bits set: {flags:#04x}"
            )));
        }
        if self
            .config
            .max_msg_size
            .is_some_and(|max| (payload.len() - 1) as u64 > max)
        {
            return Err(Error::MsgSize);
        }
        match self.state {
            State::ExpectReady => {
                if flags & COMMAND == 0 {
                    return Err(Error::Proto(
                        "message frame before the handshake completed".into(),
                    ));
                }
                let peer = null::process_handshake_command(&payload[1..], self.config.socket_type)?;
                self.ready(PeerInfo {
                    socket_type: peer.socket_type,
                    identity: peer.identity,
                    version: ZWS_VERSION,
                    properties: peer.properties,
                });
            }
            State::ExpectRoutingId => {
                if flags & COMMAND != 0 {
                    return Err(Error::Proto(
                        "command before the routing id on bare ZWS2.0".into(),
                    ));
                }
                // No socket-type check on bare ZWS2.0, as libzmq.
                self.ready(PeerInfo {
                    socket_type: None,
                    identity: payload.slice(1..),
                    version: ZWS_VERSION,
                    properties: Vec::new(),
                });
            }
            State::Traffic => self.rx.push_back(payload),
        }
        Ok(())
    }

    fn ready(&mut self, peer: PeerInfo) {
        self.events.push_back(Event::Ready(peer));
        self.state = State::Traffic;
    }

    fn next_msg(&mut self) -> Result<Option<Msg>> {
        while let Some(payload) = self.rx.pop_front() {
            // receive() checked that the flags byte is there.
            let flags = payload.first().copied().unwrap_or_default();
            if flags & COMMAND != 0 {
                if let Command::Error(reason) = command::parse(&payload[1..])? {
                    return Err(Error::Proto(format!(
                        "peer sent ERROR: {}",
                        String::from_utf8_lossy(reason)
                    )));
                }
                continue;
            }
            let more = flags & MORE != 0;
            let first = !self.rx_more;
            self.rx_more = more;
            if first && !more && self.accepts_subscriptions() {
                match payload.get(1) {
                    Some(1) => return Ok(Some(Msg::subscribe(&payload[2..]))),
                    Some(0) => return Ok(Some(Msg::cancel(&payload[2..]))),
                    _ => {}
                }
            }
            return Ok(Some(Msg::from_bytes(payload.slice(1..)).with_more(more)));
        }
        Ok(None)
    }

    fn accepts_subscriptions(&self) -> bool {
        matches!(self.config.socket_type, SocketType::Pub | SocketType::XPub)
    }
}

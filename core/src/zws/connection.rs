//! One ZWS 2.0 connection after the WebSocket upgrade: binary message payloads in, messages
//! and events out, payloads to send out. The transport owns the socket, the HTTP upgrade, the
//! WebSocket framing (masking, ping/pong, close) and the clock.

use std::collections::VecDeque;

use bytes::{BufMut, Bytes, BytesMut};

mod receive;
mod secure;

use super::batch::{self, Packer, Sealed};
use super::Subprotocol;
use crate::error::{Error, Result};
use crate::msg::Msg;
use crate::security::Random;
use crate::zmtp::command;
use crate::zmtp::mechanism::curve::Cipher;
use crate::zmtp::mechanism::{null, Mechanism};
use crate::zmtp::{self, Config, Event};

/// Payload flag: more frames of this message follow (RFC 45).
const MORE: u8 = 0x01;
/// Payload flag: the body is a command (`name-len name data`). ZWS has no LONG flag: the
/// WebSocket frame carries the length.
const COMMAND: u8 = 0x02;
/// The COMMAND flag of ZMTP 3.x framing, which the batch extension uses (docs/wire.md §10.9);
/// a reserved bit in RFC 45's flags byte, so that the first byte of a message tells the two
/// framings apart.
const BATCH_COMMAND: u8 = 0x04;

/// The version [`PeerInfo::version`] reports on ZWS connections: ZWS 2.0.
const ZWS_VERSION: (u8, u8) = (2, 0);

/// Where the handshake stands, named after what it waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// A client that offered the batch extension and was answered with its token: the
    /// server's first message, which tells whether it speaks the extension (docs/wire.md
    /// §10.9, "Fallback").
    ExpectServerFirst,
    /// `ZWS2.0/NULL`: the peer's READY command.
    ExpectReady,
    /// `ZWS2.0`: the peer's routing-id message.
    ExpectRoutingId,
    /// PLAIN or CURVE: the mechanism's commands.
    Handshake,
    /// Handshake done: messages and commands.
    Traffic,
}

/// A received frame: its body, with the MORE flag set on it, and whether it is a command.
/// `poll_msg` hands the body on as it is, so the frame is laid out as the `Msg` it returns
/// (a tuple of flags and body moved the `Msg` through odd offsets, and each move read back
/// bytes just stored with other widths: benches/RESULTS.md, "eighth stop").
#[derive(Debug)]
struct RxFrame {
    body: Msg,
    command: bool,
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
    /// Batch extension: a frame too long to share a message, as its ZMTP header and its
    /// body (shared, so that a large body is not copied on its way to the transport).
    Parts {
        /// The ZMTP frame header (2 or 9 bytes).
        head: Bytes,
        /// The frame's body.
        body: Bytes,
    },
}

impl Transmit {
    /// The WebSocket message's length.
    pub fn len(&self) -> usize {
        match self {
            Transmit::Payload(payload) => payload.len(),
            Transmit::Frame { body, .. } => 1 + body.len(),
            Transmit::Parts { head, body } => head.len() + body.len(),
        }
    }

    /// Never true: every WebSocket message of ZWS holds at least a flags byte.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
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
    /// back-pressure by not calling it). Taken out of their WebSocket message on arrival,
    /// small bodies copied: nothing here holds on to the transport's input buffer for a
    /// small frame, so the buffer is reused in place rather than replaced (an allocation).
    rx: VecDeque<RxFrame>,
    /// Bytes of the frames in `rx`: their bodies and a flags byte each.
    rx_bytes: usize,
    /// Whether the last data frame taken out by `poll_msg` had MORE (the next one continues
    /// a message and is never read as a subscription).
    rx_more: bool,
    tx: VecDeque<Transmit>,
    /// Bytes in `tx`.
    tx_len: usize,
    /// Batch extension: the open batch, behind `tx`.
    packer: Packer,
    events: VecDeque<Event>,
    /// The error that ended the connection, returned again by later calls.
    failed: Option<Error>,
    /// PLAIN or CURVE, until the handshake is over.
    mechanism: Option<Mechanism>,
    /// CURVE: every frame after the handshake is a boxed MESSAGE.
    cipher: Option<Cipher>,
}

impl Connection {
    /// After the WebSocket upgrade, as the server or for a subprotocol of RFC 45. Queues
    /// READY (`ZWS2.0/NULL`: `02 05 'READY' props`; batch: the ZMTP READY frame) or, for bare
    /// `ZWS2.0`, the routing-id message (`00 <id>`), at once, as libzmq does; there is no
    /// ZMTP greeting on ZWS.
    pub fn new(config: Config, subprotocol: Subprotocol) -> Connection {
        let mut conn = Connection::waiting(config, subprotocol);
        conn.start(subprotocol);
        conn
    }

    /// For the subprotocols of a security mechanism (PLAIN, CURVE), whose configuration
    /// `config.auth` must name the same mechanism: the mechanism's first commands go out
    /// at once (the client's HELLO), with what CURVE draws from `rng` (docs/security.md).
    /// Client and server alike; NULL subprotocols work as with [`new`](Connection::new).
    pub fn with_random(
        config: Config,
        subprotocol: Subprotocol,
        rng: &mut dyn Random,
    ) -> Connection {
        let mut conn = Connection::waiting(config, subprotocol);
        if subprotocol.mechanism() == "NULL" {
            conn.start(subprotocol);
        } else if conn.failed.is_none() {
            conn.start_mechanism(rng);
        }
        conn
    }

    /// After the WebSocket upgrade, as the client. Like [`new`](Connection::new), except
    /// with the batch extension: a server that is not isomq may have echoed the token it
    /// does not speak (the `ws` package's servers echo the first token offered), so the
    /// client waits for the server's first message and speaks the framing that message is
    /// in (docs/wire.md §10.9, "Fallback").
    pub fn client(config: Config, subprotocol: Subprotocol) -> Connection {
        if subprotocol != Subprotocol::Batch {
            return Connection::new(config, subprotocol);
        }
        let mut conn = Connection::waiting(config, subprotocol);
        conn.state = State::ExpectServerFirst;
        conn
    }

    fn waiting(config: Config, subprotocol: Subprotocol) -> Connection {
        // The subprotocol must carry the mechanism the socket is configured for: a CURVE
        // socket never falls back to clear text. ZAP for NULL is not spoken over ZWS.
        let mechanism = config.auth.security.mechanism();
        let failed = (mechanism != subprotocol.mechanism()
            || (mechanism == "NULL" && config.auth.zap_domain))
            .then_some(Error::NotSup);
        Connection {
            state: State::ExpectReady,
            subprotocol,
            rx: VecDeque::new(),
            rx_bytes: 0,
            rx_more: false,
            tx: VecDeque::new(),
            tx_len: 0,
            packer: Packer::default(),
            events: VecDeque::new(),
            failed,
            config,
            mechanism: None,
            cipher: None,
        }
    }

    /// Queues the first message of `subprotocol` and waits for the peer's.
    fn start(&mut self, subprotocol: Subprotocol) {
        self.subprotocol = subprotocol;
        match subprotocol {
            Subprotocol::Null => {
                self.state = State::ExpectReady;
                let ready = null::ready_data(self.config.socket_type, &self.config.identity);
                self.push_command(command::READY, &ready);
            }
            Subprotocol::Bare => {
                self.state = State::ExpectRoutingId;
                let id = self.config.identity.clone();
                self.push_frame(0, &id);
            }
            Subprotocol::Batch => {
                self.state = State::ExpectReady;
                let ready = zmtp::ready_frame(self.config.socket_type, &self.config.identity);
                self.tx_len += ready.len();
                self.tx.push_back(Transmit::Payload(Bytes::from(ready)));
            }
            // Without randomness a mechanism cannot start (`with_random` starts them).
            Subprotocol::Plain
            | Subprotocol::Curve
            | Subprotocol::WebPlain
            | Subprotocol::WebCurve => {
                self.failed = Some(Error::Inval(
                    "PLAIN and CURVE over ws:// need Connection::with_random".into(),
                ));
            }
        }
    }

    /// The subprotocol this connection speaks (a batch client that fell back reports the
    /// subprotocol it fell back to).
    pub fn subprotocol(&self) -> Subprotocol {
        self.subprotocol
    }

    /// One binary WebSocket message. Err = fatal for the connection: an empty payload (the
    /// flags byte is mandatory), reserved flag bits set, a malformed batch, a handshake
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

    /// Bytes of the frames received and not yet taken by `poll_msg` (their bodies and a
    /// flags byte each).
    pub fn input_bytes(&self) -> usize {
        self.rx_bytes
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
    /// messages (the ZWS form), data frames `flags(00 | 01 MORE) body`; with the batch
    /// extension the same frames in ZMTP framing, packed.
    pub fn send_msg(&mut self, msg: &Msg) {
        if !self.can_send() {
            return;
        }
        let subscribe = msg.is_subscribe();
        let flags = if msg.more() { MORE } else { 0 };
        if self.cipher.is_some() {
            self.send_sealed(msg);
            return;
        }
        if self.subprotocol == Subprotocol::Batch {
            self.send_batched(msg, flags, subscribe);
            return;
        }
        if subscribe || msg.is_cancel() {
            let mut buf = BytesMut::with_capacity(2 + msg.len());
            buf.put_u8(0);
            buf.put_u8(u8::from(subscribe));
            buf.put_slice(msg.as_slice());
            self.push(buf.freeze());
            return;
        }
        // Kept as the flags byte and the frame itself: a small frame is copied once, into
        // the WebSocket encoder's batch, and a large one is shared, never joined here.
        self.tx_len += 1 + msg.len();
        self.tx.push_back(Transmit::Frame {
            flags,
            body: msg.clone().with_more(false),
        });
    }

    /// Batch extension: `msg` joins the open batch.
    fn send_batched(&mut self, msg: &Msg, flags: u8, subscribe: bool) {
        let sealed = if subscribe || msg.is_cancel() {
            let mark = [u8::from(subscribe)];
            self.packer.push_small(0, &mark, msg.as_slice())
        } else if let Ok(len) = u8::try_from(msg.len()) {
            // The path of every small message: nothing but a sealed batch to hand on.
            if let Some(batch) = self.packer.push_short(flags, len, &[], msg.as_slice()) {
                self.push(batch);
            }
            return;
        } else if batch::fits(msg.len()) {
            // Copied into the batch: sharing the body would only cost a reference count.
            self.packer.push(flags, &[msg.as_slice()], None)
        } else {
            let body = msg
                .shared()
                .cloned()
                .unwrap_or_else(|| msg.clone().into_bytes());
            self.packer.push(flags, &[], Some(body))
        };
        self.sealed(sealed);
    }

    /// The next WebSocket binary message to send, whole (never to be fragmented).
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        Some(match self.poll_transmit_parts()? {
            Transmit::Payload(payload) => payload,
            Transmit::Frame { flags, body } => join(&[flags], body.as_slice()),
            Transmit::Parts { head, body } => join(&head, &body),
        })
    }

    /// Like [`poll_transmit`](Connection::poll_transmit), without joining a frame's header
    /// and body: for a WebSocket encoder that takes them apart. The open batch is sealed
    /// when nothing else waits: a message never waits for more to join it.
    pub fn poll_transmit_parts(&mut self) -> Option<Transmit> {
        if self.tx.is_empty() {
            let open = self.packer.seal()?;
            self.push(open);
        }
        self.poll_sealed_parts()
    }

    /// Whether whole messages wait for [`poll_sealed_parts`](Connection::poll_sealed_parts)
    /// (a check cheap enough for every message sent).
    #[inline]
    pub fn has_sealed(&self) -> bool {
        !self.tx.is_empty()
    }

    /// Like [`poll_transmit_parts`](Connection::poll_transmit_parts), but only messages
    /// already whole: the open batch stays open. A transport that copies each batch (a
    /// client masking it) takes them as soon as they are sealed, so that the batch buffer
    /// is free again when the next batch starts in it.
    pub fn poll_sealed_parts(&mut self) -> Option<Transmit> {
        let out = self.tx.pop_front()?;
        self.tx_len -= out.len();
        Some(out)
    }

    /// Bytes waiting in [`poll_transmit`](Connection::poll_transmit).
    pub fn transmit_len(&self) -> usize {
        self.tx_len + self.packer.len()
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

    /// Batch extension: what the packer sealed on its way joins `tx`.
    fn sealed(&mut self, sealed: Sealed) {
        match sealed {
            Sealed::None => {}
            Sealed::One(batch) => self.push(batch),
            Sealed::Alone { before, head, body } => {
                if !before.is_empty() {
                    self.push(before);
                }
                self.tx_len += head.len() + body.len();
                self.tx.push_back(Transmit::Parts { head, body });
            }
        }
    }

    fn push_frame(&mut self, flags: u8, body: &[u8]) {
        self.push(join(&[flags], body));
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
}

fn join(head: &[u8], body: &[u8]) -> Bytes {
    let mut buf = BytesMut::with_capacity(head.len() + body.len());
    buf.put_slice(head);
    buf.put_slice(body);
    buf.freeze()
}

//! One ZMTP 3.x connection as a sans-IO state machine: bytes in, messages and events out,
//! bytes to write out. The caller owns the transport and the clock.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Bytes, BytesMut};

use super::command::{self, Command, PING_MAX_CONTEXT};
use super::decoder::{self, Frame, COMMAND, MORE};
use super::encoder::Encoder;
use super::greeting::{self, Version, GREETING_LEN};
use super::mechanism::curve::Cipher;
use super::mechanism::{Auth, Mechanism, Out, Step};
use super::recycle::Recycler;
use super::secure;
use crate::error::{Error, Result};
use crate::msg::Msg;
use crate::security::Random;
use crate::socket_type::SocketType;
use crate::zap::{ZapOutcome, ZapRequest};

/// Input of up to this many bytes (the start of a frame) is kept by
/// [`Connection::shrink_idle`], copied into a buffer of its size.
const IDLE_KEEP: usize = 256;

/// How a connection presents itself and what it accepts.
#[derive(Debug, Clone)]
pub struct Config {
    /// Our socket type, sent as the `Socket-Type` property and checked against the peer's.
    pub socket_type: SocketType,
    /// Routing id sent as the `Identity` property (only for REQ/DEALER/ROUTER, as libzmq).
    pub identity: Bytes,
    /// MAXMSGSIZE: frames larger than this are a protocol error (Error::MsgSize). None = unlimited.
    pub max_msg_size: Option<u64>,
    /// The security mechanism and how it uses ZAP (NULL without ZAP by default).
    pub auth: Auth,
}

impl Config {
    /// A configuration with no identity and no size limit (libzmq's defaults).
    pub fn new(socket_type: SocketType) -> Config {
        Config {
            socket_type,
            identity: Bytes::new(),
            max_msg_size: None,
            auth: Auth::default(),
        }
    }
}

/// Something that happened on a connection, other than a message arriving.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Handshake complete (greeting + READY both ways); data may flow.
    Ready(PeerInfo),
    /// The mechanism asks the host to authenticate the peer through ZAP (RFC 27): send the
    /// request to the context's handler and pass the outcome to
    /// [`handle_zap`](Connection::handle_zap).
    Zap(ZapRequest),
}

/// What the peer told us about itself during the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's `Socket-Type`, or `None` when its READY had none (accepted, as by libzmq).
    pub socket_type: Option<SocketType>,
    /// The peer's `Identity` property (empty when it sent none).
    pub identity: Bytes,
    /// The protocol version spoken on this connection: `(3, 0)` or `(3, 1)` for ZMTP,
    /// `(2, 0)` for ZWS 2.0 ([`crate::zws`]).
    pub version: (u8, u8),
    /// Every READY property in the order received, names spelled as the peer sent them.
    pub properties: Vec<(String, Bytes)>,
}

/// Where the handshake stands, named after what it waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The peer's 64-byte greeting.
    ExpectGreeting,
    /// The mechanism's handshake commands (NULL: the peer's READY).
    Handshake,
    /// Handshake done: message and command frames.
    Traffic,
}

/// A ZMTP 3.x connection (NULL, PLAIN or CURVE mechanism), without I/O.
///
/// Feed it what the transport reads ([`handle_input`](Connection::handle_input)), write out
/// what it has to send ([`transmit_slices`](Connection::transmit_slices) /
/// [`transmit_chunk`](Connection::transmit_chunk), then
/// [`advance_transmit`](Connection::advance_transmit)), take events and messages with
/// [`poll_event`](Connection::poll_event) and [`poll_msg`](Connection::poll_msg).
///
/// Speaks ZMTP 3.1 and falls back to 3.0 for peers that announce it (subscriptions then go out
/// as `0x01`/`0x00` data frames). ZMTP 1.0 and 2.0 peers (libzmq < 3.2) are not supported:
/// their greeting is an error.
///
/// Any error is fatal: the caller closes the transport. Later calls return the same error.
#[derive(Debug)]
pub struct Connection {
    config: Config,
    state: State,
    /// Version negotiated from the peer's greeting (meaningful from ExpectReady on).
    version: Version,
    /// Received bytes not yet consumed. In Traffic, frames wait here until `poll_msg`.
    rx: BytesMut,
    /// Sizes reads between frames after the large frames seen (see `input_buffer`).
    read_hint: decoder::ReadHint,
    /// Input buffers kept for reuse while large frames flow.
    recycler: Recycler,
    tx: Encoder,
    events: VecDeque<Event>,
    /// The error that ended the connection, returned again by later calls.
    failed: Option<Error>,
    /// The TTL of the last PING received with one, until taken.
    peer_ttl: Option<u16>,
    /// Bytes written since the start, and where the last PONG queued ends on that count:
    /// while it is still waiting, a PING gets no PONG of its own (docs/wire.md §5.1).
    written: u64,
    pong_end: u64,
    /// The mechanism, until the handshake is over.
    mechanism: Option<Mechanism>,
    /// What the mechanism said at start (its first commands are queued once the peer's
    /// greeting shows it speaks the same mechanism).
    first: Option<(Out, Step)>,
    /// CURVE: every frame after the handshake is a MESSAGE boxed by this.
    cipher: Option<Cipher>,
    /// Frames handed out as slices of the input buffer lately (counts down over inline
    /// ones); while above zero, retired input buffers are recycled.
    shared_out: u32,
}

/// Room left in the input buffer that a read of small frames takes rather than moving on
/// to another buffer (see [`Connection::input_buffer`]). Small frames above the inline
/// size are slices of the buffer, and a socket that is behind reads while earlier ones are
/// still queued for it. Asking each read for its full room (64 KiB) retired a buffer after
/// a read or two, so each read took another, more than the recycler keeps: 2-14
/// allocations per 10,000 CURVE messages of 256 B with inline I/O. A read of 32 KiB holds
/// over 100 such messages; with 16 KiB, reads per message grew by a quarter.
const SMALL_READ: usize = 32 * 1024;

/// Inline frames after which input buffers are no longer recycled for shared ones.
const SHARED_DECAY: u32 = 64;

impl Connection {
    /// Queues the full 64-byte greeting (docs/wire.md §2.2: send it all at once), and the
    /// mechanism's first commands as soon as the peer's greeting is understood. For NULL and
    /// PLAIN; a CURVE configuration needs randomness ([`with_random`](Connection::with_random))
    /// and fails here with `Error::Inval`.
    pub fn new(config: Config) -> Connection {
        Connection::start(config, None)
    }

    /// Like [`new`](Connection::new), drawing what CURVE needs (short-term keys, cookie key,
    /// nonces) from the host's random source.
    pub fn with_random(config: Config, rng: &mut dyn Random) -> Connection {
        Connection::start(config, Some(rng))
    }

    fn start(config: Config, rng: Option<&mut dyn Random>) -> Connection {
        let mut out = Out::default();
        let started = Mechanism::start(
            &config.auth,
            config.socket_type,
            config.identity.clone(),
            rng,
            &mut out,
        );
        let (mechanism, first, failed) = match started {
            Ok((m, step)) => (Some(m), Some((out, step)), None),
            Err(e) => (None, None, Some(e)),
        };
        let mut tx = Encoder::default();
        tx.raw(&greeting::greeting_bytes(
            config.auth.security.mechanism(),
            config.identity.len(),
        ));
        Connection {
            config,
            state: State::ExpectGreeting,
            version: Version::V3_1,
            rx: BytesMut::new(),
            read_hint: decoder::ReadHint::default(),
            recycler: Recycler::default(),
            tx,
            events: VecDeque::new(),
            failed,
            peer_ttl: None,
            written: 0,
            pong_end: 0,
            mechanism,
            first,
            cipher: None,
            shared_out: 0,
        }
    }

    /// The outcome of the ZAP request of an [`Event::Zap`]. Err = the handshake failed
    /// (authentication refused, or a malformed reply); an ERROR command may be queued to
    /// tell the peer, so write out what is pending before closing.
    pub fn handle_zap(&mut self, outcome: ZapOutcome) -> Result<()> {
        self.check_failed()?;
        let result = match self.mechanism.as_mut() {
            Some(m) => {
                let mut out = Out::default();
                let step = m.handle_zap(outcome, &mut out);
                self.send_commands(&mut out);
                step.and_then(|step| self.apply(step))
            }
            None => Err(Error::Proto("ZAP reply without a request".into())),
        };
        result
            .and_then(|()| self.handshake())
            .inspect_err(|e| self.failed = Some(e.clone()))
    }

    /// The TTL (deciseconds) of the last PING received that carried one, once: the peer
    /// asks to be dropped when it stays silent that long (ZMTP 3.1 heartbeats).
    pub fn take_peer_ttl(&mut self) -> Option<u16> {
        self.peer_ttl.take()
    }

    /// Feeds bytes read from the transport. Drives the handshake. Data frames after the
    /// handshake are buffered and decoded lazily by poll_msg (so a full pipe can apply
    /// back-pressure by not calling poll_msg). Err = fatal for this connection (bad greeting,
    /// mechanism mismatch, incompatible socket type, ERROR received, malformed command...).
    pub fn handle_input(&mut self, data: &[u8]) -> Result<()> {
        self.check_failed()?;
        self.rx.extend_from_slice(data);
        self.handshake()
            .inspect_err(|e| self.failed = Some(e.clone()))
    }

    /// Like [`handle_input`](Connection::handle_input), taking ownership of a buffer: when
    /// nothing is buffered it becomes the input buffer without a copy.
    pub fn handle_input_buf(&mut self, data: BytesMut) -> Result<()> {
        self.check_failed()?;
        self.rx.unsplit(data);
        self.handshake()
            .inspect_err(|e| self.failed = Some(e.clone()))
    }

    /// The input buffer, with room for at least `min` more bytes, or for exactly the rest of
    /// a larger frame whose header has arrived (bounded, so a hostile header announcing 2^62
    /// bytes reserves no more than 8 MiB at a time); never for none. A transport reads
    /// straight into its spare capacity (`bytes::BufMut::chunk_mut`, then `advance_mut`),
    /// saving the copy from a read buffer, then calls [`input_added`](Connection::input_added).
    /// Large frames then leave the buffer as shared slices of it, never copied.
    ///
    /// Sizing, for large frames (more than `min` bytes) to be read once and never moved:
    /// - a large frame whose header has arrived gets room for exactly its rest: reserving
    ///   `min` on top would move the bytes already read into a new, larger allocation;
    /// - between frames, room for the last large frame seen (until smaller frames have
    ///   followed for a while): a stream of 64 KiB messages read 64 KiB at a time would leave
    ///   every frame's last bytes out of its buffer, and finishing it would copy the frame
    ///   into a doubled allocation (measured on tcp 64 KiB: 21.6 k → 24.5 k msg/s without
    ///   that copy, 27+ k once buffers are also recycled, see `recycle`).
    pub fn input_buffer(&mut self, min: usize) -> &mut BytesMut {
        let rest = decoder::head_frame_len(&self.rx)
            .filter(|&total| total > min)
            .map_or(0, |total| total - self.rx.len().min(total));
        let spare = self.rx.capacity() - self.rx.len();
        let small = rest == 0 && self.read_hint.room() == 0;
        let want = if rest > 0 {
            rest.min(decoder::MAX_HINT)
        } else if small && spare >= SMALL_READ.min(min) {
            // Only small frames lately: the read takes what is left of the buffer (see
            // `SMALL_READ`).
            spare
        } else {
            min.max(self.read_hint.batch_room())
        };
        // Frames above the inline size (NULL as they came, CURVE opened in place) are
        // handed out as slices of the input buffer, so a full buffer is still shared when
        // the next read needs room, and a new one was allocated every few hundred 256-byte
        // messages (benches/tests/alloc.rs); recycled, the buffers come back once the
        // application dropped their messages. A connection gone quiet drops its retired
        // buffers (`shrink_idle`).
        let recycle = self.read_hint.room() > 0 || self.shared_out > 0;
        // A stream of small shared frames (reads grown to their largest) gets buffers of
        // two reads, each retired with at most `SMALL_READ` unused.
        let capacity = if small && self.shared_out > 0 && min >= SMALL_READ {
            2 * min
        } else {
            0
        };
        self.recycler
            .make_room_in(&mut self.rx, want, capacity, recycle);
        &mut self.rx
    }

    /// Processes what the transport added to [`input_buffer`](Connection::input_buffer),
    /// as [`handle_input`](Connection::handle_input) does with its argument.
    pub fn input_added(&mut self) -> Result<()> {
        self.check_failed()?;
        self.handshake()
            .inspect_err(|e| self.failed = Some(e.clone()))
    }

    /// Buffered input not yet consumed (lets the caller stop reading when it is large).
    ///
    /// Stop reading only while `poll_msg` is not being called (the pipe is full): when
    /// `poll_msg` returns `Ok(None)`, a frame is incomplete and more input is what it needs.
    pub fn input_len(&self) -> usize {
        self.rx.len()
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Whether the handshake is complete (and no error has happened).
    pub fn is_ready(&self) -> bool {
        self.state == State::Traffic && self.failed.is_none()
    }

    /// The ZMTP version spoken, once the peer's greeting has arrived.
    pub fn version(&self) -> Option<(u8, u8)> {
        (self.state != State::ExpectGreeting).then(|| self.version.pair())
    }

    /// Whether frames are boxed by CURVE after the handshake.
    pub fn is_encrypted(&self) -> bool {
        self.cipher.is_some()
    }

    /// Next message frame received (MORE flag set on all but last). Commands are handled
    /// inside: PING → PONG queued (context echoed, ≤16 bytes; none while an earlier PONG waits), SUBSCRIBE/CANCEL → returned
    /// as Msg::subscribe/Msg::cancel, unknown commands ignored, ERROR → Err. Ok(None) = need
    /// more input. Err(MsgSize) for a frame over max_msg_size, Err(Proto) when malformed.
    #[inline]
    pub fn poll_msg(&mut self) -> Result<Option<Msg>> {
        self.check_failed()?;
        if self.state != State::Traffic {
            return Ok(None);
        }
        self.next_msg()
            .inspect_err(|e| self.failed = Some(e.clone()))
    }

    /// Encodes one frame for sending (only valid once ready; before that, debug_assert and
    /// ignore). Msg::subscribe/cancel become SUBSCRIBE/CANCEL commands to a 3.1 peer and
    /// `0x01 topic`/`0x00 topic` data frames to a 3.0 peer. Small frames are copied into one
    /// batch buffer; large payloads (over 1 KiB) are queued as shared Bytes chunks, not copied.
    pub fn send_msg(&mut self, msg: &Msg) {
        if !self.can_send() {
            return;
        }
        let subscribe = msg.is_subscribe();
        if subscribe || msg.is_cancel() {
            match self.version {
                Version::V3_1 => {
                    let name = if subscribe {
                        command::SUBSCRIBE
                    } else {
                        command::CANCEL
                    };
                    self.send_command(name, msg.as_slice());
                }
                Version::V3_0 => {
                    let sub = [u8::from(subscribe)];
                    self.send_frame(0, &[&sub, msg.as_slice()]);
                }
            }
            return;
        }
        let flags = if msg.more() { MORE } else { 0 };
        if self.cipher.is_some() {
            self.send_frame(flags, &[msg.as_slice()]);
        } else if let Some(body) = msg.shared() {
            // A clone of shared Bytes is a reference-count bump, not a copy.
            self.tx.frame_bytes(flags, body.clone());
        } else {
            self.tx.frame(flags, &[msg.as_slice()]);
        }
    }

    /// A data frame: as it is, or boxed in a CURVE MESSAGE.
    fn send_frame(&mut self, flags: u8, parts: &[&[u8]]) {
        let Some(cipher) = self.cipher.as_mut() else {
            self.tx.frame(flags, parts);
            return;
        };
        if let Err(e) = secure::send(cipher, &mut self.tx, flags & MORE, parts) {
            self.failed = Some(e);
        }
    }

    /// A command after the handshake: a command frame, or under CURVE a MESSAGE whose inner
    /// flags say COMMAND (as libzmq tunnels PING, PONG, SUBSCRIBE and CANCEL).
    fn send_command(&mut self, name: &[u8], data: &[u8]) {
        let Some(cipher) = self.cipher.as_mut() else {
            self.tx.command(name, data);
            return;
        };
        // Names are ours (PING, SUBSCRIBE, ...), all far below 256 bytes.
        let parts: [&[u8]; 3] = [&[name.len() as u8], name, data];
        if let Err(e) = secure::send(cipher, &mut self.tx, secure::COMMAND, &parts) {
            self.failed = Some(e);
        }
    }

    /// Queues a PING (ZMTP 3.1 heartbeat): `ttl` in tenths of a second (0 = none), `context`
    /// truncated to 16 bytes. Only valid once ready.
    pub fn send_ping(&mut self, ttl: u16, context: &[u8]) {
        if !self.can_send() {
            return;
        }
        let context = &context[..context.len().min(PING_MAX_CONTEXT)];
        let mut data = [0u8; 2 + PING_MAX_CONTEXT];
        data[..2].copy_from_slice(&ttl.to_be_bytes());
        data[2..2 + context.len()].copy_from_slice(context);
        self.send_command(command::PING, &data[..2 + context.len()]);
    }

    /// Bytes waiting to be written (0 = nothing).
    pub fn transmit_len(&self) -> usize {
        self.tx.len()
    }

    /// Fills `out` with slices of pending output in order, returns how many were filled
    /// (for writev).
    pub fn transmit_slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        self.tx.slices(out)
    }

    /// The first contiguous pending chunk (for a plain write), empty when none.
    pub fn transmit_chunk(&self) -> &[u8] {
        self.tx.chunk()
    }

    /// Marks n bytes as written.
    pub fn advance_transmit(&mut self, n: usize) {
        self.tx.advance(n);
        self.written += n as u64;
    }

    /// Tells the connection that its caller adds messages only while fewer than `limit`
    /// bytes are pending: the output buffer is sized once for that, so that small messages
    /// never make it grow again (call it when the limit is first reached, so that idle
    /// connections keep a small buffer). Cheap to repeat.
    pub fn size_transmit_for(&mut self, limit: usize) {
        self.tx.size_for_limit(limit);
    }

    /// Frees spare buffer capacity; call it when the connection has been quiet for a while
    /// (not after every read: the next read would allocate its buffer again). Input of up to
    /// [`IDLE_KEEP`] bytes (a partial frame) moves to a buffer of its size; output is freed
    /// when nothing is pending. The buffers grow again with the traffic.
    pub fn shrink_idle(&mut self) {
        if self.rx.len() <= IDLE_KEEP {
            self.rx = BytesMut::from(&self.rx[..]);
            self.recycler = Recycler::default();
            self.read_hint = decoder::ReadHint::default();
        }
        self.tx.shrink_idle();
    }

    /// Bytes of buffer capacity held (input, output; not the shared payloads queued for
    /// sending), to see whether the buffers grew. A buffer whose front left as messages
    /// counts only the part still its own.
    pub fn capacity(&self) -> usize {
        self.rx.capacity() + self.tx.capacity()
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
            "send before the ZMTP handshake completed"
        );
        self.state == State::Traffic && self.failed.is_none()
    }

    fn handshake(&mut self) -> Result<()> {
        loop {
            match self.state {
                State::ExpectGreeting => {
                    let name = self.config.auth.security.mechanism();
                    let mechanism = greeting::mechanism_field(name);
                    let Some(version) = greeting::check(&self.rx, &mechanism)? else {
                        return Ok(());
                    };
                    let _ = self.rx.split_to(GREETING_LEN);
                    self.version = version;
                    self.state = State::Handshake;
                    if let Some((mut out, step)) = self.first.take() {
                        self.send_commands(&mut out);
                        self.apply(step)?;
                    }
                }
                State::Handshake => {
                    let Some(frame) = decoder::next_frame(
                        &mut self.rx,
                        self.config.max_msg_size,
                        &mut self.read_hint,
                    )?
                    else {
                        return Ok(());
                    };
                    let Frame::Command(body) = frame else {
                        return Err(Error::Proto(
                            "message frame before the handshake completed".into(),
                        ));
                    };
                    let Some(mechanism) = self.mechanism.as_mut() else {
                        return Err(Error::Proto("handshake command after the handshake".into()));
                    };
                    let mut out = Out::default();
                    let step = mechanism.handle_command(&body, &mut out);
                    // An ERROR the mechanism queued goes out even when the step failed.
                    self.send_commands(&mut out);
                    self.apply(step?)?;
                }
                State::Traffic => return Ok(()),
            }
        }
    }

    /// Queues the mechanism's handshake commands as command frames.
    fn send_commands(&mut self, out: &mut Out) {
        for body in out.take() {
            self.tx.frame(COMMAND, &[&body]);
        }
    }

    /// Acts on where the mechanism stands: a ZAP request for the host, or the handshake done.
    fn apply(&mut self, step: Step) -> Result<()> {
        match step {
            Step::Continue => {}
            Step::Zap(request) => self.events.push_back(Event::Zap(request)),
            Step::Ready(peer) => {
                self.cipher = Mechanism::finish(self.mechanism.take())?;
                self.events.push_back(Event::Ready(PeerInfo {
                    socket_type: peer.socket_type,
                    identity: peer.identity,
                    version: self.version.pair(),
                    properties: peer.properties,
                }));
                self.state = State::Traffic;
            }
        }
        Ok(())
    }

    /// The next frame after the handshake: as it came, or opened from its CURVE MESSAGE.
    #[inline]
    fn next_frame(&mut self) -> Result<Option<Frame>> {
        let frame = match self.cipher.as_mut() {
            None => {
                decoder::next_frame(&mut self.rx, self.config.max_msg_size, &mut self.read_hint)?
            }
            Some(cipher) => {
                let Some((_, body)) = decoder::next_raw_frame(
                    &mut self.rx,
                    self.config.max_msg_size,
                    &mut self.read_hint,
                )?
                else {
                    return Ok(None);
                };
                Some(secure::open(cipher, body)?)
            }
        };
        let Some(frame) = frame else {
            return Ok(None);
        };
        if matches!(&frame, Frame::Data(m) if m.shared().is_some()) {
            self.shared_out = SHARED_DECAY;
        } else {
            self.shared_out = self.shared_out.saturating_sub(1);
        }
        Ok(Some(frame))
    }

    #[inline]
    fn next_msg(&mut self) -> Result<Option<Msg>> {
        loop {
            let Some(frame) = self.next_frame()? else {
                return Ok(None);
            };
            let body = match frame {
                Frame::Data(msg) => return Ok(Some(msg)),
                Frame::Command(body) => body,
            };
            match command::parse(&body)? {
                Command::Subscribe(topic) => return Ok(Some(Msg::subscribe(topic))),
                Command::Cancel(topic) => return Ok(Some(Msg::cancel(topic))),
                Command::Ping { ttl, context } => {
                    if ttl > 0 {
                        self.peer_ttl = Some(ttl);
                    }
                    // libzmq answers every PING, heartbeats configured or not; but a
                    // peer that pings without reading must not make the output grow, and
                    // the PONG still waiting proves this side alive as well.
                    if self.written >= self.pong_end {
                        let context = &context[..context.len().min(PING_MAX_CONTEXT)];
                        self.send_command(command::PONG, context);
                        self.pong_end = self.written + self.tx.len() as u64;
                    }
                }
                Command::Error(reason) => return Err(super::mechanism::peer_error(reason)),
                // PONG only proves the peer is alive, which the caller sees from the input.
                Command::Pong(_) | Command::Ready(_) | Command::Other(_) => {}
            }
        }
    }
}

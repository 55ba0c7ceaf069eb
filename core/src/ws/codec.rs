//! One WebSocket connection's framing after the upgrade: the decoder, the encoder, and the
//! closing handshake between them (RFC 6455 §5.5.1, §7).

use std::fmt;
use std::io::IoSlice;

use bytes::{Bytes, BytesMut};

use super::close;
use super::decoder::Decoder;
use super::encoder::Encoder;
use super::error::ProtocolError;
use super::frame::{BINARY, CLOSE, MAX_CONTROL_PAYLOAD, PING, PONG};
use super::{Incoming, MaskKeys, Role};
use crate::error::{Error, Result};

/// RFC 6455 data framing for one connection, without I/O.
///
/// Input: read into [`input_buffer`](Codec::input_buffer) then call
/// [`input_added`](Codec::input_added) (or hand a slice to
/// [`handle_input`](Codec::handle_input)), and take what arrived with
/// [`poll`](Codec::poll). Frames are decoded lazily, in `poll`, so that a host applies
/// back-pressure by not calling it.
///
/// Output: [`send_binary`](Codec::send_binary) and the others queue frames; the host writes
/// [`transmit_slices`](Codec::transmit_slices) (or [`transmit_chunk`](Codec::transmit_chunk))
/// and reports what was written with [`advance_transmit`](Codec::advance_transmit). The
/// codec queues frames of its own too: a pong for a ping, the echo of a close, and the
/// close that answers a [`ProtocolError`]; so the host checks
/// [`transmit_len`](Codec::transmit_len) after `poll`. Pongs never pile up: while one is
/// waiting to be written, later pings leave only the latest one's pong due, queued once the
/// earlier has gone (RFC 6455 §5.5.3 allows answering only the most recent ping), so a peer
/// that pings and does not read makes its peer hold two pongs at most.
///
/// A protocol error is fatal and sticky: later calls return it again.
pub struct Codec {
    role: Role,
    dec: Decoder,
    enc: Encoder,
    /// A client's masking keys (`None` on a server).
    keys: Option<Box<dyn MaskKeys>>,
    close_sent: bool,
    close_received: bool,
    failed: Option<ProtocolError>,
    /// Bytes written since the start (`advance_transmit`), and where the last pong queued
    /// ends on that count: while `written` is below it, that pong is still waiting.
    written: u64,
    pong_end: u64,
    /// The payload of the latest ping that came while a pong was waiting (see the type).
    pong_due: Option<(usize, [u8; MAX_CONTROL_PAYLOAD])>,
}

impl fmt::Debug for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Codec")
            .field("role", &self.role)
            .field("dec", &self.dec)
            .field("enc", &self.enc)
            .field("close_sent", &self.close_sent)
            .field("close_received", &self.close_received)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl Codec {
    /// A server's codec. `max_message_size` bounds a message's payload, fragments joined
    /// (a ZWS host sets MAXMSGSIZE plus the flags byte); `None`: unlimited.
    pub fn server(max_message_size: Option<usize>) -> Codec {
        Codec::new(Role::Server, max_message_size, None)
    }

    /// A client's codec, masking each frame with a key from `keys` (RFC 6455 §5.3).
    pub fn client(max_message_size: Option<usize>, keys: impl MaskKeys + 'static) -> Codec {
        Codec::new(Role::Client, max_message_size, Some(Box::new(keys)))
    }

    fn new(role: Role, max: Option<usize>, keys: Option<Box<dyn MaskKeys>>) -> Codec {
        Codec {
            role,
            dec: Decoder::new(role, max),
            enc: Encoder::default(),
            keys,
            close_sent: false,
            close_received: false,
            failed: None,
            written: 0,
            pong_end: 0,
            pong_due: None,
        }
    }

    /// Which end this codec is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The input buffer, with room for at least `min` more bytes (never for none), or for
    /// exactly the rest of a larger frame whose header has arrived (8 MiB at most at a
    /// time). A transport reads straight into its spare capacity (`bytes::BufMut::chunk_mut`,
    /// then `advance_mut`), then calls [`input_added`](Codec::input_added). The buffer starts
    /// empty and grows with the traffic.
    pub fn input_buffer(&mut self, min: usize) -> &mut BytesMut {
        self.dec.input_buffer(min)
    }

    /// Takes note of what the transport added to [`input_buffer`](Codec::input_buffer).
    /// Decoding happens in [`poll`](Codec::poll); this returns the sticky error, if any.
    pub fn input_added(&mut self) -> std::result::Result<(), ProtocolError> {
        self.check_failed()?;
        if self.close_received {
            self.dec.discard_input();
        }
        Ok(())
    }

    /// Copies `data` into the input buffer, as [`input_added`](Codec::input_added) after a
    /// read would.
    pub fn handle_input(&mut self, data: &[u8]) -> std::result::Result<(), ProtocolError> {
        self.check_failed()?;
        if !self.close_received {
            self.dec.extend(data);
        }
        Ok(())
    }

    /// Bytes received and not yet decoded.
    pub fn input_len(&self) -> usize {
        self.dec.input_len()
    }

    /// The next message or control event, `Ok(None)` when more input is needed (and for
    /// good once the peer's close has come). A ping has its pong queued, a close its echo
    /// (unless a close was sent already). An error queues a close with its code, unless one
    /// was sent already, and is returned again by every later call.
    pub fn poll(&mut self) -> std::result::Result<Option<Incoming>, ProtocolError> {
        self.check_failed()?;
        if self.close_received {
            return Ok(None);
        }
        let incoming = match self.dec.next() {
            Ok(incoming) => incoming,
            Err(e) => {
                self.fail(e);
                return Err(e);
            }
        };
        match &incoming {
            Some(Incoming::Ping(payload)) if !self.close_sent => self.answer_ping(payload),
            Some(Incoming::Close { code, .. }) => {
                self.close_received = true;
                self.dec.discard_input();
                // RFC 6455 §5.5.1: answer with a close, "typically" echoing the code.
                self.queue_close(*code, "");
            }
            _ => {}
        }
        Ok(incoming)
    }

    /// Queues one binary message (RFC 6455 §5.6) as one final frame, copied.
    /// `Err(Fsm)` once a close has been sent (RFC 6455 §5.5.1) or after a protocol error.
    pub fn send_binary(&mut self, payload: &[u8]) -> Result<()> {
        self.send_binary_parts(payload, Bytes::new())
    }

    /// Like [`send_binary`](Codec::send_binary), taking a shared payload: a server queues a
    /// large one as it is, for a vectored write; a client copies it to mask it.
    pub fn send_binary_bytes(&mut self, payload: Bytes) -> Result<()> {
        self.send_binary_parts(&[], payload)
    }

    /// One binary message whose payload is `head` then `body` (a ZWS flags byte, say, then
    /// the ZMTP frame's body), without joining them first.
    pub fn send_binary_parts(&mut self, head: &[u8], body: Bytes) -> Result<()> {
        self.check_can_send()?;
        match self.next_key() {
            Some(key) => self.enc.frame(BINARY, head, &body, Some(key)),
            None => self.enc.frame_shared(BINARY, head, body),
        }
        Ok(())
    }

    /// One binary message whose payload is `head` then `body`, both copied (small
    /// payloads: into the batch that leaves with the next write).
    pub fn send_binary_slices(&mut self, head: &[u8], body: &[u8]) -> Result<()> {
        self.check_can_send()?;
        let key = self.next_key();
        self.enc.frame(BINARY, head, body, key);
        Ok(())
    }

    /// Queues a ping (RFC 6455 §5.5.2); `Err(Inval)` for a payload over 125 bytes,
    /// `Err(Fsm)` once a close has been sent or after a protocol error.
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<()> {
        self.check_can_send()?;
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(Error::Inval("ping payload over 125 bytes".into()));
        }
        let key = self.next_key();
        self.enc.frame(PING, payload, &[], key);
        Ok(())
    }

    /// Starts the closing handshake (RFC 6455 §7.1.2): queues a close frame with `code` and
    /// `reason` (cut at a character boundary to 123 bytes); nothing may be sent after it,
    /// and messages still arrive until the peer's close. `Err(Inval)` for a code no endpoint
    /// may send ([`is_valid_close_code`](super::is_valid_close_code)), `Err(Fsm)` when a
    /// close was already sent.
    pub fn send_close(&mut self, code: u16, reason: &str) -> Result<()> {
        if !close::is_valid_close_code(code) {
            return Err(Error::Inval(format!("close code {code} may not be sent")));
        }
        if self.close_sent {
            return Err(Error::Fsm);
        }
        self.queue_close(Some(code), reason);
        Ok(())
    }

    /// Whether a close frame has been queued (by [`send_close`](Codec::send_close), as an
    /// echo, or to answer a protocol error).
    pub fn close_sent(&self) -> bool {
        self.close_sent
    }

    /// Whether the peer's close frame has been decoded.
    pub fn close_received(&self) -> bool {
        self.close_received
    }

    /// Whether the connection is over: the closing handshake is complete (a close sent and
    /// one received) or a protocol error failed it. The host writes what is still pending
    /// and closes the transport (RFC 6455 §7.1.1: the server first).
    pub fn is_closed(&self) -> bool {
        self.failed.is_some() || (self.close_sent && self.close_received)
    }

    /// The protocol error that failed the connection, if any.
    pub fn error(&self) -> Option<ProtocolError> {
        self.failed
    }

    /// Bytes waiting to be written (0 = nothing).
    pub fn transmit_len(&self) -> usize {
        self.enc.len()
    }

    /// Fills `out` with slices of pending output in order, returns how many were filled
    /// (for `writev`).
    pub fn transmit_slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        self.enc.slices(out)
    }

    /// The first contiguous pending chunk (for a plain write), empty when none.
    pub fn transmit_chunk(&self) -> &[u8] {
        self.enc.chunk()
    }

    /// Marks `n` bytes as written.
    pub fn advance_transmit(&mut self, n: usize) {
        self.enc.advance(n);
        self.written += n as u64;
        if self.written >= self.pong_end {
            if let Some((len, payload)) = self.pong_due.take() {
                self.answer_ping(payload.get(..len).unwrap_or_default());
            }
        }
    }

    /// Frees spare buffer capacity; call it when the connection has been quiet for a while
    /// (not after every read: the next read would allocate its buffer again). Afterwards an
    /// idle codec holds no buffer, one with a partial frame a buffer of that frame's size
    /// (up to 256 bytes of it), a partly written output or an open fragmented message theirs.
    pub fn shrink_idle(&mut self) {
        self.dec.shrink_idle();
        self.enc.shrink_idle();
    }

    /// Bytes of buffer capacity the codec holds (input, an open fragmented message, output;
    /// not the shared payloads queued for sending), to check memory use. A buffer whose
    /// front left as messages counts only the part still its own, so the figure is exact
    /// after [`shrink_idle`](Codec::shrink_idle), and a lower bound before.
    pub fn capacity(&self) -> usize {
        self.dec.capacity() + self.enc.capacity()
    }

    fn check_failed(&self) -> std::result::Result<(), ProtocolError> {
        self.failed.map_or(Ok(()), Err)
    }

    fn check_can_send(&self) -> Result<()> {
        if self.close_sent || self.failed.is_some() {
            return Err(Error::Fsm);
        }
        Ok(())
    }

    /// RFC 6455 §5.5.2: the pong has "identical Application data". Queued now, unless the
    /// last pong is still waiting: then it is due once that one has been written, and a
    /// later ping replaces it (§5.5.3).
    fn answer_ping(&mut self, payload: &[u8]) {
        if self.close_sent {
            return;
        }
        if self.written < self.pong_end {
            let mut due = [0; MAX_CONTROL_PAYLOAD];
            let len = payload.len().min(MAX_CONTROL_PAYLOAD);
            due[..len].copy_from_slice(&payload[..len]);
            self.pong_due = Some((len, due));
            return;
        }
        let key = self.next_key();
        self.enc.frame(PONG, payload, &[], key);
        self.pong_end = self.written + self.enc.len() as u64;
    }

    fn next_key(&mut self) -> Option<[u8; 4]> {
        self.keys.as_mut().map(|k| k.next_key().to_be_bytes())
    }

    fn queue_close(&mut self, code: Option<u16>, reason: &str) {
        if self.close_sent {
            return;
        }
        self.close_sent = true;
        let (payload, len) = close::payload(code, reason);
        let key = self.next_key();
        self.enc
            .frame(CLOSE, payload.get(..len).unwrap_or_default(), &[], key);
    }

    /// RFC 6455 §7.1.7, "Fail the WebSocket Connection": a close with the error's code, if
    /// none was sent, then nothing more in or out.
    fn fail(&mut self, e: ProtocolError) {
        self.failed = Some(e);
        self.dec.discard_input();
        self.queue_close(Some(e.close_code()), e.reason());
    }
}

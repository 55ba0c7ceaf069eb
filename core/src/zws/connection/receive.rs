//! The receiving half of a [`Connection`]: the handshake, and frames queued until
//! `poll_msg` takes them, in either framing (RFC 45's, docs/wire.md §10.3, or the batch
//! extension's, §10.9).

use bytes::Bytes;

use super::{Connection, RxFrame, State, Subprotocol, BATCH_COMMAND, COMMAND, MORE, ZWS_VERSION};
use crate::error::{Error, Result};
use crate::msg::Msg;
use crate::socket_type::SocketType;
use crate::zmtp::command::{self, Command};
use crate::zmtp::decoder::Frame;
use crate::zmtp::mechanism::null;
use crate::zmtp::{Event, PeerInfo};
use crate::zws::batch;

impl Connection {
    pub(super) fn receive(&mut self, payload: Bytes) -> Result<()> {
        if self.state == State::ExpectServerFirst {
            // A batch server's first message is its READY, whose flags byte has the ZMTP
            // COMMAND bit, reserved in RFC 45: anything else comes from a ZWS 2.0 server.
            let first = payload.first().copied().unwrap_or_default();
            self.start(if first & BATCH_COMMAND != 0 {
                Subprotocol::Batch
            } else if first & COMMAND != 0 {
                Subprotocol::Null
            } else {
                Subprotocol::Bare
            });
        }
        if self.subprotocol == Subprotocol::Batch {
            return self.receive_batch(payload);
        }
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
                self.handshake(&payload[1..])?;
            }
            State::Handshake => {
                if flags & COMMAND == 0 {
                    return Err(Error::Proto(
                        "message frame before the handshake completed".into(),
                    ));
                }
                self.mechanism_command(&payload[1..])?;
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
            State::Traffic | State::ExpectServerFirst => {
                self.queue(flags, &payload, 1, payload.len())?;
            }
        }
        Ok(())
    }

    /// Batch extension: the whole message is checked first, then its frames queue; the
    /// first frame of all is the peer's READY (docs/wire.md §10.9).
    pub(super) fn receive_batch(&mut self, payload: Bytes) -> Result<()> {
        let mut frames = batch::check(&payload, self.config.max_msg_size)?;
        let mut pos = 0;
        if self.state == State::ExpectReady {
            let first = batch::frame_at(&payload, 0, None)?;
            if !first.command() {
                return Err(Error::Proto(
                    "message frame before the handshake completed".into(),
                ));
            }
            self.handshake(&payload[first.start..first.end])?;
            (pos, frames) = (first.end, frames - 1);
        }
        for _ in 0..frames {
            // check() accepted every frame of the message.
            let at = batch::checked_frame_at(&payload, pos).ok_or_else(malformed)?;
            let more = if at.more() { MORE } else { 0 };
            let flags = more | if at.command() { COMMAND } else { 0 };
            self.queue(flags, &payload, at.start, at.end)?;
            pos = at.end;
        }
        Ok(())
    }

    /// Queues the frame whose body is `payload[start..end]` for `poll_msg`. A body of up to
    /// [`Msg::INLINE_CAP`] bytes is copied into an inline `Msg` (a window copy when the
    /// message has the bytes, as the ZMTP decoder does); a larger one is shared, never
    /// copied.
    fn queue(&mut self, flags: u8, payload: &Bytes, start: usize, end: usize) -> Result<()> {
        let mut body = match payload.get(start..end) {
            Some(small) if small.len() <= Msg::INLINE_CAP => {
                Msg::inline_from_tail(&payload[start..], small.len())
            }
            Some(_) => Msg::from_bytes(payload.slice(start..end)),
            None => return Err(malformed()),
        };
        body.set_more(flags & MORE != 0);
        self.rx_bytes += 1 + body.len();
        self.rx.push_back(RxFrame {
            body,
            command: flags & COMMAND != 0,
        });
        Ok(())
    }

    /// The peer's READY (NULL mechanism, docs/wire.md §4.3), socket types checked.
    pub(super) fn handshake(&mut self, body: &[u8]) -> Result<()> {
        let peer = null::process_handshake_command(body, self.config.socket_type)?;
        self.ready(PeerInfo {
            socket_type: peer.socket_type,
            identity: peer.identity,
            version: ZWS_VERSION,
            properties: peer.properties,
        });
        Ok(())
    }

    pub(super) fn ready(&mut self, peer: PeerInfo) {
        self.events.push_back(Event::Ready(peer));
        self.state = State::Traffic;
    }

    pub(super) fn next_msg(&mut self) -> Result<Option<Msg>> {
        // The usual frame, data with no cipher and no subscription to read out of it, goes
        // out as it was queued: its fields are read in place and the frame is moved once,
        // whole (see `RxFrame`).
        if let Some(front) = self.rx.front() {
            let (len, more) = (front.body.len(), front.body.more());
            if !front.command && self.cipher.is_none() && !self.may_be_subscription(more) {
                self.rx_bytes -= 1 + len;
                self.rx_more = more;
                return Ok(self.rx.pop_front().map(|f| f.body));
            }
        }
        while let Some(RxFrame { body, command }) = self.rx.pop_front() {
            self.rx_bytes -= 1 + body.len();
            let (body, is_command) = match self.open_sealed(body.as_slice())? {
                None => (body, command),
                Some(Frame::Command(c)) => match self.tunnelled_command(&c)? {
                    Some(msg) => return Ok(Some(msg)),
                    None => continue,
                },
                Some(Frame::Data(msg)) => (msg, false),
            };
            if is_command {
                if let Command::Error(reason) = command::parse(body.as_slice())? {
                    return Err(crate::zmtp::mechanism::peer_error(reason));
                }
                continue;
            }
            let more = body.more();
            let subscription = self.may_be_subscription(more);
            self.rx_more = more;
            if subscription {
                match body.as_slice().split_first() {
                    Some((1, topic)) => return Ok(Some(Msg::subscribe(topic))),
                    Some((0, topic)) => return Ok(Some(Msg::cancel(topic))),
                    _ => {}
                }
            }
            return Ok(Some(body));
        }
        Ok(None)
    }

    /// Whether the next data frame, with `more` as its MORE flag, is read as a subscription
    /// (`01 topic` / `00 topic`): a whole single-frame message, on a socket that takes them.
    fn may_be_subscription(&self, more: bool) -> bool {
        !self.rx_more && !more && self.accepts_subscriptions()
    }

    pub(super) fn accepts_subscriptions(&self) -> bool {
        matches!(self.config.socket_type, SocketType::Pub | SocketType::XPub)
    }
}

/// What `checked_frame_at` finds only in a batch `check` would have refused.
fn malformed() -> Error {
    Error::Proto("malformed ZWS batch".into())
}

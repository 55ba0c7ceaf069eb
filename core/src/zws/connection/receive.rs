//! The receiving half of a [`Connection`]: the handshake, and frames queued until
//! `poll_msg` takes them, in either framing (RFC 45's, docs/wire.md §10.3, or the batch
//! extension's, §10.9).

use bytes::Bytes;

use super::{Connection, State, Subprotocol, BATCH_COMMAND, COMMAND, MORE, ZWS_VERSION};
use crate::error::{Error, Result};
use crate::msg::Msg;
use crate::socket_type::SocketType;
use crate::zmtp::command::{self, Command};
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
                self.rx_frames += 1;
                self.rx_bytes += payload.len();
                self.rx.push_back(payload);
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
        if frames > 0 {
            self.rx_frames += frames;
            self.rx_bytes += payload.len() - pos;
            self.rx.push_back(payload.slice(pos..));
        }
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

    /// The next received frame as `(more, command, body)`.
    pub(super) fn next_frame(&mut self) -> Result<Option<(bool, bool, Bytes)>> {
        let Some(payload) = self.rx.front() else {
            return Ok(None);
        };
        let frame = if self.subprotocol == Subprotocol::Batch {
            // receive_batch checked every frame of the message.
            let at = batch::frame_at(payload, self.rx_pos, None)?;
            let frame = (at.more(), at.command(), payload.slice(at.start..at.end));
            self.rx_pos = at.end;
            if self.rx_pos >= payload.len() {
                self.rx_bytes -= payload.len();
                self.rx.pop_front();
                self.rx_pos = 0;
            }
            frame
        } else {
            // receive() checked that the flags byte is there.
            let flags = payload.first().copied().unwrap_or_default();
            let frame = (flags & MORE != 0, flags & COMMAND != 0, payload.slice(1..));
            self.rx_bytes -= payload.len();
            self.rx.pop_front();
            frame
        };
        self.rx_frames -= 1;
        Ok(Some(frame))
    }

    pub(super) fn next_msg(&mut self) -> Result<Option<Msg>> {
        while let Some((more, is_command, body)) = self.next_frame()? {
            let (more, is_command, body) = match self.open_sealed(&body)? {
                None => (more, is_command, body),
                Some(super::secure::Opened::Command(command)) => {
                    match self.tunnelled_command(&command)? {
                        Some(msg) => return Ok(Some(msg)),
                        None => continue,
                    }
                }
                Some(super::secure::Opened::Data(msg)) => (msg.more(), false, msg.into_bytes()),
            };
            if is_command {
                if let Command::Error(reason) = command::parse(&body)? {
                    return Err(crate::zmtp::mechanism::peer_error(reason));
                }
                continue;
            }
            let first = !self.rx_more;
            self.rx_more = more;
            if first && !more && self.accepts_subscriptions() {
                match body.first() {
                    Some(1) => return Ok(Some(Msg::subscribe(&body[1..]))),
                    Some(0) => return Ok(Some(Msg::cancel(&body[1..]))),
                    _ => {}
                }
            }
            return Ok(Some(Msg::from_bytes(body).with_more(more)));
        }
        Ok(None)
    }

    pub(super) fn accepts_subscriptions(&self) -> bool {
        matches!(self.config.socket_type, SocketType::Pub | SocketType::XPub)
    }
}

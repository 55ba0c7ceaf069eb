//! What a session needs of a connection's protocol codec (ZMTP or ZWS), whoever does its I/O.

use crate::error::Result;
use crate::msg::Msg;
use crate::zap::ZapOutcome;
use crate::zmtp::{self, Event};
use crate::zws;

/// A connection's codec as the session drives it: the handshake's outcome, decoded
/// messages in, messages to encode out. The host feeds it bytes and writes what it encoded.
pub trait Codec {
    /// Whether the handshake is complete (and nothing failed).
    fn is_ready(&self) -> bool;
    /// The next event (the handshake's completion).
    fn poll_event(&mut self) -> Option<Event>;
    /// The next decoded frame; `Ok(None)` when more input is needed. Err: the peer broke
    /// the protocol (the connection must close).
    fn poll_msg(&mut self) -> Result<Option<Msg>>;
    /// Encodes one frame.
    fn send_msg(&mut self, msg: &Msg);
    /// Queues a heartbeat carrying `ttl_deciseconds`.
    fn send_ping(&mut self, ttl_deciseconds: u16);
    /// The TTL a peer's PING asked for, once.
    fn take_peer_ttl(&mut self) -> Option<u16>;
    /// Encoded bytes not yet written.
    fn transmit_len(&self) -> usize;
    /// The session adds messages only while fewer than `limit` bytes wait: size the output
    /// buffer for that once.
    fn size_transmit_for(&mut self, _limit: usize) {}
    /// The outcome of a ZAP request the codec's mechanism made. Err: the handshake failed
    /// (an ERROR for the peer may be pending: write it out before closing).
    fn handle_zap(&mut self, outcome: ZapOutcome) -> Result<()>;
}

impl Codec for zmtp::Connection {
    fn is_ready(&self) -> bool {
        zmtp::Connection::is_ready(self)
    }
    fn poll_event(&mut self) -> Option<Event> {
        zmtp::Connection::poll_event(self)
    }
    fn poll_msg(&mut self) -> Result<Option<Msg>> {
        zmtp::Connection::poll_msg(self)
    }
    fn send_msg(&mut self, msg: &Msg) {
        zmtp::Connection::send_msg(self, msg);
    }
    fn send_ping(&mut self, ttl_deciseconds: u16) {
        zmtp::Connection::send_ping(self, ttl_deciseconds, &[]);
    }
    fn take_peer_ttl(&mut self) -> Option<u16> {
        zmtp::Connection::take_peer_ttl(self)
    }
    fn transmit_len(&self) -> usize {
        zmtp::Connection::transmit_len(self)
    }
    fn size_transmit_for(&mut self, limit: usize) {
        zmtp::Connection::size_transmit_for(self, limit);
    }
    fn handle_zap(&mut self, outcome: ZapOutcome) -> Result<()> {
        zmtp::Connection::handle_zap(self, outcome)
    }
}

/// ZWS heartbeats are WebSocket pings, below the codec (docs/wire.md §10.6): the transport
/// sends them, and no TTL travels.
impl Codec for zws::Connection {
    fn is_ready(&self) -> bool {
        zws::Connection::is_ready(self)
    }
    fn poll_event(&mut self) -> Option<Event> {
        zws::Connection::poll_event(self)
    }
    fn poll_msg(&mut self) -> Result<Option<Msg>> {
        zws::Connection::poll_msg(self)
    }
    fn send_msg(&mut self, msg: &Msg) {
        zws::Connection::send_msg(self, msg);
    }
    fn send_ping(&mut self, _ttl_deciseconds: u16) {}
    fn take_peer_ttl(&mut self) -> Option<u16> {
        None
    }
    fn transmit_len(&self) -> usize {
        zws::Connection::transmit_len(self)
    }
    fn handle_zap(&mut self, outcome: ZapOutcome) -> Result<()> {
        zws::Connection::handle_zap(self, outcome)
    }
}

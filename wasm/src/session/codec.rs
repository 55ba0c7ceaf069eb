//! The WebSocket and the ZWS connection over it, as the session drives them.

use isomq_core::session::Codec;
use isomq_core::zmtp::Event;
use isomq_core::zws::Connection;
use isomq_core::{Msg, Result};

use crate::host::Ws;

/// A WebSocket and, once it is open, the ZWS connection over it.
pub(super) struct Engine {
    pub(super) ws: Box<dyn Ws>,
    /// Made when the WebSocket opens and the subprotocol is known.
    pub(super) conn: Option<Connection>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("conn", &self.conn)
            .finish_non_exhaustive()
    }
}

/// The ZWS connection and its WebSocket as the core session drives them: what is encoded
/// goes to the WebSocket at once, and the WebSocket's unsent bytes are the output backlog.
pub(super) struct WsCodec<'a> {
    pub(super) zws: &'a mut Connection,
    pub(super) ws: &'a dyn Ws,
    /// Disconnecting: hand everything over, whatever the backlog.
    pub(super) unbounded: bool,
}

impl Codec for WsCodec<'_> {
    fn is_ready(&self) -> bool {
        self.zws.is_ready()
    }
    fn poll_event(&mut self) -> Option<Event> {
        self.zws.poll_event()
    }
    fn poll_msg(&mut self) -> Result<Option<Msg>> {
        self.zws.poll_msg()
    }
    // What is encoded goes to the WebSocket after the session's drive (`pump`): frames
    // encoded together leave packed with the batch extension (docs/wire.md §10.9).
    fn send_msg(&mut self, msg: &Msg) {
        self.zws.send_msg(msg);
    }
    // A page cannot send WebSocket pings (docs/wire.md §10.6).
    fn send_ping(&mut self, _ttl_deciseconds: u16) {}
    fn take_peer_ttl(&mut self) -> Option<u16> {
        None
    }
    fn handle_zap(&mut self, outcome: isomq_core::zap::ZapOutcome) -> Result<()> {
        self.zws.handle_zap(outcome)
    }
    fn transmit_len(&self) -> usize {
        if self.unbounded {
            return 0;
        }
        let buffered = usize::try_from(self.ws.buffered_amount()).unwrap_or(usize::MAX);
        buffered.saturating_add(self.zws.transmit_len())
    }
}

pub(super) fn flush_transmit(zws: &mut Connection, ws: &dyn Ws) {
    while let Some(data) = zws.poll_transmit() {
        // A false return means the socket is closing; its Closed input follows.
        let _ = ws.send(&data);
    }
}

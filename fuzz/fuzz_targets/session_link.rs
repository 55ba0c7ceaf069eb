// One side's transport codec in the session target: ZMTP over a byte stream, or ZWS over
// RFC 6455 framing (the ws codec under the ZWS connection, as the hosts stack them). The
// session drives it through `isomq_core::session::Codec`; the target moves its bytes.
#![allow(dead_code)]

use isomq_core::session::Codec;
use isomq_core::ws::{self, Incoming};
use isomq_core::zap::ZapOutcome;
use isomq_core::zmtp::{self, Event};
use isomq_core::{zws, Msg};

pub enum Link {
    Zmtp(zmtp::Connection),
    Ws { zws: zws::Connection, ws: ws::Codec },
}

/// Why a link stopped taking input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The peer broke the protocol.
    Error,
    /// The peer closed the WebSocket (RFC 6455 §5.5.1).
    Closed,
}

impl Link {
    /// A ws link: `zws` over a ws codec of the server or client role.
    pub fn ws(zws: zws::Connection, server: bool, max: Option<usize>) -> Link {
        let ws = if server {
            ws::Codec::server(max)
        } else {
            let mut n = 0x1234_5678u32;
            ws::Codec::client(max, move || {
                n = n.rotate_left(5) ^ 0x9E37_79B9;
                n
            })
        };
        Link::Ws { zws, ws }
    }

    /// Moves everything encoded onto `wire`, as a transport's writes would.
    pub fn transmit(&mut self, wire: &mut Vec<u8>) {
        match self {
            Link::Zmtp(c) => {
                while c.transmit_len() > 0 {
                    let chunk = c.transmit_chunk();
                    assert!(!chunk.is_empty(), "pending output but an empty chunk");
                    let n = chunk.len();
                    wire.extend_from_slice(chunk);
                    c.advance_transmit(n);
                }
            }
            Link::Ws { zws, ws } => {
                while let Some(payload) = zws.poll_transmit() {
                    assert!(!payload.is_empty(), "ZWS produced an empty payload");
                    if ws.send_binary_bytes(payload).is_err() {
                        break;
                    }
                }
                while ws.transmit_len() > 0 {
                    let chunk = ws.transmit_chunk();
                    let n = chunk.len();
                    wire.extend_from_slice(chunk);
                    ws.advance_transmit(n);
                }
            }
        }
    }

    /// Bytes from the wire.
    pub fn receive(&mut self, data: &[u8]) -> Result<(), Stop> {
        match self {
            Link::Zmtp(c) => c.handle_input(data).map_err(|_| Stop::Error),
            Link::Ws { zws, ws } => {
                ws.handle_input(data).map_err(|_| Stop::Error)?;
                loop {
                    match ws.poll() {
                        Ok(Some(Incoming::Message(m))) => {
                            zws.handle_message(m).map_err(|_| Stop::Error)?;
                        }
                        Ok(Some(Incoming::Close { .. })) => return Err(Stop::Closed),
                        Ok(Some(_)) => {}
                        Ok(None) => return Ok(()),
                        Err(_) => return Err(Stop::Error),
                    }
                }
            }
        }
    }

    /// A WebSocket ping, as the ws hosts send for heartbeats (docs/wire.md §10.6).
    pub fn ws_ping(&mut self, payload: &[u8]) {
        if let Link::Ws { ws, .. } = self {
            let _ = ws.send_ping(payload);
        }
    }

    fn dyn_codec(&mut self) -> &mut dyn Codec {
        match self {
            Link::Zmtp(c) => c,
            Link::Ws { zws, .. } => zws,
        }
    }

    fn codec(&self) -> &dyn Codec {
        match self {
            Link::Zmtp(c) => c,
            Link::Ws { zws, .. } => zws,
        }
    }
}

impl Codec for Link {
    fn is_ready(&self) -> bool {
        self.codec().is_ready()
    }
    fn poll_event(&mut self) -> Option<Event> {
        self.dyn_codec().poll_event()
    }
    fn poll_msg(&mut self) -> isomq_core::Result<Option<Msg>> {
        self.dyn_codec().poll_msg()
    }
    fn send_msg(&mut self, msg: &Msg) {
        self.dyn_codec().send_msg(msg);
    }
    fn send_ping(&mut self, ttl_deciseconds: u16) {
        self.dyn_codec().send_ping(ttl_deciseconds);
    }
    fn take_peer_ttl(&mut self) -> Option<u16> {
        self.dyn_codec().take_peer_ttl()
    }
    fn transmit_len(&self) -> usize {
        match self {
            Link::Zmtp(c) => c.transmit_len(),
            Link::Ws { zws, ws } => zws.transmit_len() + ws.transmit_len(),
        }
    }
    fn size_transmit_for(&mut self, limit: usize) {
        self.dyn_codec().size_transmit_for(limit);
    }
    fn handle_zap(&mut self, outcome: ZapOutcome) -> isomq_core::Result<()> {
        self.dyn_codec().handle_zap(outcome)
    }
}

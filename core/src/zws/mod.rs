//! ZWS 2.0 (RFC 45), ZeroMQ over WebSocket, as a sans-IO [`Connection`]: whole binary
//! WebSocket message payloads in, payloads out.
//!
//! The HTTP upgrade and the WebSocket framing belong to the transport (a native listener, a
//! browser's `WebSocket`); this module starts right after the `101 Switching Protocols`, with
//! the subprotocol the two sides agreed on. Byte-level rules and libzmq's quirks are in
//! docs/wire.md §10: one ZMTP frame per WebSocket message, `flags(1) body` with no length,
//! no greeting, subscriptions as `00 01 topic` / `00 00 topic` data messages.

mod connection;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

pub use connection::{Connection, Transmit};

/// The ZWS 2.0 subprotocols isomq speaks (`Sec-WebSocket-Protocol` tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subprotocol {
    /// `ZWS2.0/NULL`: the NULL mechanism, a READY command each way with the socket type.
    Null,
    /// `ZWS2.0`: no mechanism; like ZMTP 2.0 the first message each way is the routing id,
    /// and socket types are not checked (as libzmq).
    Bare,
}

/// What a client offers, in order: `Sec-WebSocket-Protocol: ZWS2.0/NULL,ZWS2.0`, as libzmq.
pub const CLIENT_PROTOCOLS: [&str; 2] = ["ZWS2.0/NULL", "ZWS2.0"];

impl Subprotocol {
    /// The token as it appears in `Sec-WebSocket-Protocol`.
    pub fn token(self) -> &'static str {
        match self {
            Subprotocol::Null => CLIENT_PROTOCOLS[0],
            Subprotocol::Bare => CLIENT_PROTOCOLS[1],
        }
    }

    /// Parses one token exactly (tokens are case-sensitive, as libzmq's `strcmp`).
    pub fn from_token(token: &str) -> Option<Subprotocol> {
        match token {
            "ZWS2.0/NULL" => Some(Subprotocol::Null),
            "ZWS2.0" => Some(Subprotocol::Bare),
            _ => None,
        }
    }

    /// Picks the first token of a client's `Sec-WebSocket-Protocol` list that we support
    /// (libzmq picks the first supported one; browsers separate with `", "`).
    pub fn select(offered: &str) -> Option<Subprotocol> {
        offered
            .split(',')
            .find_map(|t| Subprotocol::from_token(t.trim_matches([' ', '\t'])))
    }
}

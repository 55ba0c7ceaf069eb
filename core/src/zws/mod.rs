//! ZWS 2.0 (RFC 45), ZeroMQ over WebSocket, as a sans-IO [`Connection`]: whole binary
//! WebSocket message payloads in, payloads out.
//!
//! The HTTP upgrade and the WebSocket framing belong to the transport (a native listener, a
//! browser's `WebSocket`); this module starts right after the `101 Switching Protocols`, with
//! the subprotocol the two sides agreed on. Byte-level rules and libzmq's quirks are in
//! docs/wire.md §10: one ZMTP frame per WebSocket message, `flags(1) body` with no length,
//! no greeting, subscriptions as `00 01 topic` / `00 00 topic` data messages.
//!
//! Between two isomq ends, the batch extension (docs/wire.md §10.9) carries many ZMTP 3.x
//! frames in one WebSocket message ([`batch`]): a browser pays its cost per WebSocket
//! message once per batch instead of once per frame.

pub mod batch;
mod connection;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod batch_tests;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod secure_tests;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

pub use connection::{Connection, Transmit};

/// The subprotocols isomq speaks over ws:// (`Sec-WebSocket-Protocol` tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subprotocol {
    /// `ZWS2.0/NULL`: the NULL mechanism, a READY command each way with the socket type.
    Null,
    /// `ZWS2.0`: no mechanism; like ZMTP 2.0 the first message each way is the routing id,
    /// and socket types are not checked (as libzmq).
    Bare,
    /// `ZWS2.0.isomq-batch1`: isomq's batch extension (docs/wire.md §10.9), the NULL
    /// mechanism with ZMTP 3.x frames, one or more per WebSocket message.
    Batch,
    /// `ZWS2.0/PLAIN`: the PLAIN mechanism (libzmq's name).
    Plain,
    /// `ZWS2.0/CURVE`: the CURVE mechanism (libzmq's name; not in RFC 45).
    Curve,
    /// `ZWS2.0.isomq-plain1`: `ZWS2.0/PLAIN` under a name browsers can offer
    /// (docs/wire.md §10.10).
    WebPlain,
    /// `ZWS2.0.isomq-curve1`: `ZWS2.0/CURVE` under a name browsers can offer.
    WebCurve,
}

/// The batch extension's token: a valid RFC 7230 token (no `/`), so that the WebSocket API
/// of browsers and Node lets a page offer it (docs/wire.md §10.1, §10.9).
pub const BATCH_TOKEN: &str = "ZWS2.0.isomq-batch1";

/// What a native client offers, in order: the batch extension first, then libzmq's offer in
/// libzmq's order, `ZWS2.0/NULL,ZWS2.0` (docs/wire.md §10.2, §10.9).
pub const CLIENT_PROTOCOLS: [&str; 3] = [BATCH_TOKEN, "ZWS2.0/NULL", "ZWS2.0"];

/// The browser-safe token for PLAIN (docs/wire.md §10.10).
pub const WEB_PLAIN_TOKEN: &str = "ZWS2.0.isomq-plain1";
/// The browser-safe token for CURVE (docs/wire.md §10.10).
pub const WEB_CURVE_TOKEN: &str = "ZWS2.0.isomq-curve1";

/// What a client of `mechanism` (`NULL`, `PLAIN`, `CURVE`) offers: native clients libzmq's
/// names (after the batch extension for NULL), pages (`web`) names without `/`, which
/// browsers accept (docs/wire.md §10.1, §10.10).
pub fn client_protocols(mechanism: &str, web: bool) -> &'static [&'static str] {
    match (mechanism, web) {
        ("PLAIN", false) => &["ZWS2.0/PLAIN"],
        ("PLAIN", true) => &[WEB_PLAIN_TOKEN],
        ("CURVE", false) => &["ZWS2.0/CURVE"],
        ("CURVE", true) => &[WEB_CURVE_TOKEN],
        (_, false) => &CLIENT_PROTOCOLS,
        (_, true) => &[BATCH_TOKEN, "ZWS2.0"],
    }
}

impl Subprotocol {
    /// The token as it appears in `Sec-WebSocket-Protocol`.
    pub fn token(self) -> &'static str {
        match self {
            Subprotocol::Batch => BATCH_TOKEN,
            Subprotocol::Null => "ZWS2.0/NULL",
            Subprotocol::Bare => "ZWS2.0",
            Subprotocol::Plain => "ZWS2.0/PLAIN",
            Subprotocol::Curve => "ZWS2.0/CURVE",
            Subprotocol::WebPlain => WEB_PLAIN_TOKEN,
            Subprotocol::WebCurve => WEB_CURVE_TOKEN,
        }
    }

    /// The security mechanism the subprotocol runs: `NULL`, `PLAIN` or `CURVE`.
    pub fn mechanism(self) -> &'static str {
        match self {
            Subprotocol::Null | Subprotocol::Bare | Subprotocol::Batch => "NULL",
            Subprotocol::Plain | Subprotocol::WebPlain => "PLAIN",
            Subprotocol::Curve | Subprotocol::WebCurve => "CURVE",
        }
    }

    /// Parses one token exactly (tokens are case-sensitive, as libzmq's `strcmp`).
    pub fn from_token(token: &str) -> Option<Subprotocol> {
        match token {
            BATCH_TOKEN => Some(Subprotocol::Batch),
            "ZWS2.0/NULL" => Some(Subprotocol::Null),
            "ZWS2.0" => Some(Subprotocol::Bare),
            "ZWS2.0/PLAIN" => Some(Subprotocol::Plain),
            "ZWS2.0/CURVE" => Some(Subprotocol::Curve),
            WEB_PLAIN_TOKEN => Some(Subprotocol::WebPlain),
            WEB_CURVE_TOKEN => Some(Subprotocol::WebCurve),
            _ => None,
        }
    }

    /// Picks the first token of a client's `Sec-WebSocket-Protocol` list that we support
    /// (libzmq picks the first supported one; browsers separate with `", "`).
    pub fn select(offered: &str) -> Option<Subprotocol> {
        Subprotocol::select_for(offered, "NULL")
    }

    /// Like [`select`](Subprotocol::select), among the tokens of `mechanism`, the one the
    /// server's socket is configured for: a CURVE server never agrees to speak NULL.
    pub fn select_for(offered: &str, mechanism: &str) -> Option<Subprotocol> {
        offered
            .split(',')
            .filter_map(|t| Subprotocol::from_token(t.trim_matches([' ', '\t'])))
            .find(|s| s.mechanism() == mechanism)
    }
}

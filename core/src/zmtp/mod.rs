//! ZMTP 3.x, the ZeroMQ wire protocol over stream transports (tcp://, ipc://), as a sans-IO
//! [`Connection`] state machine (ExpectGreeting → ExpectReady → Traffic).
//!
//! The byte-level rules, and where libzmq departs from the RFCs, are in docs/wire.md §2–§5
//! (summed up in §12).
//! What is implemented: the 64-byte greeting, the NULL, PLAIN and CURVE mechanisms (with ZAP;
//! docs/security.md), framing, READY metadata,
//! PING/PONG, SUBSCRIBE/CANCEL, and the fallback to ZMTP 3.0 peers. ZMTP 1.0/2.0 peers are
//! refused.

pub(crate) mod command;
mod connection;
pub(crate) mod decoder;
mod encoder;
mod greeting;
pub(crate) mod mechanism;
pub(crate) mod recycle;
pub(crate) mod secure;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

pub use connection::{Config, Connection, Event, PeerInfo};
pub use greeting::greeting_bytes;
pub use mechanism::{Auth, USER_ID};

use crate::socket_type::SocketType;

/// The READY command frame (header included) a NULL-mechanism connection of this type sends,
/// for tests and tools that speak ZMTP by hand.
pub fn ready_frame(socket_type: SocketType, identity: &[u8]) -> Vec<u8> {
    let mut enc = encoder::Encoder::default();
    enc.command(
        command::READY,
        &mechanism::null::ready_data(socket_type, identity),
    );
    let mut out = Vec::with_capacity(enc.len());
    while !enc.chunk().is_empty() {
        let n = enc.chunk().len();
        out.extend_from_slice(enc.chunk());
        enc.advance(n);
    }
    out
}

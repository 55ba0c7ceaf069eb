//! WebSocket data framing (RFC 6455 §5) as a sans-IO [`Codec`]: bytes read from the stream
//! in, whole binary messages and control events out, frames to write out.
//!
//! The HTTP upgrade (RFC 6455 §4) is the host's; this module starts right after the
//! `101 Switching Protocols`. It knows nothing of ZeroMQ: the ZWS 2.0 layer above it
//! ([`crate::zws`]) takes each binary message's payload. What it accepts and refuses, with
//! the close code of each refusal, is in docs/wire.md §10.8.
//!
//! No I/O, no clock, no randomness of its own: a client's masking keys come from the host
//! ([`MaskKeys`]), which has an RNG (RFC 6455 §10.3 wants them unpredictable).
//!
//! Speed (docs/architecture.md §7): reads land in the codec's input buffer without a copy
//! and a message leaves it as a shared slice; unmasking works in place a word at a time;
//! small frames are batched into one output buffer and large server payloads go to `writev`
//! as they are.

mod close;
mod codec;
mod decoder;
mod encoder;
mod error;
mod frame;
mod mask;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

pub use close::is_valid_close_code;
pub use codec::Codec;
pub use error::ProtocolError;

use bytes::Bytes;

/// Which end of the connection the codec is (RFC 6455 §5.1): a client masks every frame it
/// sends and refuses masked frames; a server sends unmasked frames and refuses unmasked ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The end that accepted the connection and answered the upgrade.
    Server,
    /// The end that connected and sent the upgrade request.
    Client,
}

/// What the codec decoded, other than bytes it keeps for later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// One complete binary message (RFC 6455 §5.6, opcode 2), its fragments joined.
    Message(Bytes),
    /// A ping (RFC 6455 §5.5.2). The pong echoing its payload is queued, or due once the
    /// pong before it has been written (see [`Codec`]).
    Ping(Bytes),
    /// A pong (RFC 6455 §5.5.3), solicited or not.
    Pong(Bytes),
    /// The peer's close frame (RFC 6455 §5.5.1). Input ends here; unless a close was already
    /// sent, one echoing the code is queued, and the host closes the transport once it is
    /// written ([`Codec::is_closed`]).
    Close {
        /// The status code, `None` for an empty close frame (reported as 1005 by
        /// browsers, RFC 6455 §7.1.5).
        code: Option<u16>,
        /// The reason, valid UTF-8 (RFC 6455 §5.5.1), often empty.
        reason: String,
    },
}

/// The source of a client's masking keys, one per frame sent (RFC 6455 §5.3: "a new masking
/// key ... from the set of allowed 32-bit values", unpredictable, so from the host's RNG).
///
/// Any `FnMut() -> u32 + Send` closure is one.
pub trait MaskKeys: Send {
    /// The key for the next frame.
    fn next_key(&mut self) -> u32;
}

impl<F: FnMut() -> u32 + Send> MaskKeys for F {
    fn next_key(&mut self) -> u32 {
        self()
    }
}

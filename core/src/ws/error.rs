//! What a peer can get wrong in WebSocket framing, each with the close status code that
//! answers it (RFC 6455 §7.4.1).

use std::fmt;

/// A violation of RFC 6455 by the peer, or input this binary-only codec does not take.
/// Fatal: the codec has queued a close frame with [`close_code`](ProtocolError::close_code)
/// (RFC 6455 §7.1.7 "Fail the WebSocket Connection") and refuses further input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// RSV1-3 set (the bits, shifted down to 1-7) while no extension was negotiated
    /// (RFC 6455 §5.2).
    ReservedBits(u8),
    /// A reserved opcode: 3-7 or 0xB-0xF (RFC 6455 §5.2).
    ReservedOpcode(u8),
    /// A text frame: ZWS carries binary messages only (docs/wire.md §10.3), answered with
    /// 1003, "unsupported data".
    Text,
    /// A server received an unmasked frame (RFC 6455 §5.1).
    Unmasked,
    /// A client received a masked frame (RFC 6455 §5.1).
    Masked,
    /// A control frame with more than 125 bytes of payload (RFC 6455 §5.5).
    ControlTooLong,
    /// A control frame with FIN clear (RFC 6455 §5.5).
    ControlFragmented,
    /// A 64-bit payload length with its most significant bit set (RFC 6455 §5.2).
    LengthTopBit,
    /// A continuation frame while no fragmented message is open (RFC 6455 §5.4).
    ContinuationWithoutStart,
    /// A new data frame while a fragmented message is open (RFC 6455 §5.4).
    MessageInterrupted,
    /// A close frame whose payload is a single byte, half a status code (RFC 6455 §5.5.1).
    CloseTooShort,
    /// A close frame with a status code no endpoint may send (RFC 6455 §7.4).
    CloseCode(u16),
    /// A close frame whose reason is not UTF-8 (RFC 6455 §5.5.1), answered with 1007.
    CloseReasonUtf8,
    /// A message over the configured maximum, or one too large to address, answered with
    /// 1009 (RFC 6455 §7.4.1).
    TooBig,
}

impl ProtocolError {
    /// The status code of the close frame that answers this error (RFC 6455 §7.4.1).
    pub fn close_code(self) -> u16 {
        match self {
            ProtocolError::Text => 1003,
            ProtocolError::CloseReasonUtf8 => 1007,
            ProtocolError::TooBig => 1009,
            _ => 1002,
        }
    }

    /// A short reason for the close frame (at most 123 bytes, RFC 6455 §5.5.1).
    pub(crate) fn reason(self) -> &'static str {
        match self {
            ProtocolError::ReservedBits(_) => "RSV bits set",
            ProtocolError::ReservedOpcode(_) => "reserved opcode",
            ProtocolError::Text => "text frames are not supported",
            ProtocolError::Unmasked => "unmasked frame from a client",
            ProtocolError::Masked => "masked frame from a server",
            ProtocolError::ControlTooLong => "control frame over 125 bytes",
            ProtocolError::ControlFragmented => "fragmented control frame",
            ProtocolError::LengthTopBit => "payload length with its top bit set",
            ProtocolError::ContinuationWithoutStart => "continuation without a message",
            ProtocolError::MessageInterrupted => "data frame inside a fragmented message",
            ProtocolError::CloseTooShort => "1-byte close payload",
            ProtocolError::CloseCode(_) => "invalid close code",
            ProtocolError::CloseReasonUtf8 => "close reason is not UTF-8",
            ProtocolError::TooBig => "message too big",
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::ReservedBits(bits) => write!(f, "WebSocket RSV bits set: {bits:#x}"),
            ProtocolError::ReservedOpcode(op) => write!(f, "reserved WebSocket opcode {op:#x}"),
            ProtocolError::CloseCode(code) => write!(f, "invalid WebSocket close code {code}"),
            other => write!(f, "WebSocket: {}", other.reason()),
        }
    }
}

impl std::error::Error for ProtocolError {}

impl From<ProtocolError> for crate::Error {
    /// `EMSGSIZE` for a message over the limit (as MAXMSGSIZE on ZMTP), `EPROTO` otherwise.
    fn from(e: ProtocolError) -> crate::Error {
        match e {
            ProtocolError::TooBig => crate::Error::MsgSize,
            other => crate::Error::Proto(other.to_string()),
        }
    }
}

//! The NULL mechanism (docs/wire.md §4): no security, each side sends READY right after the
//! greeting without waiting (libzmq is symmetric), and the handshake is over once the peer's
//! READY has arrived.

use super::{basic_properties, check_metadata, PeerMetadata};
use crate::error::{Error, Result};
use crate::socket_type::SocketType;
use crate::zmtp::command::{self, Command};

/// The mechanism name in the greeting.
pub(crate) const NAME: &str = "NULL";

/// The READY command's data (its metadata) for a socket of this type and routing id.
pub(crate) fn ready_data(socket_type: SocketType, identity: &[u8]) -> Vec<u8> {
    basic_properties(socket_type, identity)
}

/// Handles a command received during the handshake. Only READY moves on; ERROR, any other
/// command, or a malformed READY ends the connection (libzmq: EPROTO, or the ERROR reason).
pub(crate) fn process_handshake_command(body: &[u8], local: SocketType) -> Result<PeerMetadata> {
    match command::parse(body)? {
        Command::Ready(metadata) => check_metadata(metadata, local),
        Command::Error(reason) => Err(Error::Proto(format!(
            "peer sent ERROR: {}",
            String::from_utf8_lossy(reason)
        ))),
        _ => Err(Error::Proto(
            "unexpected command during the NULL handshake".into(),
        )),
    }
}

//! Security mechanisms: the handshake that runs between the greeting and the first message.
//! Only NULL exists so far; PLAIN and CURVE will sit beside it and share the metadata rules here.

pub(crate) mod null;

use bytes::Bytes;

use super::command::{parse_metadata, put_property};
use crate::error::{Error, Result};
use crate::socket_type::SocketType;

pub(crate) const SOCKET_TYPE: &str = "Socket-Type";
pub(crate) const IDENTITY: &str = "Identity";

/// What a peer said about itself in its READY (or CURVE INITIATE/READY) metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PeerMetadata {
    pub socket_type: Option<SocketType>,
    pub identity: Bytes,
    pub properties: Vec<(String, Bytes)>,
}

/// The properties every mechanism sends, in libzmq's order (`add_basic_properties`):
/// `Socket-Type` always, `Identity` only for REQ, DEALER and ROUTER (even when empty).
pub(crate) fn basic_properties(socket_type: SocketType, identity: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(32 + identity.len());
    put_property(&mut buf, SOCKET_TYPE, socket_type.name().as_bytes());
    if socket_type.sends_identity() {
        put_property(&mut buf, IDENTITY, identity);
    }
    buf
}

/// Parses the peer's metadata and checks its socket type against ours.
///
/// As libzmq (`mechanism_t::parse_metadata`): names are compared case-sensitively, a missing
/// `Socket-Type` is accepted, an unknown or incompatible one is an error (and no ERROR command
/// is sent for it). Every property, including these two, is kept in `properties`.
pub(crate) fn check_metadata(data: &[u8], local: SocketType) -> Result<PeerMetadata> {
    let mut peer = PeerMetadata {
        properties: parse_metadata(data)?,
        ..PeerMetadata::default()
    };
    for (name, value) in &peer.properties {
        if name == SOCKET_TYPE {
            match SocketType::from_name(value).filter(|&t| local.is_compatible(t)) {
                Some(t) => peer.socket_type = Some(t),
                None => {
                    return Err(Error::Proto(format!(
                        "incompatible peer socket type {:?} for {local}",
                        String::from_utf8_lossy(value)
                    )))
                }
            }
        } else if name == IDENTITY {
            peer.identity = value.clone();
        }
    }
    Ok(peer)
}

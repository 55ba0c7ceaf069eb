//! Security mechanisms: the handshake that runs between the greeting and the first message
//! (NULL, PLAIN, CURVE; docs/security.md), and the metadata rules they share. A mechanism is a
//! sans-IO state machine over command bodies: the connection feeds it the peer's commands and
//! sends the ones it produces; randomness and ZAP answers come in from the host.

pub(crate) mod curve;
mod machine;
pub(crate) mod null;
pub(crate) mod plain;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod hostile_tests;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

use bytes::Bytes;

use super::command::{parse_metadata, put_property};
use crate::error::{Error, Result};
use crate::socket_type::SocketType;
use crate::zap::ZapOutcome;

pub use machine::Auth;
pub(crate) use machine::Mechanism;

/// Property that carries the user id a ZAP handler gave the peer (as libzmq's
/// `zmq_msg_gets(msg, "User-Id")`).
pub const USER_ID: &str = "User-Id";

/// Where a mechanism stands after an input.
#[derive(Debug)]
pub(crate) enum Step {
    /// Waiting for the peer's next command.
    Continue,
    /// The host must ask ZAP and call `handle_zap` with the outcome.
    Zap(crate::zap::ZapRequest),
    /// Handshake complete: what the peer said about itself (and what ZAP added).
    Ready(PeerMetadata),
}

/// Command bodies (`name-len name data`) a mechanism wants sent, in order.
///
/// Bodies are zeroized once dropped: PLAIN's HELLO carries a password.
#[derive(Debug, Default)]
pub(crate) struct Out {
    commands: Vec<zeroize::Zeroizing<Vec<u8>>>,
}

impl Out {
    /// Queues `name-len name data`.
    pub(crate) fn command(&mut self, name: &[u8], data: &[u8]) {
        let mut body = zeroize::Zeroizing::new(Vec::with_capacity(1 + name.len() + data.len()));
        // Command names are ours (HELLO, WELCOME, ...), all far below 256 bytes.
        body.push(name.len() as u8);
        body.extend_from_slice(name);
        body.extend_from_slice(data);
        self.commands.push(body);
    }

    /// Queues a whole command body built by the caller.
    pub(crate) fn body(&mut self, body: Vec<u8>) {
        self.commands.push(zeroize::Zeroizing::new(body));
    }

    /// Takes the queued bodies.
    pub(crate) fn take(&mut self) -> Vec<zeroize::Zeroizing<Vec<u8>>> {
        std::mem::take(&mut self.commands)
    }
}

/// The error for an ERROR command received from the peer: a ZAP status code (`300`, `400`,
/// `500`, what libzmq servers send) is an authentication failure, anything else a protocol
/// error with the reason shown.
pub(crate) fn peer_error(reason: &[u8]) -> Error {
    match reason {
        b"300" => Error::Auth(300),
        b"400" => Error::Auth(400),
        b"500" => Error::Auth(500),
        _ => Error::Proto(format!(
            "peer sent ERROR: {}",
            String::from_utf8_lossy(reason)
        )),
    }
}

/// Applies a ZAP outcome as libzmq does: 200 goes on, with the handler's `User-Id` and
/// metadata as properties of the peer; 300 closes silently; 400 and 500 send ERROR with the
/// code first. Without a handler, `accept_without_handler` decides (CURVE and NULL go on
/// unless ZAP_ENFORCE_DOMAIN is set; PLAIN fails).
pub(crate) fn zap_verdict(
    outcome: ZapOutcome,
    accept_without_handler: bool,
    out: &mut Out,
) -> Result<Vec<(String, Bytes)>> {
    let reply = match outcome {
        ZapOutcome::NoHandler if accept_without_handler => return Ok(Vec::new()),
        ZapOutcome::NoHandler => {
            return Err(Error::Auth(0));
        }
        ZapOutcome::Reply(reply) => reply,
    };
    match reply.status {
        200 => {
            let mut properties = vec![(USER_ID.to_owned(), reply.user_id)];
            properties.extend(parse_metadata(&reply.metadata)?);
            Ok(properties)
        }
        300 => Err(Error::Auth(300)),
        status => {
            let code = status.to_string();
            let mut data = vec![code.len() as u8];
            data.extend_from_slice(code.as_bytes());
            out.command(super::command::ERROR, &data);
            Err(Error::Auth(status))
        }
    }
}

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

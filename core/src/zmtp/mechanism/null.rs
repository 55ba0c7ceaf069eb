//! The NULL mechanism (docs/wire.md §4): no security, each side sends READY right after the
//! greeting without waiting (libzmq is symmetric), and the handshake is over once the peer's
//! READY has arrived. With ZAP_DOMAIN set, the side that set it first asks ZAP and sends its
//! READY only once the handler accepted (docs/security.md).

use super::{basic_properties, check_metadata, peer_error, zap_verdict, Out, PeerMetadata, Step};
use crate::error::{Error, Result};
use crate::socket_type::SocketType;
use crate::zap::{ZapOutcome, ZapRequest};
use crate::zmtp::command::{self, Command};

/// The mechanism name in the greeting.
pub(crate) const NAME: &str = "NULL";

/// The READY command's data (its metadata) for a socket of this type and routing id.
pub(crate) fn ready_data(socket_type: SocketType, identity: &[u8]) -> Vec<u8> {
    basic_properties(socket_type, identity)
}

/// Handles a command received during a handshake without ZAP. Only READY moves on; ERROR,
/// any other command, or a malformed READY ends the connection (libzmq: EPROTO, or the
/// ERROR reason).
pub(crate) fn process_handshake_command(body: &[u8], local: SocketType) -> Result<PeerMetadata> {
    match command::parse(body)? {
        Command::Ready(metadata) => check_metadata(metadata, local),
        Command::Error(reason) => Err(peer_error(reason)),
        _ => Err(Error::Proto(
            "unexpected command during the NULL handshake".into(),
        )),
    }
}

/// A NULL handshake, possibly gated by ZAP.
#[derive(Debug)]
pub(crate) struct Null {
    socket_type: SocketType,
    identity: bytes::Bytes,
    /// ZAP_DOMAIN is set: ask ZAP before sending READY.
    zap: bool,
    /// ZAP_ENFORCE_DOMAIN: without a handler, fail instead of going on.
    enforce: bool,
    /// Our READY has gone out.
    ready_sent: bool,
    /// The peer's READY, kept while ZAP has not answered yet.
    peer: Option<PeerMetadata>,
    /// What ZAP added (User-Id and metadata), once it answered.
    zap_properties: Vec<(String, bytes::Bytes)>,
}

impl Null {
    pub(crate) fn new(
        socket_type: SocketType,
        identity: bytes::Bytes,
        zap: bool,
        enforce: bool,
    ) -> Null {
        Null {
            socket_type,
            identity,
            zap,
            enforce,
            ready_sent: false,
            peer: None,
            zap_properties: Vec::new(),
        }
    }

    pub(crate) fn start(&mut self, out: &mut Out) -> Step {
        if self.zap {
            return Step::Zap(ZapRequest {
                mechanism: NAME,
                credentials: Vec::new(),
            });
        }
        self.send_ready(out);
        Step::Continue
    }

    fn send_ready(&mut self, out: &mut Out) {
        out.command(
            command::READY,
            &ready_data(self.socket_type, &self.identity),
        );
        self.ready_sent = true;
    }

    pub(crate) fn handle_command(&mut self, body: &[u8]) -> Result<Step> {
        if self.peer.is_some() {
            return Err(Error::Proto(
                "a second READY during the NULL handshake".into(),
            ));
        }
        let peer = process_handshake_command(body, self.socket_type)?;
        self.peer = Some(peer);
        Ok(self.step())
    }

    pub(crate) fn handle_zap(&mut self, outcome: ZapOutcome, out: &mut Out) -> Result<Step> {
        if !self.zap || self.ready_sent {
            return Err(Error::Proto("ZAP reply without a request".into()));
        }
        self.zap_properties = zap_verdict(outcome, !self.enforce, out)?;
        self.send_ready(out);
        Ok(self.step())
    }

    fn step(&mut self) -> Step {
        match self.peer.take() {
            Some(mut peer) if self.ready_sent => {
                peer.properties.append(&mut self.zap_properties);
                Step::Ready(peer)
            }
            other => {
                self.peer = other;
                Step::Continue
            }
        }
    }
}

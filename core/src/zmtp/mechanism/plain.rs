//! PLAIN (RFC 24): a username and password in clear text, checked by the server's ZAP
//! handler. Client: HELLO → WELCOME → INITIATE → READY. docs/security.md §2 has the bytes
//! and libzmq's quirks (its malformed ERROR, and a server that fails without a ZAP handler).

use bytes::Bytes;
use zeroize::Zeroizing;

use super::{basic_properties, check_metadata, peer_error, zap_verdict, Out, Step};
use crate::error::{Error, Result};
use crate::socket_type::SocketType;
use crate::zap::{ZapOutcome, ZapRequest};
use crate::zmtp::command::{self, Command};

/// The mechanism name in the greeting.
pub(crate) const NAME: &str = "PLAIN";

const HELLO: &[u8] = b"HELLO";
const WELCOME: &[u8] = b"WELCOME";
const INITIATE: &[u8] = b"INITIATE";
/// libzmq's PLAIN server writes ERROR as `5E 'RROR' len reason` (a C escape that swallowed
/// the name length); its client accepts only that form. We accept both, send the RFC's.
const LIBZMQ_ERROR_PREFIX: &[u8] = b"\x5ERROR";

fn unexpected(state: &str) -> Error {
    Error::Proto(format!(
        "unexpected command during the PLAIN handshake ({state})"
    ))
}

/// An ERROR in either spelling, as the error it reports; None when `body` is no ERROR.
fn error_command(body: &[u8]) -> Option<Error> {
    if let Some(rest) = body.strip_prefix(LIBZMQ_ERROR_PREFIX) {
        let (&len, reason) = rest.split_first()?;
        return Some(peer_error(reason.get(..usize::from(len))?));
    }
    match command::parse(body) {
        Ok(Command::Error(reason)) => Some(peer_error(reason)),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientState {
    ExpectWelcome,
    ExpectReady,
    Done,
}

/// The PLAIN client side.
#[derive(Debug)]
pub(crate) struct Client {
    socket_type: SocketType,
    identity: Bytes,
    state: ClientState,
}

impl Client {
    /// Sends HELLO with the credentials; they are not kept.
    pub(crate) fn start(
        socket_type: SocketType,
        identity: Bytes,
        username: &[u8],
        password: &[u8],
        out: &mut Out,
    ) -> Result<Client> {
        let (Ok(ulen), Ok(plen)) = (u8::try_from(username.len()), u8::try_from(password.len()))
        else {
            return Err(Error::Inval(
                "PLAIN username and password are at most 255 bytes".into(),
            ));
        };
        let mut data = Zeroizing::new(Vec::with_capacity(2 + username.len() + password.len()));
        data.push(ulen);
        data.extend_from_slice(username);
        data.push(plen);
        data.extend_from_slice(password);
        out.command(HELLO, &data);
        Ok(Client {
            socket_type,
            identity,
            state: ClientState::ExpectWelcome,
        })
    }

    pub(crate) fn handle_command(&mut self, body: &[u8], out: &mut Out) -> Result<Step> {
        if let Some(e) = error_command(body) {
            return Err(e);
        }
        match self.state {
            // RFC 24: WELCOME has no data; libzmq rejects any other size.
            ClientState::ExpectWelcome if body == b"\x07WELCOME" => {
                let metadata = basic_properties(self.socket_type, &self.identity);
                out.command(INITIATE, &metadata);
                self.state = ClientState::ExpectReady;
                Ok(Step::Continue)
            }
            ClientState::ExpectReady => match command::parse(body)? {
                Command::Ready(metadata) => {
                    let peer = check_metadata(metadata, self.socket_type)?;
                    self.state = ClientState::Done;
                    Ok(Step::Ready(peer))
                }
                _ => Err(unexpected("expected READY")),
            },
            ClientState::ExpectWelcome => Err(unexpected("expected WELCOME")),
            ClientState::Done => Err(unexpected("handshake over")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServerState {
    ExpectHello,
    WaitZap,
    ExpectInitiate,
    Done,
}

/// The PLAIN server side.
#[derive(Debug)]
pub(crate) struct Server {
    socket_type: SocketType,
    identity: Bytes,
    state: ServerState,
    /// What ZAP said about the client (User-Id, metadata), added to its properties.
    zap_properties: Vec<(String, Bytes)>,
}

impl Server {
    pub(crate) fn new(socket_type: SocketType, identity: Bytes) -> Server {
        Server {
            socket_type,
            identity,
            state: ServerState::ExpectHello,
            zap_properties: Vec::new(),
        }
    }

    pub(crate) fn handle_command(&mut self, body: &[u8], out: &mut Out) -> Result<Step> {
        match self.state {
            ServerState::ExpectHello => {
                let (username, password) = parse_hello(body)?;
                self.state = ServerState::WaitZap;
                Ok(Step::Zap(ZapRequest {
                    mechanism: NAME,
                    credentials: vec![username, password],
                }))
            }
            ServerState::ExpectInitiate => {
                let metadata = body
                    .strip_prefix(b"\x08INITIATE")
                    .ok_or_else(|| unexpected("expected INITIATE"))?;
                let mut peer = check_metadata(metadata, self.socket_type)?;
                out.command(
                    command::READY,
                    &basic_properties(self.socket_type, &self.identity),
                );
                peer.properties.append(&mut self.zap_properties);
                self.state = ServerState::Done;
                Ok(Step::Ready(peer))
            }
            ServerState::WaitZap => Err(unexpected("waiting for ZAP")),
            ServerState::Done => Err(unexpected("handshake over")),
        }
    }

    pub(crate) fn handle_zap(&mut self, outcome: ZapOutcome, out: &mut Out) -> Result<Step> {
        if self.state != ServerState::WaitZap {
            return Err(Error::Proto("ZAP reply without a request".into()));
        }
        // A PLAIN server without a ZAP handler fails the handshake, as libzmq's does.
        self.zap_properties = zap_verdict(outcome, false, out)?;
        out.command(WELCOME, &[]);
        self.state = ServerState::ExpectInitiate;
        Ok(Step::Continue)
    }
}

/// `05 'HELLO' ulen username plen password`, nothing after (RFC 24; libzmq rejects extra
/// bytes).
fn parse_hello(body: &[u8]) -> Result<(Bytes, Bytes)> {
    let bad = || Error::Proto("malformed PLAIN HELLO".into());
    let data = body.strip_prefix(b"\x05HELLO").ok_or_else(bad)?;
    let (&ulen, rest) = data.split_first().ok_or_else(bad)?;
    let username = rest.get(..usize::from(ulen)).ok_or_else(bad)?;
    let rest = &rest[usize::from(ulen)..];
    let (&plen, rest) = rest.split_first().ok_or_else(bad)?;
    if rest.len() != usize::from(plen) {
        return Err(bad());
    }
    Ok((
        Bytes::copy_from_slice(username),
        Bytes::copy_from_slice(rest),
    ))
}

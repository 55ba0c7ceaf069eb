//! ZAP (RFC 27), the ZeroMQ Authentication Protocol. A server-side mechanism asks its host
//! to authenticate the peer ([`ZapRequest`]); the host sends the request frames to the
//! handler bound at `inproc://zeromq.zap.01` of its context and hands the reply back
//! ([`ZapReply`]). [`Policy`] is a handler's decision logic (addresses, CURVE keys, PLAIN
//! passwords), which the native `Authenticator` serves. Metadata in a reply is checked by
//! the mechanism that applies it.

mod policy;

pub use policy::Policy;

use bytes::Bytes;

use crate::error::{Error, Result};

/// The endpoint a ZAP handler binds (RFC 27).
pub const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";

const VERSION: &[u8] = b"1.0";
/// One request at a time per connection, so one request id is enough (as libzmq).
const REQUEST_ID: &[u8] = b"1";

/// What a mechanism needs checked: its name and the peer's credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct ZapRequest {
    /// `NULL`, `PLAIN` or `CURVE`.
    pub mechanism: &'static str,
    /// PLAIN: username, password. CURVE: the client's long-term public key. NULL: none.
    pub credentials: Vec<Bytes>,
}

impl std::fmt::Debug for ZapRequest {
    /// Credentials are left out: a PLAIN password must never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZapRequest")
            .field("mechanism", &self.mechanism)
            .finish_non_exhaustive()
    }
}

impl ZapRequest {
    /// The request's frames (RFC 27): an empty delimiter (the handler is usually a ROUTER),
    /// version, request id, domain, the peer's address, the local socket's routing id, the
    /// mechanism and the credentials.
    pub fn frames(&self, domain: &[u8], address: &[u8], identity: &[u8]) -> Vec<Bytes> {
        let mut frames = vec![
            Bytes::new(),
            Bytes::from_static(VERSION),
            Bytes::from_static(REQUEST_ID),
            Bytes::copy_from_slice(domain),
            Bytes::copy_from_slice(address),
            Bytes::copy_from_slice(identity),
            Bytes::from_static(self.mechanism.as_bytes()),
        ];
        frames.extend(self.credentials.iter().cloned());
        frames
    }
}

/// A handler's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZapReply {
    /// 200 (accepted), 300 (temporary failure), 400 (denied) or 500 (internal error).
    pub status: u16,
    /// The user id the handler gave the peer, the `User-Id` property of its messages.
    pub user_id: Bytes,
    /// Properties the handler attached (ZMTP metadata encoding), added to the peer's.
    pub metadata: Bytes,
}

impl ZapReply {
    /// Parses and checks a reply (RFC 27): an empty delimiter, version `1.0`, our request id,
    /// a status code among 200/300/400/500, status text, user id, metadata. Anything else is
    /// a protocol error, and the handshake fails (as libzmq).
    pub fn parse(frames: &[Bytes]) -> Result<ZapReply> {
        let bad = |why: &str| Error::Proto(format!("malformed ZAP reply: {why}"));
        let [delimiter, version, id, status, _text, user_id, metadata] = frames else {
            return Err(bad("a reply has 7 frames"));
        };
        if !delimiter.is_empty() {
            return Err(bad("the first frame is not empty"));
        }
        if version.as_ref() != VERSION {
            return Err(bad("version is not 1.0"));
        }
        if id.as_ref() != REQUEST_ID {
            return Err(bad("unknown request id"));
        }
        let status = match status.as_ref() {
            b"200" => 200,
            b"300" => 300,
            b"400" => 400,
            b"500" => 500,
            _ => return Err(bad("status is not 200, 300, 400 or 500")),
        };
        Ok(ZapReply {
            status,
            user_id: user_id.clone(),
            metadata: metadata.clone(),
        })
    }
}

/// How a server-side mechanism goes on after asking ZAP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZapOutcome {
    /// No handler is bound at [`ZAP_ENDPOINT`] in the context.
    NoHandler,
    /// The handler's reply.
    Reply(ZapReply),
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn reply(status: &'static [u8]) -> Vec<Bytes> {
        [&b""[..], b"1.0", b"1", status, b"OK", b"alice", b""]
            .iter()
            .map(|f| Bytes::copy_from_slice(f))
            .collect()
    }

    #[test]
    fn request_frames_follow_rfc27() {
        let req = ZapRequest {
            mechanism: "PLAIN",
            credentials: vec![Bytes::from_static(b"u"), Bytes::from_static(b"p")],
        };
        let frames = req.frames(b"global", b"127.0.0.1", b"id");
        let want: [&[u8]; 9] = [
            b"",
            b"1.0",
            b"1",
            b"global",
            b"127.0.0.1",
            b"id",
            b"PLAIN",
            b"u",
            b"p",
        ];
        assert_eq!(frames, want.map(Bytes::copy_from_slice));
    }

    #[test]
    fn requests_never_print_credentials() {
        let req = ZapRequest {
            mechanism: "PLAIN",
            credentials: vec![Bytes::from_static(b"alice"), Bytes::from_static(b"hunter2")],
        };
        let printed = format!("{req:?}");
        assert!(!printed.contains("hunter2") && !printed.contains("alice"));
    }

    #[test]
    fn replies_are_checked_frame_by_frame() {
        let ok = ZapReply::parse(&reply(b"200")).unwrap();
        assert_eq!((ok.status, ok.user_id.as_ref()), (200, &b"alice"[..]));
        assert_eq!(ZapReply::parse(&reply(b"400")).unwrap().status, 400);
        assert!(ZapReply::parse(&reply(b"201")).is_err());
        assert!(ZapReply::parse(&reply(b"200")[..6]).is_err());
        let mut bad_version = reply(b"200");
        bad_version[1] = Bytes::from_static(b"2.0");
        assert!(ZapReply::parse(&bad_version).is_err());
        let mut bad_id = reply(b"200");
        bad_id[2] = Bytes::from_static(b"7");
        assert!(ZapReply::parse(&bad_id).is_err());
    }
}

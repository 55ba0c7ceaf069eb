//! CURVE MESSAGE boxes, once the handshake is done (RFC 26; libzmq's layout in
//! docs/security.md §3): `07 'MESSAGE' nonce(8) box(flags(1) payload)`, with the flags
//! byte's bit 0 as MORE and bit 1 as COMMAND, boxed between the two short-term keys.

use std::ops::Range;

use crypto_secretbox::{Key, Tag};

use super::message_box::MessageBox;
use super::{next_nonce, short_nonce, TAG_LEN};
use crate::error::{Error, Result};

const MESSAGE: &[u8] = b"\x07MESSAGE";
/// Where the authenticator starts: after the name and the short nonce.
const TAG_AT: usize = MESSAGE.len() + 8;
/// Where the boxed flags byte is.
const FLAGS_AT: usize = TAG_AT + TAG_LEN;

/// The client's MESSAGE nonce prefix; the server's ends in `S`.
pub(crate) const CLIENT_PREFIX: &[u8; 16] = b"CurveZMQMESSAGEC";
/// The server's MESSAGE nonce prefix.
pub(crate) const SERVER_PREFIX: &[u8; 16] = b"CurveZMQMESSAGES";

/// Inner flag: more frames follow.
pub(crate) const MORE: u8 = 0x01;
/// Inner flag: the payload is a command (PING, PONG, SUBSCRIBE, CANCEL), as libzmq tunnels
/// them.
pub(crate) const COMMAND: u8 = 0x02;

/// The traffic state of a CURVE connection: the boxes of each direction under the
/// short-term box key, and both nonce counters.
pub(crate) struct Cipher {
    send: MessageBox,
    recv: MessageBox,
    /// The next nonce we send.
    send_nonce: u64,
    /// The last nonce received; the next must be greater.
    recv_nonce: u64,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cipher")
            .field("send_nonce", &self.send_nonce)
            .field("recv_nonce", &self.recv_nonce)
            .finish_non_exhaustive()
    }
}

impl Cipher {
    /// Bytes a MESSAGE adds to its payload: name, nonce, authenticator, flags.
    pub(crate) const OVERHEAD: usize = FLAGS_AT + 1;

    /// The traffic state under the short-term box key (`key`, which the caller zeroizes).
    pub(crate) fn new(key: &Key, client: bool, send_nonce: u64, recv_nonce: u64) -> Cipher {
        let (send_prefix, recv_prefix) = if client {
            (CLIENT_PREFIX, SERVER_PREFIX)
        } else {
            (SERVER_PREFIX, CLIENT_PREFIX)
        };
        Cipher {
            send: MessageBox::new(key, send_prefix),
            recv: MessageBox::new(key, recv_prefix),
            send_nonce,
            recv_nonce,
        }
    }

    /// Appends the MESSAGE command body for `payload` to `out`: the payload is copied once,
    /// then encrypted where it landed (no zero-filled buffer of its own). On error `out` is
    /// left as it was.
    pub(crate) fn seal_append(
        &mut self,
        flags: u8,
        payload: &[&[u8]],
        out: &mut bytes::BytesMut,
    ) -> Result<()> {
        let short = next_nonce(&mut self.send_nonce)?;
        let start = out.len();
        out.extend_from_slice(MESSAGE);
        out.extend_from_slice(&short);
        out.extend_from_slice(&[0u8; TAG_LEN]);
        out.extend_from_slice(&[flags]);
        for part in payload {
            out.extend_from_slice(part);
        }
        let body = &mut out[start..];
        let (head, boxed) = body.split_at_mut(FLAGS_AT);
        match self.send.seal_in_place(&short, boxed) {
            Ok(tag) => {
                head[TAG_AT..].copy_from_slice(&tag);
                Ok(())
            }
            Err(_) => {
                out.truncate(start);
                Err(Error::Inval("message too large for one CURVE box".into()))
            }
        }
    }

    /// Opens a MESSAGE command body in place. Returns the inner flags (MORE, COMMAND) and
    /// where the payload is in `body`. A nonce not above the last one, a box that does not
    /// open, or anything but a MESSAGE is a protocol error.
    pub(crate) fn open_in_place(&mut self, body: &mut [u8]) -> Result<(u8, Range<usize>)> {
        if body.len() < Self::OVERHEAD || !body.starts_with(MESSAGE) {
            return Err(Error::Proto("expected a CURVE MESSAGE".into()));
        }
        let n = short_nonce(body, MESSAGE.len(), self.recv_nonce)?;
        let (head, boxed) = body.split_at_mut(FLAGS_AT);
        let tag = Tag::clone_from_slice(&head[TAG_AT..FLAGS_AT]);
        self.recv
            .open_in_place(&n.to_be_bytes(), boxed, &tag)
            .map_err(|_| Error::Proto("CURVE MESSAGE box does not open".into()))?;
        self.recv_nonce = n;
        // libzmq reads only the MORE and COMMAND bits.
        Ok((boxed[0] & (MORE | COMMAND), FLAGS_AT + 1..body.len()))
    }
}

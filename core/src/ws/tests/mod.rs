//! The codec against RFC 6455's rules, one test per rule or Autobahn-style case. Every case
//! is decoded whole, byte by byte and in random splits, and must come out the same way.

mod close;
mod codec;
mod fragments;
mod framing;

use bytes::BufMut;

use super::frame::{BINARY, CONTINUATION, PING};
use super::{Codec, Incoming, ProtocolError, Role};

/// A small xorshift generator: the tests need varied data, not unpredictable keys.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

pub(super) const FIN: u8 = 0x80;
/// The key the hand-made client frames are masked with.
const KEY: [u8; 4] = [0x11, 0x8c, 0x5a, 0xe3];

/// A frame as the peer of a codec of `role` sends it: masked towards a server, not towards
/// a client. `b0` is FIN, RSV and the opcode; the length takes its minimal form.
pub(super) fn frame_to(role: Role, b0: u8, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut ext = Vec::new();
    let len7 = if len < 126 {
        len as u8
    } else if len <= 0xFFFF {
        ext.extend_from_slice(&(len as u16).to_be_bytes());
        126
    } else {
        ext.extend_from_slice(&(len as u64).to_be_bytes());
        127
    };
    frame_with_len(role, b0, len7, &ext, payload)
}

/// A frame with the length field written as given (`len7`, then `ext`).
pub(super) fn frame_with_len(role: Role, b0: u8, len7: u8, ext: &[u8], payload: &[u8]) -> Vec<u8> {
    let masked = role == Role::Server;
    let mut out = vec![b0, len7 | if masked { 0x80 } else { 0 }];
    out.extend_from_slice(ext);
    if masked {
        out.extend_from_slice(&KEY);
        // RFC 6455 §5.3, byte by byte: the reference the codec's word-wise unmasking meets.
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ KEY[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// A final binary frame to a codec of `role`.
pub(super) fn binary(role: Role, payload: &[u8]) -> Vec<u8> {
    frame_to(role, FIN | BINARY, payload)
}

/// `payload` cut into `sizes` fragments (the last takes the rest), to a codec of `role`.
pub(super) fn fragmented(role: Role, payload: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = payload;
    for (i, &n) in sizes.iter().enumerate() {
        let (part, tail) = rest.split_at(n.min(rest.len()));
        rest = tail;
        let opcode = if i == 0 { BINARY } else { CONTINUATION };
        out.extend(frame_to(role, opcode, part));
    }
    out.extend(frame_to(role, FIN | CONTINUATION, rest));
    out
}

/// A ping to a codec of `role`.
pub(super) fn ping(role: Role, payload: &[u8]) -> Vec<u8> {
    frame_to(role, FIN | PING, payload)
}

/// A codec of `role` whose client keys count up from 1, the same on every run.
pub(super) fn codec(role: Role, max: Option<usize>) -> Codec {
    match role {
        Role::Server => Codec::server(max),
        Role::Client => {
            let mut n = 0u32;
            Codec::client(max, move || {
                n = n.wrapping_mul(0x9E37_79B9).wrapping_add(1);
                n
            })
        }
    }
}

/// What decoding a byte stream gave: everything polled in order, the error that ended it,
/// and what the codec queued to send meanwhile (pongs, closes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Outcome {
    pub(super) items: Vec<Incoming>,
    pub(super) error: Option<ProtocolError>,
    pub(super) sent: Vec<u8>,
}

/// Feeds `wire` in pieces of the given sizes (the rest at the end), read into the codec's
/// input buffer as a transport would, polling after each.
fn feed(
    role: Role,
    max: Option<usize>,
    wire: &[u8],
    sizes: &mut dyn Iterator<Item = usize>,
) -> Outcome {
    let mut c = codec(role, max);
    let mut out = Outcome {
        items: Vec::new(),
        error: None,
        sent: Vec::new(),
    };
    let mut rest = wire;
    while !rest.is_empty() {
        let n = sizes.next().unwrap_or(rest.len()).clamp(1, rest.len());
        let (piece, tail) = rest.split_at(n);
        rest = tail;
        c.input_buffer(piece.len()).put_slice(piece);
        c.input_added().unwrap();
        if !poll_all(&mut c, &mut out) {
            break;
        }
    }
    out.sent = drain(&mut c);
    out
}

/// Polls until more input is needed; false after an error (checking that it is sticky).
fn poll_all(c: &mut Codec, out: &mut Outcome) -> bool {
    loop {
        match c.poll() {
            Ok(Some(item)) => out.items.push(item),
            Ok(None) => return true,
            Err(e) => {
                assert_eq!(c.poll(), Err(e), "the error is not sticky");
                assert_eq!(c.input_added(), Err(e), "the error is not sticky");
                assert_eq!(c.handle_input(b"\x82\x00"), Err(e));
                assert_eq!(c.error(), Some(e));
                assert!(c.is_closed() && c.close_sent());
                out.error = Some(e);
                return false;
            }
        }
    }
}

/// Everything the codec has to send, written out.
pub(super) fn drain(c: &mut Codec) -> Vec<u8> {
    let mut sent = Vec::new();
    while c.transmit_len() > 0 {
        let chunk = c.transmit_chunk();
        sent.extend_from_slice(chunk);
        let n = chunk.len();
        c.advance_transmit(n);
    }
    sent
}

/// Decodes `wire` with a codec of `role`: whole, byte by byte (up to 200 kB), and in random
/// splits. All must agree (frames are checked as their bytes arrive, in a fixed order);
/// returns their outcome.
pub(super) fn decode_limited(role: Role, max: Option<usize>, wire: &[u8]) -> Outcome {
    let whole = feed(role, max, wire, &mut std::iter::empty());
    if wire.len() <= 200_000 {
        let bytes = feed(role, max, wire, &mut std::iter::repeat(1));
        assert_eq!(bytes, whole, "byte-at-a-time feeding differs");
    }
    let mut rng = Rng::new(wire.len() as u64 + 7);
    for _ in 0..4 {
        let limit = 1 + rng.next() % 300;
        let mut sizes = std::iter::from_fn(|| Some((rng.next() % limit) as usize + 1));
        let split = feed(role, max, wire, &mut sizes);
        assert_eq!(split, whole, "random splits differ");
    }
    whole
}

/// [`decode_limited`] without a message size limit.
pub(super) fn decode(role: Role, wire: &[u8]) -> Outcome {
    decode_limited(role, None, wire)
}

/// The binary messages of an outcome.
pub(super) fn messages(o: &Outcome) -> Vec<&[u8]> {
    o.items
        .iter()
        .filter_map(|i| match i {
            Incoming::Message(m) => Some(&m[..]),
            _ => None,
        })
        .collect()
}

/// What the peer sees of the frames a codec of `role` sent: decoded by a codec of the other
/// role (so a client's frames must be masked and a server's not).
pub(super) fn as_peer_sees(role: Role, sent: &[u8]) -> Outcome {
    let peer = match role {
        Role::Server => Role::Client,
        Role::Client => Role::Server,
    };
    feed(peer, None, sent, &mut std::iter::empty())
}

/// The close frame the peer sees, as `(code, reason)`.
pub(super) fn close_seen(role: Role, sent: &[u8]) -> Option<(Option<u16>, String)> {
    as_peer_sees(role, sent)
        .items
        .into_iter()
        .find_map(|i| match i {
            Incoming::Close { code, reason } => Some((code, reason)),
            _ => None,
        })
}

/// Both roles, for tests that hold for each.
pub(super) const ROLES: [Role; 2] = [Role::Server, Role::Client];

/// Checks that `wire` fails a codec of `role` with `error`, answered by a close frame with
/// the error's code, whatever the split.
pub(super) fn assert_fails(role: Role, wire: &[u8], error: ProtocolError, code: u16) {
    let o = decode(role, wire);
    assert_eq!(o.error, Some(error), "{role:?}: {o:?}");
    assert_eq!(error.close_code(), code);
    let close = close_seen(role, &o.sent).map(|(code, _)| code);
    assert_eq!(close, Some(Some(code)), "{role:?}: the close frame sent");
}

// Run from the repository root:
//   RUSTC_BOOTSTRAP=1 cargo fuzz run ws_frames -- -max_total_time=60
//
// Feeds arbitrary bytes to a server-role and a client-role WebSocket codec (RFC 6455
// framing, isomq_core::ws), each twice: whole, and cut at arbitrary points and read into the
// codec's input buffer as a transport does, its output written after each piece. Checks
// that nothing panics, that both feedings give the same messages, events, error and output
// but for the pongs (frames are checked as their bytes arrive, in a fixed order; pongs
// depend on when output is written, RFC 6455 §5.5.3), that an error is sticky, and that
// everything the codec sends (messages echoed back, pongs, closes) is valid framing to a
// codec of the other role, its pongs answering pings in order, the last one included.
// The first two input bytes choose the setup:
//   [0] bit 7: a message size limit of (bits 0-6) * 8 bytes;
//   [1] seed for the chunk sizes.
#![no_main]

use std::io::IoSlice;

use bytes::BufMut;
use isomq_core::ws::{Codec, Incoming, ProtocolError, Role};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, PartialEq)]
struct Outcome {
    items: Vec<Incoming>,
    error: Option<ProtocolError>,
    sent: Vec<u8>,
}

fn codec(role: Role, max: Option<usize>) -> Codec {
    match role {
        Role::Server => Codec::server(max),
        Role::Client => {
            let mut n = 0u32;
            Codec::client(max, move || {
                n = n.wrapping_add(0x9E37_79B9);
                n
            })
        }
    }
}

/// Writes out what the codec has to send through `transmit_slices`, as a `writev` would.
fn drain(c: &mut Codec, sent: &mut Vec<u8>) {
    while c.transmit_len() > 0 {
        let before = c.transmit_len();
        let mut slices = [IoSlice::new(&[]); 4];
        let n = c.transmit_slices(&mut slices);
        assert!(n > 0, "pending output but no slice");
        let mut written = 0;
        for s in &slices[..n] {
            assert!(!s.is_empty(), "an empty slice was produced");
            sent.extend_from_slice(s);
            written += s.len();
        }
        c.advance_transmit(written);
        // Once a pong is written, the one due for a later ping may be queued: at most a
        // pong frame more (2-byte header, a client's 4-byte mask, 125 bytes).
        let after = c.transmit_len();
        assert!(after >= before - written && after - (before - written) <= 131);
    }
}

/// Polls until more input is needed; false once the codec failed.
fn poll_all(c: &mut Codec, out: &mut Outcome) -> bool {
    loop {
        match c.poll() {
            Ok(Some(item)) => {
                if let Incoming::Message(m) = &item {
                    // Echoed, so the encoder runs on fuzzed input too; refused after a close.
                    let echoed = c.send_binary_bytes(m.clone()).is_ok();
                    assert_eq!(echoed, !c.close_sent());
                }
                out.items.push(item);
            }
            Ok(None) => return true,
            Err(e) => {
                assert_eq!(c.poll(), Err(e), "error is not sticky");
                assert_eq!(c.input_added(), Err(e), "error is not sticky");
                assert_eq!(c.handle_input(b"\x82\x00"), Err(e), "error is not sticky");
                assert!(c.is_closed() && c.close_sent());
                assert!(c.send_binary(b"x").is_err());
                out.error = Some(e);
                return false;
            }
        }
    }
}

/// Decodes `input` whole (`seed` none) or in pieces of 1-64 bytes drawn from `seed`.
fn run(role: Role, max: Option<usize>, input: &[u8], seed: Option<u32>) -> Outcome {
    let mut c = codec(role, max);
    let mut out = Outcome {
        items: Vec::new(),
        error: None,
        sent: Vec::new(),
    };
    let mut rest = input;
    let mut seed = seed;
    while !rest.is_empty() {
        let n = match &mut seed {
            None => rest.len(),
            Some(s) => {
                *s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (*s >> 16) as usize % 64 + 1
            }
        };
        let (piece, tail) = rest.split_at(n.min(rest.len()));
        rest = tail;
        c.input_buffer(piece.len()).put_slice(piece);
        if c.input_added().is_err() {
            break;
        }
        let going = poll_all(&mut c, &mut out);
        drain(&mut c, &mut out.sent);
        if !going {
            break;
        }
    }
    c.shrink_idle();
    out
}

/// What the peer of a codec of `role` makes of what it sent: valid frames only, the
/// messages echoed in order, pongs answering pings in order (some skipped while a pong
/// waited, RFC 6455 §5.5.3) and the last ping when nothing ended the input after it.
/// Returns what the peer decoded, pongs left out.
fn check_sent(role: Role, out: &Outcome) -> Vec<Incoming> {
    let peer = match role {
        Role::Server => Role::Client,
        Role::Client => Role::Server,
    };
    let mut c = codec(peer, None);
    c.handle_input(&out.sent).expect("fresh codec");
    let mut echoed = out.items.iter().filter_map(|i| match i {
        Incoming::Message(m) => Some(m),
        _ => None,
    });
    let mut pings = out.items.iter().filter_map(|i| match i {
        Incoming::Ping(p) => Some(p),
        _ => None,
    });
    let (mut seen, mut last_pong) = (Vec::new(), None);
    loop {
        match c.poll() {
            Ok(Some(Incoming::Message(m))) => {
                assert_eq!(Some(&m), echoed.next());
                seen.push(Incoming::Message(m));
            }
            Ok(Some(Incoming::Pong(p))) => {
                assert!(pings.any(|ping| *ping == p), "a pong answering no ping");
                last_pong = Some(p);
            }
            Ok(Some(other)) => seen.push(other),
            Ok(None) => break,
            Err(e) => panic!("the codec sent invalid framing: {e}"),
        }
    }
    let ends_after_ping =
        matches!(out.items.last(), Some(Incoming::Close { .. })) || out.error.is_some();
    let last_ping = out.items.iter().rev().find_map(|i| match i {
        Incoming::Ping(p) => Some(p),
        _ => None,
    });
    if !ends_after_ping {
        assert_eq!(last_ping, last_pong.as_ref(), "the last ping unanswered");
    }
    seen
}

fuzz_target!(|data: &[u8]| {
    let Some((params, input)) = data.split_first_chunk::<2>() else {
        return;
    };
    let max = (params[0] & 0x80 != 0).then(|| usize::from(params[0] & 0x7f) * 8);
    for role in [Role::Server, Role::Client] {
        let whole = run(role, max, input, None);
        let split = run(role, max, input, Some(u32::from(params[1])));
        assert_eq!(
            (&whole.items, whole.error),
            (&split.items, split.error),
            "the split changed what was decoded"
        );
        assert_eq!(
            check_sent(role, &whole),
            check_sent(role, &split),
            "the split changed what was sent, pongs aside"
        );
    }
});

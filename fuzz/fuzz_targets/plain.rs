// Run from the repository root:
//   RUSTC_BOOTSTRAP=1 cargo fuzz run plain -- -max_total_time=60
//
// A PLAIN server (PULL) or client (PUSH) Connection facing a hostile peer, with the server's
// ZAP requests answered as the input says. The first three input bytes choose the setup:
//   [0] bit 0: client side, else server side; bit 1: splice mode, else raw mode; bit 2:
//       answer the ZAP request twice (the second answer must be refused);
//   [1] the ZAP outcome (secure_common::zap_outcome);
//   [2] seed for the chunk sizes and entry points.
// Raw mode: a valid PLAIN greeting, then the rest of the input, delivered in segments cut at
// 0xFF 0xFE (a server answers HELLO only once ZAP has, so INITIATE belongs in a later
// segment). Splice mode: the peer's side of a recorded session, changed by the edits the
// rest of the input encodes (secure_common::splice).
//
// Checked besides "never panics" and "errors are sticky": a PLAIN server completes the
// handshake only after its ZAP handler accepted (RFC 27 status 200; without a handler PLAIN
// fails, as libzmq); a client never asks ZAP.
#![no_main]

use std::sync::OnceLock;

use isomq_core::zap::{ZapOutcome, ZapReply};
use isomq_core::SocketType;
use libfuzzer_sys::fuzz_target;

#[path = "secure_common.rs"]
mod secure_common;
use secure_common::*;

fn plain_server() -> isomq_core::zmtp::Connection {
    connection(
        SocketType::Pull,
        b"",
        isomq_core::security::Security::PlainServer,
        false,
        None,
        SERVER_RNG,
    )
}

fn plain_client() -> isomq_core::zmtp::Connection {
    connection(
        SocketType::Push,
        b"",
        plain_client_security(),
        false,
        None,
        CLIENT_RNG,
    )
}

fn recording() -> &'static Recording {
    static REC: OnceLock<Recording> = OnceLock::new();
    REC.get_or_init(|| {
        record(
            plain_client(),
            plain_server(),
            ZapOutcome::Reply(ZapReply {
                status: 200,
                user_id: bytes::Bytes::from_static(b"admin"),
                metadata: bytes::Bytes::new(),
            }),
        )
    })
}

fn accepts(zap: &ZapOutcome) -> bool {
    matches!(zap, ZapOutcome::Reply(reply) if reply.status == 200)
}

fuzz_target!(|data: &[u8]| {
    let Some((params, rest)) = data.split_first_chunk::<3>() else {
        return;
    };
    let client_side = params[0] & 1 != 0;
    let splice_mode = params[0] & 2 != 0;
    let zap_twice = params[0] & 4 != 0;
    let zap = zap_outcome(params[1]);
    let rec = recording();
    let peer_side = if client_side {
        &rec.server
    } else {
        &rec.client
    };
    let segments = if splice_mode {
        splice(peer_side, rest)
    } else {
        raw_segments("PLAIN", rest)
    };
    let mut conn = if client_side {
        plain_client()
    } else {
        plain_server()
    };
    let report = exercise(&mut conn, &segments, &zap, zap_twice, params[2]);
    if client_side {
        assert!(!report.zap_taken, "a client asked ZAP");
    } else if report.ready {
        assert!(
            report.zap_taken && accepts(&zap),
            "ready without ZAP's consent"
        );
    }
    if splice_mode && rest.is_empty() && (client_side || (accepts(&zap) && !zap_twice)) {
        // Metadata from the handler that does not parse fails the handshake (outcome 6).
        if client_side || params[1] % 8 != 6 {
            assert!(
                report.ready && !report.failed,
                "the recording does not replay"
            );
        }
    }
});

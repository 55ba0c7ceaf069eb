// Run from the repository root:
//   RUSTC_BOOTSTRAP=1 cargo fuzz run curve_client -- -max_total_time=60
//
// A CURVE client Connection (DEALER, fixed keys, a deterministic random source) facing a
// hostile server. The first two input bytes choose the setup:
//   [0] bit 0: splice mode, else raw mode; bit 3: MAXMSGSIZE, bits 4-7 its size in steps of
//       32 bytes;
//   [1] seed for the chunk sizes and entry points.
// Raw mode: a valid CURVE greeting, then the rest of the input, delivered in segments cut at
// 0xFF 0xFE. Splice mode: what a real server wrote in a recorded session (WELCOME, READY,
// MESSAGEs), changed by the edits the rest of the input encodes (secure_common::splice). The
// client's random draws are those of the recording, so its HELLO is the recorded one and an
// unchanged transcript completes the handshake.
//
// Checked besides "never panics" and "errors are sticky": a server without the server's
// secret key never completes the handshake (raw mode never gets Ready), the metadata of a
// completed handshake is the server's, and messages that arrive are the server's own, in
// order, none twice.
#![no_main]

use isomq_core::zap::ZapOutcome;
use isomq_core::SocketType;
use libfuzzer_sys::fuzz_target;

#[path = "secure_common.rs"]
mod secure_common;
use secure_common::*;

fuzz_target!(|data: &[u8]| {
    let Some((params, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let splice_mode = params[0] & 1 != 0;
    let rec = curve_recording();
    let segments = if splice_mode {
        splice(&rec.server, rest)
    } else {
        raw_segments("CURVE", rest)
    };
    let max = max_msg_size(params[0]);
    let mut client = curve_client(max);
    // A client is never asked for ZAP; the outcome is never used.
    let report = exercise(
        &mut client,
        &segments,
        &ZapOutcome::NoHandler,
        false,
        params[1],
    );
    assert!(!report.zap_taken, "a client asked ZAP");
    if !splice_mode {
        assert!(
            !report.ready,
            "a handshake completed without the server's keys"
        );
    }
    if let Some(peer) = &report.peer {
        // The metadata came inside READY's box: it is the server's.
        assert_eq!(peer.socket_type, Some(SocketType::Router));
    }
    assert!(
        is_subsequence(&report.received, &rec.server_msgs),
        "a message the server never sent was delivered"
    );
    if splice_mode && rest.is_empty() && max.is_none() {
        assert!(
            report.ready && !report.failed,
            "the recording does not replay"
        );
        assert_eq!(report.received, rec.server_msgs);
    }
});

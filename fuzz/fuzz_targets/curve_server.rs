// Run from the repository root:
//   RUSTC_BOOTSTRAP=1 cargo fuzz run curve_server -- -max_total_time=60
//
// A CURVE server Connection (ROUTER, fixed keys, a deterministic random source) facing a
// hostile client. The first three input bytes choose the setup:
//   [0] bit 0: splice mode, else raw mode; bit 1: ZAP_ENFORCE_DOMAIN; bit 2: answer the ZAP
//       request twice (the second answer must be refused); bit 3: MAXMSGSIZE, bits 4-7
//       its size in steps of 32 bytes;
//   [1] the ZAP outcome (secure_common::zap_outcome);
//   [2] seed for the chunk sizes and entry points.
// Raw mode: a valid CURVE greeting, then the rest of the input, delivered in segments cut at
// 0xFF 0xFE. Splice mode: what a real client wrote in a recorded session (HELLO, INITIATE,
// MESSAGEs), changed by the edits the rest of the input encodes (secure_common::splice), so
// that the fuzzer reaches the code behind the boxes. The server's random draws are those of
// the recording, so an unchanged transcript completes the handshake.
//
// Checked besides "never panics" and "errors are sticky": without the client's keys no
// handshake completes and ZAP is never asked (raw mode), ZAP is only ever asked about the
// client's key, the metadata of a completed handshake is the client's, and messages that
// arrive are the client's own, in order, none twice (a subsequence of what it sent).
#![no_main]

use isomq_core::SocketType;
use libfuzzer_sys::fuzz_target;

#[path = "secure_common.rs"]
mod secure_common;
use secure_common::*;

fuzz_target!(|data: &[u8]| {
    let Some((params, rest)) = data.split_first_chunk::<3>() else {
        return;
    };
    let splice_mode = params[0] & 1 != 0;
    let enforce = params[0] & 2 != 0;
    let zap_twice = params[0] & 4 != 0;
    let zap = zap_outcome(params[1]);
    let rec = curve_recording();
    let segments = if splice_mode {
        splice(&rec.client, rest)
    } else {
        raw_segments("CURVE", rest)
    };
    let max = max_msg_size(params[0]);
    let mut server = curve_server(enforce, max);
    let report = exercise(&mut server, &segments, &zap, zap_twice, params[2]);
    if !splice_mode {
        assert!(
            !report.ready,
            "a handshake completed without the client's keys"
        );
        assert!(
            report.zap_credentials.is_empty(),
            "ZAP asked without a vouch"
        );
    }
    // INITIATE's box and vouch bind the key ZAP sees to the client that made C'.
    for credentials in &report.zap_credentials {
        assert_eq!(
            credentials,
            &[client_public_key()],
            "ZAP asked about another key"
        );
    }
    if let Some(peer) = &report.peer {
        assert!(report.zap_taken, "ready without asking ZAP");
        // The metadata came inside INITIATE's box: it is the client's.
        assert_eq!(peer.socket_type, Some(SocketType::Dealer));
        assert_eq!(&peer.identity[..], b"client-id");
    }
    assert!(
        is_subsequence(&report.received, &rec.client_msgs),
        "a message the client never sent was delivered"
    );
    if splice_mode
        && rest.is_empty()
        && max.is_none()
        && !enforce
        && !zap_twice
        && params[1] % 8 <= 2
    {
        assert!(
            report.ready && !report.failed,
            "the recording does not replay"
        );
        assert_eq!(report.received, rec.client_msgs);
    }
});

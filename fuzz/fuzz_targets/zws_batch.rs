// Run from the repository root:
//   RUSTC_BOOTSTRAP=1 cargo fuzz run zws_batch -- -max_total_time=60
//
// Feeds arbitrary WebSocket message payloads to a ZWS Connection speaking isomq's batch
// extension (docs/wire.md §10.9) and drains everything it produces. The input is split into
// payloads at 0xFF 0xFE marker pairs. The first two input bytes choose the setup:
//   [0] local socket type (mod 11); bit 7: the client (which waits for the server's first
//       message and may fall back to ZWS 2.0) instead of the server;
//   [1] bit 7: MAXMSGSIZE = (bits 0-5) * 4; bit 6: prepend a valid READY from a compatible
//       peer, so the fuzzer spends its time on traffic.
// Messages received are sent back, so the packer runs on fuzzed input too; every batch it
// seals must pass the receiver's own check.
#![no_main]

use isomq_core::zmtp::{ready_frame, Config};
use isomq_core::zws::batch::{check, BATCH_LIMIT};
use isomq_core::zws::{Connection, Subprotocol};
use isomq_core::SocketType;
use libfuzzer_sys::fuzz_target;

#[path = "zws_common.rs"]
mod zws_common;

fuzz_target!(|data: &[u8]| {
    let Some((params, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let local = SocketType::ALL[usize::from(params[0] & 0x7f) % SocketType::ALL.len()];
    let mut config = Config::new(local);
    if params[1] & 0x80 != 0 {
        config.max_msg_size = Some(u64::from(params[1] & 0x3f) * 4);
    }
    let mut conn = if params[0] & 0x80 != 0 {
        Connection::client(config, Subprotocol::Batch)
    } else {
        Connection::new(config, Subprotocol::Batch)
    };
    let mut payloads: Vec<Vec<u8>> = Vec::new();
    if params[1] & 0x40 != 0 {
        if let Some(peer) = SocketType::ALL
            .into_iter()
            .find(|&t| local.is_compatible(t))
        {
            payloads.push(ready_frame(peer, b"peer"));
        }
    }
    zws_common::split_payloads(rest, &mut payloads);
    zws_common::exercise(&mut conn, payloads, b"\x00\x00", |sub, out| {
        if sub == Subprotocol::Batch {
            let frames = check(out, None).expect("a sealed batch is malformed");
            assert!(
                frames == 1 || out.len() <= BATCH_LIMIT,
                "batch over the limit"
            );
        }
    });
});

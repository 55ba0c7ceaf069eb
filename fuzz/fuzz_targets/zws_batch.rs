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

use bytes::Bytes;
use isomq_core::zmtp::{ready_frame, Config};
use isomq_core::zws::batch::{check, BATCH_LIMIT};
use isomq_core::zws::{Connection, Subprotocol};
use isomq_core::SocketType;
use libfuzzer_sys::fuzz_target;

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
        if let Some(peer) = SocketType::ALL.into_iter().find(|&t| local.is_compatible(t)) {
            payloads.push(ready_frame(peer, b"peer"));
        }
    }
    let mut cur = Vec::new();
    let mut i = 0;
    while i < rest.len() {
        if rest[i] == 0xFF && rest.get(i + 1) == Some(&0xFE) {
            payloads.push(std::mem::take(&mut cur));
            i += 2;
        } else {
            cur.push(rest[i]);
            i += 1;
        }
    }
    payloads.push(cur);

    for p in payloads {
        if conn.handle_message(Bytes::from(p)).is_err() {
            assert!(
                conn.handle_message(Bytes::from_static(b"\x00\x00")).is_err(),
                "error is not sticky"
            );
            assert!(conn.poll_msg().is_err(), "error is not sticky");
            assert!(!conn.is_ready());
            return;
        }
        while conn.poll_event().is_some() {}
        loop {
            match conn.poll_msg() {
                Ok(Some(msg)) => conn.send_msg(&msg),
                Ok(None) => break,
                Err(_) => {
                    assert!(conn.poll_msg().is_err(), "error is not sticky");
                    return;
                }
            }
        }
        let batch = conn.subprotocol() == Subprotocol::Batch;
        let mut left = conn.transmit_len();
        while let Some(out) = conn.poll_transmit() {
            assert!(!out.is_empty(), "an empty payload was produced");
            if batch {
                let frames = check(&out, None).expect("a sealed batch is malformed");
                assert!(frames == 1 || out.len() <= BATCH_LIMIT, "batch over the limit");
            }
            left -= out.len();
            assert_eq!(conn.transmit_len(), left);
        }
        assert_eq!(left, 0);
    }
});

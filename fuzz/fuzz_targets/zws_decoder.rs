// Run from the repository root:
//   RUSTC_BOOTSTRAP=1 cargo fuzz run zws_decoder -- -max_total_time=60
//
// Feeds arbitrary WebSocket message payloads to a ZWS Connection and drains everything it
// produces. The input is split into payloads at 0xFF 0xFE marker pairs. The first two input
// bytes choose the setup:
//   [0] local socket type (mod 11); bit 7: bare ZWS2.0 instead of ZWS2.0/NULL;
//   [1] bit 7: MAXMSGSIZE = (bits 0-5) * 4; bit 6: prepend a valid READY (or routing id)
//       from a compatible peer, so the fuzzer spends its time on traffic.
// Messages received are sent back, so the encoder runs on fuzzed input too.
#![no_main]

use bytes::Bytes;
use isomq_core::zmtp::{ready_frame, Config};
use isomq_core::zws::{Connection, Subprotocol};
use isomq_core::SocketType;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((params, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let local = SocketType::ALL[usize::from(params[0] & 0x7f) % SocketType::ALL.len()];
    let sub = if params[0] & 0x80 != 0 {
        Subprotocol::Bare
    } else {
        Subprotocol::Null
    };
    let mut config = Config::new(local);
    if params[1] & 0x80 != 0 {
        config.max_msg_size = Some(u64::from(params[1] & 0x3f) * 4);
    }
    let mut conn = Connection::new(config, sub);
    let mut payloads: Vec<Vec<u8>> = Vec::new();
    if params[1] & 0x40 != 0 {
        match sub {
            Subprotocol::Bare => payloads.push(b"\x00peer".to_vec()),
            // The batch extension has a target of its own (zws_batch).
            Subprotocol::Null | Subprotocol::Batch => {
                if let Some(peer) = SocketType::ALL
                    .into_iter()
                    .find(|&t| local.is_compatible(t))
                {
                    let mut ready = vec![0x02];
                    ready.extend_from_slice(&ready_frame(peer, b"peer")[2..]);
                    payloads.push(ready);
                }
            }
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
                conn.handle_message(Bytes::from_static(b"\x00x")).is_err(),
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
        let mut left = conn.transmit_len();
        while let Some(out) = conn.poll_transmit() {
            assert!(!out.is_empty(), "an empty payload was produced");
            left -= out.len();
            assert_eq!(conn.transmit_len(), left);
        }
        assert_eq!(left, 0);
    }
});

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

use isomq_core::zmtp::{ready_frame, Config};
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
            // The batch extension has a target of its own (zws_batch), the mechanisms too
            // (curve_server, curve_client, plain): this target runs NULL only.
            _ => {
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
    zws_common::split_payloads(rest, &mut payloads);
    zws_common::exercise(&mut conn, payloads, b"\x00x", |_, _| {});
});

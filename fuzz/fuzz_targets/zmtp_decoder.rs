// Run from the repository root:
//   RUSTC_BOOTSTRAP=1 cargo fuzz run zmtp_decoder -- -max_total_time=60
//
// Feeds arbitrary bytes, cut at arbitrary points, to a ZMTP Connection and drains everything
// it produces. The first three input bytes choose the setup:
//   [0] local socket type (mod 11);
//   [1] bit 7: MAXMSGSIZE = (bits 0-5) * 16; bit 6: prepend a valid handshake from a compatible
//       peer (so the fuzzer spends its time on traffic frames); bit 5: that peer speaks ZMTP 3.0;
//   [2] seed for the chunk sizes.
// Messages received are sent back, so the encoder runs on fuzzed input too.
#![no_main]

use std::io::IoSlice;

use isomq_core::zmtp::{greeting_bytes, ready_frame, Config, Connection};
use isomq_core::SocketType;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((params, rest)) = data.split_first_chunk::<3>() else {
        return;
    };
    let local = SocketType::ALL[usize::from(params[0]) % SocketType::ALL.len()];
    let mut config = Config::new(local);
    if params[1] & 0x80 != 0 {
        config.max_msg_size = Some(u64::from(params[1] & 0x3f) * 16);
    }
    let mut input = Vec::new();
    if params[1] & 0x40 != 0 {
        let mut greeting = greeting_bytes("NULL", 0);
        if params[1] & 0x20 != 0 {
            greeting[11] = 0;
        }
        input.extend_from_slice(&greeting);
        if let Some(peer) = SocketType::ALL
            .into_iter()
            .find(|&t| local.is_compatible(t))
        {
            input.extend(ready_frame(peer, b"peer"));
        }
    }
    input.extend_from_slice(rest);

    let mut conn = Connection::new(config);
    let mut seed = u32::from(params[2]) | 1;
    let mut fed = 0;
    let mut input = &input[..];
    while !input.is_empty() {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let n = (1 + (seed >> 16) as usize % 97).min(input.len());
        let (chunk, tail) = input.split_at(n);
        input = tail;
        fed += n;
        if conn.handle_input(chunk).is_err() {
            assert!(conn.handle_input(b"x").is_err(), "error is not sticky");
            assert!(conn.poll_msg().is_err(), "error is not sticky");
            return;
        }
        assert!(conn.input_len() <= fed);
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
        drain(&mut conn, seed);
    }
});

/// Writes out pending bytes in uneven steps, checking that the two views of them agree.
fn drain(conn: &mut Connection, seed: u32) {
    while conn.transmit_len() > 0 {
        let (total, first) = {
            let mut slices = [IoSlice::new(&[]); 64];
            let n = conn.transmit_slices(&mut slices);
            assert!(n > 0);
            let total: usize = slices[..n].iter().map(|s| s.len()).sum();
            assert!(total <= conn.transmit_len());
            assert!(n < 64 || total == conn.transmit_len());
            assert_eq!(&*slices[0], conn.transmit_chunk());
            (total, slices[0].len())
        };
        let step = first.min(1 + seed as usize % 1000).min(total);
        let before = conn.transmit_len();
        conn.advance_transmit(step);
        assert_eq!(conn.transmit_len(), before - step);
    }
}

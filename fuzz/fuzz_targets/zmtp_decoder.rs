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
use isomq_core::{Msg, SocketType};
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
    let mut held = Vec::new();
    let mut seed = u32::from(params[2]) | 1;
    let mut fed = 0;
    let mut input = &input[..];
    while !input.is_empty() {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let mut n = (1 + (seed >> 16) as usize % 97).min(input.len());
        // Both ways in: a copy (`handle_input`), or a transport's read straight into the
        // input buffer (at most its spare room), sized by a small `min` so that frames count
        // as large and the buffer-recycling path runs.
        let fed_ok = if seed & 0x100 != 0 {
            let min = 1 + (seed >> 9) as usize % 128;
            let buf = conn.input_buffer(min);
            let spare = buf.capacity() - buf.len();
            assert!(spare > 0, "no room to read into");
            n = n.min(spare);
            buf.extend_from_slice(&input[..n]);
            conn.input_added().is_ok()
        } else {
            conn.handle_input(&input[..n]).is_ok()
        };
        input = &input[n..];
        fed += n;
        if !fed_ok {
            assert!(conn.handle_input(b"x").is_err(), "error is not sticky");
            assert!(conn.poll_msg().is_err(), "error is not sticky");
            return;
        }
        assert!(conn.input_len() <= fed);
        while conn.poll_event().is_some() {}
        loop {
            match conn.poll_msg() {
                Ok(Some(msg)) => {
                    conn.send_msg(&msg);
                    // Held a while, as an application would: its frame shares an input
                    // buffer that must not be reused meanwhile, so its bytes must not change.
                    if held.len() == 8 {
                        let (old, copy): (Msg, Vec<u8>) = held.remove(0);
                        assert_eq!(old.as_slice(), &copy[..], "a held frame changed");
                    }
                    let copy = msg.to_vec();
                    held.push((msg, copy));
                }
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

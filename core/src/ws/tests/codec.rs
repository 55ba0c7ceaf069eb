//! The encoder, round trips between the roles, and the speed and memory rules.

use std::io::IoSlice;

use bytes::Bytes;

use super::*;
use crate::test_alloc::allocations_during;
use crate::Error;

fn other(role: Role) -> Role {
    match role {
        Role::Server => Role::Client,
        Role::Client => Role::Server,
    }
}

#[test]
fn round_trip_between_client_and_server() {
    // RFC 6455 §5.1: the client masks what it sends, the server does not; each refuses the
    // other form, so a round trip proves both sides of the rule.
    let mut rng = Rng::new(42);
    for role in ROLES {
        let mut c = codec(role, None);
        let mut sent = Vec::new();
        for len in [0, 1, 30, 125, 126, 1024, 1025, 65535, 65536, 300_000] {
            let p: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            match len % 3 {
                0 => c.send_binary(&p).unwrap(),
                1 => c.send_binary_bytes(Bytes::from(p.clone())).unwrap(),
                _ => c
                    .send_binary_parts(&p[..1], Bytes::copy_from_slice(&p[1..]))
                    .unwrap(),
            }
            sent.push(p);
        }
        c.send_ping(b"ping").unwrap();
        c.send_close(1000, "done").unwrap();
        let o = decode(other(role), &drain(&mut c));
        assert_eq!(o.error, None, "{role:?}");
        let expect: Vec<&[u8]> = sent.iter().map(|p| &p[..]).collect();
        assert_eq!(messages(&o), expect, "{role:?}");
        let tail = [
            Incoming::Ping(Bytes::from_static(b"ping")),
            Incoming::Close {
                code: Some(1000),
                reason: "done".into(),
            },
        ];
        assert_eq!(&o.items[o.items.len() - 2..], tail);
    }
}

#[test]
fn a_client_masks_with_a_new_key_per_frame() {
    // RFC 6455 §5.3: "The masking key is a 32-bit value chosen at random by the client"
    // for each frame; here the host's closure hands them out.
    let mut keys = vec![0xA1B2_C3D4u32, 0x0102_0304];
    let mut c = Codec::client(None, move || keys.remove(0));
    c.send_binary(b"abcd").unwrap();
    c.send_binary(b"abcd").unwrap();
    let wire = drain(&mut c);
    let expect = |key: [u8; 4]| {
        let mut f = vec![0x82, 0x84];
        f.extend_from_slice(&key);
        f.extend(b"abcd".iter().enumerate().map(|(i, b)| b ^ key[i]));
        f
    };
    let mut both = expect([0xA1, 0xB2, 0xC3, 0xD4]);
    both.extend(expect([1, 2, 3, 4]));
    assert_eq!(wire, both);
}

#[test]
fn headers_take_the_minimal_length_form() {
    // RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode the length".
    for (len, header) in [
        (125, &[0x82, 125][..]),
        (126, &[0x82, 126, 0, 126]),
        (65535, &[0x82, 126, 0xFF, 0xFF]),
        (65536, &[0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
    ] {
        let mut c = Codec::server(None);
        c.send_binary(&vec![0; len]).unwrap();
        assert_eq!(&drain(&mut c)[..header.len()], header, "{len}");
    }
}

#[test]
fn small_messages_leave_in_one_write_and_large_ones_are_shared() {
    // docs/architecture.md §7.3: small frames batched, large payloads queued as they are.
    let mut c = Codec::server(None);
    c.send_binary(b"one").unwrap();
    c.send_binary(b"two").unwrap();
    let big = Bytes::from(vec![5u8; 4096]);
    c.send_binary_parts(&[0x00], big.clone()).unwrap();
    c.send_binary(b"three").unwrap();
    let mut slices = [IoSlice::new(&[]); 8];
    let n = c.transmit_slices(&mut slices);
    assert_eq!(n, 3);
    assert_eq!(
        &slices[0][..],
        b"\x82\x03one\x82\x03two\x82\x7e\x10\x01\x00"
    );
    assert_eq!(
        slices[1].as_ptr(),
        big.as_ptr(),
        "the large payload was copied"
    );
    assert_eq!(&slices[2][..], b"\x82\x05three");
    assert_eq!(c.transmit_len(), 5 + 5 + 5 + 4096 + 7);
    // Partial writes.
    c.advance_transmit(12);
    assert_eq!(c.transmit_chunk(), b"\x10\x01\x00");
    c.advance_transmit(3 + 4000);
    assert_eq!(c.transmit_chunk().len(), 96);
    c.advance_transmit(96 + 7);
    assert_eq!((c.transmit_len(), c.transmit_chunk()), (0, &b""[..]));
}

#[test]
fn send_ping_checks_its_payload() {
    // RFC 6455 §5.5: control payloads of 125 bytes or less.
    for role in ROLES {
        let mut c = codec(role, None);
        assert!(matches!(c.send_ping(&[0; 126]), Err(Error::Inval(_))));
        c.send_ping(&[0; 125]).unwrap();
    }
}

#[test]
fn buffers_start_empty_and_shrink_when_idle() {
    // The native ws:// engine held ~146 KiB per idle connection; this codec holds nothing
    // until traffic comes, and gives it back once quiet.
    for role in ROLES {
        let mut c = codec(role, None);
        assert_eq!(c.capacity(), 0);
        let mut wire = binary(role, &vec![1; 200_000]);
        wire.extend(frame_to(role, BINARY, &[2; 5000]));
        c.input_buffer(wire.len()).put_slice(&wire);
        c.input_added().unwrap();
        assert!(matches!(c.poll(), Ok(Some(Incoming::Message(_)))));
        assert_eq!(c.poll(), Ok(None));
        c.send_binary(&vec![3; 100_000]).unwrap();
        drain(&mut c);
        c.shrink_idle();
        // The open message keeps its 5000 bytes; everything else is freed.
        assert!(c.capacity() <= 5000 + 256, "{role:?}: {}", c.capacity());
        c.handle_input(&frame_to(role, FIN | CONTINUATION, b""))
            .unwrap();
        assert!(matches!(c.poll(), Ok(Some(Incoming::Message(m))) if m.len() == 5000));
        // A few bytes of the next frame are kept, in a buffer of their size.
        c.handle_input(&binary(role, b"next")[..3]).unwrap();
        assert_eq!(c.poll(), Ok(None));
        c.shrink_idle();
        assert!(c.capacity() <= 256, "{role:?}: {}", c.capacity());
    }
}

#[test]
fn small_messages_do_not_allocate_in_steady_state() {
    // docs/architecture.md §7.2: no heap allocation per small message, counted.
    for role in ROLES {
        let mut tx = codec(role, None);
        let mut rx = codec(other(role), None);
        let mut wire = Vec::with_capacity(1 << 16);
        let mut round = |tx: &mut Codec, rx: &mut Codec| {
            for i in 0..100u8 {
                tx.send_binary(&[i; 40]).unwrap();
            }
            tx.send_ping(b"hb").unwrap();
            wire.clear();
            while tx.transmit_len() > 0 {
                wire.extend_from_slice(tx.transmit_chunk());
                tx.advance_transmit(tx.transmit_chunk().len());
            }
            rx.input_buffer(wire.len()).put_slice(&wire);
            rx.input_added().unwrap();
            let mut n = 0;
            while let Some(item) = rx.poll().unwrap() {
                n += usize::from(matches!(item, Incoming::Message(m) if m.len() == 40));
            }
            rx.advance_transmit(rx.transmit_len());
            assert_eq!(n, 100);
        };
        for _ in 0..3 {
            round(&mut tx, &mut rx);
        }
        let allocations = allocations_during(|| {
            for _ in 0..10 {
                round(&mut tx, &mut rx);
            }
        });
        assert_eq!(allocations, 0, "{role:?}");
    }
}

#[test]
fn a_codec_can_move_to_an_io_thread() {
    fn send<T: Send>(_: &T) {}
    send(&Codec::server(None));
    send(&Codec::client(None, || 7));
}

#[test]
fn partial_vectored_writes_deliver_every_byte_in_order() {
    // A writev that takes any number of bytes, across batch and shared chunks.
    let mut rng = Rng::new(7);
    for role in ROLES {
        let mut c = codec(role, None);
        let mut peer = codec(other(role), None);
        let mut sent = Vec::new();
        for _ in 0..200 {
            let p: Vec<u8> = (0..rng.next() % 5000).map(|_| rng.next() as u8).collect();
            c.send_binary_bytes(Bytes::from(p.clone())).unwrap();
            sent.push(p);
            while c.transmit_len() > 0 && rng.next() % 3 == 0 {
                let mut budget = (rng.next() % 3000) as usize;
                let mut written = 0;
                let mut slices = [IoSlice::new(&[]); 3];
                let n = c.transmit_slices(&mut slices);
                for s in &slices[..n] {
                    let take = budget.min(s.len());
                    peer.handle_input(&s[..take]).unwrap();
                    budget -= take;
                    written += take;
                }
                c.advance_transmit(written);
            }
        }
        peer.handle_input(&drain(&mut c)).unwrap();
        let got: Vec<_> = std::iter::from_fn(|| peer.poll().unwrap()).collect();
        let expect: Vec<_> = sent
            .into_iter()
            .map(|p| Incoming::Message(Bytes::from(p)))
            .collect();
        assert_eq!(got, expect, "{role:?}");
    }
}

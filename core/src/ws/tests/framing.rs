//! Frame headers: lengths, masking per role, RSV bits, opcodes, control frame limits.

use bytes::Bytes;

use super::*;
use crate::ws::frame::{CLOSE, PONG, TEXT};

#[test]
fn every_length_encoding_boundary() {
    // RFC 6455 §5.2: 0-125 in 7 bits; 126 then 16 bits; 127 then 64 bits.
    for role in ROLES {
        for len in [0, 1, 125, 126, 127, 65535, 65536, 1 << 20] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 31 + len) as u8).collect();
            let wire = binary(role, &payload);
            let o = decode(role, &wire);
            assert_eq!(o.error, None, "{role:?} {len}");
            assert_eq!(messages(&o), [&payload[..]], "{role:?} {len}");
            assert!(o.sent.is_empty());
        }
    }
}

#[test]
fn non_minimal_lengths_are_accepted() {
    // RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode the length" binds
    // the sender; the codec takes the longer forms, as most receivers do.
    for role in ROLES {
        let mut wire = frame_with_len(role, FIN | BINARY, 126, &[0, 5], b"hello");
        wire.extend(frame_with_len(
            role,
            FIN | BINARY,
            127,
            &200u64.to_be_bytes(),
            &[7; 200],
        ));
        wire.extend(frame_with_len(role, FIN | PING, 126, &[0, 2], b"hi"));
        let o = decode(role, &wire);
        assert_eq!(o.error, None);
        assert_eq!(messages(&o), [&b"hello"[..], &[7; 200][..]]);
        assert_eq!(
            o.items.last(),
            Some(&Incoming::Ping(Bytes::from_static(b"hi")))
        );
    }
}

#[test]
fn a_64_bit_length_with_its_top_bit_set_is_refused() {
    // RFC 6455 §5.2: "the most significant bit MUST be 0".
    for role in ROLES {
        let ext = (1u64 << 63 | 5).to_be_bytes();
        let wire = frame_with_len(role, FIN | BINARY, 127, &ext, b"hello");
        assert_fails(role, &wire, ProtocolError::LengthTopBit, 1002);
    }
}

#[test]
fn a_server_refuses_unmasked_frames() {
    // RFC 6455 §5.1: "The server MUST close the connection upon receiving a frame that is
    // not masked ... a status code of 1002 (protocol error)".
    let wire = frame_to(Role::Client, FIN | BINARY, b"plain");
    assert_fails(Role::Server, &wire, ProtocolError::Unmasked, 1002);
    let wire = frame_to(Role::Client, FIN | PING, b"");
    assert_fails(Role::Server, &wire, ProtocolError::Unmasked, 1002);
}

#[test]
fn a_client_refuses_masked_frames() {
    // RFC 6455 §5.1: "A client MUST close a connection if it detects a masked frame."
    let wire = frame_to(Role::Server, FIN | BINARY, b"masked");
    assert_fails(Role::Client, &wire, ProtocolError::Masked, 1002);
}

#[test]
fn rsv_bits_are_refused() {
    // RFC 6455 §5.2: RSV1-3 "MUST be 0 unless an extension is negotiated that defines
    // meanings for non-zero values"; no extension is negotiated.
    for role in ROLES {
        for bits in 1..8u8 {
            let wire = frame_to(role, FIN | bits << 4 | BINARY, b"x");
            assert_fails(role, &wire, ProtocolError::ReservedBits(bits), 1002);
            let wire = frame_to(role, FIN | bits << 4 | PING, b"x");
            assert_fails(role, &wire, ProtocolError::ReservedBits(bits), 1002);
        }
    }
}

#[test]
fn reserved_opcodes_are_refused() {
    // RFC 6455 §5.2: 0x3-0x7 "reserved for further non-control frames", 0xB-0xF "reserved
    // for further control frames"; §10.7: unknown opcodes fail the connection.
    for role in ROLES {
        for op in (3..=7).chain(0xB..=0xF) {
            let wire = frame_to(role, FIN | op, b"");
            assert_fails(role, &wire, ProtocolError::ReservedOpcode(op), 1002);
            // After a valid message, and with a payload.
            let mut wire = binary(role, b"ok");
            wire.extend(frame_to(role, FIN | op, b"payload"));
            let o = decode(role, &wire);
            assert_eq!(messages(&o), [b"ok"]);
            assert_eq!(o.error, Some(ProtocolError::ReservedOpcode(op)));
        }
    }
}

#[test]
fn text_frames_are_refused_as_unsupported_data() {
    // RFC 6455 §7.4.1: 1003, "received a type of data it cannot accept"; ZWS is binary only
    // (docs/wire.md §10.3).
    for role in ROLES {
        assert_fails(
            role,
            &frame_to(role, FIN | TEXT, b"text"),
            ProtocolError::Text,
            1003,
        );
        // The first fragment of a text message.
        assert_fails(
            role,
            &frame_to(role, TEXT, b"te"),
            ProtocolError::Text,
            1003,
        );
    }
}

#[test]
fn control_frames_over_125_bytes_are_refused() {
    // RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less
    // and MUST NOT be fragmented."
    for role in ROLES {
        for op in [PING, PONG, CLOSE] {
            let mut payload = vec![b'x'; 126];
            payload[..2].copy_from_slice(&1000u16.to_be_bytes());
            let wire = frame_to(role, FIN | op, &payload);
            assert_fails(role, &wire, ProtocolError::ControlTooLong, 1002);
        }
        let o = decode(role, &ping(role, &[9; 125]));
        assert_eq!(o.items, [Incoming::Ping(Bytes::from(vec![9; 125]))]);
        let big = frame_with_len(role, FIN | PING, 127, &(1u64 << 40).to_be_bytes(), b"");
        assert_fails(role, &big, ProtocolError::ControlTooLong, 1002);
    }
}

#[test]
fn fragmented_control_frames_are_refused() {
    // RFC 6455 §5.5: control frames "MUST NOT be fragmented".
    for role in ROLES {
        for op in [PING, PONG, CLOSE] {
            let wire = frame_to(role, op, b"");
            assert_fails(role, &wire, ProtocolError::ControlFragmented, 1002);
        }
    }
}

#[test]
fn a_ping_is_answered_with_a_pong_echoing_its_payload() {
    // RFC 6455 §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in
    // response ... the Pong frame ... MUST have identical Application data".
    for role in ROLES {
        for payload in [&b""[..], b"hello", &[0xAB; 125]] {
            let o = decode(role, &ping(role, payload));
            assert_eq!(o.items, [Incoming::Ping(Bytes::copy_from_slice(payload))]);
            let peer = as_peer_sees(role, &o.sent);
            assert_eq!(peer.error, None);
            assert_eq!(
                peer.items,
                [Incoming::Pong(Bytes::copy_from_slice(payload))]
            );
        }
    }
}

#[test]
fn unsolicited_pongs_are_reported_and_not_answered() {
    // RFC 6455 §5.5.3: "A response to an unsolicited Pong frame is not expected."
    for role in ROLES {
        let o = decode(role, &frame_to(role, FIN | PONG, b"beat"));
        assert_eq!(o.items, [Incoming::Pong(Bytes::from_static(b"beat"))]);
        assert!(o.sent.is_empty());
    }
}

#[test]
fn the_message_size_limit_is_checked_on_the_header() {
    // RFC 6455 §7.4.1: 1009, "a message that is too big for it to process".
    for role in ROLES {
        let o = decode_limited(role, Some(5), &binary(role, b"12345"));
        assert_eq!(messages(&o), [b"12345"]);
        let wire = binary(role, b"123456");
        // Only the header: the payload is refused before it comes.
        let header = &wire[..wire.len() - 6];
        let o = decode_limited(role, Some(5), header);
        assert_eq!(o.error, Some(ProtocolError::TooBig));
        assert_eq!(
            close_seen(role, &o.sent),
            Some((Some(1009), "message too big".into()))
        );
    }
}

#[test]
fn large_frames_are_not_copied() {
    // docs/architecture.md §7.3: a message leaves the input buffer as a slice of it.
    for role in ROLES {
        let payload = vec![0x5A; 100_000];
        let wire = binary(role, &payload);
        let mut c = codec(role, None);
        let buf = c.input_buffer(wire.len());
        buf.put_slice(&wire);
        let base = buf.as_ptr() as usize;
        c.input_added().unwrap();
        let Some(Incoming::Message(m)) = c.poll().unwrap() else {
            panic!("no message");
        };
        assert_eq!(m, payload);
        let at = m.as_ptr() as usize;
        assert!(
            at > base && at < base + wire.len(),
            "{role:?}: the payload was copied"
        );
    }
}

#[test]
fn a_huge_declared_length_is_not_allocated() {
    // A peer announcing 2^40 bytes gets at most 8 MiB of room at a time (as on ZMTP).
    for role in ROLES {
        let wire = frame_with_len(role, FIN | BINARY, 127, &(1u64 << 40).to_be_bytes(), b"abc");
        let mut c = codec(role, None);
        c.handle_input(&wire).unwrap();
        assert_eq!(c.poll(), Ok(None));
        let room = c.input_buffer(4096).capacity();
        assert!(room <= (8 << 20) + wire.len(), "{room}");
    }
}

#[test]
fn a_large_frame_is_read_into_one_buffer() {
    // docs/architecture.md §7.3: once a large frame's header is in, the input buffer makes
    // room for exactly its rest, so the payload is never moved to a larger buffer.
    for role in ROLES {
        let wire = binary(role, &vec![3; 300_000]);
        let mut c = codec(role, None);
        c.input_buffer(100).put_slice(&wire[..100]);
        c.input_added().unwrap();
        let buf = c.input_buffer(100);
        assert_eq!(buf.capacity() - buf.len(), wire.len() - 100);
        let base = buf.as_ptr();
        buf.put_slice(&wire[100..]);
        c.input_added().unwrap();
        let Ok(Some(Incoming::Message(m))) = c.poll() else {
            panic!("no message");
        };
        assert_eq!(m.len(), 300_000);
        let at = m.as_ptr() as usize - base as usize;
        assert!(at <= 14, "{role:?}: the payload moved");
    }
}

#[test]
fn pings_from_a_peer_that_does_not_read_leave_two_pongs_at_most() {
    // RFC 6455 §5.5.3: "If an endpoint receives a Ping frame and has not yet sent Pong
    // frame(s) in response to previous Ping frame(s), the endpoint MAY elect to send a Pong
    // frame for only the most recently processed Ping frame." A peer that pings without
    // reading must not make the output grow: one pong waits, the latest ping's is due.
    for role in ROLES {
        let mut c = codec(role, None);
        for i in 0..1000u32 {
            c.handle_input(&ping(role, &i.to_be_bytes())).unwrap();
            while c.poll().unwrap().is_some() {}
        }
        assert!(
            c.transmit_len() <= 16,
            "{role:?}: {} bytes",
            c.transmit_len()
        );
        // Written out, the first pong makes room for the latest ping's, and no other.
        let peer = as_peer_sees(role, &drain(&mut c));
        assert_eq!(
            peer.items,
            [
                Incoming::Pong(Bytes::copy_from_slice(&0u32.to_be_bytes())),
                Incoming::Pong(Bytes::copy_from_slice(&999u32.to_be_bytes())),
            ],
            "{role:?}"
        );
        // Once everything is written, a ping is answered at once again.
        c.handle_input(&ping(role, b"again")).unwrap();
        c.poll().unwrap();
        let peer = as_peer_sees(role, &drain(&mut c));
        assert_eq!(peer.items, [Incoming::Pong(Bytes::from_static(b"again"))]);
    }
}

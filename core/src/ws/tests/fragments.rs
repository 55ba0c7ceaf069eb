//! Fragmented messages (RFC 6455 §5.4).

use bytes::Bytes;

use super::*;
use crate::ws::frame::PONG;

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 1) as u8).collect()
}

#[test]
fn fragments_are_joined_into_one_message() {
    // RFC 6455 §5.4: "a single message may be sent as ... an initial frame with FIN clear,
    // zero or more frames with FIN clear and the opcode 0, a terminal frame with FIN set and
    // the opcode 0"; the receiver gets the concatenation.
    let p = payload(300);
    let splits: [&[usize]; 5] = [&[150], &[100, 100], &[0, 0, 300], &[1; 299], &[3; 100]];
    for role in ROLES {
        for sizes in splits {
            let o = decode(role, &fragmented(role, &p, sizes));
            assert_eq!(o.error, None, "{role:?} {sizes:?}");
            assert_eq!(messages(&o), [&p[..]], "{role:?} {sizes:?}");
        }
    }
}

#[test]
fn many_fragments_and_one_byte_fragments() {
    for role in ROLES {
        let p = payload(1000);
        let o = decode(role, &fragmented(role, &p, &[1; 999]));
        assert_eq!(messages(&o), [&p[..]]);
        // Empty fragments, and an empty message made of fragments.
        let o = decode(role, &fragmented(role, b"", &[0; 10]));
        assert_eq!(messages(&o), [&b""[..]]);
    }
}

#[test]
fn messages_around_a_fragmented_one_stay_apart() {
    for role in ROLES {
        let mut wire = binary(role, b"before");
        wire.extend(fragmented(role, b"in three parts", &[2, 5]));
        wire.extend(binary(role, b"after"));
        let o = decode(role, &wire);
        assert_eq!(messages(&o), [&b"before"[..], b"in three parts", b"after"]);
    }
}

#[test]
fn control_frames_may_come_between_fragments() {
    // RFC 6455 §5.4: "Control frames MAY be injected in the middle of a fragmented
    // message."
    for role in ROLES {
        let mut wire = frame_to(role, BINARY, b"frag");
        wire.extend(ping(role, b"p1"));
        wire.extend(frame_to(role, CONTINUATION, b"men"));
        wire.extend(frame_to(role, FIN | PONG, b"p2"));
        wire.extend(ping(role, b""));
        wire.extend(frame_to(role, FIN | CONTINUATION, b"ted"));
        let o = decode(role, &wire);
        assert_eq!(o.error, None);
        assert_eq!(
            o.items,
            [
                Incoming::Ping(Bytes::from_static(b"p1")),
                Incoming::Pong(Bytes::from_static(b"p2")),
                Incoming::Ping(Bytes::new()),
                Incoming::Message(Bytes::from_static(b"fragmented")),
            ]
        );
        // Both pings answered, in order, while the message was still open.
        let peer = as_peer_sees(role, &o.sent);
        let pongs = [
            Incoming::Pong(Bytes::from_static(b"p1")),
            Incoming::Pong(Bytes::new()),
        ];
        assert_eq!(peer.items, pongs);
    }
}

#[test]
fn a_continuation_without_a_message_is_refused() {
    // RFC 6455 §5.4: fragments are "an initial frame with FIN clear" and continuations of
    // it; a continuation that continues nothing breaks that (1002).
    for role in ROLES {
        let wire = frame_to(role, FIN | CONTINUATION, b"orphan");
        assert_fails(role, &wire, ProtocolError::ContinuationWithoutStart, 1002);
        let wire = frame_to(role, CONTINUATION, b"orphan");
        assert_fails(role, &wire, ProtocolError::ContinuationWithoutStart, 1002);
        // After a complete fragmented message.
        let mut wire = fragmented(role, b"done", &[2]);
        wire.extend(frame_to(role, FIN | CONTINUATION, b"more"));
        let o = decode(role, &wire);
        assert_eq!(messages(&o), [b"done"]);
        assert_eq!(o.error, Some(ProtocolError::ContinuationWithoutStart));
    }
}

#[test]
fn a_new_message_inside_a_fragmented_one_is_refused() {
    // RFC 6455 §5.4: "The fragments of one message MUST NOT be interleaved between the
    // fragments of another message".
    for role in ROLES {
        let mut wire = frame_to(role, BINARY, b"open");
        wire.extend(binary(role, b"intruder"));
        assert_fails(role, &wire, ProtocolError::MessageInterrupted, 1002);
        let mut wire = frame_to(role, BINARY, b"open");
        wire.extend(frame_to(role, BINARY, b"another start"));
        assert_fails(role, &wire, ProtocolError::MessageInterrupted, 1002);
    }
}

#[test]
fn the_size_limit_counts_every_fragment() {
    // RFC 6455 §7.4.1: 1009 for "a message that is too big": the message, not the frame.
    for role in ROLES {
        let wire = fragmented(role, &payload(10), &[4, 4]);
        let o = decode_limited(role, Some(10), &wire);
        assert_eq!(messages(&o), [&payload(10)[..]]);
        let wire = fragmented(role, &payload(11), &[4, 4]);
        let o = decode_limited(role, Some(10), &wire);
        assert_eq!(o.error, Some(ProtocolError::TooBig));
        assert_eq!(close_seen(role, &o.sent).map(|c| c.0), Some(Some(1009)));
    }
}

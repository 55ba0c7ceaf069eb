//! Close frames and the closing handshake (RFC 6455 §5.5.1, §7).

use bytes::Bytes;

use super::*;
use crate::ws::frame::CLOSE;
use crate::Error;

fn close_to(role: Role, code: u16, reason: &[u8]) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason);
    frame_to(role, FIN | CLOSE, &payload)
}

fn close_item(code: Option<u16>, reason: &str) -> Incoming {
    Incoming::Close {
        code,
        reason: reason.into(),
    }
}

#[test]
fn a_close_is_echoed_with_its_code_and_ends_input() {
    // RFC 6455 §5.5.1: "If an endpoint receives a Close frame and did not previously send a
    // Close frame, the endpoint MUST send a Close frame in response ... typically echos the
    // status code it received".
    for role in ROLES {
        for code in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
        ] {
            let mut wire = close_to(role, code, b"bye");
            // Whatever follows the close is not read.
            wire.extend(binary(role, b"late"));
            let o = decode(role, &wire);
            assert_eq!(o.error, None, "{code}");
            assert_eq!(o.items, [close_item(Some(code), "bye")]);
            assert_eq!(close_seen(role, &o.sent), Some((Some(code), String::new())));
        }
    }
}

#[test]
fn registered_and_private_codes_are_accepted() {
    // RFC 6455 §7.4.2: 3000-3999 registered with IANA, 4000-4999 for private use.
    for role in ROLES {
        for code in [3000, 3999, 4000, 4999] {
            let o = decode(role, &close_to(role, code, b""));
            assert_eq!(o.items, [close_item(Some(code), "")]);
        }
    }
}

#[test]
fn an_empty_close_is_echoed_empty() {
    // RFC 6455 §5.5.1: "The Close frame MAY contain a body"; without one there is no status
    // code (1005 is what an API reports then, §7.1.5, never sent).
    for role in ROLES {
        let o = decode(role, &frame_to(role, FIN | CLOSE, b""));
        assert_eq!(o.items, [close_item(None, "")]);
        assert_eq!(close_seen(role, &o.sent), Some((None, String::new())));
    }
}

#[test]
fn invalid_close_codes_are_refused() {
    // RFC 6455 §7.4.1: 1005, 1006 and 1015 "MUST NOT be set as a status code in a Close
    // control frame"; 1004 is reserved; §7.4.2: 0-999 are not used, 1000-2999 beyond those
    // assigned are reserved. None of them is a valid close (1002).
    for role in ROLES {
        for code in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            let wire = close_to(role, code, b"");
            assert_fails(role, &wire, ProtocolError::CloseCode(code), 1002);
        }
    }
}

#[test]
fn a_one_byte_close_payload_is_refused() {
    // RFC 6455 §5.5.1: a body "MUST be a 2-byte unsigned integer" first.
    for role in ROLES {
        let wire = frame_to(role, FIN | CLOSE, &[0x03]);
        assert_fails(role, &wire, ProtocolError::CloseTooShort, 1002);
    }
}

#[test]
fn a_close_reason_must_be_utf8() {
    // RFC 6455 §5.5.1: the reason's "data is not guaranteed to be human readable" but is
    // UTF-8; §8.1 fails the connection on invalid UTF-8, with 1007 (§7.4.1).
    for role in ROLES {
        for bad in [
            &b"\xff"[..],
            b"ok\xc3",
            b"\xed\xa0\x80",
            b"\xce\xba\xe1\xbd\xb9\xcf",
        ] {
            let wire = close_to(role, 1000, bad);
            assert_fails(role, &wire, ProtocolError::CloseReasonUtf8, 1007);
        }
        let o = decode(role, &close_to(role, 1000, "κόσμε".as_bytes()));
        assert_eq!(o.items, [close_item(Some(1000), "κόσμε")]);
    }
}

#[test]
fn a_local_close_waits_for_the_peers() {
    // RFC 6455 §7.1.2: an endpoint starts the closing handshake with a close frame, then
    // "MUST NOT send any more data frames" (§5.5.1) but still receives until the peer's.
    for role in ROLES {
        let mut c = codec(role, None);
        c.send_close(1001, "going away").unwrap();
        assert!(c.close_sent() && !c.close_received() && !c.is_closed());
        assert_eq!(c.send_binary(b"late"), Err(Error::Fsm));
        assert_eq!(c.send_ping(b""), Err(Error::Fsm));
        assert_eq!(c.send_close(1000, ""), Err(Error::Fsm));
        let sent = drain(&mut c);
        assert_eq!(
            close_seen(role, &sent),
            Some((Some(1001), "going away".into()))
        );
        let mut wire = binary(role, b"still coming");
        wire.extend(ping(role, b"unanswered"));
        wire.extend(close_to(role, 1001, b""));
        c.handle_input(&wire).unwrap();
        let got: Vec<_> = std::iter::from_fn(|| c.poll().unwrap()).collect();
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[0],
            Incoming::Message(Bytes::from_static(b"still coming"))
        );
        assert_eq!(got[2], close_item(Some(1001), ""));
        assert!(c.close_received() && c.is_closed());
        // Neither a pong nor a second close after ours.
        assert_eq!(c.transmit_len(), 0);
        // Input after the close is dropped.
        c.handle_input(&binary(role, b"x")).unwrap();
        assert_eq!((c.poll(), c.input_len()), (Ok(None), 0));
    }
}

#[test]
fn a_peers_close_completes_the_handshake_once_echoed() {
    for role in ROLES {
        let mut c = codec(role, None);
        c.handle_input(&close_to(role, 1000, b"")).unwrap();
        assert_eq!(c.poll(), Ok(Some(close_item(Some(1000), ""))));
        assert!(c.close_received() && c.close_sent() && c.is_closed());
        assert_eq!(c.send_binary(b"x"), Err(Error::Fsm));
        assert_eq!(c.poll(), Ok(None));
    }
}

#[test]
fn send_close_checks_its_arguments() {
    for role in ROLES {
        let mut c = codec(role, None);
        for code in [999, 1005, 1006, 1015, 2000] {
            assert!(matches!(c.send_close(code, ""), Err(Error::Inval(_))));
        }
        assert!(!c.close_sent());
        // RFC 6455 §5.5: 125 bytes at most, 2 of them the code; cut at a character boundary.
        let long = "é".repeat(100);
        c.send_close(4000, &long).unwrap();
        let (code, reason) = close_seen(role, &drain(&mut c)).unwrap();
        assert_eq!((code, reason.len()), (Some(4000), 122));
    }
}

#[test]
fn a_protocol_error_after_a_local_close_sends_no_second_close() {
    for role in ROLES {
        let mut c = codec(role, None);
        c.send_close(1000, "").unwrap();
        let first = drain(&mut c);
        c.handle_input(&frame_to(role, FIN | 0x3, b"")).unwrap();
        assert_eq!(c.poll(), Err(ProtocolError::ReservedOpcode(3)));
        assert_eq!(c.transmit_len(), 0);
        assert!(c.is_closed() && !first.is_empty());
    }
}

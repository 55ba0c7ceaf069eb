//! Hostile input on a listening socket (docs/architecture.md §6.3): every bad
//! connection is closed, the socket keeps serving its other peers, nothing panics.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::time::Duration;

use isomq::{Context, Socket, SocketOption, SocketType};
use isomq_tests::rawzmtp::{assert_closed_by_server, greeting, raw_client, ready};
use isomq_tests::{recv_string, socket};

/// A PULL bound on tcp with a well-behaved PUSH already talking to it.
fn server(ctx: &Context, configure: impl FnOnce(&mut Socket)) -> (Socket, Socket, String) {
    let mut pull = socket(ctx, SocketType::Pull);
    configure(&mut pull);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap().to_owned();
    let mut good = socket(ctx, SocketType::Push);
    good.connect(&ep).unwrap();
    good.send("before").unwrap();
    assert_eq!(recv_string(&mut pull), "before");
    (pull, good, ep)
}

/// The good peer still gets through after the hostile one.
fn assert_still_serving(pull: &mut Socket, good: &mut Socket) {
    good.send("after").unwrap();
    assert_eq!(recv_string(pull), "after");
}

// ZMTP 3.1: "The signature SHALL be ... %xFF padding %x7F". Anything else is not ZMTP.
#[test]
fn bad_greeting_is_closed() {
    let ctx = Context::new();
    let (mut pull, mut good, ep) = server(&ctx, |_| {});
    let mut s = raw_client(&ep);
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert_closed_by_server(s, "bad_greeting_is_closed");
    assert_still_serving(&mut pull, &mut good);
}

// ZMTP 3.1 mechanism must match: a PLAIN client talking to a NULL server is dropped.
#[test]
fn mechanism_mismatch_is_closed() {
    let ctx = Context::new();
    let (mut pull, mut good, ep) = server(&ctx, |_| {});
    let mut s = raw_client(&ep);
    let mut g = greeting();
    g[12..17].copy_from_slice(b"PLAIN");
    s.write_all(&g).unwrap();
    assert_closed_by_server(s, "mechanism_mismatch_is_closed");
    assert_still_serving(&mut pull, &mut good);
}

// libzmq mechanism_t::check_socket_type (RFC 37 table): PULL accepts only PUSH; a
// mismatch closes the connection (libzmq sends no ERROR).
#[test]
fn wrong_socket_type_is_closed() {
    let ctx = Context::new();
    let (mut pull, mut good, ep) = server(&ctx, |_| {});
    let mut s = raw_client(&ep);
    s.write_all(&greeting()).unwrap();
    s.write_all(&ready("PUB", None)).unwrap();
    assert_closed_by_server(s, "wrong_socket_type_is_closed");
    assert_still_serving(&mut pull, &mut good);
}

// ZMQ_MAXMSGSIZE: "Limits the size of the inbound message. If a peer sends a message
// larger than ZMQ_MAXMSGSIZE it is disconnected."
#[test]
fn frame_over_maxmsgsize_is_closed() {
    let ctx = Context::new();
    let (mut pull, mut good, ep) = server(&ctx, |p| {
        p.set_option(SocketOption::MaxMsgSize(Some(100))).unwrap();
    });
    let mut s = raw_client(&ep);
    s.write_all(&greeting()).unwrap();
    s.write_all(&ready("PUSH", None)).unwrap();
    let mut frame = vec![0x02];
    frame.extend_from_slice(&1000u64.to_be_bytes());
    frame.extend_from_slice(&[b'x'; 1000]);
    s.write_all(&frame).unwrap();
    assert_closed_by_server(s, "frame_over_maxmsgsize_is_closed");
    assert_still_serving(&mut pull, &mut good);
    // Nothing of the oversized frame was delivered.
    pull.set_option(SocketOption::RcvTimeout(Some(Duration::from_millis(100))))
        .unwrap();
    assert!(pull.recv().is_err());
}

// ZMTP 3.1 command grammar: "command-body = command-name command-data" with a
// length-prefixed name; a name longer than the frame is malformed → the connection closes.
#[test]
fn garbage_after_handshake_is_closed() {
    let ctx = Context::new();
    let (mut pull, mut good, ep) = server(&ctx, |_| {});
    let mut s = raw_client(&ep);
    s.write_all(&greeting()).unwrap();
    s.write_all(&ready("PUSH", None)).unwrap();
    s.write_all(&[0x00, 0x02, b'o', b'k']).unwrap();
    s.write_all(&[0x04, 0x03, 0x09, b'S', b'U']).unwrap();
    assert_closed_by_server(s, "garbage_after_handshake_is_closed");
    // The valid frame before the garbage was delivered; nothing after it.
    assert_eq!(recv_string(&mut pull), "ok");
    assert_still_serving(&mut pull, &mut good);
}

// ZMQ_HANDSHAKE_IVL: "The maximum time allowed for the ZMTP handshake" — a peer that
// stalls half-way through its greeting is dropped when it expires.
#[test]
fn stalled_handshake_is_closed() {
    let ctx = Context::new();
    let (mut pull, mut good, ep) = server(&ctx, |p| {
        p.set_option(SocketOption::HandshakeIvl(Some(Duration::from_millis(200))))
            .unwrap();
    });
    let mut s = raw_client(&ep);
    s.write_all(&greeting()[..10]).unwrap();
    assert_closed_by_server(s, "stalled_handshake_is_closed");
    assert_still_serving(&mut pull, &mut good);
}

// A frame header announcing 2^62 bytes must not make the receiver allocate that much: the
// decoder waits for the bytes, which never come, and the other peers are unaffected.
#[test]
fn huge_declared_frame_does_not_allocate() {
    let ctx = Context::new();
    let (mut pull, mut good, ep) = server(&ctx, |_| {});
    let mut s = raw_client(&ep);
    s.write_all(&greeting()).unwrap();
    s.write_all(&ready("PUSH", None)).unwrap();
    let mut frame = vec![0x02];
    frame.extend_from_slice(&(1u64 << 62).to_be_bytes());
    frame.extend_from_slice(b"partial");
    s.write_all(&frame).unwrap();
    assert_still_serving(&mut pull, &mut good);
    drop(s);
    assert_still_serving(&mut pull, &mut good);
}

// Many hostile connections at once, of every kind above: the socket survives all.
#[test]
fn flood_of_bad_connections() {
    let ctx = Context::new();
    let (mut pull, mut good, ep) = server(&ctx, |_| {});
    let mut clients = Vec::new();
    for i in 0..50u8 {
        let mut s = raw_client(&ep);
        let junk: Vec<u8> = (0..200u16).map(|j| (j as u8).wrapping_mul(i | 1)).collect();
        let _ = s.write_all(&junk);
        clients.push(s);
    }
    for s in clients {
        assert_closed_by_server(s, "flood_of_bad_connections");
    }
    assert_still_serving(&mut pull, &mut good);
}

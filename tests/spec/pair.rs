//! RFC 31 (EXPAIR) rules for PAIR, over inproc, tcp, ipc and ws.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use isomq::{Context, Error, Flags, SocketOption, SocketType};
use isomq_tests::{bind, recv_string, socket, Transport, ALL};

// RFC 31: "SHALL route outgoing messages to its peer if connected" and receive from it;
// both directions on one connection.
fn both_directions(t: Transport) {
    let ctx = Context::new();
    let mut a = socket(&ctx, SocketType::Pair);
    let ep = bind(&mut a, t);
    let mut b = socket(&ctx, SocketType::Pair);
    b.connect(&ep).unwrap();
    b.send("ping").unwrap();
    assert_eq!(recv_string(&mut a), "ping", "{t:?}");
    a.send_multipart(["po", "ng"]).unwrap();
    let frames = b.recv_multipart().unwrap();
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1].as_slice(), b"ng");
}

#[test]
fn both_directions_all_transports() {
    for t in ALL {
        both_directions(t);
    }
}

// RFC 31: "SHALL NOT accept a second connection" while one is live: the second peer's
// messages never arrive and the first keeps working.
fn second_peer_refused(t: Transport) {
    let ctx = Context::new();
    let mut a = socket(&ctx, SocketType::Pair);
    let ep = bind(&mut a, t);
    let mut b = socket(&ctx, SocketType::Pair);
    b.connect(&ep).unwrap();
    b.send("first").unwrap();
    assert_eq!(recv_string(&mut a), "first");
    let mut c = socket(&ctx, SocketType::Pair);
    c.set_option(SocketOption::SndTimeout(Some(
        std::time::Duration::from_millis(200),
    )))
    .unwrap();
    c.connect(&ep).unwrap();
    let _ = c.send("intruder");
    b.send("second").unwrap();
    assert_eq!(recv_string(&mut a), "second", "{t:?}");
    a.send("to-b").unwrap();
    assert_eq!(recv_string(&mut b), "to-b", "{t:?}");
    assert_eq!(a.recv_flags(Flags::DONTWAIT), Err(Error::Again), "{t:?}");
}

#[test]
fn second_peer_refused_all_transports() {
    for t in ALL {
        second_peer_refused(t);
    }
}

// RFC 31: "SHALL block on sending, or return a suitable error, when it has no connected
// peer."
#[test]
fn no_peer_blocks() {
    let ctx = Context::new();
    let mut a = socket(&ctx, SocketType::Pair);
    bind(&mut a, Transport::Tcp);
    assert_eq!(a.send_flags("x", Flags::DONTWAIT), Err(Error::Again));
}

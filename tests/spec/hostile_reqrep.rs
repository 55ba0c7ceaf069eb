//! Hostile input on the request-reply types, from raw ZMTP peers over tcp: each case has a
//! defined outcome and the socket keeps working (docs/architecture.md §6.3).

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use isomq::{Context, Error, Flags, Msg, SocketOption, SocketType};
use isomq_tests::rawzmtp::{frame, greeting, raw_client, ready};
use isomq_tests::{recv_string, socket, PATIENCE};

/// Reads until `tail` has been received (the stream ends with it).
fn read_until_suffix(s: &mut TcpStream, tail: &[u8]) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.ends_with(tail) {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed before {tail:?} arrived");
        seen.extend_from_slice(&buf[..n]);
    }
}

// docs/wire.md §6.4 (libzmq rep.cpp): a request with no empty delimiter frame is discarded
// silently; the connection stays up and its next, well-formed request is served.
#[test]
fn rep_discards_a_request_without_delimiter() {
    let ctx = Context::new();
    let mut rep = socket(&ctx, SocketType::Rep);
    rep.bind("tcp://127.0.0.1:*").unwrap();
    let ep = rep.last_endpoint().unwrap().to_owned();
    let mut s = raw_client(&ep);
    s.write_all(&greeting()).unwrap();
    s.write_all(&ready("DEALER", Some(b""))).unwrap();
    s.write_all(&frame(0x01, b"no")).unwrap();
    s.write_all(&frame(0x00, b"delimiter")).unwrap();
    s.write_all(&frame(0x01, b"")).unwrap();
    s.write_all(&frame(0x00, b"good")).unwrap();
    assert_eq!(recv_string(&mut rep), "good");
    rep.send("ok").unwrap();
    // The reply carries the envelope back: an empty delimiter, then the body.
    read_until_suffix(&mut s, &[0x01, 0x00, 0x00, 0x02, b'o', b'k']);
}

// libzmq accepts an Identity of any length from READY (mechanism.cpp sets the peer's routing
// id from the property as it is; only ZMQ_ROUTING_ID set locally is limited to 255 bytes).
// A 300-byte identity is used as is, and replies reach that peer.
#[test]
fn router_accepts_an_identity_longer_than_255_bytes() {
    let ctx = Context::new();
    let mut router = socket(&ctx, SocketType::Router);
    router.bind("tcp://127.0.0.1:*").unwrap();
    let ep = router.last_endpoint().unwrap().to_owned();
    let long_id = vec![b'i'; 300];
    let mut s = raw_client(&ep);
    s.write_all(&greeting()).unwrap();
    s.write_all(&ready("DEALER", Some(&long_id))).unwrap();
    s.write_all(&frame(0x00, b"hello")).unwrap();
    let got = router.recv_multipart().unwrap();
    assert_eq!(got[0].as_slice(), &long_id[..]);
    assert_eq!(got[1].as_slice(), b"hello");
    router
        .send_multipart([Msg::from(long_id.clone()), Msg::from("back")])
        .unwrap();
    read_until_suffix(&mut s, &[0x00, 0x04, b'b', b'a', b'c', b'k']);
    // Locally, ROUTING_ID keeps libzmq's 1..255 limit.
    assert!(matches!(
        router.set_option(SocketOption::RoutingId(long_id)),
        Err(Error::Inval(_))
    ));
}

// docs/wire.md §6.4: a reply whose first frame is not an empty delimiter is rejected by
// libzmq's req_session as a protocol error and the connection is closed. isomq: the reply is
// never delivered, the REQ closes that connection, and the process goes on.
#[test]
fn req_closes_a_connection_that_sends_a_malformed_reply() {
    let ctx = Context::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let ep = format!("tcp://{}", listener.local_addr().unwrap());
    let mut req = socket(&ctx, SocketType::Req);
    req.connect(&ep).unwrap();
    req.send("question").unwrap();
    let (mut s, _) = listener.accept().unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.write_all(&greeting()).unwrap();
    s.write_all(&ready("REP", Some(b""))).unwrap();
    // The request arrives behind its delimiter...
    read_until_suffix(&mut s, b"question");
    // ...and the reply comes back without one.
    s.write_all(&frame(0x00, b"malformed")).unwrap();
    // The REQ looks at the reply when asked for it: poll it until the connection closes.
    s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 256];
    loop {
        assert_eq!(req.recv_flags(Flags::DONTWAIT).unwrap_err(), Error::Again);
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
        assert!(
            start.elapsed() < PATIENCE,
            "REQ did not close the connection"
        );
    }
    // The REQ still awaits its reply (a protocol error does not answer a request).
    assert_eq!(req.send("again").unwrap_err(), Error::Fsm);
}

//! wss:// under hostile and heavy use: what is not TLS, a handshake that stalls, a client
//! that never reads, browsers from other origins, and 200 subscribers at once. Each bad
//! client costs only its own connection; the others are served meanwhile.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use isomq::{Context, MonitorEvent, Socket, SocketOption, SocketType};
use isomq_tests::rawws::RawWs;
use isomq_tests::tls::{tls_client, Pki};
use isomq_tests::{expect_event, recv_string, socket, PATIENCE};

/// `127.0.0.1:port` and `/path` of a `wss://` endpoint.
fn split(ep: &str) -> (String, String) {
    let rest = ep.trim_start_matches("wss://");
    let i = rest.find('/').unwrap_or(rest.len());
    (rest[..i].to_owned(), rest[i..].to_owned())
}

/// Reads until the server closes the connection (EOF or reset); panics after PATIENCE.
fn assert_closed_by_server(mut s: TcpStream) {
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
            Err(e) => panic!("the server did not close the connection: {e}"),
        }
    }
}

/// A good client delivers through the same listener: the bad one harmed nobody else.
fn assert_served(ctx: &Context, pki: &Pki, pull: &mut Socket, ep: &str, text: &str) {
    let mut push = socket(ctx, SocketType::Push);
    pki.trust(&mut push);
    push.connect(ep).unwrap();
    push.send(text.as_bytes()).unwrap();
    assert_eq!(recv_string(pull), text);
}

// A TLS server must refuse what is not a TLS record (RFC 8446 §5: an unexpected record is a
// fatal alert): a plaintext ws:// upgrade and random bytes each close that connection, with
// a monitor event, and the port keeps serving.
#[test]
fn plaintext_and_random_bytes_close_that_connection_only() {
    let pki = Pki::localhost();
    let ctx = Context::new();
    let (mut pull, ep) = pki.bound(&ctx, SocketType::Pull, "/jobs");
    let events = pull.monitor();
    let (addr, path) = split(&ep);
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect();
    for bytes in [RawWs::upgrade_request(&addr, &path, Some("ZWS2.0")), random] {
        let mut raw = TcpStream::connect(&addr).unwrap();
        raw.write_all(&bytes).unwrap();
        assert_closed_by_server(raw);
        expect_event(&events, "HandshakeFailed", |e| {
            matches!(e, MonitorEvent::HandshakeFailed { .. })
        });
        assert_served(&ctx, &pki, &mut pull, &ep, "after junk");
    }
}

// Slowloris: half a ClientHello, then silence. HANDSHAKE_IVL counts the TLS handshake too,
// so the connection is closed when it expires; clients arriving meanwhile are served.
#[test]
fn a_stalled_client_hello_times_out_while_others_are_served() {
    let pki = Pki::localhost();
    let ctx = Context::new();
    let mut pull = socket(&ctx, SocketType::Pull);
    pull.set_option(SocketOption::HandshakeIvl(Some(Duration::from_secs(2))))
        .unwrap();
    pki.serve(&mut pull);
    pull.bind("wss://127.0.0.1:*/jobs").unwrap();
    let ep = pull.last_endpoint().unwrap().to_owned();
    let (addr, _) = split(&ep);
    // A handshake record header and the start of a ClientHello (RFC 8446 §4.1.2).
    let mut stalled = TcpStream::connect(&addr).unwrap();
    stalled
        .write_all(&[
            0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03,
        ])
        .unwrap();
    assert_served(&ctx, &pki, &mut pull, &ep, "while one stalls");
    assert_closed_by_server(stalled);
}

// A subscriber that completes TLS and the upgrade, subscribes, and never reads again: its
// pipe fills and PUB drops for it alone (RFC 29), while a subscriber that reads gets every
// message in order.
#[test]
fn a_subscriber_that_never_reads_does_not_hold_up_others() {
    const N: usize = 20_000;
    let pki = Pki::localhost();
    let ctx = Context::new();
    let (mut xpub, ep) = pki.bound(&ctx, SocketType::XPub, "/feed");
    xpub.set_option(SocketOption::XpubVerbose(true)).unwrap();
    let (addr, path) = split(&ep);
    let mut stalled = RawWs::over(tls_client(&pki, &addr));
    stalled
        .stream
        .write_all(&RawWs::<TcpStream>::upgrade_request(
            &addr,
            &path,
            Some("ZWS2.0/NULL"),
        ))
        .unwrap();
    let head = stalled.read_head().unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let mut ready = vec![0x02, 0x05];
    ready.extend_from_slice(b"READY\x0bSocket-Type\x00\x00\x00\x03SUB");
    stalled.send(&ready);
    stalled.send(b"\x00\x01");
    assert_eq!(xpub.recv().unwrap().as_slice(), b"\x01");

    let mut sub = socket(&ctx, SocketType::Sub);
    pki.trust(&mut sub);
    sub.subscribe("").unwrap();
    sub.connect(&ep).unwrap();
    assert_eq!(xpub.recv().unwrap().as_slice(), b"\x01");
    let body = vec![b'x'; 1024];
    for i in 0..N {
        let mut m = i.to_be_bytes().to_vec();
        m.extend_from_slice(&body);
        xpub.send(m.as_slice()).unwrap();
        let got = sub
            .recv()
            .unwrap_or_else(|e| panic!("message {i} did not arrive: {e}"));
        assert_eq!(&got.as_slice()[..8], &i.to_be_bytes(), "message {i}");
    }
    drop(stalled);
}

// The Origin allow-list holds on wss:// as on ws://: an upgrade from another page's origin
// gets 403, an allowed one and one without Origin (not a browser) get 101.
#[test]
fn origin_allow_list_over_wss() {
    let pki = Pki::localhost();
    let ctx = Context::new();
    let mut pull = socket(&ctx, SocketType::Pull);
    pki.serve(&mut pull);
    pull.set_option(SocketOption::WsOrigin(b"https://app.example".to_vec()))
        .unwrap();
    pull.bind("wss://127.0.0.1:*/jobs").unwrap();
    let ep = pull.last_endpoint().unwrap().to_owned();
    let (addr, path) = split(&ep);
    let head = |origin: Option<&str>| {
        let mut request = RawWs::<TcpStream>::upgrade_request(&addr, &path, Some("ZWS2.0"));
        if let Some(origin) = origin {
            let end = request.len() - 2;
            request.splice(end..end, format!("Origin: {origin}\r\n").into_bytes());
        }
        let mut ws = RawWs::over(tls_client(&pki, &addr));
        ws.stream.write_all(&request).unwrap();
        ws.read_head().unwrap_or_default()
    };
    assert!(head(Some("https://evil.example")).starts_with("HTTP/1.1 403"));
    assert!(head(Some("https://app.example")).starts_with("HTTP/1.1 101"));
    assert!(head(None).starts_with("HTTP/1.1 101"));
}

// 200 wss:// subscribers at once: each completes its TLS handshake and receives every
// message, in order.
#[test]
fn two_hundred_wss_subscribers_receive_the_same_messages() {
    const SUBS: usize = 200;
    const M: usize = 50;
    let pki = Pki::localhost();
    let ctx = Context::new();
    let (mut xpub, ep) = pki.bound(&ctx, SocketType::XPub, "/feed");
    xpub.set_option(SocketOption::XpubVerbose(true)).unwrap();
    let mut subs: Vec<Socket> = (0..SUBS)
        .map(|_| {
            let mut s = socket(&ctx, SocketType::Sub);
            pki.trust(&mut s);
            s.subscribe("m").unwrap();
            s.connect(&ep).unwrap();
            s
        })
        .collect();
    // XPUB_VERBOSE passes every subscription on: one per subscriber that is connected.
    for _ in 0..SUBS {
        assert_eq!(xpub.recv().unwrap().as_slice(), b"\x01m");
    }
    for i in 0..M {
        xpub.send(format!("m{i}").as_bytes()).unwrap();
    }
    for s in &mut subs {
        for i in 0..M {
            assert_eq!(recv_string(s), format!("m{i}"));
        }
    }
}

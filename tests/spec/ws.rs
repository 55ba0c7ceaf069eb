//! ws:// (ZWS 2.0, RFC 45) seen from the wire: exact bytes against a hand-written WebSocket
//! peer, hostile input on the listener, and several sockets sharing one port by path.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::net::TcpListener;
use std::time::Duration;

use isomq::{Context, Error, Socket, SocketOption, SocketType};
use isomq_tests::rawws::{split_ws, RawWs, BINARY, PING, PONG, TEXT};
use isomq_tests::{recv_string, socket, PATIENCE};

/// `02 05 'READY' 0b 'Socket-Type' len type`: a NULL READY as a ZWS command message.
fn ready(socket_type: &str) -> Vec<u8> {
    let mut m = vec![0x02, 0x05];
    m.extend_from_slice(b"READY");
    m.push(0x0b);
    m.extend_from_slice(b"Socket-Type");
    m.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
    m.extend_from_slice(socket_type.as_bytes());
    m
}

fn bound(ctx: &Context, t: SocketType, path: &str) -> (Socket, String) {
    let mut s = socket(ctx, t);
    s.bind(&format!("ws://127.0.0.1:*{path}")).unwrap();
    let ep = s.last_endpoint().unwrap().to_owned();
    (s, ep)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

// RFC 45 / docs/wire.md §10.2–§10.5: the server answers exactly `HTTP/1.1 101 Switching
// Protocols` with the first supported token, then sends its READY at once as
// `02 05 'READY' props`; data frames are `flags body` (01 = MORE), subscriptions arrive
// as `00 01 topic` data messages.
#[test]
fn server_handshake_ready_and_framing_bytes() {
    let ctx = Context::new();
    let (mut publisher, ep) = bound(&ctx, SocketType::Pub, "/feed");
    let (head, mut ws) = RawWs::connect(&ep, Some("ZWS1.0, ZWS2.0/NULL, ZWS2.0"));
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head}"
    );
    assert_eq!(header(&head, "Sec-WebSocket-Protocol"), Some("ZWS2.0/NULL"));
    assert_eq!(
        header(&head, "Sec-WebSocket-Accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "RFC 6455 §1.3 example key"
    );
    let first = ws.recv_frame().unwrap();
    assert!(first.fin && first.opcode == BINARY && !first.masked);
    assert_eq!(first.payload, ready("PUB"));

    ws.send(&ready("SUB"));
    ws.send(b"\x00\x01news");
    // The subscription travels asynchronously: publish until it has arrived.
    ws.stream
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        publisher.send("news-probe").unwrap();
        publisher.send("other").unwrap();
        if let Some(m) = ws.recv() {
            assert_eq!(m, b"\x00news-probe");
            break;
        }
        assert!(start.elapsed() < PATIENCE, "subscription never arrived");
    }
    while ws.recv().is_some() {}
    ws.stream.set_read_timeout(Some(PATIENCE)).unwrap();
    publisher.send_multipart(["news-a", "b"]).unwrap();
    assert_eq!(ws.recv().unwrap(), b"\x01news-a");
    assert_eq!(ws.recv().unwrap(), b"\x00b");

    // A WebSocket ping is answered with a pong echoing its payload (RFC 6455 §5.5.2).
    ws.send_frame(true, PING, b"hb");
    let pong = ws.recv_frame().unwrap();
    assert_eq!((pong.opcode, pong.payload.as_slice()), (PONG, &b"hb"[..]));
}

// RFC 45: frames from the client are `flags body`, MORE = 0x01.
#[test]
fn multipart_from_a_raw_client() {
    let ctx = Context::new();
    let (mut pull, ep) = bound(&ctx, SocketType::Pull, "/");
    let (_, mut ws) = RawWs::connect(&ep, Some("ZWS2.0/NULL"));
    assert_eq!(ws.recv().unwrap(), ready("PULL"));
    ws.send(&ready("PUSH"));
    ws.send(b"\x01a");
    ws.send(b"\x00b");
    let parts = pull.recv_multipart().unwrap();
    let parts: Vec<&[u8]> = parts.iter().map(|m| m.as_slice()).collect();
    assert_eq!(parts, [&b"a"[..], b"b"]);
}

// ws_engine select_protocol("ZWS2.0"): no mechanism; the first message each way is the
// routing id (`00 id`).
#[test]
fn bare_zws2_exchanges_routing_ids() {
    let ctx = Context::new();
    let (mut pull, ep) = bound(&ctx, SocketType::Pull, "/bare");
    let (head, mut ws) = RawWs::connect(&ep, Some("ZWS2.0"));
    assert_eq!(header(&head, "Sec-WebSocket-Protocol"), Some("ZWS2.0"));
    assert_eq!(ws.recv().unwrap(), b"\x00");
    ws.send(b"\x00client-id");
    ws.send(b"\x00hello");
    assert_eq!(recv_string(&mut pull), "hello");
}

// docs/wire.md §10.2–§10.5: like libzmq's client, isomq's sends `GET <path> HTTP/1.1`
// offering `ZWS2.0/NULL,ZWS2.0` (behind the batch extension's token, §10.9), masks its
// frames, sends READY at once and subscriptions as `00 01 topic`.
#[test]
fn client_request_and_framing_bytes() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let ctx = Context::new();
    let mut sub = socket(&ctx, SocketType::Sub);
    sub.connect(&format!("ws://127.0.0.1:{port}/a/b")).unwrap();
    sub.subscribe("t").unwrap();
    let (stream, _) = server.accept().unwrap();
    let mut ws = RawWs::accepted(stream);
    let head = ws.read_head().unwrap();
    assert!(head.starts_with("GET /a/b HTTP/1.1\r\n"), "{head}");
    assert_eq!(
        header(&head, "Sec-WebSocket-Protocol"),
        Some("ZWS2.0.isomq-batch1,ZWS2.0/NULL,ZWS2.0")
    );
    let key = header(&head, "Sec-WebSocket-Key").unwrap();
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: ZWS2.0/NULL\r\n\r\n"
    );
    // The READY goes in the same write as the 101, as libzmq's server does.
    let mut out = response.into_bytes();
    out.extend_from_slice(&[0x82, 0x1a]);
    out.extend_from_slice(&ready("PUB"));
    ws.stream.write_all(&out).unwrap();
    let f = ws.recv_frame().unwrap();
    assert!(f.masked && f.fin && f.opcode == BINARY);
    assert_eq!(f.payload, ready("SUB"));
    assert_eq!(ws.recv().unwrap(), b"\x00\x01t");
    ws.send(b"\x00t-1");
    assert_eq!(recv_string(&mut sub), "t-1");
}

/// A PULL bound on ws with a well-behaved PUSH already talking to it.
fn server(ctx: &Context, configure: impl FnOnce(&mut Socket)) -> (Socket, Socket, String) {
    let mut pull = socket(ctx, SocketType::Pull);
    configure(&mut pull);
    pull.bind("ws://127.0.0.1:*/in").unwrap();
    let ep = pull.last_endpoint().unwrap().to_owned();
    let mut good = socket(ctx, SocketType::Push);
    good.connect(&ep).unwrap();
    good.send("before").unwrap();
    assert_eq!(recv_string(&mut pull), "before");
    (pull, good, ep)
}

fn assert_still_serving(pull: &mut Socket, good: &mut Socket) {
    good.send("after").unwrap();
    assert_eq!(recv_string(pull), "after");
}

/// An upgraded raw client that has completed the NULL handshake as a PUSH.
fn pusher(ep: &str) -> RawWs {
    let (_, mut ws) = RawWs::connect(ep, Some("ZWS2.0/NULL"));
    assert_eq!(ws.recv().unwrap(), ready("PULL"));
    ws.send(&ready("PUSH"));
    ws
}

// RFC 45 "Handshake": a server that supports none of the offered protocols closes the
// connection (a BAD REQUEST answer is one of the ways it allows); an unknown path has no
// socket behind it (docs/wire.md §10.2).
#[test]
fn bad_upgrades_are_refused() {
    let ctx = Context::new();
    let (mut pull, mut good, ep) = server(&ctx, |_| {});
    let (addr, path) = split_ws(&ep);
    for (what, request) in [
        (
            "wrong subprotocol",
            RawWs::upgrade_request(&addr, &path, Some("ZWS1.0")),
        ),
        ("no subprotocol", RawWs::upgrade_request(&addr, &path, None)),
        (
            "unknown path",
            RawWs::upgrade_request(&addr, "/nobody", Some("ZWS2.0")),
        ),
        (
            "plain GET",
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes(),
        ),
        (
            "not HTTP",
            b"\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f\r\n\r\n".to_vec(),
        ),
    ] {
        let (head, mut ws) = RawWs::request(&addr, &request);
        assert!(!head.contains(" 101 "), "{what}: {head}");
        ws.assert_closed();
        assert_still_serving(&mut pull, &mut good);
    }
    let (head, _) = RawWs::request(
        &addr,
        &RawWs::upgrade_request(&addr, "/nobody", Some("ZWS2.0")),
    );
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
}

// An HTTP head of unbounded size would be buffered without limit: over 8 KiB is refused.
#[test]
fn huge_http_header_is_refused() {
    let ctx = Context::new();
    let (mut pull, mut good, ep) = server(&ctx, |_| {});
    let (addr, path) = split_ws(&ep);
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: ").into_bytes();
    request.resize(request.len() + 64 * 1024, b'x');
    request.extend_from_slice(b"\r\n\r\n");
    let (head, mut ws) = RawWs::request(&addr, &request);
    assert!(!head.contains(" 101 "), "{head}");
    ws.assert_closed();
    assert_still_serving(&mut pull, &mut good);
}

// ZMQ_HANDSHAKE_IVL: "the maximum time for the handshake": the HTTP upgrade is part of it.
#[test]
fn stalled_upgrade_is_closed_after_handshake_ivl() {
    let ctx = Context::new();
    let (mut pull, mut good, ep) = server(&ctx, |s| {
        s.set_option(SocketOption::HandshakeIvl(Some(Duration::from_millis(100))))
            .unwrap();
    });
    let (addr, _) = split_ws(&ep);
    let (head, mut ws) = RawWs::request(&addr, b"GET /in HTTP/1.1\r\nHost: x\r\n");
    assert_eq!(head, "", "no answer to half a request");
    ws.assert_closed();
    assert_still_serving(&mut pull, &mut good);
}

// RFC 45: ZWS messages are binary WebSocket messages, one per ZMTP frame, each starting
// with a flags byte. libzmq 4.3.5 stalls on these (docs/wire.md §10.7); isomq closes.
#[test]
fn bad_frames_close_the_connection() {
    let ctx = Context::new();
    let (mut pull, mut good, ep) = server(&ctx, |s| {
        s.set_option(SocketOption::MaxMsgSize(Some(64))).unwrap();
    });
    type Case = (&'static str, fn(&mut RawWs));
    let cases: [Case; 6] = [
        ("text frame", |ws| ws.send_frame(true, TEXT, b"\x00hi")),
        ("stray continuation", |ws| {
            ws.send_frame(true, 0x0, b"\x00i")
        }),
        ("zero-length message", |ws| ws.send(b"")),
        ("over MAXMSGSIZE", |ws| ws.send(&[0u8; 66])),
        ("reserved flag bits", |ws| ws.send(b"\x80x")),
        ("unmasked client frame", |ws| {
            ws.mask = false;
            ws.send(b"\x00x");
        }),
    ];
    for (what, bad) in cases {
        let mut ws = pusher(&ep);
        ws.send(&[&[0u8][..], &[b'y'; 64]].concat());
        assert_eq!(
            pull.recv().unwrap().len(),
            64,
            "{what}: at MAXMSGSIZE is fine"
        );
        bad(&mut ws);
        ws.assert_closed();
        assert_still_serving(&mut pull, &mut good);
    }
}

// RFC 6455 §5.4: "an intermediary MAY change the fragmentation of a message", so a message
// may arrive in fragments, with control frames between them (§5.5); it is one ZWS message.
// (libzmq 4.3.5 stalls on fragments, docs/wire.md §10.7.)
#[test]
fn a_fragmented_message_is_one_message() {
    let ctx = Context::new();
    let (mut pull, mut good, ep) = server(&ctx, |_| {});
    let mut ws = pusher(&ep);
    ws.send_frame(false, BINARY, b"\x00fr");
    ws.send_frame(true, PING, b"mid");
    ws.send_frame(false, 0x0, b"ag");
    ws.send_frame(true, 0x0, b"ment");
    assert_eq!(recv_string(&mut pull), "fragment");
    let pong = ws.recv_frame().unwrap();
    assert_eq!((pong.opcode, pong.payload.as_slice()), (PONG, &b"mid"[..]));
    assert_still_serving(&mut pull, &mut good);
}

// Beyond libzmq (whose ws server ignores the path): sockets of one context bind different
// paths of one port, and each connection reaches the socket bound on its path.
#[test]
fn sockets_share_a_port_by_path() {
    let ctx = Context::new();
    let (mut metrics, ep) = bound(&ctx, SocketType::Pull, "/metrics");
    let port = ep.rsplit(':').next().unwrap().split('/').next().unwrap();
    let control_ep = format!("ws://127.0.0.1:{port}/control");
    let mut control = socket(&ctx, SocketType::Pull);
    control.bind(&control_ep).unwrap();
    assert_eq!(control.last_endpoint(), Some(control_ep.as_str()));
    assert!(ep.ends_with("/metrics") && !ep.contains('*'), "{ep}");

    // A path is bound once.
    let mut again = socket(&ctx, SocketType::Pull);
    assert_eq!(again.bind(&control_ep), Err(Error::AddrInUse));

    let mut to_metrics = socket(&ctx, SocketType::Push);
    to_metrics.connect(&ep).unwrap();
    let mut to_control = socket(&ctx, SocketType::Push);
    to_control.connect(&control_ep).unwrap();
    to_metrics.send("m").unwrap();
    to_control.send("c").unwrap();
    assert_eq!(recv_string(&mut metrics), "m");
    assert_eq!(recv_string(&mut control), "c");

    // Unbinding one path leaves the other served; the path can be bound again.
    metrics.unbind(&ep).unwrap();
    to_control.send("c2").unwrap();
    assert_eq!(recv_string(&mut control), "c2");
    let (head, _) = RawWs::connect(&ep, Some("ZWS2.0/NULL"));
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    again.bind(&ep).unwrap();
    to_metrics.send("m2").unwrap();
    assert_eq!(recv_string(&mut again), "m2");

    // Another context cannot join the port.
    let other = Context::new();
    let mut stranger = socket(&other, SocketType::Pull);
    assert_eq!(
        stranger.bind(&format!("ws://127.0.0.1:{port}/x")),
        Err(Error::AddrInUse)
    );
    drop((control, again));
    // The port is free once its last path is gone.
    let listener = TcpListener::bind(format!("127.0.0.1:{port}"));
    assert!(listener.is_ok(), "port still in use");
}

/// WS_ORIGIN: with an allow-list, a browser upgrade from another Origin gets HTTP 403 and
/// the connection goes nowhere; an allowed Origin, and an upgrade with no Origin at all (a
/// native client, which browsers' pages cannot pretend to be), are accepted.
#[test]
fn ws_origin_allow_list_refuses_other_pages() {
    let ctx = Context::new();
    let mut pull = socket(&ctx, SocketType::Pull);
    pull.set_option(SocketOption::WsOrigin(b"https://app.example".to_vec()))
        .unwrap();
    let ep = isomq_tests::bind(&mut pull, isomq_tests::Transport::Ws);
    let (addr, path) = split_ws(&ep);
    let with_origin = |origin: &str| {
        let mut request = RawWs::upgrade_request(&addr, &path, Some("ZWS2.0"));
        let end = request.len() - 2;
        request.splice(end..end, format!("Origin: {origin}\r\n").into_bytes());
        RawWs::request(&addr, &request).0
    };
    assert!(with_origin("https://evil.example").starts_with("HTTP/1.1 403"));
    assert!(with_origin("https://app.example").starts_with("HTTP/1.1 101"));
    let (head, _) = RawWs::connect(&ep, Some("ZWS2.0"));
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    // A native isomq client (no Origin) still delivers.
    let mut push = socket(&ctx, SocketType::Push);
    push.connect(&ep).unwrap();
    push.send("native").unwrap();
    assert_eq!(pull.recv().unwrap().as_slice(), b"native");
}

// RFC 6455 §5.5.1: an endpoint that receives a Close frame sends a Close frame in response
// before closing the connection. Here the close frame arrives behind a backlog the server
// decodes over many rounds (RCVHWM 10 holds it back), so it may be decoded in a round of its
// own; its echo must go out before the connection ends either way. (A browser that does not
// get it reports 1006 instead of the 1000 it sent: tests/browser/close.test.mjs.)
#[test]
fn close_frame_behind_a_backlog_is_echoed() {
    const N: usize = 2_000;
    let ctx = Context::new();
    let mut pull = socket(&ctx, SocketType::Pull);
    pull.set_option(SocketOption::RcvHwm(10)).unwrap();
    let ep = isomq_tests::bind(&mut pull, isomq_tests::Transport::Ws);
    let (head, mut ws) = RawWs::connect(&ep, Some("ZWS2.0/NULL"));
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    ws.send(&ready("PUSH"));
    for i in 0..N {
        let mut m = vec![0u8];
        m.extend_from_slice(format!("m{i}").as_bytes());
        ws.send(&m);
    }
    ws.send_frame(true, isomq_tests::rawws::CLOSE, &1000u16.to_be_bytes());
    for i in 0..N {
        assert_eq!(recv_string(&mut pull), format!("m{i}"));
    }
    let echo = loop {
        match ws.recv_frame() {
            Some(f) if f.opcode == isomq_tests::rawws::CLOSE => break Some(f),
            Some(_) => {}
            None => break None,
        }
    };
    assert!(echo.is_some(), "the connection ended without a close frame");
}

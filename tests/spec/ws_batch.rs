//! isomq's batch extension to ZWS 2.0 (docs/wire.md §10.9) seen from the wire: the native
//! server selects it, packs frames that pile up and reads packed frames; the native client
//! offers it first and falls back when the server does not speak it.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use isomq::{Context, SocketType};
use isomq_tests::rawws::{RawWs, BINARY};
use isomq_tests::{recv_string, socket, PATIENCE};

const OFFER: &str = "ZWS2.0.isomq-batch1,ZWS2.0/NULL,ZWS2.0";

/// NULL READY with only `Socket-Type`, as a ZMTP command frame (docs/wire.md §3.3, §4.2).
fn batch_ready(socket_type: &str) -> Vec<u8> {
    let mut body = vec![0x05];
    body.extend_from_slice(b"READY");
    body.push(0x0b);
    body.extend_from_slice(b"Socket-Type");
    body.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
    body.extend_from_slice(socket_type.as_bytes());
    let mut frame = vec![0x04, body.len() as u8];
    frame.extend_from_slice(&body);
    frame
}

/// A short ZMTP data frame.
fn frame(more: bool, body: &[u8]) -> Vec<u8> {
    let mut f = vec![u8::from(more), body.len() as u8];
    f.extend_from_slice(body);
    f
}

/// The bodies of a batch's frames (short and long headers).
fn bodies(mut batch: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let [flags, rest @ ..] = batch {
        let (len, rest) = if flags & 0x02 != 0 {
            let (size, rest) = rest.split_at(8);
            (u64::from_be_bytes(size.try_into().unwrap()) as usize, rest)
        } else {
            (usize::from(rest[0]), &rest[1..])
        };
        out.push(rest[..len].to_vec());
        batch = &rest[len..];
    }
    out
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

// The server selects the extension when it is offered, speaks first with a ZMTP READY,
// and packs frames that pile up into messages of at most 64 KiB.
#[test]
fn server_selects_the_extension_and_packs_frames() {
    let ctx = Context::new();
    let mut publisher = socket(&ctx, SocketType::Pub);
    publisher.bind("ws://127.0.0.1:*/feed").unwrap();
    let ep = publisher.last_endpoint().unwrap().to_owned();
    let (head, mut ws) = RawWs::connect(&ep, Some("ZWS2.0.isomq-batch1, ZWS2.0"));
    assert_eq!(
        header(&head, "Sec-WebSocket-Protocol"),
        Some("ZWS2.0.isomq-batch1")
    );
    assert_eq!(ws.recv().unwrap(), batch_ready("PUB"));
    // READY and the subscription (`01 topic`, docs/wire.md §10.5) in one message.
    ws.send(&[batch_ready("SUB"), frame(false, b"\x01n")].concat());
    ws.stream
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let start = Instant::now();
    while ws.recv().is_none() {
        publisher.send("n-probe").unwrap();
        assert!(start.elapsed() < PATIENCE, "subscription never arrived");
    }
    ws.stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    while ws.recv().is_some() {}
    ws.stream.set_read_timeout(Some(PATIENCE)).unwrap();
    // Below SNDHWM (1000), so that PUB drops nothing.
    const N: usize = 900;
    for i in 0..N {
        publisher.send(format!("n{i:015}").as_str()).unwrap();
    }
    let (mut got, mut messages) = (Vec::new(), 0);
    while got.len() < N {
        let m = ws.recv().unwrap();
        assert!(m.len() <= 64 * 1024);
        messages += 1;
        got.extend(bodies(&m));
    }
    assert_eq!(got.len(), N);
    assert!(got
        .iter()
        .enumerate()
        .all(|(i, b)| *b == format!("n{i:015}").as_bytes()));
    assert!(
        messages < N,
        "{N} frames in {messages} messages: nothing was packed"
    );
}

// Frames packed by the client are delivered in order; a multipart message may span
// batches, a frame may not.
#[test]
fn server_reads_packed_frames_and_refuses_a_cut_frame() {
    let ctx = Context::new();
    let mut pull = socket(&ctx, SocketType::Pull);
    pull.bind("ws://127.0.0.1:*/in").unwrap();
    let ep = pull.last_endpoint().unwrap().to_owned();
    let (_, mut ws) = RawWs::connect(&ep, Some("ZWS2.0.isomq-batch1"));
    assert_eq!(ws.recv().unwrap(), batch_ready("PULL"));
    ws.send(
        &[
            batch_ready("PUSH"),
            frame(false, b"one"),
            frame(true, b"two-a"),
        ]
        .concat(),
    );
    let long = vec![b'L'; 300];
    let mut long_frame = vec![0x02];
    long_frame.extend_from_slice(&300u64.to_be_bytes());
    long_frame.extend_from_slice(&long);
    ws.send(&long_frame);
    assert_eq!(recv_string(&mut pull), "one");
    let parts = pull.recv_multipart().unwrap();
    assert_eq!(parts[0].as_slice(), b"two-a");
    assert_eq!(parts[1].as_slice(), long.as_slice());
    // A body cut off by the end of the message: a protocol error, the connection closes.
    ws.send(b"\x00\x05abc");
    ws.assert_closed();
}

// The native client offers the extension first and speaks it when the server answers in it.
#[test]
fn client_speaks_the_extension_to_a_server_that_does() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let ctx = Context::new();
    let mut sub = socket(&ctx, SocketType::Sub);
    sub.connect(&format!("ws://127.0.0.1:{port}/x")).unwrap();
    sub.subscribe("t").unwrap();
    let mut ws = accept(&server, "ZWS2.0.isomq-batch1");
    // The client waits for the server's first message (docs/wire.md §10.9, "Fallback").
    ws.send(&batch_ready("PUB"));
    let first = ws.recv_frame().unwrap();
    assert!(first.masked && first.opcode == BINARY);
    let mut sent = bodies(&first.payload);
    while sent.len() < 2 {
        sent.extend(bodies(&ws.recv().unwrap()));
    }
    assert_eq!(sent[0], batch_ready("SUB")[2..]);
    assert_eq!(sent[1], b"\x01t");
    ws.send(&[frame(false, b"t-1"), frame(false, b"t-2")].concat());
    assert_eq!(recv_string(&mut sub), "t-1");
    assert_eq!(recv_string(&mut sub), "t-2");
}

// A server that echoes the first token offered (the `ws` package's servers do, jszmq's
// among them) but speaks bare ZWS2.0: the client falls back to what it speaks.
#[test]
fn client_falls_back_when_the_server_only_echoes_the_token() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let ctx = Context::new();
    let mut sub = socket(&ctx, SocketType::Sub);
    sub.connect(&format!("ws://127.0.0.1:{port}/x")).unwrap();
    sub.subscribe("t").unwrap();
    let mut ws = accept(&server, "ZWS2.0.isomq-batch1");
    ws.send(b"\x00");
    assert_eq!(
        ws.recv().unwrap(),
        b"\x00",
        "the client's routing id, bare ZWS2.0"
    );
    assert_eq!(ws.recv().unwrap(), b"\x00\x01t");
    ws.send(b"\x00t-1");
    assert_eq!(recv_string(&mut sub), "t-1");
}

/// Accepts the native client's upgrade, checks its offer, and answers with `chosen`.
fn accept(server: &TcpListener, chosen: &str) -> RawWs {
    let (stream, _) = server.accept().unwrap();
    let mut ws = RawWs::accepted(stream);
    let head = ws.read_head().unwrap();
    assert_eq!(header(&head, "Sec-WebSocket-Protocol"), Some(OFFER));
    let key = header(&head, "Sec-WebSocket-Key").unwrap();
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: {chosen}\r\n\r\n"
    );
    ws.stream.write_all(response.as_bytes()).unwrap();
    ws
}

//! Socket monitor events (libzmq zmq_socket_monitor(3)) and ZMTP 3.1 heartbeats (RFC 37,
//! docs/wire.md §5.1).

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use isomq::{Context, Error, MonitorEvent, SocketOption, SocketType};
use isomq_tests::rawzmtp::{greeting, ready};
use isomq_tests::{bind, expect_event, recv_string, socket, Transport, PATIENCE};

// zmq_socket_monitor(3): LISTENING on bind; ACCEPTED and HANDSHAKE_SUCCEEDED on the bound
// side, CONNECT_DELAYED, CONNECTED and HANDSHAKE_SUCCEEDED on the connecting side;
// DISCONNECTED when the peer goes; CLOSED when the listener closes.
fn lifecycle(t: Transport) {
    let ctx = Context::new();
    let mut server = socket(&ctx, SocketType::Pull);
    let server_events = server.monitor();
    let ep = bind(&mut server, t);
    expect_event(
        &server_events,
        "Listening",
        |e| matches!(e, MonitorEvent::Listening { endpoint } if *endpoint == ep),
    );
    let mut client = socket(&ctx, SocketType::Push);
    let client_events = client.monitor();
    client.connect(&ep).unwrap();
    expect_event(
        &client_events,
        "ConnectDelayed",
        |e| matches!(e, MonitorEvent::ConnectDelayed { endpoint } if *endpoint == ep),
    );
    expect_event(&client_events, "Connected", |e| {
        matches!(e, MonitorEvent::Connected { .. })
    });
    expect_event(&client_events, "HandshakeSucceeded", |e| {
        matches!(e, MonitorEvent::HandshakeSucceeded { .. })
    });
    expect_event(&server_events, "Accepted", |e| {
        matches!(e, MonitorEvent::Accepted { .. })
    });
    expect_event(&server_events, "HandshakeSucceeded", |e| {
        matches!(e, MonitorEvent::HandshakeSucceeded { .. })
    });
    client.send("hello").unwrap();
    assert_eq!(recv_string(&mut server), "hello");
    drop(client);
    expect_event(&server_events, "Disconnected", |e| {
        matches!(e, MonitorEvent::Disconnected { .. })
    });
    server.unbind(&ep).unwrap();
    expect_event(
        &server_events,
        "Closed",
        |e| matches!(e, MonitorEvent::Closed { endpoint } if *endpoint == ep),
    );
}

#[test]
fn lifecycle_tcp_ipc_ws() {
    for t in [Transport::Tcp, Transport::Ipc, Transport::Ws] {
        lifecycle(t);
    }
}

// ZMQ_EVENT_BIND_FAILED carries the error; ZMQ_EVENT_CONNECT_RETRIED comes with the
// interval before the next attempt when nobody listens.
#[test]
fn bind_failed_and_connect_retried() {
    let ctx = Context::new();
    let mut a = socket(&ctx, SocketType::Pull);
    let ep = bind(&mut a, Transport::Tcp);
    let mut b = socket(&ctx, SocketType::Pull);
    let events = b.monitor();
    assert_eq!(b.bind(&ep), Err(Error::AddrInUse));
    expect_event(&events, "BindFailed", |e| {
        matches!(
            e,
            MonitorEvent::BindFailed {
                error: Error::AddrInUse,
                ..
            }
        )
    });
    drop(a);
    // Nobody listens there now.
    let mut c = socket(&ctx, SocketType::Push);
    let c_events = c.monitor();
    c.connect(&ep).unwrap();
    expect_event(
        &c_events,
        "ConnectRetried",
        |e| matches!(e, MonitorEvent::ConnectRetried { interval, .. } if *interval >= Duration::from_millis(100)),
    );
}

// libzmq: an incompatible peer fails the handshake (ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL).
#[test]
fn handshake_failed_on_incompatible_peer() {
    let ctx = Context::new();
    let mut publisher = socket(&ctx, SocketType::Pub);
    let ep = bind(&mut publisher, Transport::Tcp);
    let mut push = socket(&ctx, SocketType::Push);
    let events = push.monitor();
    push.connect(&ep).unwrap();
    isomq_tests::expect_handshake_failed(&events, "protocol");
}

/// The greeting and READY of a raw peer of type `socket_type`.
fn handshake_bytes(socket_type: &str) -> Vec<u8> {
    let mut bytes = greeting();
    bytes.extend_from_slice(&ready(socket_type, None));
    bytes
}

/// Reads until `n` bytes arrived (the peer's greeting and READY), without interpreting.
fn read_some(s: &mut TcpStream, n: usize) {
    let mut got = 0;
    let mut buf = [0u8; 256];
    while got < n {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(k) => got += k,
        }
    }
}

// RFC 37 "Connection Heartbeating" / docs/wire.md §5.1: a peer that sent a PING closes the
// connection when no traffic at all arrives within HEARTBEAT_TIMEOUT; that close is not a
// protocol error, so the connecting side reconnects (docs/wire.md §7.4). The peer here
// completes the handshake and then goes silent without closing.
#[test]
fn silent_peer_is_detected_and_reconnected() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = thread::spawn(move || {
        let mut kept = Vec::new();
        for _ in 0..2 {
            let (mut s, _) = listener.accept().unwrap();
            s.write_all(&handshake_bytes("PULL")).unwrap();
            read_some(&mut s, 64);
            // Silent from now on, but open.
            kept.push(s);
        }
        kept
    });
    let ctx = Context::new();
    let mut push = socket(&ctx, SocketType::Push);
    push.set_option(SocketOption::HeartbeatIvl(Some(Duration::from_millis(50))))
        .unwrap();
    push.set_option(SocketOption::HeartbeatTimeout(Some(Duration::from_millis(
        200,
    ))))
    .unwrap();
    let events = push.monitor();
    push.connect(&format!("tcp://{addr}")).unwrap();
    expect_event(&events, "HandshakeSucceeded", |e| {
        matches!(e, MonitorEvent::HandshakeSucceeded { .. })
    });
    let ev = expect_event(&events, "Disconnected", |e| {
        matches!(e, MonitorEvent::Disconnected { .. })
    });
    assert!(
        matches!(&ev, MonitorEvent::Disconnected { reason, .. } if reason.contains("heartbeat")),
        "{ev:?}"
    );
    // Reconnected: the second connection completes its handshake too.
    expect_event(&events, "HandshakeSucceeded again", |e| {
        matches!(e, MonitorEvent::HandshakeSucceeded { .. })
    });
    drop(silent.join().unwrap());
}

// RFC 37: "If the TTL is non-zero, the peer SHALL ... close the connection if it receives
// no traffic within TTL". A raw peer sends a PING with TTL 0.3 s, then goes silent.
#[test]
fn ping_ttl_from_peer_is_honoured() {
    let ctx = Context::new();
    let mut pull = socket(&ctx, SocketType::Pull);
    let events = pull.monitor();
    let ep = bind(&mut pull, Transport::Tcp);
    let mut s = TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.write_all(&handshake_bytes("PUSH")).unwrap();
    // PING: name "PING", TTL 3 deciseconds, no context.
    s.write_all(&[0x04, 0x07, 0x04, b'P', b'I', b'N', b'G', 0x00, 0x03])
        .unwrap();
    expect_event(&events, "HandshakeSucceeded", |e| {
        matches!(e, MonitorEvent::HandshakeSucceeded { .. })
    });
    // The PONG comes back (libzmq always answers a PING).
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !got.windows(5).any(|w| w == b"\x04PONG") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed before PONG");
        got.extend_from_slice(&buf[..n]);
    }
    let ev = expect_event(&events, "Disconnected", |e| {
        matches!(e, MonitorEvent::Disconnected { .. })
    });
    assert!(
        matches!(&ev, MonitorEvent::Disconnected { reason, .. } if reason.contains("heartbeat")),
        "{ev:?}"
    );
}

// Heartbeats between two isomq sockets keep a healthy connection up, over every stream
// transport (ws:// uses WebSocket pings, as libzmq). docs/wire.md §5.1: a PING unanswered
// for HEARTBEAT_TIMEOUT closes the connection, so the connection has to stay up, idle, for
// longer than that; the transports are idle side by side.
#[test]
fn heartbeats_keep_healthy_connections() {
    let ivl = Duration::from_millis(20);
    let timeout = Duration::from_millis(500);
    thread::scope(|scope| {
        for t in [Transport::Tcp, Transport::Ipc, Transport::Ws] {
            scope.spawn(move || heartbeats_keep_a_healthy_connection(t, ivl, timeout));
        }
    });
}

fn heartbeats_keep_a_healthy_connection(t: Transport, ivl: Duration, timeout: Duration) {
    let ctx = Context::new();
    let mut pull = socket(&ctx, SocketType::Pull);
    let ep = bind(&mut pull, t);
    let mut push = socket(&ctx, SocketType::Push);
    for s in [&mut push, &mut pull] {
        s.set_option(SocketOption::HeartbeatIvl(Some(ivl))).unwrap();
        s.set_option(SocketOption::HeartbeatTimeout(Some(timeout)))
            .unwrap();
    }
    let events = push.monitor();
    push.connect(&ep).unwrap();
    expect_event(&events, "HandshakeSucceeded", |e| {
        matches!(e, MonitorEvent::HandshakeSucceeded { .. })
    });
    // Two heartbeat timeouts without a message: the idle time is what is tested, not a wait
    // for something to happen. The first PING goes out after one interval, so a missing
    // answer would close the connection within this window; the monitor reports that at once.
    let idle_until = Instant::now() + 2 * timeout;
    while let Some(left) = idle_until.checked_duration_since(Instant::now()) {
        match events.recv_timeout(left) {
            Ok(ev) => assert!(
                !matches!(ev, MonitorEvent::Disconnected { .. }),
                "{t:?}: {ev:?}"
            ),
            Err(Error::Again) => break,
            Err(e) => panic!("{t:?}: monitor ended: {e}"),
        }
    }
    push.send("still here").unwrap();
    assert_eq!(recv_string(&mut pull), "still here", "{t:?}");
    while let Some(ev) = events.try_recv() {
        assert!(
            !matches!(ev, MonitorEvent::Disconnected { .. }),
            "{t:?}: {ev:?}"
        );
    }
}

// HEARTBEAT_TTL travels in deciseconds in 16 bits: libzmq rejects 6553.6 s and above.
#[test]
fn heartbeat_ttl_range() {
    let ctx = Context::new();
    let mut s = socket(&ctx, SocketType::Push);
    assert!(s
        .set_option(SocketOption::HeartbeatTtl(Some(Duration::from_millis(
            6_553_600
        ))))
        .is_err());
    s.set_option(SocketOption::HeartbeatTtl(Some(Duration::from_millis(
        6_553_500,
    ))))
    .unwrap();
}

//! CURVE (RFC 26) and PLAIN (RFC 24) with ZAP (RFC 27) between native sockets, over every
//! transport that has a handshake (tcp, ipc, ws; inproc has none, as in libzmq), for each
//! socket pattern.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use isomq::{
    curve_keypair, Authenticator, Context, Error, KeyPair, Monitor, MonitorEvent, Socket,
    SocketOption, SocketType,
};
use isomq_tests::{bind, socket, sync_subscription, Transport, PATIENCE};

const SECURED: [Transport; 3] = [Transport::Tcp, Transport::Ipc, Transport::Ws];

fn expect(monitor: &Monitor, what: &str, matches: impl Fn(&MonitorEvent) -> bool) -> MonitorEvent {
    let start = Instant::now();
    let mut seen = Vec::new();
    while start.elapsed() < PATIENCE {
        match monitor.recv_timeout(Duration::from_millis(100)) {
            Ok(ev) if matches(&ev) => return ev,
            Ok(ev) => seen.push(ev),
            Err(Error::Again) => {}
            Err(e) => panic!("monitor ended ({e}) waiting for {what}; saw {seen:?}"),
        }
    }
    panic!("no {what} event; saw {seen:?}");
}

fn curve_server(s: &mut Socket, keys: &KeyPair) {
    s.set_option(SocketOption::CurveSecretKey(keys.secret.clone()))
        .unwrap();
    s.set_option(SocketOption::CurveServer(true)).unwrap();
}

fn curve_client(s: &mut Socket, keys: &KeyPair, server: &KeyPair) {
    s.set_option(SocketOption::CurveSecretKey(keys.secret.clone()))
        .unwrap();
    s.set_option(SocketOption::CurveServerKey(server.public))
        .unwrap();
}

fn plain_client(s: &mut Socket, user: &str, password: &str) {
    s.set_option(SocketOption::PlainUsername(user.into()))
        .unwrap();
    s.set_option(SocketOption::PlainPassword(
        password.as_bytes().to_vec().into(),
    ))
    .unwrap();
}

/// One message each way the pattern allows, `a` bound and `b` connected.
fn round_trip(a: &mut Socket, b: &mut Socket) {
    match (a.socket_type(), b.socket_type()) {
        (SocketType::Pull, SocketType::Push) => {
            b.send("hello").unwrap();
            assert_eq!(a.recv().unwrap().as_slice(), b"hello");
        }
        (SocketType::Pub, SocketType::Sub) => {
            b.subscribe("").unwrap();
            sync_subscription(a, b, b"probe");
            a.send("news").unwrap();
            assert_eq!(b.recv().unwrap().as_slice(), b"news");
        }
        (SocketType::Rep, SocketType::Req) => {
            b.send("ping").unwrap();
            assert_eq!(a.recv().unwrap().as_slice(), b"ping");
            a.send("pong").unwrap();
            assert_eq!(b.recv().unwrap().as_slice(), b"pong");
        }
        (SocketType::Router, SocketType::Dealer) => {
            b.send_multipart(["x", "y"]).unwrap();
            let got = a.recv_multipart().unwrap();
            assert_eq!(
                (got[1].as_slice(), got[2].as_slice()),
                (&b"x"[..], &b"y"[..])
            );
            a.send_multipart([got[0].clone(), "back".into()]).unwrap();
            assert_eq!(b.recv().unwrap().as_slice(), b"back");
        }
        other => panic!("no round trip for {other:?}"),
    }
}

const PAIRS: [(SocketType, SocketType); 4] = [
    (SocketType::Pull, SocketType::Push),
    (SocketType::Pub, SocketType::Sub),
    (SocketType::Rep, SocketType::Req),
    (SocketType::Router, SocketType::Dealer),
];

/// RFC 26 with libzmq's rule: without a ZAP handler a CURVE server accepts any client that
/// completes the handshake; messages flow both ways for every pattern.
#[test]
fn curve_without_zap_accepts_any_client() {
    let server_keys = curve_keypair().unwrap();
    for t in SECURED {
        for (bound, connected) in PAIRS {
            let ctx = Context::new();
            let mut a = socket(&ctx, bound);
            curve_server(&mut a, &server_keys);
            let ep = bind(&mut a, t);
            let mut b = socket(&ctx, connected);
            curve_client(&mut b, &curve_keypair().unwrap(), &server_keys);
            b.connect(&ep).unwrap();
            round_trip(&mut a, &mut b);
        }
    }
}

/// ZAP (RFC 27) through the built-in Authenticator: an allow-listed CURVE key passes, any
/// other key is refused with status 400 (HANDSHAKE_FAILED_AUTH on both sides) and nothing
/// it sends is delivered; the server keeps serving the allowed client.
#[test]
fn curve_allow_list_admits_known_keys_only() {
    let server_keys = curve_keypair().unwrap();
    let good = curve_keypair().unwrap();
    for t in SECURED {
        let ctx = Context::new();
        let auth = Authenticator::start(&ctx).unwrap();
        auth.curve_allow(good.public);
        let mut server = socket(&ctx, SocketType::Pull);
        curve_server(&mut server, &server_keys);
        let server_events = server.monitor();
        let ep = bind(&mut server, t);

        let mut intruder = socket(&ctx, SocketType::Push);
        curve_client(&mut intruder, &curve_keypair().unwrap(), &server_keys);
        let intruder_events = intruder.monitor();
        intruder.connect(&ep).unwrap();
        intruder.send("must not arrive").unwrap();
        let refused =
            |e: &MonitorEvent| matches!(e, MonitorEvent::HandshakeFailedAuth { status: 400, .. });
        expect(&server_events, "server HandshakeFailedAuth 400", refused);
        expect(&intruder_events, "client HandshakeFailedAuth 400", refused);

        let mut client = socket(&ctx, SocketType::Push);
        curve_client(&mut client, &good, &server_keys);
        client.connect(&ep).unwrap();
        client.send("welcome").unwrap();
        assert_eq!(server.recv().unwrap().as_slice(), b"welcome");
        // zmq_msg_gets: the ZAP handler's user id (the client key in Z85), and what the
        // peer said about itself.
        let user = server.peer_property("User-Id").unwrap();
        assert_eq!(user.as_ref(), good.public.to_z85().as_bytes());
        assert_eq!(
            server.peer_property("Socket-Type").unwrap().as_ref(),
            b"PUSH"
        );
        let address = server.peer_property("Peer-Address").unwrap();
        let expected: &[u8] = if t == Transport::Ipc {
            b""
        } else {
            b"127.0.0.1"
        };
        assert_eq!(address.as_ref(), expected);
        drop(auth);
    }
}

/// RFC 24 with libzmq's rule: a PLAIN server asks ZAP; the right password passes, a wrong
/// one is refused (400), and without a handler the server fails every handshake (status 0).
#[test]
fn plain_checks_passwords_through_zap() {
    for t in SECURED {
        let ctx = Context::new();
        let mut server = socket(&ctx, SocketType::Rep);
        server.set_option(SocketOption::PlainServer(true)).unwrap();
        let server_events = server.monitor();
        let ep = bind(&mut server, t);

        let mut early = socket(&ctx, SocketType::Req);
        plain_client(&mut early, "admin", "secret");
        early.connect(&ep).unwrap();
        expect(&server_events, "no-handler failure", |e| {
            matches!(e, MonitorEvent::HandshakeFailedAuth { status: 0, .. })
        });
        drop(early);

        let auth = Authenticator::start(&ctx).unwrap();
        auth.plain_user("admin", "secret");
        let mut wrong = socket(&ctx, SocketType::Req);
        plain_client(&mut wrong, "admin", "guess");
        let wrong_events = wrong.monitor();
        wrong.connect(&ep).unwrap();
        expect(&wrong_events, "client refused", |e| {
            matches!(e, MonitorEvent::HandshakeFailedAuth { status: 400, .. })
        });

        let mut client = socket(&ctx, SocketType::Req);
        plain_client(&mut client, "admin", "secret");
        client.connect(&ep).unwrap();
        round_trip(&mut server, &mut client);
        assert_eq!(server.peer_property("User-Id").unwrap().as_ref(), b"admin");
    }
}

/// The client authenticates the server (RFC 26): with the wrong CURVE_SERVERKEY nothing is
/// ever delivered, and the server reports a protocol failure.
#[test]
fn curve_client_with_the_wrong_server_key_never_connects() {
    let ctx = Context::new();
    let server_keys = curve_keypair().unwrap();
    let mut server = socket(&ctx, SocketType::Pull);
    curve_server(&mut server, &server_keys);
    let events = server.monitor();
    let ep = bind(&mut server, Transport::Tcp);
    let mut client = socket(&ctx, SocketType::Push);
    curve_client(
        &mut client,
        &curve_keypair().unwrap(),
        &curve_keypair().unwrap(),
    );
    client.connect(&ep).unwrap();
    client.send("lost").unwrap();
    expect(&events, "HandshakeFailed", |e| {
        matches!(e, MonitorEvent::HandshakeFailed { .. })
    });
    server
        .set_option(SocketOption::RcvTimeout(Some(Duration::from_millis(200))))
        .unwrap();
    assert_eq!(server.recv().unwrap_err(), Error::Again);
}

/// Incomplete configurations fail at connect/bind with EINVAL; ZAP for NULL sockets is not
/// spoken over ws:// (ENOTSUP).
#[test]
fn incomplete_or_unsupported_security_is_refused_up_front() {
    let ctx = Context::new();
    let mut s = socket(&ctx, SocketType::Pull);
    s.set_option(SocketOption::CurveServer(true)).unwrap();
    assert!(matches!(s.bind("tcp://127.0.0.1:*"), Err(Error::Inval(_))));
    let secret = curve_keypair().unwrap().secret;
    s.set_option(SocketOption::CurveSecretKey(secret)).unwrap();
    s.bind("tcp://127.0.0.1:*").unwrap();
    s.bind("ws://127.0.0.1:*/x").unwrap();
    let mut null = socket(&ctx, SocketType::Pull);
    null.set_option(SocketOption::ZapDomain(b"global".to_vec()))
        .unwrap();
    assert_eq!(null.bind("ws://127.0.0.1:*/y"), Err(Error::NotSup));
}

/// A ws:// CURVE server agrees only to CURVE subprotocols: a NULL client's upgrade is
/// refused and nothing it sends arrives; a CURVE client on the same path gets through.
#[test]
fn ws_curve_server_never_speaks_null() {
    let ctx = Context::new();
    let server_keys = curve_keypair().unwrap();
    let mut server = socket(&ctx, SocketType::Pull);
    curve_server(&mut server, &server_keys);
    let ep = bind(&mut server, Transport::Ws);
    let mut in_clear = socket(&ctx, SocketType::Push);
    in_clear.connect(&ep).unwrap();
    in_clear.send("in clear").unwrap();
    let mut client = socket(&ctx, SocketType::Push);
    curve_client(&mut client, &curve_keypair().unwrap(), &server_keys);
    client.connect(&ep).unwrap();
    client.send("sealed").unwrap();
    assert_eq!(server.recv().unwrap().as_slice(), b"sealed");
    server
        .set_option(SocketOption::RcvTimeout(Some(Duration::from_millis(200))))
        .unwrap();
    assert_eq!(server.recv().unwrap_err(), Error::Again);
}

//! CURVE (RFC 26) and PLAIN (RFC 24) with ZAP (RFC 27) between native sockets, over every
//! transport that has a handshake (tcp, ipc, ws; inproc has none, as in libzmq), for each
//! socket pattern.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use isomq::{
    curve_keypair, Authenticator, Context, Error, Flags, KeyPair, MonitorEvent, Socket,
    SocketOption, SocketType,
};
use isomq_tests::{bind, expect_event, socket, sync_subscription, Transport};

const SECURED: [Transport; 3] = [Transport::Tcp, Transport::Ipc, Transport::Ws];

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
        // The refusal may come first: the session then closes with its pipe (no reconnect
        // after an authentication failure, as libzmq), and there is nothing left to queue
        // the message in. Either way it must not arrive.
        match intruder.send_flags("must not arrive", Flags::DONTWAIT) {
            Ok(()) | Err(Error::Again) => {}
            Err(e) => panic!("{t:?}: intruder's send: {e}"),
        }
        let refused =
            |e: &MonitorEvent| matches!(e, MonitorEvent::HandshakeFailedAuth { status: 400, .. });
        expect_event(&server_events, "server HandshakeFailedAuth 400", refused);
        expect_event(&intruder_events, "client HandshakeFailedAuth 400", refused);

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
        expect_event(&server_events, "no-handler failure", |e| {
            matches!(e, MonitorEvent::HandshakeFailedAuth { status: 0, .. })
        });
        drop(early);

        let auth = Authenticator::start(&ctx).unwrap();
        auth.plain_user("admin", "secret");
        let mut wrong = socket(&ctx, SocketType::Req);
        plain_client(&mut wrong, "admin", "guess");
        let wrong_events = wrong.monitor();
        wrong.connect(&ep).unwrap();
        expect_event(&wrong_events, "client refused", |e| {
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
    expect_event(&events, "HandshakeFailed", |e| {
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

/// Hostile handshakes against a CURVE server, one by one (RFC 26, ZMQ_HANDSHAKE_IVL): each
/// closes that connection only, and a good CURVE client keeps being served.
#[test]
fn hostile_curve_handshakes_close_that_connection_only() {
    use isomq_tests::rawzmtp::{
        assert_closed_by_server, frame, greeting, greeting_for, raw_client,
    };
    use std::io::Write;
    let ctx = Context::new();
    let server_keys = curve_keypair().unwrap();
    let mut server = socket(&ctx, SocketType::Pull);
    curve_server(&mut server, &server_keys);
    server
        .set_option(SocketOption::HandshakeIvl(Some(Duration::from_millis(300))))
        .unwrap();
    let ep = bind(&mut server, Transport::Tcp);
    let mut good = socket(&ctx, SocketType::Push);
    curve_client(&mut good, &curve_keypair().unwrap(), &server_keys);
    good.connect(&ep).unwrap();
    let mut serving = |n: usize| {
        good.send(format!("still {n}")).unwrap();
        assert_eq!(
            server.recv().unwrap().as_slice(),
            format!("still {n}").as_bytes()
        );
    };
    serving(0);

    let mut hello = vec![0x05];
    hello.extend_from_slice(b"HELLO\x01\x00");
    hello.resize(200, 0x5A);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // Slowloris: half a HELLO, then silence until HANDSHAKE_IVL runs out.
        (
            "stalled HELLO",
            [greeting_for(b"CURVE"), frame(0x04, &hello)[..90].to_vec()].concat(),
        ),
        // A forged box: the right size and layout, bytes that do not open.
        (
            "forged HELLO",
            [greeting_for(b"CURVE"), frame(0x04, &hello)].concat(),
        ),
        // Truncated: a HELLO of 100 bytes.
        (
            "short HELLO",
            [greeting_for(b"CURVE"), frame(0x04, &hello[..100])].concat(),
        ),
        // A MESSAGE before the handshake.
        (
            "early MESSAGE",
            [
                greeting_for(b"CURVE"),
                frame(0x00, b"\x07MESSAGE\x00\x00\x00\x00\x00\x00\x00\x03"),
            ]
            .concat(),
        ),
        // Another mechanism.
        ("NULL greeting", greeting()),
    ];
    for (n, (what, bytes)) in cases.into_iter().enumerate() {
        let mut raw = raw_client(&ep);
        raw.write_all(&bytes).unwrap();
        assert_closed_by_server(raw, what);
        serving(n + 1);
    }
}

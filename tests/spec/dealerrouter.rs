//! RFC 28 (REQREP) rules for DEALER and ROUTER, and libzmq's routing-id rules
//! (docs/wire.md §6.3), over inproc, tcp, ipc and ws.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use isomq::{Context, Error, Flags, Msg, Socket, SocketOption, SocketType};
use isomq_tests::{bind, recv_string, socket, Transport, ALL};

fn frames(s: &mut Socket) -> Vec<Vec<u8>> {
    s.recv_multipart()
        .unwrap()
        .iter()
        .map(Msg::to_vec)
        .collect()
}

fn dealer_with_id(ctx: &Context, id: &[u8], ep: &str) -> Socket {
    let mut d = socket(ctx, SocketType::Dealer);
    if !id.is_empty() {
        d.set_option(SocketOption::RoutingId(id.to_vec())).unwrap();
    }
    d.connect(ep).unwrap();
    d
}

// RFC 28: ROUTER "SHALL prepend a message part containing the identity of the originating
// peer" and "SHALL route outgoing messages to the peer the identity names"; DEALER adds no
// envelope and passes multipart messages whole.
fn multipart_with_identities(t: Transport) {
    let ctx = Context::new();
    let mut router = socket(&ctx, SocketType::Router);
    let ep = bind(&mut router, t);
    let mut a = dealer_with_id(&ctx, b"alpha", &ep);
    let mut b = dealer_with_id(&ctx, b"beta", &ep);
    a.send_multipart(["a1", "a2"]).unwrap();
    assert_eq!(
        frames(&mut router),
        vec![b"alpha".to_vec(), b"a1".to_vec(), b"a2".to_vec()],
        "{t:?}"
    );
    b.send("b1").unwrap();
    assert_eq!(
        frames(&mut router),
        vec![b"beta".to_vec(), b"b1".to_vec()],
        "{t:?}"
    );
    router.send_multipart(["beta", "to", "b"]).unwrap();
    router.send_multipart(["alpha", "to-a"]).unwrap();
    assert_eq!(frames(&mut b), vec![b"to".to_vec(), b"b".to_vec()], "{t:?}");
    assert_eq!(recv_string(&mut a), "to-a", "{t:?}");
}

#[test]
fn multipart_with_identities_all_transports() {
    for t in ALL {
        multipart_with_identities(t);
    }
}

// docs/wire.md §6.3: a peer without an Identity gets a generated id of 5 bytes, 0x00 and a
// big-endian u32 counter; the ROUTER can route back to it by that id.
fn generated_identities(t: Transport) {
    let ctx = Context::new();
    let mut router = socket(&ctx, SocketType::Router);
    let ep = bind(&mut router, t);
    let mut ids = Vec::new();
    let mut dealers = Vec::new();
    for i in 0..2u8 {
        let mut d = dealer_with_id(&ctx, b"", &ep);
        d.send(vec![i]).unwrap();
        let got = frames(&mut router);
        assert_eq!(
            (got[0].len(), got[0][0], &got[1][..]),
            (5, 0, &[i][..]),
            "{t:?}"
        );
        ids.push(got[0].clone());
        dealers.push(d);
    }
    assert_ne!(ids[0], ids[1]);
    for (i, d) in dealers.iter_mut().enumerate() {
        router
            .send_multipart([ids[i].clone(), vec![b'r', i as u8]])
            .unwrap();
        assert_eq!(d.recv().unwrap().as_slice(), &[b'r', i as u8], "{t:?}");
    }
}

#[test]
fn generated_identities_all_transports() {
    for t in ALL {
        generated_identities(t);
    }
}

// libzmq ZMQ_ROUTER_MANDATORY: "EHOSTUNREACH if the peer is not connected"; without it the
// message is dropped silently.
fn mandatory(t: Transport) {
    let ctx = Context::new();
    let mut router = socket(&ctx, SocketType::Router);
    let ep = bind(&mut router, t);
    router.send_multipart(["nobody", "dropped"]).unwrap();
    router
        .set_option(SocketOption::RouterMandatory(true))
        .unwrap();
    assert_eq!(
        router.send_multipart(["nobody", "x"]).unwrap_err(),
        Error::HostUnreach,
        "{t:?}"
    );
    let mut d = dealer_with_id(&ctx, b"D", &ep);
    d.send("hello").unwrap();
    assert_eq!(frames(&mut router)[0], b"D");
    router.send_multipart(["D", "ok"]).unwrap();
    assert_eq!(recv_string(&mut d), "ok", "{t:?}");
}

#[test]
fn mandatory_all_transports() {
    for t in ALL {
        mandatory(t);
    }
}

// libzmq ZMQ_ROUTER_MANDATORY: a full peer gives EAGAIN (DONTWAIT) rather than a drop.
fn mandatory_full_peer_is_eagain(t: Transport) {
    let ctx = Context::new();
    let mut router = socket(&ctx, SocketType::Router);
    router.set_option(SocketOption::SndHwm(1)).unwrap();
    router
        .set_option(SocketOption::RouterMandatory(true))
        .unwrap();
    let ep = bind(&mut router, t);
    let mut d = socket(&ctx, SocketType::Dealer);
    d.set_option(SocketOption::RcvHwm(1)).unwrap();
    d.set_option(SocketOption::RoutingId(b"slow".to_vec()))
        .unwrap();
    d.connect(&ep).unwrap();
    d.send("hi").unwrap();
    assert_eq!(frames(&mut router)[0], b"slow");
    // The dealer reads nothing: sooner or later its queues and the kernel's are full.
    let mut sent = 0u32;
    let err = loop {
        let r = router
            .send_flags(Msg::from("slow").with_more(true), Flags::DONTWAIT)
            .and_then(|()| router.send_flags(vec![0u8; 1024], Flags::DONTWAIT));
        match r {
            Ok(()) => sent += 1,
            Err(e) => break e,
        }
        assert!(sent < 1_000_000, "never refused");
    };
    assert_eq!(err, Error::Again, "{t:?}");
    assert!(d.recv().is_ok());
}

#[test]
fn mandatory_full_peer_is_eagain_all_transports() {
    for t in ALL {
        mandatory_full_peer_is_eagain(t);
    }
}

// docs/wire.md §6.3 (libzmq): a peer announcing a routing id already in use is ignored;
// with ROUTER_HANDOVER it takes the id over.
fn duplicate_identity(t: Transport, handover: bool) {
    let ctx = Context::new();
    let mut router = socket(&ctx, SocketType::Router);
    router
        .set_option(SocketOption::RouterHandover(handover))
        .unwrap();
    let ep = bind(&mut router, t);
    let mut first = dealer_with_id(&ctx, b"dup", &ep);
    first.send("from-first").unwrap();
    assert_eq!(frames(&mut router)[1], b"from-first");
    let mut second = dealer_with_id(&ctx, b"dup", &ep);
    second.send("from-second").unwrap();
    if handover {
        assert_eq!(
            frames(&mut router),
            vec![b"dup".to_vec(), b"from-second".to_vec()],
            "{t:?}"
        );
        router.send_multipart(["dup", "to-new"]).unwrap();
        assert_eq!(recv_string(&mut second), "to-new", "{t:?}");
    } else {
        // The first peer keeps the id; what the second sends is never read.
        first.send("again").unwrap();
        assert_eq!(frames(&mut router)[1], b"again", "{t:?}");
        router.send_multipart(["dup", "to-old"]).unwrap();
        assert_eq!(recv_string(&mut first), "to-old", "{t:?}");
        router
            .set_option(SocketOption::RcvTimeout(Some(Duration::from_millis(100))))
            .unwrap();
        assert_eq!(router.recv().unwrap_err(), Error::Again, "{t:?}");
    }
}

#[test]
fn duplicate_identity_ignored_all_transports() {
    for t in ALL {
        duplicate_identity(t, false);
    }
}

#[test]
fn duplicate_identity_handover_all_transports() {
    for t in ALL {
        duplicate_identity(t, true);
    }
}

// libzmq ZMQ_CONNECT_ROUTING_ID: a connecting ROUTER names its peer locally and can send to
// it before the peer ever spoke; ROUTER to ROUTER works that way.
fn connect_routing_id(t: Transport) {
    let ctx = Context::new();
    let mut server = socket(&ctx, SocketType::Router);
    server
        .set_option(SocketOption::RoutingId(b"server".to_vec()))
        .unwrap();
    let ep = bind(&mut server, t);
    let mut client = socket(&ctx, SocketType::Router);
    client
        .set_option(SocketOption::RoutingId(b"client".to_vec()))
        .unwrap();
    client
        .set_option(SocketOption::ConnectRoutingId(b"srv".to_vec()))
        .unwrap();
    client
        .set_option(SocketOption::RouterMandatory(true))
        .unwrap();
    client.connect(&ep).unwrap();
    client.send_multipart(["srv", "hello"]).unwrap();
    assert_eq!(
        frames(&mut server),
        vec![b"client".to_vec(), b"hello".to_vec()],
        "{t:?}"
    );
    server.send_multipart(["client", "back"]).unwrap();
    assert_eq!(
        frames(&mut client),
        vec![b"srv".to_vec(), b"back".to_vec()],
        "{t:?}"
    );
}

#[test]
fn connect_routing_id_all_transports() {
    for t in ALL {
        connect_routing_id(t);
    }
}

// libzmq ZMQ_PROBE_ROUTER: the DEALER sends an empty message right after connecting, so the
// ROUTER learns its routing id before any request.
fn probe_router(t: Transport) {
    let ctx = Context::new();
    let mut router = socket(&ctx, SocketType::Router);
    let ep = bind(&mut router, t);
    let mut d = socket(&ctx, SocketType::Dealer);
    d.set_option(SocketOption::RoutingId(b"prober".to_vec()))
        .unwrap();
    d.set_option(SocketOption::ProbeRouter(true)).unwrap();
    d.connect(&ep).unwrap();
    assert_eq!(
        frames(&mut router),
        vec![b"prober".to_vec(), Vec::new()],
        "{t:?}"
    );
}

#[test]
fn probe_router_all_transports() {
    for t in ALL {
        probe_router(t);
    }
}

// docs/wire.md §8.1, §8.3: inproc connect may precede bind; the connector's routing id
// still reaches a ROUTER binder, and is dropped for others.
#[test]
fn inproc_connect_before_bind_keeps_routing_ids() {
    let ctx = Context::new();
    let ep = Transport::Inproc.bind_endpoint();
    let mut d = dealer_with_id(&ctx, b"early", &ep);
    d.send("queued").unwrap();
    let mut router = socket(&ctx, SocketType::Router);
    router.bind(&ep).unwrap();
    assert_eq!(
        frames(&mut router),
        vec![b"early".to_vec(), b"queued".to_vec()]
    );
    let ep2 = Transport::Inproc.bind_endpoint();
    let mut d2 = dealer_with_id(&ctx, b"early", &ep2);
    d2.send("plain").unwrap();
    let mut pull_like = socket(&ctx, SocketType::Dealer);
    pull_like.bind(&ep2).unwrap();
    assert_eq!(recv_string(&mut pull_like), "plain");
}

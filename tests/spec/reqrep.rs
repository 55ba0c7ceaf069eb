//! RFC 28 (REQREP) rules for REQ and REP, over inproc, tcp, ipc and ws.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use isomq::{Context, Error, Flags, Msg, Socket, SocketOption, SocketType};
use isomq_tests::{bind, recv_string, socket, Transport, ALL};

fn frames(s: &mut Socket) -> Vec<Vec<u8>> {
    s.recv_multipart()
        .unwrap()
        .iter()
        .map(Msg::to_vec)
        .collect()
}

// RFC 28: REQ "SHALL route outgoing messages to connected peers using a round-robin
// strategy"; REP "SHALL receive incoming messages from its peers using a fair-queuing
// strategy" and sends each reply to the peer the request came from.
fn round_robin_and_replies(t: Transport) {
    let ctx = Context::new();
    let mut reps = Vec::new();
    let mut req = socket(&ctx, SocketType::Req);
    for _ in 0..2 {
        let mut rep = socket(&ctx, SocketType::Rep);
        let ep = bind(&mut rep, t);
        req.connect(&ep).unwrap();
        reps.push(rep);
    }
    for i in 0..4 {
        req.send(format!("q{i}")).unwrap();
        let rep = &mut reps[i % 2];
        assert_eq!(recv_string(rep), format!("q{i}"), "{t:?}");
        rep.send(format!("r{i}")).unwrap();
        assert_eq!(recv_string(&mut req), format!("r{i}"), "{t:?}");
    }
}

#[test]
fn round_robin_and_replies_all_transports() {
    for t in ALL {
        round_robin_and_replies(t);
    }
}

// RFC 28: REP fair-queues requests from several REQ peers; each reply reaches its sender.
fn rep_serves_several_clients(t: Transport) {
    let ctx = Context::new();
    let mut rep = socket(&ctx, SocketType::Rep);
    let ep = bind(&mut rep, t);
    let mut clients: Vec<Socket> = (0..3)
        .map(|i| {
            let mut c = socket(&ctx, SocketType::Req);
            c.connect(&ep).unwrap();
            c.send(format!("c{i}")).unwrap();
            c
        })
        .collect();
    for _ in 0..3 {
        let q = recv_string(&mut rep);
        rep.send_multipart([q.as_str(), "done"]).unwrap();
    }
    for (i, c) in clients.iter_mut().enumerate() {
        assert_eq!(
            frames(c),
            vec![format!("c{i}").into_bytes(), b"done".to_vec()],
            "{t:?}"
        );
    }
}

#[test]
fn rep_serves_several_clients_all_transports() {
    for t in ALL {
        rep_serves_several_clients(t);
    }
}

// libzmq req.cpp / rep.cpp: send while awaiting a reply, or recv before send, is EFSM; so is
// a REP send before recv.
fn strict_alternation(t: Transport) {
    let ctx = Context::new();
    let mut rep = socket(&ctx, SocketType::Rep);
    let ep = bind(&mut rep, t);
    let mut req = socket(&ctx, SocketType::Req);
    req.connect(&ep).unwrap();
    assert_eq!(req.recv().unwrap_err(), Error::Fsm, "{t:?}");
    assert_eq!(rep.send("early").unwrap_err(), Error::Fsm, "{t:?}");
    req.send("q").unwrap();
    assert_eq!(req.send("again").unwrap_err(), Error::Fsm, "{t:?}");
    assert_eq!(recv_string(&mut rep), "q");
    assert_eq!(rep.recv().unwrap_err(), Error::Fsm, "{t:?}");
    rep.send("r").unwrap();
    assert_eq!(recv_string(&mut req), "r");
}

#[test]
fn strict_alternation_all_transports() {
    for t in ALL {
        strict_alternation(t);
    }
}

// RFC 28: REQ "SHALL prefix the outgoing message with an empty delimiter frame"; ROUTER
// prefixes the sender's routing id; the reply travels back through the same envelope.
fn req_envelope_seen_by_router(t: Transport) {
    let ctx = Context::new();
    let mut router = socket(&ctx, SocketType::Router);
    let ep = bind(&mut router, t);
    let mut req = socket(&ctx, SocketType::Req);
    req.set_option(SocketOption::RoutingId(b"client-1".to_vec()))
        .unwrap();
    req.connect(&ep).unwrap();
    req.send_multipart(["hello", "world"]).unwrap();
    assert_eq!(
        frames(&mut router),
        vec![
            b"client-1".to_vec(),
            Vec::new(),
            b"hello".to_vec(),
            b"world".to_vec()
        ],
        "{t:?}"
    );
    router.send_multipart(["client-1", "", "reply"]).unwrap();
    assert_eq!(recv_string(&mut req), "reply", "{t:?}");
}

#[test]
fn req_envelope_seen_by_router_all_transports() {
    for t in ALL {
        req_envelope_seen_by_router(t);
    }
}

// RFC 28: REP strips "all frames up to and including the empty delimiter" and prepends them
// to the reply: a DEALER sees its own envelope come back.
fn rep_restores_envelope(t: Transport) {
    let ctx = Context::new();
    let mut rep = socket(&ctx, SocketType::Rep);
    let ep = bind(&mut rep, t);
    let mut dealer = socket(&ctx, SocketType::Dealer);
    dealer.connect(&ep).unwrap();
    dealer.send_multipart(["hop2", "hop1", "", "body"]).unwrap();
    assert_eq!(recv_string(&mut rep), "body");
    rep.send("answer").unwrap();
    assert_eq!(
        frames(&mut dealer),
        vec![
            b"hop2".to_vec(),
            b"hop1".to_vec(),
            Vec::new(),
            b"answer".to_vec()
        ],
        "{t:?}"
    );
    // docs/wire.md §6.4: a request without delimiter is silently discarded.
    dealer.send("no-delimiter").unwrap();
    dealer.send_multipart(["", "second"]).unwrap();
    assert_eq!(recv_string(&mut rep), "second", "{t:?}");
}

#[test]
fn rep_restores_envelope_all_transports() {
    for t in ALL {
        rep_restores_envelope(t);
    }
}

// libzmq ZMQ_REQ_CORRELATE + ZMQ_REQ_RELAXED: a new request may be sent before the reply;
// the late reply to the old request is discarded because its request id does not match.
fn correlate_and_relaxed(t: Transport) {
    let ctx = Context::new();
    let mut router = socket(&ctx, SocketType::Router);
    let ep = bind(&mut router, t);
    let mut req = socket(&ctx, SocketType::Req);
    req.set_option(SocketOption::ReqCorrelate(true)).unwrap();
    req.set_option(SocketOption::ReqRelaxed(true)).unwrap();
    req.connect(&ep).unwrap();
    req.send("one").unwrap();
    let first = frames(&mut router);
    req.send("two").unwrap();
    let second = frames(&mut router);
    // [routing id, request id (4 bytes, host order), "", body]
    assert_eq!(
        (first.len(), first[1].len(), &first[2][..]),
        (4, 4, &b""[..])
    );
    let id1 = u32::from_ne_bytes(first[1].clone().try_into().unwrap());
    let id2 = u32::from_ne_bytes(second[1].clone().try_into().unwrap());
    assert_eq!(id2, id1.wrapping_add(1), "{t:?}");
    let mut answer = |req_frames: &[Vec<u8>], body: &str| {
        let mut reply = req_frames[..3].to_vec();
        reply.push(body.as_bytes().to_vec());
        router.send_multipart(reply).unwrap();
    };
    answer(&first, "late");
    answer(&second, "fresh");
    assert_eq!(recv_string(&mut req), "fresh", "{t:?}");
    assert_eq!(req.recv_flags(Flags::DONTWAIT).unwrap_err(), Error::Fsm);
}

#[test]
fn correlate_and_relaxed_all_transports() {
    for t in ALL {
        correlate_and_relaxed(t);
    }
}

// RFC 28: REQ "SHALL accept an incoming message only from the last peer that it sent a
// request to"; stale replies from other peers are dropped.
fn reply_only_from_asked_peer(t: Transport) {
    let ctx = Context::new();
    let mut routers = Vec::new();
    let mut req = socket(&ctx, SocketType::Req);
    req.set_option(SocketOption::RoutingId(b"me".to_vec()))
        .unwrap();
    for _ in 0..2 {
        let mut r = socket(&ctx, SocketType::Router);
        let ep = bind(&mut r, t);
        req.connect(&ep).unwrap();
        routers.push(r);
    }
    req.send("q").unwrap();
    let got = frames(&mut routers[0]);
    assert_eq!(got[2], b"q");
    // The other router answers unasked; then the asked one answers.
    routers[1].send_multipart(["me", "", "stale"]).unwrap();
    routers[0].send_multipart(["me", "", "right"]).unwrap();
    assert_eq!(recv_string(&mut req), "right", "{t:?}");
}

#[test]
fn reply_only_from_asked_peer_all_transports() {
    for t in ALL {
        reply_only_from_asked_peer(t);
    }
}

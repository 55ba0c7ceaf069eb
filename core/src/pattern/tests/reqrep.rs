//! REQ, REP and DEALER (RFC 28/REQREP), with libzmq's req.cpp / rep.cpp / dealer.cpp rules.

use super::{msg, Harness};
use crate::pattern::PatternOption;
use crate::{Error, Msg, SocketType};

/// The REQ's peer answers its pending request with `body` behind an empty delimiter.
fn reply(h: &mut Harness, peer: usize, body: &[u8]) {
    h.peer_send(peer, &[b"", body]);
}

// RFC 28: REQ "SHALL prefix the outgoing message with an empty delimiter frame" and "SHALL
// route outgoing messages to connected peers using a round-robin strategy".
#[test]
fn req_prefixes_a_delimiter_and_round_robins() {
    let mut h = Harness::new(SocketType::Req);
    h.connect(0, 0);
    h.connect(0, 0);
    for (i, peer) in [(0u8, 0), (1, 1), (2, 0)] {
        h.send(&[b"q", &[i]]).unwrap();
        assert_eq!(h.peer_messages(peer), vec![msg(&[b"", b"q", &[i]])]);
        reply(&mut h, peer, &[i]);
        assert_eq!(h.recv().unwrap(), msg(&[&[i]]));
    }
}

// libzmq req.cpp: "If we've sent a request and we still haven't got the reply, we can't send
// another request" (EFSM); "If request wasn't send, we can't wait for reply" (EFSM).
#[test]
fn req_alternates_strictly() {
    let mut h = Harness::new(SocketType::Req);
    let p = h.connect(0, 0);
    assert_eq!(h.pattern.recv(), Err(Error::Fsm));
    assert!(!h.pattern.has_in());
    h.send(&[b"1"]).unwrap();
    assert_eq!(h.send(&[b"2"]), Err(Error::Fsm));
    assert!(!h.pattern.has_out());
    assert_eq!(h.pattern.recv(), Err(Error::Again));
    reply(&mut h, p, b"r1");
    assert!(h.pattern.has_in());
    assert_eq!(h.recv().unwrap(), msg(&[b"r1"]));
    assert_eq!(h.pattern.recv(), Err(Error::Fsm));
    assert!(h.pattern.has_out());
}

// RFC 28: REQ "SHALL accept an incoming message only from the last peer that it sent a
// request to" and "SHALL discard silently any messages received from other peers".
#[test]
fn req_takes_the_reply_only_from_the_peer_it_asked() {
    let mut h = Harness::new(SocketType::Req);
    h.connect(0, 0);
    h.connect(0, 0);
    h.send(&[b"q"]).unwrap();
    reply(&mut h, 1, b"stale");
    assert_eq!(h.pattern.recv(), Err(Error::Again));
    reply(&mut h, 0, b"good");
    assert_eq!(h.recv().unwrap(), msg(&[b"good"]));
}

// RFC 28: REQ "SHALL block on sending, or return a suitable error, when it has no connected
// peers" (libzmq: EAGAIN, the socket blocks).
#[test]
fn req_without_peers_blocks() {
    let mut h = Harness::new(SocketType::Req);
    assert_eq!(h.send(&[b"q"]), Err(Error::Again));
    // Nothing was sent, so the socket may still send, not receive.
    assert_eq!(h.pattern.recv(), Err(Error::Fsm));
    h.connect(0, 0);
    h.send(&[b"q"]).unwrap();
    assert_eq!(h.peer_messages(0), vec![msg(&[b"", b"q"])]);
}

// libzmq ZMQ_REQ_RELAXED: a new request may follow before the reply; req.cpp eats "all
// currently available messages before the request is fully sent".
#[test]
fn req_relaxed_sends_again_and_drops_the_old_reply() {
    let mut h = Harness::new(SocketType::Req);
    h.pattern
        .set_option(&PatternOption::ReqRelaxed(true))
        .unwrap();
    let p = h.connect(0, 0);
    h.send(&[b"a"]).unwrap();
    reply(&mut h, p, b"ra");
    h.send(&[b"b"]).unwrap();
    reply(&mut h, p, b"rb");
    assert_eq!(h.recv().unwrap(), msg(&[b"rb"]));
    assert_eq!(
        h.peer_messages(p),
        vec![msg(&[b"", b"a"]), msg(&[b"", b"b"])]
    );
}

// libzmq ZMQ_REQ_CORRELATE: "prefix each request with an extra frame containing a request
// id" (4 bytes, host order); replies with another id are discarded.
#[test]
fn req_correlate_matches_request_ids() {
    let mut h = Harness::new(SocketType::Req);
    h.pattern
        .set_option(&PatternOption::ReqCorrelate(true))
        .unwrap();
    h.pattern
        .set_option(&PatternOption::ReqRelaxed(true))
        .unwrap();
    let p = h.connect(0, 0);
    h.send(&[b"a"]).unwrap();
    let first = h.peer_messages(p).remove(0);
    assert_eq!(first.len(), 3);
    assert_eq!(first[0].len(), 4);
    assert_eq!(&first[1..], &msg(&[b"", b"a"])[..]);
    h.send(&[b"b"]).unwrap();
    let second = h.peer_messages(p).remove(0);
    let id_a = u32::from_ne_bytes(first[0].clone().try_into().unwrap());
    let id_b = u32::from_ne_bytes(second[0].clone().try_into().unwrap());
    assert_eq!(id_b, id_a.wrapping_add(1));
    // A late reply to "a" is discarded; the reply to "b" is taken.
    h.peer_send(p, &[&first[0], b"", b"ra"]);
    h.peer_send(p, &[&second[0], b"", b"rb"]);
    assert_eq!(h.recv().unwrap(), msg(&[b"rb"]));
}

// libzmq req_session_t::push_msg: a reply whose first frame is not an empty delimiter is a
// protocol error and the connection is closed. Here: the reply is dropped and the pipe to
// that peer terminated; the other peers go on.
#[test]
fn req_cuts_off_a_peer_sending_a_reply_without_delimiter() {
    let mut h = Harness::new(SocketType::Req);
    let bad = h.connect(0, 0);
    let good = h.connect(0, 0);
    h.send(&[b"q"]).unwrap();
    h.peer_send(bad, &[b"no", b"delimiter"]);
    assert_eq!(h.pattern.recv(), Err(Error::Again));
    assert!(h.peers[bad].peer_terminated());
    assert_eq!(h.pattern.pipe_ids(), vec![good as u64]);
    // With the asked peer gone, libzmq takes the reply from whichever peer answers.
    reply(&mut h, good, b"late");
    assert_eq!(h.recv().unwrap(), msg(&[b"late"]));
    h.send(&[b"q2"]).unwrap();
    assert_eq!(h.peer_messages(good), vec![msg(&[b"", b"q2"])]);
}

// RFC 28: REP "SHALL remove and store all frames up to and including the empty delimiter"
// and, on reply, "SHALL prepend the stored envelope".
#[test]
fn rep_restores_the_envelope_on_the_reply() {
    let mut h = Harness::new(SocketType::Rep);
    let p = h.connect(0, 0);
    assert_eq!(h.send(&[b"early"]), Err(Error::Fsm));
    h.peer_send(p, &[b"hop2", b"hop1", b"", b"req", b"2"]);
    assert_eq!(h.recv().unwrap(), msg(&[b"req", b"2"]));
    assert_eq!(h.pattern.recv(), Err(Error::Fsm));
    assert!(h.pattern.has_out());
    h.send(&[b"rep", b"2"]).unwrap();
    assert_eq!(
        h.peer_messages(p),
        vec![msg(&[b"hop2", b"hop1", b"", b"rep", b"2"])]
    );
    assert!(!h.pattern.has_out());
}

// libzmq rep.cpp: "If the traceback stack is malformed, discard anything already sent".
#[test]
fn rep_discards_a_request_without_delimiter() {
    let mut h = Harness::new(SocketType::Rep);
    let p = h.connect(0, 0);
    h.peer_send(p, &[b"no", b"delimiter"]);
    h.peer_send(p, &[b"", b"good"]);
    assert_eq!(h.recv().unwrap(), msg(&[b"good"]));
    h.send(&[b"ok"]).unwrap();
    assert_eq!(h.peer_messages(p), vec![msg(&[b"", b"ok"])]);
}

// RFC 28: REP "SHALL receive incoming messages from its peers using a fair-queuing strategy"
// and replies go back to the peer the request came from.
#[test]
fn rep_fair_queues_and_replies_to_the_sender() {
    let mut h = Harness::new(SocketType::Rep);
    h.connect(0, 0);
    h.connect(0, 0);
    for peer in [0, 1] {
        for i in 0..2u8 {
            h.peer_send(peer, &[b"", &[peer as u8, i]]);
        }
    }
    let mut order = Vec::new();
    for _ in 0..4 {
        let req = h.recv().unwrap().remove(0);
        order.push(req.clone());
        h.send(&[&req]).unwrap();
    }
    assert_eq!(order, vec![vec![0, 0], vec![1, 0], vec![0, 1], vec![1, 1]]);
    assert_eq!(
        h.peer_messages(1),
        vec![msg(&[b"", &[1, 0]]), msg(&[b"", &[1, 1]])]
    );
}

// RFC 28: REP "SHALL silently discard the reply" when the originating peer is gone.
#[test]
fn rep_drops_the_reply_to_a_departed_peer() {
    let mut h = Harness::new(SocketType::Rep);
    let p = h.connect(0, 0);
    h.peer_send(p, &[b"", b"q"]);
    assert_eq!(h.recv().unwrap(), msg(&[b"q"]));
    h.peer_terminate(p);
    h.send(&[b"r", b"2"]).unwrap();
    assert!(h.pattern.pipe_ids().is_empty());
    // Back to receiving.
    assert_eq!(h.pattern.recv(), Err(Error::Again));
}

// RFC 28: DEALER round-robins out, fair-queues in, blocks when no peer can take a message;
// no envelope is added.
#[test]
fn dealer_round_robins_out_and_fair_queues_in() {
    let mut h = Harness::new(SocketType::Dealer);
    h.connect(1, 0);
    h.connect(1, 0);
    h.send(&[b"a", b"1"]).unwrap();
    h.send(&[b"b"]).unwrap();
    assert_eq!(h.send(&[b"c"]), Err(Error::Again));
    assert_eq!(h.peer_messages(0), vec![msg(&[b"a", b"1"])]);
    assert_eq!(h.peer_messages(1), vec![msg(&[b"b"])]);
    h.peer_send(0, &[b"x", b"y"]);
    h.peer_send(1, &[b"z"]);
    h.peer_send(0, &[b"w"]);
    assert_eq!(h.recv().unwrap(), msg(&[b"x", b"y"]));
    assert_eq!(h.recv().unwrap(), msg(&[b"z"]));
    assert_eq!(h.recv().unwrap(), msg(&[b"w"]));
}

// libzmq ZMQ_PROBE_ROUTER: "an empty message is sent to the remote peer" on connect.
#[test]
fn dealer_probe_router_sends_an_empty_message_first() {
    let mut h = Harness::new(SocketType::Dealer);
    h.pattern
        .set_option(&PatternOption::ProbeRouter(true))
        .unwrap();
    let p = h.connect(0, 0);
    h.send(&[b"m"]).unwrap();
    assert_eq!(h.peer_messages(p), vec![msg(&[b""]), msg(&[b"m"])]);
}

// A routing-id message is meant for a ROUTER only; every other type skips it.
#[test]
fn routing_id_messages_are_skipped_by_other_types() {
    for t in [
        SocketType::Dealer,
        SocketType::Rep,
        SocketType::Pull,
        SocketType::Sub,
    ] {
        let mut h = Harness::new(t);
        if t == SocketType::Sub {
            h.pattern
                .set_option(&PatternOption::Subscribe(Vec::new()))
                .unwrap();
        }
        let p = h.connect(0, 0);
        h.peer_send_msg(p, Msg::routing_id(b"peer"));
        let body: &[&[u8]] = if t == SocketType::Rep {
            &[b"", b"data"]
        } else {
            &[b"data"]
        };
        h.peer_send(p, body);
        assert_eq!(h.recv().unwrap(), msg(&[b"data"]), "{t}");
    }
}

//! ROUTER (RFC 28/REQREP), with libzmq's router.cpp rules for routing ids.

use super::{msg, Harness};
use crate::pattern::PatternOption;
use crate::pipe::Pipe;
use crate::{Error, Msg, SocketType};

/// Connects a peer that announces `id` (empty: let the ROUTER generate one).
fn peer_with_id(h: &mut Harness, id: &[u8]) -> usize {
    let p = h.connect(0, 0);
    h.peer_send_msg(p, Msg::routing_id(id));
    p
}

// RFC 28: ROUTER "SHALL prepend a message part containing the identity of the originating
// peer"; libzmq names a peer by its READY Identity, or generates 5 bytes: 0x00 + a 32-bit
// big-endian counter.
#[test]
fn router_prefixes_explicit_and_generated_routing_ids() {
    let mut h = Harness::new(SocketType::Router);
    let a = peer_with_id(&mut h, b"A");
    let anon1 = peer_with_id(&mut h, b"");
    let anon2 = peer_with_id(&mut h, b"");
    h.peer_send(a, &[b"from-a", b"2"]);
    assert_eq!(h.recv().unwrap(), msg(&[b"A", b"from-a", b"2"]));
    h.peer_send(anon1, &[b"x"]);
    let first = h.recv().unwrap();
    h.peer_send(anon2, &[b"y"]);
    let second = h.recv().unwrap();
    assert_eq!((first[0].len(), first[0][0]), (5, 0));
    let n1 = u32::from_be_bytes(first[0][1..].try_into().unwrap());
    let n2 = u32::from_be_bytes(second[0][1..].try_into().unwrap());
    assert_eq!(n2, n1.wrapping_add(1));
    // RFC 28: "SHALL route outgoing messages ... using the identity in the first frame".
    h.send(&[&second[0], b"to-anon2"]).unwrap();
    h.send(&[b"A", b"to-a"]).unwrap();
    assert_eq!(h.peer_messages(anon2), vec![msg(&[b"to-anon2"])]);
    assert_eq!(h.peer_messages(a), vec![msg(&[b"to-a"])]);
    assert!(h.peer_messages(anon1).is_empty());
}

// A peer whose routing id has not arrived yet is not readable; once it arrives it is.
#[test]
fn router_waits_for_the_routing_id() {
    let mut h = Harness::new(SocketType::Router);
    let p = h.connect(0, 0);
    assert!(!h.pattern.has_in());
    assert_eq!(h.send(&[b"B", b"x"]), Ok(()));
    h.peer_send_msg(p, Msg::routing_id(b"B"));
    h.peer_send(p, &[b"hi"]);
    assert_eq!(h.recv().unwrap(), msg(&[b"B", b"hi"]));
    // The earlier message to B was dropped: B was unknown then.
    h.send(&[b"B", b"y"]).unwrap();
    assert_eq!(h.peer_messages(p), vec![msg(&[b"y"])]);
}

// libzmq router.cpp: unknown routing id → dropped, or EHOSTUNREACH with ROUTER_MANDATORY; a
// full peer → dropped, or EAGAIN with ROUTER_MANDATORY; a single frame without MORE is
// "malformed" and silently ignored.
#[test]
fn router_drops_or_refuses_unroutable_messages() {
    let mut h = Harness::new(SocketType::Router);
    let (ours, theirs) = Pipe::pair(0, 1, 0);
    ours.attach(h.events.clone());
    h.pattern.attach(ours);
    h.peers.push(theirs);
    h.peer_send_msg(0, Msg::routing_id(b"P"));
    h.send(&[b"P"]).unwrap();
    h.send(&[b"nobody", b"x"]).unwrap();
    h.send(&[b"P", b"1"]).unwrap();
    h.send(&[b"P", b"2"]).unwrap(); // full: dropped
    assert!(h.pattern.has_out());
    h.pattern
        .set_option(&PatternOption::RouterMandatory(true))
        .unwrap();
    assert!(!h.pattern.has_out());
    let (e, back) = h
        .pattern
        .send(Msg::from("nobody").with_more(true))
        .unwrap_err();
    assert_eq!((e, back.as_slice()), (Error::HostUnreach, &b"nobody"[..]));
    let (e, _) = h.pattern.send(Msg::from("P").with_more(true)).unwrap_err();
    assert_eq!(e, Error::Again);
    assert_eq!(h.peer_messages(0), vec![msg(&[b"1"])]);
    assert!(h.pattern.has_out());
    h.send(&[b"P", b"3"]).unwrap();
    assert_eq!(h.peer_messages(0), vec![msg(&[b"3"])]);
    h.peer_terminate(0);
    let (e, _) = h.pattern.send(Msg::from("P").with_more(true)).unwrap_err();
    assert_eq!(e, Error::HostUnreach);
}

// docs/wire.md §6.3 (libzmq): a second peer announcing a routing id already in
// use is ignored, its messages never read; ROUTER_HANDOVER makes it take the id over.
#[test]
fn router_ignores_a_duplicate_identity_unless_handover() {
    let mut h = Harness::new(SocketType::Router);
    let first = peer_with_id(&mut h, b"same");
    let dup = peer_with_id(&mut h, b"same");
    h.peer_send(dup, &[b"ignored"]);
    h.peer_send(first, &[b"kept"]);
    assert_eq!(h.recv().unwrap(), msg(&[b"same", b"kept"]));
    assert_eq!(h.pattern.recv(), Err(Error::Again));
    h.send(&[b"same", b"r"]).unwrap();
    assert_eq!(h.peer_messages(first), vec![msg(&[b"r"])]);
    assert!(h.peer_messages(dup).is_empty());

    h.pattern
        .set_option(&PatternOption::RouterHandover(true))
        .unwrap();
    h.peer_send(first, &[b"queued"]);
    let taker = peer_with_id(&mut h, b"same");
    assert!(h.peers[first].peer_terminated());
    h.send(&[b"same", b"to-taker"]).unwrap();
    assert_eq!(h.peer_messages(taker), vec![msg(&[b"to-taker"])]);
    // What the old connection had queued is still delivered, under a temporary id.
    let old = h.recv().unwrap();
    assert_eq!((old[0].len(), &old[1][..]), (5, &b"queued"[..]));
}

// libzmq ZMQ_CONNECT_ROUTING_ID: names the peer of the next connect locally; the routing id
// the peer announces later is skipped ("the peer always uses the same routing id").
#[test]
fn router_connect_routing_id_names_the_connected_peer() {
    let mut h = Harness::new(SocketType::Router);
    h.pattern
        .set_option(&PatternOption::ConnectRoutingId(b"local".to_vec()))
        .unwrap();
    // An accepted pipe does not consume it.
    let accepted = peer_with_id(&mut h, b"acc");
    let (ours, theirs) = Pipe::pair(7, 0, 0);
    ours.attach(h.events.clone());
    h.pattern.attach_connected(ours);
    h.peers.push(theirs);
    let connected = h.peers.len() - 1;
    h.send(&[b"local", b"hello"]).unwrap();
    assert_eq!(h.peer_messages(connected), vec![msg(&[b"hello"])]);
    h.peer_send_msg(connected, Msg::routing_id(b"announced"));
    h.peer_send(connected, &[b"back"]);
    assert_eq!(h.recv().unwrap(), msg(&[b"local", b"back"]));
    h.peer_send(accepted, &[b"a"]);
    assert_eq!(h.recv().unwrap(), msg(&[b"acc", b"a"]));
}

// libzmq router.cpp: a routing id arriving again (after a reconnect) is skipped.
#[test]
fn router_skips_a_repeated_routing_id() {
    let mut h = Harness::new(SocketType::Router);
    let p = peer_with_id(&mut h, b"R");
    h.peer_send_msg(p, Msg::routing_id(b"R"));
    h.peer_send(p, &[b"m"]);
    assert_eq!(h.recv().unwrap(), msg(&[b"R", b"m"]));
}

// libzmq ZMQ_PROBE_ROUTER on a ROUTER: an empty message goes to each new peer.
#[test]
fn router_probe_router_sends_an_empty_message() {
    let mut h = Harness::new(SocketType::Router);
    h.pattern
        .set_option(&PatternOption::ProbeRouter(true))
        .unwrap();
    let p = peer_with_id(&mut h, b"X");
    assert_eq!(h.peer_messages(p), vec![msg(&[b""])]);
}

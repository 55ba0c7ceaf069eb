//! PAIR (RFC 31/EXPAIR).

use super::{msg, Harness};
use crate::{Error, Msg, SocketType};

// RFC 31: "MAY be connected to at most one PAIR peers, and MAY both send and receive
// messages." libzmq pair.cpp: "The socket rejects any further connection requests."
#[test]
fn pair_refuses_a_second_pipe() {
    let mut h = Harness::new(SocketType::Pair);
    let first = h.connect(0, 0);
    let second = h.connect(0, 0);
    assert!(h.peers[second].peer_terminated());
    assert_eq!(h.pattern.pipe_ids(), vec![first as u64]);
    h.send(&[b"ping", b"2"]).unwrap();
    assert_eq!(h.peer_messages(first), vec![msg(&[b"ping", b"2"])]);
    h.peer_send(first, &[b"pong"]);
    assert!(h.pattern.has_in());
    assert_eq!(h.recv().unwrap(), msg(&[b"pong"]));
}

// RFC 31: "SHALL consider its peer as available only when it has a outgoing queue that is not
// full", "SHALL block on sending, or return a suitable error, when it has no available peer",
// "SHALL NOT discard messages that it cannot queue."
#[test]
fn pair_blocks_at_hwm_and_without_peer() {
    let mut h = Harness::new(SocketType::Pair);
    assert_eq!(h.send(&[b"x"]), Err(Error::Again));
    assert!(!h.pattern.has_out());
    let p = h.connect(1, 0);
    h.send(&[b"1"]).unwrap();
    assert!(!h.pattern.has_out());
    let (err, back) = h.pattern.send(Msg::from("2")).unwrap_err();
    assert_eq!((err, back), (Error::Again, Msg::from("2")));
    assert_eq!(h.peer_messages(p), vec![msg(&[b"1"])]);
    assert!(h.pattern.has_out());
    h.send(&[b"2"]).unwrap();
    assert_eq!(h.peer_messages(p), vec![msg(&[b"2"])]);
}

// Pipe contract: after Terminated the peer's queued messages are still delivered; then the
// pipe goes and a new peer is accepted.
#[test]
fn pair_reads_what_a_terminated_peer_queued_then_accepts_a_new_one() {
    let mut h = Harness::new(SocketType::Pair);
    let old = h.connect(0, 0);
    h.peer_send(old, &[b"bye", b"now"]);
    h.peer_terminate(old);
    assert_eq!(h.send(&[b"lost?"]), Err(Error::Again));
    // Still draining: a newcomer is refused, as in libzmq.
    let early = h.connect(0, 0);
    assert!(h.peers[early].peer_terminated());
    assert_eq!(h.recv().unwrap(), msg(&[b"bye", b"now"]));
    assert_eq!(h.recv(), Err(Error::Again));
    assert!(h.pattern.pipe_ids().is_empty());
    let new = h.connect(0, 0);
    h.send(&[b"hi"]).unwrap();
    assert_eq!(h.peer_messages(new), vec![msg(&[b"hi"])]);
}

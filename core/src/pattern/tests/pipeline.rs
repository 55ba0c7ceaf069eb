//! PUSH and PULL (RFC 30/PIPELINE), and the lb / fq strategies under them.

use super::{msg, Harness};
use crate::{Error, Msg, SocketType};

// RFC 30: "SHALL route outgoing messages to available peers using a round-robin strategy."
#[test]
fn push_round_robins_over_its_pullers() {
    let mut h = Harness::new(SocketType::Push);
    for _ in 0..3 {
        h.connect(0, 0);
    }
    for i in 0..6u8 {
        h.send(&[&[i]]).unwrap();
    }
    assert_eq!(h.peer_messages(0), vec![msg(&[&[0]]), msg(&[&[3]])]);
    assert_eq!(h.peer_messages(1), vec![msg(&[&[1]]), msg(&[&[4]])]);
    assert_eq!(h.peer_messages(2), vec![msg(&[&[2]]), msg(&[&[5]])]);
}

// libzmq lb.cpp: a multipart message goes to one pipe; "If it's final part of the message we
// can flush it downstream and continue round-robinning".
#[test]
fn push_keeps_a_multipart_message_on_one_pipe() {
    let mut h = Harness::new(SocketType::Push);
    h.connect(0, 0);
    h.connect(0, 0);
    h.send(&[b"a1", b"a2", b"a3"]).unwrap();
    h.send(&[b"b1", b"b2"]).unwrap();
    h.send(&[b"c"]).unwrap();
    assert_eq!(
        h.peer_messages(0),
        vec![msg(&[b"a1", b"a2", b"a3"]), msg(&[b"c"])]
    );
    assert_eq!(h.peer_messages(1), vec![msg(&[b"b1", b"b2"])]);
}

// RFC 30: "SHALL consider a peer as available only when it has a outgoing queue that is not
// full", "SHALL block on sending, or return a suitable error, when it has no available peers",
// "SHALL NOT discard messages that it cannot queue."
#[test]
fn push_skips_full_pipes_and_blocks_when_all_are_full() {
    let mut h = Harness::new(SocketType::Push);
    h.connect(1, 0);
    h.connect(2, 0);
    h.send(&[b"1"]).unwrap(); // pipe 0 (now full)
    h.send(&[b"2"]).unwrap(); // pipe 1
    h.send(&[b"3"]).unwrap(); // pipe 0 full: pipe 1 (now full)
    assert!(!h.pattern.has_out());
    let (err, back) = h.pattern.send(Msg::from("4")).unwrap_err();
    assert_eq!((err, back), (Error::Again, Msg::from("4")));
    // The puller drains pipe 0: ActivateWrite brings it back into the rotation.
    assert_eq!(h.peer_messages(0), vec![msg(&[b"1"])]);
    assert!(h.pattern.has_out());
    h.send(&[b"4"]).unwrap();
    assert_eq!(h.peer_messages(0), vec![msg(&[b"4"])]);
    assert_eq!(h.peer_messages(1), vec![msg(&[b"2"]), msg(&[b"3"])]);
}

// RFC 30: "SHALL block on sending, or return a suitable error, when it has no available peers."
#[test]
fn push_without_pullers_blocks() {
    let mut h = Harness::new(SocketType::Push);
    assert!(!h.pattern.has_out());
    assert_eq!(h.send(&[b"x"]), Err(Error::Again));
    assert_eq!(h.pattern.recv(), Err(Error::NotSup));
}

// libzmq lb.cpp: "If we are in the middle of multipart message and current pipe have
// disconnected, we have to drop the remainder of the message."
#[test]
fn push_drops_the_rest_of_a_message_whose_pipe_died() {
    let mut h = Harness::new(SocketType::Push);
    h.connect(0, 0);
    h.connect(0, 0);
    h.pattern.send(Msg::from("a1").with_more(true)).unwrap();
    h.peer_terminate(0);
    assert_eq!(h.pattern.pipe_ids(), vec![1]);
    h.pattern.send(Msg::from("a2").with_more(true)).unwrap();
    h.pattern.send(Msg::from("a3")).unwrap();
    h.send(&[b"b"]).unwrap();
    assert_eq!(h.peer_messages(1), vec![msg(&[b"b"])]);
}

// RFC 30: "SHALL receive incoming messages from its peers using a fair-queuing strategy."
#[test]
fn pull_fair_queues_across_pushers() {
    let mut h = Harness::new(SocketType::Pull);
    h.connect(0, 0);
    h.connect(0, 0);
    for i in 0..3u8 {
        h.peer_send(0, &[&[b'a', i]]);
    }
    for i in 0..3u8 {
        h.peer_send(1, &[&[b'b', i]]);
    }
    let got: Vec<_> = (0..6).map(|_| h.recv().unwrap()).collect();
    assert_eq!(
        got,
        vec![
            msg(&[b"a\0"]),
            msg(&[b"b\0"]),
            msg(&[b"a\x01"]),
            msg(&[b"b\x01"]),
            msg(&[b"a\x02"]),
            msg(&[b"b\x02"]),
        ]
    );
    assert_eq!(h.recv(), Err(Error::Again));
    assert!(!h.pattern.has_in());
    assert_eq!(h.send(&[b"x"]), Err(Error::NotSup));
}

// libzmq fq.cpp: "If we've already received the first part of the message we should get the
// remaining parts without blocking": a multipart message is taken whole from one pipe.
#[test]
fn pull_delivers_multipart_messages_whole() {
    let mut h = Harness::new(SocketType::Pull);
    h.connect(0, 0);
    h.connect(0, 0);
    h.peer_send(0, &[b"a1", b"a2", b"a3"]);
    h.peer_send(1, &[b"b1", b"b2"]);
    h.peer_send(0, &[b"c"]);
    assert_eq!(h.recv().unwrap(), msg(&[b"a1", b"a2", b"a3"]));
    assert_eq!(h.recv().unwrap(), msg(&[b"b1", b"b2"]));
    assert_eq!(h.recv().unwrap(), msg(&[b"c"]));
}

// Pipe contract: on Terminated, inbound routing keeps the pipe until everything it queued
// was read (libzmq delivers messages that arrived before a disconnect).
#[test]
fn pull_reads_what_a_terminated_pusher_queued() {
    let mut h = Harness::new(SocketType::Pull);
    h.connect(0, 0);
    h.peer_send(0, &[b"1"]);
    h.peer_send(0, &[b"2", b"3"]);
    h.peer_terminate(0);
    assert_eq!(h.pattern.pipe_ids(), vec![0]);
    assert!(h.pattern.has_in());
    assert_eq!(h.recv().unwrap(), msg(&[b"1"]));
    assert_eq!(h.recv().unwrap(), msg(&[b"2", b"3"]));
    assert_eq!(h.recv(), Err(Error::Again));
    assert!(h.pattern.pipe_ids().is_empty());
}

// A pusher that terminates with nothing queued is dropped at once.
#[test]
fn pull_drops_an_empty_terminated_pipe_at_once() {
    let mut h = Harness::new(SocketType::Pull);
    h.connect(0, 0);
    h.connect(0, 0);
    h.peer_terminate(1);
    assert_eq!(h.pattern.pipe_ids(), vec![0]);
    h.pattern.terminate_pipe(0);
    assert!(h.pattern.pipe_ids().is_empty());
    // The peer learns that we are gone.
    assert!(h.peers[0].peer_terminated());
}

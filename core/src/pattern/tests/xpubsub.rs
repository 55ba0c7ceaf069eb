//! XPUB and XSUB (RFC 29/PUBSUB with libzmq's extensions).

use super::{msg, Harness};
use crate::pattern::PatternOption;
use crate::{Error, Msg, SocketType};

fn all_received(h: &mut Harness) -> Vec<Vec<Vec<u8>>> {
    std::iter::from_fn(|| h.recv().ok()).collect()
}

// RFC 29 (XPUB): "SHALL deliver these commands to its calling application" and "MAY, depending
// on configuration, normalize commands delivered to its calling application so that multiple
// identical subscriptions result in a single command only". libzmq: de-duplicated unless
// XPUB_VERBOSE; the unsubscribe is passed on when the last holder cancels.
#[test]
fn xpub_passes_on_unique_subscriptions() {
    let mut h = Harness::new(SocketType::XPub);
    let a = h.connect(0, 0);
    let b = h.connect(0, 0);
    h.peer_send_msg(a, Msg::subscribe(b"t"));
    h.peer_send_msg(b, Msg::subscribe(b"t"));
    h.peer_send(b, &[b"\x01t"]);
    assert!(h.pattern.has_in());
    assert_eq!(all_received(&mut h), vec![msg(&[b"\x01t"])]);
    h.peer_send_msg(a, Msg::cancel(b"t"));
    assert!(!h.pattern.has_in());
    h.peer_send(b, &[b"\x00t"]);
    assert_eq!(all_received(&mut h), vec![msg(&[b"\x00t"])]);
}

// libzmq XPUB_VERBOSE: every subscription is passed on; XPUB_VERBOSER: every unsubscription
// too.
#[test]
fn xpub_verbose_and_verboser_pass_on_duplicates() {
    let mut h = Harness::new(SocketType::XPub);
    h.pattern
        .set_option(&PatternOption::XpubVerbose(true))
        .unwrap();
    let a = h.connect(0, 0);
    let b = h.connect(0, 0);
    h.peer_send_msg(a, Msg::subscribe(b"t"));
    h.peer_send_msg(b, Msg::subscribe(b"t"));
    h.peer_send_msg(a, Msg::cancel(b"t"));
    assert_eq!(
        all_received(&mut h),
        vec![msg(&[b"\x01t"]), msg(&[b"\x01t"])]
    );
    h.pattern
        .set_option(&PatternOption::XpubVerboser(true))
        .unwrap();
    h.peer_send_msg(a, Msg::subscribe(b"t"));
    h.peer_send_msg(a, Msg::cancel(b"t"));
    assert_eq!(
        all_received(&mut h),
        vec![msg(&[b"\x01t"]), msg(&[b"\x00t"])]
    );
}

// RFC 29 (XPUB): "SHALL, if the subscriber peer disconnects prematurely, generate a suitable
// unsubscribe request for the calling application" (libzmq: for the topics nobody else holds).
#[test]
fn xpub_synthesises_unsubscriptions_when_a_subscriber_goes() {
    let mut h = Harness::new(SocketType::XPub);
    let a = h.connect(0, 0);
    let b = h.connect(0, 0);
    h.peer_send_msg(a, Msg::subscribe(b"only-a"));
    h.peer_send_msg(a, Msg::subscribe(b"shared"));
    h.peer_send_msg(b, Msg::subscribe(b"shared"));
    assert_eq!(all_received(&mut h).len(), 2);
    // A's last subscription is still read before it is dropped.
    h.peer_send_msg(a, Msg::subscribe(b"late"));
    h.peer_terminate(a);
    let mut got = all_received(&mut h);
    got.sort();
    assert_eq!(
        got,
        vec![
            msg(&[b"\x00late"]),
            msg(&[b"\x00only-a"]),
            msg(&[b"\x01late"])
        ]
    );
    assert_eq!(h.pattern.pipe_ids(), vec![b as u64]);
    // A local disconnect does the same.
    h.pattern.terminate_pipe(b as u64);
    assert_eq!(all_received(&mut h), vec![msg(&[b"\x00shared"])]);
}

// RFC 29 (XPUB): "SHALL receive incoming messages from its subscribers ... SHALL deliver these
// messages to its calling application": user messages sent upstream by an XSUB pass through.
#[test]
fn xpub_passes_on_user_messages_from_subscribers() {
    let mut h = Harness::new(SocketType::XPub);
    let a = h.connect(0, 0);
    h.peer_send(a, &[b"hello", b"\x01not-a-subscription"]);
    assert_eq!(
        all_received(&mut h),
        vec![msg(&[b"hello", b"\x01not-a-subscription"])]
    );
}

// libzmq ZMQ_ONLY_FIRST_SUBSCRIBE: frames after the first are subscriptions only when the
// first frame was one; without it every 0x01 frame is one.
#[test]
fn xpub_only_first_subscribe() {
    let mut h = Harness::new(SocketType::XPub);
    let a = h.connect(0, 0);
    h.peer_send(a, &[b"\x01x", b"\x01y"]);
    assert_eq!(
        all_received(&mut h),
        vec![msg(&[b"\x01x"]), msg(&[b"\x01y"])]
    );
    h.pattern
        .set_option(&PatternOption::OnlyFirstSubscribe(true))
        .unwrap();
    h.peer_send(a, &[b"data", b"\x01z"]);
    assert_eq!(all_received(&mut h), vec![msg(&[b"data", b"\x01z"])]);
}

// libzmq ZMQ_XPUB_NODROP: send returns EAGAIN instead of dropping when a matching subscriber
// is full (docs/wire.md §6.1); it works again once the subscriber has read.
#[test]
fn xpub_nodrop_blocks_at_hwm() {
    let mut h = Harness::new(SocketType::XPub);
    h.pattern
        .set_option(&PatternOption::XpubNodrop(true))
        .unwrap();
    let a = h.connect(1, 0);
    h.peer_send_msg(a, Msg::subscribe(b""));
    h.send(&[b"1"]).unwrap();
    let (err, back) = h.pattern.send(Msg::from("2")).unwrap_err();
    assert_eq!((err, back), (Error::Again, Msg::from("2")));
    assert_eq!(h.peer_messages(a), vec![msg(&[b"1"])]);
    h.send(&[b"2"]).unwrap();
    assert_eq!(h.peer_messages(a), vec![msg(&[b"2"])]);
}

// docs/wire.md §6.2 (libzmq): a user message whose first byte is 0x01/0x00 updates XSUB's
// subscriptions and is forwarded unchanged as a data frame, even to 3.1 peers; only XSUB's
// own replays (new peer, reconnect) go out as SUBSCRIBE commands. RFC 29 (XSUB): "SHALL send
// all messages to all connected publishers".
#[test]
fn xsub_forwards_raw_subscriptions_as_data_frames() {
    let mut h = Harness::new(SocketType::XSub);
    let a = h.connect(0, 0);
    let b = h.connect(0, 0);
    h.send(&[b"\x01t"]).unwrap();
    h.send(&[b"\x01t"]).unwrap();
    h.send(&[b"\x00t"]).unwrap(); // refcount 2 -> 1: not forwarded
    h.send(&[b"upstream"]).unwrap();
    for p in [a, b] {
        let frames = h.peer_frames(p);
        assert!(frames.iter().all(|f| !f.is_subscribe() && !f.is_cancel()));
        let payloads: Vec<_> = frames.iter().map(Msg::to_vec).collect();
        assert_eq!(payloads, msg(&[b"\x01t", b"\x01t", b"upstream"]));
    }
    h.send(&[b"\x00t"]).unwrap(); // refcount 1 -> 0: forwarded
    assert_eq!(h.peer_messages(a), vec![msg(&[b"\x00t"])]);
    assert!(h.pattern.has_out());
}

// libzmq xsub.cpp: a new pipe receives the cached subscriptions as subscribe commands; XSUB
// does not filter what it receives (RFC 29: "SHALL not modify incoming messages").
#[test]
fn xsub_replays_subscriptions_and_receives_unfiltered() {
    let mut h = Harness::new(SocketType::XSub);
    h.send(&[b"\x01t"]).unwrap();
    let a = h.connect(0, 0);
    let frames = h.peer_frames(a);
    assert_eq!(frames, vec![Msg::subscribe(b"t")]);
    h.peer_send(a, &[b"anything", b"else"]);
    assert!(h.pattern.has_in());
    assert_eq!(h.recv().unwrap(), msg(&[b"anything", b"else"]));
}

// libzmq dist.cpp: "If we are in the middle of sending a message, we'll add new pipe into the
// list of eligible pipes": a publisher attached mid-message gets none of that message (each
// pipe gets a whole message or nothing) but gets the next one.
#[test]
fn xsub_pipe_attached_mid_message_gets_the_next_message_only() {
    let mut h = Harness::new(SocketType::XSub);
    let a = h.connect(0, 0);
    h.pattern.send(Msg::from("m1").with_more(true)).unwrap();
    let late = h.connect(0, 0);
    h.pattern.send(Msg::from("m2")).unwrap();
    h.send(&[b"next"]).unwrap();
    assert_eq!(
        h.peer_messages(a),
        vec![msg(&[b"m1", b"m2"]), msg(&[b"next"])]
    );
    assert_eq!(h.peer_messages(late), vec![msg(&[b"next"])]);
}

//! PUB and SUB (RFC 29/PUBSUB), dist and the subscription tries under them.

use super::{msg, Harness};
use crate::pattern::PatternOption;
use crate::{Error, Msg, SocketType};

/// Payloads of the frames, for frames that are all subscribe/cancel commands.
fn commands(frames: &[Msg]) -> Vec<(&'static str, Vec<u8>)> {
    frames
        .iter()
        .map(|m| {
            let kind = if m.is_subscribe() {
                "sub"
            } else if m.is_cancel() {
                "cancel"
            } else {
                "data"
            };
            (kind, m.to_vec())
        })
        .collect()
}

// RFC 29 (PUB): "SHALL perform a binary comparison of the subscription against the start of
// the first frame of the message"; later frames follow the first. An empty subscription
// matches everything.
#[test]
fn pub_filters_by_prefix_of_the_first_frame() {
    let mut h = Harness::new(SocketType::Pub);
    let a = h.connect(0, 0);
    let all = h.connect(0, 0);
    let b = h.connect(0, 0);
    let none = h.connect(0, 0);
    h.peer_send_msg(a, Msg::subscribe(b"a"));
    h.peer_send_msg(all, Msg::subscribe(b""));
    h.peer_send_msg(b, Msg::subscribe(b"b"));
    h.send(&[b"apple", b"b-second-frame"]).unwrap();
    h.send(&[b"banana"]).unwrap();
    h.send(&[b"cherry"]).unwrap();
    assert_eq!(
        h.peer_messages(a),
        vec![msg(&[b"apple", b"b-second-frame"])]
    );
    assert_eq!(
        h.peer_messages(all),
        vec![
            msg(&[b"apple", b"b-second-frame"]),
            msg(&[b"banana"]),
            msg(&[b"cherry"])
        ]
    );
    assert_eq!(h.peer_messages(b), vec![msg(&[b"banana"])]);
    assert!(h.peer_messages(none).is_empty());
}

// docs/wire.md §6.2: libzmq keeps a per-prefix *set* of peers, so per peer a subscription is
// idempotent: a peer that subscribes to A twice and cancels A once is unsubscribed.
// Overlapping subscriptions of one peer still deliver a message once.
#[test]
fn pub_subscriptions_are_a_set_per_pipe() {
    let mut h = Harness::new(SocketType::Pub);
    let p = h.connect(0, 0);
    h.peer_send_msg(p, Msg::subscribe(b"a"));
    h.peer_send_msg(p, Msg::subscribe(b"a"));
    h.peer_send_msg(p, Msg::subscribe(b""));
    h.send(&[b"ab"]).unwrap();
    assert_eq!(h.peer_messages(p), vec![msg(&[b"ab"])]);
    h.peer_send_msg(p, Msg::cancel(b""));
    h.peer_send_msg(p, Msg::cancel(b"a"));
    h.send(&[b"ab"]).unwrap();
    assert!(h.peer_messages(p).is_empty());
}

// docs/wire.md §6.2: PUB and XPUB accept both forms of subscription: data frames
// `0x01 topic` / `0x00 topic` as well as commands.
#[test]
fn pub_accepts_data_frame_subscriptions() {
    let mut h = Harness::new(SocketType::Pub);
    let p = h.connect(0, 0);
    h.peer_send(p, &[b"\x01news"]);
    h.send(&[b"news!"]).unwrap();
    h.peer_send(p, &[b"\x00news"]);
    h.send(&[b"news?"]).unwrap();
    assert_eq!(h.peer_messages(p), vec![msg(&[b"news!"])]);
}

// RFC 29 (PUB): "SHALL silently drop the message if the queue for a subscriber is full" and
// "SHALL NOT block on sending"; the other subscribers still receive it. A multipart message
// reaches a subscriber whole or not at all (libzmq dist.cpp).
#[test]
fn pub_drops_for_a_full_subscriber_only() {
    let mut h = Harness::new(SocketType::Pub);
    let slow = h.connect(1, 0);
    let fast = h.connect(0, 0);
    h.peer_send_msg(slow, Msg::subscribe(b""));
    h.peer_send_msg(fast, Msg::subscribe(b""));
    h.send(&[b"1"]).unwrap();
    h.send(&[b"2a", b"2b"]).unwrap();
    h.send(&[b"3"]).unwrap();
    assert!(h.pattern.has_out());
    assert_eq!(h.peer_messages(slow), vec![msg(&[b"1"])]);
    h.send(&[b"4"]).unwrap();
    assert_eq!(h.peer_messages(slow), vec![msg(&[b"4"])]);
    assert_eq!(
        h.peer_messages(fast),
        vec![
            msg(&[b"1"]),
            msg(&[b"2a", b"2b"]),
            msg(&[b"3"]),
            msg(&[b"4"])
        ]
    );
}

// RFC 29 (PUB): "SHALL silently discard any messages that subscribers send it" and "SHALL
// only send messages" (recv is ENOTSUP in libzmq).
#[test]
fn pub_discards_messages_from_subscribers() {
    let mut h = Harness::new(SocketType::Pub);
    let p = h.connect(0, 0);
    h.peer_send(p, &[b"hello"]);
    assert!(!h.pattern.has_in());
    assert_eq!(h.pattern.recv(), Err(Error::NotSup));
}

// docs/wire.md §6.2: every subscribe is sent on, duplicates included; a cancel only when the
// local reference count drops to 0.
#[test]
fn sub_counts_subscriptions_and_cancels_at_zero() {
    let mut h = Harness::new(SocketType::Sub);
    let p = h.connect(0, 0);
    let sub = |t: &[u8]| PatternOption::Subscribe(t.to_vec());
    let unsub = |t: &[u8]| PatternOption::Unsubscribe(t.to_vec());
    h.pattern.set_option(&sub(b"a")).unwrap();
    h.pattern.set_option(&sub(b"a")).unwrap();
    h.pattern.set_option(&unsub(b"a")).unwrap();
    let frames = h.peer_frames(p);
    assert_eq!(
        commands(&frames),
        vec![("sub", b"a".to_vec()), ("sub", b"a".to_vec())]
    );
    h.pattern.set_option(&unsub(b"a")).unwrap();
    // Unsubscribing what is not subscribed sends nothing.
    h.pattern.set_option(&unsub(b"zz")).unwrap();
    let frames = h.peer_frames(p);
    assert_eq!(commands(&frames), vec![("cancel", b"a".to_vec())]);
}

// RFC 29 (SUB): "MAY, depending on the transport, filter messages according to subscriptions,
// using a prefix match algorithm" (libzmq does, on the first frame; the following frames of a
// matching message are delivered, those of a non-matching one dropped).
#[test]
fn sub_filters_received_messages_locally() {
    let mut h = Harness::new(SocketType::Sub);
    let p = h.connect(0, 0);
    h.pattern
        .set_option(&PatternOption::Subscribe(b"a".to_vec()))
        .unwrap();
    h.peer_send(p, &[b"banana", b"apple-part"]);
    h.peer_send(p, &[b"apple", b"banana-part"]);
    h.peer_send(p, &[b"cherry"]);
    assert!(h.pattern.has_in());
    assert_eq!(h.recv().unwrap(), msg(&[b"apple", b"banana-part"]));
    assert!(!h.pattern.has_in());
    assert_eq!(h.recv(), Err(Error::Again));
    assert_eq!(h.send(&[b"x"]), Err(Error::NotSup));
    assert!(!h.pattern.has_out());
}

// libzmq xsub.cpp (xattach_pipe, xhiccuped): "Send all the cached subscriptions to the new
// upstream peer", and again when the connection behind a pipe is re-established.
#[test]
fn sub_sends_its_subscriptions_to_new_pipes_and_after_a_hiccup() {
    let mut h = Harness::new(SocketType::Sub);
    let first = h.connect(0, 0);
    for t in [&b"a"[..], b"a", b"b"] {
        h.pattern
            .set_option(&PatternOption::Subscribe(t.to_vec()))
            .unwrap();
    }
    assert_eq!(h.peer_frames(first).len(), 3);
    let second = h.connect(0, 0);
    let replay = vec![("sub", b"a".to_vec()), ("sub", b"b".to_vec())];
    assert_eq!(commands(&h.peer_frames(second)), replay);
    h.pattern.hiccup(first as u64);
    assert_eq!(commands(&h.peer_frames(first)), replay);
    assert!(h.peer_frames(second).is_empty());
}

// Pipe contract: Terminated leaves the messages already queued readable.
#[test]
fn sub_reads_what_a_terminated_publisher_queued() {
    let mut h = Harness::new(SocketType::Sub);
    let p = h.connect(0, 0);
    h.pattern
        .set_option(&PatternOption::Subscribe(Vec::new()))
        .unwrap();
    h.peer_send(p, &[b"last words"]);
    h.peer_terminate(p);
    assert_eq!(h.recv().unwrap(), msg(&[b"last words"]));
    assert_eq!(h.recv(), Err(Error::Again));
    assert!(h.pattern.pipe_ids().is_empty());
    // With nothing attached, a subscription goes nowhere and is kept for later pipes.
    h.pattern
        .set_option(&PatternOption::Subscribe(b"x".to_vec()))
        .unwrap();
}

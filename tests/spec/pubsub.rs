//! RFC 29 (PUBSUB) rules for PUB and SUB, and libzmq's behaviour where it differs
//! (docs/wire.md §6.2), over inproc, tcp, ipc and ws.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use isomq::{Context, Error, Flags, SocketOption, SocketType};
use isomq_tests::{bind, recv_string, socket, sync_subscription, Transport, ALL};

// RFC 29: SUB "SHALL deliver messages whose first frame matches a subscription (prefix
// match)"; PUB "SHALL silently drop the message" for a subscriber with no matching
// subscription.
fn prefix_filtering(t: Transport) {
    let ctx = Context::new();
    let mut publisher = socket(&ctx, SocketType::Pub);
    let ep = bind(&mut publisher, t);
    let mut sub = socket(&ctx, SocketType::Sub);
    sub.subscribe("A").unwrap();
    sub.connect(&ep).unwrap();
    sync_subscription(&mut publisher, &mut sub, b"A-sync");
    for m in ["A1", "B1", "AB", "", "a1", "A2"] {
        publisher.send(m).unwrap();
    }
    publisher.send("A-end").unwrap();
    let got: Vec<String> = (0..4).map(|_| recv_string(&mut sub)).collect();
    assert_eq!(got, ["A1", "AB", "A2", "A-end"], "{t:?}");
}

#[test]
fn prefix_filtering_all_transports() {
    for t in ALL {
        prefix_filtering(t);
    }
}

// RFC 29: matching looks at the first frame only; "the remaining frames of a matching
// message are delivered with it".
fn multipart_follows_first_frame(t: Transport) {
    let ctx = Context::new();
    let mut publisher = socket(&ctx, SocketType::Pub);
    let ep = bind(&mut publisher, t);
    let mut sub = socket(&ctx, SocketType::Sub);
    sub.subscribe("cpu").unwrap();
    sub.connect(&ep).unwrap();
    sync_subscription(&mut publisher, &mut sub, b"cpu-sync");
    publisher.send_multipart(["mem", "cpu-in-body"]).unwrap();
    publisher.send_multipart(["cpu", "42", "x"]).unwrap();
    let frames = sub.recv_multipart().unwrap();
    let frames: Vec<&[u8]> = frames.iter().map(|f| f.as_slice()).collect();
    assert_eq!(frames, [&b"cpu"[..], b"42", b"x"], "{t:?}");
}

#[test]
fn multipart_follows_first_frame_all_transports() {
    for t in ALL {
        multipart_follows_first_frame(t);
    }
}

// RFC 29: "an empty subscription matches all messages"; unsubscribing removes it.
// libzmq: the SUB keeps a refcount and sends CANCEL only when it drops to zero.
fn empty_subscription_and_refcount(t: Transport) {
    let ctx = Context::new();
    let mut publisher = socket(&ctx, SocketType::Pub);
    let ep = bind(&mut publisher, t);
    let mut sub = socket(&ctx, SocketType::Sub);
    sub.subscribe("").unwrap();
    sub.subscribe("").unwrap();
    sub.connect(&ep).unwrap();
    sync_subscription(&mut publisher, &mut sub, b"any");
    publisher.send("zzz").unwrap();
    assert_eq!(recv_string(&mut sub), "zzz");
    // One of two references removed: still subscribed.
    sub.unsubscribe("").unwrap();
    sub.subscribe("keep").unwrap();
    sync_subscription(&mut publisher, &mut sub, b"keep-sync");
    publisher.send("yyy").unwrap();
    assert_eq!(
        recv_string(&mut sub),
        "yyy",
        "{t:?}: refcounted subscription lost"
    );
    // Last reference removed: only "keep" remains.
    sub.unsubscribe("").unwrap();
    // A topic nothing else matches proves the CANCEL before it has arrived too.
    sub.subscribe("zz").unwrap();
    sync_subscription(&mut publisher, &mut sub, b"zz-sync");
    publisher.send("xxx").unwrap();
    publisher.send("keep-last").unwrap();
    assert_eq!(recv_string(&mut sub), "keep-last", "{t:?}");
}

#[test]
fn empty_subscription_and_refcount_all_transports() {
    for t in ALL {
        empty_subscription_and_refcount(t);
    }
}

// RFC 29: PUB "SHALL NOT block on sending"; with no subscribers messages are dropped.
// PUB cannot receive (libzmq: ENOTSUP), SUB cannot send.
#[test]
fn pub_never_blocks_and_directions() {
    let ctx = Context::new();
    let mut publisher = socket(&ctx, SocketType::Pub);
    bind(&mut publisher, Transport::Tcp);
    for _ in 0..10_000 {
        publisher.send_flags("drop me", Flags::DONTWAIT).unwrap();
    }
    assert_eq!(publisher.recv_flags(Flags::DONTWAIT), Err(Error::NotSup));
    let mut sub = socket(&ctx, SocketType::Sub);
    assert_eq!(sub.send_flags("x", Flags::DONTWAIT), Err(Error::NotSup));
}

// RFC 29: "SHALL deliver each message to all subscribers with a matching subscription".
fn fan_out(t: Transport) {
    let ctx = Context::new();
    let mut publisher = socket(&ctx, SocketType::Pub);
    let ep = bind(&mut publisher, t);
    let mut subs: Vec<_> = ["a", "b", ""]
        .iter()
        .map(|topic| {
            let mut s = socket(&ctx, SocketType::Sub);
            s.subscribe(topic).unwrap();
            s.subscribe("sync").unwrap();
            s.connect(&ep).unwrap();
            s
        })
        .collect();
    for s in subs.iter_mut() {
        sync_subscription(&mut publisher, s, b"sync");
    }
    publisher.send("a1").unwrap();
    publisher.send("b1").unwrap();
    publisher.send("sync-end").unwrap();
    let collect = |s: &mut isomq::Socket| {
        let mut v = Vec::new();
        loop {
            let m = recv_string(s);
            if m == "sync-end" {
                return v;
            }
            // Probes and fences of the later syncs reach every subscriber of "sync".
            if !m.starts_with("sync") {
                v.push(m);
            }
        }
    };
    assert_eq!(collect(&mut subs[0]), ["a1"], "{t:?}");
    assert_eq!(collect(&mut subs[1]), ["b1"], "{t:?}");
    assert_eq!(collect(&mut subs[2]), ["a1", "b1"], "{t:?}");
}

#[test]
fn fan_out_all_transports() {
    for t in ALL {
        fan_out(t);
    }
}

// libzmq: after a reconnect, SUB re-sends all its subscriptions (the pipe is "hiccuped").
// The publisher side goes away and comes back on the same endpoint.
fn resubscribe_after_reconnect(t: Transport) {
    let ctx = Context::new();
    let mut publisher = socket(&ctx, SocketType::Pub);
    let ep = bind(&mut publisher, t);
    let mut sub = socket(&ctx, SocketType::Sub);
    sub.set_option(SocketOption::ReconnectIvl(Some(Duration::from_millis(10))))
        .unwrap();
    sub.subscribe("t").unwrap();
    sub.connect(&ep).unwrap();
    sync_subscription(&mut publisher, &mut sub, b"t-sync");
    drop(publisher);
    let mut publisher = socket(&ctx, SocketType::Pub);
    publisher.bind(&ep).unwrap();
    sync_subscription(&mut publisher, &mut sub, b"t-again");
    publisher.send("t-after").unwrap();
    assert_eq!(recv_string(&mut sub), "t-after", "{t:?}");
}

#[test]
fn resubscribe_after_reconnect_tcp_ipc() {
    for t in [Transport::Tcp, Transport::Ipc] {
        resubscribe_after_reconnect(t);
    }
}

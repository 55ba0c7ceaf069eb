//! XPUB and XSUB: subscriptions as messages (RFC 29, and libzmq's xpub.cpp / xsub.cpp
//! behaviour described in docs/wire.md §6.2), over inproc, tcp, ipc and ws.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use isomq::{Context, Flags, SocketOption, SocketType};
use isomq_tests::{bind, recv_string, socket, sync_subscription, Transport, ALL};

// RFC 29: XPUB "SHALL deliver subscription messages to the calling application", as
// `0x01 topic`; unsubscriptions as `0x00 topic`. libzmq de-duplicates them unless
// XPUB_VERBOSE.
fn xpub_sees_subscriptions(t: Transport) {
    let ctx = Context::new();
    let mut xpub = socket(&ctx, SocketType::XPub);
    let ep = bind(&mut xpub, t);
    let mut sub1 = socket(&ctx, SocketType::Sub);
    sub1.connect(&ep).unwrap();
    sub1.subscribe("news").unwrap();
    assert_eq!(xpub.recv().unwrap().as_slice(), b"\x01news", "{t:?}");
    let mut sub2 = socket(&ctx, SocketType::Sub);
    sub2.connect(&ep).unwrap();
    sub2.subscribe("news").unwrap();
    sub2.subscribe("other").unwrap();
    // The duplicate "news" is not passed on; "other" is.
    assert_eq!(xpub.recv().unwrap().as_slice(), b"\x01other", "{t:?}");
    // Data sent through XPUB reaches matching subscribers.
    xpub.send("news: hello").unwrap();
    assert_eq!(recv_string(&mut sub1), "news: hello");
    assert_eq!(recv_string(&mut sub2), "news: hello");
    // When the last holder of a topic goes, XPUB says so.
    sub2.unsubscribe("other").unwrap();
    assert_eq!(xpub.recv().unwrap().as_slice(), b"\x00other", "{t:?}");
}

#[test]
fn xpub_sees_subscriptions_all_transports() {
    for t in ALL {
        xpub_sees_subscriptions(t);
    }
}

// libzmq: with XPUB_VERBOSE every subscription is passed on, duplicates included.
#[test]
fn xpub_verbose_passes_duplicates() {
    let ctx = Context::new();
    for t in ALL {
        let mut xpub = socket(&ctx, SocketType::XPub);
        xpub.set_option(SocketOption::XpubVerbose(true)).unwrap();
        let ep = bind(&mut xpub, t);
        let mut a = socket(&ctx, SocketType::Sub);
        a.connect(&ep).unwrap();
        a.subscribe("x").unwrap();
        let mut b = socket(&ctx, SocketType::Sub);
        b.connect(&ep).unwrap();
        b.subscribe("x").unwrap();
        assert_eq!(xpub.recv().unwrap().as_slice(), b"\x01x", "{t:?}");
        assert_eq!(xpub.recv().unwrap().as_slice(), b"\x01x", "{t:?}");
    }
}

// libzmq: when a subscriber disconnects, XPUB synthesises `0x00 topic` for the prefixes
// nobody else holds.
fn xpub_unsubscribes_departed_peer(t: Transport) {
    let ctx = Context::new();
    let mut xpub = socket(&ctx, SocketType::XPub);
    let ep = bind(&mut xpub, t);
    let mut sub = socket(&ctx, SocketType::Sub);
    sub.connect(&ep).unwrap();
    sub.subscribe("gone").unwrap();
    assert_eq!(xpub.recv().unwrap().as_slice(), b"\x01gone");
    drop(sub);
    assert_eq!(xpub.recv().unwrap().as_slice(), b"\x00gone", "{t:?}");
}

#[test]
fn xpub_unsubscribes_departed_peer_all_transports() {
    for t in ALL {
        xpub_unsubscribes_departed_peer(t);
    }
}

// RFC 29: XSUB subscribes by sending `0x01 topic`, and receives without filtering of its
// own. libzmq XSUB forwards the subscription to every publisher.
fn xsub_subscribes_by_message(t: Transport) {
    let ctx = Context::new();
    let mut publisher = socket(&ctx, SocketType::XPub);
    let ep = bind(&mut publisher, t);
    let mut xsub = socket(&ctx, SocketType::XSub);
    xsub.connect(&ep).unwrap();
    xsub.send(b"\x01temp".to_vec()).unwrap();
    assert_eq!(publisher.recv().unwrap().as_slice(), b"\x01temp", "{t:?}");
    publisher.send("humidity 3").unwrap();
    publisher.send("temp 21").unwrap();
    assert_eq!(recv_string(&mut xsub), "temp 21", "{t:?}");
    assert!(xsub.recv_flags(Flags::DONTWAIT).is_err());
}

#[test]
fn xsub_subscribes_by_message_all_transports() {
    for t in ALL {
        xsub_subscribes_by_message(t);
    }
}

// An XSUB/XPUB pair forwards subscriptions upstream: the proxy pattern (libzmq's
// zmq_proxy over XSUB/XPUB), driven by hand here.
#[test]
fn xsub_xpub_forwarder() {
    let ctx = Context::new();
    let t = Transport::Tcp;
    let mut upstream = socket(&ctx, SocketType::Pub);
    let up_ep = bind(&mut upstream, t);
    let mut xsub = socket(&ctx, SocketType::XSub);
    xsub.connect(&up_ep).unwrap();
    let mut xpub = socket(&ctx, SocketType::XPub);
    let down_ep = bind(&mut xpub, t);
    let mut sub = socket(&ctx, SocketType::Sub);
    sub.connect(&down_ep).unwrap();
    sub.subscribe("k").unwrap();
    // Subscription flows downstream → upstream.
    let s = xpub.recv().unwrap();
    assert_eq!(s.as_slice(), b"\x01k");
    xsub.send(s).unwrap();
    // Data flows upstream → downstream, once the forwarded subscription has reached the
    // upstream publisher.
    sync_subscription(&mut upstream, &mut xsub, b"k0");
    upstream.send("k1").unwrap();
    let m = xsub.recv().unwrap();
    assert_eq!(m.as_slice(), b"k1");
    xpub.send(m).unwrap();
    assert_eq!(recv_string(&mut sub), "k1");
}

//! A sender that closes right after sending: everything it accepted arrives, in order, over
//! every transport. libzmq's rule (zmq_setsockopt(3), ZMQ_LINGER): "the linger period
//! determines how long pending messages which have yet to be sent to a peer shall linger in
//! memory after a socket is closed"; with a linger of -1 (the default) nothing pending is
//! dropped. Volume matters: a loss at the end of a stream shows only when the stream is long
//! enough to be still in flight at close (docs/wire.md §7.2).

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::thread;

use isomq::{Context, Socket, SocketOption, SocketType};
use isomq_tests::{bind, socket, sync_subscription, Transport, ALL};

/// Messages per stream: enough that the tail is still queued when the sender closes.
const N: u32 = 100_000;

/// The receiving side: `n` messages, each its sequence number (in the last frame, after a
/// ROUTER's routing id), in order.
fn expect_sequence(rx: &mut Socket, n: u32, t: Transport, what: &str) {
    for i in 0..n {
        let frames = match rx.recv_multipart() {
            Ok(f) => f,
            Err(e) => panic!("{what} over {t:?}: {i} of {n} arrived, then {e}"),
        };
        let payload = frames.last().unwrap().as_slice();
        assert_eq!(payload, i.to_be_bytes(), "{what} over {t:?}: message {i}");
    }
}

/// The sender connects, sends, and is dropped at once (LINGER -1, libzmq's default).
fn sender(ctx: &Context, ty: SocketType, ep: &str) -> Socket {
    let mut tx = socket(ctx, ty);
    tx.set_option(SocketOption::Linger(None)).unwrap();
    tx.connect(ep).unwrap();
    tx
}

#[test]
fn push_closed_after_sending_delivers_everything() {
    for t in ALL {
        let ctx = Context::new();
        let mut pull = socket(&ctx, SocketType::Pull);
        let ep = bind(&mut pull, t);
        let rx = receiving(pull, N, t, "PUSH/PULL");
        let mut push = sender(&ctx, SocketType::Push, &ep);
        for i in 0..N {
            push.send(&i.to_be_bytes()[..]).unwrap();
        }
        drop(push);
        rx.join().unwrap();
    }
}

#[test]
fn dealer_closed_after_sending_delivers_everything() {
    for t in ALL {
        let ctx = Context::new();
        let mut router = socket(&ctx, SocketType::Router);
        let ep = bind(&mut router, t);
        let rx = receiving(router, N, t, "DEALER/ROUTER");
        let mut dealer = sender(&ctx, SocketType::Dealer, &ep);
        for i in 0..N {
            dealer.send(&i.to_be_bytes()[..]).unwrap();
        }
        drop(dealer);
        rx.join().unwrap();
    }
}

// PUB drops for a subscriber at its HWM (RFC 29); with both HWMs unlimited nothing may be
// dropped, so everything published before close must arrive.
#[test]
fn pub_closed_after_publishing_delivers_everything() {
    for t in ALL {
        let ctx = Context::new();
        let mut sub = socket(&ctx, SocketType::Sub);
        sub.set_option(SocketOption::RcvHwm(0)).unwrap();
        let ep = bind(&mut sub, t);
        sub.subscribe("").unwrap();
        let mut publisher = socket(&ctx, SocketType::Pub);
        publisher.set_option(SocketOption::SndHwm(0)).unwrap();
        publisher.set_option(SocketOption::Linger(None)).unwrap();
        publisher.connect(&ep).unwrap();
        sync_subscription(&mut publisher, &mut sub, b"probe");
        let rx = receiving(sub, N, t, "PUB/SUB");
        for i in 0..N {
            publisher.send(&i.to_be_bytes()[..]).unwrap();
        }
        drop(publisher);
        rx.join().unwrap();
    }
}

/// The shortest stream: three messages and an immediate close.
#[test]
fn three_messages_and_close_arrive() {
    for t in ALL {
        let ctx = Context::new();
        let mut pull = socket(&ctx, SocketType::Pull);
        let ep = bind(&mut pull, t);
        let mut push = sender(&ctx, SocketType::Push, &ep);
        for i in 0..3u32 {
            push.send(&i.to_be_bytes()[..]).unwrap();
        }
        drop(push);
        expect_sequence(&mut pull, 3, t, "PUSH/PULL, three messages");
    }
}

/// Receives in a thread of its own while the sender sends, as an application would: a
/// sender blocked at SNDHWM must not wait for the test to start reading.
fn receiving(mut rx: Socket, n: u32, t: Transport, what: &'static str) -> thread::JoinHandle<()> {
    thread::spawn(move || expect_sequence(&mut rx, n, t, what))
}

/// The sender binds and the receiver connects, as a publisher or a job source usually
/// does: libzmq lets the connections a socket accepted linger as well as those it made.
#[test]
fn a_bound_sender_closed_after_sending_delivers_everything() {
    for t in ALL {
        let ctx = Context::new();
        let mut push = socket(&ctx, SocketType::Push);
        push.set_option(SocketOption::Linger(None)).unwrap();
        let ep = bind(&mut push, t);
        let mut pull = socket(&ctx, SocketType::Pull);
        pull.connect(&ep).unwrap();
        let rx = receiving(pull, N, t, "PUSH (bound)/PULL");
        for i in 0..N {
            push.send(&i.to_be_bytes()[..]).unwrap();
        }
        drop(push);
        rx.join().unwrap();
    }
}

#[test]
fn a_bound_publisher_closed_after_publishing_delivers_everything() {
    for t in ALL {
        let ctx = Context::new();
        let mut publisher = socket(&ctx, SocketType::Pub);
        publisher.set_option(SocketOption::SndHwm(0)).unwrap();
        publisher.set_option(SocketOption::Linger(None)).unwrap();
        let ep = bind(&mut publisher, t);
        let mut sub = socket(&ctx, SocketType::Sub);
        sub.set_option(SocketOption::RcvHwm(0)).unwrap();
        sub.subscribe("").unwrap();
        sub.connect(&ep).unwrap();
        sync_subscription(&mut publisher, &mut sub, b"probe");
        let rx = receiving(sub, N, t, "PUB (bound)/SUB");
        for i in 0..N {
            publisher.send(&i.to_be_bytes()[..]).unwrap();
        }
        drop(publisher);
        rx.join().unwrap();
    }
}

// A peer that closed after sending: its messages are delivered even when the socket
// answers each one and the answers find the connection closed. Writing to a closed TCP or
// AF_UNIX connection fails (EPIPE, or ECONNRESET once the peer's kernel answered with a
// reset) while the peer's last messages still wait in this side's kernel buffer or decoder;
// as libzmq's stream engine does, a failed write stops output only, and the connection ends
// when reading meets the peer's end, after everything it sent (docs/wire.md §7.2). The
// ROUTER reads slowly (RCVHWM 10, and nothing until the DEALER's side is gone), so most of
// the stream is still below the socket when the first echo fails. Found by the soak
// (docs/limits.md §7): a DEALER's stream closed cleanly lost its last messages.
#[test]
fn a_stream_answered_after_its_sender_closed_is_delivered_whole() {
    for t in [Transport::Tcp, Transport::Ipc, Transport::Ws] {
        let ctx = Context::new();
        let client = Context::new();
        let mut router = socket(&ctx, SocketType::Router);
        router.set_option(SocketOption::RcvHwm(10)).unwrap();
        let ep = bind(&mut router, t);
        let mut dealer = sender(&client, SocketType::Dealer, &ep);
        for i in 0..100u32 {
            dealer.send(&i.to_be_bytes()[..]).unwrap();
        }
        drop(dealer);
        // The DEALER's side is gone once its context holds no session.
        let start = std::time::Instant::now();
        while client.stats().iter().map(|s| s.sessions).sum::<usize>() > 0 {
            assert!(
                start.elapsed() < isomq_tests::PATIENCE,
                "the DEALER never finished"
            );
            thread::yield_now();
        }
        for i in 0..100u32 {
            let frames = router
                .recv_multipart()
                .unwrap_or_else(|e| panic!("{t:?}: {i} of 100 arrived, then {e}"));
            assert_eq!(frames[1].as_slice(), i.to_be_bytes(), "{t:?}: message {i}");
            // The peer is gone: ROUTER drops what finds no pipe (RFC 21), no error.
            router.send_multipart(frames).unwrap();
        }
    }
}

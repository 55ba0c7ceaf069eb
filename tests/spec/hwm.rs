//! High-water marks: which socket types block and which drop (docs/wire.md §6.1, §7.1).

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use std::time::Instant;

use isomq::{poll, Context, Error, Flags, PollEvents, PollItem, SocketOption, SocketType};
use isomq_tests::{bind, socket, sync_subscription, Transport, ALL, PATIENCE};

// libzmq zmq_socket(3), PUSH: "When a ZMQ_PUSH socket enters the mute state due to having
// reached the high water mark for all downstream nodes ... then any zmq_send(3) operations
// on the socket shall block until the mute state ends" (EAGAIN with ZMQ_DONTWAIT).
// Over inproc the queue is exactly SNDHWM + the peer's RCVHWM (zmq_inproc(7)).
#[test]
fn push_blocks_at_hwm_inproc_exactly() {
    let ctx = Context::new();
    let mut pull = socket(&ctx, SocketType::Pull);
    pull.set_option(SocketOption::RcvHwm(7)).unwrap();
    let ep = bind(&mut pull, Transport::Inproc);
    let mut push = socket(&ctx, SocketType::Push);
    push.set_option(SocketOption::SndHwm(5)).unwrap();
    push.connect(&ep).unwrap();
    let mut sent = 0;
    while push.send_flags("m", Flags::DONTWAIT).is_ok() {
        sent += 1;
        assert!(sent <= 12, "HWM not enforced");
    }
    assert_eq!(sent, 12);
    // Draining to the low-water mark unblocks the sender.
    for _ in 0..12 {
        pull.recv().unwrap();
    }
    push.send_flags("again", Flags::NONE).unwrap();
    assert_eq!(pull.recv().unwrap().as_slice(), b"again");
}

// The same rule over tcp and ipc: the queue is bounded (HWMs plus kernel buffers), so a
// PUSH whose peer does not read ends up refusing with EAGAIN, and resumes once it reads.
#[test]
fn push_blocks_at_hwm_stream_transports() {
    for t in [Transport::Tcp, Transport::Ipc] {
        let ctx = Context::new();
        let mut pull = socket(&ctx, SocketType::Pull);
        pull.set_option(SocketOption::RcvHwm(10)).unwrap();
        let ep = bind(&mut pull, t);
        let mut push = socket(&ctx, SocketType::Push);
        push.set_option(SocketOption::SndHwm(10)).unwrap();
        push.connect(&ep).unwrap();
        let payload = vec![0u8; 64 * 1024];
        // Blocking send waits for the connection; once it is up, fill everything.
        push.send(payload.clone()).unwrap();
        let mut sent = 1u64;
        loop {
            match push.send_flags(payload.clone(), Flags::DONTWAIT) {
                Ok(()) => sent += 1,
                Err(Error::Again) => {
                    // The pipe is at its HWM; room comes back (POLLOUT) as the I/O thread
                    // moves queued data into the kernel. When none comes back for a while
                    // the whole path is full. This wait orders nothing: it only decides when
                    // the filling stops, and everything below holds wherever it stopped.
                    let mut items = [PollItem::new(&mut push, PollEvents::OUT)];
                    if poll(&mut items, Some(Duration::from_millis(200))).unwrap() == 0 {
                        break;
                    }
                }
                Err(e) => panic!("{e}"),
            }
            assert!(sent < 100_000, "{t:?}: PUSH never hit its HWM");
        }
        for _ in 0..sent {
            pull.recv().unwrap();
        }
        push.send("after").unwrap();
        assert_eq!(pull.recv().unwrap().as_slice(), b"after", "{t:?}");
    }
}

// libzmq zmq_socket(3), PUB: "When a ZMQ_PUB socket enters the mute state due to having
// reached the high water mark for a subscriber, then any messages that would be sent to
// the subscriber in question shall instead be dropped". Other subscribers are unaffected
// and send never blocks.
fn pub_drops_for_slow_subscriber(t: Transport) {
    let ctx = Context::new();
    let mut publisher = socket(&ctx, SocketType::Pub);
    publisher.set_option(SocketOption::SndHwm(10)).unwrap();
    let ep = bind(&mut publisher, t);
    let mut slow = socket(&ctx, SocketType::Sub);
    slow.set_option(SocketOption::RcvHwm(10)).unwrap();
    slow.subscribe("").unwrap();
    slow.connect(&ep).unwrap();
    let mut fast = socket(&ctx, SocketType::Sub);
    fast.subscribe("").unwrap();
    fast.connect(&ep).unwrap();
    sync_subscription(&mut publisher, &mut slow, b"sync");
    sync_subscription(&mut publisher, &mut fast, b"sync");
    // 160 MB in all: far more than the HWMs plus every kernel buffer on the way can hold.
    let total = 20_000u32;
    let payload = vec![1u8; 8 * 1024];
    let mut fast_got = 0u32;
    for _ in 0..total {
        // DONTWAIT: a PUB must never refuse, whatever its subscribers do.
        publisher
            .send_flags(payload.clone(), Flags::DONTWAIT)
            .unwrap();
        while fast.recv_flags(Flags::DONTWAIT).is_ok() {
            fast_got += 1;
        }
    }
    // The end marker may itself be dropped for a full subscriber: repeat it until seen.
    // Each subscriber's messages keep their order, so once a subscriber has the marker it
    // has every message published before it that was not dropped.
    let resend = Some(Duration::from_millis(20));
    let start = Instant::now();
    'outer: loop {
        publisher.send("end").unwrap();
        // Wait for the next message rather than for a guessed time; the timeout is only
        // how often the marker is repeated.
        poll(&mut [PollItem::new(&mut fast, PollEvents::IN)], resend).unwrap();
        while let Ok(m) = fast.recv_flags(Flags::DONTWAIT) {
            if m.as_slice() == b"end" {
                break 'outer;
            }
            fast_got += 1;
        }
        assert!(start.elapsed() < PATIENCE, "{t:?}: no end marker");
    }
    // The slow subscriber is drained up to its own end marker, not until it has been quiet
    // for a while: a slow machine cannot cut its count short.
    let mut slow_got = 0u32;
    slow.set_option(SocketOption::RcvTimeout(resend)).unwrap();
    loop {
        match slow.recv() {
            Ok(m) if m.as_slice() == b"end" => break,
            Ok(_) => slow_got += 1,
            Err(Error::Again) => publisher.send("end").unwrap(),
            Err(e) => panic!("{e}"),
        }
        assert!(
            start.elapsed() < PATIENCE,
            "{t:?}: no end marker at the slow one"
        );
    }
    assert!(
        slow_got < total,
        "{t:?}: slow subscriber got everything ({slow_got})"
    );
    // The fast subscriber kept receiving while the slow one was full: it saw messages and
    // the end marker, sent long after the slow one's queue filled up.
    assert!(fast_got > 0, "{t:?}: fast subscriber starved");
}

#[test]
fn pub_drops_for_slow_subscriber_all_transports() {
    for t in ALL {
        pub_drops_for_slow_subscriber(t);
    }
}

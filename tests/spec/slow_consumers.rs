//! Peers that stop reading among peers that keep up (docs/wire.md §6.1, §7.7): a publisher
//! drops for the stalled subscribers and keeps serving the others (RFC 29), or with
//! XPUB_NODROP refuses with EAGAIN (libzmq); PUSH and DEALER skip a peer whose queue is full
//! (RFC 30, RFC 28) instead of waiting for it.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use isomq::{
    poll, Context, Error, Flags, MonitorEvent, PollEvents, PollItem, Socket, SocketOption,
    SocketType,
};
use isomq_tests::loss::{parse_seq, seq_padded};
use isomq_tests::stalled::StalledSubscriber;
use isomq_tests::{bind, expect_event, socket, Transport, PATIENCE};

const GOOD: usize = 190;
const STALLED: usize = 10;
const READERS: usize = 4;
const WINDOW: u64 = 50;
const TOTAL: u64 = 1000;
const SIZE: usize = 1024;

/// What one reader thread has seen: whether every socket has had a probe, and the lowest
/// next sequence number over its sockets (every number below it arrived everywhere).
#[derive(Debug, Clone, Copy)]
struct Progress {
    reader: usize,
    probed: bool,
    low: u64,
}

/// One reader thread's subscribers: ignores probes until the fence, then checks that every
/// socket gets every message in order, and reports progress.
fn read_subscribers(reader: usize, mut subs: Vec<Socket>, progress: &mpsc::Sender<Progress>) {
    let mut seen = vec![false; subs.len()];
    let mut synced = vec![false; subs.len()];
    let mut next = vec![0u64; subs.len()];
    let mut last = None;
    while next.iter().any(|&n| n < TOTAL) {
        let mut items: Vec<PollItem<'_>> = subs
            .iter_mut()
            .map(|s| PollItem::new(s, PollEvents::IN))
            .collect();
        assert!(
            poll(&mut items, Some(PATIENCE)).unwrap() > 0,
            "a stalled stream"
        );
        for (i, item) in items.iter_mut().enumerate() {
            while let Ok(m) = item.socket().recv_flags(Flags::DONTWAIT) {
                seen[i] = true;
                if !synced[i] {
                    synced[i] = m.as_slice() == b"fence";
                    continue;
                }
                assert_eq!(
                    parse_seq(m.as_slice()),
                    next[i],
                    "a good subscriber missed one"
                );
                next[i] += 1;
            }
        }
        let now = (
            seen.iter().all(|&s| s),
            next.iter().copied().min().unwrap_or(0),
        );
        if last != Some(now) {
            last = Some(now);
            let (probed, low) = now;
            let _ = progress.send(Progress {
                reader,
                probed,
                low,
            });
        }
    }
}

// RFC 29 (PUB): "SHALL silently drop the message" for a subscriber whose queue is full, and
// must not block. 200 subscribers, 10 of which stop reading (raw connections with tiny
// buffers: their queues fill within a few hundred messages): the 190 others get every
// message of a paced stream (windows of 50, within every HWM), in order, and the stalled
// ones, drained at the end, got only what fitted in their queue: the rest was dropped for
// them alone. Over tcp:// and over ws://, where every subscriber speaks ZWS 2.0 as a
// browser's would (the stalled ones raw, with the same tiny buffers).
#[test]
fn two_hundred_subscribers_ten_stalled_the_others_get_everything() {
    for t in [Transport::Tcp, Transport::Ws] {
        ten_stalled_among_two_hundred(t);
    }
}

fn ten_stalled_among_two_hundred(t: Transport) {
    let ctx = Context::new();
    let mut publisher = socket(&ctx, SocketType::Pub);
    publisher.set_option(SocketOption::SndHwm(100)).unwrap();
    let events = publisher.monitor();
    let ep = bind(&mut publisher, t);
    let mut stalled: Vec<_> = (0..STALLED)
        .map(|_| StalledSubscriber::connect(&ep, b""))
        .collect();
    for _ in 0..STALLED {
        expect_event(&events, "a stalled subscriber's handshake", |e| {
            matches!(e, MonitorEvent::HandshakeSucceeded { .. })
        });
    }
    let sub_ctx = Context::builder().io_threads(2).build();
    let mut groups: Vec<Vec<Socket>> = (0..READERS).map(|_| Vec::new()).collect();
    for i in 0..GOOD {
        let mut s = socket(&sub_ctx, SocketType::Sub);
        s.subscribe("").unwrap();
        s.connect(&ep).unwrap();
        groups[i % READERS].push(s);
    }
    let (tx, progress) = mpsc::channel();
    let readers: Vec<_> = groups
        .into_iter()
        .enumerate()
        .map(|(r, subs)| {
            let tx = tx.clone();
            std::thread::spawn(move || read_subscribers(r, subs, &tx))
        })
        .collect();
    let mut state = [Progress {
        reader: 0,
        probed: false,
        low: 0,
    }; READERS];
    let update = |state: &mut [Progress; READERS], wait: Duration| -> bool {
        match progress.recv_timeout(wait) {
            Ok(p) => {
                state[p.reader] = p;
                true
            }
            Err(_) => false,
        }
    };
    // Probes until every good subscriber has had one (its subscription has arrived); the
    // wait is how often a probe is repeated (one sent before a subscription is dropped).
    while !state.iter().all(|p| p.probed) {
        publisher.send("probe").unwrap();
        update(&mut state, Duration::from_millis(20));
    }
    publisher.send("fence").unwrap();
    for window in 0..TOTAL / WINDOW {
        for seq in window * WINDOW..(window + 1) * WINDOW {
            publisher.send(seq_padded(seq, SIZE)).unwrap();
        }
        while state.iter().any(|p| p.low < (window + 1) * WINDOW) {
            assert!(update(&mut state, PATIENCE), "the good subscribers stopped");
        }
    }
    for r in readers {
        r.join().unwrap();
    }
    for s in &mut stalled {
        let bodies = s.drain_until(b"end", || publisher.send("end").unwrap());
        let seqs: Vec<u64> = bodies
            .iter()
            .filter(|b| b.len() == SIZE)
            .map(|b| parse_seq(b))
            .collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "a stalled subscriber's messages out of order"
        );
        let got = u64::try_from(seqs.len()).unwrap();
        eprintln!("{t:?}: a stalled subscriber got {got} of {TOTAL}");
        assert!(
            got < TOTAL,
            "a stalled subscriber got all {TOTAL}: nothing was dropped for it"
        );
    }
}

/// A stalled peer of a PUSH or DEALER: an isomq socket never read, with RCVHWM 1.
fn round_robin_skips_a_stalled_peer(sender_type: SocketType, receiver_type: SocketType) {
    const K: u64 = 2000;
    const PEERS: usize = 5;
    let ctx = Context::new();
    let mut sender = socket(&ctx, sender_type);
    sender.set_option(SocketOption::SndHwm(10)).unwrap();
    let events = sender.monitor();
    let ep = bind(&mut sender, Transport::Tcp);
    let mut peers: Vec<Socket> = (0..PEERS)
        .map(|_| {
            let mut s = socket(&ctx, receiver_type);
            s.set_option(SocketOption::RcvHwm(1)).unwrap();
            s.connect(&ep).unwrap();
            s
        })
        .collect();
    for _ in 0..PEERS {
        expect_event(&events, "a peer's handshake", |e| {
            matches!(e, MonitorEvent::HandshakeSucceeded { .. })
        });
    }
    let mut stalled = peers.remove(0);
    let total = AtomicU64::new(0);
    let good = std::thread::scope(|scope| {
        let reading = scope.spawn(|| {
            let mut got = Vec::new();
            while total.load(Ordering::Acquire) < K {
                let mut items: Vec<PollItem<'_>> = peers
                    .iter_mut()
                    .map(|s| PollItem::new(s, PollEvents::IN))
                    .collect();
                // How often the count is looked at while nothing comes.
                poll(&mut items, Some(Duration::from_millis(20))).unwrap();
                for item in &mut items {
                    while let Ok(m) = item.socket().recv_flags(Flags::DONTWAIT) {
                        got.push(parse_seq(m.as_slice()));
                        total.fetch_add(1, Ordering::AcqRel);
                    }
                }
            }
            got
        });
        for seq in 0..K {
            // Blocks (up to PATIENCE) only if the socket waits for the stalled peer.
            sender.send(seq_padded(seq, 16 * 1024)).unwrap();
        }
        let mut got = Vec::new();
        let start = std::time::Instant::now();
        while total.load(Ordering::Acquire) < K {
            assert!(
                start.elapsed() < PATIENCE,
                "messages lost: {total:?} of {K} arrived"
            );
            let mut items = [PollItem::new(&mut stalled, PollEvents::IN)];
            poll(&mut items, Some(Duration::from_millis(20))).unwrap();
            while let Ok(m) = stalled.recv_flags(Flags::DONTWAIT) {
                got.push(parse_seq(m.as_slice()));
                total.fetch_add(1, Ordering::AcqRel);
            }
        }
        let stalled_share = u64::try_from(got.len()).unwrap();
        assert!(
            stalled_share < K / u64::try_from(PEERS).unwrap(),
            "the stalled peer got its full round-robin share ({stalled_share})"
        );
        got.extend(reading.join().unwrap());
        got
    });
    let mut all = good;
    all.sort_unstable();
    assert!(all.iter().copied().eq(0..K), "messages lost or duplicated");
    assert_eq!(stalled.recv_flags(Flags::DONTWAIT), Err(Error::Again));
}

// RFC 30 (PUSH): "SHALL route outgoing messages to available peers using a round-robin
// strategy", and "SHALL NOT discard messages that it cannot queue": a peer whose queue is
// full is not available, so the others take its turns; nothing is lost or duplicated.
#[test]
fn push_skips_a_stalled_peer() {
    round_robin_skips_a_stalled_peer(SocketType::Push, SocketType::Pull);
}

// RFC 28 (DEALER): the same round robin over available peers.
#[test]
fn dealer_skips_a_stalled_peer() {
    round_robin_skips_a_stalled_peer(SocketType::Dealer, SocketType::Dealer);
}

// libzmq zmq_setsockopt(3), ZMQ_XPUB_NODROP: "If set to 1, the socket will give an EAGAIN
// error when trying to send a message ... if a subscriber's queue is full" (instead of
// dropping). With one stalled subscriber, sending stops with EAGAIN, and every message that
// was accepted reaches both subscribers, the stalled one too once it reads.
#[test]
fn xpub_nodrop_returns_eagain_and_drops_nothing() {
    let ctx = Context::new();
    let mut xpub = socket(&ctx, SocketType::XPub);
    xpub.set_option(SocketOption::XpubNodrop(true)).unwrap();
    xpub.set_option(SocketOption::XpubVerbose(true)).unwrap();
    xpub.set_option(SocketOption::SndHwm(10)).unwrap();
    let ep = bind(&mut xpub, Transport::Tcp);
    let mut subs: Vec<Socket> = (0..2)
        .map(|_| {
            let mut s = socket(&ctx, SocketType::Sub);
            s.set_option(SocketOption::RcvHwm(1)).unwrap();
            s.subscribe("").unwrap();
            s.connect(&ep).unwrap();
            s
        })
        .collect();
    // XPUB_VERBOSE reports each subscription; with both in, nothing sent is dropped for lack of one.
    for _ in 0..2 {
        assert_eq!(xpub.recv().unwrap().as_slice(), b"\x01");
    }
    // How long a send may wait for room: when it runs out, the stalled subscriber's queue
    // is full for good. This orders nothing; the checks hold wherever filling stopped.
    xpub.set_option(SocketOption::SndTimeout(Some(Duration::from_millis(200))))
        .unwrap();
    let (good, stalled) = subs.split_at_mut(1);
    let done = AtomicU64::new(u64::MAX);
    let (sent, got) = std::thread::scope(|scope| {
        // The good subscriber keeps reading while the sender fills the stalled one's queue.
        let reading = scope.spawn(|| {
            let mut got = Vec::new();
            while u64::try_from(got.len()).unwrap() < done.load(Ordering::Acquire) {
                let mut items = [PollItem::new(&mut good[0], PollEvents::IN)];
                // How often `done` is looked at while nothing comes.
                poll(&mut items, Some(Duration::from_millis(20))).unwrap();
                while let Ok(m) = good[0].recv_flags(Flags::DONTWAIT) {
                    got.push(parse_seq(m.as_slice()));
                }
            }
            got
        });
        let mut sent = 0u64;
        loop {
            match xpub.send(seq_padded(sent, 16 * 1024)) {
                Ok(()) => sent += 1,
                Err(Error::Again) => break,
                Err(e) => panic!("{e}"),
            }
            assert!(sent < 100_000, "XPUB_NODROP never refused");
        }
        done.store(sent, Ordering::Release);
        (sent, reading.join().unwrap())
    });
    assert!(
        got.iter().copied().eq(0..sent),
        "the good subscriber lost some"
    );
    for want in 0..sent {
        assert_eq!(parse_seq(stalled[0].recv().unwrap().as_slice()), want);
    }
    assert_eq!(stalled[0].recv_flags(Flags::DONTWAIT), Err(Error::Again));
}

// RFC 37 "Connection Heartbeating" meets a consumer that stopped reading: while its queue is
// full its session reads nothing from the socket, PINGs included (libzmq's engine stops
// reading the same way), so a publisher with heartbeats takes it for dead and closes the
// connection, which frees what it held for it (docs/wire.md §7.7). Once the subscriber
// reads again it finds the connection closed and reconnects (§7.4).
#[test]
fn a_heartbeating_publisher_drops_a_subscriber_that_stopped_reading() {
    let ctx = Context::new();
    let mut publisher = socket(&ctx, SocketType::Pub);
    let ms = Duration::from_millis;
    publisher
        .set_option(SocketOption::HeartbeatIvl(Some(ms(50))))
        .unwrap();
    publisher
        .set_option(SocketOption::HeartbeatTimeout(Some(ms(300))))
        .unwrap();
    let pub_events = publisher.monitor();
    let ep = bind(&mut publisher, Transport::Tcp);
    let mut sub = socket(&ctx, SocketType::Sub);
    sub.set_option(SocketOption::RcvHwm(1)).unwrap();
    sub.subscribe("").unwrap();
    let sub_events = sub.monitor();
    sub.connect(&ep).unwrap();
    isomq_tests::sync_subscription(&mut publisher, &mut sub, b"probe");
    // Far more than the path holds (a few MiB over loopback): the subscriber's queue and
    // the kernel's buffers fill, and the publisher drops the rest.
    for seq in 0..2000 {
        publisher.send(seq_padded(seq, 16 * 1024)).unwrap();
    }
    let ev = expect_event(&pub_events, "Disconnected", |e| {
        matches!(e, MonitorEvent::Disconnected { .. })
    });
    assert!(
        matches!(&ev, MonitorEvent::Disconnected { reason, .. } if reason.contains("heartbeat")),
        "{ev:?}"
    );
    // Reading again: what arrived is delivered, then the close is seen.
    sub.set_option(SocketOption::RcvTimeout(Some(ms(20))))
        .unwrap();
    let start = std::time::Instant::now();
    let mut last = None;
    loop {
        while let Ok(m) = sub.recv() {
            let seq = parse_seq(m.as_slice());
            assert!(last < Some(seq), "out of order");
            last = Some(seq);
        }
        if let Some(MonitorEvent::Disconnected { .. }) = sub_events.try_recv() {
            break;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "the subscriber never saw the close"
        );
    }
    expect_event(&sub_events, "HandshakeSucceeded again", |e| {
        matches!(e, MonitorEvent::HandshakeSucceeded { .. })
    });
}

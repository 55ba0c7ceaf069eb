//! Faults with the kernel's real behaviour: two network namespaces joined by a veth pair
//! (`isomq_tests::netns`), a link taken down and up again, a peer process killed and
//! restarted, a peer process stopped. Each test checks that the sockets notice (heartbeats,
//! monitor events), reconnect on the backoff schedule, replay subscriptions, and lose no
//! more than docs/wire.md §7.6 allows: of the messages the lost connection took from the
//! sender's queue (`Disconnected::messages_out`) the peer may have received a prefix, and
//! every later message arrives, in order.
//!
//! These tests need root; see `isomq_tests::netns` for how they skip or fail without it.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use isomq::{Context, Flags, Monitor, MonitorEvent, Socket, SocketOption, SocketType};
use isomq_tests::loss::{assert_only_window_lost, parse_seq, seq_frame, seq_padded};
use isomq_tests::netns::{NetnsPair, Side, ADDR_B};
use isomq_tests::peer::Peer;
use isomq_tests::{
    expect_disconnected, expect_event, expect_handshake_succeeded, socket, sync_subscription,
};

/// Side B's endpoint. The namespaces are the test's own, so a fixed port is free, and a
/// restarted peer binds the same one.
fn ep_b() -> String {
    format!("tcp://{ADDR_B}:5555")
}

/// Heartbeats every 100 ms, a peer silent for 500 ms is dead (RFC 37); reconnects after
/// 100 ms, doubling up to 800 ms (docs/wire.md §7.3: no jitter when RECONNECT_IVL_MAX is
/// set, so the schedule is exact).
fn fault_options(s: &mut Socket) {
    let ms = Duration::from_millis;
    for o in [
        SocketOption::HeartbeatIvl(Some(ms(100))),
        SocketOption::HeartbeatTimeout(Some(ms(500))),
        SocketOption::ReconnectIvl(Some(ms(100))),
        SocketOption::ReconnectIvlMax(ms(800)),
        SocketOption::SndHwm(100_000),
    ] {
        s.set_option(o).unwrap();
    }
}

/// A socket of type `ty` made inside `side`'s namespace, with [`fault_options`] and a
/// monitor, bound or connected by `attach`; the context comes along to keep it alive.
fn make(
    net: &NetnsPair,
    side: Side,
    ty: SocketType,
    attach: impl FnOnce(&mut Socket) + Send,
) -> (Context, Socket, Monitor) {
    net.run_in(side, || {
        let ctx = Context::new();
        let mut s = socket(&ctx, ty);
        fault_options(&mut s);
        let events = s.monitor();
        attach(&mut s);
        (ctx, s, events)
    })
}

fn bind_b(s: &mut Socket) {
    s.bind(&ep_b()).unwrap();
}

fn connect_b(s: &mut Socket) {
    s.connect(&ep_b()).unwrap();
}

/// Sends messages `from..to` without waiting (SNDHWM is far above `to`).
fn send_range(s: &mut Socket, from: u64, to: u64) {
    for seq in from..to {
        s.send_flags(seq_padded(seq, 128), Flags::DONTWAIT).unwrap();
    }
}

/// Receives numbered messages until `last` has come, then what is still queued.
fn receive_through(s: &mut Socket, last: u64, got: &mut Vec<u64>) {
    while got.last() != Some(&last) {
        got.push(parse_seq(s.recv().unwrap().as_slice()));
    }
    while let Ok(m) = s.recv_flags(Flags::DONTWAIT) {
        got.push(parse_seq(m.as_slice()));
    }
}

const WARM: u64 = 50;
const BURST: u64 = 20_000;
const AFTER: u64 = 100;

// A partition: A's end of the link goes down (no route: connects fail at once), for as long
// as it takes both sides to notice. RFC 37 "Connection Heartbeating": a peer silent for
// HEARTBEAT_TIMEOUT after a PING is dead, on both sides. docs/wire.md §7.3: the connecting
// side then retries after RECONNECT_IVL, doubling up to RECONNECT_IVL_MAX; §7.6: what the
// lost connection took may be lost, what PUSH still had queued (the rest of a burst sent
// into the partition, and messages sent after it was noticed) all arrives, in order.
#[test]
fn a_partition_push_pull_reconnects_on_schedule_and_loses_only_the_window() {
    let Some(net) = NetnsPair::new("partition push/pull") else {
        return;
    };
    let (_cb, mut pull, pull_events) = make(&net, Side::B, SocketType::Pull, bind_b);
    let (_ca, mut push, push_events) = make(&net, Side::A, SocketType::Push, connect_b);
    let mut got = Vec::new();
    for seq in 0..WARM {
        push.send(seq_frame(seq)).unwrap();
        got.push(parse_seq(pull.recv().unwrap().as_slice()));
    }
    net.link_down(Side::A);
    send_range(&mut push, WARM, WARM + BURST);
    let (reason, taken) = expect_disconnected(&push_events);
    assert!(reason.contains("heartbeat"), "{reason}");
    expect_disconnected(&pull_events);
    let mut intervals = Vec::new();
    while intervals.len() < 5 {
        if let MonitorEvent::ConnectRetried { interval, .. } =
            expect_event(&push_events, "ConnectRetried", |e| {
                matches!(e, MonitorEvent::ConnectRetried { .. })
            })
        {
            intervals.push(interval.as_millis());
        }
    }
    assert_eq!(intervals, [100, 200, 400, 800, 800], "the backoff schedule");
    let sent = WARM + BURST + AFTER;
    send_range(&mut push, WARM + BURST, sent);
    net.link_up(Side::A);
    expect_handshake_succeeded(&push_events);
    receive_through(&mut pull, sent - 1, &mut got);
    let arrived = assert_only_window_lost(&got, sent, taken);
    assert_eq!(arrived, WARM, "nothing crossed the partition");
    eprintln!("partition: the lost connection took {taken} of {sent}, {arrived} arrived");
    assert!(
        taken < WARM + BURST,
        "the lost connection took the whole burst ({taken}): nothing was left queued to check"
    );
}

// The other end goes down (B's): A keeps its route but the link has no carrier, so A's
// reconnect attempt waits on SYN retransmissions until the link is back. RFC 29 / docs/wire.md
// §6.2: subscriptions belong to a connection, and SUB replays them into the new one, so
// the publisher filters as before: only the subscribed topic arrives.
#[test]
fn a_partition_pub_sub_replays_the_subscription() {
    let Some(net) = NetnsPair::new("partition pub/sub") else {
        return;
    };
    let (_cb, mut publisher, pub_events) = make(&net, Side::B, SocketType::Pub, bind_b);
    let (_ca, mut sub, sub_events) = make(&net, Side::A, SocketType::Sub, |s| {
        s.subscribe("a").unwrap();
        connect_b(s);
    });
    sync_subscription(&mut publisher, &mut sub, b"a-probe");
    net.link_down(Side::B);
    expect_disconnected(&sub_events);
    expect_disconnected(&pub_events);
    net.link_up(Side::B);
    expect_handshake_succeeded(&sub_events);
    sync_subscription(&mut publisher, &mut sub, b"a-probe");
    for i in 0..100 {
        publisher.send(format!("b-{i}")).unwrap();
        publisher.send(format!("a-{i}")).unwrap();
    }
    for i in 0..100 {
        assert_eq!(sub.recv().unwrap().as_slice(), format!("a-{i}").as_bytes());
    }
}

// DEALER to ROUTER across a partition (RFC 28): the DEALER reconnects with its ROUTING_ID,
// the ROUTER (which noticed the old connection's death by its own heartbeats, docs/wire.md
// §6.3) routes the replies to the new connection; of the DEALER's queue only the lost
// connection's share may be missing (§7.6), and every reply to what arrived comes back.
#[test]
fn a_partition_dealer_router_loses_only_the_window() {
    let Some(net) = NetnsPair::new("partition dealer/router") else {
        return;
    };
    let (_cb, mut router, router_events) = make(&net, Side::B, SocketType::Router, bind_b);
    let (_ca, mut dealer, dealer_events) = make(&net, Side::A, SocketType::Dealer, |s| {
        s.set_option(SocketOption::RoutingId(b"dealer-1".to_vec()))
            .unwrap();
        connect_b(s);
    });
    let echo = |router: &mut Socket| -> u64 {
        let frames = router.recv_multipart().unwrap();
        assert_eq!(frames[0].as_slice(), b"dealer-1");
        let seq = parse_seq(frames[1].as_slice());
        router.send_multipart(frames).unwrap();
        seq
    };
    let mut got = Vec::new();
    for seq in 0..WARM {
        dealer.send(seq_frame(seq)).unwrap();
        got.push(echo(&mut router));
        assert_eq!(parse_seq(dealer.recv().unwrap().as_slice()), seq);
    }
    net.link_down(Side::A);
    send_range(&mut dealer, WARM, WARM + BURST);
    let (_, taken) = expect_disconnected(&dealer_events);
    expect_disconnected(&router_events);
    let sent = WARM + BURST + AFTER;
    send_range(&mut dealer, WARM + BURST, sent);
    net.link_up(Side::A);
    expect_handshake_succeeded(&dealer_events);
    while got.last() != Some(&(sent - 1)) {
        got.push(echo(&mut router));
    }
    let arrived = assert_only_window_lost(&got, sent, taken);
    eprintln!("partition dealer: the lost connection took {taken} of {sent}, {arrived} arrived");
    for &seq in &got[WARM as usize..] {
        assert_eq!(parse_seq(dealer.recv().unwrap().as_slice()), seq);
    }
}

// REQ/REP across a partition that swallows a reply. RFC 28 leaves retries to the
// application; libzmq's REQ_RELAXED lets the REQ send a new request without the lost reply,
// and REQ_CORRELATE makes it take only the reply to that request. The REQ reconnects and
// the next request is answered.
#[test]
fn a_partition_req_rep_recovers_with_relaxed_and_correlate() {
    let Some(net) = NetnsPair::new("partition req/rep") else {
        return;
    };
    let (_cb, mut rep, rep_events) = make(&net, Side::B, SocketType::Rep, bind_b);
    let (_ca, mut req, req_events) = make(&net, Side::A, SocketType::Req, |s| {
        s.set_option(SocketOption::ReqRelaxed(true)).unwrap();
        s.set_option(SocketOption::ReqCorrelate(true)).unwrap();
        connect_b(s);
    });
    req.send("r0").unwrap();
    assert_eq!(rep.recv().unwrap().as_slice(), b"r0");
    rep.send("reply to r0").unwrap();
    assert_eq!(req.recv().unwrap().as_slice(), b"reply to r0");
    req.send("r1").unwrap();
    assert_eq!(rep.recv().unwrap().as_slice(), b"r1");
    net.link_down(Side::A);
    // Into the dying connection: lost with it.
    rep.send("reply to r1").unwrap();
    expect_disconnected(&req_events);
    expect_disconnected(&rep_events);
    net.link_up(Side::A);
    expect_handshake_succeeded(&req_events);
    req.send("r2").unwrap();
    assert_eq!(rep.recv().unwrap().as_slice(), b"r2");
    rep.send("reply to r2").unwrap();
    assert_eq!(req.recv().unwrap().as_slice(), b"reply to r2");
}

/// A partition shorter than any timeout: the connection survives it and what was sent
/// during it arrives late, in order. Returns the reply the REQ takes to its retried request.
fn late_reply_after_a_short_partition(correlate: bool) -> Option<Vec<u8>> {
    let net = NetnsPair::new("short partition req/rep")?;
    let plain = |s: &mut Socket| {
        s.set_option(SocketOption::HeartbeatIvl(None)).unwrap();
    };
    let (_cb, mut rep, _) = make(&net, Side::B, SocketType::Rep, |s| {
        plain(s);
        bind_b(s);
    });
    let (_ca, mut req, req_events) = make(&net, Side::A, SocketType::Req, |s| {
        plain(s);
        s.set_option(SocketOption::ReqRelaxed(true)).unwrap();
        s.set_option(SocketOption::ReqCorrelate(correlate)).unwrap();
        connect_b(s);
    });
    req.send("r1").unwrap();
    assert_eq!(rep.recv().unwrap().as_slice(), b"r1");
    net.link_down(Side::A);
    rep.send("reply to r1").unwrap();
    // The client's own retry policy (the lazy pirate's): no reply within 200 ms, ask again.
    req.set_option(SocketOption::RcvTimeout(Some(Duration::from_millis(200))))
        .unwrap();
    assert_eq!(req.recv(), Err(isomq::Error::Again));
    req.set_option(SocketOption::RcvTimeout(Some(isomq_tests::PATIENCE)))
        .unwrap();
    req.send("r2").unwrap();
    net.link_up(Side::A);
    // TCP retransmits both ways: the old reply reaches the REQ before the new one can.
    assert_eq!(rep.recv().unwrap().as_slice(), b"r2");
    rep.send("reply to r2").unwrap();
    let reply = req.recv().unwrap().as_slice().to_vec();
    assert!(
        !std::iter::from_fn(|| req_events.try_recv())
            .any(|e| matches!(e, MonitorEvent::Disconnected { .. })),
        "the connection was expected to survive the partition"
    );
    Some(reply)
}

// libzmq zmq_setsockopt(3), ZMQ_REQ_CORRELATE: replies are matched to the request they
// answer, "to correlate replies with requests" once REQ_RELAXED allows a new request
// before the last reply. A reply delayed by a partition arrives after the retried request:
// with REQ_CORRELATE it is discarded and the retried request's reply is taken.
#[test]
fn a_late_reply_after_a_short_partition_is_discarded_with_req_correlate() {
    if let Some(reply) = late_reply_after_a_short_partition(true) {
        assert_eq!(reply, b"reply to r2");
    }
}

// Without REQ_CORRELATE the same late reply is taken as the answer to the retried request:
// what the option is for.
#[test]
fn without_req_correlate_the_late_reply_is_taken_for_the_new_one() {
    if let Some(reply) = late_reply_after_a_short_partition(false) {
        assert_eq!(reply, b"reply to r1");
    }
}

/// The peer binary, in side B's namespace, bound on [`ep_b`].
fn start_peer(net: &NetnsPair, ty: &str) -> Peer {
    let mut c = net.command(Side::B, env!("CARGO_BIN_EXE_fault_peer"));
    c.args([ty, "bind", &ep_b()]);
    Peer::start(c)
}

/// Reads the peer's lines as numbers until `last` has come.
/// Sends the first `WARM` messages one at a time, each read back by the peer process, so
/// the connection is up and flowing; returns their sequence numbers as the peer saw them.
fn warm_up_peer(push: &mut Socket, peer: &mut Peer) -> Vec<u64> {
    (0..WARM)
        .map(|seq| {
            push.send(seq_frame(seq)).unwrap();
            parse_seq(peer.line().as_bytes())
        })
        .collect()
}

fn peer_through(peer: &mut Peer, last: u64, got: &mut Vec<u64>) {
    while got.last() != Some(&last) {
        got.push(parse_seq(peer.line().as_bytes()));
    }
}

// A peer process killed with SIGKILL (its kernel closes its sockets) and started again on
// the same address: the PUSH notices at once, retries while nothing listens (the refused
// attempts follow the backoff, docs/wire.md §7.3), connects to the new process, and
// delivers everything the dead connection had not taken (§7.6).
#[test]
fn a_killed_and_restarted_pull_peer_gets_everything_after_the_window() {
    let Some(net) = NetnsPair::new("killed pull peer") else {
        return;
    };
    let mut peer = start_peer(&net, "pull");
    let (_ca, mut push, events) = make(&net, Side::A, SocketType::Push, connect_b);
    let mut got = warm_up_peer(&mut push, &mut peer);
    send_range(&mut push, WARM, WARM + BURST);
    got.extend(peer.kill().iter().map(|l| parse_seq(l.as_bytes())));
    let (_, taken) = expect_disconnected(&events);
    expect_event(&events, "ConnectRetried", |e| {
        matches!(e, MonitorEvent::ConnectRetried { .. })
    });
    let sent = WARM + BURST + AFTER;
    send_range(&mut push, WARM + BURST, sent);
    let mut peer = start_peer(&net, "pull");
    expect_handshake_succeeded(&events);
    peer_through(&mut peer, sent - 1, &mut got);
    let arrived = assert_only_window_lost(&got, sent, taken);
    eprintln!("killed peer: the lost connection took {taken}, {arrived} arrived before the kill");
}

// A publisher process killed and restarted: the SUB reconnects and replays its subscription
// (docs/wire.md §6.2, §7.3) to a publisher that has never heard of it.
#[test]
fn a_killed_and_restarted_publisher_gets_the_subscription_again() {
    let Some(net) = NetnsPair::new("killed publisher") else {
        return;
    };
    let mut peer = start_peer(&net, "pub");
    let (_ca, mut sub, events) = make(&net, Side::A, SocketType::Sub, |s| {
        s.subscribe("a").unwrap();
        connect_b(s);
    });
    sync_with_peer(&mut peer, &mut sub);
    peer.kill();
    expect_disconnected(&events);
    let mut peer = start_peer(&net, "pub");
    expect_handshake_succeeded(&events);
    sync_with_peer(&mut peer, &mut sub);
    for i in 0..20 {
        peer.send_line(&format!("b-{i}"));
        peer.send_line(&format!("a-{i}"));
    }
    for i in 0..20 {
        assert_eq!(sub.recv().unwrap().as_slice(), format!("a-{i}").as_bytes());
    }
}

/// [`sync_subscription`] with a publisher process: probes until one arrives, then a fence.
fn sync_with_peer(peer: &mut Peer, sub: &mut Socket) {
    // How often a probe is repeated: one published before the subscription arrived is
    // dropped by design.
    sub.set_option(SocketOption::RcvTimeout(Some(Duration::from_millis(50))))
        .unwrap();
    loop {
        peer.send_line("a-probe");
        if sub.recv().is_ok() {
            break;
        }
    }
    sub.set_option(SocketOption::RcvTimeout(Some(isomq_tests::PATIENCE)))
        .unwrap();
    peer.send_line("a-fence");
    while sub.recv().unwrap().as_slice() != b"a-fence" {}
}

// A peer that stops answering without closing (SIGSTOP: its kernel still acknowledges and
// even accepts new connections, the process reads nothing). RFC 37: the PUSH's PINGs go
// unanswered, so after HEARTBEAT_TIMEOUT it drops the connection (a monitor event says
// why) and reconnects; the new TCP connection is made, but its handshake waits until the
// peer runs again (SIGCONT). Then everything after the lost connection's share arrives.
#[test]
fn a_stopped_peer_is_detected_by_heartbeats_and_recovers() {
    let Some(net) = NetnsPair::new("stopped peer") else {
        return;
    };
    let mut peer = start_peer(&net, "pull");
    let (_ca, mut push, events) = make(&net, Side::A, SocketType::Push, connect_b);
    let mut got = warm_up_peer(&mut push, &mut peer);
    peer.signal(libc::SIGSTOP);
    send_range(&mut push, WARM, WARM + BURST);
    let (reason, taken) = expect_disconnected(&events);
    assert!(reason.contains("heartbeat"), "{reason}");
    expect_event(&events, "Connected to the stopped process", |e| {
        matches!(e, MonitorEvent::Connected { .. })
    });
    let sent = WARM + BURST + AFTER;
    send_range(&mut push, WARM + BURST, sent);
    peer.signal(libc::SIGCONT);
    expect_handshake_succeeded(&events);
    peer_through(&mut peer, sent - 1, &mut got);
    let arrived = assert_only_window_lost(&got, sent, taken);
    eprintln!("stopped peer: the lost connection took {taken} of {sent}, {arrived} arrived");
}

//! Faults on the path between two isomq sockets, made by a relay in the middle
//! (`isomq_tests::relay`): a path that stops forwarding and resumes, a connection reset in
//! the middle of a stream, a slow and delayed path. What may be lost is docs/wire.md §7.6:
//! messages the lost connection had taken from the sender's queue, and nothing else. Every
//! test runs over each transport with a connection to fault: tcp://, ipc:// and ws://.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use isomq::{
    poll, Context, Error, Flags, MonitorEvent, PollEvents, PollItem, Socket, SocketOption,
    SocketType,
};
use isomq_tests::loss::{assert_only_window_lost, parse_seq, seq_frame, seq_padded};
use isomq_tests::relay::Relay;
use isomq_tests::{
    bind, expect_disconnected, expect_handshake_succeeded, socket, Transport, PATIENCE,
};

/// The transports whose connections the relay carries (inproc has no connection).
const RELAYED: [Transport; 3] = [Transport::Tcp, Transport::Ipc, Transport::Ws];

fn heartbeats(s: &mut Socket, ivl_ms: u64, timeout_ms: u64) {
    s.set_option(SocketOption::HeartbeatIvl(Some(Duration::from_millis(
        ivl_ms,
    ))))
    .unwrap();
    s.set_option(SocketOption::HeartbeatTimeout(Some(Duration::from_millis(
        timeout_ms,
    ))))
    .unwrap();
}

/// Sends with DONTWAIT until the whole path is full: EAGAIN, and no room coming back
/// within 200 ms (the room the I/O thread makes as it moves queued messages on). The wait
/// orders nothing; it decides when filling stops, and the test holds wherever it stopped.
fn fill(s: &mut Socket, mut next: u64) -> u64 {
    loop {
        match s.send_flags(seq_padded(next, 1024), Flags::DONTWAIT) {
            Ok(()) => next += 1,
            Err(Error::Again) => {
                let mut items = [PollItem::new(s, PollEvents::OUT)];
                if poll(&mut items, Some(Duration::from_millis(200))).unwrap() == 0 {
                    return next;
                }
            }
            Err(e) => panic!("{e}"),
        }
        assert!(next < 10_000_000, "the sender was never held back");
    }
}

/// A PULL, a relay to it, and a PUSH connected through the relay; `heartbeat` (interval,
/// timeout in ms) is set on both before they bind and connect, since a connection takes
/// its options from the socket when it is made.
fn push_pull_through_relay(
    ctx: &Context,
    heartbeat: Option<(u64, u64)>,
    transport: Transport,
) -> (Socket, Socket, Relay) {
    let mut pull = socket(ctx, SocketType::Pull);
    let mut push = socket(ctx, SocketType::Push);
    if let Some((ivl, timeout)) = heartbeat {
        heartbeats(&mut pull, ivl, timeout);
        heartbeats(&mut push, ivl, timeout);
    }
    let ep = bind(&mut pull, transport);
    let relay = Relay::start(&ep);
    push.connect(&relay.endpoint()).unwrap();
    (push, pull, relay)
}

// RFC 30 (PUSH) "SHALL NOT discard messages that it cannot queue", TCP's in-order delivery:
// a path that stops forwarding holds the sender back (the relay's queue, then the kernel
// buffers, then SNDHWM: EAGAIN), and once it resumes everything arrives, in order, once.
#[test]
fn a_stall_then_resume_delivers_everything_in_order() {
    for t in RELAYED {
        stall_then_resume(t);
    }
}

fn stall_then_resume(t: Transport) {
    let ctx = Context::new();
    let (mut push, mut pull, relay) = push_pull_through_relay(&ctx, None, t);
    push.send(seq_frame(0)).unwrap();
    assert_eq!(parse_seq(pull.recv().unwrap().as_slice()), 0);
    relay.stall();
    let sent = fill(&mut push, 1);
    relay.resume();
    for want in 1..sent {
        assert_eq!(parse_seq(pull.recv().unwrap().as_slice()), want);
    }
    push.send("end").unwrap();
    assert_eq!(pull.recv().unwrap().as_slice(), b"end");
}

// RFC 37 "Connection Heartbeating": a stall longer than HEARTBEAT_TIMEOUT is a dead peer to
// both sides; the connecting side reconnects (docs/wire.md §7.4), and of what it queued only
// the lost connection's share may be missing (docs/wire.md §7.6).
#[test]
fn a_stall_beyond_the_heartbeat_timeout_reconnects_and_loses_only_the_window() {
    for t in RELAYED {
        stall_beyond_the_heartbeat_timeout(t);
    }
}

fn stall_beyond_the_heartbeat_timeout(t: Transport) {
    let ctx = Context::new();
    let (mut push, mut pull, relay) = push_pull_through_relay(&ctx, Some((50, 300)), t);
    let push_events = push.monitor();
    let pull_events = pull.monitor();
    push.send(seq_frame(0)).unwrap();
    assert_eq!(parse_seq(pull.recv().unwrap().as_slice()), 0);
    relay.stall();
    let burst = fill(&mut push, 1);
    let (reason, taken) = expect_disconnected(&push_events);
    assert!(reason.contains("heartbeat"), "{reason}");
    expect_disconnected(&pull_events);
    // What the lost connection did not take waits in the PUSH's queue for the next one.
    let sent = burst;
    relay.resume();
    expect_handshake_succeeded(&push_events);
    let mut got = vec![0];
    await_untaken(&mut pull, &mut got, taken, sent, |s, got| match s.recv() {
        Ok(m) => {
            got.push(parse_seq(m.as_slice()));
            true
        }
        Err(_) => false,
    });
    drain(&mut pull, &mut got);
    assert_only_window_lost(&got, sent, taken);
}

/// Receives with `next` (which adds what it received to `got`, or returns false) until
/// every message the lost connection never took, `taken..sent`, is in `got` (§7.6). When
/// it had taken them all, nothing is awaited: the last ones may be among the lost, and
/// waiting for them would hang. RCVTIMEO = PATIENCE turns a message that never comes into a
/// failure naming it.
fn await_untaken(
    s: &mut Socket,
    got: &mut Vec<u64>,
    taken: u64,
    sent: u64,
    mut next: impl FnMut(&mut Socket, &mut Vec<u64>) -> bool,
) {
    s.set_option(SocketOption::RcvTimeout(Some(PATIENCE)))
        .unwrap();
    let index = |seq: u64| usize::try_from(seq).unwrap();
    let mut seen = vec![false; index(sent)];
    // `got[..marked]` is marked in `seen`.
    let mut marked = 0;
    let mut missing = taken;
    loop {
        for &seq in &got[marked..] {
            if let Some(s) = seen.get_mut(index(seq)) {
                *s = true;
            }
        }
        marked = got.len();
        while seen.get(index(missing)) == Some(&true) {
            missing += 1;
        }
        if missing >= sent {
            return;
        }
        assert!(
            next(s, got),
            "message {missing} never came; the lost connection took 0..{taken}"
        );
    }
}

/// Takes whatever is still queued at `s` without waiting.
fn drain(s: &mut Socket, got: &mut Vec<u64>) {
    while let Ok(m) = s.recv_flags(Flags::DONTWAIT) {
        got.push(parse_seq(m.as_slice()));
    }
}

/// A numbered message whose first frame is large: the sending session stops taking from its
/// queue once 256 KiB wait for the kernel, which with 64 KiB first frames is nearly always
/// between a message's two frames, so a reset finds a message half taken.
fn big_message(seq: u64) -> [Vec<u8>; 2] {
    let mut body = vec![(seq % 251) as u8; 64 * 1024];
    body[..8].copy_from_slice(&seq.to_be_bytes());
    [body, seq_frame(seq)]
}

/// Checks the shape of one received message and returns its number.
fn check_big(frames: &[isomq::Msg]) -> u64 {
    assert_eq!(
        frames.len(),
        2,
        "a message arrived cut: {} frames",
        frames.len()
    );
    let seq = parse_seq(frames[1].as_slice());
    let body = frames[0].as_slice();
    assert_eq!(body.len(), 64 * 1024);
    assert_eq!(
        &body[..8],
        &seq.to_be_bytes()[..],
        "frames of two messages joined"
    );
    seq
}

/// Sends messages `0..count` on another thread while `receive` takes them; `reset` is
/// called once `reset_after` have arrived. Returns what arrived and the lost connection's
/// share.
fn reset_mid_stream(
    mut sender: Socket,
    mut receiver: Socket,
    relay: &Relay,
    strip_id: bool,
) -> (Vec<u64>, u64, u64) {
    const COUNT: u64 = 400;
    let sender_events = sender.monitor();
    let receiver_events = receiver.monitor();
    let sending = std::thread::spawn(move || {
        for seq in 0..COUNT {
            sender.send_multipart(big_message(seq)).unwrap();
        }
        sender
    });
    let mut got = Vec::new();
    let recv = |r: &mut Socket, got: &mut Vec<u64>, flags: Flags| -> bool {
        let Ok(mut frames) = r.recv_multipart_flags(flags) else {
            return false;
        };
        if strip_id {
            frames.remove(0);
        }
        got.push(check_big(&frames));
        true
    };
    while got.len() < 100 {
        recv(&mut receiver, &mut got, Flags::NONE);
    }
    relay.reset();
    let (_, taken) = expect_disconnected(&sender_events);
    expect_disconnected(&receiver_events);
    await_untaken(&mut receiver, &mut got, taken, COUNT, |r, got| {
        recv(r, got, Flags::NONE)
    });
    // The lost connection's messages that reached the receiver before the reset are in its
    // queue by now (its Disconnected came after them): they are taken without waiting.
    while recv(&mut receiver, &mut got, Flags::DONTWAIT) {}
    let sender = sending.join().unwrap();
    // The connecting side reconnects, even when the lost connection had taken everything
    // and nothing is left to send (§7.4); closing the sender before would stop it.
    relay.wait_accepted(2);
    drop(sender);
    (got, COUNT, taken)
}

// A connection reset in the middle of a stream (an RST from a middlebox or a peer's host):
// the connecting side reconnects (docs/wire.md §7.4); of what PUSH had queued only the lost
// connection's share may be missing (§7.6), and no message arrives cut or joined to
// another: libzmq's session drops the rest of a message half sent on a lost connection
// (`session_base_t::clean_pipes`), RFC 37 "a message is delivered whole or not at all".
#[test]
fn a_reset_mid_stream_loses_only_the_window_push_pull() {
    for t in RELAYED {
        let ctx = Context::new();
        let (push, pull, relay) = push_pull_through_relay(&ctx, None, t);
        let (got, sent, taken) = reset_mid_stream(push, pull, &relay, false);
        let arrived = assert_only_window_lost(&got, sent, taken);
        eprintln!("reset over {t:?}: the lost connection took {taken}, {arrived} of them arrived");
    }
}

// The same for DEALER to ROUTER (RFC 28: DEALER round-robins like PUSH; ROUTER prefixes each
// message with its peer's routing id, which stays the DEALER's ROUTING_ID after a reconnect).
#[test]
fn a_reset_mid_stream_loses_only_the_window_dealer_router() {
    for t in RELAYED {
        let ctx = Context::new();
        let mut router = socket(&ctx, SocketType::Router);
        let ep = bind(&mut router, t);
        let relay = Relay::start(&ep);
        let mut dealer = socket(&ctx, SocketType::Dealer);
        dealer
            .set_option(SocketOption::RoutingId(b"dealer-1".to_vec()))
            .unwrap();
        dealer.connect(&relay.endpoint()).unwrap();
        let (got, sent, taken) = reset_mid_stream(dealer, router, &relay, true);
        assert_only_window_lost(&got, sent, taken);
    }
}

// RFC 37 "Connection Heartbeating": any traffic from the peer proves it alive. On a slow
// path (throttled to 256 KiB/s, 100 ms more latency each way) a PUSH's PINGs wait behind its
// data, but the PULL's PINGs come back on the idle direction and the data keeps reaching
// the PULL: with HEARTBEAT_TIMEOUT (1 s) above the path's delay, the connection stays up
// through a stream that takes several timeouts to cross, and everything arrives in order.
#[test]
fn a_throttled_link_keeps_its_heartbeats() {
    for t in RELAYED {
        throttled_link(t);
    }
}

fn throttled_link(t: Transport) {
    let ctx = Context::new();
    let (mut push, mut pull, relay) = push_pull_through_relay(&ctx, Some((50, 1000)), t);
    let push_events = push.monitor();
    let pull_events = pull.monitor();
    relay.set_rate(Some(256 * 1024));
    relay.set_delay(Duration::from_millis(100));
    const COUNT: u64 = 800;
    let sending = std::thread::spawn(move || {
        for seq in 0..COUNT {
            push.send(seq_padded(seq, 1024)).unwrap();
        }
        push
    });
    for want in 0..COUNT {
        assert_eq!(parse_seq(pull.recv().unwrap().as_slice()), want);
    }
    let _push = sending.join().unwrap();
    for events in [&push_events, &pull_events] {
        while let Some(ev) = events.try_recv() {
            assert!(
                !matches!(ev, MonitorEvent::Disconnected { .. }),
                "the throttled connection was dropped: {ev:?}"
            );
        }
    }
}

// The converse, which shows the relay's delay is real: RFC 37, a peer whose answers take
// longer than HEARTBEAT_TIMEOUT is taken for dead and the connection closed.
#[test]
fn a_delay_beyond_the_heartbeat_timeout_is_a_dead_peer() {
    for t in RELAYED {
        delay_beyond_the_heartbeat_timeout(t);
    }
}

fn delay_beyond_the_heartbeat_timeout(t: Transport) {
    let ctx = Context::new();
    let mut pull = socket(&ctx, SocketType::Pull);
    let ep = bind(&mut pull, t);
    let relay = Relay::start(&ep);
    let mut push = socket(&ctx, SocketType::Push);
    heartbeats(&mut push, 50, 200);
    let events = push.monitor();
    push.connect(&relay.endpoint()).unwrap();
    expect_handshake_succeeded(&events);
    relay.set_delay(Duration::from_millis(400));
    let (reason, _) = expect_disconnected(&events);
    assert!(reason.contains("heartbeat"), "{reason}");
}

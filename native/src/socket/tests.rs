//! What a socket keeps per peer (its properties, for `peer_property`) follows its live
//! peers, not the peers it ever had, whatever order their commands reach its mailbox in:
//! under connection churn that map was a leak of a hundred bytes or more per connection.
//! And which blocking receives poll before they sleep (`wait_spin.rs`).

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::{Context, Monitor, MonitorEvent, SocketOption, SocketType};

const PATIENCE: Duration = Duration::from_secs(20);

fn expect(monitor: &Monitor, what: &str, matches: impl Fn(&MonitorEvent) -> bool) {
    loop {
        let event = monitor
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|e| panic!("no {what}: {e}"));
        if matches(&event) {
            return;
        }
    }
}

// Peers that complete their handshake and leave before the socket looks at its mailbox:
// their pipes are dead when attached, no `Terminated` will follow, so their properties
// must not be kept.
#[test]
fn peers_gone_before_the_socket_looked_leave_no_properties() {
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let events = pull.monitor();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap().to_owned();
    for _ in 0..20 {
        let mut push = ctx.socket(SocketType::Push).unwrap();
        push.set_option(SocketOption::Linger(Some(Duration::ZERO)))
            .unwrap();
        push.connect(&ep).unwrap();
        expect(&events, "HandshakeSucceeded", |e| {
            matches!(e, MonitorEvent::HandshakeSucceeded { .. })
        });
        drop(push);
        expect(&events, "Disconnected", |e| {
            matches!(e, MonitorEvent::Disconnected { .. })
        });
    }
    // The last session ends on its I/O thread after its event.
    let start = std::time::Instant::now();
    while ctx.stats().iter().map(|s| s.sessions).sum::<usize>() > 0 {
        assert!(start.elapsed() < PATIENCE, "the sessions never ended");
        std::thread::yield_now();
    }
    assert!(!pull.has_in(), "every command is handled, and nothing came");
    assert!(pull.peer_properties.is_empty());
}

// A connect's properties go with its disconnect, even when its pipe ends on this side.
#[test]
fn a_disconnect_drops_the_connections_properties() {
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap().to_owned();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    let events = push.monitor();
    push.connect(&ep).unwrap();
    expect(&events, "HandshakeSucceeded", |e| {
        matches!(e, MonitorEvent::HandshakeSucceeded { .. })
    });
    let _ = push.has_out();
    assert_eq!(push.peer_properties.len(), 1);
    push.disconnect(&ep).unwrap();
    assert!(push.peer_properties.is_empty());
}

/// How many of `s`'s blocking receives got their command while polling (`WaitSpin`).
fn spun(s: &crate::Socket) -> u64 {
    s.spin.spun()
}

/// `rounds` REQ ↔ REP round trips over `endpoint` (the REP on a thread of its own); returns
/// the spun waits of the REQ and of the REP.
fn exchange(endpoint: &str, rounds: usize) -> (u64, u64) {
    let ctx = Context::builder().io_threads(1).build();
    let mut rep = ctx.socket(SocketType::Rep).unwrap();
    rep.bind(endpoint).unwrap();
    let ep = rep.last_endpoint().unwrap().to_owned();
    let server = std::thread::spawn(move || {
        for _ in 0..rounds {
            let m = rep.recv().unwrap();
            rep.send(m).unwrap();
        }
        spun(&rep)
    });
    let mut req = ctx.socket(SocketType::Req).unwrap();
    req.connect(&ep).unwrap();
    for _ in 0..rounds {
        req.send("ping").unwrap();
        assert_eq!(req.recv().unwrap().as_slice(), b"ping");
    }
    (spun(&req), server.join().unwrap())
}

// A receive that awaits the answer of an inproc peer polls before it sleeps (socket/
// wait_spin.rs): over inproc both ends of an exchange do, on a machine of several CPUs;
// with a remote endpoint, where an I/O thread carries the answer, neither does.
#[test]
fn an_inproc_exchange_spins_and_a_tcp_one_does_not() {
    if std::thread::available_parallelism().is_ok_and(|n| n.get() < 2) {
        return;
    }
    // A wait that outlasts the spin makes the next ones sleep at once, and on a loaded
    // machine waking a sleeper can itself outlast the spin. One such wait in eight, on
    // average, polls again (`PROBE_EVERY`), and a poll yields its CPU after its first 5 µs
    // (`WAIT_SPIN_ALONE`), so an end is not kept asleep by its own wake-ups: with two busy
    // loops beside the test, the REP had slept through all three exchanges in 1 run in
    // 20, and with both changes in none of 160. Three exchanges, in case one meets a moment
    // of load that outlasts it; both ends of one must have polled and caught their answers.
    let seen: Vec<(u64, u64)> = (0..3)
        .map(|attempt| exchange(&format!("inproc://wait-spin-{attempt}"), 2_000))
        .collect();
    assert!(
        seen.iter().any(|&(req, rep)| req > 0 && rep > 0),
        "inproc: spun waits of (REQ, REP) per exchange: {seen:?}"
    );
    assert_eq!(exchange("tcp://127.0.0.1:*", 200), (0, 0), "tcp");
}

// A stream's receiver answers nothing, and its sender waits only for room: neither spins.
// The sender paces its messages 20 µs apart (a busy wait), so that the receiver waits for
// each, briefly: the waits a spin would catch.
#[test]
fn an_inproc_stream_never_spins() {
    let ctx = Context::builder().io_threads(1).build();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("inproc://wait-spin-stream").unwrap();
    let sender = std::thread::spawn({
        let ctx = ctx.clone();
        move || {
            let mut push = ctx.socket(SocketType::Push).unwrap();
            push.connect("inproc://wait-spin-stream").unwrap();
            for _ in 0..2_000 {
                let sent = std::time::Instant::now();
                push.send("x").unwrap();
                while sent.elapsed() < Duration::from_micros(20) {
                    std::hint::spin_loop();
                }
            }
            for _ in 0..20_000 {
                push.send("x").unwrap();
            }
            spun(&push)
        }
    });
    for _ in 0..22_000 {
        pull.recv().unwrap();
    }
    assert_eq!((spun(&pull), sender.join().unwrap()), (0, 0));
}

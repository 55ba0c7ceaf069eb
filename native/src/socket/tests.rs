//! What a socket keeps per peer (its properties, for `peer_property`) follows its live
//! peers, not the peers it ever had, whatever order their commands reach its mailbox in:
//! under connection churn that map was a leak of a hundred bytes or more per connection.

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

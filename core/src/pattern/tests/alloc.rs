//! docs/architecture.md §7.2: no heap allocation per small message in steady state (send ->
//! wire -> recv), proved with a counting global allocator.

use super::Harness;
use crate::pattern::PatternOption;
use crate::test_alloc::allocations_during;
use crate::{Msg, SocketType};

/// Runs `round` a while to warm up (queues grow their chunks), then counts what more rounds
/// allocate.
fn steady_state_allocations(h: &mut Harness, round: fn(&mut Harness)) -> u64 {
    for _ in 0..200 {
        round(h);
    }
    allocations_during(|| {
        for _ in 0..1000 {
            round(h);
        }
    })
}

fn drain_peers(h: &mut Harness) {
    for peer in &mut h.peers {
        while peer.read().is_some() {}
    }
    h.pump();
}

fn send_burst(h: &mut Harness) {
    for _ in 0..10 {
        h.pattern.send(Msg::from("hello").with_more(true)).unwrap();
        h.pattern.send(Msg::from("world")).unwrap();
    }
    drain_peers(h);
}

fn recv_burst(h: &mut Harness) {
    for i in 0..h.peers.len() {
        for _ in 0..10 {
            h.peers[i].write(Msg::from("hello")).unwrap();
            h.peers[i].write(Msg::from("xyz")).unwrap();
        }
        h.peers[i].flush();
    }
    h.pump();
    while h.pattern.has_in() {
        h.pattern.recv().unwrap();
    }
}

#[test]
fn small_messages_are_sent_without_allocating() {
    for socket_type in [SocketType::Push, SocketType::Pub, SocketType::Pair] {
        let mut h = Harness::new(socket_type);
        let peers = if socket_type == SocketType::Pair {
            1
        } else {
            2
        };
        for p in 0..peers {
            h.connect(0, 0);
            if socket_type == SocketType::Pub {
                h.peer_send_msg(p, Msg::subscribe(if p == 0 { b"h" } else { b"" }));
            }
        }
        assert_eq!(
            steady_state_allocations(&mut h, send_burst),
            0,
            "{socket_type}"
        );
    }
}

#[test]
fn small_messages_are_received_without_allocating() {
    for socket_type in [SocketType::Pull, SocketType::Sub, SocketType::Pair] {
        let mut h = Harness::new(socket_type);
        let _ = h
            .pattern
            .set_option(&PatternOption::Subscribe(b"h".to_vec()));
        h.connect(0, 0);
        if socket_type != SocketType::Pair {
            h.connect(0, 0);
        }
        drain_peers(&mut h);
        assert_eq!(
            steady_state_allocations(&mut h, recv_burst),
            0,
            "{socket_type}"
        );
    }
}

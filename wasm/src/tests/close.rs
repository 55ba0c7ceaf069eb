//! Closing a socket on the wasm host, over the simulated network and clock: LINGER as
//! natively (docs/wire.md §7.2), the WebSocket's `bufferedAmount` drained before the close
//! with status 1000, and what `Closing` reports.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Wake, Waker};

use isomq_core::zws::Connection;
use isomq_core::{Error, Msg, SocketType};

use super::net::{ms, FakeWs, Sim};
use crate::host::Input;
use crate::{Closing, Socket, SocketOption};

/// Sends `"m0"`, `"m1"`, ... `n` messages.
fn send(socket: &Socket, n: usize) {
    for i in 0..n {
        socket.send(Msg::from(format!("m{i}"))).unwrap();
    }
}

/// What the peer decodes from everything the WebSocket sent since the last call.
fn received(peer: &mut Connection, ws: &FakeWs) -> Vec<String> {
    for data in ws.sent.borrow_mut().drain(..) {
        peer.handle_message(data).unwrap();
    }
    let mut got = Vec::new();
    while let Some(m) = peer.poll_msg().unwrap() {
        got.push(String::from_utf8_lossy(m.as_slice()).into_owned());
    }
    got
}

fn numbered(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("m{i}")).collect()
}

/// A PUSH connected to a PULL peer that completed the handshake.
fn connected_push(sim: &Sim) -> (Socket, Connection) {
    let push = sim.ctx.socket(SocketType::Push).unwrap();
    push.connect("ws://example.invalid/jobs").unwrap();
    let peer = sim.accept_last(SocketType::Pull, b"");
    (push, peer)
}

#[test]
fn close_with_nothing_queued_is_done_at_once() {
    let sim = Sim::new();
    let alone = sim.ctx.socket(SocketType::Push).unwrap();
    assert!(alone.close().is_done(), "no connection at all");
    let (push, _peer) = connected_push(&sim);
    assert!(push.close().is_done(), "an open connection, nothing queued");
    let (_, ws) = sim.last();
    assert!(ws.closed_normally.get());
}

#[test]
fn queued_messages_are_delivered_then_the_websocket_closes_normally() {
    let sim = Sim::new();
    let (push, mut peer) = connected_push(&sim);
    let (_, ws) = sim.last();
    // The WebSocket's buffer is full: messages wait in the pipe.
    ws.buffered.set(isomq_core::session::OUT_BATCH as u64);
    send(&push, 100);
    let closing = push.close();
    assert!(!closing.is_done());
    assert!(received(&mut peer, &ws).is_empty());
    ws.buffered.set(0);
    sim.advance_to(ms(5));
    assert_eq!(received(&mut peer, &ws), numbered(100));
    assert!(closing.is_done());
    assert!(ws.closed_normally.get());
}

/// Bytes a WebSocket holds are sent only if it is not torn down: the close waits for
/// `bufferedAmount` to reach 0, looking every few milliseconds (there is no event for it).
#[test]
fn the_close_waits_for_the_websocket_buffer_to_drain() {
    let sim = Sim::new();
    let (push, mut peer) = connected_push(&sim);
    let (_, ws) = sim.last();
    send(&push, 3);
    assert_eq!(received(&mut peer, &ws), numbered(3));
    ws.buffered.set(100);
    let closing = push.close();
    sim.advance_to(ms(60_000));
    assert!(!closing.is_done());
    assert!(!ws.closed.get());
    ws.buffered.set(0);
    sim.advance_to(ms(60_010));
    assert!(closing.is_done());
    assert!(ws.closed_normally.get());
}

#[test]
fn a_peer_that_never_answers_gets_until_the_linger_period() {
    let sim = Sim::new();
    let push = sim.ctx.socket(SocketType::Push).unwrap();
    push.set_option(SocketOption::Linger(Some(ms(300))))
        .unwrap();
    push.connect("ws://example.invalid/jobs").unwrap();
    send(&push, 1);
    let closing = push.close();
    let (_, ws) = sim.last();
    sim.advance_to(ms(299));
    assert!(!closing.is_done());
    assert!(!ws.closed.get());
    sim.advance_to(ms(300));
    assert!(closing.is_done());
    assert!(ws.closed.get(), "closed anyway, the message dropped");
}

#[test]
fn a_refused_connection_is_retried_within_the_linger_period() {
    let sim = Sim::new();
    let push = sim.ctx.socket(SocketType::Push).unwrap();
    push.set_option(SocketOption::Linger(Some(ms(1000))))
        .unwrap();
    push.connect("ws://example.invalid/jobs").unwrap();
    send(&push, 1);
    let closing = push.close();
    for _ in 0..3 {
        let (conn, _) = sim.last();
        sim.input(Input::Closed { conn });
        sim.advance_to(sim.now() + ms(142));
    }
    assert_eq!(sim.opened(), 4);
    assert!(!closing.is_done());
    sim.advance_to(ms(1000));
    assert!(closing.is_done());
}

#[test]
fn linger_zero_drops_what_is_queued_and_closes_at_once() {
    let sim = Sim::new();
    let (push, mut peer) = connected_push(&sim);
    let (_, ws) = sim.last();
    push.set_option(SocketOption::Linger(Some(ms(0)))).unwrap();
    ws.buffered.set(isomq_core::session::OUT_BATCH as u64);
    send(&push, 10);
    assert!(push.close().is_done());
    assert!(ws.closed_normally.get());
    assert!(received(&mut peer, &ws).is_empty());
}

#[test]
fn sub_closes_at_once_by_default() {
    let sim = Sim::new();
    let sub = sim.ctx.socket(SocketType::Sub).unwrap();
    sub.connect("ws://example.invalid/feed").unwrap();
    sub.subscribe(b"news").unwrap();
    assert!(sub.close().is_done(), "SUB's LINGER is 0, as in libzmq");
}

/// LINGER -1 (PUSH's default): as long as it takes, reconnecting, until a peer takes the
/// messages.
#[test]
fn forever_waits_for_a_connection_and_delivers() {
    let sim = Sim::new();
    let push = sim.ctx.socket(SocketType::Push).unwrap();
    push.connect("ws://example.invalid/jobs").unwrap();
    send(&push, 5);
    let closing = push.close();
    // Handshake timeouts (30 s) and reconnects meanwhile.
    sim.advance_to(ms(120_000));
    assert!(!closing.is_done());
    assert!(sim.opened() > 1);
    let mut peer = sim.accept_last(SocketType::Pull, b"");
    let (_, ws) = sim.last();
    assert_eq!(received(&mut peer, &ws), numbered(5));
    assert!(closing.is_done());
    assert!(ws.closed_normally.get());
}

/// What was handed to a WebSocket that is lost goes with it; with reconnection off, nothing
/// is left to wait for.
#[test]
fn a_connection_lost_for_good_ends_the_closing() {
    let sim = Sim::new();
    let push = sim.ctx.socket(SocketType::Push).unwrap();
    push.set_option(SocketOption::ReconnectIvl(None)).unwrap();
    push.connect("ws://example.invalid/jobs").unwrap();
    let _peer = sim.accept_last(SocketType::Pull, b"");
    let (conn, ws) = sim.last();
    ws.buffered.set(isomq_core::session::OUT_BATCH as u64);
    send(&push, 10);
    let closing = push.close();
    assert!(!closing.is_done());
    sim.input(Input::Closed { conn });
    assert!(closing.is_done());
}

#[test]
fn closing_twice_is_the_same_closing_and_calls_after_it_fail_with_eterm() {
    let sim = Sim::new();
    let (push, _peer) = connected_push(&sim);
    let (_, ws) = sim.last();
    ws.buffered.set(1);
    send(&push, 1);
    let first = push.close();
    let second = push.close();
    assert!(!first.is_done() && !second.is_done());
    assert_eq!(push.send(Msg::from("late")), Err(Error::Term));
    assert_eq!(push.connect("ws://example.invalid/x"), Err(Error::Term));
    ws.buffered.set(0);
    sim.advance_to(ms(5));
    assert!(first.is_done() && second.is_done());
}

/// Dropping a socket closes it; its connections still deliver, with nobody waiting.
#[test]
fn a_dropped_socket_still_delivers() {
    let sim = Sim::new();
    let (push, mut peer) = connected_push(&sim);
    let (_, ws) = sim.last();
    ws.buffered.set(isomq_core::session::OUT_BATCH as u64);
    send(&push, 20);
    drop(push);
    ws.buffered.set(0);
    sim.advance_to(ms(5));
    assert_eq!(received(&mut peer, &ws), numbered(20));
    assert!(ws.closed_normally.get());
}

#[derive(Default)]
struct CountWakes(AtomicUsize);

impl Wake for CountWakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn closing_is_a_future_woken_when_done() {
    let sim = Sim::new();
    let (push, _peer) = connected_push(&sim);
    let (_, ws) = sim.last();
    ws.buffered.set(1);
    send(&push, 1);
    let mut closing: Closing = push.close();
    let wakes = Arc::new(CountWakes::default());
    let waker = Waker::from(wakes.clone());
    let mut cx = TaskContext::from_waker(&waker);
    let mut poll = |c: &mut Closing| std::pin::Pin::new(c).poll(&mut cx);
    assert_eq!(poll(&mut closing), Poll::Pending);
    assert_eq!(poll(&mut closing), Poll::Pending);
    ws.buffered.set(0);
    sim.advance_to(ms(5));
    assert_eq!(wakes.0.load(Ordering::Relaxed), 1, "one waker per task");
    assert_eq!(poll(&mut closing), Poll::Ready(()));
}

//! Session driving: a connecting session against a real loopback listener connects,
//! carries messages both ways between its pipe and the connection, and reconnects after
//! the peer closes.

use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use isomq_core::{Msg, Pipe, SocketType};

use super::peer::Peer;
use super::{in_order, write_all, FakeSocket, Loop, LIMIT};
use crate::monitor::MonitorEvent;

/// A loop whose session 7, a DEALER's, is connecting to a new loopback listener: the
/// listener, the socket, the socket's end of the session's pipe, and the loop.
fn dealer_connecting() -> (TcpListener, FakeSocket, Pipe, Loop) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let socket = FakeSocket::new(SocketType::Dealer, -1);
    let (ours, theirs) = socket.pipe(1);
    let l = Loop::new();
    l.connect_tcp(7, addr, theirs, &socket);
    (listener, socket, ours, l)
}

#[test]
fn a_connecting_session_delivers_both_ways_and_reconnects() {
    let (listener, socket, mut ours, mut l) = dealer_connecting();
    // Queued before the session has a connection: it holds them until it is up.
    write_all(&mut ours, &["a", "b", "c"]);
    let peer = thread::spawn(move || {
        let mut peer = Peer::accept(&listener, SocketType::Dealer);
        let first: Vec<Msg> = (0..3).map(|_| peer.recv()).collect();
        peer.send("x");
        // The peer goes away; the session comes back.
        drop(peer);
        let mut peer = Peer::accept(&listener, SocketType::Dealer);
        (first, peer.recv())
    });
    let mut from_peer = None;
    l.run_until("the peer's message reaches the socket's end", |_| {
        from_peer = from_peer.take().or_else(|| ours.read());
        from_peer.is_some()
    });
    assert_eq!(from_peer.unwrap().as_slice(), b"x");
    // A reconnection tells the socket (SUB and XSUB resend their subscriptions on it).
    l.run_until("the session reconnects", |_| socket.hiccup_queued(1));
    write_all(&mut ours, &["d"]);
    l.run_until("the peer has received", |_| peer.is_finished());
    let (first, after) = peer.join().unwrap();
    let first: Vec<&[u8]> = first.iter().map(Msg::as_slice).collect();
    assert_eq!(first, [b"a", b"b", b"c"]);
    assert_eq!(after.as_slice(), b"d");
    let events = socket.events();
    assert!(
        in_order(
            &events,
            &[
                |e| matches!(e, MonitorEvent::Connected { .. }),
                |e| matches!(e, MonitorEvent::HandshakeSucceeded { .. }),
                |e| matches!(e, MonitorEvent::Disconnected { .. }),
                |e| matches!(e, MonitorEvent::ConnectRetried { .. }),
                |e| matches!(e, MonitorEvent::Connected { .. }),
                |e| matches!(e, MonitorEvent::HandshakeSucceeded { .. }),
            ]
        ),
        "{events:?}"
    );
    // The socket closes: with nothing left to send, the session ends at once.
    drop(ours);
    l.run_until("the session ends", |r| !r.holds(7));
}

/// A burst of large messages grows a session's buffers (its reads' room, its input buffer);
/// once the connection has been quiet for a sweep interval, they shrink back to a new
/// connection's (an idle connection should cost what a new one does).
#[test]
fn a_quiet_session_shrinks_the_buffers_a_burst_grew() {
    let (listener, _socket, mut ours, mut l) = dealer_connecting();
    l.reactor.set_idle_sweep(Duration::from_millis(20));
    let peer = thread::spawn(move || {
        let mut peer = Peer::accept(&listener, SocketType::Dealer);
        let big = "x".repeat(100_000);
        for _ in 0..10 {
            peer.send(&big);
        }
        // Kept open: the connection goes quiet, not away.
        peer
    });
    let (mut got, mut grew) = (0, false);
    l.run_until("the burst reaches the socket's end", |r| {
        grew |= r.session_grown(7) == Some(true);
        while ours.read().is_some() {
            got += 1;
        }
        got == 10
    });
    l.run_until("the session has grown", |r| {
        grew |= r.session_grown(7) == Some(true);
        grew
    });
    l.run_until("the quiet session shrinks", |r| {
        r.session_grown(7) == Some(false)
    });
    drop(peer.join().unwrap());
}

/// The rule of `Engine::update_interest` (libzmq's engines do the same with
/// `set_pollout`/`reset_pollout`): a connection is watched for writability only while
/// output waits on a full socket buffer, because a Unix socket wakes its writability
/// watchers each time the peer reads. It must stop watching once idle, watch again when a
/// write meets a full buffer, and strand nothing in between: every message reaches a peer
/// that starts reading only after the buffers have filled.
#[test]
fn a_session_watches_writability_only_while_output_waits() {
    const COUNT: usize = 400;
    const SIZE: usize = 65_536;
    let (listener, _socket, mut ours, mut l) = dealer_connecting();
    let (go, wait_go) = mpsc::channel::<()>();
    let peer = thread::spawn(move || {
        let mut peer = Peer::accept(&listener, SocketType::Dealer);
        wait_go
            .recv_timeout(LIMIT)
            .expect("the test lets the peer read");
        let sizes: Vec<usize> = (0..COUNT).map(|_| peer.recv().len()).collect();
        // Kept open: a closed connection would make the session reconnect.
        (peer, sizes)
    });
    l.run_until("the connected session stops watching writability", |r| {
        r.session_watches_writable(7) == Some(false)
    });
    // 26 MB: more than loopback's socket buffers hold while the peer does not read.
    let payload = vec![7u8; SIZE];
    for _ in 0..COUNT {
        assert!(
            ours.write(Msg::copy_from_slice(&payload)).is_ok(),
            "pipe full"
        );
    }
    ours.flush();
    l.run_until(
        "a write meets a full buffer and the session watches again",
        |r| r.session_watches_writable(7) == Some(true),
    );
    go.send(()).unwrap();
    l.run_until("the peer has every message", |_| peer.is_finished());
    l.run_until("the drained session stops watching writability", |r| {
        r.session_watches_writable(7) == Some(false)
    });
    let (_peer, sizes) = peer.join().unwrap();
    assert_eq!(sizes, vec![SIZE; COUNT]);
}

/// The peer's last message and its close are both in the kernel's buffer before the
/// session reads (the loop is not turned meanwhile), so one edge-triggered event reports
/// them together and the read that returns the message is short. The message is delivered
/// and the close seen: the session reads on to the end of file rather than waiting for an
/// edge that will not come. (A read loop that stopped at a short read, to spare the read
/// that returns WouldBlock, fails here; benches/RESULTS.md, "ninth stop".)
#[test]
fn a_close_that_came_with_the_last_data_is_seen() {
    let (listener, socket, mut ours, mut l) = dealer_connecting();
    let (step, steps) = mpsc::channel::<&str>();
    let peer = thread::spawn(move || {
        let mut peer = Peer::accept(&listener, SocketType::Dealer);
        step.send("ready").unwrap();
        peer.send("x");
        drop(peer);
        step.send("closed").unwrap();
        Peer::accept(&listener, SocketType::Dealer)
    });
    l.run_until("the handshake completes", |_| steps.try_recv().is_ok());
    // The loop stands still while the peer sends and closes.
    assert_eq!(steps.recv_timeout(LIMIT).unwrap(), "closed");
    let mut got = None;
    l.run_until("the message arrives and the session sees the close", |_| {
        got = got.take().or_else(|| ours.read());
        got.is_some() && socket.hiccup_queued(1)
    });
    drop(peer.join().unwrap());
}

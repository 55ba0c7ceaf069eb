//! CONNECT_TIMEOUT over the transports whose connect can hang (tcp://, ws://): a peer whose
//! host takes the SYN and never answers. The peer here is a real listener whose accept queue
//! is full (listen(2) backlog 0, one connection waiting): Linux drops further SYNs, so the
//! connect stays in SYN_SENT exactly as towards a host that vanished behind a live route.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Duration;

use isomq::{Context, MonitorEvent, SocketOption, SocketType};
use isomq_tests::{expect_event, socket};

/// A loopback listener that answers no new connection until `accept` is called: backlog 0
/// and one connection already queued.
struct FullListener {
    listener: TcpListener,
    _queued: TcpStream,
}

impl FullListener {
    fn new() -> FullListener {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        // SAFETY: listen(2) on a socket this function owns; a second listen changes the
        // backlog of a listening socket.
        assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0);
        let queued = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        FullListener {
            listener,
            _queued: queued,
        }
    }

    fn endpoint(&self, scheme: &str) -> String {
        let addr = self.listener.local_addr().unwrap();
        match scheme {
            "ws" => format!("ws://{addr}/feed"),
            _ => format!("tcp://{addr}"),
        }
    }
}

fn is_retried(e: &MonitorEvent) -> bool {
    matches!(e, MonitorEvent::ConnectRetried { .. })
}

// libzmq ZMQ_CONNECT_TIMEOUT: "Sets how long to wait before timing-out a connect() system
// call. [...] A value of 0 (the default) disables the timeout." A timed-out attempt is
// abandoned and the next follows RECONNECT_IVL (docs/wire.md §7.3); once the peer answers
// again, the next attempt connects.
#[test]
fn a_connect_that_is_never_answered_is_retried_after_the_timeout() {
    for scheme in ["tcp", "ws"] {
        let ctx = Context::new();
        let peer = FullListener::new();
        let mut push = socket(&ctx, SocketType::Push);
        push.set_option(SocketOption::ConnectTimeout(Some(Duration::from_millis(
            100,
        ))))
        .unwrap();
        let events = push.monitor();
        push.connect(&peer.endpoint(scheme)).unwrap();
        for _ in 0..3 {
            expect_event(&events, "ConnectRetried", is_retried);
        }
        // Room in the accept queue: the next attempt's SYN is answered.
        let (_taken, _) = peer.listener.accept().unwrap();
        expect_event(&events, "Connected", |e| {
            matches!(e, MonitorEvent::Connected { .. })
        });
    }
}

// The default leaves the attempt to the kernel (SYN retransmissions for a minute or more):
// with the same peer and no CONNECT_TIMEOUT, no retry is scheduled while the socket with
// the option has retried three times.
#[test]
fn without_connect_timeout_the_attempt_is_left_to_the_kernel() {
    let ctx = Context::new();
    let peer = FullListener::new();
    let mut plain = socket(&ctx, SocketType::Push);
    let plain_events = plain.monitor();
    plain.connect(&peer.endpoint("tcp")).unwrap();
    let mut timed = socket(&ctx, SocketType::Push);
    timed
        .set_option(SocketOption::ConnectTimeout(Some(Duration::from_millis(
            50,
        ))))
        .unwrap();
    let timed_events = timed.monitor();
    timed.connect(&peer.endpoint("tcp")).unwrap();
    for _ in 0..3 {
        expect_event(&timed_events, "ConnectRetried", is_retried);
    }
    while let Ok(e) = plain_events.recv_timeout(Duration::ZERO) {
        assert!(!is_retried(&e), "retried without CONNECT_TIMEOUT: {e:?}");
    }
}

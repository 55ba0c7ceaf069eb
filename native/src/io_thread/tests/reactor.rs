//! The reactor's command handling: commands reach the objects they name, create them and
//! remove them, and Stop ends the loop once lingering sessions are done.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{self, TryRecvError};
use std::thread;

use isomq_core::{Endpoint, SocketType};

use super::peer::{expect_closed, Peer};
use super::{in_order, write_all, FakeSocket, IoCommand, Loop};
use crate::io_thread::listener::Parent;
use crate::monitor::MonitorEvent;
use crate::stream::Stream;
use crate::transport;

/// A loopback listener on a port the OS picks, and its address.
fn loopback() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Both ends of a loopback TCP connection: the accepted one as an I/O thread takes it, and
/// the client.
fn accepted_stream() -> (Stream, TcpStream) {
    let (listener, addr) = loopback();
    let client = TcpStream::connect(addr).unwrap();
    let (accepted, _) = listener.accept().unwrap();
    accepted.set_nonblocking(true).unwrap();
    let stream = Stream::Tcp(mio::net::TcpStream::from_std(accepted));
    (stream, client)
}

fn parent(socket: &FakeSocket) -> Parent {
    Parent {
        listener: 0,
        link: socket.link.clone(),
        options: socket.options.clone(),
        ws: None,
        endpoint: "tcp://127.0.0.1:0".to_owned(),
        handshake: None,
    }
}

/// Sends Close for `id` and runs the loop until `id` is gone and `done` was dropped.
fn close(l: &mut Loop, id: u64) {
    let (done, closed) = mpsc::channel();
    l.send(IoCommand::Close {
        id,
        done: Some(done),
    });
    l.run_until("the object is closed", |r| !r.holds(id));
    assert_eq!(closed.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn connect_and_close_make_and_remove_a_session() {
    let (listener, addr) = loopback();
    let socket = FakeSocket::new(SocketType::Dealer, -1);
    let (_ours, theirs) = socket.pipe(1);
    let mut l = Loop::new();
    l.connect_tcp(7, addr, theirs, &socket);
    l.run_until("the session exists", |r| r.holds(7));
    // The session's connection attempt reached the listener.
    let (mut conn, _) = listener.accept().unwrap();
    close(&mut l, 7);
    assert_eq!(l.reactor.object_count(), 0);
    expect_closed(&mut conn);
}

#[test]
fn listen_accepts_and_close_takes_the_accepted_sessions_along() {
    let endpoint = Endpoint::parse("tcp://127.0.0.1:*").unwrap();
    let (listener, resolved) = transport::bind(&endpoint).unwrap();
    let addr: SocketAddr = resolved.trim_start_matches("tcp://").parse().unwrap();
    let socket = FakeSocket::new(SocketType::Pull, -1);
    let mut l = Loop::new();
    l.send(IoCommand::Listen {
        id: 3,
        listener,
        owner: socket.owner(&resolved),
        ws: None,
    });
    l.run_until("the listener exists", |r| r.holds(3));
    let mut client = TcpStream::connect(addr).unwrap();
    l.run_until("the connection is accepted", |r| r.object_count() == 2);
    close(&mut l, 3);
    assert_eq!(l.reactor.object_count(), 0);
    expect_closed(&mut client);
    let events = socket.events();
    assert!(
        in_order(
            &events,
            &[
                |e| matches!(e, MonitorEvent::Accepted { .. }),
                |e| matches!(e, MonitorEvent::Closed { .. }),
            ]
        ),
        "{events:?}"
    );
}

/// A service that runs for weeks meets thousands of connections coming and going: each one
/// closed must leave nothing behind on the thread, neither its session nor its timers (the
/// handshake deadline of HANDSHAKE_IVL, 30 s by default, outlives a short connection).
#[test]
fn connections_that_come_and_go_leave_no_objects_or_timers() {
    let endpoint = Endpoint::parse("tcp://127.0.0.1:*").unwrap();
    let (listener, resolved) = transport::bind(&endpoint).unwrap();
    let addr: SocketAddr = resolved.trim_start_matches("tcp://").parse().unwrap();
    let socket = FakeSocket::new(SocketType::Pull, -1);
    let mut l = Loop::new();
    l.send(IoCommand::Listen {
        id: 3,
        listener,
        owner: socket.owner(&resolved),
        ws: None,
    });
    l.run_until("the listener exists", |r| r.holds(3));
    for _ in 0..200 {
        let client = TcpStream::connect(addr).unwrap();
        l.run_until("the connection is accepted", |r| r.object_count() == 2);
        assert_eq!(l.reactor.timer_count(), 1, "the handshake deadline");
        drop(client);
        l.run_until("the session is gone", |r| r.object_count() == 1);
        assert_eq!(l.reactor.timer_count(), 0, "no timer outlives its session");
    }
    close(&mut l, 3);
    assert_eq!(l.reactor.object_count(), 0);
}

#[test]
fn adopt_makes_a_session_of_a_connection_accepted_elsewhere() {
    let socket = FakeSocket::new(SocketType::Pull, -1);
    let (stream, mut client) = accepted_stream();
    let mut l = Loop::new();
    l.send(IoCommand::Adopt {
        id: 9,
        stream,
        parent: parent(&socket),
    });
    l.run_until("the session exists", |r| r.holds(9));
    // It speaks ZMTP: its greeting starts with the signature (docs/wire.md §2.1).
    client.set_nonblocking(true).unwrap();
    let mut greeting = Vec::new();
    l.run_until("the session's greeting arrives", |_| {
        let mut buf = [0u8; 64];
        if let Ok(n) = client.read(&mut buf) {
            greeting.extend_from_slice(&buf[..n]);
        }
        greeting.len() >= 10
    });
    assert_eq!((greeting[0], greeting[9]), (0xff, 0x7f));
    client.set_nonblocking(false).unwrap();
    close(&mut l, 9);
    expect_closed(&mut client);
}

#[test]
fn stop_closes_idle_objects_and_ends_after_lingering_sessions_deliver() {
    let (peer_listener, peer_addr) = loopback();
    let socket = FakeSocket::new(SocketType::Dealer, -1);
    let (mut ours, theirs) = socket.pipe(1);
    write_all(&mut ours, &["m1", "m2"]);
    let endpoint = Endpoint::parse("tcp://127.0.0.1:*").unwrap();
    let (listener, resolved) = transport::bind(&endpoint).unwrap();
    let mut l = Loop::new();
    l.send(IoCommand::Listen {
        id: 3,
        listener,
        owner: socket.owner(&resolved),
        ws: None,
    });
    l.connect_tcp(7, peer_addr, theirs, &socket);
    l.run_until("both objects exist", |r| r.holds(3) && r.holds(7));
    // The socket closes with two messages queued, then the context stops the thread.
    drop(ours);
    l.send(IoCommand::Stop);
    l.run_until("the listener is closed", |r| !r.holds(3));
    assert!(l.reactor.holds(7), "the lingering session went early");
    // A thread on its way out takes no new connection.
    let (stream, mut refused) = accepted_stream();
    l.send(IoCommand::Adopt {
        id: 11,
        stream,
        parent: parent(&socket),
    });
    l.turn();
    assert!(!l.reactor.holds(11));
    expect_closed(&mut refused);
    // Once the peer accepts, the session delivers what was queued, then closes, and the
    // loop ends with it.
    let peer = thread::spawn(move || {
        let mut peer = Peer::accept(&peer_listener, SocketType::Dealer);
        let got = [peer.recv(), peer.recv()];
        peer.expect_closed();
        got
    });
    l.run_to_end();
    let got = peer.join().unwrap();
    assert_eq!([got[0].as_slice(), got[1].as_slice()], [b"m1", b"m2"]);
}

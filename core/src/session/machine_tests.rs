//! The session between a pipe and a real ZMTP codec, both ends in memory: the bytes one
//! codec encodes are fed to the other, so every rule runs against the real handshake.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use bytes::Bytes;

use super::{Action, Done, Inbound, Session, SessionEvent};
use crate::zmtp::{Config, Connection};
use crate::{Msg, Options, Pipe, SocketType};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Moves everything `from` encoded into `to`.
fn shuttle(from: &mut Connection, to: &mut Connection) {
    while from.transmit_len() > 0 {
        let chunk = from.transmit_chunk().to_vec();
        from.advance_transmit(chunk.len());
        to.handle_input(&chunk).unwrap();
    }
}

/// One side: a session, its codec, and the socket's end of its pipe.
struct Side {
    session: Session,
    codec: Connection,
    socket_end: Option<Pipe>,
    options: Options,
}

impl Side {
    fn new(
        ty: SocketType,
        connecting: bool,
        inbound: Inbound,
        f: impl FnOnce(&mut Options),
    ) -> Side {
        let mut options = Options::new(ty);
        f(&mut options);
        let mut session = Session::new(ty, &options, connecting, inbound);
        let mut socket_end = None;
        if connecting {
            let (socket, own) = Pipe::pair(1, options.sndhwm, options.rcvhwm);
            session.attach_pipe(own);
            socket_end = Some(socket);
        }
        let mut config = Config::new(ty);
        config.identity = options.routing_id.clone();
        session.handle_started(ms(0));
        Side {
            session,
            codec: Connection::new(config),
            socket_end,
            options,
        }
    }

    /// Drives the session and answers its events as a host does (a pipe for an accepted
    /// connection once its handshake is done); returns the events.
    fn drive(&mut self) -> Vec<SessionEvent> {
        self.session.drive(ms(1), &mut self.codec).unwrap();
        let events: Vec<_> = std::iter::from_fn(|| self.session.poll_event()).collect();
        if self.session.pipe().is_none() && !events.is_empty() {
            let (socket, own) = Pipe::pair(2, self.options.sndhwm, self.options.rcvhwm);
            self.session.attach_pipe(own);
            self.socket_end = Some(socket);
        }
        events
    }

    fn socket(&mut self) -> &mut Pipe {
        self.socket_end.as_mut().unwrap()
    }

    fn send(&mut self, text: &str) {
        let pipe = self.socket();
        pipe.write(Msg::from(text)).unwrap();
        pipe.flush();
    }

    fn recv(&mut self) -> Option<Msg> {
        self.socket().read()
    }
}

/// Runs both sides until nothing moves.
fn exchange(a: &mut Side, b: &mut Side) -> (Vec<SessionEvent>, Vec<SessionEvent>) {
    let (mut ea, mut eb) = (Vec::new(), Vec::new());
    for _ in 0..16 {
        ea.extend(a.drive());
        eb.extend(b.drive());
        shuttle(&mut a.codec, &mut b.codec);
        shuttle(&mut b.codec, &mut a.codec);
    }
    (ea, eb)
}

/// libzmq: a ROUTER receives each peer's routing id as the pipe's first message, ahead of
/// its data, even when the pipe is made after the handshake (an accepted connection).
#[test]
fn an_accepted_router_gets_the_peers_id_before_its_data() {
    let mut dealer = Side::new(SocketType::Dealer, true, Inbound::Backpressure, |o| {
        o.routing_id = Bytes::from_static(b"worker-7")
    });
    let mut router = Side::new(SocketType::Router, false, Inbound::Backpressure, |_| {});
    dealer.send("job");
    let (ed, er) = exchange(&mut dealer, &mut router);
    assert!(matches!(
        &ed[..],
        [SessionEvent::Ready { hiccup: false, .. }]
    ));
    assert!(matches!(&er[..], [SessionEvent::Ready { peer, .. }] if peer.identity == "worker-7"));
    let id = router.recv().unwrap();
    assert_eq!(id.as_slice(), b"worker-7");
    assert!(id.is_routing_id());
    assert_eq!(router.recv().unwrap().as_slice(), b"job");
}

/// libzmq: a connecting ROUTER (its pipe made before the handshake) gets the peer's routing
/// id ahead of data that came in the same read as the peer's READY; libzmq's CURVE server
/// sends READY and its queued messages in one write, so this is the common case there.
#[test]
fn a_connecting_router_gets_the_peers_id_before_data_read_with_its_ready() {
    let mut dealer = Side::new(SocketType::Dealer, true, Inbound::Backpressure, |o| {
        o.routing_id = Bytes::from_static(b"py-dealer")
    });
    let mut router = Side::new(SocketType::Router, true, Inbound::Backpressure, |_| {});
    dealer.send("job");
    // The dealer's READY and "job" reach the router in one input, before its next drive.
    exchange(&mut dealer, &mut router);
    let id = router.recv().unwrap();
    assert_eq!(id.as_slice(), b"py-dealer");
    assert!(id.is_routing_id());
    assert_eq!(router.recv().unwrap().as_slice(), b"job");
}

/// libzmq: when the pipe to the socket is full, the session stops taking input, so the
/// peer's sends back up; reading makes room and delivery resumes, nothing lost.
#[test]
fn a_full_pipe_holds_input_back_without_loss() {
    let mut push = Side::new(SocketType::Push, true, Inbound::Backpressure, |_| {});
    let mut pull = Side::new(SocketType::Pull, false, Inbound::Backpressure, |o| {
        o.rcvhwm = 2
    });
    for i in 0..10 {
        push.send(&i.to_string());
    }
    exchange(&mut push, &mut pull);
    assert!(!pull.session.wants_input(), "back-pressure");
    let mut got = Vec::new();
    while got.len() < 10 {
        match pull.recv() {
            Some(m) => got.push(String::from_utf8(m.to_vec()).unwrap()),
            None => {
                pull.drive();
            }
        }
    }
    let want: Vec<String> = (0..10).map(|i| i.to_string()).collect();
    assert_eq!(got, want);
    assert!(pull.session.wants_input());
    assert_eq!(pull.session.dropped(), 0);
}

/// A transport that cannot be paused: what arrived waits for room until more input comes,
/// then what still finds none is dropped, whole messages, and counted.
#[test]
fn drop_at_hwm_drops_whole_messages_and_counts_them() {
    let mut push = Side::new(SocketType::Push, true, Inbound::Backpressure, |_| {});
    let mut pull = Side::new(SocketType::Pull, false, Inbound::DropAtHwm, |o| {
        o.rcvhwm = 1
    });
    for text in ["a1", "b1", "c1"] {
        let pipe = push.socket();
        pipe.write(Msg::from(text).with_more(true)).unwrap();
        pipe.write(Msg::from("2")).unwrap();
        pipe.flush();
    }
    exchange(&mut push, &mut pull);
    assert!(pull.session.wants_input());
    assert_eq!(pull.session.dropped(), 0, "held until more input comes");
    pull.session
        .make_room(Duration::ZERO, &mut pull.codec)
        .unwrap();
    assert_eq!(pull.session.dropped(), 2);
    let frames: Vec<_> = std::iter::from_fn(|| pull.recv())
        .map(|m| m.to_vec())
        .collect();
    assert_eq!(frames, [b"a1".to_vec(), b"2".to_vec()]);
    pull.drive();
    assert_eq!(pull.recv(), None);
}

/// Below RCVHWM plus what the transport delivered at once, nothing is dropped: held input
/// moves into the pipe as the socket reads.
#[test]
fn drop_at_hwm_holds_what_arrived_until_the_socket_reads() {
    let mut push = Side::new(SocketType::Push, true, Inbound::Backpressure, |_| {});
    let mut pull = Side::new(SocketType::Pull, false, Inbound::DropAtHwm, |o| {
        o.rcvhwm = 1
    });
    for i in 0..5 {
        push.send(&i.to_string());
    }
    exchange(&mut push, &mut pull);
    let mut got = Vec::new();
    while got.len() < 5 {
        match pull.recv() {
            Some(m) => got.push(String::from_utf8(m.to_vec()).unwrap()),
            None => {
                pull.drive();
            }
        }
    }
    assert_eq!(got, ["0", "1", "2", "3", "4"]);
    assert_eq!(pull.session.dropped(), 0);
}

/// A connection lost in the middle of a multipart message: its frames are taken back,
/// so the next connection cannot complete it with frames of another message.
#[test]
fn a_message_cut_short_by_a_lost_connection_is_taken_back() {
    let mut push = Side::new(SocketType::Push, true, Inbound::Backpressure, |_| {});
    let mut pull = Side::new(SocketType::Pull, false, Inbound::Backpressure, |_| {});
    exchange(&mut push, &mut pull);
    let pipe = push.socket();
    pipe.write(Msg::from("part").with_more(true)).unwrap();
    pipe.write(Msg::from("whole")).unwrap();
    pipe.flush();
    // Only the first frame reaches the receiving session before the connection drops.
    push.drive();
    let all = push.codec.transmit_chunk().to_vec();
    let first_frame = 2 + 4; // flags, size, "part"
    pull.codec.handle_input(&all[..first_frame]).unwrap();
    pull.drive();
    assert_eq!(pull.session.handle_lost(ms(2), 0), None);
    assert_eq!(
        pull.recv(),
        None,
        "half a message must not reach the socket"
    );
    // The next connection's message arrives whole, not as the tail of the first.
    pull.codec = Connection::new(Config::new(SocketType::Pull));
    pull.session.handle_started(ms(3));
    let mut push = Side::new(SocketType::Push, true, Inbound::Backpressure, |_| {});
    push.send("next");
    exchange(&mut push, &mut pull);
    let m = pull.recv().unwrap();
    assert_eq!((m.as_slice(), m.more()), (&b"next"[..], false));
    assert_eq!(pull.recv(), None);
}

/// libzmq `session_base_t::clean_pipes`: when a connection is lost after taking the first
/// frames of a multipart message from the pipe, the rest of that message is dropped, so
/// the next connection starts with a whole message (docs/wire.md §7.6). A first frame over
/// OUT_BATCH makes the session stop between the frames.
#[test]
fn a_message_half_sent_on_a_lost_connection_is_dropped_whole() {
    let mut push = Side::new(SocketType::Push, true, Inbound::Backpressure, |_| {});
    let mut pull = Side::new(SocketType::Pull, false, Inbound::Backpressure, |_| {});
    exchange(&mut push, &mut pull);
    let big = Bytes::from(vec![7u8; super::OUT_BATCH + 1]);
    let pipe = push.socket();
    pipe.write(Msg::from(big).with_more(true)).unwrap();
    pipe.write(Msg::from("tail")).unwrap();
    pipe.write(Msg::from("next")).unwrap();
    pipe.flush();
    push.drive();
    assert_eq!(push.session.messages_out(), 1, "the big frame was taken");
    // Lost before anything reached the peer: the half-sent message goes with it.
    assert!(push.session.handle_lost(ms(2), 0).is_some());
    assert_eq!(push.session.messages_out(), 0);
    push.session.poll_pipe_idle();
    push.codec = Connection::new(Config::new(SocketType::Push));
    push.session.handle_started(ms(200));
    let mut pull = Side::new(SocketType::Pull, false, Inbound::Backpressure, |_| {});
    exchange(&mut push, &mut pull);
    let m = pull.recv().unwrap();
    assert_eq!((m.as_slice(), m.more()), (&b"next"[..], false));
    assert_eq!(pull.recv(), None);
    assert_eq!(push.session.messages_out(), 1);
}

/// docs/wire.md §7.6: a connection counts the messages it took from the pipe, a multipart
/// message once.
#[test]
fn a_connection_counts_the_messages_it_took() {
    let mut push = Side::new(SocketType::Push, true, Inbound::Backpressure, |_| {});
    let mut pull = Side::new(SocketType::Pull, false, Inbound::Backpressure, |_| {});
    push.send("one");
    let pipe = push.socket();
    pipe.write(Msg::from("two").with_more(true)).unwrap();
    pipe.write(Msg::from("parts")).unwrap();
    pipe.flush();
    exchange(&mut push, &mut pull);
    assert_eq!(push.session.messages_out(), 2);
    assert_eq!(pull.recv().unwrap().as_slice(), b"one");
}

/// The second handshake of a connecting session is a hiccup: the socket replays its
/// subscriptions.
#[test]
fn a_reconnection_is_reported_as_a_hiccup() {
    let mut sub = Side::new(SocketType::Sub, true, Inbound::Backpressure, |_| {});
    let mut publisher = Side::new(SocketType::Pub, false, Inbound::Backpressure, |_| {});
    let (first, _) = exchange(&mut sub, &mut publisher);
    assert!(matches!(
        &first[..],
        [SessionEvent::Ready { hiccup: false, .. }]
    ));
    assert!(sub.session.handle_lost(ms(5), 0).is_some());
    sub.codec = Connection::new(Config::new(SocketType::Sub));
    sub.session.handle_started(ms(200));
    let mut publisher = Side::new(SocketType::Pub, false, Inbound::Backpressure, |_| {});
    let (again, _) = exchange(&mut sub, &mut publisher);
    assert!(matches!(
        &again[..],
        [SessionEvent::Ready { hiccup: true, .. }]
    ));
}

/// libzmq LINGER: with the socket gone and messages still queued, the session waits up to
/// LINGER for a connection to take them; 0 drops them at once; nothing queued ends it.
#[test]
fn a_closed_socket_with_queued_messages_lingers() {
    let mut push = Side::new(SocketType::Push, true, Inbound::Backpressure, |_| {});
    push.send("unsent");
    drop(push.socket_end.take());
    assert_eq!(
        push.session.check_done(ms(10), Some(ms(100)), false),
        Done::No
    );
    let life = push.session.lifecycle();
    life.handle_timeout(ms(110));
    assert_eq!(life.poll_action(), Some(Action::Finish));

    let mut zero = Side::new(SocketType::Push, true, Inbound::Backpressure, |_| {});
    zero.send("unsent");
    drop(zero.socket_end.take());
    assert_eq!(
        zero.session.check_done(ms(10), Some(Duration::ZERO), false),
        Done::Yes
    );

    let mut idle = Side::new(SocketType::Push, true, Inbound::Backpressure, |_| {});
    drop(idle.socket_end.take());
    idle.session.poll_pipe_idle();
    assert_eq!(idle.session.check_done(ms(10), None, false), Done::Yes);
}

/// An orphaned session (its listener closed) delivers what the socket had queued, then
/// ends, without waiting for the socket to look at its pipes again.
#[test]
fn an_orphan_delivers_what_was_queued_then_ends() {
    let mut pull = Side::new(SocketType::Pull, true, Inbound::Backpressure, |_| {});
    let mut push = Side::new(SocketType::Push, false, Inbound::Backpressure, |_| {});
    exchange(&mut pull, &mut push);
    push.send("queued");
    assert!(push.session.orphan());
    assert_eq!(push.session.check_done(ms(1), None, false), Done::No);
    exchange(&mut pull, &mut push);
    assert_eq!(push.session.check_done(ms(2), None, false), Done::Yes);
    assert_eq!(pull.recv().unwrap().as_slice(), b"queued");
}

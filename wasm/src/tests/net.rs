//! The wasm host's sessions over a simulated network and clock: WebSockets that record what
//! is sent and let the test play the peer (a ZWS connection from the core), timers the test
//! fires by advancing the clock. Deterministic: no sleeps, no real sockets.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use isomq_core::zmtp::Config;
use isomq_core::zws::{Connection, Subprotocol};
use isomq_core::{Error, Msg, SocketType};

use crate::context::Context;
use crate::host::{ConnKey, Host, Input, SocketEvent, TimerKey, Ws};
use crate::SocketOption;

/// One WebSocket the session opened.
#[derive(Default)]
pub(super) struct FakeWs {
    pub(super) sent: RefCell<Vec<Bytes>>,
    pub(super) closed: Cell<bool>,
    /// Closed with status 1000, rather than aborted.
    pub(super) closed_normally: Cell<bool>,
    /// What `bufferedAmount` says: set by the test.
    pub(super) buffered: Cell<u64>,
}

struct FakeWsHandle(Rc<FakeWs>);

impl Ws for FakeWsHandle {
    fn send(&self, data: &[u8]) -> bool {
        self.0.sent.borrow_mut().push(Bytes::copy_from_slice(data));
        !self.0.closed.get()
    }
    fn buffered_amount(&self) -> u64 {
        self.0.buffered.get()
    }
    fn close(&self) {
        self.0.closed.set(true);
        self.0.closed_normally.set(true);
    }
    fn abort(&self) {
        self.0.closed.set(true);
    }
}

#[derive(Default)]
struct FakeNet {
    now: Cell<Duration>,
    opened: RefCell<Vec<(ConnKey, Rc<FakeWs>)>>,
    timers: RefCell<Vec<(Duration, TimerKey)>>,
    events: RefCell<Vec<SocketEvent>>,
}

impl Host for FakeNet {
    fn open(&self, _: &str, _: &[String], conn: ConnKey) -> Result<Box<dyn Ws>, Error> {
        let ws = Rc::new(FakeWs::default());
        self.opened.borrow_mut().push((conn, ws.clone()));
        Ok(Box::new(FakeWsHandle(ws)))
    }
    fn set_timer(&self, delay_ms: u32, key: TimerKey) {
        let at = self.now.get() + Duration::from_millis(u64::from(delay_ms));
        let mut timers = self.timers.borrow_mut();
        // As the web host: a new timer of a session and kind replaces the pending one.
        timers.retain(|(_, k)| {
            (k.conn.socket, k.conn.session, k.kind) != (key.conn.socket, key.conn.session, key.kind)
        });
        timers.push((at, key));
    }
    fn cancel_timers(&self, conn: ConnKey) {
        self.timers
            .borrow_mut()
            .retain(|(_, k)| (k.conn.socket, k.conn.session) != (conn.socket, conn.session));
    }
    fn now(&self) -> Duration {
        self.now.get()
    }
    fn random(&self) -> u64 {
        42
    }
    // Tests need repeatable bytes; a page gets crypto.getRandomValues.
    fn fill_random(&self, buf: &mut [u8]) -> isomq_core::Result<()> {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(31).wrapping_add(7);
        }
        Ok(())
    }
    fn emit(&self, _: u64, event: SocketEvent) {
        self.events.borrow_mut().push(event);
    }
}

pub(super) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub(super) struct Sim {
    net: Rc<FakeNet>,
    pub(super) ctx: Context,
}

impl Sim {
    pub(super) fn new() -> Sim {
        let net = Rc::new(FakeNet::default());
        let ctx = Context::with_host(net.clone());
        Sim { net, ctx }
    }

    /// Moves the clock to `t`, firing the timers due by then in order.
    pub(super) fn advance_to(&self, t: Duration) {
        loop {
            let next = {
                let mut timers = self.net.timers.borrow_mut();
                timers.sort_by_key(|(at, _)| *at);
                match timers.first() {
                    Some((at, _)) if *at <= t => Some(timers.remove(0)),
                    _ => None,
                }
            };
            let Some((at, key)) = next else { break };
            self.net.now.set(at);
            self.ctx.downgrade().input(Input::Timer(key));
        }
        self.net.now.set(t);
    }

    pub(super) fn now(&self) -> Duration {
        self.net.now.get()
    }

    pub(super) fn opened(&self) -> usize {
        self.net.opened.borrow().len()
    }

    pub(super) fn last(&self) -> (ConnKey, Rc<FakeWs>) {
        let opened = self.net.opened.borrow();
        let (k, ws) = opened.last().unwrap();
        (*k, ws.clone())
    }

    pub(super) fn input(&self, input: Input) {
        self.ctx.downgrade().input(input);
    }

    /// Completes the last WebSocket's opening and the ZWS handshake with a core connection
    /// playing the peer; returns the peer.
    pub(super) fn accept_last(&self, peer_type: SocketType, peer_id: &[u8]) -> Connection {
        self.accept_last_as(peer_type, peer_id, Subprotocol::Null)
    }

    /// [`accept_last`](Sim::accept_last) with the server choosing `sub`.
    pub(super) fn accept_last_as(
        &self,
        peer_type: SocketType,
        peer_id: &[u8],
        sub: Subprotocol,
    ) -> Connection {
        let (conn, ws) = self.last();
        self.input(Input::Open {
            conn,
            protocol: sub.token().into(),
        });
        let mut config = Config::new(peer_type);
        config.identity = Bytes::copy_from_slice(peer_id);
        let mut peer = Connection::new(config, sub);
        // With the batch extension the page waits for the server's READY.
        self.flush_peer(&mut peer);
        for data in ws.sent.borrow_mut().drain(..) {
            peer.handle_message(data).unwrap();
        }
        self.flush_peer(&mut peer);
        peer
    }

    /// Delivers what the peer queued to the session, one WebSocket message each.
    pub(super) fn flush_peer(&self, peer: &mut Connection) {
        let (conn, _) = self.last();
        while let Some(data) = peer.poll_transmit() {
            self.input(Input::Message { conn, data });
        }
    }
}

pub(super) fn strings(msg: Vec<Msg>) -> Vec<String> {
    msg.iter()
        .map(|m| String::from_utf8_lossy(m.as_slice()).into_owned())
        .collect()
}

/// libzmq's reconnect rule on the wasm host, from the core: RECONNECT_IVL plus a jitter
/// below it (RECONNECT_IVL_MAX 0, the default), after each lost connection.
#[test]
fn a_closed_websocket_is_reopened_after_the_libzmq_delay() {
    let sim = Sim::new();
    let sub = sim.ctx.socket(SocketType::Sub).unwrap();
    sub.connect("ws://example.invalid/feed").unwrap();
    assert_eq!(sim.opened(), 1);
    let (conn, _) = sim.last();
    sim.input(Input::Closed { conn });
    // random() is 42: 100 ms + 42 % 100.
    sim.advance_to(ms(141));
    assert_eq!(sim.opened(), 1);
    sim.advance_to(ms(142));
    assert_eq!(sim.opened(), 2);
}

/// HANDSHAKE_IVL on the wasm host: a WebSocket that never opens is dropped when it runs out
/// and tried again on the reconnect schedule.
#[test]
fn a_websocket_that_never_opens_is_dropped_at_the_handshake_interval() {
    let sim = Sim::new();
    let sub = sim.ctx.socket(SocketType::Sub).unwrap();
    sub.set_option(SocketOption::HandshakeIvl(Some(ms(500))))
        .unwrap();
    sub.connect("ws://example.invalid/feed").unwrap();
    let (_, first) = sim.last();
    sim.advance_to(ms(499));
    assert!(!first.closed.get());
    sim.advance_to(ms(500));
    assert!(first.closed.get());
    assert_eq!(sim.opened(), 1);
    sim.advance_to(ms(500 + 142));
    assert_eq!(sim.opened(), 2);
}

/// A finished handshake cancels the deadline: the connection stays up however long.
#[test]
fn a_finished_handshake_is_not_timed_out() {
    let sim = Sim::new();
    let sub = sim.ctx.socket(SocketType::Sub).unwrap();
    sub.set_option(SocketOption::HandshakeIvl(Some(ms(500))))
        .unwrap();
    sub.connect("ws://example.invalid/feed").unwrap();
    let _peer = sim.accept_last(SocketType::Pub, b"");
    sim.advance_to(ms(60_000));
    let (_, ws) = sim.last();
    assert!(!ws.closed.get());
    assert_eq!(sim.opened(), 1);
    assert!(sim
        .net
        .events
        .borrow()
        .iter()
        .any(|e| matches!(e, SocketEvent::Connect(_))));
}

/// A ROUTER learns its peer's routing id as the first message of a connection. A connecting
/// session keeps its pipe across reconnects, and libzmq's ROUTER skips the id a reconnected
/// peer sends again (it assumes a peer keeps its id). When the pipe is full of the earlier
/// connection's unread messages, the new id waits for room rather than being dropped, the
/// messages arriving meanwhile wait behind it (a WebSocket message's worth, as at RCVHWM),
/// and are routed under the id the ROUTER knows. What a lost connection held and finds no
/// room for is dropped and counted.
#[test]
fn a_router_reconnecting_into_a_full_pipe_keeps_its_peers_id() {
    let sim = Sim::new();
    let router = sim.ctx.socket(SocketType::Router).unwrap();
    router.set_option(SocketOption::RcvHwm(2)).unwrap();
    router.connect("ws://example.invalid/jobs").unwrap();
    let mut peer = sim.accept_last(SocketType::Dealer, b"worker");
    for text in ["a", "b", "c"] {
        peer.send_msg(&Msg::from(text));
    }
    sim.flush_peer(&mut peer);
    // The connection drops; the second one's id arrives while "a", "b" wait unread.
    let (conn, _) = sim.last();
    sim.input(Input::Closed { conn });
    sim.advance_to(ms(142));
    let mut peer = sim.accept_last(SocketType::Dealer, b"worker");
    peer.send_msg(&Msg::from("held while full"));
    sim.flush_peer(&mut peer);
    assert_eq!(strings(router.recv_multipart().unwrap()), ["worker", "a"]);
    assert_eq!(strings(router.recv_multipart().unwrap()), ["worker", "b"]);
    // Room again: the id goes in first (and is skipped), then what waited, then later
    // messages.
    assert_eq!(
        strings(router.recv_multipart().unwrap()),
        ["worker", "held while full"]
    );
    peer.send_msg(&Msg::from("after"));
    sim.flush_peer(&mut peer);
    assert_eq!(
        strings(router.recv_multipart().unwrap()),
        ["worker", "after"]
    );
    assert_eq!(router.recv_multipart(), Err(Error::Again));
    assert_eq!(
        router.dropped(),
        1,
        "\"c\": held at RCVHWM, lost with its connection"
    );
}

/// ZWS carries binary messages only: a text message means the peer does not speak ZWS, a
/// protocol error, after which libzmq does not reconnect (docs/wire.md §7.4, §10.7).
#[test]
fn a_text_message_ends_the_connection_for_good() {
    let sim = Sim::new();
    let sub = sim.ctx.socket(SocketType::Sub).unwrap();
    sub.connect("ws://example.invalid/feed").unwrap();
    let _peer = sim.accept_last(SocketType::Pub, b"");
    let (conn, ws) = sim.last();
    sim.input(Input::Invalid { conn });
    assert!(ws.closed.get());
    sim.advance_to(ms(60_000));
    assert_eq!(sim.opened(), 1);
    assert!(sim
        .net
        .events
        .borrow()
        .iter()
        .any(|e| matches!(e, SocketEvent::Disconnect(_))));
}

/// MAXMSGSIZE on the wasm host, over ZWS 2.0 and over the batch extension (it bounds the
/// handshake's commands too, so it is above READY's size here): a frame within it is
/// delivered, one over it is a protocol error that ends the connection, and no
/// reconnect follows (docs/wire.md §3.4, §7.4).
#[test]
fn a_frame_over_maxmsgsize_ends_the_connection_for_good() {
    for sub in [Subprotocol::Null, Subprotocol::Batch] {
        let sim = Sim::new();
        let pull = sim.ctx.socket(SocketType::Pull).unwrap();
        pull.set_option(SocketOption::MaxMsgSize(Some(64))).unwrap();
        pull.connect("ws://example.invalid/jobs").unwrap();
        let mut peer = sim.accept_last_as(SocketType::Push, b"", sub);
        peer.send_msg(&Msg::from(&[b'a'; 64][..]));
        sim.flush_peer(&mut peer);
        let got = pull.recv_batch(10).unwrap();
        assert_eq!(got.len(), 1, "{sub:?}: the message at the limit");
        let (_, ws) = sim.last();
        assert!(!ws.closed.get());
        peer.send_msg(&Msg::from(&[b'b'; 65][..]));
        sim.flush_peer(&mut peer);
        assert!(ws.closed.get(), "{sub:?}: a frame over the limit");
        assert!(pull.recv_batch(10).unwrap().is_empty());
        sim.advance_to(ms(60_000));
        assert_eq!(
            sim.opened(),
            1,
            "{sub:?}: no reconnect after a protocol error"
        );
    }
}

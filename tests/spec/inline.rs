//! Inline I/O (`ContextBuilder::inline_io`, docs/architecture.md §5.5): a socket drives its
//! own connections inside its calls, and a helper thread between them. The rules users
//! rely on must hold as with I/O threads: every message arrives, in order, also when the
//! sender closes right after sending or goes on with other work; blocking calls end with
//! their timeout or the context's termination; timers (reconnection, heartbeats) run
//! while the socket waits or is left alone; the async calls complete. Over every
//! transport, against peers with and without inline I/O.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use isomq::{Context, Error, SocketOption, SocketType};
use isomq_tests::executor::block_on;
use isomq_tests::{bind, expect_handshake_succeeded, recv_string, socket, Transport, ALL};

fn inline_ctx() -> Context {
    Context::builder().inline_io(true).build()
}

/// A context with an I/O thread, whatever this machine's default (a machine of at most
/// two CPUs chooses inline I/O by itself).
fn threads_ctx() -> Context {
    Context::builder().inline_io(false).build()
}

/// The pairs of contexts each test runs with over `t`: (binder, connecter). inproc peers
/// share a context; its sockets have no connections to drive, and keep the usual path.
fn pairings(t: Transport) -> Vec<(&'static str, Context, Context)> {
    if t == Transport::Inproc {
        let ctx = inline_ctx();
        return vec![("one inline context", ctx.clone(), ctx)];
    }
    vec![
        ("both inline", inline_ctx(), inline_ctx()),
        ("inline binder", inline_ctx(), threads_ctx()),
        ("inline connecter", threads_ctx(), inline_ctx()),
    ]
}

// RFC 28: each reply reaches the requester that sent the request, one exchange at a time.
// Inline, the requester's send writes the request and its recv waits in its own poll.
fn request_reply(t: Transport) {
    for (name, bctx, cctx) in pairings(t) {
        let mut rep = socket(&bctx, SocketType::Rep);
        let ep = bind(&mut rep, t);
        let server = std::thread::spawn(move || {
            for i in 0..2_000u32 {
                let q = recv_string(&mut rep);
                assert_eq!(q, format!("q{i}"));
                rep.send(format!("r{i}")).unwrap();
            }
        });
        let mut req = socket(&cctx, SocketType::Req);
        req.connect(&ep).unwrap();
        for i in 0..2_000u32 {
            req.send(format!("q{i}")).unwrap();
            assert_eq!(recv_string(&mut req), format!("r{i}"), "{t:?}, {name}");
        }
        server.join().unwrap();
    }
}

#[test]
fn request_reply_all_transports() {
    for t in ALL {
        request_reply(t);
    }
}

// libzmq's LINGER rule: "pending messages that have yet to be sent to a peer shall be
// kept in memory" for the linger period after close. A sender that closes right after its
// last send loses nothing: inline, its connections finish delivering on a thread of
// their own.
fn stream_then_close(t: Transport) {
    const COUNT: u32 = 100_000;
    for (name, bctx, cctx) in pairings(t) {
        let mut pull = socket(&bctx, SocketType::Pull);
        let ep = bind(&mut pull, t);
        let sender = std::thread::spawn(move || {
            let mut push = socket(&cctx, SocketType::Push);
            push.set_option(SocketOption::Linger(None)).unwrap();
            push.connect(&ep).unwrap();
            for i in 0..COUNT {
                push.send(i.to_le_bytes().to_vec()).unwrap();
            }
            // Closed at once, with most of the stream still queued.
            drop(push);
            cctx
        });
        for i in 0..COUNT {
            let m = pull.recv().unwrap();
            assert_eq!(m.as_slice(), i.to_le_bytes(), "{t:?}, {name}");
        }
        drop(sender.join().unwrap());
    }
}

#[test]
fn stream_then_close_all_transports() {
    for t in ALL {
        stream_then_close(t);
    }
}

// libzmq (zmq_ctx_term): "any blocking operations currently in progress on sockets open
// within context shall return immediately with an error code of ETERM". Inline, the
// socket is blocked in its own poll, which the termination must end.
#[test]
fn termination_ends_a_blocking_recv_in_the_sockets_own_poll() {
    for t in [Transport::Tcp, Transport::Ipc] {
        let ctx = inline_ctx();
        let mut pull = ctx.socket(SocketType::Pull).unwrap();
        bind(&mut pull, t);
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            tid_tx.send(isomq_tests::thread_id()).unwrap();
            let got = pull.recv();
            drop(pull);
            got
        });
        isomq_tests::wait_until_asleep(tid_rx.recv().unwrap());
        // Returns once the socket is closed, which it is after its recv returned.
        ctx.terminate();
        assert!(matches!(waiter.join().unwrap(), Err(Error::Term)), "{t:?}");
    }
}

// RCVTIMEO: "the socket shall return EAGAIN" once the timeout passes with nothing to
// receive; DONTWAIT returns at once.
#[test]
fn timeouts_and_dontwait_give_again() {
    for t in [Transport::Tcp, Transport::Ipc] {
        let ctx = inline_ctx();
        let mut pull = ctx.socket(SocketType::Pull).unwrap();
        bind(&mut pull, t);
        pull.set_option(SocketOption::RcvTimeout(Some(Duration::from_millis(30))))
            .unwrap();
        assert!(matches!(pull.recv(), Err(Error::Again)), "{t:?}");
        assert!(matches!(
            pull.recv_flags(isomq::Flags::DONTWAIT),
            Err(Error::Again)
        ));
    }
}

// A connecting socket reconnects (RECONNECT_IVL) to an endpoint bound after its connect:
// inline, the reconnect timer runs while the socket blocks in its call.
#[test]
fn connect_before_bind_reconnects_while_waiting() {
    let ctx = inline_ctx();
    let ep = Transport::Ipc.bind_endpoint();
    let mut req = socket(&ctx, SocketType::Req);
    req.connect(&ep).unwrap();
    req.send("early").unwrap();
    let other = threads_ctx();
    let mut rep = socket(&other, SocketType::Rep);
    let server = std::thread::spawn(move || {
        rep.bind(&ep).unwrap();
        let q = recv_string(&mut rep);
        rep.send(format!("re: {q}")).unwrap();
        rep
    });
    assert_eq!(recv_string(&mut req), "re: early");
    drop(server.join().unwrap());
}

// ZMTP 3.1 heartbeats (RFC 37): a peer that hears nothing for HEARTBEAT_TIMEOUT closes the
// connection. A socket blocked in a call answers the peer's PINGs from its own poll, so
// the connection outlives waits many times that timeout.
#[test]
fn pings_are_answered_while_blocked() {
    let ctx = inline_ctx();
    let other = threads_ctx();
    let mut rep = socket(&other, SocketType::Rep);
    rep.set_option(SocketOption::HeartbeatIvl(Some(Duration::from_millis(10))))
        .unwrap();
    rep.set_option(SocketOption::HeartbeatTimeout(Some(Duration::from_millis(
        50,
    ))))
    .unwrap();
    let monitor = rep.monitor();
    let ep = bind(&mut rep, Transport::Tcp);
    // The replier answers only after 10 of its heartbeat timeouts; the requester waits in
    // recv all along (inline, its connection progresses only inside its calls, the
    // handshake included).
    let server = std::thread::spawn(move || {
        assert_eq!(recv_string(&mut rep), "ping me");
        std::thread::sleep(Duration::from_millis(500));
        rep.send("still here").unwrap();
        rep
    });
    let mut req = socket(&ctx, SocketType::Req);
    req.connect(&ep).unwrap();
    req.send("ping me").unwrap();
    assert_eq!(recv_string(&mut req), "still here");
    let rep = server.join().unwrap();
    // No disconnection: the only connection stayed up.
    let events: Vec<_> = std::iter::from_fn(|| monitor.try_recv()).collect();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, isomq::MonitorEvent::Disconnected { .. })),
        "{events:?}"
    );
    drop(rep);
}

// The async API on inline sockets: each poll of a future turns the socket's reactor, and a
// pending one hands the reactor to the socket's helper thread until the socket's next
// call, so what the connections bring wakes the task (docs/architecture.md §5.5). A stream
// of 3,000 messages of 16 KiB with both sides async, the sender's SNDHWM small so that its
// sends wait too, over every transport and pairing: every message arrives, in order.
#[test]
fn async_calls_stream_over_inline_sockets() {
    const COUNT: u64 = 3000;
    for t in ALL {
        for (name, bctx, cctx) in pairings(t) {
            let mut pull = socket(&bctx, SocketType::Pull);
            let ep = bind(&mut pull, t);
            let mut push = socket(&cctx, SocketType::Push);
            push.set_option(SocketOption::SndHwm(10)).unwrap();
            push.connect(&ep).unwrap();
            let sender = std::thread::spawn(move || {
                block_on(async {
                    for i in 0..COUNT {
                        let mut m = vec![0u8; 16384];
                        m[..8].copy_from_slice(&i.to_le_bytes());
                        push.send_async(m).await.unwrap();
                    }
                });
                push
            });
            block_on(async {
                for i in 0..COUNT {
                    let m = pull.recv_async().await.unwrap();
                    let seq = m.as_slice().get(..8).map(|b| b.try_into().unwrap());
                    assert_eq!(seq.map(u64::from_le_bytes), Some(i), "{t:?}, {name}");
                }
            });
            drop(sender.join().unwrap());
        }
    }
}

// A socket blocked in its own poll must wake for what other threads send it, not only
// for its connections: here every message comes over inproc from another thread, which
// sends the next one only once the last arrived, so each recv races the sender into the
// poll (the socket's bell rings only while it may block: docs/architecture.md §5.5).
#[test]
fn messages_from_other_threads_end_a_blocking_poll_every_time() {
    const COUNT: u32 = 20_000;
    let ctx = inline_ctx();
    let mut pull = socket(&ctx, SocketType::Pull);
    // A tcp endpoint gives the socket its own reactor; the messages come over inproc.
    bind(&mut pull, Transport::Tcp);
    let ep = bind(&mut pull, Transport::Inproc);
    let (ack, acked) = std::sync::mpsc::channel::<()>();
    let sender_ctx = ctx.clone();
    let sender = std::thread::spawn(move || {
        let mut push = socket(&sender_ctx, SocketType::Push);
        push.connect(&ep).unwrap();
        for i in 0..COUNT {
            push.send(i.to_le_bytes().to_vec()).unwrap();
            // A lost wake-up leaves the message unread until the receiver's timeout ends
            // its poll; this side gives up first, so the test fails instead of crawling.
            if acked.recv_timeout(isomq_tests::PATIENCE / 4).is_err() {
                panic!("the receiver never woke for message {i}");
            }
        }
    });
    for i in 0..COUNT {
        assert_eq!(pull.recv().unwrap().as_slice(), i.to_le_bytes());
        if ack.send(()).is_err() {
            break;
        }
    }
    sender.join().expect("every message woke the receiver");
}

// RFC 27 (ZAP): the server's mechanism asks the context's handler, an inproc socket on a
// thread of its own, before it accepts the client. Inline, the handler's reply comes
// from that other thread to the socket's own reactor, whose poll it must wake (the
// notifier of a ZAP request's pipe rings the reactor's doorbell; only the socket's own
// pipes skip it).
#[test]
fn curve_with_a_zap_handler_on_another_thread() {
    use isomq::{curve_keypair, Authenticator};
    for t in [Transport::Tcp, Transport::Ipc] {
        let ctx = inline_ctx();
        let server_keys = curve_keypair().unwrap();
        let client_keys = curve_keypair().unwrap();
        let auth = Authenticator::start(&ctx).unwrap();
        auth.curve_allow(client_keys.public);
        let mut rep = socket(&ctx, SocketType::Rep);
        rep.set_option(SocketOption::CurveSecretKey(server_keys.secret.clone()))
            .unwrap();
        rep.set_option(SocketOption::CurveServer(true)).unwrap();
        let ep = bind(&mut rep, t);
        let server = std::thread::spawn(move || {
            let q = recv_string(&mut rep);
            rep.send(format!("sealed {q}")).unwrap();
            rep
        });
        let other = threads_ctx();
        let mut req = socket(&other, SocketType::Req);
        req.set_option(SocketOption::CurveSecretKey(client_keys.secret))
            .unwrap();
        req.set_option(SocketOption::CurveServerKey(server_keys.public))
            .unwrap();
        req.connect(&ep).unwrap();
        req.send("hello").unwrap();
        assert_eq!(recv_string(&mut req), "sealed hello", "{t:?}");
        drop(server.join().unwrap());
        drop(auth);
    }
}

// libzmq's LINGER: "the period ... pending messages shall be retained in memory after a
// socket is closed"; once it has passed they are discarded and the context can end. The
// thread a closed inline socket lingers on ends with LINGER too, even when the peer never
// reads, and the context's end (which joins it) returns.
#[test]
fn a_lingering_inline_socket_gives_up_after_linger() {
    let ctx = inline_ctx();
    // A peer that accepts and never reads: the sender's queue cannot drain.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let ep = format!("tcp://{}", listener.local_addr().unwrap());
    let (done, ended) = std::sync::mpsc::channel();
    let closer = std::thread::spawn(move || {
        let mut push = socket(&ctx, SocketType::Push);
        push.set_option(SocketOption::Linger(Some(Duration::from_millis(100))))
            .unwrap();
        push.set_option(SocketOption::SndHwm(100)).unwrap();
        push.connect(&ep).unwrap();
        // The peer never answers the greeting: everything stays queued.
        for _ in 0..100 {
            push.send(vec![0u8; 1024]).unwrap();
        }
        drop(push);
        drop(ctx);
        done.send(()).unwrap();
    });
    let (_conn, _) = listener.accept().unwrap();
    assert!(
        ended.recv_timeout(isomq_tests::PATIENCE).is_ok(),
        "the context never ended"
    );
    closer.join().unwrap();
}

// RFC 29 (PUBSUB): a SUB receives what the PUB publishes on the topics it subscribed to,
// once the subscription has reached the PUB. Inline on either side: the subscription is
// sent by `subscribe` (a send) and read by the PUB's sends, which turn its reactor now and
// then, as the handshake before it. An inline PUB's queued messages go out only inside
// its calls: here it publishes on a thread of its own and then closes, and LINGER
// delivers the rest (docs/architecture.md §5.5).
fn publish_subscribe(t: Transport) {
    // Within SNDHWM (1,000): a PUB drops what would go past its HWM (RFC 29), inline or
    // not, and nothing here waits for the subscriber to catch up.
    const COUNT: u32 = 900;
    for (name, bctx, cctx) in pairings(t) {
        for inline_pub in [true, false] {
            // The binder publishes in one round, subscribes in the other.
            let (pub_ctx, sub_ctx) = if inline_pub {
                (&bctx, &cctx)
            } else {
                (&cctx, &bctx)
            };
            let mut publisher = socket(pub_ctx, SocketType::Pub);
            publisher.set_option(SocketOption::Linger(None)).unwrap();
            let mut sub = socket(sub_ctx, SocketType::Sub);
            if inline_pub {
                let ep = bind(&mut publisher, t);
                sub.connect(&ep).unwrap();
            } else {
                let ep = bind(&mut sub, t);
                publisher.connect(&ep).unwrap();
            }
            sub.subscribe("news").unwrap();
            isomq_tests::sync_subscription(&mut publisher, &mut sub, b"news probe");
            let sender = std::thread::spawn(move || {
                for i in 0..COUNT {
                    publisher.send(format!("news {i}")).unwrap();
                    publisher.send(format!("other {i}")).unwrap();
                }
            });
            for i in 0..COUNT {
                let got = sub
                    .recv()
                    .map(|m| String::from_utf8_lossy(m.as_slice()).into_owned());
                assert_eq!(
                    got,
                    Ok(format!("news {i}")),
                    "{t:?}, {name}, inline pub {inline_pub}"
                );
            }
            sender.join().unwrap();
        }
    }
}

#[test]
fn publish_subscribe_all_transports() {
    for t in ALL {
        publish_subscribe(t);
    }
}

// zmq_send(3): a message accepted by a send is queued for delivery, whatever the sender
// does next. Inline, what the kernel could not take yet (or what was queued before the
// handshake completed) goes out on a helper thread while the sender is in no call of its
// socket (docs/architecture.md §5.5).
#[test]
fn a_queued_tail_is_delivered_while_the_sender_does_other_work() {
    const COUNT: usize = 600;
    for t in [Transport::Tcp, Transport::Ipc] {
        for (name, bctx, cctx) in pairings(t) {
            let mut pull = socket(&bctx, SocketType::Pull);
            let ep = bind(&mut pull, t);
            let (go, start) = std::sync::mpsc::channel::<()>();
            let (got_all, all_received) = std::sync::mpsc::channel::<()>();
            let receiver = std::thread::spawn(move || {
                start.recv().unwrap();
                for i in 0..COUNT {
                    let m = pull.recv().unwrap();
                    assert_eq!(m.len(), 65536, "message {i}");
                }
                got_all.send(()).unwrap();
                pull
            });
            let mut push = socket(&cctx, SocketType::Push);
            push.connect(&ep).unwrap();
            // Far more than the kernel's buffers hold: most of it stays queued.
            for _ in 0..COUNT {
                push.send(vec![7u8; 65536]).unwrap();
            }
            go.send(()).unwrap();
            // The sender makes no call on its socket until the receiver has everything.
            if all_received.recv_timeout(isomq_tests::PATIENCE).is_err() {
                panic!("{t:?}, {name}: the queued tail never arrived");
            }
            drop(push);
            drop(receiver.join().unwrap());
        }
    }
}

// zmq_send(3) again, for small messages: an inline socket holds the sends of a burst to
// write them together (`InlineIo::after_send`), and a burst whose sender then makes no
// call of its socket is written by the helper thread. Here each round is a burst of a few
// messages after which the sender waits, outside any call, for the receiver to have them
// all; the rounds make the helper park and wake again and again. Every tenth round is a
// stream of thousands, over which the helper looks at the sending socket less and less
// often (`write_output`), and whose last burst it must still write.
#[test]
fn a_held_burst_is_delivered_while_the_sender_does_other_work() {
    const ROUNDS: usize = 300;
    // Mostly short bursts; every tenth a stream long enough for the helper to stretch its
    // looks at a socket that goes on sending.
    let burst = |round: usize| if round % 10 == 9 { 3000 } else { 8 };
    let frame =
        |round: usize, i: usize| [(round as u16).to_le_bytes(), (i as u16).to_le_bytes()].concat();
    for t in [Transport::Tcp, Transport::Ipc] {
        for (name, bctx, cctx) in pairings(t) {
            let mut pull = socket(&bctx, SocketType::Pull);
            let ep = bind(&mut pull, t);
            let (got_burst, burst_received) = std::sync::mpsc::channel::<()>();
            let receiver = std::thread::spawn(move || {
                for round in 0..ROUNDS {
                    for i in 0..burst(round) {
                        let m = pull.recv().unwrap();
                        assert_eq!(m.as_ref(), frame(round, i), "round {round}");
                    }
                    got_burst.send(()).unwrap();
                }
                pull
            });
            let mut push = socket(&cctx, SocketType::Push);
            push.connect(&ep).unwrap();
            for round in 0..ROUNDS {
                for i in 0..burst(round) {
                    push.send(frame(round, i)).unwrap();
                }
                if burst_received.recv_timeout(isomq_tests::PATIENCE).is_err() {
                    panic!("{t:?}, {name}: round {round}'s burst never arrived");
                }
            }
            drop(push);
            drop(receiver.join().unwrap());
        }
    }
}

// RFC 23 (ZMTP): a peer that connects gets the greeting and the handshake; libzmq's I/O
// threads do that whatever the application is doing. Inline, a socket that has made no
// call for a while has its connections turned by its helper thread (docs/architecture.md
// §5.5), so a binder left alone after `bind` still accepts and completes handshakes.
#[test]
fn an_idle_binder_accepts_and_handshakes() {
    for t in [Transport::Tcp, Transport::Ipc] {
        let ctx = inline_ctx();
        let mut pull = socket(&ctx, SocketType::Pull);
        let ep = bind(&mut pull, t);
        // From here on the binder makes no call until the peer's handshake succeeded.
        let other = threads_ctx();
        let mut push = socket(&other, SocketType::Push);
        let monitor = push.monitor();
        push.connect(&ep).unwrap();
        expect_handshake_succeeded(&monitor);
        push.send("after").unwrap();
        assert_eq!(recv_string(&mut pull), "after");
    }
}

// ZMTP 3.1 heartbeats (RFC 37) again, for a socket that makes no call at all: its helper
// answers the peer's PINGs, so the connection outlives ten of the peer's heartbeat
// timeouts while the application does other work.
#[test]
fn an_idle_socket_answers_pings() {
    for t in [Transport::Tcp, Transport::Ipc] {
        let other = threads_ctx();
        let mut router = socket(&other, SocketType::Router);
        router
            .set_option(SocketOption::HeartbeatIvl(Some(Duration::from_millis(10))))
            .unwrap();
        router
            .set_option(SocketOption::HeartbeatTimeout(Some(Duration::from_millis(
                50,
            ))))
            .unwrap();
        let monitor = router.monitor();
        let ep = bind(&mut router, t);
        let ctx = inline_ctx();
        let mut dealer = socket(&ctx, SocketType::Dealer);
        dealer.connect(&ep).unwrap();
        dealer.send("hello").unwrap();
        let hello = router.recv_multipart().unwrap();
        assert_eq!(hello[1].as_ref(), b"hello");
        // The dealer makes no call while ten of the router's timeouts pass.
        let quiet = std::time::Instant::now() + Duration::from_millis(500);
        while let Some(left) = quiet.checked_duration_since(std::time::Instant::now()) {
            if let Ok(isomq::MonitorEvent::Disconnected { .. }) = monitor.recv_timeout(left) {
                panic!("{t:?}: the idle inline socket's connection was dropped")
            }
        }
        dealer.send("still here").unwrap();
        let again = router.recv_multipart().unwrap();
        assert_eq!(again[0], hello[0], "{t:?}: the same connection");
        assert_eq!(again[1].as_ref(), b"still here");
    }
}

// libzmq's zmq_unbind(3) closes the endpoint's listener and the connections it accepted,
// and a connecting socket reconnects (RECONNECT_IVL): a message sent once the peer has
// unbound waits for the next peer on that endpoint. Inline, a send after a pause polls
// the socket's connections before the message reaches a session, so the closed
// connection (over ws://, the peer's close frame) is seen closed, and the message is not
// written into it and lost; with an I/O thread, the session reads before it takes output
// (spec_pushpull repeats this rule to catch that race).
#[test]
fn a_send_after_the_peer_unbound_reaches_the_next_binder() {
    for t in [Transport::Tcp, Transport::Ipc, Transport::Ws] {
        for (name, bctx, cctx) in pairings(t) {
            let got = isomq_tests::send_after_unbind(&bctx, &cctx, t);
            assert_eq!(got.as_deref(), Ok("second"), "{t:?}, {name}");
        }
    }
}

/// The context's live objects, summed over its I/O threads and inline reactors.
fn live(ctx: &Context) -> isomq::IoStats {
    ctx.stats().into_iter().sum()
}

/// Waits until `ctx` holds `sessions` sessions (they close on the peer's side a moment
/// after the peer's close returns).
fn expect_sessions(ctx: &Context, sessions: usize, what: &str) {
    let start = std::time::Instant::now();
    while live(ctx).sessions != sessions {
        assert!(
            start.elapsed() < isomq_tests::PATIENCE,
            "{what}: {:?}, expected {sessions} sessions",
            live(ctx)
        );
        std::thread::yield_now();
    }
}

// `Context::stats` (docs/architecture.md §5.5): what each reactor holds, listeners and
// sessions following the live connections, with inline I/O as with I/O threads. A socket
// blocked in a long receive holds its reactor; its turn answers the count (the probe
// rings its doorbell), and an idle socket's reactor is counted under its lock. A closed
// socket is no longer counted.
#[test]
fn stats_count_inline_reactors() {
    for t in [Transport::Tcp, Transport::Ipc] {
        let ctx = inline_ctx();
        let mut pull = socket(&ctx, SocketType::Pull);
        let ep = bind(&mut pull, t);
        let before = live(&ctx);
        assert_eq!((before.listeners, before.sessions), (1, 0), "{t:?}");
        let peers = threads_ctx();
        let pushes: Vec<_> = (0..3)
            .map(|_| {
                let mut push = socket(&peers, SocketType::Push);
                let monitor = push.monitor();
                push.connect(&ep).unwrap();
                expect_handshake_succeeded(&monitor);
                push
            })
            .collect();
        // Idle: counted under the lock, or by the helper's turn once it has the reactor.
        expect_sessions(&ctx, 3, "idle receiver");
        // Blocked in a receive that only the last message ends.
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let receiver = std::thread::spawn(move || {
            tid_tx.send(isomq_tests::thread_id()).unwrap();
            assert_eq!(recv_string(&mut pull), "wake");
            pull
        });
        isomq_tests::wait_until_asleep(tid_rx.recv().unwrap());
        for _ in 0..20 {
            assert_eq!(live(&ctx).sessions, 3, "{t:?}: receiver blocked");
        }
        let mut pushes = pushes;
        pushes[0].send("wake").unwrap();
        let pull = receiver.join().unwrap();
        drop(pushes);
        expect_sessions(&ctx, 0, "after the peers closed");
        assert_eq!(live(&ctx).listeners, 1, "{t:?}");
        drop(pull);
        assert!(ctx.stats().is_empty(), "{t:?}: {:?}", ctx.stats());
        // A connecting inline socket's sessions are counted too.
        let mut pull = socket(&peers, SocketType::Pull);
        let ep = bind(&mut pull, t);
        let mut push = socket(&ctx, SocketType::Push);
        push.connect(&ep).unwrap();
        push.send("hello").unwrap();
        assert_eq!(recv_string(&mut pull), "hello");
        assert_eq!((live(&ctx).listeners, live(&ctx).sessions), (0, 1), "{t:?}");
    }
}

//! The poller (`zmq_poll`), the async API and the proxy (`zmq_proxy`,
//! `zmq_proxy_steerable`), over every transport where it matters.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use isomq::{
    poll, proxy, proxy_steerable, Context, Error, Flags, PollEvents, PollItem, SocketOption,
    SocketType,
};
use isomq_tests::executor::{block_on, block_on_reporting};
use isomq_tests::{
    bind, recv_string, socket, sync_subscription, thread_id, wait_until_asleep, Transport, ALL,
    PATIENCE,
};

/// The contexts a poll test runs with over `t`: (name, the polled sockets' context, their
/// peers' context). With inline I/O (`ContextBuilder::inline_io`) the poll turns the
/// polled sockets' own reactors; their peers keep an I/O thread, since an inline peer's
/// connection would progress only inside its own calls. inproc peers share a context.
fn contexts(t: Transport) -> Vec<(&'static str, Context, Context)> {
    let inline = Context::builder().inline_io(true).build();
    let threads = Context::new();
    if t == Transport::Inproc {
        return vec![
            ("I/O threads", threads.clone(), threads),
            ("inline", inline.clone(), inline),
        ];
    }
    vec![
        ("I/O threads", threads.clone(), threads),
        ("inline", inline, Context::new()),
    ]
}

/// [`contexts`] of every transport.
fn every_context() -> Vec<(Transport, (&'static str, Context, Context))> {
    ALL.into_iter()
        .flat_map(|t| contexts(t).into_iter().map(move |c| (t, c)))
        .collect()
}

// zmq_poll(3): "returns the number of zmq_pollitem_t structures with events signaled in
// revents", and only those items have revents set.
fn poll_reports_the_ready_socket(t: Transport) {
    for (name, ctx, peers) in contexts(t) {
        poll_reports_the_ready_socket_with(t, name, &ctx, &peers);
    }
}

fn poll_reports_the_ready_socket_with(t: Transport, name: &str, ctx: &Context, peers: &Context) {
    let mut pulls: Vec<_> = (0..3).map(|_| socket(ctx, SocketType::Pull)).collect();
    let eps: Vec<String> = pulls.iter_mut().map(|p| bind(p, t)).collect();
    let mut push = socket(peers, SocketType::Push);
    push.connect(&eps[1]).unwrap();
    push.send("x").unwrap();
    let [a, b, c] = &mut pulls[..] else {
        unreachable!()
    };
    let mut items = [
        PollItem::new(a, PollEvents::IN),
        PollItem::new(b, PollEvents::IN),
        PollItem::new(c, PollEvents::IN),
    ];
    assert_eq!(poll(&mut items, None).unwrap(), 1, "{t:?}, {name}");
    assert!(!items[0].is_readable() && items[1].is_readable() && !items[2].is_readable());
    assert_eq!(recv_string(items[1].socket()), "x");
}

#[test]
fn poll_reports_the_ready_socket_all_transports() {
    for t in ALL {
        poll_reports_the_ready_socket(t);
    }
}

// zmq_poll(3): "If none of the requested events have occurred ... within timeout
// milliseconds, zmq_poll() shall return ... 0"; a zero timeout only looks.
#[test]
fn poll_times_out_with_zero() {
    let ctx = Context::new();
    let mut pull = socket(&ctx, SocketType::Pull);
    bind(&mut pull, Transport::Tcp);
    let mut items = [PollItem::new(&mut pull, PollEvents::IN)];
    assert_eq!(poll(&mut items, Some(Duration::ZERO)).unwrap(), 0);
    assert_eq!(
        poll(&mut items, Some(Duration::from_millis(20))).unwrap(),
        0
    );
    assert!(items[0].revents().is_empty());
}

// The poller sleeps (no busy loop) until a message arrives from another thread. The
// message is sent once the poller is asleep, so the wake-up itself is what is tested.
#[test]
fn poll_wakes_when_a_message_arrives() {
    for (t, (name, ctx, peers)) in every_context() {
        let mut pull = socket(&ctx, SocketType::Pull);
        let ep = bind(&mut pull, t);
        let mut push = socket(&peers, SocketType::Push);
        push.connect(&ep).unwrap();
        let (polling, poller_tid) = mpsc::channel();
        let poller = thread::spawn(move || {
            let ready = {
                let mut items = [PollItem::new(&mut pull, PollEvents::IN)];
                polling.send(thread_id()).unwrap();
                poll(&mut items, None).unwrap()
            };
            (ready, recv_string(&mut pull))
        });
        wait_until_asleep(poller_tid.recv().unwrap());
        push.send("late").unwrap();
        assert_eq!(
            poller.join().unwrap(),
            (1, "late".to_owned()),
            "{t:?}, {name}"
        );
    }
}

// ZMQ_POLLOUT: "at least one message may be sent to the socket without blocking". A PUSH
// with no peer is not writable; once a peer connects it is.
#[test]
fn pollout_follows_peers() {
    let ctx = Context::new();
    let mut push = socket(&ctx, SocketType::Push);
    let ep = bind(&mut push, Transport::Tcp);
    {
        let mut items = [PollItem::new(&mut push, PollEvents::OUT)];
        assert_eq!(poll(&mut items, Some(Duration::ZERO)).unwrap(), 0);
    }
    let mut pull = socket(&ctx, SocketType::Pull);
    pull.connect(&ep).unwrap();
    let mut items = [PollItem::new(&mut push, PollEvents::OUT | PollEvents::IN)];
    assert_eq!(poll(&mut items, None).unwrap(), 1);
    assert!(items[0].is_writable() && !items[0].is_readable());
}

// zmq_ctx_term(3): blocking operations, zmq_poll included, return ETERM.
#[test]
fn poll_returns_eterm_on_terminate() {
    for (_, ctx, _) in contexts(Transport::Inproc) {
        poll_returns_eterm_on_terminate_with(ctx);
    }
}

fn poll_returns_eterm_on_terminate_with(ctx: Context) {
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("inproc://eterm-poll").unwrap();
    let (polling, waiter_tid) = mpsc::channel();
    let waiter = thread::spawn(move || {
        let r = {
            let mut items = [PollItem::new(&mut pull, PollEvents::IN)];
            polling.send(thread_id()).unwrap();
            poll(&mut items, None)
        };
        drop(pull);
        r
    });
    // Terminate while the poll is blocked: that is the case under test.
    wait_until_asleep(waiter_tid.recv().unwrap());
    ctx.terminate();
    assert_eq!(waiter.join().unwrap().err(), Some(Error::Term));
}

// The async API: futures woken by the socket's signal, with no thread per socket.
#[test]
fn async_recv_and_send() {
    for t in ALL {
        let ctx = Context::new();
        let mut pull = socket(&ctx, SocketType::Pull);
        let ep = bind(&mut pull, t);
        let mut push = socket(&ctx, SocketType::Push);
        push.connect(&ep).unwrap();
        // The sender starts once the receive is pending, so its waker is what gets it back.
        let (pending_tx, pending) = mpsc::channel();
        let sender = thread::spawn(move || {
            pending.recv().unwrap();
            block_on(async {
                push.send_multipart_async(["a", "b"]).await.unwrap();
                push.send_async("c").await.unwrap();
            });
            push
        });
        let frames = block_on_reporting(pull.recv_multipart_async(), move || {
            pending_tx.send(()).unwrap();
        })
        .unwrap();
        assert_eq!(frames.len(), 2, "{t:?}");
        assert_eq!(frames[1].as_slice(), b"b");
        assert_eq!(block_on(pull.recv_async()).unwrap().as_slice(), b"c");
        drop(sender.join().unwrap());
    }
}

// An async send at the HWM waits (instead of failing) until the peer reads.
#[test]
fn async_send_waits_at_hwm() {
    let ctx = Context::new();
    let mut pull = socket(&ctx, SocketType::Pull);
    pull.set_option(SocketOption::RcvHwm(1)).unwrap();
    let ep = bind(&mut pull, Transport::Inproc);
    let mut push = socket(&ctx, SocketType::Push);
    push.set_option(SocketOption::SndHwm(1)).unwrap();
    push.connect(&ep).unwrap();
    while push.send_flags("fill", Flags::DONTWAIT).is_ok() {}
    // The reader starts once the send is pending; if the send completes without waiting,
    // the channel closes unused and the reader fails the test.
    let (pending_tx, pending) = mpsc::channel();
    let reader = thread::spawn(move || {
        pending
            .recv()
            .expect("send_async at the HWM completed without waiting");
        while recv_string(&mut pull) != "last" {}
        pull
    });
    block_on_reporting(push.send_async("last"), move || {
        pending_tx.send(()).unwrap();
    })
    .unwrap();
    drop(reader.join().unwrap());
}

// zmq_proxy(3): "The proxy connects a frontend socket to a backend socket ... data flows
// from frontend to backend" (here PULL → PUSH, the streamer), and "if the capture socket is
// not NULL, the proxy shall send all messages, received on both frontend and backend, to
// the capture socket". It returns when the context terminates.
#[test]
fn proxy_streamer_with_capture() {
    let ctx = Context::new();
    let mut input = socket(&ctx, SocketType::Push);
    let mut output = socket(&ctx, SocketType::Pull);
    let mut frontend = ctx.socket(SocketType::Pull).unwrap();
    let mut backend = ctx.socket(SocketType::Push).unwrap();
    let mut capture = ctx.socket(SocketType::Push).unwrap();
    let mut tap = socket(&ctx, SocketType::Pull);
    frontend.bind("tcp://127.0.0.1:*").unwrap();
    backend.bind("ipc://@isomq-proxy-backend-test").unwrap();
    capture.bind("inproc://capture").unwrap();
    tap.connect("inproc://capture").unwrap();
    input.connect(frontend.last_endpoint().unwrap()).unwrap();
    output.connect(backend.last_endpoint().unwrap()).unwrap();
    let runner = thread::spawn(move || {
        let r = proxy(&mut frontend, &mut backend, Some(&mut capture));
        drop((frontend, backend, capture));
        r
    });
    input.send_multipart(["job", "1"]).unwrap();
    let got = output.recv_multipart().unwrap();
    assert_eq!(got[0].as_slice(), b"job");
    assert_eq!(got[1].as_slice(), b"1");
    assert_eq!(tap.recv_multipart().unwrap().len(), 2);
    drop((input, output, tap));
    ctx.terminate();
    assert_eq!(runner.join().unwrap(), Err(Error::Term));
}

// An XSUB↔XPUB forwarder: subscriptions flow upstream through the proxy, data downstream.
#[test]
fn proxy_forwarder_xsub_xpub() {
    let ctx = Context::new();
    let mut publisher = socket(&ctx, SocketType::Pub);
    let up = bind(&mut publisher, Transport::Tcp);
    let mut xsub = ctx.socket(SocketType::XSub).unwrap();
    xsub.connect(&up).unwrap();
    let mut xpub = ctx.socket(SocketType::XPub).unwrap();
    xpub.bind("tcp://127.0.0.1:*").unwrap();
    let down = xpub.last_endpoint().unwrap().to_owned();
    let mut control = ctx.socket(SocketType::Pair).unwrap();
    control.bind("inproc://forwarder-control").unwrap();
    let runner = thread::spawn(move || {
        let r = proxy_steerable(&mut xsub, &mut xpub, None, &mut control);
        drop((xsub, xpub, control));
        r
    });
    let mut sub = socket(&ctx, SocketType::Sub);
    sub.subscribe("w").unwrap();
    sub.connect(&down).unwrap();
    sync_subscription(&mut publisher, &mut sub, b"w: sunny");
    let mut ctl = socket(&ctx, SocketType::Pair);
    ctl.connect("inproc://forwarder-control").unwrap();
    ctl.send("STATISTICS").unwrap();
    let stats = ctl.recv_multipart().unwrap();
    assert_eq!(stats.len(), 8);
    let frontend_in = u64::from_ne_bytes(stats[0].as_slice().try_into().unwrap());
    assert!(frontend_in >= 1);
    ctl.send("TERMINATE").unwrap();
    let final_stats = runner.join().unwrap().unwrap();
    assert!(
        final_stats.backend_in_msgs >= 1,
        "the subscription went upstream"
    );
}

// libzmq ZMQ_FD: a descriptor an external event loop can wait on; it signals whenever the
// socket may have become readable or writable, after which the loop checks and receives.
#[test]
fn readiness_fd_drives_an_external_event_loop() {
    use mio::unix::SourceFd;
    use mio::{Events, Interest, Poll as MioPoll, Token};

    for (t, (name, ctx, peers)) in every_context() {
        let mut pull = socket(&ctx, SocketType::Pull);
        let ep = bind(&mut pull, t);
        let fd = pull.readiness_fd().unwrap();
        let mut mio_poll = MioPoll::new().unwrap();
        mio_poll
            .registry()
            .register(&mut SourceFd(&fd), Token(7), Interest::READABLE)
            .unwrap();
        let mut push = socket(&peers, SocketType::Push);
        push.connect(&ep).unwrap();
        // Five batches of ten; each goes once the loop has received the one before, so each
        // arrives at a socket the loop has drained and the fd must signal again.
        let (drained, batch_done) = mpsc::channel();
        let sender = thread::spawn(move || {
            for i in 0..50 {
                if i > 0 && i % 10 == 0 {
                    batch_done.recv().unwrap();
                }
                push.send(format!("{i}")).unwrap();
            }
            push
        });
        let mut events = Events::with_capacity(4);
        let mut got = Vec::new();
        let mut batches = 0;
        while got.len() < 50 {
            mio_poll.poll(&mut events, Some(PATIENCE)).unwrap();
            assert!(!events.is_empty(), "{t:?}, {name}: the fd never signalled");
            while let Ok(m) = pull.recv_flags(Flags::DONTWAIT) {
                got.push(String::from_utf8_lossy(m.as_slice()).into_owned());
            }
            while batches < got.len() / 10 {
                batches += 1;
                // After the last batch the sender is gone: nobody left to tell.
                let _ = drained.send(());
            }
        }
        let expected: Vec<String> = (0..50).map(|i| i.to_string()).collect();
        assert_eq!(got, expected, "{t:?}, {name}");
        drop(sender.join().unwrap());
    }
}

// zmq_proxy(3) "Shared Queue": ROUTER frontend, DEALER backend, REQ clients and REP
// workers; each reply returns to the client that asked (the envelope passes through).
fn proxy_router_dealer_broker(t: Transport) {
    let ctx = Context::new();
    let mut frontend = ctx.socket(SocketType::Router).unwrap();
    let mut backend = ctx.socket(SocketType::Dealer).unwrap();
    let front = bind(&mut frontend, t);
    let back = bind(&mut backend, t);
    let broker = thread::spawn(move || {
        let r = proxy(&mut frontend, &mut backend, None);
        drop((frontend, backend));
        r
    });
    let workers: Vec<_> = (0..2)
        .map(|n| {
            let mut rep = ctx.socket(SocketType::Rep).unwrap();
            rep.connect(&back).unwrap();
            thread::spawn(move || {
                while let Ok(req) = rep.recv() {
                    let mut reply = req.to_vec();
                    reply.extend_from_slice(format!(" by {n}").as_bytes());
                    if rep.send(reply).is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
    let mut clients: Vec<_> = (0..3)
        .map(|_| {
            let mut req = socket(&ctx, SocketType::Req);
            req.connect(&front).unwrap();
            req
        })
        .collect();
    for round in 0..3 {
        for (i, c) in clients.iter_mut().enumerate() {
            c.send(format!("c{i} r{round}")).unwrap();
        }
        for (i, c) in clients.iter_mut().enumerate() {
            let reply = recv_string(c);
            assert!(
                reply.starts_with(&format!("c{i} r{round} by ")),
                "{t:?}: {reply}"
            );
        }
    }
    drop(clients);
    ctx.terminate();
    assert_eq!(broker.join().unwrap(), Err(Error::Term));
    for w in workers {
        w.join().unwrap();
    }
}

#[test]
fn proxy_router_dealer_broker_all_transports() {
    for t in ALL {
        proxy_router_dealer_broker(t);
    }
}

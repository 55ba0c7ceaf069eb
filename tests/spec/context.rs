//! Context lifecycle: no global state, termination, sockets used from other threads.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use isomq::{Context, Error, MonitorEvent, SocketOption, SocketType};
use isomq_tests::{bind, recv_string, socket, Transport};

// docs/architecture.md §6.1: no global state; two contexts in one process know nothing of
// each other.
// The same inproc name binds in both, and each pair talks only within its context.
#[test]
fn two_contexts_are_independent() {
    let ctx1 = Context::new();
    let ctx2 = Context::builder().io_threads(2).build();
    let mut a1 = socket(&ctx1, SocketType::Pair);
    let mut a2 = socket(&ctx2, SocketType::Pair);
    a1.bind("inproc://same-name").unwrap();
    a2.bind("inproc://same-name").unwrap();
    let mut b1 = socket(&ctx1, SocketType::Pair);
    let mut b2 = socket(&ctx2, SocketType::Pair);
    b1.connect("inproc://same-name").unwrap();
    b2.connect("inproc://same-name").unwrap();
    b1.send("one").unwrap();
    b2.send("two").unwrap();
    assert_eq!(recv_string(&mut a1), "one");
    assert_eq!(recv_string(&mut a2), "two");
    // tcp through both contexts at once.
    let mut p = socket(&ctx1, SocketType::Push);
    let ep = bind(&mut p, Transport::Tcp);
    let mut q = socket(&ctx2, SocketType::Pull);
    q.connect(&ep).unwrap();
    p.send("across").unwrap();
    assert_eq!(recv_string(&mut q), "across");
    drop((a1, b1, p));
    drop((a2, b2, q));
    ctx1.terminate();
    ctx2.terminate();
}

// libzmq zmq_ctx_term(3): "any blocking operations currently in progress on sockets open
// within context shall return immediately with an error code of ETERM", and termination
// waits until those sockets are closed.
#[test]
fn terminate_wakes_blocked_recv_with_eterm() {
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        ready_tx.send(()).unwrap();
        let r = pull.recv();
        drop(pull);
        r
    });
    ready_rx.recv().unwrap();
    ctx.terminate();
    assert_eq!(worker.join().unwrap().err(), Some(Error::Term));
}

// After termination starts, new sockets are refused with ETERM.
#[test]
fn no_sockets_after_terminate() {
    let ctx = Context::new();
    let other = ctx.clone();
    ctx.terminate();
    assert_eq!(other.socket(SocketType::Push).err(), Some(Error::Term));
}

// Sockets are Send: made on one thread, used on another.
#[test]
fn sockets_move_between_threads() {
    let ctx = Context::new();
    let mut pull = socket(&ctx, SocketType::Pull);
    let ep = bind(&mut pull, Transport::Ipc);
    let mut push = socket(&ctx, SocketType::Push);
    push.connect(&ep).unwrap();
    let sender = std::thread::spawn(move || {
        for i in 0..100 {
            push.send(format!("{i}")).unwrap();
        }
        push
    });
    for i in 0..100 {
        assert_eq!(recv_string(&mut pull), format!("{i}"));
    }
    drop(sender.join().unwrap());
}

// libzmq LINGER: closing a socket delivers what it queued (within LINGER); the context's
// I/O threads finish that work before they exit.
#[test]
fn close_with_linger_delivers_queued_messages() {
    let ctx = Context::new();
    let mut pull = socket(&ctx, SocketType::Pull);
    let ep = bind(&mut pull, Transport::Tcp);
    {
        let mut push = ctx.socket(SocketType::Push).unwrap();
        push.set_option(SocketOption::Linger(Some(Duration::from_secs(20))))
            .unwrap();
        push.connect(&ep).unwrap();
        for i in 0..1000 {
            push.send(format!("{i}")).unwrap();
        }
    }
    for i in 0..1000 {
        assert_eq!(recv_string(&mut pull), format!("{i}"));
    }
}

// Unbind and disconnect name endpoints as given or as resolved; unknown ones are ENOENT.
#[test]
fn unbind_and_disconnect() {
    let ctx = Context::new();
    let mut pull = socket(&ctx, SocketType::Pull);
    let ep = bind(&mut pull, Transport::Tcp);
    assert_eq!(pull.unbind("tcp://127.0.0.1:1"), Err(Error::NoEnt));
    pull.unbind(&ep).unwrap();
    let mut push = socket(&ctx, SocketType::Push);
    push.connect(&ep).unwrap();
    assert_eq!(push.disconnect("tcp://127.0.0.1:1"), Err(Error::NoEnt));
    push.disconnect(&ep).unwrap();
}

// Bad endpoints are errors, not panics.
#[test]
fn malformed_endpoints() {
    let ctx = Context::new();
    let mut s = ctx.socket(SocketType::Push).unwrap();
    assert!(matches!(s.bind("tcp://127.0.0.1"), Err(Error::Inval(_))));
    assert!(matches!(
        s.connect("nope://x"),
        Err(Error::ProtoNoSupport(_))
    ));
    assert!(matches!(
        s.connect("tcp://127.0.0.1:*"),
        Err(Error::Inval(_))
    ));
    let mut t = ctx.socket(SocketType::Pull).unwrap();
    t.bind("inproc://dup").unwrap();
    assert_eq!(s.bind("inproc://dup"), Err(Error::AddrInUse));
}

// libzmq choose_io_thread: with several I/O threads, the connections a listener accepts are
// spread over all of them; they still all deliver, and unbinding closes every one of them
// (they are the listener's children, whichever thread serves them).
#[test]
fn accepted_connections_spread_over_io_threads() {
    use isomq::MonitorEvent;
    for t in [Transport::Tcp, Transport::Ipc, Transport::Ws] {
        let ctx = Context::builder().io_threads(2).build();
        let mut pull = socket(&ctx, SocketType::Pull);
        let ep = bind(&mut pull, t);
        let mut pushes: Vec<_> = (0..4)
            .map(|_| {
                let mut p = socket(&ctx, SocketType::Push);
                p.set_option(SocketOption::ReconnectIvl(None)).unwrap();
                let events = p.monitor();
                p.connect(&ep).unwrap();
                (p, events)
            })
            .collect();
        for (i, (p, _)) in pushes.iter_mut().enumerate() {
            p.send(format!("{i}")).unwrap();
        }
        let mut got: Vec<String> = (0..4).map(|_| recv_string(&mut pull)).collect();
        got.sort();
        assert_eq!(got, ["0", "1", "2", "3"], "{t:?}");
        pull.unbind(&ep).unwrap();
        for (_, events) in &pushes {
            loop {
                match events.recv_timeout(isomq_tests::PATIENCE) {
                    Ok(MonitorEvent::Disconnected { .. }) => break,
                    Ok(_) => continue,
                    Err(e) => panic!("{t:?}: no disconnect after unbind: {e}"),
                }
            }
        }
    }
}

// ZMQ_BACKLOG: "the maximum length of the queue of outstanding peer connections" of
// endpoints bound afterwards. The kernel reports a listening socket's queue length as its
// Send-Q (ss(8), iproute2, which scripts/test installs).
#[test]
fn backlog_sets_the_listen_queue() {
    use isomq::{OptionName, SocketOption};
    let ctx = Context::new();
    let mut pull = socket(&ctx, SocketType::Pull);
    pull.set_option(SocketOption::Backlog(7)).unwrap();
    assert_eq!(
        pull.get_option(OptionName::Backlog),
        Ok(SocketOption::Backlog(7))
    );
    let ep = bind(&mut pull, Transport::Tcp);
    let port = ep.rsplit(':').next().unwrap();
    let out = std::process::Command::new("ss")
        .args(["-ltnH", &format!("sport = :{port}")])
        .output()
        .expect("ss (iproute2) runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let send_q: Vec<&str> = text.split_whitespace().collect();
    // LISTEN  Recv-Q  Send-Q  Local  Peer
    assert_eq!(send_q.get(2), Some(&"7"), "ss said: {text}");
}

// ContextBuilder::inline_io: the application's choice of a mode wins over the automatic
// one (inline I/O on machines of at most two CPUs, or as ISOMQ_INLINE_IO says), and
// asking for I/O threads means I/O threads.
#[test]
fn the_application_chooses_the_io_mode() {
    assert!(!Context::builder().io_threads(2).build().is_inline_io());
    assert!(!Context::builder().inline_io(false).build().is_inline_io());
    assert!(Context::builder().inline_io(true).build().is_inline_io());
    let both = Context::builder().io_threads(2).inline_io(true).build();
    assert!(both.is_inline_io());
    // Either way its sockets work.
    for ctx in [Context::new(), both] {
        let mut pull = ctx.socket(SocketType::Pull).unwrap();
        pull.bind("tcp://127.0.0.1:*").unwrap();
        let ep = pull.last_endpoint().unwrap().to_owned();
        let mut push = ctx.socket(SocketType::Push).unwrap();
        push.connect(&ep).unwrap();
        push.send("x").unwrap();
        assert_eq!(pull.recv().unwrap().as_slice(), b"x");
    }
}

// zmq_ctx_term(3) returns once every socket is closed and, with LINGER -1, what they
// queued was delivered: a closed socket with nothing queued holds nothing up, and its
// connection, once lost, is not made again (libzmq's session ends when its pipe has
// terminated and nothing is pending). Here the peer closes, then the connecting socket
// closes at once: its session meets the peer's end of file and its own socket's end in one
// turn (the read comes first, before the output is looked at), and must still see that
// nothing is left to deliver and end, without connecting again to a peer that is gone.
// Over every connected transport, many times (the session's turn decides the order).
#[test]
fn a_socket_closed_right_after_its_peer_ends_without_reconnecting() {
    for t in [Transport::Tcp, Transport::Ipc, Transport::Ws] {
        for round in 0..30 {
            let ctx = Context::new();
            let mut pull = socket(&ctx, SocketType::Pull);
            let ep = bind(&mut pull, t);
            let mut push = socket(&ctx, SocketType::Push);
            let events = push.monitor();
            push.connect(&ep).unwrap();
            push.send("one").unwrap();
            assert_eq!(recv_string(&mut pull), "one");
            drop(pull);
            drop(push);
            let (done, ended) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                ctx.terminate();
                let _ = done.send(());
            });
            assert!(
                ended.recv_timeout(isomq_tests::PATIENCE).is_ok(),
                "{t:?}, round {round}: terminate did not return"
            );
            // The monitor ends with the socket's last connection.
            let seen: Vec<MonitorEvent> = std::iter::from_fn(|| events.recv()).collect();
            let connects = seen
                .iter()
                .filter(|e| matches!(e, MonitorEvent::ConnectDelayed { .. }))
                .count();
            assert_eq!(connects, 1, "{t:?}, round {round}: {seen:?}");
        }
    }
}

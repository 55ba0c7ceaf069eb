//! Shared helpers of isomq's cross-crate tests: the transports every spec test runs over,
//! and ways to wait for asynchronous set-up without sleeping for a guessed time.
//!
//! The rule for every test here: tests wait on events; a deadline only bounds a failure. A
//! test that needs a connection, a subscription or a peer's state waits for that event (the
//! socket monitor, `poll`, a blocking receive, a channel between test threads, the helpers
//! below), never for a guessed time, so a slow machine makes it slower, not red. A duration
//! left in a test is the behaviour under test (a heartbeat timeout, a receive timeout) or
//! how often a probe that may be dropped by design is repeated.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use isomq::{Context, Error, Monitor, MonitorEvent, Socket, SocketOption, SocketType};

pub mod churn;
pub mod executor;
pub mod linger;
pub mod loss;
pub mod netns;
pub mod peer;
pub mod rawws;
pub mod rawzmtp;
pub mod relay;
pub mod stalled;
pub mod tls;

/// Long enough never to fire on a healthy run; a hung test fails instead of hanging.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A transport the spec suite runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Inproc,
    Tcp,
    Ipc,
    /// ZWS 2.0 over WebSocket.
    Ws,
}

/// Every transport, for `for t in ALL` loops in spec tests.
pub const ALL: [Transport; 4] = [
    Transport::Inproc,
    Transport::Tcp,
    Transport::Ipc,
    Transport::Ws,
];

static UNIQUE: AtomicU64 = AtomicU64::new(0);

impl Transport {
    /// An endpoint to bind: OS-chosen port for tcp and ws (with a fresh path for ws), a fresh
    /// abstract name for ipc, a fresh name for inproc. Read the real one back with [`bind`].
    pub fn bind_endpoint(self) -> String {
        let n = UNIQUE.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        match self {
            Transport::Inproc => format!("inproc://spec-{pid}-{n}"),
            Transport::Tcp => "tcp://127.0.0.1:*".to_owned(),
            Transport::Ipc => format!("ipc://@isomq-spec-{pid}-{n}"),
            Transport::Ws => format!("ws://127.0.0.1:*/spec-{n}"),
        }
    }
}

/// A socket with receive and send timeouts of [`PATIENCE`], so a broken test fails.
pub fn socket(ctx: &Context, t: SocketType) -> Socket {
    let mut s = ctx.socket(t).expect("socket");
    s.set_option(SocketOption::RcvTimeout(Some(PATIENCE)))
        .expect("rcvtimeo");
    s.set_option(SocketOption::SndTimeout(Some(PATIENCE)))
        .expect("sndtimeo");
    s.set_option(SocketOption::Linger(Some(Duration::ZERO)))
        .expect("linger");
    s
}

/// Binds `s` on a fresh endpoint of transport `t`; returns the endpoint to connect to.
pub fn bind(s: &mut Socket, t: Transport) -> String {
    s.bind(&t.bind_endpoint()).expect("bind");
    s.last_endpoint().expect("last endpoint").to_owned()
}

/// Waits until a subscription made at `sub` has reached `publisher`: publishes `probe`
/// until `sub` receives it, then drains the duplicates. Subscriptions travel
/// asynchronously; this is the only reliable way to know they arrived.
///
/// `probe` must match the subscription. Probes published before the subscription arrived
/// are dropped by the publisher, later ones are delivered, so more than one may be on its
/// way when the first arrives. A fence (the probe followed by a unique suffix, so it matches
/// the same subscription and comes after every probe on the same pipe) ends the drain: once
/// it arrives no probe of this call is left in flight. Other subscribers of `publisher` that
/// match `probe` receive the probes and the fence too.
pub fn sync_subscription(publisher: &mut Socket, sub: &mut Socket, probe: &[u8]) {
    // The receive timeout is how often a probe is repeated (one published before the
    // subscription arrived is dropped by design), not a bound on anything.
    sub.set_option(SocketOption::RcvTimeout(Some(Duration::from_millis(20))))
        .expect("rcvtimeo");
    let mut fence = probe.to_vec();
    fence.extend_from_slice(b" fence ");
    // A fence of an earlier call for another subscriber may arrive first: it proves the
    // subscription as well as a probe does.
    let is_sync = |m: &[u8]| m == probe || m.starts_with(&fence);
    let start = std::time::Instant::now();
    loop {
        publisher.send(probe).expect("publish probe");
        if let Ok(m) = sub.recv() {
            assert!(
                is_sync(m.as_slice()),
                "unexpected message while syncing: {m:?}"
            );
            break;
        }
        assert!(start.elapsed() < PATIENCE, "subscription never arrived");
    }
    sub.set_option(SocketOption::RcvTimeout(Some(PATIENCE)))
        .expect("rcvtimeo");
    fence.extend_from_slice(
        UNIQUE
            .fetch_add(1, Ordering::Relaxed)
            .to_string()
            .as_bytes(),
    );
    publisher.send(fence.as_slice()).expect("publish fence");
    while sub.recv().expect("the fence never arrived").as_slice() != fence.as_slice() {}
}

/// This thread's id as the kernel knows it (the `task/<tid>` of `/proc/thread-self`), for
/// [`wait_until_asleep`]. Linux only, as the abstract ipc names of [`Transport::Ipc`].
pub fn thread_id() -> u64 {
    let link = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
    link.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.parse().ok())
        .expect("a thread id")
}

/// Waits until thread `tid` of this process (from [`thread_id`]) sleeps in the kernel, or
/// has ended. For a test whose other side must act only once a thread is blocked (in
/// `poll`, in `recv`): the thread sends its id just before the blocking call, and the
/// test waits here instead of sleeping for a guessed time. A thread also sleeps while it
/// waits for a contended lock on its way into the call; then the other side may act a
/// little early, and the blocking call finds its event at once: the test still passes,
/// having checked the easier path, and can never fail because of it.
pub fn wait_until_asleep(tid: u64) {
    let stat = format!("/proc/self/task/{tid}/stat");
    let start = std::time::Instant::now();
    loop {
        // "tid (comm) state ...": the state follows the last parenthesis (comm may hold one).
        let Ok(text) = std::fs::read_to_string(&stat) else {
            return; // the thread has ended
        };
        let state = text
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next());
        if matches!(state, Some('S' | 'Z' | 'X')) {
            return;
        }
        assert!(start.elapsed() < PATIENCE, "thread {tid} never blocked");
        std::thread::yield_now();
    }
}

/// Receives one message of a single frame and returns its payload as a string.
pub fn recv_string(s: &mut Socket) -> String {
    let m = s.recv().expect("recv");
    String::from_utf8_lossy(m.as_slice()).into_owned()
}

/// One round of libzmq's zmq_unbind(3) rule for a connecting sender: a PULL bound in
/// `binder` receives "first" from a PUSH in `sender`, unbinds, and a new PULL binds the
/// same endpoint; the PUSH (reconnecting every 5 ms) sends "second". Returns what the new
/// PULL received, or its error ([`PATIENCE`] passing is `Again`).
pub fn send_after_unbind(
    binder: &Context,
    sender: &Context,
    t: Transport,
) -> Result<String, Error> {
    let mut pull = socket(binder, SocketType::Pull);
    let ep = bind(&mut pull, t);
    let mut push = socket(sender, SocketType::Push);
    push.set_option(SocketOption::ReconnectIvl(Some(Duration::from_millis(5))))?;
    push.connect(&ep)?;
    push.send("first")?;
    assert_eq!(recv_string(&mut pull), "first", "{t:?}");
    pull.unbind(&ep)?;
    let mut again = socket(binder, SocketType::Pull);
    again.bind(&ep)?;
    push.send("second")?;
    let m = again.recv()?;
    Ok(String::from_utf8_lossy(m.as_slice()).into_owned())
}

/// Waits for the first monitor event that `matches` (others are kept for the failure
/// message); panics naming `what` when none comes within [`PATIENCE`].
pub fn expect_event(
    monitor: &Monitor,
    what: &str,
    matches: impl Fn(&MonitorEvent) -> bool,
) -> MonitorEvent {
    let start = std::time::Instant::now();
    let mut seen = Vec::new();
    while start.elapsed() < PATIENCE {
        match monitor.recv_timeout(Duration::from_millis(100)) {
            Ok(ev) if matches(&ev) => return ev,
            Ok(ev) => seen.push(ev),
            Err(Error::Again) => {}
            Err(e) => panic!("monitor ended ({e}) waiting for {what}; saw {seen:?}"),
        }
    }
    panic!("no {what} event; saw {seen:?}");
}

/// Waits for a `HandshakeFailed` event (see [`expect_event`]) and checks that its reason
/// contains `why`.
pub fn expect_handshake_failed(monitor: &Monitor, why: &str) {
    let ev = expect_event(monitor, "HandshakeFailed", |e| {
        matches!(e, MonitorEvent::HandshakeFailed { .. })
    });
    assert!(
        matches!(&ev, MonitorEvent::HandshakeFailed { reason, .. } if reason.contains(why)),
        "{ev:?}"
    );
}

/// Waits for a `HandshakeSucceeded` event (see [`expect_event`]).
pub fn expect_handshake_succeeded(monitor: &Monitor) {
    expect_event(monitor, "HandshakeSucceeded", |e| {
        matches!(e, MonitorEvent::HandshakeSucceeded { .. })
    });
}

/// Waits for a connection's end (`Disconnected`); returns its reason and the messages it
/// had taken from the socket's queue.
pub fn expect_disconnected(monitor: &Monitor) -> (String, u64) {
    match expect_event(monitor, "Disconnected", |e| {
        matches!(e, MonitorEvent::Disconnected { .. })
    }) {
        MonitorEvent::Disconnected {
            reason,
            messages_out,
            ..
        } => (reason, messages_out),
        other => panic!("expected Disconnected, got {other:?}"),
    }
}

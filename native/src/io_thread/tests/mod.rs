//! Tests of the I/O thread: its command handling (`reactor.rs`) and the sessions it drives
//! (`session.rs`), and a socket's own reactor (`inline.rs`), with the loop turned on the test's thread, against real sockets on
//! 127.0.0.1 with ports the OS picks. Nothing sleeps to order events: each wait is for an
//! event or a state, with a deadline as its upper bound only.

mod inline;
mod peer;
mod reactor;
mod session;
mod spin;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::Arc;
use std::time::{Duration, Instant};

use isomq_core::{Msg, Notify, Options, Pipe, PipeEvent, PipeId, SocketType};
use mio::Events;

use super::mailbox::{Mailbox as IoMailbox, Siblings};
use super::reactor::Reactor;
use super::IoCommand;
use crate::command::SocketCommand;
use crate::link::{Owner, SocketLink};
use crate::mailbox::{mailbox, Mailbox, MailboxTx};
use crate::monitor::{Monitor, MonitorEvent, MonitorHub};
use crate::stream::PeerAddr;

/// Upper bound of every wait: a test that waits this long has failed.
const LIMIT: Duration = Duration::from_secs(10);

/// A socket's pipe ends post their events to its mailbox, as `SocketNotify` does.
#[derive(Debug)]
struct TestNotify(MailboxTx);

impl Notify for TestNotify {
    fn notify(&self, pipe: PipeId, event: PipeEvent) {
        self.0.send(SocketCommand::Pipe(pipe, event));
    }
}

/// What the I/O thread sees of a socket: the mailbox its objects post to, its link and
/// options; and a monitor of the events they report.
struct FakeSocket {
    mailbox: Mailbox,
    link: SocketLink,
    options: Options,
    monitor: Monitor,
}

impl FakeSocket {
    /// A socket of `socket_type` that lingers `linger_ms` (-1: until all is sent).
    fn new(socket_type: SocketType, linger_ms: i64) -> FakeSocket {
        let (tx, mailbox) = mailbox();
        let monitor_hub = Arc::new(MonitorHub::default());
        let monitor = monitor_hub.subscribe();
        FakeSocket {
            mailbox,
            link: SocketLink {
                tx,
                socket_type,
                linger_ms: Arc::new(AtomicI64::new(linger_ms)),
                monitor: monitor_hub,
                zap: Arc::new(crate::link::NoZap),
            },
            options: Options::new(socket_type),
            monitor,
        }
    }

    fn owner(&self, endpoint: &str) -> Owner {
        Owner {
            link: self.link.clone(),
            options: self.options.clone(),
            endpoint: endpoint.to_owned(),
        }
    }

    /// A pipe for a connecting session: the socket's end (attached here) and the session's.
    fn pipe(&self, id: PipeId) -> (Pipe, Pipe) {
        let (ours, theirs) = Pipe::pair(id, 1000, 1000);
        ours.attach(Arc::new(TestNotify(self.link.tx.clone())));
        (ours, theirs)
    }

    /// Whether a `Hiccup` for `pipe` is among the commands queued now (others are dropped).
    fn hiccup_queued(&self, pipe: PipeId) -> bool {
        let mut found = false;
        while let Some(cmd) = self.mailbox.try_recv() {
            found |= matches!(cmd, SocketCommand::Hiccup(id) if id == pipe);
        }
        found
    }

    /// Every monitor event reported so far.
    fn events(&self) -> Vec<MonitorEvent> {
        std::iter::from_fn(|| self.monitor.try_recv()).collect()
    }
}

/// Writes `frames` into `pipe` as single-frame messages and publishes them.
fn write_all(pipe: &mut Pipe, frames: &[&str]) {
    for f in frames {
        assert!(pipe.write(Msg::from(*f)).is_ok(), "pipe full");
    }
    pipe.flush();
}

/// An I/O thread's loop, turned by the test's thread.
struct Loop {
    reactor: Reactor,
    mailbox: IoMailbox,
    events: Events,
    running: bool,
}

impl Loop {
    fn new() -> Loop {
        let ids = Arc::new(AtomicU64::new(1000));
        let (reactor, mailbox) = Reactor::new(0, ids, Siblings::default()).unwrap();
        Loop {
            reactor,
            mailbox,
            events: Events::with_capacity(64),
            running: true,
        }
    }

    fn send(&self, cmd: IoCommand) {
        self.mailbox.send(cmd);
    }

    /// Starts session `id` connecting to `addr` over tcp, with `pipe` as its end of the
    /// socket's pipe.
    fn connect_tcp(&self, id: u64, addr: SocketAddr, pipe: Pipe, socket: &FakeSocket) {
        self.send(IoCommand::Connect {
            id,
            addr: PeerAddr::Tcp(addr),
            pipe,
            owner: socket.owner(&format!("tcp://{addr}")),
        });
    }

    /// One turn of the loop, waiting no longer than [`LIMIT`].
    fn turn(&mut self) {
        assert!(self.running, "the loop has ended");
        self.running = self.reactor.turn(&mut self.events, Some(LIMIT));
    }

    /// Turns the loop until `done` holds; panics, naming `what`, after [`LIMIT`].
    fn run_until(&mut self, what: &str, mut done: impl FnMut(&Reactor) -> bool) {
        let deadline = Instant::now() + LIMIT;
        while !done(&self.reactor) {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(self.running, "the loop ended before {what}");
            self.running = self.reactor.turn(&mut self.events, Some(left));
        }
    }

    /// Turns the loop until it ends (after Stop, once nothing is left); panics after
    /// [`LIMIT`].
    fn run_to_end(&mut self) {
        let deadline = Instant::now() + LIMIT;
        while self.running {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for the loop to end"
            );
            let left = deadline.saturating_duration_since(Instant::now());
            self.running = self.reactor.turn(&mut self.events, Some(left));
        }
    }
}

/// Whether `events` holds `expected` in this order (other events may come between).
fn in_order(events: &[MonitorEvent], expected: &[fn(&MonitorEvent) -> bool]) -> bool {
    let mut rest = expected.iter().peekable();
    for e in events {
        if rest.peek().is_some_and(|matches| matches(e)) {
            rest.next();
        }
    }
    rest.peek().is_none()
}

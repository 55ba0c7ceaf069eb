//! A socket's mailbox: the commands other threads send it, and a signal that wakes whoever
//! is waiting on the socket without holding it: a thread in `poll` over many sockets, an
//! async task, or an external event loop on the readiness fd (docs/architecture.md §5.3). A
//! blocking call waits on the queue itself. The mailbox knows nothing of sockets or of
//! `poll`: they are built on it.

use std::os::unix::net::UnixStream;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::command::SocketCommand;
use crate::doorbell::Doorbell;
pub(crate) use crate::queue::WaitError;
use crate::queue::{queue, QueueRx, QueueTx};
use crate::sync::lock;

/// Wakes a thread blocked in `poll` (`zmq_poll`) over many sockets.
#[derive(Debug, Default)]
pub(crate) struct Waiter {
    raised: Mutex<bool>,
    cv: Condvar,
}

impl Waiter {
    pub(crate) fn raise(&self) {
        *lock(&self.raised) = true;
        self.cv.notify_one();
    }

    /// Forgets earlier wake-ups; call before checking readiness, then `wait`.
    pub(crate) fn reset(&self) {
        *lock(&self.raised) = false;
    }

    /// Waits until raised or the deadline (`None` = forever) passes.
    pub(crate) fn wait(&self, deadline: Option<Instant>) {
        let mut raised = lock(&self.raised);
        while !*raised {
            match deadline {
                None => {
                    raised = self.cv.wait(raised).unwrap_or_else(|p| p.into_inner());
                }
                Some(at) => {
                    let left = at.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return;
                    }
                    raised = self
                        .cv
                        .wait_timeout(raised, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        }
    }
}

/// Who to wake when a command arrives. Commands are rare (a pipe becoming readable after
/// being empty, a new peer): the lock here is never taken per message.
#[derive(Debug, Default)]
pub(crate) struct Signal {
    watchers: Mutex<Watchers>,
    /// Rings the readiness fd (see [`Signal::set_fd_bell`]). Outside the mutex so that the
    /// socket can answer it per call without locking.
    fd_bell: OnceLock<Doorbell>,
    /// Commands may be queued: set after each send, cleared before the socket reads the
    /// queue. Lets send/recv skip the queue (and its lock) with one load, without delaying
    /// any command.
    queued: AtomicBool,
    /// The bell is rung only while the socket's thread waits in its own reactor's poll
    /// (inline I/O: nobody else watches it; see [`Signal::gate_fd_bell`]).
    gated: AtomicBool,
    /// The socket's thread is in, or about to enter, its reactor's poll.
    polling: AtomicBool,
}

#[derive(Debug, Default)]
struct Watchers {
    pollers: Vec<Arc<Waiter>>,
    waker: Option<Waker>,
}

impl Signal {
    /// Whether commands may be waiting (cheap enough for every send and recv).
    pub(crate) fn maybe_queued(&self) -> bool {
        // Acquire: pairs with the Release in `MailboxTx::send`; the queue's lock
        // synchronises the command itself, this only decides whether to look.
        self.queued.load(Ordering::Acquire)
    }

    /// Called before reading the queue: a command sent after this sets the flag again, so
    /// none is left unseen. (A sender pushes under the queue's lock, then sets the flag. A
    /// push the reader's `try_recv` missed came after that `try_recv` in lock order, hence
    /// after this store, so its `true` is the flag's latest value.)
    pub(crate) fn clear_queued(&self) {
        self.queued.store(false, Ordering::Release);
    }

    /// Wakes the watchers; returns whether there were any (a poller, a task, the bell).
    fn raise(&self) -> bool {
        let mut w = lock(&self.watchers);
        for p in &w.pollers {
            p.raise();
        }
        let mut woke = !w.pollers.is_empty();
        if let Some(waker) = w.waker.take() {
            waker.wake();
            woke = true;
        }
        drop(w);
        if let Some(bell) = self.fd_bell.get() {
            if self.gated.load(Ordering::Relaxed) {
                // SeqCst fence, paired with the one in `enter_poll`: of this load of
                // `polling` and the poller's load of `queued` (set before this call), at
                // least one sees the other side's store. Either the poller does not block,
                // or the bell rings.
                fence(Ordering::SeqCst);
                if !self.polling.load(Ordering::Relaxed) {
                    return woke;
                }
            }
            // One byte per wake-up is enough: the reader checks readiness anyway. A failed
            // write leaves the fd as it was; the other watchers are woken regardless.
            let _ = bell.ring();
            woke = true;
        }
        woke
    }

    /// Inline I/O: the bell's reading end is watched only by the socket's own reactor, in
    /// a poll its thread enters with [`enter_poll`](Signal::enter_poll). Commands the
    /// reactor posts while it handles events (on that same thread), and commands posted
    /// while the thread is busy, ring nothing: the socket reads its queue after each turn.
    pub(crate) fn gate_fd_bell(&self) {
        self.gated.store(true, Ordering::Relaxed);
    }

    /// Undoes [`gate_fd_bell`](Signal::gate_fd_bell): something else than the socket's own
    /// turns watches the bell now (the reactor's poll handed out as the readiness fd).
    pub(crate) fn ungate_fd_bell(&self) {
        self.gated.store(false, Ordering::Relaxed);
    }

    /// Before a poll that may block: returns false when a command is already queued (the
    /// poll must not block then).
    pub(crate) fn enter_poll(&self) -> bool {
        self.polling.store(true, Ordering::Relaxed);
        // See `raise`.
        fence(Ordering::SeqCst);
        !self.queued.load(Ordering::Relaxed)
    }

    /// After the poll: events handled from here on are this thread's own.
    pub(crate) fn leave_poll(&self) {
        self.polling.store(false, Ordering::Relaxed);
    }

    /// Makes commands also ring `bell`, whose reading end is the socket's readiness fd for
    /// external event loops. Starts rung, so the first wait returns and the caller looks at
    /// the socket's state. A socket has one readiness fd: a second bell is ignored.
    pub(crate) fn set_fd_bell(&self, bell: Doorbell) {
        let _ = self.fd_bell.set(bell);
        if let Some(bell) = self.fd_bell.get() {
            let _ = bell.ring();
        }
    }

    /// Rings the readiness fd's bell, if there is one: whoever watches it looks at the
    /// socket (see `InlineIo::readiness_fd`).
    pub(crate) fn ring_fd_bell(&self) {
        if let Some(bell) = self.fd_bell.get() {
            let _ = bell.ring();
        }
    }

    /// Empties the readiness fd. Called before the socket reads its mailbox, so a command
    /// arriving after this point rings it again.
    pub(crate) fn clear_fd(&self, reader: &UnixStream) {
        if let Some(bell) = self.fd_bell.get() {
            bell.answer(reader);
        }
    }

    pub(crate) fn add_poller(&self, waiter: &Arc<Waiter>) {
        lock(&self.watchers).pollers.push(waiter.clone());
    }

    pub(crate) fn remove_poller(&self, waiter: &Arc<Waiter>) {
        lock(&self.watchers)
            .pollers
            .retain(|p| !Arc::ptr_eq(p, waiter));
    }

    pub(crate) fn set_waker(&self, waker: &Waker) {
        let mut w = lock(&self.watchers);
        match &w.waker {
            Some(old) if old.will_wake(waker) => {}
            _ => w.waker = Some(waker.clone()),
        }
    }
}

/// The sending side, cloned into sessions, pipes' notifiers and registries.
#[derive(Debug, Clone)]
pub(crate) struct MailboxTx {
    tx: QueueTx<SocketCommand>,
    signal: Arc<Signal>,
}

impl MailboxTx {
    /// Posts a command; returns whether that woke a thread waiting on the socket (in a
    /// call, in `poll`, an async task, a loop on the readiness fd). If the socket is gone
    /// the command is dropped, and any pipe in it terminates, so its peer learns.
    pub(crate) fn send(&self, cmd: SocketCommand) -> bool {
        // Push, then flag, then wake: whoever is woken (a poller, an async task, the
        // readiness fd's reader) looks at the flag and the queue after this, so it finds
        // the command. A refused command is dropped here, outside the queue's lock.
        match self.tx.send(cmd) {
            Ok(woke_receiver) => {
                self.signal.queued.store(true, Ordering::Release);
                self.signal.raise() || woke_receiver
            }
            Err(_) => false,
        }
    }
}

/// The receiving side, owned by the socket.
#[derive(Debug)]
pub(crate) struct Mailbox {
    rx: QueueRx<SocketCommand>,
    signal: Arc<Signal>,
}

/// A new mailbox and its sending side.
pub(crate) fn mailbox() -> (MailboxTx, Mailbox) {
    let (tx, rx) = queue();
    let signal = Arc::new(Signal::default());
    (
        MailboxTx {
            tx,
            signal: signal.clone(),
        },
        Mailbox { rx, signal },
    )
}

impl Mailbox {
    pub(crate) fn signal(&self) -> &Arc<Signal> {
        &self.signal
    }

    pub(crate) fn try_recv(&self) -> Option<SocketCommand> {
        self.rx.try_recv()
    }

    /// Waits for a command; `None` waits forever. `Closed` cannot happen while the socket
    /// keeps senders of its own (its notifier and link), which it does for its whole life.
    pub(crate) fn recv(&self, timeout: Option<Duration>) -> Result<SocketCommand, WaitError> {
        self.rx.recv(timeout)
    }
}

#[cfg(test)]
mod tests {
    //! The mailbox against real threads and a real socket pair: nothing sleeps to order
    //! events; each wait is for a state or an event, with a deadline as its upper bound.

    use std::io::{ErrorKind, Read};
    use std::os::fd::AsRawFd;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;
    use std::thread;

    use isomq_core::Pipe;

    use super::*;

    /// Upper bound of every wait: a test that waits this long has failed.
    const LIMIT: Duration = Duration::from_secs(10);

    fn is_term(cmd: &SocketCommand) -> bool {
        matches!(cmd, SocketCommand::Term)
    }

    /// Yields until `done` holds; panics, naming `what`, after [`LIMIT`].
    fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + LIMIT;
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            thread::yield_now();
        }
    }

    /// Reads what the readiness fd holds now, without blocking.
    fn fd_bytes(reader: &UnixStream) -> usize {
        let mut buf = [0u8; 64];
        let mut total = 0;
        loop {
            match (&*reader).read(&mut buf) {
                Ok(0) => return total,
                Ok(n) => total += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return total,
                Err(e) => panic!("readiness fd: {e}"),
            }
        }
    }

    #[test]
    fn commands_arrive_in_order_and_flag_the_mailbox() {
        let (tx, mailbox) = mailbox();
        assert!(!mailbox.signal().maybe_queued());
        assert!(mailbox.try_recv().is_none());
        tx.send(SocketCommand::Hiccup(1));
        tx.clone().send(SocketCommand::Hiccup(2));
        tx.send(SocketCommand::Term);
        assert!(mailbox.signal().maybe_queued());
        mailbox.signal().clear_queued();
        assert!(!mailbox.signal().maybe_queued());
        assert!(matches!(mailbox.try_recv(), Some(SocketCommand::Hiccup(1))));
        assert!(matches!(
            mailbox.recv(Some(Duration::ZERO)),
            Ok(SocketCommand::Hiccup(2))
        ));
        assert!(mailbox.recv(None).is_ok_and(|c| is_term(&c)));
        assert!(matches!(
            mailbox.recv(Some(Duration::ZERO)),
            Err(WaitError::Timeout)
        ));
    }

    #[test]
    fn a_send_wakes_a_receiver_blocked_on_the_mailbox() {
        for timeout in [None, Some(LIMIT)] {
            let (tx, mailbox) = mailbox();
            let mailbox = Arc::new(mailbox);
            let receiver = {
                let mailbox = mailbox.clone();
                thread::spawn(move || mailbox.recv(timeout).is_ok_and(|c| is_term(&c)))
            };
            wait_for("the receiver blocks", || mailbox.rx.is_waiting());
            tx.send(SocketCommand::Term);
            assert!(receiver.join().unwrap());
        }
    }

    #[test]
    fn a_send_raises_every_poller_and_stops_after_remove() {
        let (tx, mailbox) = mailbox();
        let waiter = Arc::new(Waiter::default());
        mailbox.signal().add_poller(&waiter);
        let poller = {
            let waiter = waiter.clone();
            thread::spawn(move || {
                let deadline = Instant::now() + LIMIT;
                waiter.wait(Some(deadline));
                Instant::now() < deadline
            })
        };
        tx.send(SocketCommand::Term);
        assert!(poller.join().unwrap(), "the poller was not woken");
        waiter.reset();
        mailbox.signal().remove_poller(&waiter);
        tx.send(SocketCommand::Term);
        assert!(!*lock(&waiter.raised));
    }

    /// Counts its wake-ups.
    #[derive(Debug, Default)]
    struct CountingWake(AtomicUsize);

    impl Wake for CountingWake {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_send_wakes_the_async_task_once_per_registration() {
        let (tx, mailbox) = mailbox();
        let count = Arc::new(CountingWake::default());
        let waker = Waker::from(count.clone());
        mailbox.signal().set_waker(&waker);
        tx.send(SocketCommand::Term);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        // The waker was used up: the task registers again when it finds nothing to do.
        tx.send(SocketCommand::Term);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        mailbox.signal().set_waker(&waker);
        mailbox.signal().set_waker(&waker);
        tx.send(SocketCommand::Term);
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn the_receiver_sees_the_mailbox_closed_once_every_sender_is_gone() {
        let (tx, mailbox) = mailbox();
        let mailbox = Arc::new(mailbox);
        let receiver = {
            let mailbox = mailbox.clone();
            thread::spawn(move || matches!(mailbox.recv(Some(LIMIT)), Err(WaitError::Closed)))
        };
        wait_for("the receiver blocks", || mailbox.rx.is_waiting());
        let other = tx.clone();
        drop(tx);
        // One sender left: still waiting.
        assert!(mailbox.rx.is_waiting());
        drop(other);
        assert!(receiver.join().unwrap());
        assert!(matches!(mailbox.recv(None), Err(WaitError::Closed)));
    }

    #[test]
    fn a_send_to_a_closed_mailbox_drops_the_command_and_terminates_its_pipe() {
        let (tx, mailbox) = mailbox();
        let signal = mailbox.signal().clone();
        let waiter = Arc::new(Waiter::default());
        signal.add_poller(&waiter);
        drop(mailbox);
        let (ours, mut theirs) = Pipe::pair(1, 0, 0);
        assert!(!theirs.peer_terminated());
        tx.send(SocketCommand::Attach(ours, None));
        // Dropped with the command: its peer learns, and nobody is woken for nothing.
        assert!(theirs.peer_terminated());
        assert!(theirs.read().is_none());
        assert!(theirs.is_terminated());
        assert!(!signal.maybe_queued());
        assert!(!*lock(&waiter.raised));
    }

    /// ZMQ_FD as an external event loop uses it: sleep until the fd is readable, then look
    /// at the socket (which empties the fd, then reads the queue). A command sent while the
    /// loop looks or sleeps must make the fd readable again, however the two interleave.
    #[test]
    fn no_command_is_lost_to_a_loop_sleeping_on_the_readiness_fd() {
        const POSTS: usize = 200_000;
        let (tx, mailbox) = mailbox();
        let (bell, reader) = Doorbell::pair().unwrap();
        mailbox.signal().set_fd_bell(bell);
        let sender = thread::spawn(move || {
            for _ in 0..POSTS {
                tx.send(SocketCommand::Hiccup(1));
            }
        });
        let limit_ms = i32::try_from(LIMIT.as_millis()).unwrap();
        let mut seen = 0;
        while seen < POSTS {
            // Commands are still to come, and each either writes a byte or finds one unread.
            assert!(
                crate::doorbell::tests::readable(reader.as_raw_fd(), limit_ms),
                "a wake-up was lost after {seen} commands"
            );
            mailbox.signal().clear_fd(&reader);
            mailbox.signal().clear_queued();
            while mailbox.try_recv().is_some() {
                seen += 1;
            }
        }
        sender.join().unwrap();
    }

    #[test]
    fn the_readiness_fd_gets_one_byte_per_wake_up_until_cleared() {
        let (tx, mailbox) = mailbox();
        let (bell, reader) = Doorbell::pair().unwrap();
        // Signalled from the start, so that a first wait looks at the socket.
        mailbox.signal().set_fd_bell(bell);
        assert_eq!(fd_bytes(&reader), 1);
        // Still pending (not cleared): further commands add nothing.
        tx.send(SocketCommand::Term);
        assert_eq!(fd_bytes(&reader), 0);
        mailbox.signal().clear_fd(&reader);
        tx.send(SocketCommand::Term);
        tx.send(SocketCommand::Term);
        assert_eq!(fd_bytes(&reader), 1);
        // Clearing empties the fd of whatever is still in it.
        mailbox.signal().clear_fd(&reader);
        tx.send(SocketCommand::Term);
        mailbox.signal().clear_fd(&reader);
        assert_eq!(fd_bytes(&reader), 0);
        tx.send(SocketCommand::Term);
        assert_eq!(fd_bytes(&reader), 1);
    }
}

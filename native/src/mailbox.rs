//! A socket's mailbox: the commands other threads send it, and a signal that wakes whoever
//! is waiting on the socket without holding it: a thread in `poll` over many sockets, an
//! async task, or an external event loop on the readiness fd (docs/architecture.md §5.3). A
//! blocking call waits on the queue itself. The mailbox knows nothing of sockets or of
//! `poll`: they are built on it.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::command::SocketCommand;
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
    /// A byte is waiting in the readiness fd (see [`Signal::set_fd_writer`]). Outside the
    /// mutex so that the socket can check it per call without locking.
    fd_pending: AtomicBool,
    /// Commands may be queued: set after each send, cleared before the socket reads the
    /// queue. Lets send/recv skip the queue (and its lock) with one load, without delaying
    /// any command.
    queued: AtomicBool,
}

#[derive(Debug, Default)]
struct Watchers {
    pollers: Vec<Arc<Waiter>>,
    waker: Option<Waker>,
    fd_writer: Option<UnixStream>,
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

    fn raise(&self) {
        let mut w = lock(&self.watchers);
        for p in &w.pollers {
            p.raise();
        }
        if let Some(waker) = w.waker.take() {
            waker.wake();
        }
        if let Some(writer) = &w.fd_writer {
            // AcqRel: pairs with the socket's swap in `clear_fd`; one byte per wake-up
            // is enough, the reader checks readiness anyway.
            if !self.fd_pending.swap(true, Ordering::AcqRel) {
                let _ = (&*writer).write(&[1]);
            }
        }
    }

    /// Makes commands also write a byte to `writer`, whose other end is the socket's
    /// readiness fd for external event loops. Starts signalled, so the first wait returns
    /// and the caller looks at the socket's state.
    pub(crate) fn set_fd_writer(&self, writer: UnixStream) {
        let _ = (&writer).write(&[1]);
        self.fd_pending.store(true, Ordering::Release);
        lock(&self.watchers).fd_writer = Some(writer);
    }

    /// Empties the readiness fd. Called before the socket reads its mailbox, so a command
    /// arriving after this point signals the fd again.
    pub(crate) fn clear_fd(&self, reader: &UnixStream) {
        if self.fd_pending.swap(false, Ordering::AcqRel) {
            let mut buf = [0u8; 64];
            while matches!((&*reader).read(&mut buf), Ok(n) if n > 0) {}
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
    /// Posts a command. If the socket is gone the command is dropped, and any pipe in it
    /// terminates, so its peer learns.
    pub(crate) fn send(&self, cmd: SocketCommand) {
        // Push, then flag, then wake: whoever is woken (a poller, an async task, the
        // readiness fd's reader) looks at the flag and the queue after this, so it finds
        // the command. A refused command is dropped here, outside the queue's lock.
        if self.tx.send(cmd).is_ok() {
            self.signal.queued.store(true, Ordering::Release);
            self.signal.raise();
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

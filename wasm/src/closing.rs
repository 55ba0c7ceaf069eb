//! Closing a socket: its sessions linger to deliver what it queued (ZMQ_LINGER, as native
//! sockets do), out of the socket's way, and [`Closing`] tells when they are all done.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context as TaskContext, Poll, Waker};

use crate::context::State;
use crate::host::Host;
use crate::session::Session;

/// What [`Socket::close`](crate::Socket::close) returns: done once every connection of the
/// socket has delivered what the socket queued, or LINGER ran out, and its WebSocket was
/// closed. A future (`closing.await`); clones are the same closing.
#[derive(Clone)]
pub struct Closing(Rc<Shared>);

#[derive(Default)]
struct Shared {
    done: Cell<bool>,
    waiters: RefCell<Vec<Waiter>>,
}

enum Waiter {
    Task(Waker),
    Call(Box<dyn FnOnce()>),
}

impl std::fmt::Debug for Closing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Closing")
            .field("done", &self.is_done())
            .finish_non_exhaustive()
    }
}

impl Closing {
    pub(crate) fn new() -> Closing {
        Closing(Rc::new(Shared::default()))
    }

    /// Whether closing is over.
    pub fn is_done(&self) -> bool {
        self.0.done.get()
    }

    /// Calls `f` once closing is over (at once if it is). The JavaScript bindings resolve
    /// their promise with it.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn on_done(&self, f: impl FnOnce() + 'static) {
        if self.is_done() {
            f();
        } else {
            self.0.waiters.borrow_mut().push(Waiter::Call(Box::new(f)));
        }
    }

    /// Marks closing over and tells the waiters. Called with no context state borrowed:
    /// a waiter may call straight back in.
    pub(crate) fn complete(&self) {
        self.0.done.set(true);
        let waiters = std::mem::take(&mut *self.0.waiters.borrow_mut());
        for waiter in waiters {
            match waiter {
                Waiter::Task(waker) => waker.wake(),
                Waiter::Call(f) => f(),
            }
        }
    }
}

impl Future for Closing {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        if self.is_done() {
            return Poll::Ready(());
        }
        let mut waiters = self.0.waiters.borrow_mut();
        // One waker per task: polling again replaces it.
        waiters.retain(|w| !matches!(w, Waiter::Task(t) if t.will_wake(cx.waker())));
        waiters.push(Waiter::Task(cx.waker().clone()));
        Poll::Pending
    }
}

/// The sessions of a closed socket that still have something to deliver.
#[derive(Debug)]
pub(crate) struct Lingering {
    pub(crate) sessions: BTreeMap<u64, Session>,
    closing: Closing,
}

impl State {
    /// Closes socket `id`: its pattern goes (terminating its pipes: each session finds the
    /// end behind the socket's last message), its inproc names are freed, and its sessions
    /// linger. `closing` is completed when the last one finishes.
    pub(crate) fn close_socket(&mut self, id: u64, closing: Closing, host: &dyn Host) {
        let Some(core) = self.sockets.remove(&id) else {
            self.closed.push(closing);
            return;
        };
        self.inproc.remove_socket(id);
        let (linger, mut sessions) = core.into_sessions();
        for session in sessions.values_mut() {
            session.begin_close(linger, host);
        }
        self.lingering.insert(id, Lingering { sessions, closing });
        self.reap(id, host);
    }

    /// Ends the finished sessions of closed socket `id`; completes its closing after the
    /// last one.
    pub(crate) fn reap(&mut self, id: u64, host: &dyn Host) {
        let Some(lingering) = self.lingering.get_mut(&id) else {
            return;
        };
        let finished: Vec<u64> = lingering
            .sessions
            .iter()
            .filter(|(_, s)| s.is_finished())
            .map(|(&k, _)| k)
            .collect();
        for k in finished {
            if let Some(session) = lingering.sessions.remove(&k) {
                session.finish(host);
            }
        }
        if lingering.sessions.is_empty() {
            if let Some(done) = self.lingering.remove(&id) {
                self.closed.push(done.closing);
            }
        }
    }
}

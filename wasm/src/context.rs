//! The context: every socket of a page (or Node process) and the loop that drives them.
//!
//! Everything runs on the one JavaScript thread. Each entry point (a WebSocket event, a timer,
//! a user call) changes the state and then calls [`Context::run`], which handles queued inputs
//! and pipe events until nothing moves, then reports socket events to JavaScript with no state
//! borrowed, so the handlers may call straight back in. A nested `run` (from such a handler)
//! returns at once: the outer one picks up what the handler caused.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;

use isomq_core::{new_pattern, Notify, PipeEvent, PipeId, Result, SocketType};

use crate::closing::{Closing, Lingering};
use crate::host::{Host, Input, SocketEvent};
use crate::session::Change;
use crate::socket::{Socket, SocketCore};

/// Who receives a pipe event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    /// The socket's end of the pipe (its pattern).
    Socket(u64),
    /// A session's end: (socket, session).
    Session(u64, u64),
}

/// Pipe events go into the context's channel; the run loop dispatches them. A channel because
/// `Notify` must be `Send + Sync`; on one thread it is simply a queue.
#[derive(Debug)]
pub(crate) struct ChannelNotify {
    owner: Owner,
    tx: Sender<(Owner, PipeId, PipeEvent)>,
}

impl Notify for ChannelNotify {
    fn notify(&self, pipe: PipeId, event: PipeEvent) {
        // The receiver lives as long as the context; after that nobody is listening.
        let _ = self.tx.send((self.owner, pipe, event));
    }
}

/// The mutable state of a context.
#[derive(Debug)]
pub(crate) struct State {
    next_id: u64,
    /// A B-tree: looked up on every call and every input, and a page has few sockets; no
    /// hashing on that path.
    pub(crate) sockets: BTreeMap<u64, SocketCore>,
    /// Closed sockets whose sessions still deliver what they queued (LINGER).
    pub(crate) lingering: BTreeMap<u64, Lingering>,
    /// Closings that are over, to be completed with no state borrowed.
    pub(crate) closed: Vec<Closing>,
    pub(crate) inproc: isomq_core::inproc::Registry<u64>,
    tx: Sender<(Owner, PipeId, PipeEvent)>,
    rx: Receiver<(Owner, PipeId, PipeEvent)>,
    /// Sockets whose JavaScript side should retry its waiting sends and receives.
    pub(crate) wake: BTreeSet<u64>,
    pub(crate) events: Vec<(u64, SocketEvent)>,
}

impl State {
    pub(crate) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub(crate) fn notify(&self, owner: Owner) -> Arc<ChannelNotify> {
        Arc::new(ChannelNotify {
            owner,
            tx: self.tx.clone(),
        })
    }

    /// Dispatches queued pipe events; returns whether there were any.
    fn pump(&mut self, host: &dyn Host) -> bool {
        let mut any = false;
        while let Ok((owner, pipe, event)) = self.rx.try_recv() {
            any = true;
            match owner {
                Owner::Socket(id) => {
                    if let Some(socket) = self.sockets.get_mut(&id) {
                        socket.pattern.pipe_event(pipe, event);
                        self.wake.insert(id);
                    }
                }
                // A pipe event moves messages; handshakes complete on WebSocket input.
                Owner::Session(id, session) => {
                    if let Some(s) = self.sockets.get_mut(&id).and_then(|s| s.session(session)) {
                        let _ = s.drive(host);
                    } else if let Some(l) = self.lingering.get_mut(&id) {
                        if let Some(s) = l.sessions.get_mut(&session) {
                            let _ = s.drive(host);
                        }
                        self.reap(id, host);
                    }
                }
            }
        }
        any
    }

    fn handle(&mut self, input: Input, host: &dyn Host) {
        let conn = input.conn();
        let Some(socket) = self.sockets.get_mut(&conn.socket) else {
            // A closed socket's session: what it reports has no one to go to.
            if let Some(l) = self.lingering.get_mut(&conn.socket) {
                if let Some(session) = l.sessions.get_mut(&conn.session) {
                    let _ = session.handle(input, host);
                }
                self.reap(conn.socket, host);
            }
            return;
        };
        let Some(session) = socket.session(conn.session) else {
            return;
        };
        let pipe = session.pipe_id();
        let change = session.handle(input, host);
        // The endpoint is copied for events only: most inputs are messages, and change
        // nothing.
        if change == Change::Nothing {
            return;
        }
        let Some(url) = socket.session(conn.session).map(|s| s.url.clone()) else {
            return;
        };
        match change {
            Change::Nothing => {}
            Change::Connected { again } => {
                if again {
                    // Subscriptions are state of the connection: replay them (SUB/XSUB).
                    socket.pattern.hiccup(pipe);
                }
                self.events.push((conn.socket, SocketEvent::Connect(url)));
            }
            Change::Disconnected => {
                self.events
                    .push((conn.socket, SocketEvent::Disconnect(url)));
            }
        }
    }
}

struct Shared {
    state: RefCell<State>,
    inputs: RefCell<VecDeque<Input>>,
    running: Cell<bool>,
    host: Rc<dyn Host>,
}

/// Owns the sockets of one page or Node process and the inproc names they share.
///
/// Cloning gives another handle to the same context.
#[derive(Clone)]
pub struct Context {
    shared: Rc<Shared>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

/// A handle that host callbacks keep: it does not keep the context alive. Only the web host
/// (wasm32) and the unit tests make hosts, so natively outside tests this is unused.
#[cfg_attr(not(any(target_arch = "wasm32", test)), allow(dead_code))]
#[derive(Clone)]
pub(crate) struct WeakContext {
    shared: std::rc::Weak<Shared>,
}

#[cfg_attr(not(any(target_arch = "wasm32", test)), allow(dead_code))]
impl WeakContext {
    /// Queues an input and runs the context, if it still exists.
    pub(crate) fn input(&self, input: Input) {
        if let Some(shared) = self.shared.upgrade() {
            let ctx = Context { shared };
            ctx.shared.inputs.borrow_mut().push_back(input);
            ctx.run();
        }
    }
}

// Made only by the web host (wasm32) and the unit tests' hosts.
#[cfg_attr(not(any(target_arch = "wasm32", test)), allow(dead_code))]
impl Context {
    pub(crate) fn with_host(host: Rc<dyn Host>) -> Context {
        let (tx, rx) = mpsc::channel();
        Context {
            shared: Rc::new(Shared {
                state: RefCell::new(State {
                    next_id: 0,
                    sockets: BTreeMap::new(),
                    lingering: BTreeMap::new(),
                    closed: Vec::new(),
                    inproc: isomq_core::inproc::Registry::default(),
                    tx,
                    rx,
                    wake: BTreeSet::new(),
                    events: Vec::new(),
                }),
                inputs: RefCell::new(VecDeque::new()),
                running: Cell::new(false),
                host,
            }),
        }
    }

    pub(crate) fn downgrade(&self) -> WeakContext {
        WeakContext {
            shared: Rc::downgrade(&self.shared),
        }
    }

    /// A new socket of this type.
    ///
    /// # Errors
    /// [`isomq_core::Error::NotSup`] for a socket type without a pattern yet.
    pub fn socket(&self, socket_type: SocketType) -> Result<Socket> {
        let pattern = new_pattern(socket_type)?;
        let id = {
            let mut st = self.shared.state.borrow_mut();
            let id = st.next_id();
            let notify = st.notify(Owner::Socket(id));
            st.sockets
                .insert(id, SocketCore::new(id, socket_type, pattern, notify));
            id
        };
        Ok(Socket::new(self.clone(), id))
    }

    /// Runs `f` on the state, then runs the context.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut State, &dyn Host) -> R) -> R {
        let r = {
            let mut st = self.shared.state.borrow_mut();
            f(&mut st, self.shared.host.as_ref())
        };
        self.run();
        r
    }

    /// Handles inputs and pipe events until nothing moves, then reports socket events and
    /// completes the closings that are over.
    pub(crate) fn run(&self) {
        if self.shared.running.replace(true) {
            return;
        }
        loop {
            let (events, closed) = {
                let mut st = self.shared.state.borrow_mut();
                let host = self.shared.host.as_ref();
                loop {
                    let input = self.shared.inputs.borrow_mut().pop_front();
                    let had_input = input.is_some();
                    if let Some(input) = input {
                        st.handle(input, host);
                    }
                    if !st.pump(host) && !had_input {
                        break;
                    }
                }
                let mut events = std::mem::take(&mut st.events);
                let wake = std::mem::take(&mut st.wake);
                events.extend(wake.into_iter().map(|id| (id, SocketEvent::Wake)));
                (events, std::mem::take(&mut st.closed))
            };
            if events.is_empty() && closed.is_empty() {
                break;
            }
            for (socket, event) in events {
                self.shared.host.emit(socket, event);
            }
            for closing in closed {
                closing.complete();
            }
        }
        self.shared.running.set(false);
    }
}

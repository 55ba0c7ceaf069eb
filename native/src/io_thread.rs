//! An I/O thread: a `mio` event loop that owns listeners and sessions; other threads reach it
//! only through its mailbox (libzmq's `io_thread_t` + `reaper_t` in one).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use isomq_core::{Notify, PipeEvent, PipeId};
use mio::{Events, Poll, Token, Waker};

use crate::command::IoCommand;
use crate::listener::{ListenerObj, Parent};
use crate::queue::{queue, QueueRx, QueueTx};
use crate::session::{Outcome, Session};
use crate::stream::Stream;

const WAKER: Token = Token(usize::MAX);

/// Sessions that may have to be driven again in one iteration before the lists grow (they
/// never shrink): allocated up front, so that the first busy moment does not allocate.
const AGAIN_CAPACITY: usize = 16;

/// The handle other threads keep to post commands to an I/O thread.
#[derive(Debug)]
pub(crate) struct IoThread {
    mailbox: Mailbox,
    join: Option<JoinHandle<()>>,
}

/// An I/O thread's mailbox: commands, and the waker that interrupts its poll.
#[derive(Debug, Clone)]
pub(crate) struct Mailbox {
    tx: QueueTx<IoCommand>,
    waker: Arc<Waker>,
}

impl Mailbox {
    /// Posts a command and wakes the loop. A stopped thread drops the command.
    pub(crate) fn send(&self, cmd: IoCommand) {
        post(&self.tx, &self.waker, cmd);
    }
}

/// Pushes, then wakes: the loop reads the whole queue after every poll, so a wake-up that
/// follows the push makes the next (or current) poll return and the command be read. A
/// refused command (the thread has ended) is dropped here, outside the queue's lock.
fn post(tx: &QueueTx<IoCommand>, waker: &Waker, cmd: IoCommand) {
    if tx.send(cmd).is_ok() {
        let _ = waker.wake();
    }
}

/// Every I/O thread of a context, known to each of them once all have started: listeners
/// hand accepted connections round-robin to all threads, as libzmq's `choose_io_thread`.
pub(crate) type Siblings = Arc<OnceLock<Vec<Mailbox>>>;

impl IoThread {
    pub(crate) fn spawn(
        index: usize,
        ids: Arc<AtomicU64>,
        siblings: Siblings,
    ) -> io::Result<IoThread> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (tx, rx) = queue();
        let mut reactor = Reactor {
            poll,
            rx,
            objects: Slab::default(),
            ids: HashMap::new(),
            sv: Services {
                tx: tx.clone(),
                waker: waker.clone(),
                timers: BinaryHeap::new(),
                ids,
                again: Vec::with_capacity(AGAIN_CAPACITY),
                now: Instant::now(),
                epoch: Instant::now(),
            },
            stopping: false,
            index,
            siblings,
            next_sibling: index,
            again: Vec::with_capacity(AGAIN_CAPACITY),
        };
        let join = std::thread::Builder::new()
            .name(format!("isomq-io-{index}"))
            .spawn(move || reactor.run())?;
        Ok(IoThread {
            mailbox: Mailbox { tx, waker },
            join: Some(join),
        })
    }

    /// Posts a command and wakes the loop. A stopped thread drops the command.
    pub(crate) fn send(&self, cmd: IoCommand) {
        self.mailbox.send(cmd);
    }

    pub(crate) fn mailbox(&self) -> Mailbox {
        self.mailbox.clone()
    }

    /// Asks the thread to finish its lingering work and waits for it to exit.
    pub(crate) fn stop_and_join(&mut self) {
        self.send(IoCommand::Stop);
        if let Some(join) = self.join.take() {
            let _ = join.join();
        }
    }
}

/// The session side of pipe notifications: events become commands to this thread, at
/// most one at a time per pipe end. A busy session can raise an event per round of its
/// pump (it empties the pipe, the socket refills it), and each would otherwise cost a
/// command, an eventfd write, and a redundant drive; the queue would also grow with them.
#[derive(Debug)]
struct IoNotify {
    tx: QueueTx<IoCommand>,
    waker: Arc<Waker>,
    slot: usize,
    /// A command for this pipe end is queued and its drive has not started yet.
    pending: Arc<AtomicBool>,
}

impl Notify for IoNotify {
    fn notify(&self, pipe: PipeId, _event: PipeEvent) {
        // No lost event: a notify that finds `pending` set comes before, in the flag's
        // modification order, the swap in `Reactor::commands` that clears it for a queued
        // command (a swap reads the latest value, so that clear cannot be earlier, and a
        // clear that was earlier would have made this swap read false). AcqRel on both
        // sides: that clear then reads this swap's release sequence, so what the pipe's
        // peer did before notifying (the flush, the termination) happens before the drive
        // that follows the clear.
        if !self.pending.swap(true, Ordering::AcqRel) {
            let cmd = IoCommand::Pipe {
                slot: self.slot,
                pipe,
                pending: self.pending.clone(),
            };
            post(&self.tx, &self.waker, cmd);
        }
    }
}

/// What objects on this thread may use while being driven.
#[derive(Debug)]
pub(crate) struct Services {
    tx: QueueTx<IoCommand>,
    waker: Arc<Waker>,
    /// (when, slot, object id): the object looks at its own deadlines when it fires.
    timers: BinaryHeap<Reverse<(Instant, usize, u64)>>,
    ids: Arc<AtomicU64>,
    /// Slots that stopped early to let others run and must be driven again.
    again: Vec<usize>,
    /// The time at the top of this loop iteration.
    pub(crate) now: Instant,
    /// The origin of [`Services::clock`].
    epoch: Instant,
}

impl Services {
    pub(crate) fn notify(&self, slot: usize) -> Arc<dyn Notify> {
        Arc::new(IoNotify {
            tx: self.tx.clone(),
            waker: self.waker.clone(),
            slot,
            pending: Arc::new(AtomicBool::new(false)),
        })
    }

    /// A context-wide unique id, for pipes and objects alike.
    pub(crate) fn next_id(&self) -> u64 {
        // Relaxed: ids only need to be unique, not ordered with anything else.
        self.ids.fetch_add(1, Ordering::Relaxed)
    }

    /// Wakes the object `id` in `slot` at `at` on [`Services::clock`]'s scale.
    pub(crate) fn add_timer(&mut self, at: Duration, slot: usize, id: u64) {
        self.timers.push(Reverse((self.epoch + at, slot, id)));
    }

    /// The time at the top of this loop iteration, as a duration since the thread started:
    /// the clock the core's sans-IO state machines take.
    pub(crate) fn clock(&self) -> Duration {
        self.now.saturating_duration_since(self.epoch)
    }

    pub(crate) fn drive_again(&mut self, slot: usize) {
        self.again.push(slot);
    }
}

pub(crate) enum Object {
    Listener(Box<ListenerObj>),
    Session(Box<Session>),
}

/// A minimal slab: stable indices for mio tokens, reused after removal.
#[derive(Default)]
struct Slab {
    entries: Vec<Option<Object>>,
    free: Vec<usize>,
    len: usize,
}

impl Slab {
    fn vacant_key(&self) -> usize {
        self.free.last().copied().unwrap_or(self.entries.len())
    }

    fn insert(&mut self, obj: Object) -> usize {
        self.len += 1;
        if let Some(k) = self.free.pop() {
            self.entries[k] = Some(obj);
            k
        } else {
            self.entries.push(Some(obj));
            self.entries.len() - 1
        }
    }

    fn get_mut(&mut self, k: usize) -> Option<&mut Object> {
        self.entries.get_mut(k).and_then(Option::as_mut)
    }

    fn remove(&mut self, k: usize) -> Option<Object> {
        let obj = self.entries.get_mut(k).and_then(Option::take);
        if obj.is_some() {
            self.len -= 1;
            self.free.push(k);
        }
        obj
    }

    fn keys(&self) -> Vec<usize> {
        (0..self.entries.len())
            .filter(|&k| self.entries[k].is_some())
            .collect()
    }
}

struct Reactor {
    poll: Poll,
    rx: QueueRx<IoCommand>,
    objects: Slab,
    /// Object id (chosen by the socket) → slot, for Close commands.
    ids: HashMap<u64, usize>,
    sv: Services,
    stopping: bool,
    /// This thread's place among its siblings.
    index: usize,
    siblings: Siblings,
    /// Round-robin position for accepted connections.
    next_sibling: usize,
    /// The slots being driven again in this iteration (see `Services::again`).
    again: Vec<usize>,
}

impl Reactor {
    fn run(&mut self) {
        let mut events = Events::with_capacity(256);
        loop {
            self.sv.now = Instant::now();
            let timeout = if self.sv.again.is_empty() {
                self.sv
                    .timers
                    .peek()
                    .map(|Reverse((at, ..))| at.saturating_duration_since(self.sv.now))
            } else {
                Some(Duration::ZERO)
            };
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    // A broken poller cannot be recovered; end the thread, dropping its
                    // objects (their pipes terminate, so sockets see the peers go).
                    return;
                }
            }
            self.sv.now = Instant::now();
            for ev in events.iter() {
                if ev.token() == WAKER {
                    continue;
                }
                let slot = ev.token().0;
                self.ready(
                    slot,
                    ev.is_readable() || ev.is_read_closed() || ev.is_error(),
                    ev.is_writable() || ev.is_write_closed() || ev.is_error(),
                );
            }
            self.commands();
            self.fire_timers();
            // Swapped with a spare rather than taken, so that neither list gives up its
            // capacity: busy sessions land here every few iterations.
            let mut again = std::mem::replace(&mut self.sv.again, std::mem::take(&mut self.again));
            for &slot in &again {
                self.drive(slot);
            }
            again.clear();
            self.again = again;
            if self.stopping && self.objects.len == 0 {
                return;
            }
        }
    }

    fn ready(&mut self, slot: usize, readable: bool, writable: bool) {
        let accepted = match self.objects.get_mut(slot) {
            Some(Object::Listener(l)) => l.accept_all(),
            Some(Object::Session(s)) => {
                s.set_ready(readable, writable);
                self.drive(slot);
                return;
            }
            None => return,
        };
        for (stream, parent) in accepted {
            let id = self.sv.next_id();
            let siblings = self.siblings.get().map_or(&[][..], Vec::as_slice);
            let thread = if siblings.len() > 1 {
                self.next_sibling = (self.next_sibling + 1) % siblings.len();
                self.next_sibling
            } else {
                self.index
            };
            if let Some(Object::Listener(l)) = self.objects.get_mut(parent.slot) {
                l.children.push((thread, id));
            }
            match siblings.get(thread) {
                Some(mailbox) if thread != self.index => {
                    mailbox.send(IoCommand::Adopt { id, stream, parent })
                }
                _ => self.adopt(id, stream, parent),
            }
        }
    }

    /// Makes an accepted connection a session of this thread.
    fn adopt(&mut self, id: u64, stream: Stream, parent: Parent) {
        let slot = self.objects.vacant_key();
        let session =
            Session::accepted(id, slot, stream, parent, &mut self.sv, self.poll.registry());
        if let Some(session) = session {
            let key = self.objects.insert(Object::Session(Box::new(session)));
            self.ids.insert(id, key);
            self.drive(key);
        }
    }

    fn drive(&mut self, slot: usize) {
        let outcome = match self.objects.get_mut(slot) {
            Some(Object::Session(s)) => s.drive(&mut self.sv, self.poll.registry()),
            _ => return,
        };
        if outcome == Outcome::Close {
            self.remove(slot);
        }
    }

    fn remove(&mut self, slot: usize) {
        match self.objects.remove(slot) {
            Some(Object::Session(mut s)) => {
                self.ids.remove(&s.id);
                s.close(self.poll.registry());
            }
            Some(Object::Listener(l)) => {
                self.ids.remove(&l.id);
                let children = l.close(self.poll.registry());
                let siblings = self.siblings.clone();
                for (thread, child) in children {
                    if thread == self.index {
                        if let Some(&k) = self.ids.get(&child) {
                            self.orphan(k);
                        }
                    } else if let Some(mailbox) = siblings.get().and_then(|s| s.get(thread)) {
                        mailbox.send(IoCommand::Orphan { id: child });
                    }
                }
            }
            None => {}
        }
    }

    /// An accepted session whose listener went away: it lingers to deliver what is queued
    /// for it, or ends now if it has nothing (see `Session::orphan`).
    fn orphan(&mut self, slot: usize) {
        let lingers = match self.objects.get_mut(slot) {
            Some(Object::Session(s)) => s.orphan(),
            _ => false,
        };
        if lingers {
            self.drive(slot);
        } else {
            self.remove(slot);
        }
    }

    fn commands(&mut self) {
        while let Some(cmd) = self.rx.try_recv() {
            match cmd {
                // A thread on its way out takes no new connections (its socket is gone).
                IoCommand::Adopt { .. } if self.stopping => {}
                IoCommand::Adopt { id, stream, parent } => self.adopt(id, stream, parent),
                IoCommand::Pipe {
                    slot,
                    pipe,
                    pending,
                } => {
                    // Before the drive, so that an event raised during it posts again.
                    // AcqRel: see `IoNotify::notify`.
                    pending.swap(false, Ordering::AcqRel);
                    if let Some(Object::Session(s)) = self.objects.get_mut(slot) {
                        if s.owns_pipe(pipe) {
                            // Every pipe event means the same to a session: there may
                            // be progress to make (read, write, or finish).
                            self.drive(slot);
                        }
                    }
                }
                IoCommand::Listen {
                    id,
                    listener,
                    owner,
                    ws,
                } => {
                    let slot = self.objects.vacant_key();
                    if let Some(l) =
                        ListenerObj::new(id, slot, listener, owner, ws, self.poll.registry())
                    {
                        self.objects.insert(Object::Listener(Box::new(l)));
                        self.ids.insert(id, slot);
                    }
                }
                IoCommand::Connect {
                    id,
                    addr,
                    pipe,
                    owner,
                } => {
                    let slot = self.objects.vacant_key();
                    let s = Session::connecting(id, slot, addr, pipe, owner, &self.sv);
                    self.objects.insert(Object::Session(Box::new(s)));
                    self.ids.insert(id, slot);
                    if let Some(Object::Session(s)) = self.objects.get_mut(slot) {
                        s.start_connect(&mut self.sv, self.poll.registry());
                    }
                    self.drive(slot);
                }
                IoCommand::Orphan { id } => {
                    if let Some(&slot) = self.ids.get(&id) {
                        self.orphan(slot);
                    }
                }
                IoCommand::Close { id, done } => {
                    if let Some(&slot) = self.ids.get(&id) {
                        self.remove(slot);
                    } else {
                        self.close_path(id);
                    }
                    drop(done);
                }
                IoCommand::Stop => {
                    self.stopping = true;
                    // Listeners go at once; sessions that never got a pipe have nothing to
                    // deliver. The others finish when their socket's pipe ends (linger).
                    for slot in self.objects.keys() {
                        let idle = match self.objects.get_mut(slot) {
                            Some(Object::Listener(_)) => true,
                            Some(Object::Session(s)) => !s.has_pipe(),
                            None => false,
                        };
                        if idle {
                            self.remove(slot);
                        }
                    }
                }
            }
        }
    }

    /// Closes the connections upgraded on the ws:// path bound with `route_id` (the path
    /// is not an object here: its port's listener is).
    fn close_path(&mut self, route_id: u64) {
        for slot in self.objects.keys() {
            let on_path = matches!(
                self.objects.get_mut(slot),
                Some(Object::Session(s)) if s.route_id == Some(route_id)
            );
            if on_path {
                self.orphan(slot);
            }
        }
    }

    fn fire_timers(&mut self) {
        while let Some(Reverse((at, slot, id))) = self.sv.timers.peek().copied() {
            if at > self.sv.now {
                break;
            }
            self.sv.timers.pop();
            let outcome = match self.objects.get_mut(slot) {
                Some(Object::Session(s)) if s.id == id => {
                    s.on_timer(&mut self.sv, self.poll.registry())
                }
                _ => continue,
            };
            if outcome == Outcome::Close {
                self.remove(slot);
            }
        }
    }
}

//! The I/O thread's event loop (the reactor): waits on `mio` events, its mailbox and its
//! timers, and drives the listeners and sessions it owns (docs/architecture.md §5.1, §5.3).

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use isomq_core::{Pipe, PipeId};
use mio::net::UnixStream;
use mio::{Events, Interest, Poll, Token};

use super::command::IoCommand;
use super::listener::{ListenerObj, Parent};
use super::mailbox::{Mailbox, Siblings};
use super::services::{Services, AGAIN_CAPACITY};
use super::session::{Outcome, Session};
use super::slab::{Object, Slab};
use super::spin::{take_woke_reader, Spin, Turn};
use crate::doorbell::Doorbell;
use crate::link::Owner;
use crate::queue::{queue, QueueRx};
use crate::stats::IoStats;
use crate::stream::{Listener, PeerAddr, Stream};
use crate::ws::Routes;

const WAKER: Token = Token(usize::MAX);

pub(super) struct Reactor {
    poll: Poll,
    /// Interrupts `poll` (`wake_rx` becomes readable); answered when it does, before the
    /// commands are read.
    waker: Arc<Doorbell>,
    wake_rx: UnixStream,
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
    /// Sources watched only to end the poll (see [`Reactor::watch`]).
    watched: Vec<UnixStream>,
    /// A socket's output was announced since the I/O thread's loop last looked (see
    /// `spin::Turn::socket_output`).
    socket_output: bool,
    /// Waits that polled before they slept (see [`Reactor::run`]), for the thread's handle.
    spun_waits: Arc<AtomicU64>,
}

impl Reactor {
    /// A reactor for the I/O thread `index` of a context, and the mailbox that reaches it.
    pub(super) fn new(
        index: usize,
        ids: Arc<AtomicU64>,
        siblings: Siblings,
    ) -> io::Result<(Reactor, Mailbox)> {
        let poll = Poll::new()?;
        let (waker, wake_rx) = Doorbell::pair()?;
        let waker = Arc::new(waker);
        let mut wake_rx = UnixStream::from_std(wake_rx);
        poll.registry()
            .register(&mut wake_rx, WAKER, Interest::READABLE)?;
        let (tx, rx) = queue();
        let reactor = Reactor {
            poll,
            rx,
            waker: waker.clone(),
            wake_rx,
            objects: Slab::default(),
            ids: HashMap::new(),
            sv: Services::new(tx.clone(), waker.clone(), ids),
            stopping: false,
            index,
            siblings,
            next_sibling: index,
            again: Vec::with_capacity(AGAIN_CAPACITY),
            watched: Vec::new(),
            socket_output: false,
            spun_waits: Arc::default(),
        };
        Ok((reactor, Mailbox::new(tx, waker)))
    }

    /// Watches `source` for readability under `token`, a token no object of this loop
    /// has: its events only end the poll (an inline socket's command bell).
    pub(super) fn watch(
        &mut self,
        source: std::os::unix::net::UnixStream,
        token: Token,
    ) -> io::Result<()> {
        let mut source = UnixStream::from_std(source);
        self.poll
            .registry()
            .register(&mut source, token, Interest::READABLE)?;
        self.watched.push(source);
        Ok(())
    }

    /// The poll's own descriptor: readable while events wait to be handled.
    pub(super) fn poll_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.poll.as_raw_fd()
    }

    /// Whether some session has output waiting to go to its peer.
    pub(super) fn output_waits(&self) -> bool {
        self.sv.waiting_output > 0
    }

    /// Whether sessions wait to be driven again at the next turn (one that ends, lingers
    /// or read its fill): that turn does not wait.
    pub(super) fn has_work(&self) -> bool {
        !self.sv.again.is_empty()
    }

    /// Carries out the queued commands only (no poll, no timers): for a socket's own
    /// reactor, whose socket has just posted some (see `Services::notify_socket_pipe`).
    pub(super) fn run_commands(&mut self) {
        self.sv.now = Instant::now();
        self.commands();
    }

    /// Makes the notifiers of sessions' socket pipes set `local` instead of ringing the
    /// doorbell: the loop is a socket's own, turned on the socket's thread.
    pub(super) fn set_local(&mut self, local: Arc<AtomicBool>) {
        self.sv.local = Some(local);
        self.sv.polled_after_send = true;
    }

    /// Says whether the loop is turned by its socket's thread (see
    /// `Services::polled_after_send`); returns what it said before.
    pub(super) fn set_polled_after_send(&mut self, on: bool) -> bool {
        std::mem::replace(&mut self.sv.polled_after_send, on)
    }

    /// The I/O thread's loop: [`turn`](Reactor::turn)s until the thread is to end, each
    /// wait spinning first as [`Spin`] says (`several_cpus`: the context's word on the
    /// machine).
    pub(super) fn run(&mut self, several_cpus: bool) {
        let mut events = Events::with_capacity(256);
        let mut spin = Spin::new(several_cpus);
        loop {
            let started = Instant::now();
            let budget = spin.poll_budget(started, self.next_timeout(started));
            if !self.wait_spinning(&mut events, started, budget) {
                break;
            }
            let waited = started.elapsed();
            if !self.handle(&events) {
                break;
            }
            let turn = Turn {
                waited,
                woke_reader: take_woke_reader(),
                socket_output: std::mem::take(&mut self.socket_output),
            };
            spin.handle_turn(self.sv.now, turn);
        }
    }

    /// [`wait`](Reactor::wait), polling without sleeping for up to `budget` from
    /// `started` first. Between polls the thread yields its CPU: the socket thread it woke
    /// may be queued on that CPU, and its answer is what the spin waits for.
    fn wait_spinning(&mut self, events: &mut Events, started: Instant, budget: Duration) -> bool {
        if !budget.is_zero() {
            // Relaxed: a count read by tests and nothing else, once per wait.
            self.spun_waits.fetch_add(1, Ordering::Relaxed);
            loop {
                // A failed poll is left to `wait`, which tells a broken poller apart.
                if self.poll.poll(events, Some(Duration::ZERO)).is_err() {
                    break;
                }
                if !events.is_empty() {
                    return true;
                }
                if started.elapsed() >= budget {
                    break;
                }
                std::thread::yield_now();
            }
        }
        self.wait(events, None)
    }

    /// One round of the loop: waits for readiness, a command or the next timer (and no
    /// longer than `cap`, if given: the tests bound their waits), then handles what came.
    /// Returns false when the thread is to end.
    pub(super) fn turn(&mut self, events: &mut Events, cap: Option<Duration>) -> bool {
        self.wait(events, cap) && self.handle(events)
    }

    /// The first half of [`Reactor::turn`]: waits up to the next timer (or `cap`) for
    /// events. Returns false when the poller is broken.
    pub(super) fn wait(&mut self, events: &mut Events, cap: Option<Duration>) -> bool {
        self.sv.now = Instant::now();
        let timeout = self.next_timeout(self.sv.now);
        let timeout = cap.map_or(timeout, |cap| Some(timeout.map_or(cap, |t| t.min(cap))));
        if let Err(e) = self.poll.poll(events, timeout) {
            if e.kind() != io::ErrorKind::Interrupted {
                // A broken poller cannot be recovered; end the thread, dropping its
                // objects (their pipes terminate, so sockets see the peers go).
                return false;
            }
        }
        true
    }

    /// The count of waits that polled before they slept, as it goes on (see
    /// `IoThread::spun_waits`).
    #[cfg(test)]
    pub(super) fn spun_waits(&self) -> Arc<AtomicU64> {
        self.spun_waits.clone()
    }

    /// How long a wait at `now` may last: until the next timer or sweep (`None`: no end),
    /// not at all while sessions wait to be driven again.
    fn next_timeout(&self, now: Instant) -> Option<Duration> {
        if !self.sv.again.is_empty() {
            return Some(Duration::ZERO);
        }
        let timer = self.sv.timers.first().map(|&(at, ..)| at);
        let next = match (timer, self.sv.sweep_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        next.map(|at| at.saturating_duration_since(now))
    }

    /// The second half of [`Reactor::turn`]: handles what `events` brought, the commands,
    /// the timers due and the sessions to drive again. Returns false when the loop is to
    /// end.
    pub(super) fn handle(&mut self, events: &Events) -> bool {
        self.sv.now = Instant::now();
        for ev in events.iter() {
            if ev.token() == WAKER {
                self.waker.answer(&self.wake_rx);
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
        self.sweep_idle();
        // Swapped with a spare rather than taken, so that neither list gives up its
        // capacity: busy sessions land here every few iterations.
        let mut again = std::mem::replace(&mut self.sv.again, std::mem::take(&mut self.again));
        for &slot in &again {
            self.drive(slot);
        }
        again.clear();
        self.again = again;
        !(self.stopping && self.objects.len == 0)
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
                s.close(&mut self.sv, self.poll.registry());
            }
            Some(Object::Listener(l)) => {
                let listener = l.id;
                self.ids.remove(&listener);
                l.close(self.poll.registry());
                // Its sessions may be on any thread. Each thread's mailbox is FIFO, so an
                // Adopt this thread sent before comes before this.
                let siblings = self.siblings.clone();
                for (thread, mailbox) in siblings.get().into_iter().flatten().enumerate() {
                    if thread != self.index {
                        mailbox.send(IoCommand::Orphan { listener });
                    }
                }
                self.orphan_children(listener);
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
            self.command(cmd);
        }
    }

    fn command(&mut self, cmd: IoCommand) {
        match cmd {
            // A thread on its way out takes no new connections (its socket is gone).
            IoCommand::Adopt { .. } if self.stopping => {}
            IoCommand::Adopt { id, stream, parent } => self.adopt(id, stream, parent),
            IoCommand::Pipe {
                slot,
                pipe,
                pending,
                output,
            } => {
                self.socket_output |= output;
                self.pipe_event(slot, pipe, &pending);
            }
            IoCommand::Listen {
                id,
                listener,
                owner,
                ws,
            } => self.listen(id, listener, owner, ws),
            IoCommand::Connect {
                id,
                addr,
                pipe,
                owner,
            } => self.connect(id, addr, pipe, owner),
            IoCommand::Orphan { listener } => self.orphan_children(listener),
            IoCommand::Close { id, done } => {
                if let Some(&slot) = self.ids.get(&id) {
                    self.remove(slot);
                } else {
                    self.close_path(id);
                }
                drop(done);
            }
            IoCommand::Stats { reply } => {
                let _ = reply.send(self.stats());
            }
            IoCommand::Stop => self.stop(),
        }
    }

    /// The live objects, counted now (see `IoStats`).
    pub(super) fn stats(&self) -> IoStats {
        let mut stats = IoStats {
            timers: self.sv.timers.len(),
            ..IoStats::default()
        };
        for object in self.objects.iter() {
            match object {
                Object::Listener(_) => stats.listeners += 1,
                Object::Session(s) => {
                    stats.sessions += 1;
                    stats.handshakes += usize::from(s.is_handshaking());
                    stats.queued_bytes += s.queued_bytes();
                }
            }
        }
        stats
    }

    /// Events of the pipe end `pipe` of the session in `slot` (see `IoCommand::Pipe`).
    fn pipe_event(&mut self, slot: usize, pipe: PipeId, pending: &AtomicBool) {
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

    /// Starts accepting on a bound listener.
    fn listen(&mut self, id: u64, listener: Listener, owner: Owner, ws: Option<Arc<Routes>>) {
        let slot = self.objects.vacant_key();
        if let Some(l) = ListenerObj::new(id, slot, listener, owner, ws, self.poll.registry()) {
            self.objects.insert(Object::Listener(Box::new(l)));
            self.ids.insert(id, slot);
        }
    }

    /// Starts a connecting session that owns `pipe`.
    fn connect(&mut self, id: u64, addr: PeerAddr, pipe: Pipe, owner: Owner) {
        let slot = self.objects.vacant_key();
        let s = Session::connecting(id, slot, addr, pipe, owner, &self.sv);
        self.objects.insert(Object::Session(Box::new(s)));
        self.ids.insert(id, slot);
        if let Some(Object::Session(s)) = self.objects.get_mut(slot) {
            s.start_connect(&mut self.sv, self.poll.registry());
        }
        self.drive(slot);
    }

    /// Closes what has nothing left to do and lets the loop end once the rest is done.
    fn stop(&mut self) {
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

    /// Orphans this thread's sessions accepted by `listener`.
    fn orphan_children(&mut self, listener: u64) {
        self.orphan_where(|s| s.parent() == Some(listener));
    }

    /// Closes the connections upgraded on the ws:// path bound with `route_id` (the path
    /// is not an object here: its port's listener is): they deliver what is queued first.
    fn close_path(&mut self, route_id: u64) {
        self.orphan_where(|s| s.route_id == Some(route_id));
    }

    fn orphan_where(&mut self, which: impl Fn(&Session) -> bool) {
        for slot in self.objects.keys() {
            let chosen = matches!(self.objects.get_mut(slot), Some(Object::Session(s)) if which(s));
            if chosen {
                self.orphan(slot);
            }
        }
    }

    /// Every `IDLE_SWEEP` while some sessions' buffers have grown: shrinks those that have
    /// been quiet since the last sweep (`Session::sweep`). One sweep for all of them rather
    /// than a timer each, so that the per-message path never touches the timers.
    fn sweep_idle(&mut self) {
        match self.sv.sweep_at {
            Some(at) if at <= self.sv.now => {}
            _ => return,
        }
        let mut grown = std::mem::take(&mut self.sv.grown);
        grown.retain(|&(slot, id)| match self.objects.get_mut(slot) {
            Some(Object::Session(s)) if s.id == id => s.sweep(),
            _ => false,
        });
        self.sv.grown = grown;
        self.sv.sweep_at = (!self.sv.grown.is_empty()).then(|| self.sv.now + self.sv.idle_sweep);
    }

    fn fire_timers(&mut self) {
        while let Some(&(at, slot, id)) = self.sv.timers.first() {
            if at > self.sv.now {
                break;
            }
            self.sv.timers.pop_first();
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

/// What the tests look at.
#[cfg(test)]
impl Reactor {
    /// Whether an object with this id (a listener or a session) lives on this thread.
    pub(super) fn holds(&self, id: u64) -> bool {
        self.ids.contains_key(&id)
    }

    /// How many objects live on this thread.
    pub(super) fn object_count(&self) -> usize {
        self.objects.len
    }

    /// How many timers are set on this thread.
    pub(super) fn timer_count(&self) -> usize {
        self.sv.timers.len()
    }

    /// Whether the session `id` holds buffers grown by traffic; `None` without such a
    /// session or without a connection.
    pub(super) fn session_grown(&self, id: u64) -> Option<bool> {
        self.session(id)?.is_grown()
    }

    /// Whether the session `id`'s stream is watched for writability; `None` without such
    /// a session or without a connection.
    pub(super) fn session_watches_writable(&self, id: u64) -> Option<bool> {
        self.session(id)?.watches_writable()
    }

    /// The session `id`, if one lives on this thread.
    fn session(&self, id: u64) -> Option<&Session> {
        let slot = *self.ids.get(&id)?;
        match self.objects.get(slot) {
            Some(Object::Session(s)) => Some(s),
            _ => None,
        }
    }

    /// Sweeps grown sessions every `every` instead of `IDLE_SWEEP`.
    pub(super) fn set_idle_sweep(&mut self, every: Duration) {
        self.sv.idle_sweep = every;
    }
}

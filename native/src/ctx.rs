//! The context's shared state: the container of all of isomq's state (docs/architecture.md
//! §6.1). There is no global state; two contexts in one process know nothing of each other.
//! Sockets hold it; the `Context` handle applications hold points to it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use isomq_core::{Error, Result, SocketType};

use crate::command::SocketCommand;
use crate::io_thread::{InlineProbe, IoCommand, IoThread, Siblings};
use crate::link::ZapConnect;
use crate::mailbox::MailboxTx;
use crate::stats::IoStats;
use crate::sync::lock;
use crate::ws;

/// How a context's sockets drive their tcp:// and ipc:// connections (see
/// `ContextBuilder::inline_io`, docs/architecture.md §5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IoMode {
    /// Through the context's I/O threads.
    Threads,
    /// Each socket on a reactor of its own (inline I/O), as the application asked.
    Inline,
    /// Inline I/O, chosen by the context on a small machine, but for the sockets that send
    /// each message to every peer (PUB, XPUB): written by one thread, a message to a
    /// hundred subscribers is a hundred system calls between two sends, and with an I/O
    /// thread those overlap the application's work (fan-out to 100 subscribers: 0.05× libzmq
    /// inline; benches/RESULTS.md, "Round two, twelfth stop").
    InlineExceptFanOut,
}

/// The state behind a `Context`: I/O threads, the inproc and ws:// registries, id
/// allocation and the live sockets.
#[derive(Debug)]
pub(crate) struct CtxInner {
    io_thread_count: usize,
    io_threads: OnceLock<std::result::Result<Vec<IoThread>, String>>,
    /// Unique ids for sockets, pipes and I/O objects; shared with the I/O threads.
    ids: Arc<AtomicU64>,
    next_thread: AtomicUsize,
    pub(crate) inproc: Mutex<isomq_core::inproc::Registry<MailboxTx>>,
    /// ws:// ports and the paths bound on each.
    pub(crate) ws: Mutex<ws::Registry>,
    sockets: Mutex<HashMap<u64, MailboxTx>>,
    sockets_closed: Condvar,
    terminating: AtomicBool,
    /// Which sockets drive their own tcp:// and ipc:// connections
    /// (`ContextBuilder::inline_io`).
    io_mode: IoMode,
    /// The threads on which closed inline sockets deliver what they had queued (LINGER).
    lingering: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// The own reactors of the sockets with inline I/O, for [`CtxInner::stats`].
    inline_reactors: Mutex<Probes>,
    /// The machine has more than one CPU: a wait may poll before it sleeps.
    pub(crate) several_cpus: bool,
}

/// The probes of the inline reactors: closed sockets' probes are dropped when the list has
/// doubled since the last sweep, so adding a socket costs O(1) amortised, not a walk over
/// every open one (a server opening thousands of sockets).
#[derive(Debug, Default)]
struct Probes {
    list: Vec<InlineProbe>,
    sweep_at: usize,
}

impl Probes {
    /// Smallest list length at which a sweep runs.
    const SWEEP_MIN: usize = 16;

    fn push(&mut self, probe: InlineProbe) {
        if self.list.len() >= self.sweep_at {
            self.sweep();
        }
        self.list.push(probe);
    }

    /// The open sockets' probes, after a sweep.
    fn live(&mut self) -> Vec<InlineProbe> {
        self.sweep();
        self.list.clone()
    }

    fn sweep(&mut self) {
        self.list.retain(|p| !p.is_gone());
        self.sweep_at = (self.list.len() * 2).max(Self::SWEEP_MIN);
    }
}

impl CtxInner {
    /// `several_cpus`: the machine has more than one CPU.
    pub(crate) fn new(io_thread_count: usize, io_mode: IoMode, several_cpus: bool) -> CtxInner {
        CtxInner {
            io_mode,
            several_cpus,
            lingering: Mutex::new(Vec::new()),
            inline_reactors: Mutex::new(Probes::default()),
            io_thread_count,
            io_threads: OnceLock::new(),
            ids: Arc::new(AtomicU64::new(1)),
            next_thread: AtomicUsize::new(0),
            inproc: Mutex::new(isomq_core::inproc::Registry::default()),
            ws: Mutex::new(ws::Registry::default()),
            sockets: Mutex::new(HashMap::new()),
            sockets_closed: Condvar::new(),
            terminating: AtomicBool::new(false),
        }
    }

    /// Whether [`CtxInner::terminate`] was called: no new sockets then.
    pub(crate) fn is_terminating(&self) -> bool {
        self.terminating.load(Ordering::Acquire)
    }

    /// Makes blocked and future calls on this context's sockets fail with
    /// [`Error::Term`], then waits until all its sockets are closed (dropped).
    pub(crate) fn terminate(&self) {
        self.terminating.store(true, Ordering::Release);
        let mut sockets = lock(&self.sockets);
        for tx in sockets.values() {
            tx.send(SocketCommand::Term);
        }
        while !sockets.is_empty() {
            sockets = self
                .sockets_closed
                .wait(sockets)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// The I/O threads, started by the first call (the context's first socket).
    pub(crate) fn threads(&self) -> Result<&[IoThread]> {
        let threads = self.io_threads.get_or_init(|| {
            let siblings = Siblings::default();
            let threads = (0..self.io_thread_count)
                .map(|i| IoThread::spawn(i, self.ids.clone(), siblings.clone(), self.several_cpus))
                .collect::<std::io::Result<Vec<_>>>()
                .map_err(|e| e.to_string())?;
            let _ = siblings.set(threads.iter().map(IoThread::mailbox).collect());
            Ok(threads)
        });
        match threads {
            Ok(t) => Ok(t),
            Err(e) => Err(Error::Resource(format!("cannot start I/O threads: {e}"))),
        }
    }

    /// The context's I/O mode (see `ContextBuilder::inline_io`).
    pub(crate) fn io_mode(&self) -> IoMode {
        self.io_mode
    }

    /// Whether a socket of type `t` drives its own connections (see [`IoMode`]).
    pub(crate) fn inline_for(&self, t: SocketType) -> bool {
        match self.io_mode {
            IoMode::Threads => false,
            IoMode::Inline => true,
            IoMode::InlineExceptFanOut => !matches!(t, SocketType::Pub | SocketType::XPub),
        }
    }

    /// The id source, for a socket's own reactor.
    pub(crate) fn ids(&self) -> Arc<AtomicU64> {
        self.ids.clone()
    }

    /// Keeps the thread of a closed inline socket that still delivers, to join when the
    /// context ends (as its I/O threads are).
    pub(crate) fn add_lingering(&self, handle: std::thread::JoinHandle<()>) {
        let mut lingering = lock(&self.lingering);
        lingering.retain(|h| !h.is_finished());
        lingering.push(handle);
    }

    pub(crate) fn next_id(&self) -> u64 {
        // Relaxed: ids only need to be unique.
        self.ids.fetch_add(1, Ordering::Relaxed)
    }

    /// Picks an I/O thread for a new object (round-robin) and returns its index.
    pub(crate) fn choose_thread(&self) -> usize {
        let n = self.io_thread_count;
        self.next_thread.fetch_add(1, Ordering::Relaxed) % n
    }

    pub(crate) fn send_io(&self, thread: usize, cmd: IoCommand) {
        if let Ok(threads) = self.threads() {
            if let Some(t) = threads.get(thread) {
                t.send(cmd);
            }
        }
    }

    /// Closes a listener and waits until its I/O thread has done so, so that the address
    /// can be bound again at once (libzmq leaves this asynchronous).
    pub(crate) fn close_listener(&self, thread: usize, id: u64) {
        let (done, closed) = std::sync::mpsc::channel();
        self.send_io(
            thread,
            IoCommand::Close {
                id,
                done: Some(done),
            },
        );
        // Returns when `done` is dropped: after the close, or at once if the thread is gone.
        let _ = closed.recv();
    }

    /// The live objects of each started I/O thread, then of each open inline socket's
    /// reactor (see `Context::stats`).
    pub(crate) fn stats(&self) -> Vec<IoStats> {
        let mut stats = self.thread_stats();
        // Probed outside the registry's lock: a probe may wait for a socket's turn.
        let probes = lock(&self.inline_reactors).live();
        stats.extend(probes.iter().filter_map(InlineProbe::stats));
        stats
    }

    /// The waits of this context's I/O threads that spun (`IoThread::spun_waits`).
    #[cfg(test)]
    pub(crate) fn spun_waits(&self) -> u64 {
        match self.io_threads.get() {
            Some(Ok(threads)) => threads.iter().map(IoThread::spun_waits).sum(),
            _ => 0,
        }
    }

    /// Each started I/O thread's live objects, counted by the thread itself between two
    /// turns of its loop; none before the first socket started them.
    fn thread_stats(&self) -> Vec<IoStats> {
        let Some(Ok(threads)) = self.io_threads.get() else {
            return Vec::new();
        };
        let replies: Vec<_> = threads
            .iter()
            .map(|t| {
                let (reply, rx) = std::sync::mpsc::channel();
                t.send(IoCommand::Stats { reply });
                rx
            })
            .collect();
        // A thread that has ended drops the command, and with it the sender: nothing lives
        // there any more.
        replies
            .into_iter()
            .map(|rx| rx.recv().unwrap_or_default())
            .collect()
    }

    /// Counts a socket's own reactor in [`CtxInner::stats`] from now on, until its socket
    /// is closed.
    pub(crate) fn add_inline_reactor(&self, probe: InlineProbe) {
        lock(&self.inline_reactors).push(probe);
    }

    /// How many inline reactors' probes the context holds, closed sockets' not yet swept
    /// included.
    #[cfg(test)]
    pub(crate) fn inline_probes_held(&self) -> usize {
        lock(&self.inline_reactors).list.len()
    }

    pub(crate) fn register_socket(&self, id: u64, tx: MailboxTx) -> Result<()> {
        let mut sockets = lock(&self.sockets);
        if self.terminating.load(Ordering::Acquire) {
            return Err(Error::Term);
        }
        sockets.insert(id, tx);
        Ok(())
    }

    pub(crate) fn unregister_socket(&self, id: u64) {
        let mut sockets = lock(&self.sockets);
        sockets.remove(&id);
        if sockets.is_empty() {
            self.sockets_closed.notify_all();
        }
    }
}

impl Drop for CtxInner {
    fn drop(&mut self) {
        let lingering = std::mem::take(&mut *lock(&self.lingering));
        for handle in lingering {
            let _ = handle.join();
        }
        if let Some(Ok(threads)) = self.io_threads.get_mut() {
            for t in threads.iter_mut() {
                t.stop_and_join();
            }
        }
    }
}

/// A socket's way to its context's ZAP handler, for the sessions of its connections. Weak:
/// the I/O threads hold sessions, and the context holds the I/O threads.
#[derive(Debug)]
pub(crate) struct ZapLink(pub(crate) std::sync::Weak<CtxInner>);

impl ZapConnect for ZapLink {
    fn connect_zap(&self, pipe_id: u64) -> Option<isomq_core::Pipe> {
        let ctx = self.0.upgrade()?;
        // Like a DEALER connecting: no routing id of its own (a ROUTER handler makes one).
        let side = isomq_core::inproc::Side {
            socket_type: isomq_core::SocketType::Dealer,
            sndhwm: 0,
            rcvhwm: 0,
            routing_id: bytes::Bytes::new(),
        };
        let made = lock(&ctx.inproc).connect_bound(ZAP_NAME, pipe_id, side)?;
        if let Some((handler, theirs)) = made.peer {
            handler.send(SocketCommand::Attach(theirs, None));
        }
        Some(made.own)
    }
}

/// The inproc name of the ZAP endpoint, `inproc://zeromq.zap.01` (RFC 27).
const ZAP_NAME: &str = "zeromq.zap.01";

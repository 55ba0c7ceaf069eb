//! The context applications hold: it makes sockets, starts the I/O threads with the
//! first one, and terminates. What its sockets and I/O threads share lives in the state it
//! points to (`ctx.rs`), which sockets use without knowing this handle.

use std::sync::Arc;

use isomq_core::{Error, Result, SocketType};

use crate::ctx::{CtxInner, IoMode};
use crate::socket::Socket;

/// A ZeroMQ context: I/O threads, the inproc registry, and the sockets made from it.
///
/// Cloning is cheap and gives another handle to the same context.
///
/// # Examples
/// ```
/// use isomq::{Context, SocketType};
/// let ctx = Context::new();
/// let mut push = ctx.socket(SocketType::Push)?;
/// push.bind("inproc://jobs")?;
/// let mut pull = ctx.socket(SocketType::Pull)?;
/// pull.connect("inproc://jobs")?;
/// push.send("hello")?;
/// assert_eq!(pull.recv()?.as_slice(), b"hello");
/// # Ok::<(), isomq::Error>(())
/// ```
///
/// # Shutdown
/// Sockets close when dropped; the I/O threads exit once the context and all its sockets
/// are gone, after lingering sessions delivered what they could (LINGER).
/// [`Context::terminate`] additionally makes blocked calls in other threads fail with
/// [`Error::Term`] and waits until every socket is closed, as `zmq_ctx_term` does.
#[derive(Debug, Clone)]
pub struct Context {
    inner: Arc<CtxInner>,
}

/// Configures a [`Context`] before it starts.
#[derive(Debug, Clone)]
pub struct ContextBuilder {
    io_threads: usize,
    /// Set by [`ContextBuilder::io_threads`]: the application asked for I/O threads.
    threads_chosen: bool,
    /// Set by [`ContextBuilder::inline_io`]; otherwise chosen (see [`choose_io_mode`]).
    inline_io: Option<bool>,
}

/// The environment variable that overrides the automatic choice of inline I/O (see
/// [`ContextBuilder::inline_io`]): `1` for inline I/O, `0` for I/O threads.
const INLINE_IO_ENV: &str = "ISOMQ_INLINE_IO";

/// The most CPUs a machine has for contexts to choose inline I/O by themselves.
const SMALL_MACHINE_CPUS: usize = 2;

/// A context's I/O mode: inline I/O or not as the application said with
/// [`ContextBuilder::inline_io`] (`explicit`); otherwise I/O threads when it asked for
/// them; otherwise as [`INLINE_IO_ENV`] says (`env`, when `0` or `1`); otherwise inline
/// I/O but for PUB and XPUB sockets when the machine has at most [`SMALL_MACHINE_CPUS`]
/// CPUs. There an application thread and an I/O thread on each side of a connection are
/// more busy threads than cores, and each hand-over between them is a wake-up of a
/// sleeping core (benches/RESULTS.md, "Round two, twelfth stop").
fn choose_io_mode(
    explicit: Option<bool>,
    threads_chosen: bool,
    env: Option<&str>,
    cpus: Option<usize>,
) -> IoMode {
    match (explicit, threads_chosen, env) {
        (Some(true), _, _) | (None, false, Some("1")) => IoMode::Inline,
        (Some(false), _, _) | (None, true, _) | (None, false, Some("0")) => IoMode::Threads,
        _ if cpus.is_some_and(|n| n <= SMALL_MACHINE_CPUS) => IoMode::InlineExceptFanOut,
        _ => IoMode::Threads,
    }
}

impl ContextBuilder {
    /// ZMQ_IO_THREADS: how many I/O threads serve tcp and ipc connections (default 1).
    /// Asking for I/O threads turns the automatic choice of inline I/O off (see
    /// [`ContextBuilder::inline_io`]).
    ///
    /// While requests and replies pass through an I/O thread (a socket it woke for input
    /// answered within a millisecond), the thread polls for up to 50 µs, yielding its CPU
    /// between polls, before it sleeps: a CPU gone idle can take tens of microseconds to
    /// wake. Streams never make it spin (docs/architecture.md §5.6).
    pub fn io_threads(mut self, n: usize) -> ContextBuilder {
        self.io_threads = n.max(1);
        self.threads_chosen = true;
        self
    }

    /// Inline I/O: each socket drives its own tcp:// and ipc:// connections (and its
    /// ws:// connects) on the thread that calls it, inside its calls.
    ///
    /// Default: on when the machine has at most two CPUs and the application did not ask
    /// for I/O threads with [`ContextBuilder::io_threads`], off otherwise. Chosen so, it
    /// leaves PUB and XPUB sockets on an I/O thread: each of their messages goes to every
    /// subscriber, and one thread writing to a hundred connections between two sends made
    /// 0.05× libzmq's fan-out. The environment variable `ISOMQ_INLINE_IO` (`1` for on,
    /// every socket, `0` for off) overrides that choice, and this call overrides both
    /// (`true`: every socket). [`Context::is_inline_io`] tells whether a context has it.
    ///
    /// A send writes to the connection before it returns, and a blocking receive sleeps
    /// until the kernel has data for it, without a hand-over to an I/O thread and back.
    /// That takes the thread wake-ups between the socket and its I/O thread out of every
    /// message's path: request–reply latency over ipc:// and tcp:// is 0.11–0.35× libzmq's
    /// from 16 B to 64 KiB with client and server as processes, and small-message
    /// throughput 1.6–2.2× (benches/RESULTS.md, "Round two, twelfth stop").
    ///
    /// What it changes (docs/architecture.md §5.5):
    /// - Each socket with connections has a helper thread. Connections make progress
    ///   inside the socket's calls, and on the helper between them: it watches the
    ///   connections and, when one has something while the socket is outside its calls,
    ///   accepts, handshakes and reads within about a millisecond; once the socket has
    ///   made no call for 10 ms the helper runs them until the next call, which takes
    ///   them back with one thread wake-up. The helper also writes what a send did not
    ///   hand to the kernel at once.
    /// - [`poll`](crate::poll::poll) waits on readiness fds then, and an inline socket's
    ///   [`Socket::readiness_fd`](crate::Socket::readiness_fd) is its own poll: both work,
    ///   and the socket's I/O happens in the calls made once the fd fires (`has_in`,
    ///   `has_out`, DONTWAIT calls). The async calls work: a pending one hands the
    ///   socket's connections to its helper thread until the next call.
    /// - ws:// binds stay on the context's I/O thread: a port is shared by the context's
    ///   sockets.
    /// - A closed socket with messages still queued hands its connections to a thread of
    ///   their own for LINGER; the context joins it when it ends.
    /// - A blocking call polls for up to 50 µs before it sleeps, while the socket's waits
    ///   are that short (and the machine has more than one CPU): a core stays busy while
    ///   messages come that often, and a sleeping thread's wake-up leaves the path.
    /// - Sends in a burst (from the third in a row each less than 10 µs after the last)
    ///   are held and written together, when 32 KiB (four messages of 64 KiB or more)
    ///   or 40 µs are reached or at the
    ///   socket's next wait; a burst the sender leaves behind is written by the helper
    ///   thread 40 µs later, up to 320 µs after a long stream. A lone send, and the first
    ///   two of a row, are written at once.
    pub fn inline_io(mut self, on: bool) -> ContextBuilder {
        self.inline_io = Some(on);
        self
    }

    /// The context. Its I/O threads start with its first socket (without inline I/O) or
    /// when first needed.
    pub fn build(self) -> Context {
        let env = std::env::var(INLINE_IO_ENV).ok();
        let cpus = std::thread::available_parallelism().ok().map(|n| n.get());
        let mode = choose_io_mode(self.inline_io, self.threads_chosen, env.as_deref(), cpus);
        Context {
            inner: Arc::new(CtxInner::new(
                self.io_threads,
                mode,
                cpus.is_some_and(|n| n > 1),
            )),
        }
    }
}

impl Default for Context {
    fn default() -> Context {
        Context::new()
    }
}

impl Context {
    /// A context with libzmq's defaults (one I/O thread), or with inline I/O for all but
    /// its PUB and XPUB sockets on a machine of at most two CPUs (see
    /// [`ContextBuilder::inline_io`]).
    pub fn new() -> Context {
        Context::builder().build()
    }

    /// Whether the context's sockets drive their own connections (inline I/O, see
    /// [`ContextBuilder::inline_io`]) rather than its I/O threads. Chosen by the context
    /// (not by the application or `ISOMQ_INLINE_IO`), its PUB and XPUB sockets still use
    /// I/O threads.
    pub fn is_inline_io(&self) -> bool {
        self.inner.io_mode() != IoMode::Threads
    }

    /// A builder to configure the context.
    pub fn builder() -> ContextBuilder {
        ContextBuilder {
            io_threads: 1,
            threads_chosen: false,
            inline_io: None,
        }
    }

    /// A new socket of the given type.
    ///
    /// # Errors
    /// [`Error::Term`] once the context is terminating; [`Error::NotSup`] for a socket type
    /// isomq does not implement yet; [`Error::Resource`] if I/O threads cannot start.
    pub fn socket(&self, socket_type: SocketType) -> Result<Socket> {
        if self.inner.is_terminating() {
            return Err(Error::Term);
        }
        if !self.inner.inline_for(socket_type) {
            self.inner.threads()?;
        }
        Socket::new(self.inner.clone(), socket_type)
    }

    /// What each I/O thread holds now, one entry per thread (none before the context's
    /// first socket starts them), then one per open socket that has its own reactor
    /// ([`ContextBuilder::inline_io`]): listeners, sessions, handshakes in progress, timers
    /// and bytes queued for peers. Their number follows the live connections: once
    /// connections are gone, the counts are back where they were before. A closed inline
    /// socket still delivering within LINGER is not counted.
    ///
    /// # Examples
    /// ```
    /// use isomq::{Context, IoStats, SocketType};
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("tcp://127.0.0.1:*")?;
    /// let total: IoStats = ctx.stats().into_iter().sum();
    /// assert_eq!(total.listeners, 1);
    /// # Ok::<(), isomq::Error>(())
    /// ```
    pub fn stats(&self) -> Vec<crate::IoStats> {
        self.inner.stats()
    }

    /// How many waits of this context's I/O threads polled before they slept
    /// (docs/architecture.md §5.6).
    #[cfg(test)]
    pub(crate) fn spun_waits(&self) -> u64 {
        self.inner.spun_waits()
    }

    /// Makes blocked and future calls on this context's sockets fail with
    /// [`Error::Term`], then waits until all its sockets are closed (dropped).
    pub fn terminate(self) {
        self.inner.terminate();
    }
}

#[cfg(test)]
mod tests {
    // In tests a panic is the failure report.
    #![allow(clippy::unwrap_used)]

    use super::*;

    // The choice of inline I/O, as `ContextBuilder::inline_io` documents it: the
    // application's word first, then its asking for I/O threads, then ISOMQ_INLINE_IO,
    // then the machine's size.
    #[test]
    fn inline_io_is_chosen_by_the_application_then_the_environment_then_the_machine() {
        use IoMode::{Inline, InlineExceptFanOut, Threads};
        assert_eq!(
            choose_io_mode(Some(true), true, Some("0"), Some(64)),
            Inline
        );
        assert_eq!(
            choose_io_mode(Some(false), false, Some("1"), Some(1)),
            Threads
        );
        assert_eq!(choose_io_mode(None, true, Some("1"), Some(1)), Threads);
        assert_eq!(choose_io_mode(None, false, Some("1"), Some(64)), Inline);
        assert_eq!(choose_io_mode(None, false, Some("0"), Some(1)), Threads);
        for (cpus, mode) in [
            (Some(1), InlineExceptFanOut),
            (Some(2), InlineExceptFanOut),
            (Some(3), Threads),
            (None, Threads),
        ] {
            assert_eq!(choose_io_mode(None, false, None, cpus), mode, "{cpus:?}");
            // A value other than 0 or 1 is not a choice.
            assert_eq!(choose_io_mode(None, false, Some("yes"), cpus), mode);
        }
    }

    // Every inline socket with connections registers a probe for `Context::stats`; closed
    // sockets' probes are swept once the list has doubled, so a context that opens and
    // closes many sockets holds a bounded list, and adding one never walks all the others.
    #[test]
    fn closed_inline_sockets_leave_a_bounded_probe_list() {
        let ctx = Context::builder().inline_io(true).build();
        for _ in 0..200 {
            let mut pull = ctx.socket(SocketType::Pull).unwrap();
            pull.bind("tcp://127.0.0.1:*").unwrap();
        }
        let held = ctx.inner.inline_probes_held();
        assert!(held <= 32, "{held} probes held for no open socket");
    }
}

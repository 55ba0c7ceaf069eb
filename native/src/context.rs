//! The context applications hold: it makes sockets, starts the I/O threads with the
//! first one, and terminates. What its sockets and I/O threads share lives in the state it
//! points to (`ctx.rs`), which sockets use without knowing this handle.

use std::sync::Arc;

use isomq_core::{Error, Result, SocketType};

use crate::ctx::CtxInner;
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
}

impl ContextBuilder {
    /// ZMQ_IO_THREADS: how many I/O threads serve tcp and ipc connections (default 1).
    pub fn io_threads(mut self, n: usize) -> ContextBuilder {
        self.io_threads = n.max(1);
        self
    }

    /// The context. Its I/O threads start with its first socket.
    pub fn build(self) -> Context {
        Context {
            inner: Arc::new(CtxInner::new(self.io_threads)),
        }
    }
}

impl Default for Context {
    fn default() -> Context {
        Context::new()
    }
}

impl Context {
    /// A context with libzmq's defaults (one I/O thread).
    pub fn new() -> Context {
        Context::builder().build()
    }

    /// A builder to configure the context.
    pub fn builder() -> ContextBuilder {
        ContextBuilder { io_threads: 1 }
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
        self.inner.threads()?;
        Socket::new(self.inner.clone(), socket_type)
    }

    /// What each I/O thread holds now, one entry per thread (none before the context's
    /// first socket starts them): listeners, sessions, handshakes in progress, timers and
    /// bytes queued for peers. Their number follows the live connections: once
    /// connections are gone, the counts are back where they were before.
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

    /// Makes blocked and future calls on this context's sockets fail with
    /// [`Error::Term`], then waits until all its sockets are closed (dropped).
    pub fn terminate(self) {
        self.inner.terminate();
    }
}

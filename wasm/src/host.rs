//! What the socket machinery needs from its environment: WebSockets, timers, randomness, and a
//! way to tell the JavaScript side that a socket changed. The browser/Node implementation is in
//! `web`; tests implement it in memory.

use bytes::Bytes;

/// Names one connection attempt of one session, so that events of an old, replaced WebSocket
/// are recognised and ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConnKey {
    pub(crate) socket: u64,
    pub(crate) session: u64,
    pub(crate) generation: u64,
}

/// Why a timer was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TimerKind {
    /// The session's next lifecycle deadline (reconnect, handshake): the core's
    /// [`Lifecycle`](isomq_core::session::Lifecycle) decides what is due.
    Lifecycle,
    /// The WebSocket's send buffer was over its bound: look again whether it drained
    /// (browsers have no "drain" event).
    Drain,
}

/// A timer, named by what it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerKey {
    pub(crate) conn: ConnKey,
    pub(crate) kind: TimerKind,
}

/// Something the environment reports; queued and handled by the context's run loop. Only
/// the web host (wasm32) and the unit tests' hosts report anything.
#[cfg_attr(not(any(target_arch = "wasm32", test)), allow(dead_code))]
#[derive(Debug)]
pub(crate) enum Input {
    /// The WebSocket is open; `protocol` is the subprotocol the server chose.
    Open { conn: ConnKey, protocol: String },
    /// One binary message arrived.
    Message { conn: ConnKey, data: Bytes },
    /// A text message or other unusable frame arrived: a protocol error for ZWS.
    Invalid { conn: ConnKey },
    /// The WebSocket closed (or failed to open).
    Closed { conn: ConnKey },
    /// A timer fired.
    Timer(TimerKey),
}

impl Input {
    /// The connection attempt the input concerns.
    pub(crate) fn conn(&self) -> ConnKey {
        match self {
            Input::Open { conn, .. }
            | Input::Message { conn, .. }
            | Input::Invalid { conn }
            | Input::Closed { conn } => *conn,
            Input::Timer(key) => key.conn,
        }
    }
}

/// What a socket reports to its JavaScript owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketEvent {
    /// A message may be receivable or sendable now: retry waiting `recv`/`send` calls.
    Wake,
    /// A connection to this endpoint completed its ZWS handshake.
    Connect(String),
    /// A connection to this endpoint was lost (a reconnect follows unless it broke the
    /// protocol or the socket was closed).
    Disconnect(String),
}

/// One WebSocket, as the session uses it.
pub(crate) trait Ws {
    /// Queues one binary message. false: the WebSocket is not open (any more).
    fn send(&self, data: &[u8]) -> bool;
    /// Bytes queued by `send` and not yet handed to the network.
    fn buffered_amount(&self) -> u64;
    /// Closes with status 1000 (normal closure): the socket is done with the connection.
    /// What `send` queued goes out first unless the WebSocket is torn down meanwhile.
    fn close(&self);
    /// Closes without a status code, after a failure (the WebSocket API lets a page send
    /// only 1000 and 3000-4999, none of which says "protocol error"); a `Closed` input
    /// follows.
    fn abort(&self);
}

/// The environment of a [`Context`](crate::Context).
pub(crate) trait Host {
    /// Opens a WebSocket to `url`, offering `protocols`; its events come back as [`Input`]s
    /// carrying `conn`. Err: the URL or the environment cannot make one at all.
    fn open(
        &self,
        url: &str,
        protocols: &[String],
        conn: ConnKey,
    ) -> Result<Box<dyn Ws>, isomq_core::Error>;
    /// Calls back with `Input::Timer(key)` after `delay_ms`, replacing a pending timer of
    /// the same session and kind.
    fn set_timer(&self, delay_ms: u32, key: TimerKey);
    /// A monotonic clock: the time since an origin of the host's choosing.
    fn now(&self) -> std::time::Duration;
    /// Cancels the pending timers of `conn`'s session (whatever their generation).
    fn cancel_timers(&self, conn: ConnKey);
    /// A random number, for reconnect jitter.
    fn random(&self) -> u64;
    /// Cryptographically secure random bytes (`crypto.getRandomValues`), for CURVE's keys
    /// and nonces.
    ///
    /// # Errors
    /// When the environment has no such generator.
    fn fill_random(&self, buf: &mut [u8]) -> isomq_core::Result<()>;
    /// Reports a socket event to the socket's JavaScript owner. Called with no state borrowed:
    /// the callee may call back into the context.
    fn emit(&self, socket: u64, event: SocketEvent);
}

/// The host's secure generator as the core's random source.
pub(crate) struct HostRandom<'a>(pub(crate) &'a dyn Host);

impl isomq_core::security::Random for HostRandom<'_> {
    fn fill(&mut self, buf: &mut [u8]) -> isomq_core::Result<()> {
        self.0.fill_random(buf)
    }
}

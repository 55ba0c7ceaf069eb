//! What an I/O thread (or an inline socket's own reactor) holds at a given moment
//! ([`IoStats`], from `Context::stats`): the live objects whose number must follow the
//! live connections, not the connections ever made. A test or an operator compares them
//! before and after a burst of connections.

/// The live objects of one I/O thread or inline socket's reactor, counted when asked
/// (nothing is counted on the message path). Add them up with `sum()`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IoStats {
    /// Listeners: one per tcp:// or ipc:// bind, one per ws:// or wss:// port.
    pub listeners: usize,
    /// Sessions: accepted connections, and the sessions of `connect`s (which stay while
    /// the socket keeps the endpoint, connected or not).
    pub sessions: usize,
    /// Sessions whose connection has not completed its handshake: a connect in progress,
    /// the TLS and WebSocket upgrade, the ZMTP or ZWS handshake.
    pub handshakes: usize,
    /// Timers set: at most one per session (handshake, heartbeat, reconnect, linger).
    pub timers: usize,
    /// Bytes encoded for peers and not written yet, over all sessions.
    pub queued_bytes: usize,
}

impl std::iter::Sum for IoStats {
    fn sum<I: Iterator<Item = IoStats>>(iter: I) -> IoStats {
        iter.fold(IoStats::default(), |a, b| IoStats {
            listeners: a.listeners + b.listeners,
            sessions: a.sessions + b.sessions,
            handshakes: a.handshakes + b.handshakes,
            timers: a.timers + b.timers,
            queued_bytes: a.queued_bytes + b.queued_bytes,
        })
    }
}

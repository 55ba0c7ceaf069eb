//! How objects on the I/O threads reach the socket they work for: its mailbox, its type,
//! its LINGER and its monitor ([`SocketLink`]), and what a listener or connecting session
//! is started with ([`Owner`]).

use std::sync::atomic::AtomicI64;
use std::sync::Arc;

use isomq_core::{Options, Pipe, SocketType};

use crate::command::SocketCommand;
use crate::mailbox::MailboxTx;
use crate::monitor::MonitorHub;

/// What a session needs to reach its socket.
#[derive(Debug, Clone)]
pub(crate) struct SocketLink {
    pub(crate) tx: MailboxTx,
    pub(crate) socket_type: SocketType,
    /// LINGER in ms (-1 = forever), read when the socket closes its pipes.
    pub(crate) linger_ms: Arc<AtomicI64>,
    /// Where lifecycle events go.
    pub(crate) monitor: Arc<MonitorHub>,
    /// The way to the context's ZAP handler.
    pub(crate) zap: Arc<dyn ZapConnect>,
}

/// How a session on an I/O thread reaches its context's ZAP handler (RFC 27), the socket
/// bound at `inproc://zeromq.zap.01`, without the I/O thread knowing the context.
pub(crate) trait ZapConnect: Send + Sync + std::fmt::Debug {
    /// A new pipe to the handler (its end handed to the handler socket, as an inproc
    /// connect does), or None when no socket is bound there.
    fn connect_zap(&self, pipe_id: u64) -> Option<Pipe>;
}

/// For tests with no context behind them: no handler, ever.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct NoZap;

#[cfg(test)]
impl ZapConnect for NoZap {
    fn connect_zap(&self, _pipe_id: u64) -> Option<Pipe> {
        None
    }
}

impl SocketLink {
    /// Posts a command; a closed socket drops it (and any pipe in it, which terminates).
    pub(crate) fn send(&self, cmd: SocketCommand) {
        self.tx.send(cmd);
    }
}

/// Whom a listener or connecting session works for: the socket, the options it had when
/// it bound or connected (libzmq copies them too), and the endpoint for monitor events.
#[derive(Debug, Clone)]
pub(crate) struct Owner {
    pub(crate) link: SocketLink,
    pub(crate) options: Options,
    pub(crate) endpoint: String,
}

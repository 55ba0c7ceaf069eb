//! How objects on the I/O threads reach the socket they work for: its mailbox, its type,
//! its LINGER and its monitor ([`SocketLink`]), and what a listener or connecting session
//! is started with ([`Owner`]).

use std::sync::atomic::AtomicI64;
use std::sync::Arc;

use isomq_core::{Options, SocketType};

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

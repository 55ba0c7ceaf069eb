//! Commands: the only way objects on different threads talk (actor model, as libzmq's
//! `command_t`). Sockets receive [`SocketCommand`]s in their mailbox; I/O threads receive
//! [`IoCommand`]s.

use std::sync::atomic::{AtomicBool, AtomicI64};
use std::sync::Arc;

use isomq_core::{Notify, Options, Pipe, PipeEvent, PipeId, SocketType};

use crate::io_thread::Parent;
use crate::mailbox::MailboxTx;
use crate::monitor::MonitorHub;
use crate::stream::{Listener, PeerAddr, Stream};
use crate::ws::Routes;

/// Sent to a socket's mailbox.
#[derive(Debug)]
pub(crate) enum SocketCommand {
    /// An event of one of the socket's pipe ends.
    Pipe(PipeId, PipeEvent),
    /// A new pipe to a peer (accepted connection after its handshake, or an inproc peer).
    Attach(Pipe),
    /// The connection behind a pipe was re-established: resend subscriptions.
    Hiccup(PipeId),
    /// The context is terminating: blocked and later calls fail with ETERM.
    Term,
}

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

/// The socket's end of pipe notifications: events become mailbox commands.
#[derive(Debug)]
pub(crate) struct SocketNotify {
    pub(crate) tx: MailboxTx,
}

impl Notify for SocketNotify {
    fn notify(&self, pipe: PipeId, event: PipeEvent) {
        self.tx.send(SocketCommand::Pipe(pipe, event));
    }
}

/// Sent to an I/O thread's mailbox.
#[derive(Debug)]
pub(crate) enum IoCommand {
    /// Start accepting on a bound listener.
    Listen {
        id: u64,
        listener: Listener,
        /// The endpoint here is the resolved one.
        owner: Owner,
        /// For a ws:// port: the paths bound on it.
        ws: Option<Arc<Routes>>,
    },
    /// Start a connecting session that owns `pipe` across reconnects.
    Connect {
        id: u64,
        addr: PeerAddr,
        pipe: Pipe,
        /// The endpoint here is the one given to connect.
        owner: Owner,
    },
    /// Close a listener (and the connections it accepted) or a connecting session, or,
    /// for the id of a ws:// path binding, the connections accepted on that path. `done`
    /// is dropped once it is closed, so the caller can wait for a listener's address to be
    /// free again.
    Close {
        id: u64,
        done: Option<std::sync::mpsc::Sender<()>>,
    },
    /// The listener (or ws:// path) that accepted session `id` went away: the session
    /// delivers what is queued for it within LINGER, then ends.
    Orphan { id: u64 },
    /// Take over a connection another thread's listener accepted.
    Adopt {
        id: u64,
        stream: Stream,
        parent: Parent,
    },
    /// Events of a pipe end owned by the session in `slot`: one command stands for every
    /// event raised while `pending` was set (they all mean "there may be progress"). The
    /// thread clears `pending` before driving the session.
    Pipe {
        slot: usize,
        pipe: PipeId,
        pending: Arc<AtomicBool>,
    },
    /// Finish lingering sessions, then exit the thread.
    Stop,
}

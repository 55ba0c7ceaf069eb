//! Commands to an I/O thread: what sockets, the context, sibling threads and pipe
//! notifiers ask of it (docs/architecture.md §5.2, §5.3).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use isomq_core::{Pipe, PipeId};

use super::listener::Parent;
use crate::link::Owner;
use crate::stats::IoStats;
use crate::stream::{Listener, PeerAddr, Stream};
use crate::ws::Routes;

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
    /// The listener `listener` closed: the sessions it accepted, on every I/O thread,
    /// deliver what is queued for them within LINGER, then end.
    Orphan { listener: u64 },
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
        /// The first of those events was the socket's output (`PipeEvent::ActivateRead`),
        /// which the thread's spin looks for (`spin::Turn::socket_output`).
        output: bool,
    },
    /// Count the thread's live objects and send the count on `reply`.
    Stats {
        reply: std::sync::mpsc::Sender<IoStats>,
    },
    /// Finish lingering sessions, then exit the thread.
    Stop,
}

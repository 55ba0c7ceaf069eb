//! Commands to sockets: with pipes, the only way objects on different threads talk (actor
//! model, as libzmq's `command_t`; docs/architecture.md §5.2). A socket receives
//! [`SocketCommand`]s in its mailbox; what an I/O thread receives is in its own layer
//! (`io_thread/command.rs`).

use isomq_core::{Pipe, PipeEvent, PipeId};

/// Sent to a socket's mailbox.
#[derive(Debug)]
pub(crate) enum SocketCommand {
    /// An event of one of the socket's pipe ends.
    Pipe(PipeId, PipeEvent),
    /// A new pipe to a peer (accepted connection after its handshake, or an inproc peer),
    /// with what the peer said about itself (none over inproc). One command, so that the
    /// socket keeps the properties only of a pipe still alive when it arrives.
    Attach(Pipe, Option<PeerProperties>),
    /// The connection behind a pipe was re-established: resend subscriptions.
    Hiccup(PipeId),
    /// What the peer behind the pipe of a `connect` said about itself (READY metadata, the
    /// ZAP handler's User-Id and metadata, its address), for `Socket::peer_property`; again
    /// after each reconnection.
    Properties(PipeId, PeerProperties),
    /// The context is terminating: blocked and later calls fail with ETERM.
    Term,
}

/// A peer's properties, shared by every message it sends.
pub(crate) type PeerProperties = std::sync::Arc<[(String, bytes::Bytes)]>;

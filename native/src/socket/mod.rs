//! The socket API: BSD-socket-like calls on a ZeroMQ socket, used from one thread at a time
//! (a `Socket` is `Send`: move it to another thread freely).
//!
//! One file per part of the API: `endpoints` (bind, connect, unbind, disconnect),
//! `send_recv` (blocking and DONTWAIT calls), `async_io` (futures), `readiness` (for `poll`
//! and the readiness fd), `options`, `commands` (the socket's side of its mailbox) and
//! `inline` (the socket's own reactor, with inline I/O), `wait_spin` (whether a wait polls first);
//! `tests` checks what a socket keeps per peer.

mod async_io;
mod commands;
#[cfg(test)]
mod deadline_tests;
mod endpoints;
mod inline;
mod options;
mod readiness;
mod send_recv;
#[cfg(test)]
mod tests;
mod wait_spin;

use std::fmt;
use std::os::unix::net::UnixStream;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::Instant;

use isomq_core::{new_pattern, Notify, Options, Pattern, Result, SocketType};

use crate::ctx::{CtxInner, ZapLink};
use crate::link::SocketLink;
use crate::mailbox::{mailbox, Mailbox};
use crate::monitor::{Monitor, MonitorHub};
use commands::SocketNotify;
use endpoints::EndpointEntry;
use options::linger_ms;
use wait_spin::WaitSpin;

/// A ZeroMQ socket. See the crate docs for an example.
///
/// Closing: dropping the socket (or [`Socket::close`]) stops its listeners, and queued
/// outgoing messages are delivered by the I/O threads for up to LINGER.
pub struct Socket {
    ctx: Arc<CtxInner>,
    id: u64,
    socket_type: SocketType,
    pattern: Box<dyn Pattern>,
    options: Options,
    mailbox: Mailbox,
    link: SocketLink,
    notify: Arc<dyn Notify>,
    endpoints: Vec<EndpointEntry>,
    /// Each connected peer's properties, by the pipe its messages come on.
    peer_properties: std::collections::HashMap<isomq_core::PipeId, crate::command::PeerProperties>,
    last_endpoint: Option<String>,
    terminated: bool,
    /// The read end of the readiness fd, once asked for.
    fd_reader: Option<UnixStream>,
    /// Sends and receives since the mailbox was last read, and when that was.
    calls_since_commands: u32,
    last_commands: Instant,
    /// The socket's own reactor, with inline I/O, from its first tcp:// or ipc:// endpoint.
    inline: Option<crate::io_thread::InlineHost>,
    /// Whether a wait for the mailbox polls before it sleeps.
    spin: WaitSpin,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("type", &self.socket_type)
            .field("id", &self.id)
            .field("last_endpoint", &self.last_endpoint)
            .finish_non_exhaustive()
    }
}

impl Socket {
    pub(crate) fn new(ctx: Arc<CtxInner>, socket_type: SocketType) -> Result<Socket> {
        let pattern = new_pattern(socket_type)?;
        let options = Options::new(socket_type);
        let (tx, mailbox) = mailbox();
        let id = ctx.next_id();
        let several_cpus = ctx.several_cpus;
        ctx.register_socket(id, tx.clone())?;
        let link = SocketLink {
            tx: tx.clone(),
            socket_type,
            linger_ms: Arc::new(AtomicI64::new(linger_ms(options.linger))),
            monitor: Arc::new(MonitorHub::default()),
            zap: Arc::new(ZapLink(Arc::downgrade(&ctx))),
        };
        Ok(Socket {
            ctx,
            id,
            socket_type,
            pattern,
            options,
            mailbox,
            link,
            notify: Arc::new(SocketNotify { tx }),
            endpoints: Vec::new(),
            peer_properties: std::collections::HashMap::new(),
            last_endpoint: None,
            terminated: false,
            fd_reader: None,
            calls_since_commands: 0,
            last_commands: Instant::now(),
            inline: None,
            spin: WaitSpin::new(several_cpus),
        })
    }

    /// The socket's type.
    pub fn socket_type(&self) -> SocketType {
        self.socket_type
    }

    /// A property of the peer that sent the last message received (libzmq's
    /// `zmq_msg_gets`): `Socket-Type`, `Identity`, `Peer-Address` (its IP; empty for
    /// ipc://), `User-Id` (what the ZAP handler called it), the ZAP handler's metadata and
    /// the peer's `X-` properties. None when that peer has no such property, came over
    /// inproc:// (which has no handshake), or has disconnected since.
    pub fn peer_property(&self, name: &str) -> Option<bytes::Bytes> {
        let pipe = self.pattern.last_pipe()?;
        self.peer_properties
            .get(&pipe)?
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    /// Lifecycle events of this socket's connections and listeners, from now on.
    ///
    /// # Examples
    /// ```
    /// use isomq::{Context, MonitorEvent, SocketType};
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// let events = pull.monitor();
    /// pull.bind("tcp://127.0.0.1:*")?;
    /// assert!(matches!(events.recv(), Some(MonitorEvent::Listening { .. })));
    /// # Ok::<(), isomq::Error>(())
    /// ```
    pub fn monitor(&mut self) -> Monitor {
        self.link.monitor.subscribe()
    }

    /// Closes the socket (the same as dropping it).
    pub fn close(self) {}
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.close_endpoints();
        for pipe in self.pattern.pipe_ids() {
            self.pattern.terminate_pipe(pipe);
        }
        self.finish_inline();
        self.ctx.unregister_socket(self.id);
    }
}

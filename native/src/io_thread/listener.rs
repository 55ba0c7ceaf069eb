//! A listener: accepts connections, which its I/O thread hands round-robin to new sessions on
//! all the context's I/O threads (libzmq's `choose_io_thread`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use isomq_core::Options;
use mio::{Registry, Token};

use crate::link::{Owner, SocketLink};
use crate::monitor::MonitorEvent;
use crate::stream::{Listener, Stream};
use crate::ws::Routes;

/// One of a listener's connections in its handshake (MAX_HANDSHAKES, docs/limits.md): the
/// listener counts it at the accept, its session gives it back when the handshake completes
/// or the session ends, on whichever I/O thread it lives.
#[derive(Debug)]
pub(crate) struct HandshakeSlot(Arc<AtomicUsize>);

impl Drop for HandshakeSlot {
    fn drop(&mut self) {
        // Relaxed: a count compared with a limit, ordering nothing else.
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What an accepted connection inherits from its listener.
#[derive(Debug)]
pub(crate) struct Parent {
    /// The listener's id: its sessions are orphaned when it closes.
    pub(crate) listener: u64,
    pub(crate) link: SocketLink,
    pub(crate) options: Options,
    /// Set on a ws:// port: the upgrade's path picks the socket (link and options above
    /// only serve until then).
    pub(crate) ws: Option<Arc<Routes>>,
    /// The listener's endpoint, for monitor events.
    pub(crate) endpoint: String,
    /// Held until the connection's handshake completes.
    pub(crate) handshake: Option<HandshakeSlot>,
}

#[derive(Debug)]
pub(crate) struct ListenerObj {
    pub(crate) id: u64,
    listener: Listener,
    owner: Owner,
    ws: Option<Arc<Routes>>,
    /// Its connections in their handshake now, wherever their sessions run.
    handshakes: Arc<AtomicUsize>,
}

impl ListenerObj {
    pub(crate) fn new(
        id: u64,
        slot: usize,
        mut listener: Listener,
        owner: Owner,
        ws: Option<Arc<Routes>>,
        registry: &Registry,
    ) -> Option<ListenerObj> {
        listener.register(registry, Token(slot)).ok()?;
        Some(ListenerObj {
            id,
            listener,
            owner,
            ws,
            handshakes: Arc::default(),
        })
    }

    /// Accepts until the backlog is empty (mio is edge-triggered).
    pub(crate) fn accept_all(&mut self) -> Vec<(Stream, Parent)> {
        let mut out = Vec::new();
        loop {
            match self.listener.accept() {
                Ok(stream) => {
                    let Some(handshake) = self.take_slot() else {
                        // Accepted and closed rather than left in the backlog: the kernel's
                        // queue would hold honest clients behind the flood, and this
                        // listener would need waking when a slot frees on another thread.
                        drop(stream);
                        self.emit_refusal();
                        continue;
                    };
                    stream.set_nodelay();
                    out.push((
                        stream,
                        Parent {
                            listener: self.id,
                            link: self.owner.link.clone(),
                            options: self.owner.options.clone(),
                            ws: self.ws.clone(),
                            endpoint: self.owner.endpoint.clone(),
                            handshake: Some(handshake),
                        },
                    ));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::Interrupted | std::io::ErrorKind::ConnectionAborted
                    ) =>
                {
                    continue
                }
                // Out of descriptors (EMFILE): stop this round; the next connection attempt
                // raises readiness again.
                Err(_) => break,
            }
        }
        out
    }

    /// A handshake slot for a new connection, unless MAX_HANDSHAKES are taken.
    fn take_slot(&self) -> Option<HandshakeSlot> {
        let max = self.owner.options.max_handshakes;
        // Relaxed: see `HandshakeSlot::drop`. Only this thread adds, so the count cannot
        // pass the limit between the load and the add.
        if max > 0 && self.handshakes.load(Ordering::Relaxed) >= max {
            return None;
        }
        self.handshakes.fetch_add(1, Ordering::Relaxed);
        Some(HandshakeSlot(self.handshakes.clone()))
    }

    fn emit_refusal(&self) {
        self.owner.link.monitor.emit(|| MonitorEvent::AcceptFailed {
            endpoint: self.owner.endpoint.clone(),
            reason: format!(
                "{} connections are in their handshake (MAX_HANDSHAKES)",
                self.owner.options.max_handshakes
            ),
        });
    }

    /// Closes the listener. The sessions it accepted know it by id (they are its children,
    /// as in libzmq): no list of them is kept here, which would grow with every connection.
    pub(crate) fn close(self, registry: &Registry) {
        self.listener.close(registry);
        let Owner { link, endpoint, .. } = self.owner;
        link.monitor.emit(|| MonitorEvent::Closed { endpoint });
    }
}

//! A listener: accepts connections, which its I/O thread hands round-robin to new sessions on
//! all the context's I/O threads (libzmq's `choose_io_thread`).

use std::sync::Arc;

use isomq_core::Options;
use mio::{Registry, Token};

use crate::link::{Owner, SocketLink};
use crate::monitor::MonitorEvent;
use crate::stream::{Listener, Stream};
use crate::ws::Routes;

/// What an accepted connection inherits from its listener.
#[derive(Debug, Clone)]
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
}

#[derive(Debug)]
pub(crate) struct ListenerObj {
    pub(crate) id: u64,
    listener: Listener,
    owner: Owner,
    ws: Option<Arc<Routes>>,
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
        })
    }

    /// Accepts until the backlog is empty (mio is edge-triggered).
    pub(crate) fn accept_all(&mut self) -> Vec<(Stream, Parent)> {
        let mut out = Vec::new();
        loop {
            match self.listener.accept() {
                Ok(stream) => {
                    stream.set_nodelay();
                    out.push((
                        stream,
                        Parent {
                            listener: self.id,
                            link: self.owner.link.clone(),
                            options: self.owner.options.clone(),
                            ws: self.ws.clone(),
                            endpoint: self.owner.endpoint.clone(),
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

    /// Closes the listener. The sessions it accepted know it by id (they are its children,
    /// as in libzmq): no list of them is kept here, which would grow with every connection.
    pub(crate) fn close(self, registry: &Registry) {
        self.listener.close(registry);
        let Owner { link, endpoint, .. } = self.owner;
        link.monitor.emit(|| MonitorEvent::Closed { endpoint });
    }
}

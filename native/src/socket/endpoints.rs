//! A socket's endpoints: binding and connecting on every transport, unbinding and
//! disconnecting, and what each endpoint is attached to (a listener or connecting session
//! on an I/O thread, an inproc name or pipe, a path on a shared ws:// port).

use isomq_core::inproc::Side;
use isomq_core::{Endpoint, Error, Pipe, PipeId, Result};

use super::Socket;
use crate::command::SocketCommand;
use crate::ctx::CtxInner;
use crate::io_thread::IoCommand;
use crate::link::Owner;
use crate::monitor::MonitorEvent;
use crate::sync::lock;
use crate::transport;
use crate::ws::Route;

/// What an endpoint of this socket is attached to, for unbind/disconnect/close.
#[derive(Debug)]
pub(super) enum Attachment {
    Listener {
        thread: usize,
        id: u64,
    },
    Connecter {
        thread: usize,
        id: u64,
        pipe: PipeId,
    },
    InprocBound(String),
    InprocConnected(PipeId),
    /// A path on a ws:// port, which other sockets of the context may share.
    WsPath {
        addr: std::net::SocketAddr,
        id: u64,
    },
}

#[derive(Debug)]
pub(super) struct EndpointEntry {
    /// As the user gave it.
    given: String,
    /// After resolution (the port a wildcard bind got); equal to `given` otherwise.
    resolved: String,
    attachment: Attachment,
}

impl Socket {
    /// Accepts connections on `endpoint` (`tcp://host:port`, `tcp://*:*`, `ipc://path`,
    /// `ipc://@name`, `ipc://*`, `inproc://name`, `ws://host:port/path`, `ws://host:*/path`).
    ///
    /// Sockets of one context may bind different paths of one ws:// port; a connection
    /// goes to the socket bound on the path it asks for (others get `404`).
    ///
    /// # Errors
    /// [`Error::Inval`] for a malformed endpoint, [`Error::ProtoNoSupport`] for an unknown
    /// transport, [`Error::AddrInUse`] if the address is taken.
    pub fn bind(&mut self, endpoint: &str) -> Result<()> {
        let result = self.bind_inner(endpoint);
        self.link.monitor.emit(|| match &result {
            Ok(()) => MonitorEvent::Listening {
                endpoint: self.last_endpoint.clone().unwrap_or_default(),
            },
            Err(e) => MonitorEvent::BindFailed {
                endpoint: endpoint.to_owned(),
                error: e.clone(),
            },
        });
        result
    }

    /// What a listener or connecter started now needs to know of this socket.
    fn owner(&self, endpoint: &str) -> Owner {
        Owner {
            link: self.link.clone(),
            options: self.options.clone(),
            endpoint: endpoint.to_owned(),
        }
    }

    /// The security options must name a complete mechanism before a connection can use
    /// them; inproc:// has no handshake (as in libzmq), and ws:// does not speak ZAP for
    /// NULL (ZAP_DOMAIN on a NULL socket).
    fn check_security(&self, ep: &Endpoint) -> Result<()> {
        match ep {
            Endpoint::Inproc(_) => Ok(()),
            Endpoint::Ws { .. } => {
                let auth = self.options.security.auth()?;
                if auth.security.mechanism() == "NULL" && auth.zap_domain {
                    Err(Error::NotSup)
                } else {
                    Ok(())
                }
            }
            _ => self.options.security.auth().map(|_| ()),
        }
    }

    fn bind_inner(&mut self, endpoint: &str) -> Result<()> {
        self.check_term()?;
        let ep = Endpoint::parse(endpoint)?;
        self.check_security(&ep)?;
        self.spin.handle_endpoint(&ep);
        let (resolved, attachment) = match &ep {
            Endpoint::Inproc(name) => {
                let side = Side::new(self.socket_type, &self.options);
                let pending =
                    lock(&self.ctx.inproc).bind(name, self.id, self.link.tx.clone(), side)?;
                for pipe in pending {
                    // inproc pipes carry no properties: alive or not, nothing to keep.
                    let _ = self.attach_pipe(pipe);
                }
                (endpoint.to_owned(), Attachment::InprocBound(name.clone()))
            }
            Endpoint::Ws {
                host,
                port,
                path,
                tls,
            } => self.bind_ws(host, *port, path, *tls)?,
            _ => {
                let (listener, resolved) = transport::bind(&ep)?;
                listener.set_backlog(self.options.backlog)?;
                let id = self.ctx.next_id();
                let thread = self.choose_io()?;
                self.send_io(
                    thread,
                    IoCommand::Listen {
                        id,
                        listener,
                        owner: self.owner(&resolved),
                        ws: None,
                    },
                );
                (resolved, Attachment::Listener { thread, id })
            }
        };
        self.last_endpoint = Some(resolved.clone());
        self.endpoints.push(EndpointEntry {
            given: endpoint.to_owned(),
            resolved,
            attachment,
        });
        Ok(())
    }

    /// Binds a path on a ws:// (wss:// with `tls`) port: on the port's listener if a socket
    /// of this context already listens there, else on a new one.
    fn bind_ws(
        &mut self,
        host: &str,
        port: Option<u16>,
        path: &str,
        tls: bool,
    ) -> Result<(String, Attachment)> {
        // The certificate is checked even when the port exists: a bind that could not have
        // started the port on its own fails alike.
        let accept = if tls {
            Some(crate::tls::accept_config(&self.options.wss)?)
        } else {
            None
        };
        let id = self.ctx.next_id();
        let route = Route {
            id,
            link: self.link.clone(),
            options: self.options.clone(),
        };
        // Held across the bind so that two sockets binding one port at once share it.
        let mut ports = lock(&self.ctx.ws);
        if let Some(addr) = transport::ws_bind_addr(host, port)? {
            if ports.add_path(addr, path, route.clone(), tls)?.is_some() {
                return Ok((
                    transport::ws_endpoint(addr, path, tls),
                    Attachment::WsPath { addr, id },
                ));
            }
        }
        let (listener, addr) = transport::bind_ws(host, port, accept)?;
        listener.set_backlog(self.options.backlog)?;
        let listener_id = self.ctx.next_id();
        let thread = self.ctx.choose_thread();
        let routes = ports.add_port(addr, thread, listener_id, (path, tls), route);
        drop(ports);
        self.ctx.send_io(
            thread,
            IoCommand::Listen {
                id: listener_id,
                listener,
                owner: self.owner(&transport::ws_endpoint(addr, path, tls)),
                ws: Some(routes),
            },
        );
        Ok((
            transport::ws_endpoint(addr, path, tls),
            Attachment::WsPath { addr, id },
        ))
    }

    /// Connects to `endpoint`. The connection is made (and remade after failures) in the
    /// background; messages queue up to SNDHWM meanwhile.
    ///
    /// # Errors
    /// [`Error::Inval`] for a malformed or unresolvable endpoint, [`Error::ProtoNoSupport`]
    /// for an unknown transport.
    pub fn connect(&mut self, endpoint: &str) -> Result<()> {
        self.check_term()?;
        let ep = Endpoint::parse(endpoint)?;
        self.check_security(&ep)?;
        self.spin.handle_endpoint(&ep);
        let pipe_id = self.ctx.next_id();
        let attachment = match &ep {
            Endpoint::Inproc(name) => {
                let side = Side::new(self.socket_type, &self.options);
                let made = lock(&self.ctx.inproc).connect(name, pipe_id, side);
                if let Some((binder, theirs)) = made.peer {
                    // A binder that is closing drops the command and the pipe in it, which
                    // terminates the pipe: this socket sees the peer go.
                    binder.send(SocketCommand::Attach(theirs, None));
                }
                self.attach_connected(made.own);
                Attachment::InprocConnected(pipe_id)
            }
            _ => {
                let addr = transport::peer_addr(&ep, &self.options.wss)?;
                let (mine, theirs) = Pipe::pair(pipe_id, self.options.sndhwm, self.options.rcvhwm);
                self.attach_connected(mine);
                let id = self.ctx.next_id();
                let thread = self.choose_io()?;
                self.send_io(
                    thread,
                    IoCommand::Connect {
                        id,
                        addr,
                        pipe: theirs,
                        owner: self.owner(endpoint),
                    },
                );
                Attachment::Connecter {
                    thread,
                    id,
                    pipe: pipe_id,
                }
            }
        };
        self.endpoints.push(EndpointEntry {
            given: endpoint.to_owned(),
            resolved: endpoint.to_owned(),
            attachment,
        });
        Ok(())
    }

    /// Whether `pipe` is the pipe of one of this socket's connects.
    pub(super) fn connects_through(&self, pipe: PipeId) -> bool {
        self.endpoints
            .iter()
            .any(|e| matches!(e.attachment, Attachment::Connecter { pipe: p, .. } if p == pipe))
    }

    fn take_endpoint(&mut self, endpoint: &str, bound: bool) -> Result<Attachment> {
        let pos = self.endpoints.iter().position(|e| {
            let is_bound = matches!(
                e.attachment,
                Attachment::Listener { .. }
                    | Attachment::InprocBound(_)
                    | Attachment::WsPath { .. }
            );
            is_bound == bound && (e.given == endpoint || e.resolved == endpoint)
        });
        match pos {
            Some(i) => Ok(self.endpoints.remove(i).attachment),
            None => Err(Error::NoEnt),
        }
    }

    /// Stops accepting on an endpoint given to [`Socket::bind`] (or its resolved form), and
    /// closes the connections accepted there.
    ///
    /// # Errors
    /// [`Error::NoEnt`] if the socket is not bound there.
    pub fn unbind(&mut self, endpoint: &str) -> Result<()> {
        self.check_term()?;
        match self.take_endpoint(endpoint, true)? {
            Attachment::Listener { thread, id } => self.close_io(thread, id),
            Attachment::InprocBound(name) => {
                lock(&self.ctx.inproc).unbind(&name, self.id);
            }
            Attachment::WsPath { addr, id } => unbind_ws(&self.ctx, addr, id),
            _ => {}
        }
        Ok(())
    }

    /// Drops the connection made by [`Socket::connect`] to `endpoint`.
    ///
    /// # Errors
    /// [`Error::NoEnt`] if the socket is not connected there.
    pub fn disconnect(&mut self, endpoint: &str) -> Result<()> {
        self.check_term()?;
        match self.take_endpoint(endpoint, false)? {
            Attachment::Connecter { thread, id, pipe } => {
                self.pattern.terminate_pipe(pipe);
                self.peer_properties.remove(&pipe);
                self.send_io(thread, IoCommand::Close { id, done: None });
            }
            Attachment::InprocConnected(pipe) => self.pattern.terminate_pipe(pipe),
            _ => {}
        }
        Ok(())
    }

    /// The endpoint of the last successful bind, with wildcards resolved
    /// (ZMQ_LAST_ENDPOINT), e.g. `tcp://127.0.0.1:40123`.
    pub fn last_endpoint(&self) -> Option<&str> {
        self.last_endpoint.as_deref()
    }

    /// Closes what every endpoint is attached to, as the socket closes.
    pub(super) fn close_endpoints(&mut self) {
        for entry in std::mem::take(&mut self.endpoints) {
            match entry.attachment {
                Attachment::Listener { thread, id } => self.close_io(thread, id),
                Attachment::InprocBound(name) => {
                    lock(&self.ctx.inproc).unbind(&name, self.id);
                }
                Attachment::WsPath { addr, id } => unbind_ws(&self.ctx, addr, id),
                // Connecting sessions finish on their own once their pipe is terminated:
                // that is what lets them deliver queued messages (LINGER).
                Attachment::Connecter { .. } | Attachment::InprocConnected(_) => {}
            }
        }
    }
}

/// Removes a ws:// path; the port's listener closes with its last path.
fn unbind_ws(ctx: &CtxInner, addr: std::net::SocketAddr, id: u64) {
    let unbound = lock(&ctx.ws).remove_path(addr, id);
    let Some(unbound) = unbound else { return };
    // The port's listener when this was its last path, the path's connections otherwise;
    // either way closed when this returns, so that a peer's next send sees its connection
    // gone rather than writing into it (a socket with inline I/O turns its reactor at
    // once, with nothing between this and its send).
    let closed = unbound.listener_id.unwrap_or(id);
    ctx.close_listener(unbound.thread, closed);
}

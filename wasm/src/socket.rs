//! A socket: the core's pattern for its type, the pipes to its peers, and the sessions of its
//! `ws://` connections. The routing is the core's (`isomq_core::new_pattern`), the same code
//! as native sockets run.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use isomq_core::inproc::Side;
use isomq_core::{
    Endpoint, Error, Msg, OptionName, Options, Pattern, Pipe, PipeId, Result, SocketOption,
    SocketType,
};

use crate::closing::Closing;
use crate::context::{ChannelNotify, Context, Owner, State};
use crate::host::Host;
use crate::session::Session;

/// The ZWS subprotocols a socket offers by default: isomq's batch extension first (many
/// frames per WebSocket message, docs/wire.md §10.9), then bare `ZWS2.0` for other servers.
/// The WebSocket API (browsers, Node's `WebSocket`, the `ws` package) refuses `ZWS2.0/NULL`,
/// since `/` may not appear in a subprotocol token (RFC 6455 §4.1); over bare `ZWS2.0` socket
/// types are not checked, as in libzmq. The extension checks them (NULL READY).
pub const BROWSER_PROTOCOLS: [&str; 2] = [isomq_core::zws::BATCH_TOKEN, "ZWS2.0"];

/// What an endpoint of the socket is attached to, for disconnect/unbind.
#[derive(Debug)]
enum Attachment {
    Session(u64),
    InprocConnected(PipeId),
    InprocBound(String),
}

#[derive(Debug)]
pub(crate) struct SocketCore {
    id: u64,
    socket_type: SocketType,
    pub(crate) pattern: Box<dyn Pattern>,
    options: Options,
    notify: Arc<ChannelNotify>,
    sessions: BTreeMap<u64, Session>,
    endpoints: Vec<(String, Attachment)>,
    /// Frames of a message being received, until its last frame.
    partial_in: Vec<Msg>,
    /// Frames of a message whose first frame went out, waiting for room (rare: pipes take a
    /// message's later frames whatever the HWM).
    partial_out: VecDeque<Msg>,
}

impl SocketCore {
    pub(crate) fn new(
        id: u64,
        socket_type: SocketType,
        pattern: Box<dyn Pattern>,
        notify: Arc<ChannelNotify>,
    ) -> SocketCore {
        SocketCore {
            id,
            socket_type,
            pattern,
            options: Options::new(socket_type),
            notify,
            sessions: BTreeMap::new(),
            endpoints: Vec::new(),
            partial_in: Vec::new(),
            partial_out: VecDeque::new(),
        }
    }

    pub(crate) fn session(&mut self, id: u64) -> Option<&mut Session> {
        self.sessions.get_mut(&id)
    }

    /// The socket closes: LINGER as it is now, and the sessions, which outlive it. The
    /// pattern goes, terminating the socket's pipe ends: each session finds the end behind
    /// the last message the socket queued for it.
    pub(crate) fn into_sessions(self) -> (Option<std::time::Duration>, BTreeMap<u64, Session>) {
        (self.options.linger, self.sessions)
    }

    fn attach(&mut self, pipe: Pipe) {
        pipe.attach(self.notify.clone());
        self.pattern.attach(pipe);
    }

    /// Sends what is left of a partly sent message. Ok(false): still waiting for room.
    fn finish_partial(&mut self) -> Result<bool> {
        while let Some(frame) = self.partial_out.pop_front() {
            match self.pattern.send(frame) {
                Ok(()) => {}
                Err((Error::Again, frame)) => {
                    self.partial_out.push_front(frame);
                    return Ok(false);
                }
                Err((e, _)) => {
                    self.partial_out.clear();
                    return Err(e);
                }
            }
        }
        Ok(true)
    }
}

/// A socket of a [`Context`]. Closed when dropped (its connections still deliver what it
/// queued, within LINGER).
#[derive(Debug)]
pub struct Socket {
    ctx: Context,
    id: u64,
    /// Set by the first `close`.
    closing: std::cell::RefCell<Option<Closing>>,
}

impl Socket {
    pub(crate) fn new(ctx: Context, id: u64) -> Socket {
        Socket {
            ctx,
            id,
            closing: std::cell::RefCell::new(None),
        }
    }

    /// The id that [`SocketEvent`](crate::SocketEvent)s carry.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Runs `f` on this socket (taken out of the context's map meanwhile, so that `f` may
    /// also reach other sockets), then runs the context.
    fn with<R>(
        &self,
        f: impl FnOnce(&mut SocketCore, &mut State, &dyn Host) -> Result<R>,
    ) -> Result<R> {
        let id = self.id;
        self.ctx.with(|st, host| {
            let mut core = st.sockets.remove(&id).ok_or(Error::Term)?;
            let r = f(&mut core, st, host);
            st.sockets.insert(id, core);
            r
        })
    }

    /// Connects to `ws://host:port/path` (`wss://` too) or `inproc://name`, as a native
    /// socket's `connect`. WebSocket connections are made, and remade after failures, in the
    /// background; messages queue up to SNDHWM meanwhile. The ZWS subprotocols offered are
    /// those of the socket's mechanism for browsers (docs/wire.md §10.1, §10.10).
    ///
    /// # Errors
    /// [`Error::Inval`] for a malformed endpoint or incomplete security options,
    /// [`Error::ProtoNoSupport`] for a transport a page cannot use (tcp, ipc).
    pub fn connect(&self, endpoint: &str) -> Result<()> {
        self.connect_offering(endpoint, None)
    }

    /// Like [`connect`](Socket::connect), offering `protocols` (best first) instead of the
    /// default subprotocols.
    ///
    /// # Errors
    /// As `connect`; [`Error::Inval`] for an empty list.
    pub fn connect_offering(&self, endpoint: &str, protocols: Option<Vec<String>>) -> Result<()> {
        self.with(|core, st, host| {
            if let Some(name) = endpoint.strip_prefix("inproc://") {
                return connect_inproc(core, st, endpoint, name);
            }
            check_ws_url(endpoint)?;
            // A page offers the names browsers accept for the socket's mechanism
            // (docs/wire.md §10.10); incomplete security options fail here.
            let mechanism = core.options.security.auth()?.security.mechanism();
            let protocols = protocols.unwrap_or_else(|| {
                isomq_core::zws::client_protocols(mechanism, true)
                    .iter()
                    .map(|p| (*p).to_owned())
                    .collect()
            });
            if protocols.is_empty() {
                return Err(Error::Inval("no ZWS subprotocol to offer".into()));
            }
            let pipe_id = st.next_id();
            let session_id = st.next_id();
            let (mine, theirs) = Pipe::pair(pipe_id, core.options.sndhwm, core.options.rcvhwm);
            theirs.attach(st.notify(Owner::Session(core.id, session_id)));
            let mut session = Session::new(
                session_id,
                core.id,
                core.socket_type,
                endpoint.to_owned(),
                protocols,
                core.options.clone(),
                theirs,
            );
            // The first attempt reports what the environment refuses outright (a malformed URL,
            // a subprotocol it will not send); later failures are retried.
            if let Err(e) = session.start(host) {
                host.cancel_timers(session.key());
                return Err(e);
            }
            core.attach(mine);
            core.sessions.insert(session_id, session);
            core.endpoints
                .push((endpoint.to_owned(), Attachment::Session(session_id)));
            Ok(())
        })
    }

    /// Binds `inproc://name` (a page cannot accept WebSocket connections).
    ///
    /// # Errors
    /// [`Error::AddrInUse`] when the name is taken, [`Error::ProtoNoSupport`] for other
    /// transports.
    pub fn bind(&self, endpoint: &str) -> Result<()> {
        self.with(|core, st, _| {
            let name = match Endpoint::parse(endpoint) {
                Ok(Endpoint::Inproc(name)) => name,
                Ok(_) => {
                    return Err(Error::ProtoNoSupport(
                        "only inproc:// can be bound here (a page cannot listen)".into(),
                    ))
                }
                Err(e) => return Err(e),
            };
            let side = Side::new(core.socket_type, &core.options);
            for pipe in st.inproc.bind(&name, core.id, core.id, side)? {
                core.attach(pipe);
            }
            core.endpoints
                .push((endpoint.to_owned(), Attachment::InprocBound(name)));
            Ok(())
        })
    }

    /// Undoes one `connect` or `bind` of `endpoint`.
    ///
    /// # Errors
    /// [`Error::NoEnt`] when the socket has no such endpoint.
    pub fn disconnect(&self, endpoint: &str) -> Result<()> {
        self.with(|core, st, host| {
            let i = core
                .endpoints
                .iter()
                .position(|(e, _)| e == endpoint)
                .ok_or(Error::NoEnt)?;
            let (_, attachment) = core.endpoints.remove(i);
            match attachment {
                Attachment::Session(id) => {
                    if let Some(session) = core.sessions.remove(&id) {
                        core.pattern.terminate_pipe(session.pipe_id());
                        session.disconnect(host);
                    }
                }
                Attachment::InprocConnected(pipe) => core.pattern.terminate_pipe(pipe),
                Attachment::InprocBound(name) => {
                    if !st.inproc.unbind(&name, core.id) {
                        return Err(Error::NoEnt);
                    }
                }
            }
            Ok(())
        })
    }

    /// Sends a one-frame message, as a native socket's `send` with `DONTWAIT`.
    ///
    /// # Errors
    /// As [`send_multipart`](Socket::send_multipart).
    pub fn send(&self, msg: impl Into<Msg>) -> Result<()> {
        self.send_multipart([msg])
    }

    /// Sends one message (all its frames), as a native socket's `send_multipart` with
    /// `DONTWAIT`: a page never blocks.
    ///
    /// # Errors
    /// [`Error::Again`]: not now (HWM reached, or no peer for a type that waits for one);
    /// retry after a [`SocketEvent::Wake`](crate::SocketEvent). [`Error::NotSup`] for types
    /// that cannot send, [`Error::Term`] after close.
    pub fn send_multipart<I, M>(&self, frames: I) -> Result<()>
    where
        I: IntoIterator<Item = M>,
        M: Into<Msg>,
    {
        let frames: Vec<Msg> = frames.into_iter().map(Into::into).collect();
        self.with(|core, _, _| {
            if !core.finish_partial()? {
                return Err(Error::Again);
            }
            let n = frames.len();
            let mut frames = frames.into_iter().enumerate();
            if let Some((i, first)) = frames.next() {
                core.pattern
                    .send(first.with_more(i + 1 < n))
                    .map_err(|(e, _)| e)?;
            }
            core.partial_out
                .extend(frames.map(|(i, f)| f.with_more(i + 1 < n)));
            core.finish_partial()?;
            Ok(())
        })
    }

    /// Receives one frame (its `more()` tells whether others follow), as a native socket's
    /// `recv` with `DONTWAIT`.
    ///
    /// # Errors
    /// As [`recv_multipart`](Socket::recv_multipart).
    pub fn recv(&self) -> Result<Msg> {
        self.with(|core, _, _| {
            if !core.partial_in.is_empty() {
                return Ok(core.partial_in.remove(0));
            }
            core.pattern.recv()
        })
    }

    /// Receives one whole message, as a native socket's `recv_multipart` with `DONTWAIT`.
    ///
    /// # Errors
    /// [`Error::Again`]: nothing now; a [`SocketEvent::Wake`](crate::SocketEvent) follows
    /// when something may have arrived. [`Error::NotSup`] for types that cannot receive,
    /// [`Error::Term`] after close.
    pub fn recv_multipart(&self) -> Result<Vec<Msg>> {
        self.with(|core, _, _| loop {
            let frame = core.pattern.recv()?;
            let more = frame.more();
            core.partial_in.push(frame);
            if !more {
                return Ok(std::mem::take(&mut core.partial_in));
            }
        })
    }

    /// Receives up to `max` whole messages at once (at least one when any is waiting), so
    /// that a caller that pays per call (JavaScript through wasm-bindgen) pays once per
    /// batch. Ok(empty): nothing now, as [`recv_multipart`](Socket::recv_multipart)'s
    /// `Again`.
    ///
    /// # Errors
    /// As [`recv_multipart`](Socket::recv_multipart); messages taken before an error are
    /// returned first.
    pub fn recv_batch(&self, max: usize) -> Result<Vec<Vec<Msg>>> {
        self.with(|core, _, _| {
            let mut out = Vec::new();
            while out.len() < max {
                match core.pattern.recv() {
                    Ok(frame) => {
                        let more = frame.more();
                        core.partial_in.push(frame);
                        if !more {
                            out.push(std::mem::take(&mut core.partial_in));
                        }
                    }
                    Err(Error::Again) => break,
                    Err(_) if !out.is_empty() => break,
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        })
    }

    /// `ZMQ_SUBSCRIBE` (SUB): receive messages whose first frame starts with `topic`.
    ///
    /// # Errors
    /// [`Error::Inval`] for socket types without subscriptions.
    pub fn subscribe(&self, topic: &[u8]) -> Result<()> {
        self.set_option(SocketOption::Subscribe(topic.to_vec()))
    }

    /// `ZMQ_UNSUBSCRIBE` (SUB): undo one `subscribe` of `topic`.
    ///
    /// # Errors
    /// [`Error::Inval`] for socket types without subscriptions.
    pub fn unsubscribe(&self, topic: &[u8]) -> Result<()> {
        self.set_option(SocketOption::Unsubscribe(topic.to_vec()))
    }

    /// Sets an option; those about connections apply to later `connect`s, as in libzmq.
    /// Options of the native host's I/O (BACKLOG, SNDTIMEO, RCVTIMEO) are kept and readable
    /// but have no effect here: a page does not listen, and JavaScript calls do not block.
    ///
    /// # Errors
    /// [`Error::Inval`] for a value out of range or an option the socket type lacks.
    pub fn set_option(&self, option: SocketOption) -> Result<()> {
        self.with(|core, _, _| core.options.apply(option, core.pattern.as_mut()))
    }

    /// Reads an option.
    ///
    /// # Errors
    /// [`Error::Inval`] for the write-only options (SUBSCRIBE, UNSUBSCRIBE), [`Error::Term`]
    /// after close.
    pub fn get_option(&self, name: OptionName) -> Result<SocketOption> {
        self.with(|core, _, _| core.options.get(name))
    }

    /// Every option's current value, typed.
    ///
    /// # Errors
    /// [`Error::Term`] after close.
    pub fn options(&self) -> Result<Options> {
        self.with(|core, _, _| Ok(core.options.clone()))
    }

    /// Inbound messages dropped because the application did not read them fast enough
    /// (RCVHWM reached), over all connections since the socket was made.
    pub fn dropped(&self) -> u64 {
        self.with(|core, _, _| Ok(core.sessions.values().map(|s| s.dropped()).sum()))
            .unwrap_or(0)
    }

    /// Closes the socket, as a native socket's close: at once for the application (later
    /// calls fail with [`Error::Term`]; inproc peers read what was sent, then find the pipe
    /// ended), while each `ws://` connection keeps delivering what the socket queued for it
    /// (reconnecting if need be) within LINGER: `None` (the default, except for SUB and
    /// XSUB) as long as it takes, zero not at all. A connection is done once its WebSocket
    /// has sent everything (`bufferedAmount` 0) or LINGER ran out, and then closes with
    /// status 1000. The returned [`Closing`] is done when every connection is; at once with
    /// none or nothing queued. Closing again returns the same closing.
    pub fn close(&self) -> Closing {
        if let Some(closing) = self.closing.borrow().as_ref() {
            return closing.clone();
        }
        let closing = Closing::new();
        *self.closing.borrow_mut() = Some(closing.clone());
        let id = self.id;
        self.ctx
            .with(|st, host| st.close_socket(id, closing.clone(), host));
        closing
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // Nobody waits for it: the connections linger on their own, as natively.
        drop(self.close());
    }
}

fn connect_inproc(core: &mut SocketCore, st: &mut State, endpoint: &str, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::Inval(format!(
            "endpoint {endpoint:?} has an empty name"
        )));
    }
    let pipe_id = st.next_id();
    let side = Side::new(core.socket_type, &core.options);
    let made = st.inproc.connect(name, pipe_id, side);
    if let Some((binder_id, theirs)) = made.peer {
        if binder_id == core.id {
            // Connected to itself: the socket is out of the context's map while it runs.
            core.attach(theirs);
        } else {
            // A binder that closed is out of the registry, so it is in the map.
            let binder = st.sockets.get_mut(&binder_id).ok_or(Error::ConnRefused)?;
            binder.attach(theirs);
        }
    }
    core.attach(made.own);
    core.endpoints
        .push((endpoint.to_owned(), Attachment::InprocConnected(pipe_id)));
    Ok(())
}

/// A page can only dial WebSocket URLs.
fn check_ws_url(endpoint: &str) -> Result<()> {
    let rest = endpoint
        .strip_prefix("ws://")
        .or_else(|| endpoint.strip_prefix("wss://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') => Ok(()),
        Some(_) => Err(Error::Inval(format!("endpoint {endpoint:?} has no host"))),
        None => match endpoint.split_once("://") {
            Some((scheme, _)) => Err(Error::ProtoNoSupport(format!(
                "{scheme}:// (a page can connect with ws://, wss:// and inproc://)"
            ))),
            None => Err(Error::Inval(format!(
                "endpoint {endpoint:?} has no transport:// prefix"
            ))),
        },
    }
}

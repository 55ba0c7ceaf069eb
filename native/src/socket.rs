//! The socket API: BSD-socket-like calls on a ZeroMQ socket, used from one thread at a time
//! (a `Socket` is `Send`: move it to another thread freely).

use std::fmt;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use isomq_core::inproc::Side;
use isomq_core::{
    new_pattern, Endpoint, Error, Msg, Notify, OptionName, Options, Pattern, Pipe, PipeEvent,
    PipeId, Result, SocketOption, SocketType,
};

use crate::command::SocketCommand;
use crate::ctx::CtxInner;
use crate::io_thread::IoCommand;
use crate::link::{Owner, SocketLink};
use crate::mailbox::{mailbox, Mailbox, MailboxTx, Signal, WaitError};
use crate::monitor::{Monitor, MonitorEvent, MonitorHub};
use crate::options::Flags;
use crate::readiness::PollEvents;
use crate::sync::lock;
use crate::transport;
use crate::ws::Route;

/// What an endpoint of this socket is attached to, for unbind/disconnect/close.
#[derive(Debug)]
enum Attachment {
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
struct EndpointEntry {
    /// As the user gave it.
    given: String,
    /// After resolution (the port a wildcard bind got); equal to `given` otherwise.
    resolved: String,
    attachment: Attachment,
}

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
    last_endpoint: Option<String>,
    terminated: bool,
    /// The read end of the readiness fd, once asked for.
    fd_reader: Option<UnixStream>,
    /// Sends and receives since the mailbox was last read, and when that was.
    calls_since_commands: u32,
    last_commands: Instant,
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

/// See [`Socket::process_commands_throttled`].
const COMMAND_INTERVAL: u32 = 256;
/// See [`Socket::process_commands_throttled`] (libzmq: 3,000,000 TSC ticks, about 1 ms).
const COMMAND_DELAY: Duration = Duration::from_millis(1);

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("type", &self.socket_type)
            .field("id", &self.id)
            .field("last_endpoint", &self.last_endpoint)
            .finish_non_exhaustive()
    }
}

fn linger_ms(linger: Option<Duration>) -> i64 {
    linger.map_or(-1, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Socket {
    pub(crate) fn new(ctx: Arc<CtxInner>, socket_type: SocketType) -> Result<Socket> {
        let pattern = new_pattern(socket_type)?;
        let options = Options::new(socket_type);
        let (tx, mailbox) = mailbox();
        let id = ctx.next_id();
        ctx.register_socket(id, tx.clone())?;
        let link = SocketLink {
            tx: tx.clone(),
            socket_type,
            linger_ms: Arc::new(AtomicI64::new(linger_ms(options.linger))),
            monitor: Arc::new(MonitorHub::default()),
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
            last_endpoint: None,
            terminated: false,
            fd_reader: None,
            calls_since_commands: 0,
            last_commands: Instant::now(),
        })
    }

    /// The socket's type.
    pub fn socket_type(&self) -> SocketType {
        self.socket_type
    }

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

    /// What a listener or connecter started now needs to know of this socket.
    fn owner(&self, endpoint: &str) -> Owner {
        Owner {
            link: self.link.clone(),
            options: self.options.clone(),
            endpoint: endpoint.to_owned(),
        }
    }

    fn bind_inner(&mut self, endpoint: &str) -> Result<()> {
        self.check_term()?;
        let ep = Endpoint::parse(endpoint)?;
        let (resolved, attachment) = match &ep {
            Endpoint::Inproc(name) => {
                let side = Side::new(self.socket_type, &self.options);
                let pending =
                    lock(&self.ctx.inproc).bind(name, self.id, self.link.tx.clone(), side)?;
                for pipe in pending {
                    self.attach_pipe(pipe);
                }
                (endpoint.to_owned(), Attachment::InprocBound(name.clone()))
            }
            Endpoint::Ws { host, port, path } => self.bind_ws(host, *port, path)?,
            _ => {
                let (listener, resolved) = transport::bind(&ep)?;
                listener.set_backlog(self.options.backlog)?;
                let id = self.ctx.next_id();
                let thread = self.ctx.choose_thread();
                self.ctx.send_io(
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

    /// Binds a path on a ws:// port: on the port's listener if a socket of this context
    /// already listens there, else on a new one.
    fn bind_ws(
        &mut self,
        host: &str,
        port: Option<u16>,
        path: &str,
    ) -> Result<(String, Attachment)> {
        let id = self.ctx.next_id();
        let route = Route {
            id,
            link: self.link.clone(),
            options: self.options.clone(),
        };
        // Held across the bind so that two sockets binding one port at once share it.
        let mut ports = lock(&self.ctx.ws);
        if let Some(addr) = transport::ws_bind_addr(host, port)? {
            if ports.add_path(addr, path, route.clone())?.is_some() {
                return Ok((
                    transport::ws_endpoint(addr, path),
                    Attachment::WsPath { addr, id },
                ));
            }
        }
        let (listener, addr) = transport::bind_ws(host, port)?;
        listener.set_backlog(self.options.backlog)?;
        let listener_id = self.ctx.next_id();
        let thread = self.ctx.choose_thread();
        let routes = ports.add_port(addr, thread, listener_id, path, route);
        drop(ports);
        self.ctx.send_io(
            thread,
            IoCommand::Listen {
                id: listener_id,
                listener,
                owner: self.owner(&transport::ws_endpoint(addr, path)),
                ws: Some(routes),
            },
        );
        Ok((
            transport::ws_endpoint(addr, path),
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
        let pipe_id = self.ctx.next_id();
        let attachment = match &ep {
            Endpoint::Inproc(name) => {
                let side = Side::new(self.socket_type, &self.options);
                let made = lock(&self.ctx.inproc).connect(name, pipe_id, side);
                if let Some((binder, theirs)) = made.peer {
                    // A binder that is closing drops the command and the pipe in it, which
                    // terminates the pipe: this socket sees the peer go.
                    binder.send(SocketCommand::Attach(theirs));
                }
                self.attach_connected(made.own);
                Attachment::InprocConnected(pipe_id)
            }
            _ => {
                let addr = transport::peer_addr(&ep)?;
                let (mine, theirs) = Pipe::pair(pipe_id, self.options.sndhwm, self.options.rcvhwm);
                self.attach_connected(mine);
                let id = self.ctx.next_id();
                let thread = self.ctx.choose_thread();
                self.ctx.send_io(
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
            Attachment::Listener { thread, id } => self.ctx.close_listener(thread, id),
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
                self.ctx
                    .send_io(thread, IoCommand::Close { id, done: None });
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

    /// Sends one frame, blocking up to SNDTIMEO. The frame's own MORE flag says whether
    /// more frames follow.
    ///
    /// # Errors
    /// [`Error::Again`] on timeout, [`Error::NotSup`] for a type that cannot send,
    /// [`Error::Term`] when the context terminates.
    pub fn send(&mut self, msg: impl Into<Msg>) -> Result<()> {
        self.send_flags(msg, Flags::NONE)
    }

    /// Sends one frame with flags ([`Flags::DONTWAIT`], [`Flags::SNDMORE`]).
    ///
    /// # Errors
    /// As [`Socket::send`]; with DONTWAIT, [`Error::Again`] instead of blocking.
    pub fn send_flags(&mut self, msg: impl Into<Msg>, flags: Flags) -> Result<()> {
        let mut msg = msg.into();
        if flags.contains(Flags::SNDMORE) {
            msg.set_more(true);
        }
        self.process_commands_throttled()?;
        let deadline = self.deadline(flags, self.options.sndtimeo);
        loop {
            match self.pattern.send(msg) {
                Ok(()) => return Ok(()),
                Err((Error::Again, m)) => {
                    msg = m;
                    self.wait(deadline)?;
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    /// Sends a multipart message: every frame but the last gets MORE.
    ///
    /// # Errors
    /// As [`Socket::send`].
    pub fn send_multipart<I, M>(&mut self, frames: I) -> Result<()>
    where
        I: IntoIterator<Item = M>,
        M: Into<Msg>,
    {
        self.send_multipart_flags(frames, Flags::NONE)
    }

    /// Sends a multipart message with flags ([`Flags::DONTWAIT`] applies to the first
    /// frame; once it is accepted the rest of the message always is).
    ///
    /// # Errors
    /// As [`Socket::send_flags`].
    pub fn send_multipart_flags<I, M>(&mut self, frames: I, flags: Flags) -> Result<()>
    where
        I: IntoIterator<Item = M>,
        M: Into<Msg>,
    {
        let mut frames = frames.into_iter().peekable();
        let mut flags = flags;
        while let Some(frame) = frames.next() {
            let more = frames.peek().is_some();
            self.send_flags(frame.into().with_more(more), flags)?;
            flags = Flags::NONE;
        }
        Ok(())
    }

    /// Receives one frame, blocking up to RCVTIMEO. [`Msg::more`] tells whether more frames
    /// of the message follow.
    ///
    /// # Errors
    /// [`Error::Again`] on timeout, [`Error::NotSup`] for a type that cannot receive,
    /// [`Error::Term`] when the context terminates.
    pub fn recv(&mut self) -> Result<Msg> {
        self.recv_flags(Flags::NONE)
    }

    /// Receives one frame with flags ([`Flags::DONTWAIT`]).
    ///
    /// # Errors
    /// As [`Socket::recv`]; with DONTWAIT, [`Error::Again`] instead of blocking.
    pub fn recv_flags(&mut self, flags: Flags) -> Result<Msg> {
        self.process_commands_throttled()?;
        let deadline = self.deadline(flags, self.options.rcvtimeo);
        loop {
            match self.pattern.recv() {
                Ok(m) => return Ok(m),
                Err(Error::Again) => self.wait(deadline)?,
                Err(e) => return Err(e),
            }
        }
    }

    /// Receives all frames of one message.
    ///
    /// # Errors
    /// As [`Socket::recv`]. Once the first frame arrived, the others are already queued.
    pub fn recv_multipart(&mut self) -> Result<Vec<Msg>> {
        self.recv_multipart_flags(Flags::NONE)
    }

    /// Receives all frames of one message, with flags for the first frame
    /// ([`Flags::DONTWAIT`]); pipes carry whole messages, so the rest never waits.
    ///
    /// # Errors
    /// As [`Socket::recv_flags`].
    pub fn recv_multipart_flags(&mut self, flags: Flags) -> Result<Vec<Msg>> {
        let mut frames = vec![self.recv_flags(flags)?];
        while frames.last().is_some_and(Msg::more) {
            frames.push(self.recv()?);
        }
        Ok(frames)
    }

    /// Receives one frame without blocking a thread: the future completes when a frame
    /// arrives, woken by the same signal as blocking calls, with no extra thread. Usable
    /// from tokio or any executor. Dropping the future before it completes loses nothing.
    ///
    /// # Errors
    /// As [`Socket::recv`], except that there is no timeout (wrap the future in one).
    pub async fn recv_async(&mut self) -> Result<Msg> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Receives all frames of one message without blocking a thread.
    ///
    /// # Errors
    /// As [`Socket::recv_async`].
    pub async fn recv_multipart_async(&mut self) -> Result<Vec<Msg>> {
        let first = self.recv_async().await?;
        let mut frames = vec![first];
        // Pipes carry whole messages: the rest is already queued.
        while frames.last().is_some_and(Msg::more) {
            frames.push(self.recv_flags(Flags::DONTWAIT)?);
        }
        Ok(frames)
    }

    /// Sends one frame without blocking a thread: the future completes once the frame is
    /// queued (when a blocking send would have returned).
    ///
    /// # Errors
    /// As [`Socket::send`], without the timeout.
    pub async fn send_async(&mut self, msg: impl Into<Msg>) -> Result<()> {
        let mut msg = Some(msg.into());
        std::future::poll_fn(|cx| self.poll_send(&mut msg, cx)).await
    }

    /// Sends a multipart message without blocking a thread.
    ///
    /// # Errors
    /// As [`Socket::send_async`].
    pub async fn send_multipart_async<I, M>(&mut self, frames: I) -> Result<()>
    where
        I: IntoIterator<Item = M>,
        M: Into<Msg>,
    {
        let mut frames = frames.into_iter().peekable();
        while let Some(frame) = frames.next() {
            let more = frames.peek().is_some();
            self.send_async(frame.into().with_more(more)).await?;
        }
        Ok(())
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Msg>> {
        for attempt in 0..2 {
            if let Err(e) = self.check_term() {
                return Poll::Ready(Err(e));
            }
            match self.pattern.recv() {
                Err(Error::Again) if attempt == 0 => {
                    // Register, then look once more: a command that arrived in between is
                    // seen now, a later one wakes the task.
                    self.mailbox.signal().set_waker(cx.waker());
                }
                Err(Error::Again) => return Poll::Pending,
                other => return Poll::Ready(other),
            }
        }
        Poll::Pending
    }

    fn poll_send(&mut self, slot: &mut Option<Msg>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        for attempt in 0..2 {
            if let Err(e) = self.check_term() {
                return Poll::Ready(Err(e));
            }
            let Some(msg) = slot.take() else {
                return Poll::Ready(Ok(()));
            };
            match self.pattern.send(msg) {
                Ok(()) => return Poll::Ready(Ok(())),
                Err((Error::Again, m)) => {
                    *slot = Some(m);
                    if attempt == 0 {
                        self.mailbox.signal().set_waker(cx.waker());
                    }
                }
                Err((e, _)) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Pending
    }

    pub(crate) fn signal(&self) -> &Arc<Signal> {
        self.mailbox.signal()
    }

    /// The subset of `events` the socket is ready for now.
    pub(crate) fn readiness(&mut self, events: PollEvents) -> Result<PollEvents> {
        self.check_term()?;
        let mut found = PollEvents::NONE;
        if events.contains(PollEvents::IN) && self.pattern.has_in() {
            found = found | PollEvents::IN;
        }
        if events.contains(PollEvents::OUT) && self.pattern.has_out() {
            found = found | PollEvents::OUT;
        }
        Ok(found)
    }

    /// A file descriptor that becomes readable when the socket's state may have changed,
    /// for external event loops (epoll, mio, an async reactor): libzmq's ZMQ_FD. Like
    /// ZMQ_FD it is a wake-up, not a level: when it fires, call [`Socket::has_in`] /
    /// [`Socket::has_out`] (or receive until [`Error::Again`]), which also re-arms it.
    /// The fd belongs to the socket and is valid until the socket is closed.
    ///
    /// # Errors
    /// [`Error::Resource`] if the descriptor pair cannot be created.
    pub fn readiness_fd(&mut self) -> Result<RawFd> {
        if let Some(reader) = &self.fd_reader {
            return Ok(reader.as_raw_fd());
        }
        let (reader, writer) = UnixStream::pair()
            .and_then(|(r, w)| {
                r.set_nonblocking(true)?;
                w.set_nonblocking(true)?;
                Ok((r, w))
            })
            .map_err(|e| Error::Resource(format!("readiness fd: {e}")))?;
        let fd = reader.as_raw_fd();
        self.mailbox.signal().set_fd_writer(writer);
        self.fd_reader = Some(reader);
        Ok(fd)
    }

    /// Whether a frame can be received now without blocking (ZMQ_POLLIN).
    pub fn has_in(&mut self) -> bool {
        self.drain();
        self.pattern.has_in()
    }

    /// Whether a frame can be sent now without blocking (ZMQ_POLLOUT).
    pub fn has_out(&mut self) -> bool {
        self.drain();
        self.pattern.has_out()
    }

    /// SUB: receive messages whose first frame starts with `topic` (empty = all).
    ///
    /// # Errors
    /// [`Error::Inval`] on socket types without subscriptions.
    pub fn subscribe(&mut self, topic: impl AsRef<[u8]>) -> Result<()> {
        self.set_option(SocketOption::Subscribe(topic.as_ref().to_vec()))
    }

    /// SUB: remove one subscription made by [`Socket::subscribe`].
    ///
    /// # Errors
    /// [`Error::Inval`] on socket types without subscriptions.
    pub fn unsubscribe(&mut self, topic: impl AsRef<[u8]>) -> Result<()> {
        self.set_option(SocketOption::Unsubscribe(topic.as_ref().to_vec()))
    }

    /// Sets an option. Options that shape connections (HWM, reconnect, MAXMSGSIZE, ...)
    /// apply to endpoints bound or connected afterwards, as in libzmq.
    ///
    /// # Errors
    /// [`Error::Inval`] for a value out of range or an option this socket type lacks.
    pub fn set_option(&mut self, option: SocketOption) -> Result<()> {
        self.check_term()?;
        if matches!(
            option,
            SocketOption::Subscribe(_)
                | SocketOption::Unsubscribe(_)
                | SocketOption::ConnectRoutingId(_)
        ) {
            // Pipes attached since the last look must be known to the pattern first: a
            // subscription goes to every attached peer, a connect routing id to the next one.
            self.drain();
        }
        self.options.apply(option, self.pattern.as_mut())?;
        self.link
            .linger_ms
            .store(linger_ms(self.options.linger), Ordering::Relaxed);
        Ok(())
    }

    /// Reads an option.
    ///
    /// # Errors
    /// [`Error::Inval`] for the write-only options (SUBSCRIBE, UNSUBSCRIBE).
    pub fn get_option(&self, name: OptionName) -> Result<SocketOption> {
        self.options.get(name)
    }

    /// Every option's current value, typed.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Closes the socket (the same as dropping it).
    pub fn close(self) {}

    fn attach_pipe(&mut self, pipe: Pipe) {
        pipe.attach(self.notify.clone());
        self.pattern.attach(pipe);
    }

    /// Attaches a pipe this socket made by connecting (a ROUTER may name its peer locally).
    fn attach_connected(&mut self, pipe: Pipe) {
        pipe.attach(self.notify.clone());
        self.pattern.attach_connected(pipe);
    }

    fn deadline(&self, flags: Flags, timeout: Option<Duration>) -> Option<Option<Instant>> {
        if flags.contains(Flags::DONTWAIT) {
            return None;
        }
        Some(timeout.map(|t| Instant::now() + t))
    }

    /// The fast path's share of [`check_term`](Self::check_term), after libzmq's
    /// `process_commands (0, true)` throttle. Commands queued while the pattern can proceed
    /// are left for later: a reader that wakes for every "more data" command reads fewer
    /// messages per wake-up (inproc throughput fell to less than half when every send and recv
    /// looked). They are read once [`COMMAND_INTERVAL`] calls went by or [`COMMAND_DELAY`]
    /// passed since the last look, so a new peer or a subscription never waits long; with
    /// nothing queued (one atomic load) the clock is not read at all. Whenever the pattern
    /// cannot proceed, `wait` reads the mailbox before blocking or giving up.
    fn process_commands_throttled(&mut self) -> Result<()> {
        self.calls_since_commands = self.calls_since_commands.saturating_add(1);
        if !self.mailbox.signal().maybe_queued() {
            return Ok(());
        }
        if self.calls_since_commands >= COMMAND_INTERVAL
            || self.last_commands.elapsed() >= COMMAND_DELAY
        {
            return self.check_term();
        }
        Ok(())
    }

    fn check_term(&mut self) -> Result<()> {
        self.calls_since_commands = 0;
        self.last_commands = Instant::now();
        self.drain();
        if self.terminated {
            return Err(Error::Term);
        }
        Ok(())
    }

    fn handle(&mut self, cmd: SocketCommand) {
        match cmd {
            SocketCommand::Pipe(id, event) => self.pattern.pipe_event(id, event),
            SocketCommand::Attach(pipe) => self.attach_pipe(pipe),
            SocketCommand::Hiccup(id) => self.pattern.hiccup(id),
            SocketCommand::Term => self.terminated = true,
        }
    }

    /// Processes every queued command without blocking; returns whether there were any.
    fn drain(&mut self) -> bool {
        if let Some(reader) = &self.fd_reader {
            self.mailbox.signal().clear_fd(reader);
        }
        self.mailbox.signal().clear_queued();
        let mut any = false;
        while let Some(cmd) = self.mailbox.try_recv() {
            self.handle(cmd);
            any = true;
        }
        any
    }

    /// Waits for the next command (a pipe event usually), then processes the queue.
    /// `deadline`: `None` = don't wait, `Some(None)` = forever.
    fn wait(&mut self, deadline: Option<Option<Instant>>) -> Result<()> {
        let timeout = match deadline {
            None => {
                // Not waiting: commands the throttle left queued may be what lets the caller
                // proceed, so look at them before saying EAGAIN (the caller retries once).
                if self.drain() {
                    return self.check_term();
                }
                return Err(Error::Again);
            }
            Some(at) => at.map(|at| at.saturating_duration_since(Instant::now())),
        };
        let cmd = match self.mailbox.recv(timeout) {
            Ok(cmd) => cmd,
            Err(WaitError::Timeout) => return Err(Error::Again),
            Err(WaitError::Closed) => return Err(Error::Term),
        };
        self.handle(cmd);
        self.check_term()
    }
}

/// Removes a ws:// path; the port's listener closes with its last path.
fn unbind_ws(ctx: &CtxInner, addr: std::net::SocketAddr, id: u64) {
    let unbound = lock(&ctx.ws).remove_path(addr, id);
    let Some(unbound) = unbound else { return };
    match unbound.listener_id {
        Some(listener) => ctx.close_listener(unbound.thread, listener),
        None => ctx.send_io(unbound.thread, IoCommand::Close { id, done: None }),
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        for entry in self.endpoints.drain(..) {
            match entry.attachment {
                Attachment::Listener { thread, id } => self.ctx.close_listener(thread, id),
                Attachment::InprocBound(name) => {
                    lock(&self.ctx.inproc).unbind(&name, self.id);
                }
                Attachment::WsPath { addr, id } => unbind_ws(&self.ctx, addr, id),
                // Connecting sessions finish on their own once their pipe is terminated:
                // that is what lets them deliver queued messages (LINGER).
                Attachment::Connecter { .. } | Attachment::InprocConnected(_) => {}
            }
        }
        for pipe in self.pattern.pipe_ids() {
            self.pattern.terminate_pipe(pipe);
        }
        self.ctx.unregister_socket(self.id);
    }
}

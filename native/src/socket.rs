//! The socket API: BSD-socket-like calls on a ZeroMQ socket, used from one thread at a time
//! (a `Socket` is `Send`: move it to another thread freely).

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use isomq_core::{
    new_pattern, Endpoint, Error, Msg, Notify, Options, Pattern, PatternOption, Pipe, PipeId,
    Result, SocketType,
};

use crate::command::{IoCommand, SocketCommand, SocketLink, SocketNotify};
use crate::ctx::{lock, CtxInner};
use crate::inproc::Connected;
use crate::options::{Flags, OptionName, SocketOption};
use crate::transport;

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
    rx: Receiver<SocketCommand>,
    link: SocketLink,
    notify: Arc<dyn Notify>,
    endpoints: Vec<EndpointEntry>,
    last_endpoint: Option<String>,
    terminated: bool,
    /// Sends and receives since the mailbox was last read.
    calls_since_commands: u32,
}

/// See [`Socket::process_commands_throttled`].
const COMMAND_INTERVAL: u32 = 256;

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
        let (tx, rx) = mpsc::channel();
        let id = ctx.next_id();
        ctx.register_socket(id, tx.clone())?;
        let link = SocketLink {
            tx: tx.clone(),
            socket_type,
            linger_ms: Arc::new(AtomicI64::new(linger_ms(options.linger))),
        };
        Ok(Socket {
            ctx,
            id,
            socket_type,
            pattern,
            options,
            rx,
            link,
            notify: Arc::new(SocketNotify { tx }),
            endpoints: Vec::new(),
            last_endpoint: None,
            terminated: false,
            calls_since_commands: 0,
        })
    }

    /// The socket's type.
    pub fn socket_type(&self) -> SocketType {
        self.socket_type
    }

    /// Accepts connections on `endpoint` (`tcp://host:port`, `tcp://*:*`, `ipc://path`,
    /// `ipc://@name`, `ipc://*`, `inproc://name`).
    ///
    /// # Errors
    /// [`Error::Inval`] for a malformed endpoint, [`Error::ProtoNoSupport`] for an unknown
    /// transport, [`Error::AddrInUse`] if the address is taken.
    pub fn bind(&mut self, endpoint: &str) -> Result<()> {
        self.check_term()?;
        let ep = Endpoint::parse(endpoint)?;
        let (resolved, attachment) = match &ep {
            Endpoint::Inproc(name) => {
                let pending = lock(&self.ctx.inproc).bind(
                    name,
                    self.id,
                    self.link.tx.clone(),
                    self.options.sndhwm,
                    self.options.rcvhwm,
                )?;
                for pipe in pending {
                    self.attach_pipe(pipe);
                }
                (endpoint.to_owned(), Attachment::InprocBound(name.clone()))
            }
            _ => {
                let (listener, resolved) = transport::bind(&ep)?;
                let id = self.ctx.next_id();
                let thread = self.ctx.choose_thread();
                self.ctx.send_io(
                    thread,
                    IoCommand::Listen {
                        id,
                        listener,
                        link: self.link.clone(),
                        options: self.options.clone(),
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
                let (mine, _connected): (Pipe, Connected) = lock(&self.ctx.inproc).connect(
                    name,
                    pipe_id,
                    self.options.sndhwm,
                    self.options.rcvhwm,
                );
                self.attach_pipe(mine);
                Attachment::InprocConnected(pipe_id)
            }
            _ => {
                let addr = transport::peer_addr(&ep)?;
                let (mine, theirs) = Pipe::pair(pipe_id, self.options.sndhwm, self.options.rcvhwm);
                self.attach_pipe(mine);
                let id = self.ctx.next_id();
                let thread = self.ctx.choose_thread();
                self.ctx.send_io(
                    thread,
                    IoCommand::Connect {
                        id,
                        addr,
                        pipe: theirs,
                        link: self.link.clone(),
                        options: self.options.clone(),
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
                Attachment::Listener { .. } | Attachment::InprocBound(_)
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
        let mut frames = frames.into_iter().peekable();
        while let Some(frame) = frames.next() {
            let more = frames.peek().is_some();
            self.send_flags(frame.into().with_more(more), Flags::NONE)?;
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
        let mut frames = vec![self.recv()?];
        while frames.last().is_some_and(Msg::more) {
            frames.push(self.recv()?);
        }
        Ok(frames)
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
        let o = &mut self.options;
        match option {
            SocketOption::SndHwm(n) => o.sndhwm = n,
            SocketOption::RcvHwm(n) => o.rcvhwm = n,
            SocketOption::Linger(l) => {
                o.linger = l;
                self.link.linger_ms.store(linger_ms(l), Ordering::Relaxed);
            }
            SocketOption::SndTimeout(t) => o.sndtimeo = t,
            SocketOption::RcvTimeout(t) => o.rcvtimeo = t,
            SocketOption::ReconnectIvl(t) => o.reconnect_ivl = t,
            SocketOption::ReconnectIvlMax(t) => o.reconnect_ivl_max = t,
            SocketOption::HandshakeIvl(t) => o.handshake_ivl = t,
            SocketOption::MaxMsgSize(n) => o.maxmsgsize = n,
            SocketOption::RoutingId(id) => {
                if id.is_empty() || id.len() > 255 {
                    return Err(Error::Inval("ROUTING_ID must be 1 to 255 bytes".into()));
                }
                o.routing_id = id.into();
            }
            SocketOption::Subscribe(t) => {
                self.drain();
                self.pattern.set_option(&PatternOption::Subscribe(t))?
            }
            SocketOption::Unsubscribe(t) => {
                self.drain();
                self.pattern.set_option(&PatternOption::Unsubscribe(t))?
            }
            SocketOption::XpubVerbose(b) => {
                self.pattern.set_option(&PatternOption::XpubVerbose(b))?
            }
            SocketOption::XpubVerboser(b) => {
                self.pattern.set_option(&PatternOption::XpubVerboser(b))?
            }
            SocketOption::XpubNodrop(b) => {
                self.pattern.set_option(&PatternOption::XpubNodrop(b))?
            }
            SocketOption::OnlyFirstSubscribe(b) => self
                .pattern
                .set_option(&PatternOption::OnlyFirstSubscribe(b))?,
        }
        Ok(())
    }

    /// Reads an option.
    pub fn get_option(&self, name: OptionName) -> SocketOption {
        let o = &self.options;
        match name {
            OptionName::SndHwm => SocketOption::SndHwm(o.sndhwm),
            OptionName::RcvHwm => SocketOption::RcvHwm(o.rcvhwm),
            OptionName::Linger => SocketOption::Linger(o.linger),
            OptionName::SndTimeout => SocketOption::SndTimeout(o.sndtimeo),
            OptionName::RcvTimeout => SocketOption::RcvTimeout(o.rcvtimeo),
            OptionName::ReconnectIvl => SocketOption::ReconnectIvl(o.reconnect_ivl),
            OptionName::ReconnectIvlMax => SocketOption::ReconnectIvlMax(o.reconnect_ivl_max),
            OptionName::HandshakeIvl => SocketOption::HandshakeIvl(o.handshake_ivl),
            OptionName::MaxMsgSize => SocketOption::MaxMsgSize(o.maxmsgsize),
            OptionName::RoutingId => SocketOption::RoutingId(o.routing_id.to_vec()),
        }
    }

    /// Closes the socket (the same as dropping it).
    pub fn close(self) {}

    fn attach_pipe(&mut self, pipe: Pipe) {
        pipe.attach(self.notify.clone());
        self.pattern.attach(pipe);
    }

    fn deadline(&self, flags: Flags, timeout: Option<Duration>) -> Option<Option<Instant>> {
        if flags.contains(Flags::DONTWAIT) {
            return None;
        }
        Some(timeout.map(|t| Instant::now() + t))
    }

    /// The fast path's share of [`check_term`](Self::check_term), as libzmq's
    /// `process_commands (0, true)` throttle: reading the mailbox (an mpsc channel) costs about
    /// as much as a whole small send, so while the pattern can proceed it is read only every
    /// [`COMMAND_INTERVAL`] calls, or at once when the context is terminating. Whenever the
    /// pattern cannot proceed, `wait` reads it before blocking or giving up.
    fn process_commands_throttled(&mut self) -> Result<()> {
        self.calls_since_commands += 1;
        if self.calls_since_commands >= COMMAND_INTERVAL || self.ctx.is_terminating() {
            self.calls_since_commands = 0;
            return self.check_term();
        }
        Ok(())
    }

    fn check_term(&mut self) -> Result<()> {
        self.calls_since_commands = 0;
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
        let mut any = false;
        while let Ok(cmd) = self.rx.try_recv() {
            self.handle(cmd);
            any = true;
        }
        any
    }

    /// Waits for the next command (a pipe event usually), then processes the queue.
    /// `deadline`: `None` = don't wait, `Some(None)` = forever.
    fn wait(&mut self, deadline: Option<Option<Instant>>) -> Result<()> {
        let cmd = match deadline {
            None => {
                // Not waiting: commands the throttle left queued may be what lets the caller
                // proceed, so look at them before saying EAGAIN (the caller retries once).
                if self.drain() {
                    return self.check_term();
                }
                return Err(Error::Again);
            }
            Some(None) => self.rx.recv().map_err(|_| Error::Term)?,
            Some(Some(at)) => {
                let left = at.saturating_duration_since(Instant::now());
                match self.rx.recv_timeout(left) {
                    Ok(cmd) => cmd,
                    Err(RecvTimeoutError::Timeout) => return Err(Error::Again),
                    Err(RecvTimeoutError::Disconnected) => return Err(Error::Term),
                }
            }
        };
        self.handle(cmd);
        self.check_term()
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

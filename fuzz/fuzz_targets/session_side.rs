// One side of the session target, kept as a host keeps it: the socket's pattern, the pipe
// events routed back to it, the session of the current connection and its link, and what
// the side's application sent and received (whole messages, for the checks).
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use isomq_core::session::{Action, Done, Inbound, Session, SessionEvent};
use isomq_core::zap::ZapOutcome;
use isomq_core::{
    new_pattern, Msg, Notify, Options, Pattern, PatternOption, Pipe, PipeEvent, PipeId, SocketType,
};

use crate::session_link::{Link, Stop};

/// The pipe events of one socket, queued as a host's mailbox would queue them.
#[derive(Default)]
pub struct Mailbox(Mutex<Vec<(PipeId, PipeEvent)>>);

impl Notify for Mailbox {
    fn notify(&self, pipe: PipeId, event: PipeEvent) {
        if let Ok(mut q) = self.0.lock() {
            q.push((pipe, event));
        }
    }
}

/// What happened to a side's connection during a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Going,
    /// The connection must close (protocol error, timeout, close, linger over).
    Lost,
}

pub struct Side {
    pub ty: SocketType,
    /// None once the application closed the socket.
    pub pattern: Option<Box<dyn Pattern>>,
    mailbox: Arc<Mailbox>,
    pub options: Options,
    pub session: Option<Session>,
    pub link: Option<Link>,
    pub connecting: bool,
    pub inbound: Inbound,
    next_pipe: PipeId,
    /// Whole messages the pattern took, without a ROUTER's routing id.
    pub sent: Vec<Vec<Vec<u8>>>,
    pub received: Vec<Vec<Vec<u8>>>,
    partial: Vec<Vec<u8>>,
    /// Set once the handshake completed on some connection.
    pub was_ready: bool,
    pub zap: ZapOutcome,
}

impl Side {
    pub fn new(ty: SocketType, options: Options, connecting: bool, inbound: Inbound) -> Side {
        let pattern = new_pattern(ty).ok();
        Side {
            ty,
            pattern,
            mailbox: Arc::new(Mailbox::default()),
            options,
            session: None,
            link: None,
            connecting,
            inbound,
            next_pipe: if connecting { 1 } else { 1001 },
            sent: Vec::new(),
            received: Vec::new(),
            partial: Vec::new(),
            was_ready: false,
            zap: ZapOutcome::NoHandler,
        }
    }

    /// A new connection with `link`: a connecting side keeps its session (and pipe), an
    /// accepting side gets a new session, its pipe made after the handshake.
    pub fn start(&mut self, link: Link, now: Duration) {
        if self.session.is_none() {
            let mut s = Session::new(self.ty, &self.options, self.connecting, self.inbound);
            if self.connecting {
                let pipe = self.new_pipe();
                if let Some(pipe) = pipe {
                    s.attach_pipe(pipe);
                }
            }
            self.session = Some(s);
        }
        if let Some(s) = &mut self.session {
            s.handle_started(now);
        }
        self.link = Some(link);
    }

    /// A pipe pair: the socket's end to the pattern, the session's end returned.
    fn new_pipe(&mut self) -> Option<Pipe> {
        let pattern = self.pattern.as_mut()?;
        self.next_pipe += 1;
        let (socket, own) = Pipe::pair(self.next_pipe, self.options.sndhwm, self.options.rcvhwm);
        socket.attach(self.mailbox.clone());
        if self.connecting {
            pattern.attach_connected(socket);
        } else {
            pattern.attach(socket);
        }
        Some(own)
    }

    /// Hands the pattern the pipe events raised since the last call.
    pub fn deliver_pipe_events(&mut self) {
        let events = match self.mailbox.0.lock() {
            Ok(mut q) => std::mem::take(&mut *q),
            Err(_) => return,
        };
        if let Some(p) = &mut self.pattern {
            for (pipe, event) in events {
                p.pipe_event(pipe, event);
            }
        }
    }

    /// The connection is gone: a connecting session schedules its reconnect, an accepting
    /// one ends (its pipe with it).
    pub fn lose(&mut self, now: Duration, random: u64) {
        self.link = None;
        if let Some(s) = &mut self.session {
            s.handle_lost(now, random);
            if !self.connecting {
                s.detach_pipe();
                self.session = None;
            }
        }
        self.deliver_pipe_events();
    }

    /// Moves what can move (events, input to the pipe, the pipe to output) and writes the
    /// output onto `wire`.
    pub fn step(&mut self, now: Duration, wire: &mut Vec<u8>) -> Outcome {
        self.deliver_pipe_events();
        let (Some(session), Some(link)) = (&mut self.session, &mut self.link) else {
            return self.idle(now);
        };
        // As the native host pumps: input first, then a read (the link's bytes are already
        // in), then the output; `output_resumes` asked as the host asks it.
        let _ = session.output_resumes();
        let driven = session
            .drive_input(now, link)
            .and_then(|_| session.drive(now, link));
        let mut events = Vec::new();
        while let Some(e) = session.poll_event() {
            events.push(e);
        }
        let mut out = if driven.is_ok() {
            Outcome::Going
        } else {
            Outcome::Lost
        };
        for e in events {
            if self.handle_event(e) == Outcome::Lost {
                out = Outcome::Lost;
            }
        }
        if let Some(link) = &mut self.link {
            link.transmit(wire);
        }
        self.deliver_pipe_events();
        if out == Outcome::Going {
            out = self.check_done(now);
        }
        out
    }

    /// Without a connection: a connecting session may take a message from the pipe.
    fn idle(&mut self, now: Duration) -> Outcome {
        if let Some(s) = &mut self.session {
            s.poll_pipe_idle();
        }
        self.check_done(now)
    }

    fn handle_event(&mut self, event: SessionEvent) -> Outcome {
        match event {
            SessionEvent::Ready { hiccup, .. } => {
                self.was_ready = true;
                let needs_pipe = self.session.as_ref().is_some_and(|s| s.pipe().is_none());
                if needs_pipe {
                    if let Some(pipe) = self.new_pipe() {
                        if let Some(s) = &mut self.session {
                            s.attach_pipe(pipe);
                        }
                    }
                }
                let id = self.session.as_ref().and_then(|s| s.pipe()).map(Pipe::id);
                if let (true, Some(p), Some(id)) = (hiccup, &mut self.pattern, id) {
                    // The host's side of a reconnection: SUB and XSUB resend subscriptions.
                    p.hiccup(id);
                }
                Outcome::Going
            }
            SessionEvent::Zap(_) => {
                let zap = self.zap.clone();
                match self.link.as_mut().map(|link| link_zap(link, &zap)) {
                    Some(true) => Outcome::Going,
                    _ => Outcome::Lost,
                }
            }
        }
    }

    /// The socket closed: is the session done (everything sent, or LINGER over)?
    fn check_done(&mut self, now: Duration) -> Outcome {
        let unsent = self
            .link
            .as_ref()
            .is_some_and(|l| isomq_core::session::Codec::transmit_len(l) > 0);
        let linger = self.options.linger;
        let done = self
            .session
            .as_mut()
            .is_some_and(|s| s.check_done(now, linger, unsent) == Done::Yes);
        if done {
            self.session = None;
            return Outcome::Lost;
        }
        Outcome::Going
    }

    /// Time passes: the session's timers fire. Returns whether the connection must close,
    /// and whether a connecting side should connect now.
    pub fn advance(&mut self, now: Duration) -> (Outcome, bool) {
        let Some(s) = &mut self.session else {
            return (Outcome::Going, false);
        };
        s.handle_timeout(now);
        let (mut out, mut connect, mut finished) = (Outcome::Going, false, false);
        let down = self.link.is_none();
        loop {
            let codec = self
                .link
                .as_mut()
                .map(|l| l as &mut dyn isomq_core::session::Codec);
            let Some(action) = s.poll_action(codec) else {
                break;
            };
            match action {
                Action::Connect => connect = down,
                Action::Disconnect(_) => out = Outcome::Lost,
                Action::Finish => {
                    (out, finished) = (Outcome::Lost, true);
                    break;
                }
                Action::Ping { .. } => {}
            }
        }
        if finished {
            self.session = None;
        }
        if let Some(link) = &mut self.link {
            link.ws_ping(b"hb");
        }
        (out, connect)
    }

    /// Bytes from the wire, if the session wants input now.
    pub fn receive(&mut self, now: Duration, data: &[u8]) -> Result<bool, Stop> {
        let (Some(s), Some(link)) = (&mut self.session, &mut self.link) else {
            return Ok(false);
        };
        if s.make_room(now, link).is_err() {
            return Err(Stop::Error);
        }
        if !s.wants_input() {
            return Ok(false);
        }
        link.receive(data)?;
        s.handle_input(now, !data.is_empty(), link);
        Ok(true)
    }

    /// The application sends one message; recorded when the pattern took it whole.
    pub fn send(&mut self, parts: &[Vec<u8>], to: &[u8]) {
        let Some(p) = &mut self.pattern else { return };
        let mut frames: Vec<Msg> = Vec::new();
        if self.ty == SocketType::Router {
            frames.push(Msg::copy_from_slice(to));
        }
        frames.extend(parts.iter().map(|f| Msg::copy_from_slice(f)));
        let last = frames.len().saturating_sub(1);
        for (i, f) in frames.into_iter().enumerate() {
            if p.send(f.with_more(i < last)).is_err() {
                // Blocked or refused: a first frame is simply not sent; a later one cannot
                // be refused by a pattern that took the first (libzmq's rule).
                assert_eq!(i, 0, "a pattern refused a frame after taking the first");
                return;
            }
        }
        self.sent.push(parts.to_vec());
        self.deliver_pipe_events();
    }

    /// The application receives up to `n` frames.
    pub fn recv(&mut self, n: usize) {
        let Some(p) = &mut self.pattern else { return };
        for _ in 0..n {
            let Ok(m) = p.recv() else { break };
            self.partial.push(m.to_vec());
            if !m.more() {
                let mut msg = std::mem::take(&mut self.partial);
                if self.ty == SocketType::Router && !msg.is_empty() {
                    msg.remove(0);
                }
                self.received.push(msg);
            }
        }
        self.deliver_pipe_events();
    }

    pub fn set_option(&mut self, option: PatternOption) {
        if let Some(p) = &mut self.pattern {
            let _ = p.set_option(&option);
        }
        self.deliver_pipe_events();
    }

    /// The application closes the socket: its pipes end, the session delivers what was
    /// queued within LINGER.
    pub fn close(&mut self) {
        self.pattern = None;
        self.partial.clear();
    }
}

/// Answers a ZAP request; false when the handshake failed on the answer.
fn link_zap(link: &mut Link, zap: &ZapOutcome) -> bool {
    isomq_core::session::Codec::handle_zap(link, zap.clone()).is_ok()
}

//! REP (RFC 28): fair-queues requests, strips each request's envelope (every frame up to and
//! including the first empty one) and puts it back in front of the reply, which goes to the
//! peer the request came from. Strict alternation: recv a request, then send its reply.

use super::fq::Fq;
use super::table::PipeTable;
use super::{invalid_option, Pattern, PatternOption};
use crate::pipe::{Pipe, PipeEvent, PipeId};
use crate::{Error, Msg, SocketType};

#[derive(Debug, Default)]
pub(crate) struct Rep {
    pipes: PipeTable,
    fq: Fq,
    /// A whole request was received; its reply is due.
    sending_reply: bool,
    /// Inside a request's body (its envelope was read).
    in_body: bool,
    /// The envelope of the current request, delimiter included. Kept between requests so that
    /// steady-state traffic does not allocate.
    envelope: Vec<Msg>,
    /// The pipe of the current request, as (slot, id): slots are reused, ids are not.
    reply_to: Option<(usize, PipeId)>,
    /// Inside a reply being sent: its frames go to `out` (`None`: the reply is dropped).
    more_out: bool,
    out: Option<(usize, PipeId)>,
}

impl Rep {
    fn reap(&mut self) {
        while let Some(slot) = self.fq.take_dead() {
            self.pipes.remove(slot);
        }
    }

    /// Reads a request's envelope; requests without one are discarded, as libzmq rep.cpp
    /// ("If the traceback stack is malformed, discard anything already sent to pipe").
    fn read_envelope(&mut self) -> Result<(), Error> {
        loop {
            let (msg, slot) = self.fq.recvpipe(&mut self.pipes)?;
            if self.envelope.is_empty() {
                self.reply_to = self.pipes.get(slot).map(|p| (slot, p.id()));
            }
            if !msg.more() {
                self.envelope.clear();
                continue;
            }
            let bottom = msg.is_empty();
            self.envelope.push(msg);
            if bottom {
                return Ok(());
            }
        }
    }

    /// Starts a reply: the pipe of its request, with the saved envelope written into it, or
    /// `None` when that peer is gone or full (libzmq drops the reply then).
    fn start_reply(&mut self) -> Option<(usize, PipeId)> {
        let (slot, id) = self.reply_to.take()?;
        let pipe = self.pipes.get_mut(slot).filter(|p| p.id() == id)?;
        if !pipe.check_write() {
            self.envelope.clear();
            return None;
        }
        for frame in self.envelope.drain(..) {
            if pipe.write(frame).is_err() {
                pipe.rollback();
                return None;
            }
        }
        Some((slot, id))
    }
}

impl Pattern for Rep {
    fn socket_type(&self) -> SocketType {
        SocketType::Rep
    }

    fn last_pipe(&self) -> Option<crate::PipeId> {
        self.fq.last_pipe(&self.pipes)
    }

    fn attach(&mut self, pipe: Pipe) {
        let Ok(slot) = self.pipes.insert(pipe) else {
            return;
        };
        self.fq.attach(slot);
        if self.pipes.get(slot).is_some_and(Pipe::peer_terminated) {
            self.fq.peer_terminated(&mut self.pipes, slot);
            self.reap();
        }
    }

    fn send(&mut self, msg: Msg) -> Result<(), (Error, Msg)> {
        if !self.sending_reply {
            return Err((Error::Fsm, msg));
        }
        if !self.more_out {
            self.out = self.start_reply();
            self.envelope.clear();
        }
        let more = msg.more();
        let out = self.out;
        let pipe = out.and_then(|(s, id)| self.pipes.get_mut(s).filter(|p| p.id() == id));
        if let Some(pipe) = pipe {
            if pipe.write(msg).is_err() {
                // The envelope went in, so only a dead pipe refuses: drop the whole reply.
                pipe.rollback();
                self.out = None;
            } else if !more {
                pipe.flush();
            }
        }
        self.more_out = more;
        if !more {
            self.out = None;
            self.sending_reply = false;
        }
        Ok(())
    }

    fn recv(&mut self) -> Result<Msg, Error> {
        if self.sending_reply {
            return Err(Error::Fsm);
        }
        if !self.in_body {
            let r = self.read_envelope();
            self.reap();
            r?;
            self.in_body = true;
        }
        let r = self.fq.recvpipe(&mut self.pipes);
        self.reap();
        let (msg, _) = r?;
        if !msg.more() {
            self.in_body = false;
            self.sending_reply = true;
        }
        Ok(msg)
    }

    fn has_in(&mut self) -> bool {
        if self.sending_reply {
            return false;
        }
        let ready = self.fq.has_in(&mut self.pipes);
        self.reap();
        ready
    }

    fn has_out(&mut self) -> bool {
        self.sending_reply
    }

    fn pipe_event(&mut self, pipe: PipeId, event: PipeEvent) {
        let Some(slot) = self.pipes.slot_of(pipe) else {
            return;
        };
        match event {
            PipeEvent::ActivateRead => self.fq.activated(slot),
            PipeEvent::ActivateWrite => {}
            PipeEvent::Terminated => {
                self.fq.peer_terminated(&mut self.pipes, slot);
                self.reap();
            }
        }
    }

    fn hiccup(&mut self, _pipe: PipeId) {}

    fn terminate_pipe(&mut self, pipe: PipeId) {
        if let Some(slot) = self.pipes.slot_of(pipe) {
            self.fq.terminated(slot);
            self.pipes.remove(slot);
            if self.out.is_some_and(|(s, _)| s == slot) {
                self.out = None;
            }
        }
    }

    fn pipe_ids(&self) -> Vec<PipeId> {
        self.pipes.ids()
    }

    fn set_option(&mut self, option: &PatternOption) -> Result<(), Error> {
        Err(invalid_option(option, SocketType::Rep))
    }
}

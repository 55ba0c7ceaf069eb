//! REQ (RFC 28): a DEALER that wraps each request in an envelope (an empty delimiter frame,
//! preceded by a request id with ZMQ_REQ_CORRELATE) and alternates strictly between sending a
//! request and receiving its reply, which must come from the peer the request went to.

use super::dealer::Dealer;
use super::{Pattern, PatternOption};
use crate::pipe::{Pipe, PipeEvent, PipeId};
use crate::{Error, Msg, SocketType};

#[derive(Debug)]
pub(crate) struct Req {
    dealer: Dealer,
    /// A whole request was sent; its reply is awaited.
    receiving_reply: bool,
    /// The next frame sent or received starts a message (its envelope is due).
    message_begins: bool,
    /// The pipe the last request went to, as (slot, id): slots are reused, ids are not.
    /// `None` once that pipe is gone: then, as in libzmq, a reply from any peer is taken.
    reply_pipe: Option<(usize, PipeId)>,
    /// ZMQ_REQ_RELAXED unset: a new request while one is pending is `EFSM`.
    strict: bool,
    /// ZMQ_REQ_CORRELATE: requests carry an id that the reply must echo.
    correlate: bool,
    /// The id of the last request; starts from [`super::seed`] of the first pipe, as libzmq
    /// starts from a random value.
    request_id: u32,
    seeded: bool,
}

impl Req {
    pub(crate) fn new() -> Req {
        Req {
            dealer: Dealer::new(SocketType::Req),
            receiving_reply: false,
            message_begins: true,
            reply_pipe: None,
            strict: true,
            correlate: false,
            request_id: 0,
            seeded: false,
        }
    }

    /// Writes the envelope of a new request, then discards every reply already queued:
    /// libzmq req.cpp, so that a late reply to an old request is never taken for the new one.
    fn begin_request(&mut self, msg: Msg) -> Result<Msg, (Error, Msg)> {
        self.reply_pipe = None;
        let mut first = None;
        if self.correlate {
            let id = self.request_id.wrapping_add(1);
            // Host byte order, as libzmq (a memcpy of its uint32_t): docs/wire.md §6.4.
            let frame = Msg::copy_from_slice(&id.to_ne_bytes()).with_more(true);
            match self.dealer.sendpipe(frame) {
                Ok(slot) => first = slot,
                Err((e, _)) => return Err((e, msg)),
            }
            self.request_id = id;
        }
        match self.dealer.sendpipe(Msg::new().with_more(true)) {
            Ok(slot) => first = first.or(slot),
            Err((e, _)) => return Err((e, msg)),
        }
        self.reply_pipe = first.and_then(|s| Some((s, self.dealer.pipes.get(s)?.id())));
        self.message_begins = false;
        while self.dealer.recvpipe().is_ok() {}
        Ok(msg)
    }

    /// The next frame from the reply pipe; frames from other pipes are stale and dropped.
    fn recv_reply_frame(&mut self) -> Result<(Msg, usize), Error> {
        loop {
            let (msg, slot) = self.dealer.recvpipe()?;
            let from_reply_pipe = match self.reply_pipe {
                None => true,
                Some((s, id)) => s == slot && self.dealer.pipes.get(s).map(Pipe::id) == Some(id),
            };
            if from_reply_pipe {
                return Ok((msg, slot));
            }
        }
    }

    /// Discards the rest of a message whose first frame was `msg`.
    fn skip_rest(&mut self, mut msg: Msg) -> Result<(), Error> {
        while msg.more() {
            msg = self.recv_reply_frame()?.0;
        }
        Ok(())
    }
}

impl Pattern for Req {
    fn socket_type(&self) -> SocketType {
        SocketType::Req
    }

    fn last_pipe(&self) -> Option<crate::PipeId> {
        self.dealer.last_pipe()
    }

    fn attach(&mut self, pipe: Pipe) {
        if !self.seeded {
            self.seeded = true;
            self.request_id = super::seed(pipe.id());
        }
        self.dealer.attach(pipe);
    }

    fn send(&mut self, msg: Msg) -> Result<(), (Error, Msg)> {
        if self.receiving_reply {
            if self.strict {
                return Err((Error::Fsm, msg));
            }
            self.receiving_reply = false;
            self.message_begins = true;
        }
        let msg = if self.message_begins {
            self.begin_request(msg)?
        } else {
            msg
        };
        let more = msg.more();
        self.dealer.sendpipe(msg)?;
        if !more {
            self.receiving_reply = true;
            self.message_begins = true;
        }
        Ok(())
    }

    fn recv(&mut self) -> Result<Msg, Error> {
        if !self.receiving_reply {
            return Err(Error::Fsm);
        }
        while self.message_begins {
            if self.correlate {
                let (msg, _) = self.recv_reply_frame()?;
                let matches = msg.more() && msg.as_slice() == self.request_id.to_ne_bytes();
                if !matches {
                    // A reply to an older request: skip it (libzmq req.cpp).
                    self.skip_rest(msg)?;
                    continue;
                }
            }
            let (msg, slot) = self.recv_reply_frame()?;
            if !msg.more() || !msg.is_empty() {
                // libzmq's req_session rejects such a reply as a protocol error and closes the
                // connection: the peer behind this pipe is cut off.
                self.skip_rest(msg)?;
                self.dealer.detach(slot);
                self.reply_pipe = None;
                continue;
            }
            self.message_begins = false;
        }
        let (msg, _) = self.recv_reply_frame()?;
        if !msg.more() {
            self.receiving_reply = false;
            self.message_begins = true;
        }
        Ok(msg)
    }

    fn has_in(&mut self) -> bool {
        self.receiving_reply && self.dealer.has_in()
    }

    fn has_out(&mut self) -> bool {
        !(self.receiving_reply && self.strict) && self.dealer.has_out()
    }

    fn pipe_event(&mut self, pipe: PipeId, event: PipeEvent) {
        if event == PipeEvent::Terminated && self.reply_pipe.is_some_and(|(_, id)| id == pipe) {
            self.reply_pipe = None;
        }
        self.dealer.pipe_event(pipe, event);
    }

    fn hiccup(&mut self, _pipe: PipeId) {}

    fn terminate_pipe(&mut self, pipe: PipeId) {
        if self.reply_pipe.is_some_and(|(_, id)| id == pipe) {
            self.reply_pipe = None;
        }
        self.dealer.terminate_pipe(pipe);
    }

    fn pipe_ids(&self) -> Vec<PipeId> {
        self.dealer.pipe_ids()
    }

    fn set_option(&mut self, option: &PatternOption) -> Result<(), Error> {
        match option {
            PatternOption::ReqRelaxed(on) => self.strict = !on,
            PatternOption::ReqCorrelate(on) => self.correlate = *on,
            _ => return self.dealer.set_option(option),
        }
        Ok(())
    }
}

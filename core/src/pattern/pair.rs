//! PAIR (RFC 31): exactly one peer, messages both ways, blocks at HWM or with no peer.

use super::{invalid_option, Pattern, PatternOption};
use crate::pipe::{Pipe, PipeEvent, PipeId};
use crate::{Error, Msg, SocketType};

#[derive(Debug, Default)]
pub(crate) struct Pair {
    pipe: Option<Pipe>,
    /// The peer terminated: nothing more can be sent, what it queued is still read.
    peer_gone: bool,
    /// Inside a multipart message being sent.
    more_send: bool,
    /// The pipe went away inside a multipart message: its remaining frames are discarded,
    /// or they would reach the next peer as a message of their own.
    dropping: bool,
}

impl Pair {
    /// The pipe, if messages can be sent into it.
    fn out_pipe(&mut self) -> Option<&mut Pipe> {
        self.pipe.as_mut().filter(|_| !self.peer_gone)
    }

    /// The peer is gone: stop sending, and drop the pipe once all it queued was read.
    fn peer_terminated(&mut self) {
        self.peer_gone = true;
        if self.more_send {
            if let Some(pipe) = self.pipe.as_mut() {
                pipe.rollback();
            }
            self.more_send = false;
            self.dropping = true;
        }
        self.drop_if_drained();
    }

    fn drop_if_drained(&mut self) {
        let drained = self
            .pipe
            .as_mut()
            .is_some_and(|p| p.peer_terminated() && !p.check_read() && p.is_terminated());
        if drained {
            self.detach();
        }
    }

    fn detach(&mut self) {
        if let Some(mut pipe) = self.pipe.take() {
            pipe.rollback();
            pipe.terminate();
        }
        if self.more_send {
            self.more_send = false;
            self.dropping = true;
        }
        self.peer_gone = false;
    }
}

impl Pattern for Pair {
    fn socket_type(&self) -> SocketType {
        SocketType::Pair
    }

    fn last_pipe(&self) -> Option<crate::PipeId> {
        self.pipe.as_ref().map(Pipe::id)
    }

    fn attach(&mut self, mut pipe: Pipe) {
        if self.pipe.is_some() {
            // libzmq pair.cpp: "ZMQ_PAIR socket can only be connected to a single peer. The
            // socket rejects any further connection requests."
            pipe.terminate();
            return;
        }
        let gone = pipe.peer_terminated();
        self.pipe = Some(pipe);
        if gone {
            self.peer_terminated();
        }
    }

    fn send(&mut self, msg: Msg) -> Result<(), (Error, Msg)> {
        if self.dropping {
            self.dropping = msg.more();
            return Ok(());
        }
        let more = msg.more();
        let more_send = self.more_send;
        let Some(pipe) = self.out_pipe() else {
            return Err((Error::Again, msg));
        };
        match pipe.write(msg) {
            Ok(()) => {
                if !more {
                    pipe.flush();
                }
                self.more_send = more;
                Ok(())
            }
            Err(msg) if more_send => {
                // Later frames are refused only by a dead pipe: drop the rest of the message.
                pipe.rollback();
                self.more_send = false;
                self.dropping = more;
                drop(msg);
                Ok(())
            }
            Err(msg) => Err((Error::Again, msg)),
        }
    }

    fn recv(&mut self) -> Result<Msg, Error> {
        let msg = self.pipe.as_mut().and_then(Pipe::read);
        match msg {
            Some(msg) => Ok(msg),
            None => {
                self.drop_if_drained();
                Err(Error::Again)
            }
        }
    }

    fn has_in(&mut self) -> bool {
        let ready = self.pipe.as_mut().is_some_and(Pipe::check_read);
        if !ready {
            self.drop_if_drained();
        }
        ready
    }

    fn has_out(&mut self) -> bool {
        let more_send = self.more_send;
        self.out_pipe()
            .is_some_and(|p| more_send || p.check_write())
    }

    fn pipe_event(&mut self, pipe: PipeId, event: PipeEvent) {
        if self.pipe.as_ref().map(Pipe::id) != Some(pipe) {
            return;
        }
        if event == PipeEvent::Terminated {
            self.peer_terminated();
        }
    }

    fn hiccup(&mut self, _pipe: PipeId) {}

    fn terminate_pipe(&mut self, pipe: PipeId) {
        if self.pipe.as_ref().map(Pipe::id) == Some(pipe) {
            self.detach();
        }
    }

    fn pipe_ids(&self) -> Vec<PipeId> {
        self.pipe.iter().map(Pipe::id).collect()
    }

    fn set_option(&mut self, option: &PatternOption) -> Result<(), Error> {
        Err(invalid_option(option, SocketType::Pair))
    }
}

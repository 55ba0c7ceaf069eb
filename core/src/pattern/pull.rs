//! PULL (RFC 30): fair-queues messages from its pushers, sends nothing.

use super::fq::Fq;
use super::table::PipeTable;
use super::{invalid_option, Pattern, PatternOption};
use crate::pipe::{Pipe, PipeEvent, PipeId};
use crate::{Error, Msg, SocketType};

#[derive(Debug, Default)]
pub(crate) struct Pull {
    pipes: PipeTable,
    fq: Fq,
}

impl Pull {
    /// Drops the pipes that fq read to their end.
    fn reap(&mut self) {
        while let Some(slot) = self.fq.take_dead() {
            self.pipes.remove(slot);
        }
    }
}

impl Pattern for Pull {
    fn socket_type(&self) -> SocketType {
        SocketType::Pull
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
        Err((Error::NotSup, msg))
    }

    fn recv(&mut self) -> Result<Msg, Error> {
        let msg = self.fq.recv(&mut self.pipes);
        self.reap();
        msg
    }

    fn has_in(&mut self) -> bool {
        let ready = self.fq.has_in(&mut self.pipes);
        self.reap();
        ready
    }

    fn has_out(&mut self) -> bool {
        false
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
        }
    }

    fn pipe_ids(&self) -> Vec<PipeId> {
        self.pipes.ids()
    }

    fn set_option(&mut self, option: &PatternOption) -> Result<(), Error> {
        Err(invalid_option(option, SocketType::Pull))
    }
}

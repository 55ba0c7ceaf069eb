//! PUSH (RFC 30): load-balances messages to its pullers, blocks at HWM, receives nothing.

use super::lb::Lb;
use super::table::PipeTable;
use super::{invalid_option, Pattern, PatternOption};
use crate::pipe::{Pipe, PipeEvent, PipeId};
use crate::{Error, Msg, SocketType};

#[derive(Debug, Default)]
pub(crate) struct Push {
    pipes: PipeTable,
    lb: Lb,
}

impl Push {
    fn detach(&mut self, slot: usize) {
        self.lb.terminated(slot);
        self.pipes.remove(slot);
    }
}

impl Pattern for Push {
    fn socket_type(&self) -> SocketType {
        SocketType::Push
    }

    fn attach(&mut self, pipe: Pipe) {
        let Ok(slot) = self.pipes.insert(pipe) else {
            return;
        };
        self.lb.attach(slot);
        if self.pipes.get(slot).is_some_and(Pipe::peer_terminated) {
            self.detach(slot);
        }
    }

    fn send(&mut self, msg: Msg) -> Result<(), (Error, Msg)> {
        self.lb.send(&mut self.pipes, msg)
    }

    fn recv(&mut self) -> Result<Msg, Error> {
        Err(Error::NotSup)
    }

    fn has_in(&mut self) -> bool {
        false
    }

    fn has_out(&mut self) -> bool {
        self.lb.has_out(&mut self.pipes)
    }

    fn pipe_event(&mut self, pipe: PipeId, event: PipeEvent) {
        let Some(slot) = self.pipes.slot_of(pipe) else {
            return;
        };
        match event {
            PipeEvent::ActivateWrite => self.lb.activated(slot),
            PipeEvent::ActivateRead => {}
            // Nothing is read from a PUSH pipe, so it goes at once.
            PipeEvent::Terminated => self.detach(slot),
        }
    }

    fn hiccup(&mut self, _pipe: PipeId) {}

    fn terminate_pipe(&mut self, pipe: PipeId) {
        if let Some(slot) = self.pipes.slot_of(pipe) {
            self.detach(slot);
        }
    }

    fn pipe_ids(&self) -> Vec<PipeId> {
        self.pipes.ids()
    }

    fn set_option(&mut self, option: &PatternOption) -> Result<(), Error> {
        Err(invalid_option(option, SocketType::Push))
    }
}

//! DEALER (RFC 28): load-balances messages to its peers (blocking at HWM) and fair-queues
//! their messages in, with no envelope of its own. REQ is a DEALER with an envelope and a
//! state machine on top ([`super::req`]), as in libzmq.

use super::fq::Fq;
use super::lb::Lb;
use super::table::PipeTable;
use super::{invalid_option, Pattern, PatternOption};
use crate::pipe::{Pipe, PipeEvent, PipeId};
use crate::{Error, Msg, SocketType};

#[derive(Debug)]
pub(crate) struct Dealer {
    socket_type: SocketType,
    pub(super) pipes: PipeTable,
    lb: Lb,
    fq: Fq,
    /// ZMQ_PROBE_ROUTER: an empty message goes into every new pipe.
    probe_router: bool,
}

impl Dealer {
    pub(crate) fn new(socket_type: SocketType) -> Dealer {
        Dealer {
            socket_type,
            pipes: PipeTable::default(),
            lb: Lb::default(),
            fq: Fq::default(),
            probe_router: false,
        }
    }

    /// Drops the pipes that fq read to their end.
    fn reap(&mut self) {
        while let Some(slot) = self.fq.take_dead() {
            self.lb.terminated(slot);
            self.pipes.remove(slot);
        }
    }

    /// Sends one frame; returns the slot that took it (`None`: dropped, see `Lb::sendpipe`).
    pub(super) fn sendpipe(&mut self, msg: Msg) -> Result<Option<usize>, (Error, Msg)> {
        self.lb.sendpipe(&mut self.pipes, msg)
    }

    /// Receives one frame and the slot it came from.
    pub(super) fn recvpipe(&mut self) -> Result<(Msg, usize), Error> {
        let r = self.fq.recvpipe(&mut self.pipes);
        self.reap();
        r
    }

    /// Detaches one pipe at once (disconnect, or a peer that broke the protocol).
    pub(super) fn detach(&mut self, slot: usize) {
        self.fq.terminated(slot);
        self.lb.terminated(slot);
        self.pipes.remove(slot);
    }
}

impl Pattern for Dealer {
    fn socket_type(&self) -> SocketType {
        self.socket_type
    }

    fn last_pipe(&self) -> Option<crate::PipeId> {
        self.fq.last_pipe(&self.pipes)
    }

    fn attach(&mut self, pipe: Pipe) {
        let Ok(slot) = self.pipes.insert(pipe) else {
            return;
        };
        if self.probe_router {
            if let Some(pipe) = self.pipes.get_mut(slot) {
                // libzmq dealer.cpp: "If ZMQ_PROBE_ROUTER is set, send an empty message."
                if pipe.write(Msg::new()).is_ok() {
                    pipe.flush();
                }
            }
        }
        self.fq.attach(slot);
        self.lb.attach(slot);
        if self.pipes.get(slot).is_some_and(Pipe::peer_terminated) {
            self.lb.terminated(slot);
            self.fq.peer_terminated(&mut self.pipes, slot);
            self.reap();
        }
    }

    fn send(&mut self, msg: Msg) -> Result<(), (Error, Msg)> {
        self.sendpipe(msg).map(|_| ())
    }

    fn recv(&mut self) -> Result<Msg, Error> {
        self.recvpipe().map(|(msg, _)| msg)
    }

    fn has_in(&mut self) -> bool {
        let ready = self.fq.has_in(&mut self.pipes);
        self.reap();
        ready
    }

    fn has_out(&mut self) -> bool {
        self.lb.has_out(&mut self.pipes)
    }

    fn pipe_event(&mut self, pipe: PipeId, event: PipeEvent) {
        let Some(slot) = self.pipes.slot_of(pipe) else {
            return;
        };
        match event {
            PipeEvent::ActivateRead => self.fq.activated(slot),
            PipeEvent::ActivateWrite => self.lb.activated(slot),
            PipeEvent::Terminated => {
                // Out of the rotation at once; what the peer queued is still read.
                self.lb.terminated(slot);
                self.fq.peer_terminated(&mut self.pipes, slot);
                self.reap();
            }
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
        match option {
            PatternOption::ProbeRouter(on) => self.probe_router = *on,
            _ => return Err(invalid_option(option, self.socket_type)),
        }
        Ok(())
    }
}

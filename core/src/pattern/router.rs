//! ROUTER (RFC 28): fair-queues messages in, each prefixed with a frame naming the peer it
//! came from (its routing id); routes each outgoing message to the peer its first frame
//! names. Messages to unknown or full peers are dropped, or refused with ROUTER_MANDATORY.
//!
//! A peer's routing id reaches the socket in-band, as libzmq does it: the connection writes
//! it ([`Msg::routing_id`]) as the first message of the pipe, and the ROUTER reads it when it
//! attaches the pipe or when that message arrives (libzmq `router_t::identify_peer`).

use std::collections::HashMap;

use super::fq::Fq;
use super::table::PipeTable;
use super::{invalid_option, Pattern, PatternOption};
use crate::pipe::{Pipe, PipeEvent, PipeId};
use crate::{Error, Msg, SocketType};

/// What the socket knows of the peer behind a slot.
#[derive(Debug, Clone, Default)]
enum Peer {
    /// Its routing id has not arrived yet: nothing is read from it, nothing routed to it.
    #[default]
    Anonymous,
    /// Named; the frame it prefixes to the peer's messages (MORE set).
    Identified(Msg),
    /// It announced a routing id already in use: libzmq ignores such a connection, which
    /// stays open while its messages are never read.
    Ignored,
}

#[derive(Debug, Default)]
pub(crate) struct Router {
    pipes: PipeTable,
    fq: Fq,
    /// Indexed by slot.
    peers: Vec<Peer>,
    /// Routing id → slot, for the peers messages can be routed to.
    by_id: HashMap<Vec<u8>, usize>,
    /// The next generated routing id (`0x00` + this, big-endian). Starts from [`super::seed`]
    /// of the first pipe, as libzmq starts from a random value.
    next_generated: Option<u32>,
    /// ZMQ_CONNECT_ROUTING_ID: names the next peer this socket connects to.
    connect_routing_id: Option<Vec<u8>>,
    mandatory: bool,
    handover: bool,
    probe_router: bool,
    /// The first frame of the message whose routing-id frame `recv` just returned.
    prefetched: Option<Msg>,
    /// Inside a message being received.
    more_in: bool,
    /// Inside a message being sent: its frames go to `current_out` (`None`: dropped).
    more_out: bool,
    current_out: Option<(usize, PipeId)>,
}

impl Router {
    fn peer_mut(&mut self, slot: usize) -> &mut Peer {
        if self.peers.len() <= slot {
            self.peers.resize(slot + 1, Peer::Anonymous);
        }
        &mut self.peers[slot]
    }

    fn generate_id(&mut self, seed: PipeId) -> Vec<u8> {
        let mut n = self.next_generated.unwrap_or_else(|| super::seed(seed));
        loop {
            let mut id = vec![0u8];
            id.extend_from_slice(&n.to_be_bytes());
            n = n.wrapping_add(1);
            if !self.by_id.contains_key(&id) {
                self.next_generated = Some(n);
                return id;
            }
        }
    }

    fn attach_pipe(&mut self, pipe: Pipe, locally_initiated: bool) {
        let Ok(slot) = self.pipes.insert(pipe) else {
            return;
        };
        *self.peer_mut(slot) = Peer::Anonymous;
        if self.probe_router {
            if let Some(pipe) = self.pipes.get_mut(slot) {
                // libzmq router.cpp: "If ZMQ_PROBE_ROUTER is set, send an empty message."
                if pipe.write(Msg::new()).is_ok() {
                    pipe.flush();
                }
            }
        }
        match self.connect_routing_id.take() {
            Some(id) if locally_initiated => self.name_peer(slot, id),
            other => {
                self.connect_routing_id = other;
                self.identify(slot);
            }
        }
        if self.pipes.get(slot).is_some_and(Pipe::peer_terminated) {
            self.peer_terminated(slot);
        }
    }

    /// Reads the routing id an anonymous peer announced, if it has arrived. As libzmq, the
    /// first message of the pipe is the routing id, and an empty one means "generate one".
    fn identify(&mut self, slot: usize) {
        let Some(pipe) = self.pipes.get_mut(slot) else {
            return;
        };
        let Some(msg) = pipe.read() else {
            if pipe.is_terminated() {
                self.remove(slot);
            }
            return;
        };
        let id = if msg.is_empty() {
            let seed = pipe.id();
            self.generate_id(seed)
        } else {
            msg.to_vec()
        };
        self.name_peer(slot, id);
    }

    /// Gives `slot` the routing id `id`, unless another peer has it (then the newcomer is
    /// ignored, or takes the id over with ROUTER_HANDOVER).
    fn name_peer(&mut self, slot: usize, id: Vec<u8>) {
        if let Some(&old) = self.by_id.get(&id) {
            if !self.handover {
                *self.peer_mut(slot) = Peer::Ignored;
                return;
            }
            // libzmq router.cpp: the old connection gets a temporary generated id, is
            // terminated, and what it had queued is still read under that id.
            let seed = self.pipes.get(old).map_or(0, Pipe::id);
            let temp = self.generate_id(seed);
            *self.peer_mut(old) = Peer::Identified(Msg::from(temp).with_more(true));
            if self.current_out.is_some_and(|(s, _)| s == old) {
                self.current_out = None;
            }
            if let Some(pipe) = self.pipes.get_mut(old) {
                pipe.terminate();
            }
        }
        *self.peer_mut(slot) = Peer::Identified(Msg::from(&id[..]).with_more(true));
        self.by_id.insert(id, slot);
        self.fq.attach(slot);
    }

    /// The peer went: no more routing to it; what it queued is still read.
    fn peer_terminated(&mut self, slot: usize) {
        match self.peers.get(slot) {
            Some(Peer::Identified(id)) => {
                if self.by_id.get(id.as_slice()) == Some(&slot) {
                    self.by_id.remove(id.as_slice());
                }
                self.fq.peer_terminated(&mut self.pipes, slot);
                self.reap();
            }
            _ => self.remove(slot),
        }
    }

    /// Detaches and terminates a pipe at once.
    fn remove(&mut self, slot: usize) {
        if let Some(Peer::Identified(id)) = self.peers.get(slot) {
            if self.by_id.get(id.as_slice()) == Some(&slot) {
                self.by_id.remove(id.as_slice());
            }
        }
        if let Some(peer) = self.peers.get_mut(slot) {
            *peer = Peer::Anonymous;
        }
        if self.current_out.is_some_and(|(s, _)| s == slot) {
            self.current_out = None;
        }
        self.fq.terminated(slot);
        self.pipes.remove(slot);
    }

    fn reap(&mut self) {
        while let Some(slot) = self.fq.take_dead() {
            self.remove(slot);
        }
    }

    /// The first frame of an outgoing message: the routing id. Selects the pipe, or refuses.
    fn route(&mut self, msg: Msg) -> Result<(), (Error, Msg)> {
        if !msg.more() {
            // libzmq router.cpp: "If we have malformed message (prefix with no subsequent
            // message) then just silently ignore it."
            return Ok(());
        }
        self.current_out = None;
        match self.by_id.get(msg.as_slice()) {
            Some(&slot) => {
                let Some(pipe) = self.pipes.get_mut(slot) else {
                    return Ok(());
                };
                if pipe.check_write() {
                    self.current_out = Some((slot, pipe.id()));
                } else if self.mandatory {
                    let err = if pipe.peer_terminated() {
                        Error::HostUnreach
                    } else {
                        Error::Again
                    };
                    return Err((err, msg));
                }
            }
            None if self.mandatory => return Err((Error::HostUnreach, msg)),
            None => {}
        }
        self.more_out = true;
        Ok(())
    }
}

impl Pattern for Router {
    fn socket_type(&self) -> SocketType {
        SocketType::Router
    }

    fn last_pipe(&self) -> Option<crate::PipeId> {
        self.fq.last_pipe(&self.pipes)
    }

    fn attach(&mut self, pipe: Pipe) {
        self.attach_pipe(pipe, false);
    }

    fn attach_connected(&mut self, pipe: Pipe) {
        self.attach_pipe(pipe, true);
    }

    fn send(&mut self, msg: Msg) -> Result<(), (Error, Msg)> {
        if !self.more_out {
            return self.route(msg);
        }
        let more = msg.more();
        if let Some((slot, id)) = self.current_out {
            if let Some(pipe) = self.pipes.get_mut(slot).filter(|p| p.id() == id) {
                if pipe.write(msg).is_err() {
                    // Room was checked at the first frame, so the pipe is gone: drop the rest.
                    pipe.rollback();
                    self.current_out = None;
                } else if !more {
                    pipe.flush();
                }
            }
        }
        self.more_out = more;
        if !more {
            self.current_out = None;
        }
        Ok(())
    }

    fn recv(&mut self) -> Result<Msg, Error> {
        if let Some(msg) = self.prefetched.take() {
            self.more_in = msg.more();
            return Ok(msg);
        }
        let r = self.fq.recvpipe(&mut self.pipes);
        let (msg, slot) = match r {
            Ok(x) => x,
            Err(e) => {
                self.reap();
                return Err(e);
            }
        };
        if self.more_in {
            self.more_in = msg.more();
            return Ok(msg);
        }
        let id = match self.peers.get(slot) {
            Some(Peer::Identified(id)) => id.clone(),
            _ => Msg::new().with_more(true),
        };
        self.prefetched = Some(msg);
        self.more_in = true;
        Ok(id)
    }

    fn has_in(&mut self) -> bool {
        if self.more_in || self.prefetched.is_some() {
            return true;
        }
        let ready = self.fq.has_in(&mut self.pipes);
        self.reap();
        ready
    }

    fn has_out(&mut self) -> bool {
        // libzmq: "ROUTER socket is always ready for writing (except when MANDATORY is set)".
        if !self.mandatory {
            return true;
        }
        let slots: Vec<usize> = self.by_id.values().copied().collect();
        slots
            .into_iter()
            .any(|s| self.pipes.get_mut(s).is_some_and(Pipe::check_write))
    }

    fn pipe_event(&mut self, pipe: PipeId, event: PipeEvent) {
        let Some(slot) = self.pipes.slot_of(pipe) else {
            return;
        };
        let peer = self.peers.get(slot).cloned().unwrap_or_default();
        match (event, peer) {
            (PipeEvent::ActivateRead, Peer::Anonymous) => {
                self.identify(slot);
                if self.pipes.get(slot).is_some_and(Pipe::peer_terminated) {
                    self.peer_terminated(slot);
                }
            }
            (PipeEvent::ActivateRead, Peer::Identified(_)) => self.fq.activated(slot),
            (PipeEvent::Terminated, _) => self.peer_terminated(slot),
            _ => {}
        }
    }

    fn hiccup(&mut self, _pipe: PipeId) {}

    fn terminate_pipe(&mut self, pipe: PipeId) {
        if let Some(slot) = self.pipes.slot_of(pipe) {
            self.remove(slot);
        }
    }

    fn pipe_ids(&self) -> Vec<PipeId> {
        self.pipes.ids()
    }

    fn set_option(&mut self, option: &PatternOption) -> Result<(), Error> {
        match option {
            PatternOption::RouterMandatory(on) => self.mandatory = *on,
            PatternOption::RouterHandover(on) => self.handover = *on,
            PatternOption::ProbeRouter(on) => self.probe_router = *on,
            PatternOption::ConnectRoutingId(id) => self.connect_routing_id = Some(id.clone()),
            _ => return Err(invalid_option(option, SocketType::Router)),
        }
        Ok(())
    }
}

//! Spec tests for the socket types: each drives a pattern with real pipe pairs in one thread.
//! The test plays the peer ends, and a recording `Notify` collects the pattern ends' events,
//! which the test feeds back through `pipe_event` as a socket's owner would.

#![allow(clippy::unwrap_used)] // Tests may unwrap (project rules).

mod alloc;
mod pair;
mod pipeline;
mod pubsub;
mod reqrep;
mod router;
mod xpubsub;

use std::sync::{Arc, Mutex};

use super::{new_pattern, Pattern};
use crate::pipe::{Notify, Pipe, PipeEvent, PipeId};
use crate::{Error, Msg, SocketType};

#[derive(Default)]
struct Recorder(Mutex<Vec<(PipeId, PipeEvent)>>);

impl Notify for Recorder {
    fn notify(&self, pipe: PipeId, event: PipeEvent) {
        self.0.lock().unwrap().push((pipe, event));
    }
}

/// A pattern and the peer ends of its pipes.
struct Harness {
    pattern: Box<dyn Pattern>,
    events: Arc<Recorder>,
    /// Events being delivered; swapped with the recorder's list so neither reallocates.
    delivering: Vec<(PipeId, PipeEvent)>,
    peers: Vec<Pipe>,
}

impl Harness {
    fn new(socket_type: SocketType) -> Harness {
        Harness {
            pattern: new_pattern(socket_type).unwrap(),
            events: Arc::default(),
            delivering: Vec::new(),
            peers: Vec::new(),
        }
    }

    /// Attaches a new pipe (id = peer index) with HWM `out_hwm` from the pattern to the peer
    /// and `in_hwm` back; returns the peer index.
    fn connect(&mut self, out_hwm: usize, in_hwm: usize) -> usize {
        let id = self.peers.len() as PipeId;
        let (ours, theirs) = Pipe::pair(id, out_hwm, in_hwm);
        ours.attach(self.events.clone());
        self.pattern.attach(ours);
        self.peers.push(theirs);
        self.pump();
        id as usize
    }

    /// Delivers the recorded events to the pattern, as the owner's mailbox would.
    fn pump(&mut self) {
        loop {
            std::mem::swap(&mut *self.events.0.lock().unwrap(), &mut self.delivering);
            if self.delivering.is_empty() {
                return;
            }
            for (pipe, event) in self.delivering.drain(..) {
                self.pattern.pipe_event(pipe, event);
            }
        }
    }

    /// Sends a message (one frame per part) through the pattern.
    fn send(&mut self, parts: &[&[u8]]) -> Result<(), Error> {
        for (i, part) in parts.iter().enumerate() {
            let msg = Msg::from(*part).with_more(i + 1 < parts.len());
            self.pattern.send(msg).map_err(|(e, _)| e)?;
        }
        Ok(())
    }

    /// Receives one whole message from the pattern.
    fn recv(&mut self) -> Result<Vec<Vec<u8>>, Error> {
        let mut parts = Vec::new();
        loop {
            let msg = self.pattern.recv()?;
            parts.push(msg.to_vec());
            if !msg.more() {
                return Ok(parts);
            }
        }
    }

    /// The peer writes a message (one frame per part) and flushes it.
    fn peer_send(&mut self, peer: usize, parts: &[&[u8]]) {
        for (i, part) in parts.iter().enumerate() {
            let msg = Msg::from(*part).with_more(i + 1 < parts.len());
            self.peers[peer].write(msg).unwrap();
        }
        self.peers[peer].flush();
        self.pump();
    }

    /// The peer writes one raw frame (say, a subscription command) and flushes it.
    fn peer_send_msg(&mut self, peer: usize, msg: Msg) {
        self.peers[peer].write(msg).unwrap();
        self.peers[peer].flush();
        self.pump();
    }

    /// Every frame queued for the peer, as (payload, more, subscribe, cancel).
    fn peer_frames(&mut self, peer: usize) -> Vec<Msg> {
        let mut frames = Vec::new();
        while let Some(msg) = self.peers[peer].read() {
            frames.push(msg);
        }
        self.pump();
        frames
    }

    /// Every whole message queued for the peer.
    fn peer_messages(&mut self, peer: usize) -> Vec<Vec<Vec<u8>>> {
        let mut messages = Vec::new();
        let mut parts = Vec::new();
        for msg in self.peer_frames(peer) {
            parts.push(msg.to_vec());
            if !msg.more() {
                messages.push(std::mem::take(&mut parts));
            }
        }
        assert!(parts.is_empty(), "incomplete message delivered");
        messages
    }

    fn peer_terminate(&mut self, peer: usize) {
        self.peers[peer].terminate();
        self.pump();
    }
}

fn msg(parts: &[&[u8]]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.to_vec()).collect()
}

#[test]
fn every_type_has_a_pattern() {
    for t in SocketType::ALL {
        assert_eq!(new_pattern(t).unwrap().socket_type(), t);
    }
}

#[test]
fn options_of_other_types_are_invalid() {
    use super::PatternOption as O;
    let cases = [
        (SocketType::Push, O::Subscribe(b"a".to_vec())),
        (SocketType::Pull, O::XpubVerbose(true)),
        (SocketType::Pair, O::OnlyFirstSubscribe(true)),
        (SocketType::Sub, O::XpubNodrop(true)),
        (SocketType::Sub, O::OnlyFirstSubscribe(true)),
        (SocketType::XSub, O::Subscribe(b"a".to_vec())),
        (SocketType::XPub, O::Subscribe(b"a".to_vec())),
        (SocketType::Rep, O::ReqRelaxed(true)),
        (SocketType::Dealer, O::ReqCorrelate(true)),
        (SocketType::Req, O::RouterMandatory(true)),
        (SocketType::Dealer, O::ConnectRoutingId(b"a".to_vec())),
        (SocketType::Router, O::ReqRelaxed(true)),
        (SocketType::Push, O::ProbeRouter(true)),
    ];
    for (t, option) in cases {
        let mut p = new_pattern(t).unwrap();
        assert!(
            matches!(p.set_option(&option), Err(Error::Inval(_))),
            "{t} {option:?}"
        );
    }
    // libzmq's PUB inherits XPUB's options (XPUB_NODROP is documented for PUB too).
    let mut p = new_pattern(SocketType::Pub).unwrap();
    assert_eq!(p.set_option(&O::XpubNodrop(true)), Ok(()));
}

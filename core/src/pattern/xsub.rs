//! XSUB (RFC 29 with libzmq's extensions) and the core of SUB: fair-queues messages from its
//! publishers, and sends subscriptions (and any other user message) to all of them.
//!
//! A user frame starting with 0x01 / 0x00 is a subscription / unsubscription: it updates the
//! refcounted [`Trie`] and is forwarded verbatim as a data frame, even on ZMTP 3.1 links (as
//! libzmq does, docs/wire.md §6.2); an unsubscription only when its refcount reaches 0. The
//! trie is replayed as subscribe commands into every new pipe and after every reconnect.
//! SUB (`sub == true`) also filters what it receives against the trie and cannot send.

use super::dist::Dist;
use super::fq::Fq;
use super::table::PipeTable;
use super::trie::Trie;
use super::{invalid_option, Pattern, PatternOption};
use crate::pipe::{Pipe, PipeEvent, PipeId};
use crate::{Error, Msg, SocketType};

#[derive(Debug)]
pub(crate) struct XSub {
    /// SUB rather than XSUB.
    sub: bool,
    pipes: PipeTable,
    fq: Fq,
    dist: Dist,
    subscriptions: Trie,
    only_first_subscribe: bool,
    /// Inside a multipart message being sent.
    more_send: bool,
    /// Frames of the message being sent may be subscriptions.
    process_subscribe: bool,
    /// Inside a multipart message being received (its later frames pass the filter).
    more_recv: bool,
    /// A matching message `has_in` already took from fq (SUB only).
    prefetched: Option<Msg>,
}

impl XSub {
    pub(crate) fn new(sub: bool) -> XSub {
        XSub {
            sub,
            pipes: PipeTable::default(),
            fq: Fq::default(),
            dist: Dist::default(),
            subscriptions: Trie::default(),
            only_first_subscribe: false,
            more_send: false,
            process_subscribe: false,
            more_recv: false,
            prefetched: None,
        }
    }

    /// Replays every subscription into one pipe, as subscribe commands. One that does not
    /// fit under the HWM is lost, as in libzmq.
    fn send_subscriptions(&mut self, slot: usize) {
        let Some(pipe) = self.pipes.get_mut(slot) else {
            return;
        };
        self.subscriptions.apply(|topic| {
            let _ = pipe.write(Msg::subscribe(topic));
        });
        pipe.flush();
    }

    /// Drops the pipes that fq read to their end.
    fn reap(&mut self) {
        while let Some(slot) = self.fq.take_dead() {
            self.dist.terminated(slot);
            self.pipes.remove(slot);
        }
    }

    /// The send path of both XSUB (user frames) and SUB (its subscribe/cancel commands).
    pub(super) fn xsend(&mut self, msg: Msg) {
        let first_part = !self.more_send;
        self.more_send = msg.more();
        if first_part {
            self.process_subscribe = !self.only_first_subscribe;
        } else if !self.process_subscribe {
            self.dist.send_to_all(&mut self.pipes, msg);
            return;
        }
        let data = msg.as_slice();
        let forward = if msg.is_subscribe() || (!msg.is_cancel() && data.first() == Some(&1)) {
            let topic = if msg.is_subscribe() { data } else { &data[1..] };
            // Every subscription is forwarded, duplicates included: XPUB de-duplicates, and
            // XPUB_VERBOSE upstream of a proxy needs to see them.
            self.subscriptions.add(topic);
            self.process_subscribe = true;
            true
        } else if msg.is_cancel() || data.first() == Some(&0) {
            let topic = if msg.is_cancel() { data } else { &data[1..] };
            self.process_subscribe = true;
            self.subscriptions.rm(topic)
        } else {
            true
        };
        if forward {
            self.dist.send_to_all(&mut self.pipes, msg);
        }
    }

    fn recv_filtered(&mut self) -> Result<Msg, Error> {
        if let Some(msg) = self.prefetched.take() {
            self.more_recv = msg.more();
            return Ok(msg);
        }
        loop {
            let msg = self.fq.recv(&mut self.pipes)?;
            if self.more_recv || !self.sub || self.subscriptions.check(msg.as_slice()) {
                self.more_recv = msg.more();
                return Ok(msg);
            }
            self.skip_rest(msg.more());
        }
    }

    fn has_in_filtered(&mut self) -> bool {
        if self.more_recv || self.prefetched.is_some() {
            return true;
        }
        if !self.sub {
            return self.fq.has_in(&mut self.pipes);
        }
        // Whether a *matching* message is there can only be known by reading it.
        loop {
            let Ok(msg) = self.fq.recv(&mut self.pipes) else {
                return false;
            };
            if self.subscriptions.check(msg.as_slice()) {
                self.prefetched = Some(msg);
                return true;
            }
            self.skip_rest(msg.more());
        }
    }

    /// Discards the remaining frames of a message that did not match.
    fn skip_rest(&mut self, mut more: bool) {
        while more {
            match self.fq.recv(&mut self.pipes) {
                Ok(frame) => more = frame.more(),
                Err(_) => break,
            }
        }
    }
}

impl Pattern for XSub {
    fn socket_type(&self) -> SocketType {
        if self.sub {
            SocketType::Sub
        } else {
            SocketType::XSub
        }
    }

    fn last_pipe(&self) -> Option<crate::PipeId> {
        self.fq.last_pipe(&self.pipes)
    }

    fn attach(&mut self, pipe: Pipe) {
        let Ok(slot) = self.pipes.insert(pipe) else {
            return;
        };
        self.fq.attach(slot);
        self.dist.attach(slot);
        self.send_subscriptions(slot);
        if self.pipes.get(slot).is_some_and(Pipe::peer_terminated) {
            self.pipe_event_at(slot, PipeEvent::Terminated);
        }
    }

    fn send(&mut self, msg: Msg) -> Result<(), (Error, Msg)> {
        if self.sub {
            return Err((Error::NotSup, msg));
        }
        self.xsend(msg);
        Ok(())
    }

    fn recv(&mut self) -> Result<Msg, Error> {
        let msg = self.recv_filtered();
        self.reap();
        msg
    }

    fn has_in(&mut self) -> bool {
        let ready = self.has_in_filtered();
        self.reap();
        ready
    }

    fn has_out(&mut self) -> bool {
        // XSUB can always send (it drops for full pipes); SUB never.
        !self.sub
    }

    fn pipe_event(&mut self, pipe: PipeId, event: PipeEvent) {
        if let Some(slot) = self.pipes.slot_of(pipe) {
            self.pipe_event_at(slot, event);
        }
    }

    fn hiccup(&mut self, pipe: PipeId) {
        if let Some(slot) = self.pipes.slot_of(pipe) {
            self.send_subscriptions(slot);
        }
    }

    fn terminate_pipe(&mut self, pipe: PipeId) {
        if let Some(slot) = self.pipes.slot_of(pipe) {
            self.fq.terminated(slot);
            self.dist.terminated(slot);
            self.pipes.remove(slot);
        }
    }

    fn pipe_ids(&self) -> Vec<PipeId> {
        self.pipes.ids()
    }

    fn set_option(&mut self, option: &PatternOption) -> Result<(), Error> {
        match option {
            PatternOption::Subscribe(topic) if self.sub => self.xsend(Msg::subscribe(topic)),
            PatternOption::Unsubscribe(topic) if self.sub => self.xsend(Msg::cancel(topic)),
            PatternOption::OnlyFirstSubscribe(on) if !self.sub => self.only_first_subscribe = *on,
            _ => return Err(invalid_option(option, self.socket_type())),
        }
        Ok(())
    }
}

impl XSub {
    fn pipe_event_at(&mut self, slot: usize, event: PipeEvent) {
        match event {
            PipeEvent::ActivateRead => self.fq.activated(slot),
            PipeEvent::ActivateWrite => self.dist.activated(slot),
            PipeEvent::Terminated => {
                // No more sending to it; what it queued is still read.
                self.dist.terminated(slot);
                self.fq.peer_terminated(&mut self.pipes, slot);
                self.reap();
            }
        }
    }
}

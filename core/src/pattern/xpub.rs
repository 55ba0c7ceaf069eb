//! XPUB (RFC 29 with libzmq's extensions) and the core of PUB: fan-out of each message to the
//! subscribers whose subscriptions match its first frame; incoming subscriptions are applied
//! to an [`MTrie`] and, for XPUB, handed to the user as `0x01 topic` / `0x00 topic` frames.
//!
//! Subscriptions arrive in two forms and both are accepted: as subscribe/cancel commands
//! ([`Msg::is_subscribe`], from ZMTP 3.1 peers and inproc) and as data frames whose first byte
//! is 0x01/0x00 (older peers, ZWS, and any XSUB forwarding its user's frames).

use std::collections::VecDeque;

use super::dist::Dist;
use super::mtrie::{MTrie, RmResult};
use super::table::PipeTable;
use super::{invalid_option, Pattern, PatternOption};
use crate::pipe::{Pipe, PipeEvent, PipeId};
use crate::{Error, Msg, SocketType};

#[derive(Debug)]
pub(crate) struct XPub {
    /// `Pub` or `XPub`: PUB receives nothing and tells the user nothing.
    socket_type: SocketType,
    pipes: PipeTable,
    dist: Dist,
    subscriptions: MTrie,
    /// XPUB_VERBOSE: pass on duplicate subscriptions too.
    verbose_subs: bool,
    /// XPUB_VERBOSER: pass on every unsubscription too.
    verbose_unsubs: bool,
    /// Drop for full subscribers (default); XPUB_NODROP clears it.
    lossy: bool,
    only_first_subscribe: bool,
    /// Inside a multipart message being sent (its recipients are already chosen).
    more_send: bool,
    /// Inside a multipart message being read from a subscriber.
    more_recv: bool,
    /// Frames of the current incoming message may be subscriptions.
    process_subscribe: bool,
    /// Subscription notices and upstream messages waiting for `recv`.
    pending: VecDeque<Msg>,
}

impl XPub {
    pub(crate) fn new(socket_type: SocketType) -> XPub {
        XPub {
            socket_type,
            pipes: PipeTable::default(),
            dist: Dist::default(),
            subscriptions: MTrie::default(),
            verbose_subs: false,
            verbose_unsubs: false,
            lossy: true,
            only_first_subscribe: false,
            more_send: false,
            more_recv: false,
            process_subscribe: false,
            pending: VecDeque::new(),
        }
    }

    fn is_xpub(&self) -> bool {
        self.socket_type == SocketType::XPub
    }

    /// Reads everything the subscriber queued; drops the pipe when it has ended.
    fn read_activated(&mut self, slot: usize) {
        loop {
            let Some(pipe) = self.pipes.get_mut(slot) else {
                return;
            };
            let Some(msg) = pipe.read() else {
                if pipe.is_terminated() {
                    self.detach(slot);
                }
                return;
            };
            self.process_incoming(slot, msg);
        }
    }

    fn process_incoming(&mut self, slot: usize, msg: Msg) {
        let first_part = !self.more_recv;
        self.more_recv = msg.more();
        // (subscribe?, offset of the topic in the payload)
        let mut kind = None;
        if first_part || self.process_subscribe {
            if msg.is_subscribe() || msg.is_cancel() {
                kind = Some((msg.is_subscribe(), 0));
            } else if let Some(&b @ (0 | 1)) = msg.as_slice().first() {
                kind = Some((b == 1, 1));
            }
        }
        if first_part {
            self.process_subscribe = !self.only_first_subscribe || kind.is_some();
        }
        let Some((subscribe, offset)) = kind else {
            // A user message from an XSUB upstream: XPUB passes it on, PUB discards it.
            if self.is_xpub() {
                self.pending.push_back(as_data(msg));
            }
            return;
        };
        let topic = &msg.as_slice()[offset..];
        let notify = if subscribe {
            self.subscriptions.add(topic, slot) || self.verbose_subs
        } else {
            // As libzmq: a cancel nobody held (NotFound) is passed on too.
            self.subscriptions.rm(topic, slot) != RmResult::ValuesRemain || self.verbose_unsubs
        };
        if notify && self.is_xpub() {
            self.pending.push_back(notice(subscribe, topic));
        }
    }

    /// Removes a pipe from routing and from the subscriptions. XPUB tells the user of the
    /// topics nobody holds any more (every topic of the pipe with XPUB_VERBOSER).
    fn detach(&mut self, slot: usize) {
        self.dist.terminated(slot);
        let xpub = self.is_xpub();
        let pending = &mut self.pending;
        self.subscriptions
            .rm_pipe(slot, !self.verbose_unsubs, |topic| {
                if xpub {
                    pending.push_back(notice(false, topic));
                }
            });
        self.pipes.remove(slot);
    }
}

/// A subscription notice as XPUB's user sees it: `0x01 topic` or `0x00 topic`.
fn notice(subscribe: bool, topic: &[u8]) -> Msg {
    let mut data = Vec::with_capacity(topic.len() + 1);
    data.push(u8::from(subscribe));
    data.extend_from_slice(topic);
    Msg::from(data)
}

/// A frame as user data: command-form subscriptions become their data-frame form.
fn as_data(msg: Msg) -> Msg {
    if msg.is_subscribe() || msg.is_cancel() {
        return notice(msg.is_subscribe(), msg.as_slice()).with_more(msg.more());
    }
    msg
}

impl Pattern for XPub {
    fn socket_type(&self) -> SocketType {
        self.socket_type
    }

    fn attach(&mut self, pipe: Pipe) {
        let Ok(slot) = self.pipes.insert(pipe) else {
            return;
        };
        self.dist.attach(slot);
        // Subscriptions may already be queued; reading also notices a pipe that has ended.
        self.read_activated(slot);
    }

    fn send(&mut self, msg: Msg) -> Result<(), (Error, Msg)> {
        let more = msg.more();
        if !self.more_send {
            // Recipients are chosen by the first frame and kept for the rest of the message.
            self.dist.unmatch();
            let dist = &mut self.dist;
            self.subscriptions
                .match_prefixes(msg.as_slice(), |slot| dist.mark_matching(slot));
            if !self.lossy && !self.dist.check_hwm(&mut self.pipes) {
                self.dist.unmatch();
                return Err((Error::Again, msg));
            }
        }
        self.dist.send_to_matching(&mut self.pipes, msg);
        if !more {
            self.dist.unmatch();
        }
        self.more_send = more;
        Ok(())
    }

    fn recv(&mut self) -> Result<Msg, Error> {
        if !self.is_xpub() {
            return Err(Error::NotSup);
        }
        self.pending.pop_front().ok_or(Error::Again)
    }

    fn has_in(&mut self) -> bool {
        !self.pending.is_empty()
    }

    fn has_out(&mut self) -> bool {
        true
    }

    fn pipe_event(&mut self, pipe: PipeId, event: PipeEvent) {
        let Some(slot) = self.pipes.slot_of(pipe) else {
            return;
        };
        match event {
            PipeEvent::ActivateRead => self.read_activated(slot),
            PipeEvent::ActivateWrite => self.dist.activated(slot),
            PipeEvent::Terminated => {
                // No more sending to it; its last subscriptions are still read.
                self.dist.terminated(slot);
                self.read_activated(slot);
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
        // libzmq's PUB takes XPUB's options too (pub_t inherits xpub_t::xsetsockopt).
        match *option {
            PatternOption::XpubVerbose(on) => {
                self.verbose_subs = on;
                self.verbose_unsubs = false;
            }
            PatternOption::XpubVerboser(on) => {
                self.verbose_subs = on;
                self.verbose_unsubs = on;
            }
            PatternOption::XpubNodrop(on) => self.lossy = !on,
            PatternOption::OnlyFirstSubscribe(on) => self.only_first_subscribe = on,
            // Subscribe/Unsubscribe on XPUB exist only in XPUB_MANUAL mode (not implemented).
            _ => return Err(invalid_option(option, self.socket_type)),
        }
        Ok(())
    }
}

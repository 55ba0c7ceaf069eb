//! The session: one peer connection's policy between the socket's pipe and the connection's
//! codec, as a sans-IO state machine (libzmq's `session_base_t`). The host owns the
//! transport and the codec's I/O and calls [`Session::drive`] after reading; the session
//! moves decoded messages into the pipe, the handshake's outcome into events, and queued
//! messages into the codec, and it decides when the session is finished.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;

use super::codec::Codec;
use super::lifecycle::{Action, Lifecycle};
use crate::error::Result;
use crate::msg::Msg;
use crate::options::Options;
use crate::pipe::Pipe;
use crate::socket_type::SocketType;
use crate::zmtp::{Event, PeerInfo};

/// Stop taking messages from the pipe when this much output waits for the transport: one
/// busy session cannot hoard memory, and a batch is large enough for one write to carry
/// many small messages.
pub const OUT_BATCH: usize = 256 * 1024;

/// What happens to a message from the peer when the pipe to the socket is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inbound {
    /// Stop decoding (and the host stops reading): the peer's sends back up to it, as in
    /// libzmq.
    Backpressure,
    /// For transports that cannot be paused (a browser's WebSocket): what has arrived waits
    /// for room like [`Inbound::Backpressure`], until the host has more input it cannot
    /// refuse and calls [`Session::make_room`], which drops what still finds no room, whole
    /// messages, and counts them. Memory stays bounded by RCVHWM plus one transport message
    /// (with the batch extension, docs/wire.md §10.9, a batch of frames).
    DropAtHwm,
}

/// What a session reports to its host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// The handshake completed. `hiccup`: an earlier connection of this session had too,
    /// so the socket must replay its subscriptions. A session without a pipe (an accepted
    /// connection) needs one now: [`Session::attach_pipe`].
    Ready {
        /// What the peer said about itself.
        peer: PeerInfo,
        /// A reconnection.
        hiccup: bool,
    },
    /// The mechanism asks for ZAP authentication of the peer (RFC 27): the host sends the
    /// request's frames to the context's handler, then passes the outcome to the codec's
    /// [`handle_zap`](crate::session::Codec::handle_zap).
    Zap(crate::zap::ZapRequest),
}

/// Whether the session has finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// Keep it.
    No,
    /// Close it now: everything the socket queued was handed over, or LINGER ran out.
    Yes,
}

/// One peer connection's session; see the module docs.
#[derive(Debug)]
pub struct Session {
    life: Lifecycle,
    router: bool,
    inbound: Inbound,
    pipe: Option<Pipe>,
    /// A decoded message waiting for room, or a ROUTER's peer routing id waiting for room
    /// (it goes first).
    pending_in: Option<Msg>,
    /// `pending_in` is the peer's routing id.
    pending_is_id: bool,
    /// A routing id learnt before the pipe existed (accepted connections).
    unattached_id: Option<Bytes>,
    /// A message taken from the pipe while no connection was ready.
    pending_out: Option<Msg>,
    /// The connection has begun a message whose later frames are still to come from the
    /// pipe.
    out_more: bool,
    /// The rest of a message begun on a lost connection is dropped as it is read
    /// (docs/wire.md §7.6).
    discard_rest: bool,
    /// Messages the current connection took from the pipe (docs/wire.md §7.6).
    messages_out: u64,
    /// The socket's end is gone and everything it sent was read from the pipe.
    pipe_done: bool,
    /// The last look for output found the pipe empty (see [`Session::output_resumes`]).
    output_idle: bool,
    /// Its listener went away: deliver what is queued, then end.
    orphaned: bool,
    lingering: bool,
    /// DropAtHwm: dropping the rest of a message whose first frame found no room.
    dropping: bool,
    dropped: u64,
    events: VecDeque<SessionEvent>,
}

impl Session {
    /// A session for a socket of `socket_type` with `options` (as they are now: libzmq
    /// copies them too); `connecting`: this side connects, and so reconnects.
    pub fn new(
        socket_type: SocketType,
        options: &Options,
        connecting: bool,
        inbound: Inbound,
    ) -> Session {
        Session {
            life: Lifecycle::new(options, connecting),
            router: socket_type == SocketType::Router,
            inbound,
            pipe: None,
            pending_in: None,
            pending_is_id: false,
            unattached_id: None,
            pending_out: None,
            out_more: false,
            discard_rest: false,
            messages_out: 0,
            pipe_done: false,
            output_idle: false,
            orphaned: false,
            lingering: false,
            dropping: false,
            dropped: 0,
            events: VecDeque::new(),
        }
    }

    /// Gives the session its end of the pipe to the socket (at once for a connecting
    /// session; after the handshake for an accepted one).
    pub fn attach_pipe(&mut self, pipe: Pipe) {
        self.pipe = Some(pipe);
        if let Some(id) = self.unattached_id.take() {
            self.push_routing_id(&id);
        }
    }

    /// The session's end of the pipe, once attached.
    pub fn pipe(&self) -> Option<&Pipe> {
        self.pipe.as_ref()
    }

    /// Whether messages wait to go to the peer: one kept for the next connection, or some
    /// the socket queued that the session has not taken yet (an inline host hands such a
    /// session to a helper while the socket is outside its calls).
    pub fn output_waits(&mut self) -> bool {
        self.pending_out.is_some() || self.pipe.as_mut().is_some_and(Pipe::has_unread)
    }

    /// Whether the socket queued messages since the session last found its pipe empty: the
    /// first output after a pause. A host then reads the connection before it takes them
    /// (with [`drive_input`](Session::drive_input) first), also when its poller has not
    /// said the connection is readable: the peer may have ended it meanwhile, and a
    /// message taken by an ended connection is lost with it (docs/wire.md §7.6). One load
    /// of the pipe's shared word, only while the output is idle.
    pub fn output_resumes(&mut self) -> bool {
        self.output_idle && self.output_waits()
    }

    /// Messages the current connection took from the socket's queue, a multipart message
    /// counting once from its first frame on; back to 0 when the connection is lost. Those
    /// its peer had not received when it was lost are lost with it, and the socket's later
    /// messages go to the next connection (docs/wire.md §7.6).
    pub fn messages_out(&self) -> u64 {
        self.messages_out
    }

    /// Messages from the peer dropped at RCVHWM ([`Inbound::DropAtHwm`]).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The timers (reconnect, handshake, heartbeats, linger).
    pub fn lifecycle(&mut self) -> &mut Lifecycle {
        &mut self.life
    }

    /// A connect attempt began: the connect deadline starts.
    pub fn handle_connecting(&mut self, now: Duration) {
        self.life.handle_connecting(now);
    }

    /// A transport connection exists: the handshake deadline starts.
    pub fn handle_started(&mut self, now: Duration) {
        self.life.handle_started(now);
    }

    /// After a read: `bytes_came` proves the peer alive to the heartbeat, and a PING decoded
    /// since the last call may have asked for a TTL (decoding happens as input is
    /// delivered, so a PING may surface a round after its bytes were read). Returns whether
    /// a deadline was set, so the host needs to look at [`Lifecycle::poll_timeout`] again;
    /// input only ever cancels deadlines otherwise.
    pub fn handle_input(
        &mut self,
        now: Duration,
        bytes_came: bool,
        codec: &mut impl Codec,
    ) -> bool {
        if bytes_came {
            self.life.handle_input(now);
        }
        codec
            .take_peer_ttl()
            .is_some_and(|ttl| self.life.handle_peer_ttl(now, ttl))
    }

    /// Drops the session's end of the pipe: the socket learns the peer is gone after
    /// reading everything that arrived.
    pub fn detach_pipe(&mut self) {
        self.pipe = None;
    }

    /// Whether the host should read more from the peer now: not while a decoded message
    /// waits for room (back-pressure), nor after the session was orphaned.
    pub fn wants_input(&self) -> bool {
        !self.orphaned && (self.inbound == Inbound::DropAtHwm || self.pending_in.is_none())
    }

    /// Whether what the peer sends can still reach the socket: not once the session was
    /// orphaned or the socket closed its end of the pipe.
    pub fn delivers_input(&self) -> bool {
        !self.orphaned && !self.pipe_done && !self.pipe.as_ref().is_some_and(Pipe::peer_terminated)
    }

    /// Moves what can move: the handshake's outcome into events, decoded input into the
    /// pipe, queued messages into the codec (up to [`OUT_BATCH`] bytes waiting). Returns
    /// whether anything moved.
    ///
    /// # Errors
    /// The codec's: the peer broke the protocol.
    pub fn drive(&mut self, now: Duration, codec: &mut impl Codec) -> Result<bool> {
        let mut progress = self.drive_input(now, codec)?;
        if codec.is_ready() {
            progress |= self.encode_output(codec);
        }
        Ok(progress)
    }

    /// What [`drive`](Policy::drive) moves but the output: the handshake's outcome into
    /// events, decoded input into the pipe. A host calls it before it reads, and `drive`
    /// after: a message is then taken from the pipe only once the peer's latest bytes
    /// were read, so a connection its peer closed (end of file, a WebSocket close frame)
    /// is seen ended before it can take a message and lose it with itself.
    ///
    /// # Errors
    /// The codec's: the peer broke the protocol.
    pub fn drive_input(&mut self, now: Duration, codec: &mut impl Codec) -> Result<bool> {
        // Events first: a ROUTER's pipe must get the peer's routing id (from READY) before
        // any frame that came in the same read as READY (libzmq's CURVE server sends READY
        // and its queued messages in one write).
        let progress = self.take_events(now, codec);
        Ok(self.deliver_input(codec)? || progress)
    }

    /// The codec's events into the session's; returns whether there were any.
    fn take_events(&mut self, now: Duration, codec: &mut impl Codec) -> bool {
        let mut progress = false;
        while let Some(event) = codec.poll_event() {
            progress = true;
            let peer = match event {
                Event::Ready(peer) => peer,
                Event::Zap(request) => {
                    self.events.push_back(SessionEvent::Zap(request));
                    continue;
                }
            };
            let hiccup = self.life.handle_ready(now);
            if self.router {
                match self.pipe {
                    Some(_) => self.push_routing_id(&peer.identity),
                    None => self.unattached_id = Some(peer.identity.clone()),
                }
            }
            self.events.push_back(SessionEvent::Ready { peer, hiccup });
        }
        progress
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// Acts on the deadlines due at `now`; pings go straight to `codec` when there is a
    /// ready one. The other actions are the host's: [`Session::poll_action`].
    pub fn handle_timeout(&mut self, now: Duration) {
        self.life.handle_timeout(now);
    }

    /// The next action for the host (connect, disconnect, finish), after sending the pings
    /// that are due to `codec`, when it is ready.
    pub fn poll_action(&mut self, mut codec: Option<&mut dyn Codec>) -> Option<Action> {
        loop {
            match self.life.poll_action()? {
                Action::Ping { ttl_deciseconds } => {
                    if let Some(c) = codec.as_deref_mut().filter(|c| c.is_ready()) {
                        c.send_ping(ttl_deciseconds);
                    }
                }
                other => return Some(other),
            }
        }
    }

    /// The connection (or the attempt) is gone. Frames of a message cut short are taken
    /// back from the pipe (the next connection must not complete it); a decoded message
    /// waiting for room is dropped with the connection. Going the other way, the rest of a
    /// message the connection had begun to send is dropped, as libzmq's
    /// `session_base_t::clean_pipes` does: the next connection starts with a whole message,
    /// never with the tail of one. Returns the reconnect delay, if a reconnect was
    /// scheduled.
    pub fn handle_lost(&mut self, now: Duration, random: u64) -> Option<Duration> {
        if let Some(pipe) = &mut self.pipe {
            pipe.rollback();
        }
        self.discard_rest |= std::mem::take(&mut self.out_more);
        self.messages_out = 0;
        self.pending_in = None;
        self.pending_is_id = false;
        self.dropping = false;
        self.life.handle_lost(now, random)
    }

    /// Its listener went away: stop passing the peer's messages to the socket, tell the
    /// socket this pipe is gone, and deliver what it had queued within LINGER (libzmq's
    /// sessions do so when their owner terminates). Returns false when there is nothing to
    /// deliver (no pipe yet): close the session now.
    pub fn orphan(&mut self) -> bool {
        let Some(pipe) = &mut self.pipe else {
            return false;
        };
        pipe.terminate();
        self.pending_in = None;
        self.pending_is_id = false;
        self.orphaned = true;
        true
    }

    /// Whether the session is finished: the socket closed its end (or the session was
    /// orphaned) and everything it queued went out (`unsent_bytes`: encoded bytes of the
    /// socket's messages the host has not written yet), or LINGER ran out. The first call
    /// that finds the socket gone with messages unsent starts LINGER (`linger` as the socket
    /// has it then, as libzmq reads it at close).
    pub fn check_done(
        &mut self,
        now: Duration,
        linger: Option<Duration>,
        unsent_bytes: bool,
    ) -> Done {
        let socket_gone = self.orphaned
            || self.pipe_done
            || self.pipe.as_ref().is_some_and(Pipe::peer_terminated);
        if !socket_gone {
            return Done::No;
        }
        // An orphan's socket may never read its mailbox again: what is in the pipe now is
        // what it queued.
        let queued = if self.orphaned {
            self.pipe.as_mut().is_some_and(Pipe::check_read)
        } else {
            !self.pipe_done
        };
        if !(queued || self.pending_out.is_some() || unsent_bytes) {
            return Done::Yes;
        }
        if !self.lingering {
            self.lingering = true;
            if linger == Some(Duration::ZERO) {
                return Done::Yes;
            }
            self.life.handle_linger(now, linger);
        }
        Done::No
    }

    /// Whether the socket is gone and its messages were all taken: a connecting session
    /// need not reconnect for them.
    pub fn nothing_to_deliver(&self) -> bool {
        self.pipe_done && self.pending_out.is_none()
    }

    /// Without a connection: looks for the socket's end (a message may be taken out and kept
    /// for the next connection).
    pub fn poll_pipe_idle(&mut self) {
        if self.pipe_done || self.pending_out.is_some() {
            return;
        }
        if let Some(pipe) = &mut self.pipe {
            self.pending_out = read_next(pipe, &mut self.discard_rest);
            if self.pending_out.is_none() && pipe.is_terminated() {
                self.pipe_done = true;
            }
        }
    }

    /// A ROUTER learns its peer's routing id in-band, as the first message of each
    /// connection, ahead of the peer's data (docs/wire.md §6.3).
    fn push_routing_id(&mut self, id: &[u8]) {
        let Some(pipe) = &mut self.pipe else { return };
        match pipe.write_routing_id(id) {
            Ok(()) => pipe.flush(),
            // Full of an earlier connection's messages: it goes first once there is room.
            Err(m) => {
                self.pending_in = Some(m);
                self.pending_is_id = true;
            }
        }
    }

    /// [`Inbound::DropAtHwm`]: the host has new input it cannot refuse. What was decoded
    /// before moves into the pipe where there is room; what still finds none is dropped,
    /// whole messages, and counted (the peer's routing id stays: it goes first). Err: the
    /// codec's.
    pub fn make_room(&mut self, now: Duration, codec: &mut impl Codec) -> Result<()> {
        if self.inbound != Inbound::DropAtHwm || self.pipe.is_none() || self.orphaned {
            return Ok(());
        }
        // As in `drive`: a ROUTER's routing id goes before the frames that followed READY.
        self.take_events(now, codec);
        self.deliver_input(codec)?;
        if self.pending_in.is_none() {
            return Ok(());
        }
        if !self.pending_is_id {
            if let Some(m) = self.pending_in.take() {
                self.drop_frame(&m);
            }
        }
        while codec.is_ready() {
            let Some(msg) = codec.poll_msg()? else { break };
            self.drop_frame(&msg);
        }
        Ok(())
    }

    /// Decoded input → pipe, until a message finds no room (it waits in `pending_in`).
    /// Returns whether anything was written.
    fn deliver_input(&mut self, codec: &mut impl Codec) -> Result<bool> {
        let Some(pipe) = &mut self.pipe else {
            return Ok(false);
        };
        if self.orphaned {
            return Ok(false);
        }
        let mut wrote = false;
        // A routing id or a message waiting for room goes first.
        if let Some(m) = self.pending_in.take() {
            match pipe.write(m) {
                Ok(()) => {
                    wrote = true;
                    self.pending_is_id = false;
                }
                Err(m) => self.pending_in = Some(m),
            }
        }
        while codec.is_ready() && self.pending_in.is_none() {
            let Some(msg) = codec.poll_msg()? else { break };
            wrote |= self.deliver(msg);
        }
        if wrote {
            if let Some(pipe) = &mut self.pipe {
                pipe.flush();
            }
        }
        Ok(wrote)
    }

    /// Writes one decoded frame, or keeps it for when there is room, or (the rest of a
    /// message [`Session::make_room`] dropped) drops it.
    fn deliver(&mut self, msg: Msg) -> bool {
        if self.dropping {
            self.drop_frame(&msg);
            return false;
        }
        let Some(pipe) = &mut self.pipe else {
            return false;
        };
        match pipe.write(msg) {
            Ok(()) => true,
            Err(m) => {
                self.pending_in = Some(m);
                false
            }
        }
    }

    /// Drops a frame and the rest of its message, counting the message once.
    fn drop_frame(&mut self, msg: &Msg) {
        if !self.dropping {
            self.dropped += 1;
        }
        self.dropping = msg.more();
    }

    /// Pipe → codec, until [`OUT_BATCH`] bytes wait. Returns whether anything was encoded.
    fn encode_output(&mut self, codec: &mut impl Codec) -> bool {
        let mut progress = false;
        if let Some(m) = self.pending_out.take() {
            self.count_out(&m);
            codec.send_msg(&m);
            progress = true;
        }
        while !self.pipe_done && codec.transmit_len() < OUT_BATCH {
            let Some(pipe) = &mut self.pipe else {
                return progress;
            };
            match read_next(pipe, &mut self.discard_rest) {
                Some(m) => {
                    self.output_idle = false;
                    if m.is_pooled() {
                        // The payload is copied into the batch: fetch the next ones' from
                        // the application's core meanwhile (docs/architecture.md §7.5a).
                        pipe.prefetch_payload_ahead();
                    }
                    self.count_out(&m);
                    codec.send_msg(&m);
                    progress = true;
                }
                None => {
                    self.pipe_done = pipe.is_terminated();
                    self.output_idle = true;
                    break;
                }
            }
        }
        if codec.transmit_len() >= OUT_BATCH {
            // Saturated: from now on the output buffer stays this size.
            codec.size_transmit_for(OUT_BATCH);
        }
        progress
    }

    /// A frame handed to the connection: a message counts at its first frame.
    fn count_out(&mut self, frame: &Msg) {
        if !self.out_more {
            self.messages_out += 1;
        }
        self.out_more = frame.more();
    }
}

/// The next frame from `pipe` that starts or continues a message to send: while
/// `discard_rest` is set, the rest of a message begun on a lost connection is read and
/// dropped first.
fn read_next(pipe: &mut Pipe, discard_rest: &mut bool) -> Option<Msg> {
    loop {
        let frame = pipe.read()?;
        if !*discard_rest {
            return Some(frame);
        }
        *discard_rest = frame.more();
    }
}

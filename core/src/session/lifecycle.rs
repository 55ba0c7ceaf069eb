//! The timers of one peer connection's life, as a sans-IO state machine: reconnect backoff,
//! connect and handshake deadlines, heartbeats (PING, timeout, the peer's TTL) and linger. The host feeds
//! it what happened (`handle_*`, with the time), asks when it next needs the time
//! ([`Lifecycle::poll_timeout`]) and what to do ([`Lifecycle::poll_action`]). No clock, no
//! threads: the same code runs under mio, the JavaScript event loop, and a test's fake clock.

use std::collections::VecDeque;
use std::time::Duration;

use super::backoff::Backoff;
use crate::options::Options;

/// What the host must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Open a new connection now (the reconnect delay is over).
    Connect,
    /// Send a heartbeat PING that asks the peer to drop us after `ttl_deciseconds` of
    /// silence (0: ask nothing).
    Ping {
        /// HEARTBEAT_TTL in deciseconds, as the PING command carries it.
        ttl_deciseconds: u16,
    },
    /// Close the connection, for the reason given; then report it with
    /// [`Lifecycle::handle_lost`].
    Disconnect(Expired),
    /// LINGER is over: end the session now, dropping what was not sent.
    Finish,
}

/// Which deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// CONNECT_TIMEOUT: the transport connect did not complete in time.
    Connect,
    /// HANDSHAKE_IVL: the handshake did not finish in time.
    Handshake,
    /// HEARTBEAT_TIMEOUT: nothing arrived for that long after a PING.
    Heartbeat,
    /// The TTL the peer's last PING asked for passed without traffic.
    PeerTtl,
}

/// Where the connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No connection (before the first, between attempts, or for good).
    Down,
    /// A connect attempt is under way (the transport's, before any handshake).
    Connecting,
    /// Connected, handshake under way.
    Handshaking,
    /// Handshake done: messages flow.
    Ready,
}

/// The times at which something is due, each `None` when not armed. Times are durations
/// since an origin the host chooses; only differences matter.
#[derive(Debug, Clone, Copy, Default)]
struct Deadlines {
    reconnect: Option<Duration>,
    connect: Option<Duration>,
    handshake: Option<Duration>,
    ping: Option<Duration>,
    heartbeat_timeout: Option<Duration>,
    peer_ttl: Option<Duration>,
    linger: Option<Duration>,
}

impl Deadlines {
    fn earliest(&self) -> Option<Duration> {
        [
            self.reconnect,
            self.connect,
            self.handshake,
            self.ping,
            self.heartbeat_timeout,
            self.peer_ttl,
            self.linger,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// Takes the deadline out of `slot` if it is due at `now`.
fn due(slot: &mut Option<Duration>, now: Duration) -> bool {
    if slot.is_some_and(|at| at <= now) {
        *slot = None;
        return true;
    }
    false
}

/// The timers of one session (libzmq's `session_base_t` and the timer half of its engines).
#[derive(Debug, Clone)]
pub struct Lifecycle {
    handshake_ivl: Option<Duration>,
    connect_timeout: Option<Duration>,
    heartbeat_ivl: Option<Duration>,
    heartbeat_timeout: Option<Duration>,
    ttl_deciseconds: u16,
    backoff: Backoff,
    /// Whether this side makes the connection (and so remakes it).
    connecting: bool,
    /// A protocol error stopped reconnection for good (libzmq does not retry then).
    stopped: bool,
    was_ready: bool,
    phase: Phase,
    deadlines: Deadlines,
    actions: VecDeque<Action>,
}

impl Lifecycle {
    /// The timers of a session with `options` (as they were when it was made, as libzmq
    /// copies them); `connecting`: this side connects, so it reconnects.
    pub fn new(options: &Options, connecting: bool) -> Lifecycle {
        Lifecycle {
            handshake_ivl: options.handshake_ivl,
            connect_timeout: options.connect_timeout,
            heartbeat_ivl: options.heartbeat_ivl,
            heartbeat_timeout: options.heartbeat_timeout.or(options.heartbeat_ivl),
            ttl_deciseconds: options.heartbeat_ttl_deciseconds(),
            backoff: Backoff::new(options),
            connecting,
            stopped: false,
            was_ready: false,
            phase: Phase::Down,
            deadlines: Deadlines::default(),
            actions: VecDeque::new(),
        }
    }

    /// A connect attempt began (the transport's connect is in progress): it must complete
    /// within CONNECT_TIMEOUT from now, else [`Expired::Connect`] (libzmq's
    /// ZMQ_CONNECT_TIMEOUT; without it, a peer whose host does not answer holds the attempt
    /// for the kernel's SYN retransmissions, a minute or more, whatever the backoff says).
    pub fn handle_connecting(&mut self, now: Duration) {
        self.phase = Phase::Connecting;
        self.deadlines.reconnect = None;
        self.deadlines.connect = self.connect_timeout.map(|t| now.saturating_add(t));
    }

    /// A transport connection exists (connected, accepted, or a WebSocket opening): the
    /// handshake must finish within HANDSHAKE_IVL from now.
    pub fn handle_started(&mut self, now: Duration) {
        self.phase = Phase::Handshaking;
        self.deadlines.reconnect = None;
        self.deadlines.connect = None;
        self.deadlines.handshake = self.handshake_ivl.map(|ivl| now.saturating_add(ivl));
    }

    /// The handshake completed. Returns whether an earlier connection of this session had
    /// too: the socket must then replay its subscriptions (a "hiccup").
    pub fn handle_ready(&mut self, now: Duration) -> bool {
        self.phase = Phase::Ready;
        self.deadlines.handshake = None;
        self.deadlines.ping = self.heartbeat_ivl.map(|ivl| now.saturating_add(ivl));
        self.backoff.reset();
        std::mem::replace(&mut self.was_ready, true)
    }

    /// Bytes came from the peer: it is alive, whatever heartbeat deadline was pending.
    pub fn handle_input(&mut self, _now: Duration) {
        self.deadlines.heartbeat_timeout = None;
        self.deadlines.peer_ttl = None;
    }

    /// The peer's PING asked to be dropped after `ttl_deciseconds` of silence from it.
    /// Returns whether it set a deadline (the host may have to wake up earlier).
    pub fn handle_peer_ttl(&mut self, now: Duration, ttl_deciseconds: u16) -> bool {
        // The PING may be decoded in the same read as the handshake, before the host has
        // reported it ready: any connection counts.
        if ttl_deciseconds > 0 && self.phase != Phase::Down && self.deadlines.peer_ttl.is_none() {
            let ttl = Duration::from_millis(u64::from(ttl_deciseconds) * 100);
            self.deadlines.peer_ttl = Some(now.saturating_add(ttl));
            return true;
        }
        false
    }

    /// The peer broke the protocol: libzmq does not reconnect after that.
    pub fn stop_reconnecting(&mut self) {
        self.stopped = true;
    }

    /// The connection (or the attempt to make one) is gone. For a connecting session that
    /// may reconnect, schedules the next attempt and returns its delay (for monitor events);
    /// `random` feeds the jitter.
    pub fn handle_lost(&mut self, now: Duration, random: u64) -> Option<Duration> {
        self.phase = Phase::Down;
        let linger = self.deadlines.linger;
        self.deadlines = Deadlines {
            linger,
            ..Deadlines::default()
        };
        if !self.connecting || self.stopped {
            return None;
        }
        let delay = self.backoff.next_delay(random)?;
        self.deadlines.reconnect = Some(now.saturating_add(delay));
        Some(delay)
    }

    /// Whether a reconnect is scheduled.
    pub fn reconnecting(&self) -> bool {
        self.deadlines.reconnect.is_some()
    }

    /// The socket closed with messages still to send: they have until LINGER (`None` =
    /// forever) from now. A zero linger finishes at once.
    pub fn handle_linger(&mut self, now: Duration, linger: Option<Duration>) {
        match linger {
            Some(l) if l.is_zero() => self.actions.push_back(Action::Finish),
            Some(l) => self.deadlines.linger = Some(now.saturating_add(l)),
            None => {}
        }
    }

    /// Acts on every deadline due at `now`.
    pub fn handle_timeout(&mut self, now: Duration) {
        let d = &mut self.deadlines;
        if due(&mut d.reconnect, now) {
            self.actions.push_back(Action::Connect);
        }
        if due(&mut d.connect, now) && self.phase == Phase::Connecting {
            self.actions.push_back(Action::Disconnect(Expired::Connect));
        }
        if due(&mut d.handshake, now) && self.phase == Phase::Handshaking {
            self.actions
                .push_back(Action::Disconnect(Expired::Handshake));
        }
        if due(&mut d.ping, now) {
            if let Some(ivl) = self.heartbeat_ivl {
                self.actions.push_back(Action::Ping {
                    ttl_deciseconds: self.ttl_deciseconds,
                });
                d.ping = Some(now.saturating_add(ivl));
                // libzmq arms the timeout at a PING only if none is pending: the peer must
                // answer the oldest unanswered one in time.
                if d.heartbeat_timeout.is_none() {
                    d.heartbeat_timeout = self.heartbeat_timeout.map(|t| now.saturating_add(t));
                }
            }
        }
        if due(&mut d.heartbeat_timeout, now) {
            self.actions
                .push_back(Action::Disconnect(Expired::Heartbeat));
        }
        if due(&mut d.peer_ttl, now) {
            self.actions.push_back(Action::Disconnect(Expired::PeerTtl));
        }
        if due(&mut d.linger, now) {
            self.actions.push_back(Action::Finish);
        }
    }

    /// The earliest time [`Lifecycle::handle_timeout`] has something to do, if any.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.deadlines.earliest()
    }

    /// The next thing to do, in the order it became due.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }
}

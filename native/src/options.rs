//! The socket options users set and read, in libzmq's vocabulary.

use std::time::Duration;

/// A socket option with its value, for [`Socket::set_option`](crate::Socket::set_option)
/// and as the answer of [`Socket::get_option`](crate::Socket::get_option). Names follow
/// libzmq's `ZMQ_*` options; defaults are libzmq 4.3.5's.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SocketOption {
    /// ZMQ_SNDHWM: messages queued per peer before sending blocks or drops (0 = no limit).
    SndHwm(usize),
    /// ZMQ_RCVHWM: messages queued per peer on the receive side (0 = no limit).
    RcvHwm(usize),
    /// ZMQ_LINGER: how long closing waits to deliver queued messages (`None` = forever).
    Linger(Option<Duration>),
    /// ZMQ_SNDTIMEO: how long a blocking send waits (`None` = forever).
    SndTimeout(Option<Duration>),
    /// ZMQ_RCVTIMEO: how long a blocking receive waits (`None` = forever).
    RcvTimeout(Option<Duration>),
    /// ZMQ_RECONNECT_IVL (`None` = never reconnect).
    ReconnectIvl(Option<Duration>),
    /// ZMQ_RECONNECT_IVL_MAX (zero = fixed interval with jitter).
    ReconnectIvlMax(Duration),
    /// ZMQ_HANDSHAKE_IVL (`None` = no limit).
    HandshakeIvl(Option<Duration>),
    /// ZMQ_MAXMSGSIZE (`None` = no limit).
    MaxMsgSize(Option<u64>),
    /// ZMQ_ROUTING_ID (1 to 255 bytes).
    RoutingId(Vec<u8>),
    /// ZMQ_BACKLOG: the listen(2) queue of endpoints bound afterwards (default 100).
    Backlog(u32),
    /// ZMQ_HEARTBEAT_IVL: send a heartbeat this often (`None` = never, the default).
    HeartbeatIvl(Option<Duration>),
    /// ZMQ_HEARTBEAT_TIMEOUT: drop the connection when nothing arrives this long after a
    /// heartbeat (`None` = the heartbeat interval).
    HeartbeatTimeout(Option<Duration>),
    /// ZMQ_HEARTBEAT_TTL: ask peers to drop the connection after this long without
    /// traffic from us (whole deciseconds, below 6553.6 s; `None` = ask nothing).
    HeartbeatTtl(Option<Duration>),
    /// ZMQ_SUBSCRIBE (SUB): receive messages whose first frame starts with these bytes.
    Subscribe(Vec<u8>),
    /// ZMQ_UNSUBSCRIBE (SUB).
    Unsubscribe(Vec<u8>),
    /// ZMQ_XPUB_VERBOSE: pass on duplicate subscriptions too.
    XpubVerbose(bool),
    /// ZMQ_XPUB_VERBOSER: pass on duplicate subscriptions and unsubscriptions.
    XpubVerboser(bool),
    /// ZMQ_XPUB_NODROP: block (EAGAIN) instead of dropping when a subscriber is full.
    XpubNodrop(bool),
    /// ZMQ_ONLY_FIRST_SUBSCRIBE: only the first frame of a message can be a subscription.
    OnlyFirstSubscribe(bool),
    /// ZMQ_REQ_RELAXED (REQ): allow a new request before the last one's reply arrived.
    ReqRelaxed(bool),
    /// ZMQ_REQ_CORRELATE (REQ): prefix requests with an id that replies must echo.
    ReqCorrelate(bool),
    /// ZMQ_ROUTER_MANDATORY (ROUTER): unroutable messages fail (`HostUnreach`, or `Again`
    /// when the peer is full) instead of being dropped.
    RouterMandatory(bool),
    /// ZMQ_ROUTER_HANDOVER (ROUTER): a new peer with a routing id in use takes it over.
    RouterHandover(bool),
    /// ZMQ_PROBE_ROUTER (DEALER, REQ, ROUTER): send an empty message on each new connection.
    ProbeRouter(bool),
    /// ZMQ_CONNECT_ROUTING_ID (ROUTER, 1 to 255 bytes): the routing id under which the peer
    /// of the next `connect` is known locally.
    ConnectRoutingId(Vec<u8>),
}

/// The name of a readable option, for [`Socket::get_option`](crate::Socket::get_option).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionName {
    /// ZMQ_SNDHWM
    SndHwm,
    /// ZMQ_RCVHWM
    RcvHwm,
    /// ZMQ_LINGER
    Linger,
    /// ZMQ_SNDTIMEO
    SndTimeout,
    /// ZMQ_RCVTIMEO
    RcvTimeout,
    /// ZMQ_RECONNECT_IVL
    ReconnectIvl,
    /// ZMQ_RECONNECT_IVL_MAX
    ReconnectIvlMax,
    /// ZMQ_HANDSHAKE_IVL
    HandshakeIvl,
    /// ZMQ_MAXMSGSIZE
    MaxMsgSize,
    /// ZMQ_ROUTING_ID
    RoutingId,
    /// ZMQ_BACKLOG
    Backlog,
    /// ZMQ_HEARTBEAT_IVL
    HeartbeatIvl,
    /// ZMQ_HEARTBEAT_TIMEOUT
    HeartbeatTimeout,
    /// ZMQ_HEARTBEAT_TTL
    HeartbeatTtl,
}

/// Flags for [`Socket::send_flags`](crate::Socket::send_flags) and
/// [`Socket::recv_flags`](crate::Socket::recv_flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags(u8);

impl Flags {
    /// No flags: block according to SNDTIMEO/RCVTIMEO, last frame.
    pub const NONE: Flags = Flags(0);
    /// ZMQ_DONTWAIT: fail with `Error::Again` instead of blocking.
    pub const DONTWAIT: Flags = Flags(1);
    /// ZMQ_SNDMORE: more frames of this message follow.
    pub const SNDMORE: Flags = Flags(2);

    /// Whether every flag in `other` is set.
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

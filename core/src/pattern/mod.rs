//! The ZeroMQ socket types as routing policies over pipes.
//!
//! Each socket type is a small [`Pattern`] built from shared strategies, as in libzmq:
//! load balancing ([`lb`]), fair queueing ([`fq`]), fan-out ([`dist`]), and the subscription
//! tries ([`trie`] for SUB/XSUB, [`mtrie`] for PUB/XPUB). A pattern knows nothing of
//! transports or threads: its owner hands it pipes, forwards the pipes' events, and calls
//! `send`/`recv`, all from one thread at a time.
//!
//! The semantics are libzmq 4.3.5's (docs/wire.md §6): which types block at the high-water
//! mark and which drop, how subscriptions travel and are counted.

mod array;
mod dealer;
mod dist;
mod fq;
mod lb;
mod mtrie;
mod pair;
mod prefix_tree;
mod publish;
mod pull;
mod push;
mod rep;
mod req;
mod router;
mod sub;
mod table;
mod trie;
mod xpub;
mod xsub;

#[cfg(test)]
mod tests;

use crate::pipe::{Pipe, PipeEvent, PipeId};
use crate::{Error, Msg, SocketType};

/// One socket type's routing policy over its pipes. Knows nothing of transports or threads.
/// Single-threaded: the owner calls it from one thread at a time.
pub trait Pattern: Send + std::fmt::Debug {
    /// The socket type this pattern implements.
    fn socket_type(&self) -> SocketType;

    /// Takes a new pipe (already attached to the owner's `Notify`, which routes the pipe's
    /// events back into [`Pattern::pipe_event`]). SUB/XSUB immediately send their current
    /// subscriptions into it (as [`Msg::subscribe`]). PAIR: a second pipe while one is live is
    /// terminated (dropped) at once, as libzmq does. A pipe whose id is already attached is
    /// terminated too.
    fn attach(&mut self, pipe: Pipe);

    /// As [`Pattern::attach`], for a pipe this socket created by connecting (libzmq's
    /// `locally_initiated`): a ROUTER names its peer with a pending `ConnectRoutingId`.
    fn attach_connected(&mut self, pipe: Pipe) {
        self.attach(pipe);
    }

    /// Sends one frame (MORE on all but the last). `Err((Error::Again, msg))`: cannot now
    /// (blocking types at HWM or with no peer); the owner waits for a pipe event and retries
    /// with the same msg. `Err((Error::NotSup, msg))` for types that cannot send. Dropping
    /// types (PUB, XPUB, XSUB) return `Ok` and drop for full pipes.
    fn send(&mut self, msg: Msg) -> Result<(), (Error, Msg)>;

    /// Receives one frame. `Err(Again)` when nothing is available; `Err(NotSup)` for PUB/PUSH.
    fn recv(&mut self) -> Result<Msg, Error>;

    /// The pipe the last frame received came from, while it is attached: the host keeps
    /// each pipe's peer properties (`User-Id`, `Peer-Address`, ...) by its id. None for
    /// types that receive nothing.
    fn last_pipe(&self) -> Option<crate::PipeId> {
        None
    }

    /// Readiness for poll: a frame could be received now.
    fn has_in(&mut self) -> bool;

    /// Readiness for poll: a frame could be sent now.
    fn has_out(&mut self) -> bool;

    /// A pipe event (from the `Notify` the owner attached). `Terminated`: the pipe leaves
    /// outbound routing at once; inbound routing keeps it until everything queued was read,
    /// then the pipe is dropped. Events for unknown pipes are ignored.
    fn pipe_event(&mut self, pipe: PipeId, event: PipeEvent);

    /// The connection behind this pipe was re-established (reconnect): SUB/XSUB re-send all
    /// their subscriptions into it; the others ignore it.
    fn hiccup(&mut self, pipe: PipeId);

    /// Detaches and terminates one pipe (disconnect/unbind/close). Unknown id: no-op.
    fn terminate_pipe(&mut self, pipe: PipeId);

    /// Ids of all attached pipes.
    fn pipe_ids(&self) -> Vec<PipeId>;

    /// Type-specific options. `Err(Error::Inval(_))` for an option this type does not have.
    fn set_option(&mut self, option: &PatternOption) -> Result<(), Error>;
}

/// The socket options that belong to a socket type rather than to the socket.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternOption {
    /// `ZMQ_SUBSCRIBE` (SUB): receive messages starting with this topic.
    Subscribe(Vec<u8>),
    /// `ZMQ_UNSUBSCRIBE` (SUB): undo one `Subscribe` of this topic.
    Unsubscribe(Vec<u8>),
    /// `ZMQ_XPUB_VERBOSE` (XPUB): pass on every subscription, duplicates included.
    XpubVerbose(bool),
    /// `ZMQ_XPUB_VERBOSER` (XPUB): pass on every subscription and unsubscription.
    XpubVerboser(bool),
    /// `ZMQ_XPUB_NODROP` (XPUB, PUB): `send` returns `Again` instead of dropping when a
    /// matching subscriber is full.
    XpubNodrop(bool),
    /// `ZMQ_ONLY_FIRST_SUBSCRIBE` (XPUB, XSUB; libzmq 4.3.3+): only a message whose first
    /// frame is a subscription has its later frames read as subscriptions too.
    OnlyFirstSubscribe(bool),
    /// `ZMQ_REQ_RELAXED` (REQ): a new request may be sent before the reply to the last one
    /// arrived; that reply is then discarded.
    ReqRelaxed(bool),
    /// `ZMQ_REQ_CORRELATE` (REQ): each request starts with a 4-byte request id (host byte
    /// order, as libzmq) that the reply must echo; other replies are discarded.
    ReqCorrelate(bool),
    /// `ZMQ_ROUTER_MANDATORY` (ROUTER): a message to an unknown peer fails with
    /// `HostUnreach`, to a full one with `Again`, instead of being dropped.
    RouterMandatory(bool),
    /// `ZMQ_ROUTER_HANDOVER` (ROUTER): a new peer announcing a routing id already in use
    /// takes it over (the old connection is closed) instead of being ignored.
    RouterHandover(bool),
    /// `ZMQ_PROBE_ROUTER` (DEALER, REQ, ROUTER): an empty message is sent into every new
    /// connection, so that a ROUTER peer learns this socket's routing id at once.
    ProbeRouter(bool),
    /// `ZMQ_CONNECT_ROUTING_ID` (ROUTER): the routing id under which the peer of the next
    /// `connect` is known locally, whatever it announces.
    ConnectRoutingId(Vec<u8>),
}

impl PatternOption {
    /// libzmq's name of the option, for error messages.
    fn name(&self) -> &'static str {
        match self {
            PatternOption::Subscribe(_) => "ZMQ_SUBSCRIBE",
            PatternOption::Unsubscribe(_) => "ZMQ_UNSUBSCRIBE",
            PatternOption::XpubVerbose(_) => "ZMQ_XPUB_VERBOSE",
            PatternOption::XpubVerboser(_) => "ZMQ_XPUB_VERBOSER",
            PatternOption::XpubNodrop(_) => "ZMQ_XPUB_NODROP",
            PatternOption::OnlyFirstSubscribe(_) => "ZMQ_ONLY_FIRST_SUBSCRIBE",
            PatternOption::ReqRelaxed(_) => "ZMQ_REQ_RELAXED",
            PatternOption::ReqCorrelate(_) => "ZMQ_REQ_CORRELATE",
            PatternOption::RouterMandatory(_) => "ZMQ_ROUTER_MANDATORY",
            PatternOption::RouterHandover(_) => "ZMQ_ROUTER_HANDOVER",
            PatternOption::ProbeRouter(_) => "ZMQ_PROBE_ROUTER",
            PatternOption::ConnectRoutingId(_) => "ZMQ_CONNECT_ROUTING_ID",
        }
    }
}

/// The error for an option the socket type does not have.
fn invalid_option(option: &PatternOption, socket_type: SocketType) -> Error {
    Error::Inval(format!(
        "{} is not an option of {socket_type}",
        option.name()
    ))
}

/// Where a socket's counters start (REQ request ids, ROUTER generated routing ids), from the
/// id of its first pipe. libzmq starts them at a random value; the core has no random source
/// and no global state, and pipe ids differ per connection, so a mix of one does as well.
fn seed(pipe: PipeId) -> u32 {
    // splitmix64's finaliser: nearby ids give unrelated seeds.
    let mut z = pipe.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as u32
}

/// The pattern for a socket type. Every type has one today; `Err(NotSup)` is kept for
/// types added later (the enum is non-exhaustive).
pub fn new_pattern(socket_type: SocketType) -> Result<Box<dyn Pattern>, Error> {
    Ok(match socket_type {
        SocketType::Pair => Box::new(pair::Pair::default()),
        SocketType::Pub => Box::new(publish::new()),
        SocketType::Sub => Box::new(sub::new()),
        SocketType::Pull => Box::new(pull::Pull::default()),
        SocketType::Push => Box::new(push::Push::default()),
        SocketType::XPub => Box::new(xpub::XPub::new(SocketType::XPub)),
        SocketType::XSub => Box::new(xsub::XSub::new(false)),
        SocketType::Req => Box::new(req::Req::new()),
        SocketType::Rep => Box::new(rep::Rep::default()),
        SocketType::Dealer => Box::new(dealer::Dealer::new(SocketType::Dealer)),
        SocketType::Router => Box::new(router::Router::default()),
    })
}

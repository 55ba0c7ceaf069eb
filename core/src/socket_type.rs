//! The ZeroMQ socket types and which of them may talk to which.

use std::fmt;

/// A ZeroMQ socket type. The names and numbers are libzmq's (`ZMQ_PAIR` = 0, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SocketType {
    /// Exclusive pair: one peer, both directions.
    Pair,
    /// Publisher: fans out to matching subscribers, drops at HWM.
    Pub,
    /// Subscriber: receives what matches its subscriptions.
    Sub,
    /// Request: load-balances requests (each behind an empty delimiter frame), then
    /// receives the reply from the same peer; strict send/receive alternation.
    Req,
    /// Reply: fair-queues requests and sends each reply back, behind the request's
    /// envelope, to the peer it came from; strict receive/send alternation.
    Rep,
    /// Asynchronous request: load-balances out (blocks at HWM), fair-queues in, no envelope.
    Dealer,
    /// Routing by peer: prefixes each received message with the sender's routing id and
    /// sends each message to the peer its first frame names (drops at HWM).
    Router,
    /// Pipeline sink: fair-queues from pushers.
    Pull,
    /// Pipeline source: load-balances to pullers, blocks at HWM.
    Push,
    /// Publisher that also receives subscriptions as messages.
    XPub,
    /// Subscriber whose subscriptions are sent as messages.
    XSub,
}

impl SocketType {
    /// Every socket type, in libzmq's numeric order.
    pub const ALL: [SocketType; 11] = [
        SocketType::Pair,
        SocketType::Pub,
        SocketType::Sub,
        SocketType::Req,
        SocketType::Rep,
        SocketType::Dealer,
        SocketType::Router,
        SocketType::Pull,
        SocketType::Push,
        SocketType::XPub,
        SocketType::XSub,
    ];

    /// The name sent in the ZMTP `Socket-Type` property (`"PUSH"`, `"XPUB"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            SocketType::Pair => "PAIR",
            SocketType::Pub => "PUB",
            SocketType::Sub => "SUB",
            SocketType::Req => "REQ",
            SocketType::Rep => "REP",
            SocketType::Dealer => "DEALER",
            SocketType::Router => "ROUTER",
            SocketType::Pull => "PULL",
            SocketType::Push => "PUSH",
            SocketType::XPub => "XPUB",
            SocketType::XSub => "XSUB",
        }
    }

    /// Parses a `Socket-Type` property value. Case-sensitive, as libzmq compares it.
    pub fn from_name(name: &[u8]) -> Option<SocketType> {
        SocketType::ALL
            .into_iter()
            .find(|t| t.name().as_bytes() == name)
    }

    /// libzmq's numeric value (`ZMQ_PUB` = 1, ...), also the ZMTP 2.0 socket-type byte.
    pub fn number(self) -> u8 {
        match self {
            SocketType::Pair => 0,
            SocketType::Pub => 1,
            SocketType::Sub => 2,
            SocketType::Req => 3,
            SocketType::Rep => 4,
            SocketType::Dealer => 5,
            SocketType::Router => 6,
            SocketType::Pull => 7,
            SocketType::Push => 8,
            SocketType::XPub => 9,
            SocketType::XSub => 10,
        }
    }

    /// Whether a socket of this type accepts a peer of type `peer` (RFC 37 table, as libzmq's
    /// `mechanism_t::check_socket_type`).
    pub fn is_compatible(self, peer: SocketType) -> bool {
        use SocketType::*;
        match self {
            Req => matches!(peer, Rep | Router),
            Rep => matches!(peer, Req | Dealer),
            Dealer => matches!(peer, Rep | Dealer | Router),
            Router => matches!(peer, Req | Dealer | Router),
            Pub | XPub => matches!(peer, Sub | XSub),
            Sub | XSub => matches!(peer, Pub | XPub),
            Push => peer == Pull,
            Pull => peer == Push,
            Pair => peer == Pair,
        }
    }

    /// Whether libzmq sends an `Identity` property in READY for this type (REQ, DEALER, ROUTER).
    pub fn sends_identity(self) -> bool {
        matches!(
            self,
            SocketType::Req | SocketType::Dealer | SocketType::Router
        )
    }
}

impl fmt::Display for SocketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_case_sensitively() {
        for t in SocketType::ALL {
            assert_eq!(SocketType::from_name(t.name().as_bytes()), Some(t));
        }
        assert_eq!(SocketType::from_name(b"push"), None);
    }

    #[test]
    fn compatibility_is_symmetric() {
        for a in SocketType::ALL {
            for b in SocketType::ALL {
                assert_eq!(a.is_compatible(b), b.is_compatible(a), "{a} vs {b}");
            }
        }
    }
}

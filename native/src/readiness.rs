//! Readiness: what a socket can do without blocking (ZMQ_POLLIN, ZMQ_POLLOUT). `poll`
//! asks for it and sockets answer, so it sits below both.

/// Readiness to wait for, or found: [`PollEvents::IN`], [`PollEvents::OUT`], or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PollEvents(u8);

impl PollEvents {
    /// Nothing.
    pub const NONE: PollEvents = PollEvents(0);
    /// ZMQ_POLLIN: a message can be received without blocking.
    pub const IN: PollEvents = PollEvents(1);
    /// ZMQ_POLLOUT: a message can be sent without blocking.
    pub const OUT: PollEvents = PollEvents(2);

    /// Whether every event in `other` is set.
    pub fn contains(self, other: PollEvents) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    /// Whether no event is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl std::ops::BitOr for PollEvents {
    type Output = PollEvents;
    fn bitor(self, rhs: PollEvents) -> PollEvents {
        PollEvents(self.0 | rhs.0)
    }
}

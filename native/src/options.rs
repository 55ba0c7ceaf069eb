//! Send and receive flags. The socket options themselves are the core's one table
//! ([`isomq_core::SocketOption`], re-exported at the crate root).

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

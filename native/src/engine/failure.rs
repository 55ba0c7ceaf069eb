//! How an engine reports that its connection is over, to the session that drives it.

/// Why an engine stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// EOF, reset, timeout: a connecting session tries again.
    Transient,
    /// The peer broke the protocol: libzmq does not reconnect (docs/wire.md §7.4).
    Protocol,
}

//! How an engine reports that its connection is over, to the session that drives it.

/// Why an engine stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// EOF, reset, timeout: a connecting session tries again.
    Transient,
    /// The peer broke the protocol: libzmq does not reconnect (docs/wire.md §7.4).
    Protocol,
    /// The security handshake refused the peer or was refused (the ZAP status code, 0 when
    /// no ZAP handler was there to ask); handled as a protocol failure, reported apart.
    Auth(u16),
}

impl Failure {
    /// The failure a codec error means.
    pub(crate) fn from_error(e: &isomq_core::Error) -> Failure {
        match e {
            isomq_core::Error::Auth(code) => Failure::Auth(*code),
            _ => Failure::Protocol,
        }
    }
}

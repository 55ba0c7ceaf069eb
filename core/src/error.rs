//! The one error type of isomq, in ZeroMQ's vocabulary.

use std::fmt;

/// What went wrong, named as ZeroMQ names it (`EAGAIN`, `ETERM`, `EFSM`, ...), so that people who
/// know libzmq recognise each case. Variants that carry detail say what was malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// `EAGAIN`: the operation would block (non-blocking call, or a timeout expired).
    Again,
    /// `ETERM`: the context was terminated, or the socket was closed.
    Term,
    /// `EFSM`: the operation is not allowed in the socket's current state (e.g. REQ recv before send).
    Fsm,
    /// `ENOTSUP`: the socket type does not support the operation (e.g. recv on PUB).
    NotSup,
    /// `EINVAL`: an argument is invalid; the text says which.
    Inval(String),
    /// `EPROTONOSUPPORT`: the endpoint names a transport isomq does not have.
    ProtoNoSupport(String),
    /// `EPROTO`: the peer broke the protocol; the text says how. The connection is closed.
    Proto(String),
    /// `EACCES`: the security handshake did not authenticate the peer (libzmq's
    /// HANDSHAKE_FAILED_AUTH). The code is the ZAP status (300, 400 or 500), or 0 when the
    /// mechanism needs a ZAP handler and none is bound (a PLAIN server, or ZAP_ENFORCE_DOMAIN).
    /// The connection is closed.
    Auth(u16),
    /// `EMSGSIZE`: a frame exceeds `MAXMSGSIZE`.
    MsgSize,
    /// `EADDRINUSE`: the address is already bound.
    AddrInUse,
    /// `EADDRNOTAVAIL`: the address is not local, or (unbind/disconnect) was never bound/connected.
    AddrNotAvail,
    /// `ENOENT`: no such endpoint (unbind/disconnect of an endpoint not in use).
    NoEnt,
    /// `EHOSTUNREACH`: the message cannot be routed (e.g. ROUTER_MANDATORY with unknown identity).
    HostUnreach,
    /// `ECONNREFUSED`: the peer refused the connection.
    ConnRefused,
    /// `EMTHREAD`/`EMFILE`-like resource exhaustion; the text says which.
    Resource(String),
    /// An operating-system error not covered above.
    Io(std::io::ErrorKind, String),
}

impl Error {
    /// The errno-style name ZeroMQ uses for this error.
    pub fn name(&self) -> &'static str {
        match self {
            Error::Again => "EAGAIN",
            Error::Term => "ETERM",
            Error::Fsm => "EFSM",
            Error::NotSup => "ENOTSUP",
            Error::Inval(_) => "EINVAL",
            Error::ProtoNoSupport(_) => "EPROTONOSUPPORT",
            Error::Proto(_) => "EPROTO",
            Error::Auth(_) => "EACCES",
            Error::MsgSize => "EMSGSIZE",
            Error::AddrInUse => "EADDRINUSE",
            Error::AddrNotAvail => "EADDRNOTAVAIL",
            Error::NoEnt => "ENOENT",
            Error::HostUnreach => "EHOSTUNREACH",
            Error::ConnRefused => "ECONNREFUSED",
            Error::Resource(_) => "EMFILE",
            Error::Io(..) => "EIO",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Again => f.write_str("resource temporarily unavailable (EAGAIN)"),
            Error::Term => f.write_str("context was terminated (ETERM)"),
            Error::Fsm => f.write_str("operation cannot be accomplished in current state (EFSM)"),
            Error::NotSup => f.write_str("operation not supported by this socket type (ENOTSUP)"),
            Error::Inval(why) => write!(f, "invalid argument (EINVAL): {why}"),
            Error::ProtoNoSupport(t) => write!(f, "unsupported transport (EPROTONOSUPPORT): {t}"),
            Error::Proto(why) => write!(f, "protocol error (EPROTO): {why}"),
            Error::Auth(0) => f.write_str("authentication failed (EACCES): no ZAP handler"),
            Error::Auth(code) => write!(f, "authentication failed (EACCES): ZAP status {code}"),
            Error::MsgSize => f.write_str("message too long (EMSGSIZE)"),
            Error::AddrInUse => f.write_str("address already in use (EADDRINUSE)"),
            Error::AddrNotAvail => f.write_str("address not available (EADDRNOTAVAIL)"),
            Error::NoEnt => f.write_str("no such endpoint (ENOENT)"),
            Error::HostUnreach => f.write_str("host unreachable (EHOSTUNREACH)"),
            Error::ConnRefused => f.write_str("connection refused (ECONNREFUSED)"),
            Error::Resource(why) => write!(f, "out of resources: {why}"),
            Error::Io(_, why) => write!(f, "I/O error: {why}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        use std::io::ErrorKind as K;
        match e.kind() {
            K::AddrInUse => Error::AddrInUse,
            K::AddrNotAvailable => Error::AddrNotAvail,
            K::ConnectionRefused => Error::ConnRefused,
            K::WouldBlock => Error::Again,
            K::InvalidInput => Error::Inval(e.to_string()),
            kind => Error::Io(kind, e.to_string()),
        }
    }
}

/// `Result` with isomq's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

//! Socket options with libzmq's defaults (docs/wire.md §7.5).

use bytes::Bytes;
use std::time::Duration;

use crate::socket_type::SocketType;

/// The transport-independent options of a socket. Defaults are libzmq 4.3.5's.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// ZMQ_SNDHWM: messages queued per outgoing pipe; 0 = unlimited. Default 1000.
    pub sndhwm: usize,
    /// ZMQ_RCVHWM: messages queued per incoming pipe; 0 = unlimited. Default 1000.
    pub rcvhwm: usize,
    /// ZMQ_LINGER: how long close waits to deliver queued messages; `None` = forever
    /// (libzmq's -1, the default except for SUB and XSUB, where it is 0).
    pub linger: Option<Duration>,
    /// ZMQ_SNDTIMEO: `None` blocks forever (default).
    pub sndtimeo: Option<Duration>,
    /// ZMQ_RCVTIMEO: `None` blocks forever (default).
    pub rcvtimeo: Option<Duration>,
    /// ZMQ_RECONNECT_IVL: `None` disables reconnection (libzmq's -1). Default 100 ms.
    pub reconnect_ivl: Option<Duration>,
    /// ZMQ_RECONNECT_IVL_MAX: zero (default) = fixed interval plus jitter; otherwise the
    /// interval doubles after each failure up to this.
    pub reconnect_ivl_max: Duration,
    /// ZMQ_HANDSHAKE_IVL: the ZMTP handshake must finish within this; `None` = no limit.
    /// Default 30 s.
    pub handshake_ivl: Option<Duration>,
    /// ZMQ_MAXMSGSIZE: larger frames close the connection; `None` = unlimited (default).
    pub maxmsgsize: Option<u64>,
    /// ZMQ_ROUTING_ID: sent as `Identity` by REQ, DEALER and ROUTER.
    pub routing_id: Bytes,
    /// ZMQ_BACKLOG: listen() backlog. Default 100.
    pub backlog: u32,
    /// ZMQ_HEARTBEAT_IVL: send a ZMTP PING (a WebSocket ping on ws://) this often; `None`
    /// (default) sends none.
    pub heartbeat_ivl: Option<Duration>,
    /// ZMQ_HEARTBEAT_TIMEOUT: close the connection when nothing arrives this long after a
    /// PING; `None` (default) means the heartbeat interval.
    pub heartbeat_timeout: Option<Duration>,
    /// ZMQ_HEARTBEAT_TTL: asks the peer to close the connection when it hears nothing from
    /// us this long (sent in deciseconds in each PING); `None` (default) asks nothing.
    pub heartbeat_ttl: Option<Duration>,
}

impl Options {
    /// libzmq's defaults for a socket of type `socket_type`.
    pub fn new(socket_type: SocketType) -> Options {
        let linger = match socket_type {
            SocketType::Sub | SocketType::XSub => Some(Duration::ZERO),
            _ => None,
        };
        Options {
            sndhwm: 1000,
            rcvhwm: 1000,
            linger,
            sndtimeo: None,
            rcvtimeo: None,
            reconnect_ivl: Some(Duration::from_millis(100)),
            reconnect_ivl_max: Duration::ZERO,
            handshake_ivl: Some(Duration::from_secs(30)),
            maxmsgsize: None,
            routing_id: Bytes::new(),
            backlog: 100,
            heartbeat_ivl: None,
            heartbeat_timeout: None,
            heartbeat_ttl: None,
        }
    }
}

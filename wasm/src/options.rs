//! The options of a wasm socket: the core's, with the defaults a page needs.

use bytes::Bytes;
use isomq_core::{PatternOption, SocketType};

/// Options a socket applies to the connections it makes from then on (as libzmq: changing an
/// HWM does not resize existing pipes).
#[derive(Debug, Clone)]
pub(crate) struct SocketOptions {
    pub(crate) sndhwm: usize,
    pub(crate) rcvhwm: usize,
    /// None: no reconnection.
    pub(crate) reconnect_ivl_ms: Option<u32>,
    /// 0: fixed interval plus jitter; otherwise exponential backoff up to this.
    pub(crate) reconnect_ivl_max_ms: u32,
    pub(crate) maxmsgsize: Option<u64>,
    pub(crate) routing_id: Bytes,
    /// HANDSHAKE_IVL: the WebSocket must open and the ZWS handshake finish within this;
    /// None: no limit.
    pub(crate) handshake_ivl_ms: Option<u32>,
}

impl SocketOptions {
    /// libzmq's defaults, except the reconnect backoff: a page may be one of thousands
    /// reconnecting to a restarted server, so the interval doubles from 100 ms up to 10 s
    /// (libzmq's default is a fixed 100 ms).
    pub(crate) fn new(socket_type: SocketType) -> SocketOptions {
        let core = isomq_core::Options::new(socket_type);
        SocketOptions {
            sndhwm: core.sndhwm,
            rcvhwm: core.rcvhwm,
            reconnect_ivl_ms: core
                .reconnect_ivl
                .map(|d| u32::try_from(d.as_millis()).unwrap_or(u32::MAX)),
            reconnect_ivl_max_ms: 10_000,
            maxmsgsize: core.maxmsgsize,
            routing_id: core.routing_id,
            handshake_ivl_ms: core
                .handshake_ivl
                .map(|d| u32::try_from(d.as_millis()).unwrap_or(u32::MAX)),
        }
    }
}

/// A socket option, as `Socket::set_option` takes it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketOption {
    /// `ZMQ_SNDHWM`: messages queued per outgoing pipe; 0 = unlimited.
    SndHwm(usize),
    /// `ZMQ_RCVHWM`: messages queued per incoming pipe; 0 = unlimited. Over WebSocket, what
    /// arrives beyond it is dropped and counted (a browser WebSocket cannot be paused).
    RcvHwm(usize),
    /// `ZMQ_RECONNECT_IVL` in milliseconds; `None` disables reconnection.
    ReconnectIvl(Option<u32>),
    /// `ZMQ_RECONNECT_IVL_MAX` in milliseconds; 0 = fixed interval plus jitter.
    ReconnectIvlMax(u32),
    /// `ZMQ_MAXMSGSIZE`: larger frames close the connection; `None` = unlimited.
    MaxMsgSize(Option<u64>),
    /// `ZMQ_HANDSHAKE_IVL` in milliseconds: the WebSocket must open and the ZWS handshake
    /// finish within this, else the connection is dropped and tried again; `None` = no limit.
    HandshakeIvl(Option<u32>),
    /// `ZMQ_ROUTING_ID`, sent by REQ, DEALER and ROUTER.
    RoutingId(Vec<u8>),
    /// An option of the socket type (subscriptions, XPUB flags).
    Pattern(PatternOption),
}

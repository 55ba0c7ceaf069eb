//! The one options table of isomq: every libzmq socket option the project supports, with its
//! default, its validation and its getter. Both hosts (native and wasm) and the JavaScript
//! names come from here, so they cannot drift apart.
//!
//! - [`Options`]: the values a socket holds, with libzmq 4.3.5's defaults;
//! - [`SocketOption`]: one option with its typed value, as `set_option` takes it and
//!   `get_option` returns it;
//! - [`OptionName`]: the name of an option, with its libzmq and JavaScript spellings and its
//!   conversion from libzmq's C-level value ([`OptionValue`]: an integer, a flag or bytes).

mod name;
mod option;
mod security;
#[cfg(test)]
mod tests;
mod wss;

use bytes::Bytes;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::pattern::Pattern;
use crate::socket_type::SocketType;

pub use name::{OptionName, OptionValue};
pub use option::SocketOption;
pub use security::SecurityOptions;
pub use wss::WssOptions;

/// The default of MAX_HANDSHAKES: an internet-facing listener keeps at most this many
/// connections in their handshake (docs/limits.md). Ten times the default BACKLOG, so that
/// a burst of honest clients (a whole backlog accepted at once, several times over while
/// their handshakes run) stays under it, while a flood of connections that never finish
/// their handshake holds a bounded amount of memory until HANDSHAKE_IVL ends them.
const DEFAULT_MAX_HANDSHAKES: usize = 1000;

/// The options of a socket. Defaults are libzmq 4.3.5's. Read them through the fields; change
/// them through [`Options::apply`], which validates.
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
    /// ZMQ_HANDSHAKE_IVL: the handshake must finish within this; `None` = no limit.
    /// Default 30 s.
    pub handshake_ivl: Option<Duration>,
    /// ZMQ_CONNECT_TIMEOUT: a connect attempt not completed within this is abandoned and
    /// retried after the reconnect interval; `None` (default) leaves it to the kernel's SYN
    /// retransmissions.
    pub connect_timeout: Option<Duration>,
    /// ZMQ_MAXMSGSIZE: larger frames close the connection; `None` = unlimited (default).
    pub maxmsgsize: Option<u64>,
    /// ZMQ_ROUTING_ID: sent as `Identity` by REQ, DEALER and ROUTER. Empty by default.
    pub routing_id: Bytes,
    /// ZMQ_BACKLOG: listen() backlog. Default 100.
    pub backlog: u32,
    /// MAX_HANDSHAKES (isomq's): connections of one listener that may be in their handshake
    /// at once (TLS, WebSocket upgrade, ZMTP or ZWS handshake); a listener closes each
    /// connection it accepts beyond that at once. 0 = no limit. Default 1000.
    pub max_handshakes: usize,
    /// ZMQ_HEARTBEAT_IVL: send a PING (a WebSocket ping on ws://) this often; `None`
    /// (default) sends none.
    pub heartbeat_ivl: Option<Duration>,
    /// ZMQ_HEARTBEAT_TIMEOUT: close the connection when nothing arrives this long after a
    /// PING; `None` (default) means the heartbeat interval.
    pub heartbeat_timeout: Option<Duration>,
    /// ZMQ_HEARTBEAT_TTL: asks the peer to close the connection when it hears nothing from
    /// us this long (sent in deciseconds in each PING); `None` (default) asks nothing.
    pub heartbeat_ttl: Option<Duration>,
    /// ZMQ_XPUB_VERBOSE (XPUB).
    pub xpub_verbose: bool,
    /// ZMQ_XPUB_VERBOSER (XPUB).
    pub xpub_verboser: bool,
    /// ZMQ_XPUB_NODROP (PUB, XPUB).
    pub xpub_nodrop: bool,
    /// ZMQ_ONLY_FIRST_SUBSCRIBE (XPUB, XSUB).
    pub only_first_subscribe: bool,
    /// ZMQ_REQ_RELAXED (REQ).
    pub req_relaxed: bool,
    /// ZMQ_REQ_CORRELATE (REQ).
    pub req_correlate: bool,
    /// ZMQ_ROUTER_MANDATORY (ROUTER).
    pub router_mandatory: bool,
    /// ZMQ_ROUTER_HANDOVER (ROUTER).
    pub router_handover: bool,
    /// ZMQ_PROBE_ROUTER (DEALER, REQ, ROUTER).
    pub probe_router: bool,
    /// ZMQ_CONNECT_ROUTING_ID (ROUTER): the local name of the next connect's peer; empty
    /// when none is pending.
    pub connect_routing_id: Bytes,
    /// PLAIN, CURVE and ZAP options; [`SecurityOptions::auth`] gives what connections use.
    pub security: SecurityOptions,
    /// WS_ORIGIN: the origins a ws:// listener accepts browser upgrades from; empty = all.
    pub ws_origins: Vec<String>,
    /// WSS_*: the TLS certificate, key and trust of wss:// endpoints.
    pub wss: WssOptions,
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
            connect_timeout: None,
            maxmsgsize: None,
            routing_id: Bytes::new(),
            backlog: 100,
            max_handshakes: DEFAULT_MAX_HANDSHAKES,
            heartbeat_ivl: None,
            heartbeat_timeout: None,
            heartbeat_ttl: None,
            xpub_verbose: false,
            xpub_verboser: false,
            xpub_nodrop: false,
            only_first_subscribe: false,
            req_relaxed: false,
            req_correlate: false,
            router_mandatory: false,
            router_handover: false,
            probe_router: false,
            connect_routing_id: Bytes::new(),
            security: SecurityOptions::default(),
            ws_origins: Vec::new(),
            wss: WssOptions::default(),
        }
    }

    /// Validates `option`, hands it to `pattern` when it belongs to the socket type (which
    /// refuses options its type lacks), then records its value.
    ///
    /// # Errors
    /// [`Error::Inval`] for a value out of range or an option the socket type lacks; nothing
    /// changes then.
    pub fn apply(&mut self, option: SocketOption, pattern: &mut dyn Pattern) -> Result<()> {
        option.validate()?;
        if let Some(p) = option.pattern_option() {
            pattern.set_option(&p)?;
        }
        self.store(option);
        Ok(())
    }

    fn store(&mut self, option: SocketOption) {
        use SocketOption as O;
        if self.security.store(&option) || self.wss.store(&option) {
            return;
        }
        match option {
            O::SndHwm(v) => self.sndhwm = v,
            O::RcvHwm(v) => self.rcvhwm = v,
            O::Linger(v) => self.linger = v,
            O::SndTimeout(v) => self.sndtimeo = v,
            O::RcvTimeout(v) => self.rcvtimeo = v,
            O::ReconnectIvl(v) => self.reconnect_ivl = v,
            O::ReconnectIvlMax(v) => self.reconnect_ivl_max = v,
            O::HandshakeIvl(v) => self.handshake_ivl = nonzero(v),
            O::ConnectTimeout(v) => self.connect_timeout = nonzero(v),
            O::MaxMsgSize(v) => self.maxmsgsize = v,
            O::RoutingId(v) => self.routing_id = v.into(),
            O::Backlog(v) => self.backlog = v,
            O::MaxHandshakes(v) => self.max_handshakes = v,
            O::HeartbeatIvl(v) => self.heartbeat_ivl = nonzero(v),
            O::HeartbeatTimeout(v) => self.heartbeat_timeout = v,
            O::HeartbeatTtl(v) => self.heartbeat_ttl = nonzero(v),
            // Actions, not state: the pattern keeps the subscriptions.
            O::Subscribe(_) | O::Unsubscribe(_) => {}
            O::XpubVerbose(v) => self.xpub_verbose = v,
            O::XpubVerboser(v) => self.xpub_verboser = v,
            O::XpubNodrop(v) => self.xpub_nodrop = v,
            O::OnlyFirstSubscribe(v) => self.only_first_subscribe = v,
            O::ReqRelaxed(v) => self.req_relaxed = v,
            O::ReqCorrelate(v) => self.req_correlate = v,
            O::RouterMandatory(v) => self.router_mandatory = v,
            O::RouterHandover(v) => self.router_handover = v,
            O::ProbeRouter(v) => self.probe_router = v,
            O::ConnectRoutingId(v) => self.connect_routing_id = v.into(),
            O::WsOrigin(v) if v.is_empty() => self.ws_origins.clear(),
            // validate() checked that it is text.
            O::WsOrigin(v) => self
                .ws_origins
                .push(String::from_utf8_lossy(&v).into_owned()),
            // Stored above.
            O::PlainServer(_)
            | O::PlainUsername(_)
            | O::PlainPassword(_)
            | O::CurveServer(_)
            | O::CurvePublicKey(_)
            | O::CurveSecretKey(_)
            | O::CurveServerKey(_)
            | O::ZapDomain(_)
            | O::ZapEnforceDomain(_)
            | O::WssCertPem(_)
            | O::WssKeyPem(_)
            | O::WssTrustPem(_)
            | O::WssTrustSystem(_)
            | O::WssHostname(_) => {}
        }
    }

    /// The current value of the option `name`.
    ///
    /// # Errors
    /// [`Error::Inval`] for the write-only options (SUBSCRIBE, UNSUBSCRIBE), as libzmq's
    /// `zmq_getsockopt`.
    pub fn get(&self, name: OptionName) -> Result<SocketOption> {
        use OptionName as N;
        use SocketOption as O;
        if let Some(option) = self.security.get(name).or_else(|| self.wss.get(name)) {
            return Ok(option);
        }
        Ok(match name {
            N::SndHwm => O::SndHwm(self.sndhwm),
            N::RcvHwm => O::RcvHwm(self.rcvhwm),
            N::Linger => O::Linger(self.linger),
            N::SndTimeout => O::SndTimeout(self.sndtimeo),
            N::RcvTimeout => O::RcvTimeout(self.rcvtimeo),
            N::ReconnectIvl => O::ReconnectIvl(self.reconnect_ivl),
            N::ReconnectIvlMax => O::ReconnectIvlMax(self.reconnect_ivl_max),
            N::HandshakeIvl => O::HandshakeIvl(self.handshake_ivl),
            N::ConnectTimeout => O::ConnectTimeout(self.connect_timeout),
            N::MaxMsgSize => O::MaxMsgSize(self.maxmsgsize),
            N::RoutingId => O::RoutingId(self.routing_id.to_vec()),
            N::Backlog => O::Backlog(self.backlog),
            N::MaxHandshakes => O::MaxHandshakes(self.max_handshakes),
            N::HeartbeatIvl => O::HeartbeatIvl(self.heartbeat_ivl),
            N::HeartbeatTimeout => O::HeartbeatTimeout(self.heartbeat_timeout),
            N::HeartbeatTtl => O::HeartbeatTtl(self.heartbeat_ttl),
            N::Subscribe | N::Unsubscribe | N::WsOrigin | N::WssKeyPem => {
                return Err(Error::Inval(format!(
                    "{} can be set, not read",
                    name.libzmq_name()
                )))
            }
            N::XpubVerbose => O::XpubVerbose(self.xpub_verbose),
            N::XpubVerboser => O::XpubVerboser(self.xpub_verboser),
            N::XpubNodrop => O::XpubNodrop(self.xpub_nodrop),
            N::OnlyFirstSubscribe => O::OnlyFirstSubscribe(self.only_first_subscribe),
            N::ReqRelaxed => O::ReqRelaxed(self.req_relaxed),
            N::ReqCorrelate => O::ReqCorrelate(self.req_correlate),
            N::RouterMandatory => O::RouterMandatory(self.router_mandatory),
            N::RouterHandover => O::RouterHandover(self.router_handover),
            N::ProbeRouter => O::ProbeRouter(self.probe_router),
            N::ConnectRoutingId => O::ConnectRoutingId(self.connect_routing_id.to_vec()),
            N::PlainServer
            | N::PlainUsername
            | N::PlainPassword
            | N::CurveServer
            | N::CurvePublicKey
            | N::CurveSecretKey
            | N::CurveServerKey
            | N::ZapDomain
            | N::ZapEnforceDomain
            | N::WssCertPem
            | N::WssTrustPem
            | N::WssTrustSystem
            | N::WssHostname => unreachable_security(name)?,
        })
    }

    /// Whether a ws:// upgrade with this `Origin` header (None: no header, not a browser)
    /// may proceed under WS_ORIGIN.
    pub fn accepts_origin(&self, origin: Option<&str>) -> bool {
        match origin {
            _ if self.ws_origins.is_empty() => true,
            None => true,
            Some(o) => self.ws_origins.iter().any(|allowed| allowed == o),
        }
    }

    /// HEARTBEAT_TTL as the PING command carries it: whole deciseconds (docs/wire.md §5.1).
    pub fn heartbeat_ttl_deciseconds(&self) -> u16 {
        self.heartbeat_ttl.map_or(0, |t| {
            u16::try_from(t.as_millis() / 100).unwrap_or(u16::MAX)
        })
    }
}

/// The security and wss options are all answered by `SecurityOptions::get` and
/// `WssOptions::get`; reaching here is a missing row there, reported instead of panicking.
fn unreachable_security(name: OptionName) -> Result<SocketOption> {
    Err(Error::Inval(format!(
        "{} is not readable",
        name.libzmq_name()
    )))
}

/// For the options where libzmq's 0 means "none" (HANDSHAKE_IVL, HEARTBEAT_IVL,
/// HEARTBEAT_TTL): a zero duration is no duration, never a timer that fires at once.
fn nonzero(t: Option<Duration>) -> Option<Duration> {
    t.filter(|t| !t.is_zero())
}

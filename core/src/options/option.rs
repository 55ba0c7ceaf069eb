//! One option with its typed value.

use std::time::Duration;

use super::name::OptionName;
use crate::error::{Error, Result};
use crate::pattern::PatternOption;
use crate::security::{PublicKey, SecretBytes, SecretKey};

/// The largest HEARTBEAT_TTL: the PING command carries it in deciseconds in 16 bits
/// (libzmq refuses 6553.6 s and more).
const MAX_HEARTBEAT_TTL: Duration = Duration::from_millis(6_553_599);

/// The largest PEM option: a certificate chain or a bundle of trust anchors (the system's
/// whole bundle is about 200 KiB) fits; more is a mistake.
const MAX_PEM: usize = 1 << 20;

/// A socket option with its value, as `set_option` takes it and `get_option` returns it.
/// Names follow libzmq's `ZMQ_*` options; defaults are libzmq 4.3.5's (see
/// [`Options`](crate::Options)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SocketOption {
    /// ZMQ_SNDHWM: messages queued per peer before sending blocks or drops (0 = no limit).
    SndHwm(usize),
    /// ZMQ_RCVHWM: messages queued per peer on the receive side (0 = no limit).
    RcvHwm(usize),
    /// ZMQ_LINGER: how long closing waits to deliver queued messages (`None` = forever).
    Linger(Option<Duration>),
    /// ZMQ_SNDTIMEO: how long a blocking send waits (`None` = forever).
    SndTimeout(Option<Duration>),
    /// ZMQ_RCVTIMEO: how long a blocking receive waits (`None` = forever).
    RcvTimeout(Option<Duration>),
    /// ZMQ_RECONNECT_IVL (`None` = never reconnect).
    ReconnectIvl(Option<Duration>),
    /// ZMQ_RECONNECT_IVL_MAX (zero = fixed interval with jitter).
    ReconnectIvlMax(Duration),
    /// ZMQ_HANDSHAKE_IVL (`None` = no limit).
    HandshakeIvl(Option<Duration>),
    /// ZMQ_CONNECT_TIMEOUT (`None` = the kernel's; tcp://, ipc:// and ws:// connects).
    ConnectTimeout(Option<Duration>),
    /// ZMQ_MAXMSGSIZE (`None` = no limit).
    MaxMsgSize(Option<u64>),
    /// ZMQ_ROUTING_ID (1 to 255 bytes).
    RoutingId(Vec<u8>),
    /// ZMQ_BACKLOG: the listen(2) queue of endpoints bound afterwards (default 100).
    Backlog(u32),
    /// MAX_HANDSHAKES (isomq's): how many connections accepted by one listener may be in
    /// their handshake at once (TLS, WebSocket upgrade, ZMTP or ZWS handshake); each one
    /// accepted beyond that is closed at once, and reported as
    /// `MonitorEvent::AcceptFailed`. 0 = no limit; default 1000. Applies to endpoints bound
    /// afterwards; on a ws:// port shared by several binds, the first bind's value counts.
    /// Native only: a page does not listen.
    MaxHandshakes(usize),
    /// ZMQ_HEARTBEAT_IVL: send a heartbeat this often (`None` = never, the default).
    HeartbeatIvl(Option<Duration>),
    /// ZMQ_HEARTBEAT_TIMEOUT: drop the connection when nothing arrives this long after a
    /// heartbeat (`None` = the heartbeat interval).
    HeartbeatTimeout(Option<Duration>),
    /// ZMQ_HEARTBEAT_TTL: ask peers to drop the connection after this long without
    /// traffic from us (whole deciseconds, below 6553.6 s; `None` = ask nothing).
    HeartbeatTtl(Option<Duration>),
    /// ZMQ_SUBSCRIBE (SUB, XSUB): receive messages whose first frame starts with these bytes.
    /// Write-only.
    Subscribe(Vec<u8>),
    /// ZMQ_UNSUBSCRIBE (SUB, XSUB): undo one `Subscribe`. Write-only.
    Unsubscribe(Vec<u8>),
    /// ZMQ_XPUB_VERBOSE (XPUB): pass on duplicate subscriptions too.
    XpubVerbose(bool),
    /// ZMQ_XPUB_VERBOSER (XPUB): pass on duplicate subscriptions and unsubscriptions.
    XpubVerboser(bool),
    /// ZMQ_XPUB_NODROP (PUB, XPUB): fail with `Again` instead of dropping when a subscriber
    /// is full.
    XpubNodrop(bool),
    /// ZMQ_ONLY_FIRST_SUBSCRIBE (XPUB, XSUB): only the first frame of a message can be a
    /// subscription.
    OnlyFirstSubscribe(bool),
    /// ZMQ_REQ_RELAXED (REQ): allow a new request before the last one's reply arrived.
    ReqRelaxed(bool),
    /// ZMQ_REQ_CORRELATE (REQ): prefix requests with an id that replies must echo.
    ReqCorrelate(bool),
    /// ZMQ_ROUTER_MANDATORY (ROUTER): unroutable messages fail (`HostUnreach`, or `Again`
    /// when the peer is full) instead of being dropped.
    RouterMandatory(bool),
    /// ZMQ_ROUTER_HANDOVER (ROUTER): a new peer with a routing id in use takes it over.
    RouterHandover(bool),
    /// ZMQ_PROBE_ROUTER (DEALER, REQ, ROUTER): send an empty message on each new connection.
    ProbeRouter(bool),
    /// ZMQ_CONNECT_ROUTING_ID (ROUTER, 1 to 255 bytes): the routing id under which the peer
    /// of the next `connect` is known locally.
    ConnectRoutingId(Vec<u8>),
    /// ZMQ_PLAIN_SERVER: this side is a PLAIN server (false: back to NULL).
    PlainServer(bool),
    /// ZMQ_PLAIN_USERNAME (at most 255 bytes): makes this side a PLAIN client.
    PlainUsername(Vec<u8>),
    /// ZMQ_PLAIN_PASSWORD (at most 255 bytes): makes this side a PLAIN client.
    PlainPassword(SecretBytes),
    /// ZMQ_CURVE_SERVER: this side is a CURVE server (false: back to NULL); needs
    /// CURVE_SECRETKEY.
    CurveServer(bool),
    /// ZMQ_CURVE_PUBLICKEY: this side's long-term public key (derived from the secret key
    /// when unset).
    CurvePublicKey(PublicKey),
    /// ZMQ_CURVE_SECRETKEY: this side's long-term secret key.
    CurveSecretKey(SecretKey),
    /// ZMQ_CURVE_SERVERKEY: the server's public key; makes this side a CURVE client.
    CurveServerKey(PublicKey),
    /// ZMQ_ZAP_DOMAIN (at most 255 bytes): the domain ZAP requests name; with NULL, setting
    /// it makes connections ask ZAP too.
    ZapDomain(Vec<u8>),
    /// ZMQ_ZAP_ENFORCE_DOMAIN: without a ZAP handler, fail handshakes that would ask it
    /// instead of accepting them.
    ZapEnforceDomain(bool),
    /// WS_ORIGIN (isomq's): adds an origin (`https://example.com`, as browsers send it) to
    /// the ws:// listener's allow-list; empty clears it. With a list, a browser upgrade whose
    /// `Origin` is not on it gets HTTP 403; an upgrade without `Origin` (not a browser) is
    /// accepted. Without one, every origin is. Applies to endpoints bound afterwards.
    /// Write-only, like ZMQ_TCP_ACCEPT_FILTER.
    WsOrigin(Vec<u8>),
    /// ZMQ_WSS_CERT_PEM: the certificate chain (PEM, leaf first) that wss:// endpoints bound
    /// afterwards present. Native only: a page cannot listen.
    WssCertPem(Vec<u8>),
    /// ZMQ_WSS_KEY_PEM: the private key (PEM: PKCS#8, PKCS#1 or SEC1) of `WssCertPem`.
    /// Write-only; zeroized when dropped.
    WssKeyPem(SecretBytes),
    /// ZMQ_WSS_TRUST_PEM: certificates (PEM) that wss:// connects trust as roots, besides
    /// the system's unless `WssTrustSystem` is off. Native only: a page trusts what its
    /// browser trusts.
    WssTrustPem(Vec<u8>),
    /// ZMQ_WSS_TRUST_SYSTEM: whether wss:// connects trust the system's root certificates
    /// (default true). Native only.
    WssTrustSystem(bool),
    /// ZMQ_WSS_HOSTNAME: the name the server's certificate must be valid for; empty
    /// (default) means the endpoint's host. Native only.
    WssHostname(Vec<u8>),
}

impl SocketOption {
    /// The option's name.
    pub fn name(&self) -> OptionName {
        use OptionName as N;
        use SocketOption as O;
        match self {
            O::SndHwm(_) => N::SndHwm,
            O::RcvHwm(_) => N::RcvHwm,
            O::Linger(_) => N::Linger,
            O::SndTimeout(_) => N::SndTimeout,
            O::RcvTimeout(_) => N::RcvTimeout,
            O::ReconnectIvl(_) => N::ReconnectIvl,
            O::ReconnectIvlMax(_) => N::ReconnectIvlMax,
            O::HandshakeIvl(_) => N::HandshakeIvl,
            O::ConnectTimeout(_) => N::ConnectTimeout,
            O::MaxMsgSize(_) => N::MaxMsgSize,
            O::RoutingId(_) => N::RoutingId,
            O::Backlog(_) => N::Backlog,
            O::MaxHandshakes(_) => N::MaxHandshakes,
            O::HeartbeatIvl(_) => N::HeartbeatIvl,
            O::HeartbeatTimeout(_) => N::HeartbeatTimeout,
            O::HeartbeatTtl(_) => N::HeartbeatTtl,
            O::Subscribe(_) => N::Subscribe,
            O::Unsubscribe(_) => N::Unsubscribe,
            O::XpubVerbose(_) => N::XpubVerbose,
            O::XpubVerboser(_) => N::XpubVerboser,
            O::XpubNodrop(_) => N::XpubNodrop,
            O::OnlyFirstSubscribe(_) => N::OnlyFirstSubscribe,
            O::ReqRelaxed(_) => N::ReqRelaxed,
            O::ReqCorrelate(_) => N::ReqCorrelate,
            O::RouterMandatory(_) => N::RouterMandatory,
            O::RouterHandover(_) => N::RouterHandover,
            O::ProbeRouter(_) => N::ProbeRouter,
            O::ConnectRoutingId(_) => N::ConnectRoutingId,
            O::PlainServer(_) => N::PlainServer,
            O::PlainUsername(_) => N::PlainUsername,
            O::PlainPassword(_) => N::PlainPassword,
            O::CurveServer(_) => N::CurveServer,
            O::CurvePublicKey(_) => N::CurvePublicKey,
            O::CurveSecretKey(_) => N::CurveSecretKey,
            O::CurveServerKey(_) => N::CurveServerKey,
            O::ZapDomain(_) => N::ZapDomain,
            O::ZapEnforceDomain(_) => N::ZapEnforceDomain,
            O::WsOrigin(_) => N::WsOrigin,
            O::WssCertPem(_) => N::WssCertPem,
            O::WssKeyPem(_) => N::WssKeyPem,
            O::WssTrustPem(_) => N::WssTrustPem,
            O::WssTrustSystem(_) => N::WssTrustSystem,
            O::WssHostname(_) => N::WssHostname,
        }
    }

    /// Checks the value's range (libzmq's `setsockopt` rules).
    ///
    /// # Errors
    /// [`Error::Inval`] naming the option and the allowed range.
    pub fn validate(&self) -> Result<()> {
        let bad = |rule: &str| {
            Err(Error::Inval(format!(
                "{} {rule}",
                self.name().libzmq_name()
            )))
        };
        match self {
            SocketOption::RoutingId(id) | SocketOption::ConnectRoutingId(id)
                if id.is_empty() || id.len() > 255 =>
            {
                bad("must be 1 to 255 bytes")
            }
            SocketOption::HeartbeatTtl(Some(t)) if *t > MAX_HEARTBEAT_TTL => {
                bad("must be below 6553.6 s")
            }
            SocketOption::Backlog(n) if i32::try_from(*n).is_err() => bad("is too large"),
            SocketOption::WsOrigin(b) if std::str::from_utf8(b).is_err() || b.len() > 1024 => {
                bad("must be text of at most 1024 bytes")
            }
            SocketOption::WssHostname(b) if std::str::from_utf8(b).is_err() || b.len() > 255 => {
                bad("must be text of at most 255 bytes")
            }
            SocketOption::WssCertPem(b) | SocketOption::WssTrustPem(b) if b.len() > MAX_PEM => {
                bad("must be at most 1 MiB")
            }
            SocketOption::WssKeyPem(b) if b.as_bytes().len() > MAX_PEM => {
                bad("must be at most 1 MiB")
            }
            SocketOption::PlainUsername(b) | SocketOption::ZapDomain(b) if b.len() > 255 => {
                bad("must be at most 255 bytes")
            }
            SocketOption::PlainPassword(b) if b.as_bytes().len() > 255 => {
                bad("must be at most 255 bytes")
            }
            _ => Ok(()),
        }
    }

    /// The same option as the socket type's pattern takes it, for the options that belong to
    /// the type rather than to the socket.
    pub(crate) fn pattern_option(&self) -> Option<PatternOption> {
        use PatternOption as P;
        use SocketOption as O;
        Some(match self {
            O::Subscribe(t) => P::Subscribe(t.clone()),
            O::Unsubscribe(t) => P::Unsubscribe(t.clone()),
            O::XpubVerbose(b) => P::XpubVerbose(*b),
            O::XpubVerboser(b) => P::XpubVerboser(*b),
            O::XpubNodrop(b) => P::XpubNodrop(*b),
            O::OnlyFirstSubscribe(b) => P::OnlyFirstSubscribe(*b),
            O::ReqRelaxed(b) => P::ReqRelaxed(*b),
            O::ReqCorrelate(b) => P::ReqCorrelate(*b),
            O::RouterMandatory(b) => P::RouterMandatory(*b),
            O::RouterHandover(b) => P::RouterHandover(*b),
            O::ProbeRouter(b) => P::ProbeRouter(*b),
            O::ConnectRoutingId(id) => P::ConnectRoutingId(id.clone()),
            _ => return None,
        })
    }
}

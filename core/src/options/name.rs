//! Option names, their spellings (libzmq's, JavaScript's) and libzmq's C-level values.

use std::time::Duration;

use super::option::SocketOption;
use crate::error::{Error, Result};
use crate::security::{PublicKey, SecretKey};

/// An option's value as libzmq's `zmq_setsockopt` takes it: an integer (milliseconds for
/// times, with -1 or 0 meaning "none" as each option says), a flag, or bytes. Hosts convert
/// their own values (JavaScript numbers, command-line text) to this, and the table turns it
/// into a typed [`SocketOption`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionValue {
    /// A count, a size, or a time in milliseconds.
    Int(i64),
    /// A flag (libzmq's int 0 or 1).
    Bool(bool),
    /// A routing id or a topic.
    Bytes(Vec<u8>),
}

/// How an option's libzmq integer maps to its typed value.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A count ≥ 0.
    Count,
    /// Milliseconds ≥ 0, or `none` for no value.
    OptMillis {
        none: i64,
    },
    /// Milliseconds ≥ 0.
    Millis,
    /// Bytes ≥ 0, or -1 for no limit.
    OptSize,
    Flag,
    Bytes,
    /// A CURVE key.
    Key,
}

macro_rules! option_names {
    ($($variant:ident => $zmq:literal, $js:literal, $kind:expr;)*) => {
        /// The name of an option, for [`Options::get`](crate::Options::get) and the hosts'
        /// `get_option`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum OptionName {
            $(
                #[doc = concat!("`", $zmq, "` (JavaScript `", $js, "`)")]
                $variant,
            )*
        }

        impl OptionName {
            /// Every option, in the order of libzmq's documentation.
            pub const ALL: &'static [OptionName] = &[$(OptionName::$variant),*];

            /// libzmq's name, e.g. `ZMQ_SNDHWM` (`ISOMQ_` for isomq's own options).
            pub fn libzmq_name(self) -> &'static str {
                match self { $(OptionName::$variant => $zmq,)* }
            }

            /// The JavaScript name: libzmq's name without `ZMQ_`, in camelCase
            /// (`ZMQ_RECONNECT_IVL_MAX` is `reconnectIvlMax`).
            pub fn js_name(self) -> &'static str {
                match self { $(OptionName::$variant => $js,)* }
            }

            fn kind(self) -> Kind {
                match self { $(OptionName::$variant => $kind,)* }
            }
        }
    };
}

option_names! {
    SndHwm => "ZMQ_SNDHWM", "sndhwm", Kind::Count;
    RcvHwm => "ZMQ_RCVHWM", "rcvhwm", Kind::Count;
    Linger => "ZMQ_LINGER", "linger", Kind::OptMillis { none: -1 };
    SndTimeout => "ZMQ_SNDTIMEO", "sndtimeo", Kind::OptMillis { none: -1 };
    RcvTimeout => "ZMQ_RCVTIMEO", "rcvtimeo", Kind::OptMillis { none: -1 };
    ReconnectIvl => "ZMQ_RECONNECT_IVL", "reconnectIvl", Kind::OptMillis { none: -1 };
    ReconnectIvlMax => "ZMQ_RECONNECT_IVL_MAX", "reconnectIvlMax", Kind::Millis;
    HandshakeIvl => "ZMQ_HANDSHAKE_IVL", "handshakeIvl", Kind::OptMillis { none: 0 };
    ConnectTimeout => "ZMQ_CONNECT_TIMEOUT", "connectTimeout", Kind::OptMillis { none: 0 };
    MaxMsgSize => "ZMQ_MAXMSGSIZE", "maxmsgsize", Kind::OptSize;
    RoutingId => "ZMQ_ROUTING_ID", "routingId", Kind::Bytes;
    Backlog => "ZMQ_BACKLOG", "backlog", Kind::Count;
    MaxHandshakes => "ISOMQ_MAX_HANDSHAKES", "maxHandshakes", Kind::Count;
    HeartbeatIvl => "ZMQ_HEARTBEAT_IVL", "heartbeatIvl", Kind::OptMillis { none: 0 };
    HeartbeatTimeout => "ZMQ_HEARTBEAT_TIMEOUT", "heartbeatTimeout", Kind::OptMillis { none: -1 };
    HeartbeatTtl => "ZMQ_HEARTBEAT_TTL", "heartbeatTtl", Kind::OptMillis { none: 0 };
    Subscribe => "ZMQ_SUBSCRIBE", "subscribe", Kind::Bytes;
    Unsubscribe => "ZMQ_UNSUBSCRIBE", "unsubscribe", Kind::Bytes;
    XpubVerbose => "ZMQ_XPUB_VERBOSE", "xpubVerbose", Kind::Flag;
    XpubVerboser => "ZMQ_XPUB_VERBOSER", "xpubVerboser", Kind::Flag;
    XpubNodrop => "ZMQ_XPUB_NODROP", "xpubNodrop", Kind::Flag;
    OnlyFirstSubscribe => "ZMQ_ONLY_FIRST_SUBSCRIBE", "onlyFirstSubscribe", Kind::Flag;
    ReqRelaxed => "ZMQ_REQ_RELAXED", "reqRelaxed", Kind::Flag;
    ReqCorrelate => "ZMQ_REQ_CORRELATE", "reqCorrelate", Kind::Flag;
    RouterMandatory => "ZMQ_ROUTER_MANDATORY", "routerMandatory", Kind::Flag;
    RouterHandover => "ZMQ_ROUTER_HANDOVER", "routerHandover", Kind::Flag;
    ProbeRouter => "ZMQ_PROBE_ROUTER", "probeRouter", Kind::Flag;
    ConnectRoutingId => "ZMQ_CONNECT_ROUTING_ID", "connectRoutingId", Kind::Bytes;
    PlainServer => "ZMQ_PLAIN_SERVER", "plainServer", Kind::Flag;
    PlainUsername => "ZMQ_PLAIN_USERNAME", "plainUsername", Kind::Bytes;
    PlainPassword => "ZMQ_PLAIN_PASSWORD", "plainPassword", Kind::Bytes;
    CurveServer => "ZMQ_CURVE_SERVER", "curveServer", Kind::Flag;
    CurvePublicKey => "ZMQ_CURVE_PUBLICKEY", "curvePublickey", Kind::Key;
    CurveSecretKey => "ZMQ_CURVE_SECRETKEY", "curveSecretkey", Kind::Key;
    CurveServerKey => "ZMQ_CURVE_SERVERKEY", "curveServerkey", Kind::Key;
    ZapDomain => "ZMQ_ZAP_DOMAIN", "zapDomain", Kind::Bytes;
    ZapEnforceDomain => "ZMQ_ZAP_ENFORCE_DOMAIN", "zapEnforceDomain", Kind::Flag;
    WsOrigin => "ISOMQ_WS_ORIGIN", "wsOrigin", Kind::Bytes;
    WssCertPem => "ZMQ_WSS_CERT_PEM", "wssCertPem", Kind::Bytes;
    WssKeyPem => "ZMQ_WSS_KEY_PEM", "wssKeyPem", Kind::Bytes;
    WssTrustPem => "ZMQ_WSS_TRUST_PEM", "wssTrustPem", Kind::Bytes;
    WssTrustSystem => "ZMQ_WSS_TRUST_SYSTEM", "wssTrustSystem", Kind::Flag;
    WssHostname => "ZMQ_WSS_HOSTNAME", "wssHostname", Kind::Bytes;
}

impl OptionName {
    /// The option whose JavaScript name is `name`.
    pub fn from_js_name(name: &str) -> Option<OptionName> {
        OptionName::ALL
            .iter()
            .copied()
            .find(|n| n.js_name() == name)
    }

    /// Whether `get` can read it (SUBSCRIBE and UNSUBSCRIBE are actions, not state; a
    /// wss:// private key is not given back).
    pub fn is_readable(self) -> bool {
        !matches!(
            self,
            OptionName::Subscribe
                | OptionName::Unsubscribe
                | OptionName::WsOrigin
                | OptionName::WssKeyPem
        )
    }

    /// The typed option for libzmq's value `value`, range-checked.
    ///
    /// # Errors
    /// [`Error::Inval`] for a value of the wrong kind or out of range.
    pub fn parse(self, value: OptionValue) -> Result<SocketOption> {
        let bad = |rule: &str| Error::Inval(format!("{} {rule}", self.libzmq_name()));
        let option = match (self.kind(), value) {
            (Kind::Count, OptionValue::Int(n)) => {
                let n = u64::try_from(n).map_err(|_| bad("must be 0 or more"))?;
                self.with_count(n).ok_or_else(|| bad("is too large"))?
            }
            (Kind::OptMillis { none }, OptionValue::Int(n)) => {
                let t = if n == none {
                    None
                } else {
                    let ms = u64::try_from(n)
                        .map_err(|_| bad(&format!("must be {none} (none) or a time in ms ≥ 0")))?;
                    Some(Duration::from_millis(ms))
                };
                self.with_opt_millis(t)
            }
            (Kind::Millis, OptionValue::Int(n)) => {
                let ms = u64::try_from(n).map_err(|_| bad("must be a time in ms ≥ 0"))?;
                SocketOption::ReconnectIvlMax(Duration::from_millis(ms))
            }
            (Kind::OptSize, OptionValue::Int(n)) => match n {
                -1 => SocketOption::MaxMsgSize(None),
                n => SocketOption::MaxMsgSize(Some(
                    u64::try_from(n).map_err(|_| bad("must be -1 (no limit) or a size ≥ 0"))?,
                )),
            },
            (Kind::Flag, OptionValue::Bool(b)) => self.with_flag(b),
            (Kind::Flag, OptionValue::Int(n @ (0 | 1))) => self.with_flag(n == 1),
            (Kind::Bytes, OptionValue::Bytes(b)) => self.with_bytes(b),
            (Kind::Key, OptionValue::Bytes(b)) => self.with_key(&b)?,
            (kind, _) => return Err(bad(&format!("takes {}", kind.describe()))),
        };
        option.validate()?;
        Ok(option)
    }

    fn with_count(self, n: u64) -> Option<SocketOption> {
        Some(match self {
            OptionName::SndHwm => SocketOption::SndHwm(usize::try_from(n).ok()?),
            OptionName::RcvHwm => SocketOption::RcvHwm(usize::try_from(n).ok()?),
            OptionName::MaxHandshakes => SocketOption::MaxHandshakes(usize::try_from(n).ok()?),
            _ => SocketOption::Backlog(u32::try_from(n).ok()?),
        })
    }

    fn with_opt_millis(self, t: Option<Duration>) -> SocketOption {
        match self {
            OptionName::Linger => SocketOption::Linger(t),
            OptionName::SndTimeout => SocketOption::SndTimeout(t),
            OptionName::RcvTimeout => SocketOption::RcvTimeout(t),
            OptionName::ReconnectIvl => SocketOption::ReconnectIvl(t),
            OptionName::HandshakeIvl => SocketOption::HandshakeIvl(t),
            OptionName::ConnectTimeout => SocketOption::ConnectTimeout(t),
            OptionName::HeartbeatIvl => SocketOption::HeartbeatIvl(t),
            OptionName::HeartbeatTimeout => SocketOption::HeartbeatTimeout(t),
            _ => SocketOption::HeartbeatTtl(t),
        }
    }

    fn with_flag(self, b: bool) -> SocketOption {
        match self {
            OptionName::XpubVerbose => SocketOption::XpubVerbose(b),
            OptionName::XpubVerboser => SocketOption::XpubVerboser(b),
            OptionName::XpubNodrop => SocketOption::XpubNodrop(b),
            OptionName::OnlyFirstSubscribe => SocketOption::OnlyFirstSubscribe(b),
            OptionName::ReqRelaxed => SocketOption::ReqRelaxed(b),
            OptionName::ReqCorrelate => SocketOption::ReqCorrelate(b),
            OptionName::RouterMandatory => SocketOption::RouterMandatory(b),
            OptionName::RouterHandover => SocketOption::RouterHandover(b),
            OptionName::PlainServer => SocketOption::PlainServer(b),
            OptionName::CurveServer => SocketOption::CurveServer(b),
            OptionName::ZapEnforceDomain => SocketOption::ZapEnforceDomain(b),
            OptionName::WssTrustSystem => SocketOption::WssTrustSystem(b),
            _ => SocketOption::ProbeRouter(b),
        }
    }

    fn with_bytes(self, b: Vec<u8>) -> SocketOption {
        match self {
            OptionName::RoutingId => SocketOption::RoutingId(b),
            OptionName::Subscribe => SocketOption::Subscribe(b),
            OptionName::Unsubscribe => SocketOption::Unsubscribe(b),
            OptionName::PlainUsername => SocketOption::PlainUsername(b),
            OptionName::PlainPassword => SocketOption::PlainPassword(b.into()),
            OptionName::ZapDomain => SocketOption::ZapDomain(b),
            OptionName::WsOrigin => SocketOption::WsOrigin(b),
            OptionName::WssCertPem => SocketOption::WssCertPem(b),
            OptionName::WssKeyPem => SocketOption::WssKeyPem(b.into()),
            OptionName::WssTrustPem => SocketOption::WssTrustPem(b),
            OptionName::WssHostname => SocketOption::WssHostname(b),
            _ => SocketOption::ConnectRoutingId(b),
        }
    }

    /// A CURVE key: 32 bytes raw, 40 of Z85, or 41 (Z85 and a NUL), as libzmq takes them.
    fn with_key(self, b: &[u8]) -> Result<SocketOption> {
        Ok(match self {
            OptionName::CurvePublicKey => SocketOption::CurvePublicKey(PublicKey::parse(b)?),
            OptionName::CurveSecretKey => SocketOption::CurveSecretKey(SecretKey::parse(b)?),
            _ => SocketOption::CurveServerKey(PublicKey::parse(b)?),
        })
    }
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Count | Kind::OptSize => "a number",
            Kind::OptMillis { .. } | Kind::Millis => "a time in ms",
            Kind::Flag => "a flag",
            Kind::Bytes => "bytes",
            Kind::Key => "a key (32 bytes, or 40 characters of Z85)",
        }
    }
}

impl SocketOption {
    /// The value as libzmq's `zmq_getsockopt` gives it (the inverse of [`OptionName::parse`]).
    pub fn value(&self) -> OptionValue {
        let ms = |t: &Duration| i64::try_from(t.as_millis()).unwrap_or(i64::MAX);
        let opt_ms =
            |t: &Option<Duration>, none: i64| OptionValue::Int(t.as_ref().map_or(none, ms));
        let count = |n: u64| OptionValue::Int(i64::try_from(n).unwrap_or(i64::MAX));
        match self {
            SocketOption::SndHwm(n) | SocketOption::RcvHwm(n) | SocketOption::MaxHandshakes(n) => {
                count(*n as u64)
            }
            SocketOption::Backlog(n) => count(u64::from(*n)),
            SocketOption::MaxMsgSize(n) => n.map_or(OptionValue::Int(-1), count),
            SocketOption::ReconnectIvlMax(t) => OptionValue::Int(ms(t)),
            SocketOption::Linger(t)
            | SocketOption::SndTimeout(t)
            | SocketOption::RcvTimeout(t)
            | SocketOption::ReconnectIvl(t)
            | SocketOption::HandshakeIvl(t)
            | SocketOption::ConnectTimeout(t)
            | SocketOption::HeartbeatIvl(t)
            | SocketOption::HeartbeatTimeout(t)
            | SocketOption::HeartbeatTtl(t) => match self.name().kind() {
                Kind::OptMillis { none } => opt_ms(t, none),
                _ => opt_ms(t, -1),
            },
            SocketOption::RoutingId(b)
            | SocketOption::Subscribe(b)
            | SocketOption::Unsubscribe(b)
            | SocketOption::ConnectRoutingId(b)
            | SocketOption::PlainUsername(b)
            | SocketOption::ZapDomain(b)
            | SocketOption::WsOrigin(b)
            | SocketOption::WssCertPem(b)
            | SocketOption::WssTrustPem(b)
            | SocketOption::WssHostname(b) => OptionValue::Bytes(b.clone()),
            SocketOption::PlainPassword(b) | SocketOption::WssKeyPem(b) => {
                OptionValue::Bytes(b.as_bytes().to_vec())
            }
            SocketOption::CurvePublicKey(k) | SocketOption::CurveServerKey(k) => {
                OptionValue::Bytes(k.as_bytes().to_vec())
            }
            SocketOption::CurveSecretKey(k) => OptionValue::Bytes(k.as_bytes().to_vec()),
            SocketOption::XpubVerbose(b)
            | SocketOption::XpubVerboser(b)
            | SocketOption::XpubNodrop(b)
            | SocketOption::OnlyFirstSubscribe(b)
            | SocketOption::ReqRelaxed(b)
            | SocketOption::ReqCorrelate(b)
            | SocketOption::RouterMandatory(b)
            | SocketOption::RouterHandover(b)
            | SocketOption::ProbeRouter(b)
            | SocketOption::PlainServer(b)
            | SocketOption::CurveServer(b)
            | SocketOption::ZapEnforceDomain(b)
            | SocketOption::WssTrustSystem(b) => OptionValue::Bool(*b),
        }
    }
}

//! Endpoint strings: `tcp://host:port`, `ipc://path`, `inproc://name`, `ws://host:port/path`
//! and `wss://host:port/path`.

use crate::error::Error;
use std::fmt;

/// A parsed endpoint. Parsing checks the syntax only; resolving names and binding is the
/// transport's business.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `tcp://host:port`. `host` may be `*` (all interfaces, bind only), a name, an IPv4
    /// address or a bracketed IPv6 address (brackets removed here). `port` is `None` for `*`
    /// (an ephemeral port chosen by the system, bind only); `:0` means the same.
    Tcp {
        /// Host name or address, without brackets.
        host: String,
        /// Port; `None` for the wildcard.
        port: Option<u16>,
    },
    /// `ipc://path`, `ipc://@abstract` (Linux abstract namespace) or `ipc://*` (a fresh
    /// temporary path, bind only).
    Ipc(String),
    /// `inproc://name`: between sockets of one context.
    Inproc(String),
    /// `ws://host:port/path`: ZWS 2.0 over WebSocket; `wss://` the same over TLS. `host`
    /// and `port` as for tcp (a wildcard port for bind only); `path` starts with `/` and is
    /// `/` when omitted.
    Ws {
        /// Host name or address, without brackets.
        host: String,
        /// Port; `None` for the wildcard.
        port: Option<u16>,
        /// The HTTP resource path, `/` by default.
        path: String,
        /// `wss://`: the WebSocket runs over TLS.
        tls: bool,
    },
}

/// Longest `ipc://` path accepted: `sizeof(sun_path) - 1` on Linux, as libzmq.
pub const IPC_PATH_MAX: usize = 107;

impl Endpoint {
    /// Parses an endpoint string.
    ///
    /// # Errors
    /// [`Error::Inval`] for a malformed endpoint, [`Error::ProtoNoSupport`] for an unknown
    /// transport.
    pub fn parse(s: &str) -> Result<Endpoint, Error> {
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| Error::Inval(format!("endpoint {s:?} has no transport:// prefix")))?;
        match scheme {
            "tcp" => parse_tcp(s, rest),
            "ws" => parse_ws(s, rest, false),
            "wss" => parse_ws(s, rest, true),
            "ipc" => {
                if rest.is_empty() || rest == "@" {
                    return Err(Error::Inval(format!("endpoint {s:?} has an empty path")));
                }
                if rest.len() > IPC_PATH_MAX {
                    return Err(Error::Inval(format!(
                        "ipc path longer than {IPC_PATH_MAX} bytes"
                    )));
                }
                Ok(Endpoint::Ipc(rest.to_owned()))
            }
            "inproc" => {
                if rest.is_empty() {
                    return Err(Error::Inval(format!("endpoint {s:?} has an empty name")));
                }
                Ok(Endpoint::Inproc(rest.to_owned()))
            }
            other => Err(Error::ProtoNoSupport(other.to_owned())),
        }
    }

    /// Whether the endpoint asks for a system-chosen port or path (`tcp://h:*`, `:0`,
    /// `ipc://*`).
    pub fn is_wildcard(&self) -> bool {
        match self {
            Endpoint::Tcp { port, .. } | Endpoint::Ws { port, .. } => {
                matches!(port, None | Some(0))
            }
            Endpoint::Ipc(p) => p == "*",
            Endpoint::Inproc(_) => false,
        }
    }
}

fn parse_tcp(s: &str, rest: &str) -> Result<Endpoint, Error> {
    let bad = |why: &str| Error::Inval(format!("endpoint {s:?}: {why}"));
    let (host, port) = rest.rsplit_once(':').ok_or_else(|| bad("missing :port"))?;
    let host = if let Some(inner) = host.strip_prefix('[') {
        inner
            .strip_suffix(']')
            .ok_or_else(|| bad("unclosed [ in IPv6 address"))?
    } else {
        if host.contains(':') {
            return Err(bad("IPv6 addresses must be bracketed"));
        }
        host
    };
    if host.is_empty() {
        return Err(bad("empty host"));
    }
    if host.contains(['/', ' ', '?', '#']) {
        return Err(bad("invalid character in host"));
    }
    let port = match port {
        "*" => None,
        p => Some(
            p.parse::<u16>()
                .map_err(|_| bad("port is not a number in 0..=65535"))?,
        ),
    };
    Ok(Endpoint::Tcp {
        host: host.to_owned(),
        port,
    })
}

fn parse_ws(s: &str, rest: &str, tls: bool) -> Result<Endpoint, Error> {
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    if path.contains(['?', '#', ' ', '\r', '\n']) {
        return Err(Error::Inval(format!(
            "endpoint {s:?}: the path may not contain '?', '#' or spaces"
        )));
    }
    let Endpoint::Tcp { host, port } = parse_tcp(s, authority)? else {
        return Err(Error::Inval(format!("endpoint {s:?}: bad host:port")));
    };
    Ok(Endpoint::Ws {
        host,
        port,
        path: path.to_owned(),
        tls,
    })
}

/// `host` as it appears in a URL: IPv6 addresses in brackets.
fn url_host(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp { host, port } => {
                let host_fmt = url_host(host);
                match port {
                    Some(p) => write!(f, "tcp://{host_fmt}:{p}"),
                    None => write!(f, "tcp://{host_fmt}:*"),
                }
            }
            Endpoint::Ipc(p) => write!(f, "ipc://{p}"),
            Endpoint::Inproc(n) => write!(f, "inproc://{n}"),
            Endpoint::Ws {
                host,
                port,
                path,
                tls,
            } => {
                let host = url_host(host);
                let scheme = if *tls { "wss" } else { "ws" };
                match port {
                    Some(p) => write!(f, "{scheme}://{host}:{p}{path}"),
                    None => write!(f, "{scheme}://{host}:*{path}"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_forms() {
        assert_eq!(
            Endpoint::parse("tcp://127.0.0.1:5555").ok(),
            Some(Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: Some(5555)
            })
        );
        let wild = Endpoint::parse("tcp://*:*").ok();
        assert_eq!(
            wild,
            Some(Endpoint::Tcp {
                host: "*".into(),
                port: None
            })
        );
        assert!(Endpoint::parse("tcp://127.0.0.1:0").is_ok_and(|e| e.is_wildcard()));
        assert_eq!(
            Endpoint::parse("tcp://[::1]:80").ok(),
            Some(Endpoint::Tcp {
                host: "::1".into(),
                port: Some(80)
            })
        );
        assert_eq!(
            Endpoint::parse("tcp://[::1]:80")
                .map(|e| e.to_string())
                .ok()
                .as_deref(),
            Some("tcp://[::1]:80")
        );
    }

    #[test]
    fn malformed_endpoints_are_einval() {
        for bad in [
            "tcp://127.0.0.1",
            "tcp://:5",
            "tcp://h:99999",
            "tcp://h:x",
            "tcp://::1:5",
            "127.0.0.1:5",
            "ipc://",
            "ipc://@",
            "inproc://",
        ] {
            assert!(
                matches!(Endpoint::parse(bad), Err(Error::Inval(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            Endpoint::parse("udp://h:1"),
            Err(Error::ProtoNoSupport(_))
        ));
        let long = format!("ipc://{}", "x".repeat(IPC_PATH_MAX + 1));
        assert!(Endpoint::parse(&long).is_err());
    }

    #[test]
    fn ws_forms() {
        let ws = |host: &str, port, path: &str| Endpoint::Ws {
            host: host.into(),
            port,
            path: path.into(),
            tls: false,
        };
        assert_eq!(
            Endpoint::parse("ws://127.0.0.1:8080/metrics").ok(),
            Some(ws("127.0.0.1", Some(8080), "/metrics"))
        );
        assert_eq!(
            Endpoint::parse("ws://h:80").ok(),
            Some(ws("h", Some(80), "/"))
        );
        assert_eq!(
            Endpoint::parse("ws://[::1]:*/a/b").ok(),
            Some(ws("::1", None, "/a/b"))
        );
        assert!(Endpoint::parse("ws://127.0.0.1:*/x").is_ok_and(|e| e.is_wildcard()));
        assert!(matches!(
            Endpoint::parse("wss://h:443/x"),
            Ok(Endpoint::Ws { tls: true, .. })
        ));
        for text in [
            "ws://127.0.0.1:8080/metrics",
            "ws://[::1]:*/a/b",
            "ws://h:1/",
            "wss://example.com:443/feed",
            "wss://[::1]:*/",
        ] {
            assert_eq!(
                Endpoint::parse(text).map(|e| e.to_string()).ok().as_deref(),
                Some(text)
            );
        }
        for bad in ["ws://h/x", "ws://:5/x", "ws://h:5/x?y", "ws://h:x/"] {
            assert!(
                matches!(Endpoint::parse(bad), Err(Error::Inval(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn ipc_and_inproc_forms() {
        assert_eq!(
            Endpoint::parse("ipc://@abs").ok(),
            Some(Endpoint::Ipc("@abs".into()))
        );
        assert!(Endpoint::parse("ipc://*").is_ok_and(|e| e.is_wildcard()));
        assert_eq!(
            Endpoint::parse("inproc://a/b").ok(),
            Some(Endpoint::Inproc("a/b".into()))
        );
    }
}

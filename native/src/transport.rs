//! Turning tcp://, ipc:// and ws:// endpoints into listeners and peer addresses.

use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::SocketAddr as UnixAddr;
use std::path::PathBuf;

use isomq_core::{Endpoint, Error, Result, WssOptions};
use mio::net::{TcpListener, UnixListener};

use crate::stream::{Listener, PeerAddr};
use crate::tls::{self, TlsAccept};

/// A random u64 from the standard library's per-process random hash keys: enough for
/// reconnect jitter and temporary names, without a global generator.
pub(crate) fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x15_0a_0f);
    h.finish()
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| Error::Inval(format!("cannot resolve {host:?}: {e}")))?
        .collect();
    // Prefer IPv4 as libzmq does without ZMQ_IPV6.
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| Error::Inval(format!("cannot resolve {host:?}")))
}

fn tcp_endpoint(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("tcp://{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("tcp://[{}]:{}", a.ip(), a.port()),
    }
}

/// How `last_endpoint` spells a ws:// (or, with `tls`, wss://) binding.
pub(crate) fn ws_endpoint(addr: SocketAddr, path: &str, tls: bool) -> String {
    let scheme = if tls { "wss" } else { "ws" };
    match addr {
        SocketAddr::V4(a) => format!("{scheme}://{}:{}{path}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("{scheme}://[{}]:{}{path}", a.ip(), a.port()),
    }
}

/// The address a ws:// bind listens on: `None` for a wildcard port (nothing to share).
pub(crate) fn ws_bind_addr(host: &str, port: Option<u16>) -> Result<Option<SocketAddr>> {
    match port {
        None | Some(0) => Ok(None),
        Some(p) if host == "*" => Ok(Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), p))),
        Some(p) => resolve(host, p).map(Some),
    }
}

/// Binds the TCP listener of a new ws:// port (wss:// with `tls`); returns it with the
/// address it got.
pub(crate) fn bind_ws(
    host: &str,
    port: Option<u16>,
    tls: Option<TlsAccept>,
) -> Result<(Listener, SocketAddr)> {
    let addr = match ws_bind_addr(host, port)? {
        Some(addr) => addr,
        None if host == "*" => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        None => resolve(host, 0)?,
    };
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    let listener = match tls {
        Some(tls) => Listener::Tls(listener, tls),
        None => Listener::Tcp(listener),
    };
    Ok((listener, local))
}

fn abstract_addr(name: &str) -> Result<UnixAddr> {
    UnixAddr::from_abstract_name(name.as_bytes()).map_err(Error::from)
}

/// Binds a listener; returns it with the resolved endpoint (what `last_endpoint` reports).
pub(crate) fn bind(endpoint: &Endpoint) -> Result<(Listener, String)> {
    match endpoint {
        Endpoint::Tcp { host, port } => {
            let port = port.unwrap_or(0);
            let addr = if host == "*" {
                SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
            } else {
                resolve(host, port)?
            };
            let listener = TcpListener::bind(addr)?;
            let local = listener.local_addr()?;
            Ok((Listener::Tcp(listener), tcp_endpoint(local)))
        }
        Endpoint::Ipc(path) if path == "*" => {
            // libzmq: a fresh directory under $TMPDIR with a socket inside, removed on close.
            let base = std::env::var_os("TMPDIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/tmp"));
            let mut last_err = None;
            for _ in 0..16 {
                let dir = base.join(format!("isomq-{:012x}", random_u64() & 0xffff_ffff_ffff));
                match std::fs::create_dir(&dir) {
                    Ok(()) => {
                        let sock = dir.join("socket");
                        let listener = UnixListener::bind(&sock)?;
                        let name = format!("ipc://{}", sock.display());
                        return Ok((Listener::Unix(listener, Some(sock)), name));
                    }
                    Err(e) => last_err = Some(e),
                }
            }
            Err(last_err.map_or(Error::AddrInUse, Error::from))
        }
        Endpoint::Ipc(path) => {
            if let Some(name) = path.strip_prefix('@') {
                let listener = UnixListener::bind_addr(&abstract_addr(name)?)?;
                return Ok((Listener::Unix(listener, None), format!("ipc://{path}")));
            }
            // libzmq unlinks whatever is at the path first, so a second bind takes it over.
            let _ = std::fs::remove_file(path);
            let listener = UnixListener::bind(path)?;
            Ok((Listener::Unix(listener, None), format!("ipc://{path}")))
        }
        _ => Err(Error::Inval("not a stream transport".into())),
    }
}

/// Resolves the address a connecter connects to; a wss:// connecter's TLS comes from `wss`.
pub(crate) fn peer_addr(endpoint: &Endpoint, wss: &WssOptions) -> Result<PeerAddr> {
    match endpoint {
        Endpoint::Tcp { host, port } => {
            let port = match port {
                Some(p) if *p != 0 => *p,
                _ => return Err(Error::Inval("cannot connect to a wildcard port".into())),
            };
            if host == "*" {
                return Err(Error::Inval("cannot connect to host *".into()));
            }
            Ok(PeerAddr::Tcp(resolve(host, port)?))
        }
        Endpoint::Ipc(path) if path == "*" => Err(Error::Inval("cannot connect to ipc://*".into())),
        Endpoint::Ipc(path) => {
            let addr = match path.strip_prefix('@') {
                Some(name) => abstract_addr(name)?,
                None => UnixAddr::from_pathname(path)?,
            };
            Ok(PeerAddr::Ipc(addr))
        }
        Endpoint::Ws {
            host,
            port,
            path,
            tls: secure,
        } => {
            let port = match port {
                Some(p) if *p != 0 => *p,
                _ => return Err(Error::Inval("cannot connect to a wildcard port".into())),
            };
            if host == "*" {
                return Err(Error::Inval("cannot connect to host *".into()));
            }
            let addr = resolve(host, port)?;
            let tls = if *secure {
                Some(tls::connect_config(wss, host)?)
            } else {
                None
            };
            let url_host = if host.contains(':') {
                format!("[{host}]")
            } else {
                host.clone()
            };
            let scheme = if *secure { "wss" } else { "ws" };
            Ok(PeerAddr::Ws {
                addr,
                uri: format!("{scheme}://{url_host}:{port}{path}"),
                tls,
            })
        }
        _ => Err(Error::Inval("not a stream transport".into())),
    }
}

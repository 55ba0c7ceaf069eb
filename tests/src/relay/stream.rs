//! The relay's two kinds of connection, TCP (tcp://, ws://) and Unix-domain (ipc://), behind
//! one type, so that the same queues and threads fault both.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr as UnixAddr, UnixListener, UnixStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Where an endpoint's connections go: parsed from `tcp://host:port`,
/// `ws://host:port/path` or `ipc://@abstract-name` / `ipc:///path`.
#[derive(Debug, Clone)]
pub(super) enum Target {
    Tcp(SocketAddr),
    /// ws://: TCP, plus the path the relay's own endpoint keeps.
    Ws(SocketAddr, String),
    Unix(UnixAddr),
}

impl Target {
    pub(super) fn parse(endpoint: &str) -> Target {
        if let Some(rest) = endpoint.strip_prefix("ipc://") {
            let addr = match rest.strip_prefix('@') {
                Some(name) => UnixAddr::from_abstract_name(name),
                None => UnixAddr::from_pathname(rest),
            };
            return Target::Unix(addr.expect("an ipc:// target"));
        }
        if let Some(rest) = endpoint.strip_prefix("ws://") {
            let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            return Target::Ws(host.parse().expect("a numeric ws:// target"), path.into());
        }
        let addr = endpoint.trim_start_matches("tcp://");
        Target::Tcp(addr.parse().expect("a numeric host:port target"))
    }

    pub(super) fn connect(&self) -> io::Result<Stream> {
        match self {
            Target::Tcp(a) | Target::Ws(a, _) => {
                let s = TcpStream::connect(a)?;
                let _ = s.set_nodelay(true);
                Ok(Stream::Tcp(s))
            }
            Target::Unix(a) => UnixStream::connect_addr(a).map(Stream::Unix),
        }
    }
}

/// The relay's listener, of the target's kind.
#[derive(Debug)]
pub(super) enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, UnixAddr),
}

static NAMES: AtomicU64 = AtomicU64::new(0);

impl Listener {
    /// On an OS-chosen loopback port, or a fresh abstract name.
    pub(super) fn bind(target: &Target) -> Listener {
        match target {
            Target::Tcp(_) | Target::Ws(..) => {
                Listener::Tcp(TcpListener::bind("127.0.0.1:0").expect("relay bind"))
            }
            Target::Unix(_) => {
                let n = NAMES.fetch_add(1, Ordering::Relaxed);
                let name = format!("isomq-relay-{}-{n}", std::process::id());
                let addr = UnixAddr::from_abstract_name(name).expect("an abstract name");
                let l = UnixListener::bind_addr(&addr).expect("relay bind");
                Listener::Unix(l, addr)
            }
        }
    }

    /// The endpoint clients connect to, in the target's scheme.
    pub(super) fn endpoint(&self, target: &Target) -> String {
        match (self, target) {
            (Listener::Unix(_, addr), _) => {
                let name = addr.as_abstract_name().unwrap_or_default();
                format!("ipc://@{}", String::from_utf8_lossy(name))
            }
            (Listener::Tcp(l), Target::Ws(_, path)) => {
                format!("ws://{}{path}", l.local_addr().expect("relay address"))
            }
            (Listener::Tcp(l), _) => {
                format!("tcp://{}", l.local_addr().expect("relay address"))
            }
        }
    }

    pub(super) fn accept(&self) -> io::Result<Stream> {
        match self {
            Listener::Tcp(l) => {
                let (s, _) = l.accept()?;
                let _ = s.set_nodelay(true);
                Ok(Stream::Tcp(s))
            }
            Listener::Unix(l, _) => l.accept().map(|(s, _)| Stream::Unix(s)),
        }
    }

    /// Connects to itself, which wakes a blocked `accept`.
    pub(super) fn poke(&self) {
        let _ = match self {
            Listener::Tcp(l) => l.local_addr().and_then(TcpStream::connect).map(drop),
            Listener::Unix(_, addr) => UnixStream::connect_addr(addr).map(drop),
        };
    }
}

/// One side of a relayed connection.
#[derive(Debug)]
pub(super) enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    pub(super) fn try_clone(&self) -> io::Result<Stream> {
        match self {
            Stream::Tcp(s) => s.try_clone().map(Stream::Tcp),
            Stream::Unix(s) => s.try_clone().map(Stream::Unix),
        }
    }

    pub(super) fn set_read_timeout(&self, t: Duration) {
        let _ = match self {
            Stream::Tcp(s) => s.set_read_timeout(Some(t)),
            Stream::Unix(s) => s.set_read_timeout(Some(t)),
        };
    }

    pub(super) fn set_write_timeout(&self, t: Duration) {
        let _ = match self {
            Stream::Tcp(s) => s.set_write_timeout(Some(t)),
            Stream::Unix(s) => s.set_write_timeout(Some(t)),
        };
    }

    pub(super) fn shutdown_write(&self) {
        let _ = match self {
            Stream::Tcp(s) => s.shutdown(Shutdown::Write),
            Stream::Unix(s) => s.shutdown(Shutdown::Write),
        };
    }

    /// Makes the stream's close abrupt: TCP sends an RST and drops what the kernel still
    /// holds for it. A Unix-domain socket has no RST; its close drops what it holds, and a
    /// peer that had sent unread bytes gets ECONNRESET, the nearest it has.
    pub(super) fn set_linger_zero(&self) {
        if let Stream::Tcp(stream) = self {
            // Best effort: a socket that refuses still closes, only less abruptly.
            let _ = crate::linger::set_linger_zero(stream);
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

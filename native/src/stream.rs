//! The byte streams under ZMTP and WebSocket: TCP and Unix-domain sockets, behind one type
//! each for listeners, streams and addresses, so engines and sessions do not care which it is.

use std::io::{self, IoSlice, Read, Write};
use std::net::SocketAddr as TcpAddr;
use std::os::unix::net::SocketAddr as UnixAddr;
use std::path::PathBuf;

use mio::event::Source;
use mio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use mio::{Interest, Registry, Token};

/// Where a connecter connects to (resolved when `connect` is called).
#[derive(Debug, Clone)]
pub(crate) enum PeerAddr {
    Tcp(TcpAddr),
    Ipc(UnixAddr),
    /// ws://: a TCP connection, then the HTTP upgrade to `uri` (`ws://host:port/path`).
    Ws {
        addr: TcpAddr,
        uri: String,
    },
}

impl PeerAddr {
    /// Starts a non-blocking connect; completion is signalled by writability.
    pub(crate) fn connect(&self) -> io::Result<Stream> {
        match self {
            PeerAddr::Tcp(a) | PeerAddr::Ws { addr: a, .. } => {
                let s = TcpStream::connect(*a)?;
                Ok(Stream::Tcp(s))
            }
            PeerAddr::Ipc(a) => Ok(Stream::Unix(UnixStream::connect_addr(a)?)),
        }
    }
}

/// A connected (or connecting) stream.
#[derive(Debug)]
pub(crate) enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    /// After a writable event on a connecting stream: `Ok(true)` once connected,
    /// `Ok(false)` if still in progress, `Err` if the attempt failed.
    pub(crate) fn finish_connect(&self) -> io::Result<bool> {
        let err = match self {
            Stream::Tcp(s) => s.take_error()?,
            Stream::Unix(s) => s.take_error()?,
        };
        if let Some(e) = err {
            return Err(e);
        }
        let peer = match self {
            Stream::Tcp(s) => s.peer_addr().map(|_| ()),
            Stream::Unix(s) => s.peer_addr().map(|_| ()),
        };
        match peer {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// libzmq always sets TCP_NODELAY: ZeroMQ batches itself, Nagle only adds latency.
    pub(crate) fn set_nodelay(&self) {
        if let Stream::Tcp(s) = self {
            let _ = s.set_nodelay(true);
        }
    }

    /// The peer's IP address as ZAP requests carry it (no port; empty for ipc://, as libzmq).
    pub(crate) fn peer_ip(&self) -> String {
        match self {
            Stream::Tcp(s) => s
                .peer_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_default(),
            Stream::Unix(_) => String::new(),
        }
    }

    /// The descriptor, for reads straight into uninitialised buffer space (`read(2)`).
    pub(crate) fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        }
    }

    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }

    pub(crate) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    pub(crate) fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs),
            Stream::Unix(s) => s.write_vectored(bufs),
        }
    }

    fn source(&mut self) -> &mut dyn Source {
        match self {
            Stream::Tcp(s) => s,
            Stream::Unix(s) => s,
        }
    }

    pub(crate) fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(
            self.source(),
            token,
            Interest::READABLE | Interest::WRITABLE,
        )
    }

    pub(crate) fn deregister(&mut self, registry: &Registry) {
        let _ = registry.deregister(self.source());
    }
}

/// A bound listener.
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(TcpListener),
    /// The path is removed when the listener closes if it was created for `ipc://*`.
    Unix(UnixListener, Option<PathBuf>),
}

impl Listener {
    /// ZMQ_BACKLOG: calls listen(2) again with the socket's backlog; Linux takes a new
    /// queue length for a socket that already listens.
    pub(crate) fn set_backlog(&self, backlog: u32) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let fd = match self {
            Listener::Tcp(l) => l.as_raw_fd(),
            Listener::Unix(l, _) => l.as_raw_fd(),
        };
        let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        // SAFETY: listen(2) on a descriptor this listener owns and keeps open; it reads and
        // writes no memory of ours.
        if unsafe { libc::listen(fd, backlog) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    pub(crate) fn accept(&self) -> io::Result<Stream> {
        match self {
            Listener::Tcp(l) => l.accept().map(|(s, _)| Stream::Tcp(s)),
            Listener::Unix(l, _) => l.accept().map(|(s, _)| Stream::Unix(s)),
        }
    }

    pub(crate) fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => registry.register(l, token, Interest::READABLE),
            Listener::Unix(l, _) => registry.register(l, token, Interest::READABLE),
        }
    }

    pub(crate) fn close(mut self, registry: &Registry) {
        match &mut self {
            Listener::Tcp(l) => {
                let _ = registry.deregister(l);
            }
            Listener::Unix(l, cleanup) => {
                let _ = registry.deregister(l);
                if let Some(path) = cleanup.take() {
                    let _ = std::fs::remove_file(&path);
                    if let Some(dir) = path.parent() {
                        let _ = std::fs::remove_dir(dir);
                    }
                }
            }
        }
    }
}

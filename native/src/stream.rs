//! The byte streams under ZMTP and WebSocket: TCP and Unix-domain sockets, and TLS over TCP
//! for wss://, behind one type each for listeners, streams and addresses, so engines and
//! sessions do not care which it is.

use std::io::{self, IoSlice, Read, Write};
use std::net::SocketAddr as TcpAddr;
use std::os::unix::net::SocketAddr as UnixAddr;
use std::path::PathBuf;

use bytes::buf::UninitSlice;
use mio::event::Source;
use mio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use mio::{Interest, Registry, Token};

use crate::tls::{TlsAccept, TlsConnect, TlsStream};

/// Where a connecter connects to (resolved when `connect` is called).
#[derive(Debug, Clone)]
pub(crate) enum PeerAddr {
    Tcp(TcpAddr),
    Ipc(UnixAddr),
    /// ws://: a TCP connection, then the HTTP upgrade to `uri` (`ws://host:port/path`);
    /// wss:// runs TLS (`tls`) between the two.
    Ws {
        addr: TcpAddr,
        uri: String,
        tls: Option<TlsConnect>,
    },
}

impl PeerAddr {
    /// Starts a non-blocking connect; completion is signalled by writability.
    pub(crate) fn connect(&self) -> io::Result<Stream> {
        match self {
            PeerAddr::Tcp(a)
            | PeerAddr::Ws {
                addr: a, tls: None, ..
            } => {
                let s = TcpStream::connect(*a)?;
                Ok(Stream::Tcp(s))
            }
            PeerAddr::Ws {
                addr,
                tls: Some(tls),
                ..
            } => {
                let s = TcpStream::connect(*addr)?;
                Ok(Stream::Tls(Box::new(TlsStream::client(s, tls)?)))
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
    Tls(Box<TlsStream>),
}

impl Stream {
    /// After a writable event on a connecting stream: `Ok(true)` once connected,
    /// `Ok(false)` if still in progress, `Err` if the attempt failed.
    pub(crate) fn finish_connect(&self) -> io::Result<bool> {
        let err = match self {
            Stream::Tcp(s) => s.take_error()?,
            Stream::Unix(s) => s.take_error()?,
            Stream::Tls(s) => s.tcp().take_error()?,
        };
        if let Some(e) = err {
            return Err(e);
        }
        let peer = match self {
            Stream::Tcp(s) => s.peer_addr().map(|_| ()),
            Stream::Unix(s) => s.peer_addr().map(|_| ()),
            Stream::Tls(s) => s.tcp().peer_addr().map(|_| ()),
        };
        match peer {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// libzmq always sets TCP_NODELAY: ZeroMQ batches itself, Nagle only adds latency.
    pub(crate) fn set_nodelay(&self) {
        match self {
            Stream::Tcp(s) => {
                let _ = s.set_nodelay(true);
            }
            Stream::Tls(s) => {
                let _ = s.tcp().set_nodelay(true);
            }
            Stream::Unix(_) => {}
        }
    }

    /// The peer's IP address as ZAP requests carry it (no port; empty for ipc://, as libzmq).
    pub(crate) fn peer_ip(&self) -> String {
        let tcp = match self {
            Stream::Tcp(s) => s,
            Stream::Tls(s) => s.tcp(),
            Stream::Unix(_) => return String::new(),
        };
        tcp.peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default()
    }

    /// One read straight into uninitialised buffer space (`read(2)`: no zero-fill, no
    /// copy; TLS copies its plaintext out once). Initialises the bytes it reports.
    pub(crate) fn read_spare(&mut self, spare: &mut UninitSlice) -> io::Result<usize> {
        use std::os::fd::AsRawFd;
        let fd = match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
            Stream::Tls(s) => return s.read_spare(spare),
        };
        // SAFETY: `spare` is writable for `spare.len()` bytes and stays alive during the call;
        // read(2) writes at most that many bytes into it and touches nothing else.
        let n = unsafe { libc::read(fd, spare.as_mut_ptr().cast(), spare.len()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        // Cannot truncate: n is non-negative and at most spare.len().
        Ok(n as usize)
    }

    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }

    pub(crate) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    pub(crate) fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs),
            Stream::Unix(s) => s.write_vectored(bufs),
            Stream::Tls(s) => s.write_vectored(bufs),
        }
    }

    /// Writes what a layer under the caller's buffers still holds (TLS records): a write
    /// of the caller's may have left some when the socket filled. `WouldBlock` when the
    /// socket takes no more.
    pub(crate) fn flush_pending(&mut self) -> io::Result<()> {
        match self {
            Stream::Tls(s) => s.flush_pending(),
            Stream::Tcp(_) | Stream::Unix(_) => Ok(()),
        }
    }

    /// Whether a layer under the caller's buffers grew them (TLS's read-ahead).
    pub(crate) fn is_grown(&self) -> bool {
        matches!(self, Stream::Tls(s) if s.is_grown())
    }

    /// Frees what a layer under the caller's buffers holds for a quiet connection.
    pub(crate) fn shrink_idle(&mut self) {
        if let Stream::Tls(s) = self {
            s.shrink_idle();
        }
    }

    /// Bytes wait in a layer under the caller's buffers (see [`Stream::flush_pending`]).
    pub(crate) fn has_pending(&self) -> bool {
        matches!(self, Stream::Tls(s) if s.has_pending())
    }

    fn source(&mut self) -> &mut dyn Source {
        match self {
            Stream::Tcp(s) => s,
            Stream::Unix(s) => s,
            Stream::Tls(s) => s.tcp_mut(),
        }
    }

    pub(crate) fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(
            self.source(),
            token,
            Interest::READABLE | Interest::WRITABLE,
        )
    }

    /// Watches for writability as well as readability, or readability only (see
    /// `Engine::update_interest` for when each is wanted). Linux looks at the stream's
    /// state when the interest changes, so a stream that became writable before the
    /// change still reports it.
    pub(crate) fn watch_writable(
        &mut self,
        registry: &Registry,
        token: Token,
        writable: bool,
    ) -> io::Result<()> {
        let interest = if writable {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        registry.reregister(self.source(), token, interest)
    }

    pub(crate) fn deregister(&mut self, registry: &Registry) {
        let _ = registry.deregister(self.source());
    }
}

/// A bound listener.
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(TcpListener),
    /// wss://: each accepted connection starts TLS with this certificate.
    Tls(TcpListener, TlsAccept),
    /// The path is removed when the listener closes if it was created for `ipc://*`.
    Unix(UnixListener, Option<PathBuf>),
}

impl Listener {
    /// ZMQ_BACKLOG: calls listen(2) again with the socket's backlog; Linux takes a new
    /// queue length for a socket that already listens.
    pub(crate) fn set_backlog(&self, backlog: u32) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let fd = match self {
            Listener::Tcp(l) | Listener::Tls(l, _) => l.as_raw_fd(),
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
            // rustls refuses a new connection only for a broken configuration, which the
            // bind checked: drop that one connection (aborted), keep accepting.
            Listener::Tls(l, tls) => {
                let (s, _) = l.accept()?;
                TlsStream::server(s, tls)
                    .map(|s| Stream::Tls(Box::new(s)))
                    .map_err(|_| io::ErrorKind::ConnectionAborted.into())
            }
        }
    }

    pub(crate) fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        match self {
            Listener::Tcp(l) | Listener::Tls(l, _) => {
                registry.register(l, token, Interest::READABLE)
            }
            Listener::Unix(l, _) => registry.register(l, token, Interest::READABLE),
        }
    }

    pub(crate) fn close(mut self, registry: &Registry) {
        match &mut self {
            Listener::Tcp(l) | Listener::Tls(l, _) => {
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

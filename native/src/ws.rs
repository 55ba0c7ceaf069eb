//! What the ws:// transport shares between sockets and I/O threads: the per-port table of
//! paths (so several sockets of one context can bind different paths on one port), and
//! the stream adapter the HTTP upgrade runs over.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use isomq_core::{Error, Options, Result};

use crate::link::SocketLink;
use crate::stream::Stream;
use crate::sync::lock;

/// Longest HTTP request or response head accepted during the upgrade. libzmq caps each
/// header value at 2048 bytes; a whole head of 8 KiB is plenty for a WebSocket upgrade and
/// keeps a hostile peer from making us buffer without bound.
pub(crate) const MAX_HTTP_HEAD: usize = 8 * 1024;
/// Bytes read at a time during the upgrade: an upgrade request's head is a few hundred
/// bytes (longer ones take more reads). The buffer is freed after the upgrade, but when
/// thousands of connections upgrade at once the holes such buffers leave in the heap stay
/// resident: 1 KiB rather than 4 took about 3 KiB off each idle connection of a process
/// that opened 2,000 (conn_memory's connect side, 22.7-23.1 → 18.8-20.0 KiB).
const HEAD_READ: usize = 1024;

/// The socket bound on one path: who accepted connections are handed to.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    /// The bind's id: closing it closes the connections accepted on this path.
    pub(crate) id: u64,
    pub(crate) link: SocketLink,
    pub(crate) options: Options,
}

/// Path → route, for one listening port. Read by the I/O thread during each upgrade,
/// written by sockets binding and unbinding.
pub(crate) type Routes = Mutex<HashMap<String, Route>>;

/// One listening ws:// port of a context.
#[derive(Debug)]
struct Port {
    thread: usize,
    listener_id: u64,
    routes: Arc<Routes>,
    /// wss://: the port speaks TLS, so only wss:// paths can join it.
    tls: bool,
}

/// The context's ws:// ports, by the address each listens on.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    ports: HashMap<SocketAddr, Port>,
}

/// What the caller must do after a path was removed from a port.
#[derive(Debug)]
pub(crate) struct Unbound {
    pub(crate) thread: usize,
    /// Set when the port has no path left: the listener to close.
    pub(crate) listener_id: Option<u64>,
}

impl Registry {
    /// Adds `path` to the port already listening on `addr`. `Ok(None)` when there is no
    /// such port (the caller binds a new listener and calls [`Registry::add_port`]).
    ///
    /// A wss:// path joins a port with the certificate of the port's first bind.
    ///
    /// # Errors
    /// [`Error::AddrInUse`] when a socket is already bound on that path, or the port speaks
    /// the other one of ws:// and wss://.
    pub(crate) fn add_path(
        &mut self,
        addr: SocketAddr,
        path: &str,
        route: Route,
        tls: bool,
    ) -> Result<Option<usize>> {
        let Some(port) = self.ports.get(&addr) else {
            return Ok(None);
        };
        if port.tls != tls {
            return Err(Error::AddrInUse);
        }
        let mut routes = lock(&port.routes);
        if routes.contains_key(path) {
            return Err(Error::AddrInUse);
        }
        routes.insert(path.to_owned(), route);
        Ok(Some(port.thread))
    }

    /// Records a freshly bound port with its first path; returns the routes table the
    /// listener consults.
    pub(crate) fn add_port(
        &mut self,
        addr: SocketAddr,
        thread: usize,
        listener_id: u64,
        (path, tls): (&str, bool),
        route: Route,
    ) -> Arc<Routes> {
        let routes = Arc::new(Mutex::new(HashMap::from([(path.to_owned(), route)])));
        self.ports.insert(
            addr,
            Port {
                thread,
                listener_id,
                routes: routes.clone(),
                tls,
            },
        );
        routes
    }

    /// Removes the path bound by `route_id`; the port goes when its last path does.
    pub(crate) fn remove_path(&mut self, addr: SocketAddr, route_id: u64) -> Option<Unbound> {
        let port = self.ports.get(&addr)?;
        let empty = {
            let mut routes = lock(&port.routes);
            routes.retain(|_, r| r.id != route_id);
            routes.is_empty()
        };
        let thread = port.thread;
        if !empty {
            return Some(Unbound {
                thread,
                listener_id: None,
            });
        }
        let port = self.ports.remove(&addr)?;
        Some(Unbound {
            thread,
            listener_id: Some(port.listener_id),
        })
    }
}

/// The stream under a WebSocket. During the HTTP upgrade it hands the HTTP parser no byte
/// past the blank line that ends the head, so nothing the peer sent after it (libzmq's
/// READY follows its `101` at once) is lost in the parser's buffer, and it refuses a head
/// longer than [`MAX_HTTP_HEAD`]. It also records which direction last blocked, so an
/// interrupted handshake knows which readiness to wait for.
#[derive(Debug)]
pub(crate) struct HsStream {
    pub(crate) stream: Stream,
    /// Read ahead from the socket and not yet handed out.
    ahead: Vec<u8>,
    ahead_pos: usize,
    /// Still in the HTTP upgrade.
    in_head: bool,
    /// How much of `\r\n\r\n` the bytes handed out so far end with.
    matched: u8,
    /// The blank line has been handed out: the parser gets nothing more.
    head_done: bool,
    head_len: usize,
    pub(crate) blocked_read: bool,
    pub(crate) blocked_write: bool,
}

fn would_block() -> io::Error {
    io::Error::from(io::ErrorKind::WouldBlock)
}

impl HsStream {
    pub(crate) fn new(stream: Stream) -> HsStream {
        HsStream {
            stream,
            ahead: Vec::new(),
            ahead_pos: 0,
            in_head: true,
            matched: 0,
            head_done: false,
            head_len: 0,
            blocked_read: false,
            blocked_write: false,
        }
    }

    /// The upgrade is over: the stream, and the bytes read past the HTTP head.
    pub(crate) fn into_parts(mut self) -> (Stream, Vec<u8>) {
        let ahead = self.ahead.split_off(self.ahead_pos.min(self.ahead.len()));
        (self.stream, ahead)
    }

    fn read_head(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.head_done {
            self.blocked_read = true;
            return Err(would_block());
        }
        if self.ahead_pos == self.ahead.len() {
            let room = MAX_HTTP_HEAD.saturating_sub(self.head_len).min(HEAD_READ);
            if room == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "HTTP head longer than 8 KiB",
                ));
            }
            self.ahead.resize(room, 0);
            self.ahead_pos = 0;
            let n = match self.stream.read(&mut self.ahead) {
                Ok(n) => n,
                Err(e) => {
                    self.ahead.clear();
                    if e.kind() == io::ErrorKind::WouldBlock {
                        self.blocked_read = true;
                    }
                    return Err(e);
                }
            };
            self.ahead.truncate(n);
            if n == 0 {
                return Ok(0);
            }
        }
        let mut n = 0;
        for &b in &self.ahead[self.ahead_pos..] {
            if n == out.len() {
                break;
            }
            out[n] = b;
            n += 1;
            self.matched = match (self.matched, b) {
                (0, b'\r') | (2, b'\r') => self.matched + 1,
                (1, b'\n') | (3, b'\n') => self.matched + 1,
                (_, b'\r') => 1,
                _ => 0,
            };
            if self.matched == 4 {
                self.head_done = true;
                break;
            }
        }
        self.ahead_pos += n;
        self.head_len += n;
        Ok(n)
    }
}

impl Read for HsStream {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.in_head {
            return self.read_head(out);
        }
        if self.ahead_pos < self.ahead.len() {
            let rest = &self.ahead[self.ahead_pos..];
            let n = rest.len().min(out.len());
            out[..n].copy_from_slice(&rest[..n]);
            self.ahead_pos += n;
            if self.ahead_pos == self.ahead.len() {
                self.ahead = Vec::new();
                self.ahead_pos = 0;
            }
            return Ok(n);
        }
        let r = self.stream.read(out);
        if matches!(&r, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.blocked_read = true;
        }
        r
    }
}

impl Write for HsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = self.stream.write(buf);
        if matches!(&r, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.blocked_write = true;
        }
        r
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

//! Connection churn: cycles of connect, handshake and disconnect against a listening PUB,
//! ROUTER and PULL over tcp:// and ws://, each ended cleanly (an isomq client closing),
//! by a reset (a raw client closing with SO_LINGER 0), or by a reset in the middle of
//! traffic; and what the process holds between them: open descriptors, the I/O threads'
//! live objects (`Context::stats`) and resident memory. Used by the test
//! (`tests/spec/churn.rs`, a few thousand cycles) and the benchmark (`churn` in benches/,
//! 100,000).
//!
//! Every step waits for an event: the listener's monitor reports the handshake and the
//! disconnection of each cycle before the next starts, and [`Churn::settle`] waits until
//! the counts are back where a snapshot had them.

mod peer;

use std::time::Instant;

use isomq::{Context, Flags, IoStats, Monitor, MonitorEvent, Socket, SocketOption, SocketType};
use peer::RawPeer;

use crate::PATIENCE;

/// Errors say what failed; the test panics with them, the benchmark prints them.
pub type Result<T> = std::result::Result<T, String>;

/// The listening socket of a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    Pub,
    Router,
    Pull,
}

/// The transport of a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Net {
    Tcp,
    Ws,
}

/// How a cycle's connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// An isomq client socket is closed: end of file after its last bytes.
    Clean,
    /// A raw client resets the connection after its handshake.
    Reset,
    /// A raw client resets the connection while messages flow both ways.
    Traffic,
}

const PATTERNS: [Pattern; 3] = [Pattern::Pub, Pattern::Router, Pattern::Pull];
const NETS: [Net; 2] = [Net::Tcp, Net::Ws];
const ENDINGS: [Ending; 3] = [Ending::Clean, Ending::Reset, Ending::Traffic];
/// Messages each side sends in a traffic cycle, and their size: enough to be in flight
/// when the reset comes.
const TRAFFIC: usize = 32;
const TRAFFIC_LEN: usize = 512;
/// How long a PUB waits for its subscriber to receive a message before it publishes the next.
const SUBSCRIPTION_WAIT: std::time::Duration = std::time::Duration::from_millis(2);

impl Pattern {
    fn socket_type(self) -> SocketType {
        match self {
            Pattern::Pub => SocketType::Pub,
            Pattern::Router => SocketType::Router,
            Pattern::Pull => SocketType::Pull,
        }
    }

    fn client_type(self) -> SocketType {
        match self {
            Pattern::Pub => SocketType::Sub,
            Pattern::Router => SocketType::Dealer,
            Pattern::Pull => SocketType::Push,
        }
    }
}

/// What the process holds at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// Open file descriptors (`/proc/self/fd`).
    pub fds: usize,
    /// The listening context's I/O threads, added up.
    pub server: IoStats,
    /// The context of the isomq clients, added up.
    pub client: IoStats,
    /// Resident set size in KiB (`/proc/self/statm`).
    pub rss_kib: u64,
}

impl Snapshot {
    /// Whether descriptors and live objects are as in `other` (memory is compared apart).
    pub fn same_objects(&self, other: &Snapshot) -> bool {
        self.fds == other.fds && self.server == other.server && self.client == other.client
    }
}

/// A listening socket with its monitor.
struct Listener {
    pattern: Pattern,
    net: Net,
    socket: Socket,
    monitor: Monitor,
    endpoint: String,
}

/// The listeners, the client context, and the cycles run so far.
pub struct Churn {
    server: Context,
    client: Context,
    listeners: Vec<Listener>,
    cycles: usize,
}

impl std::fmt::Debug for Churn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Churn")
            .field("cycles", &self.cycles)
            .finish_non_exhaustive()
    }
}

fn socket(ctx: &Context, t: SocketType) -> Result<Socket> {
    let mut s = ctx.socket(t).map_err(|e| e.to_string())?;
    for option in [
        SocketOption::RcvTimeout(Some(PATIENCE)),
        SocketOption::SndTimeout(Some(PATIENCE)),
        SocketOption::Linger(Some(std::time::Duration::ZERO)),
    ] {
        s.set_option(option).map_err(|e| e.to_string())?;
    }
    Ok(s)
}

impl Churn {
    /// Binds a PUB, a ROUTER and a PULL on tcp:// and on ws:// (OS-chosen ports).
    pub fn new() -> Result<Churn> {
        let server = Context::new();
        let mut listeners = Vec::new();
        for net in NETS {
            for pattern in PATTERNS {
                let mut s = socket(&server, pattern.socket_type())?;
                let monitor = s.monitor();
                s.bind(match net {
                    Net::Tcp => "tcp://127.0.0.1:*",
                    Net::Ws => "ws://127.0.0.1:*/churn",
                })
                .map_err(|e| e.to_string())?;
                let endpoint = s.last_endpoint().ok_or("no endpoint")?.to_owned();
                listeners.push(Listener {
                    pattern,
                    net,
                    socket: s,
                    monitor,
                    endpoint,
                });
            }
        }
        let client = Context::new();
        // Its I/O threads start with its first socket, and stay: started now, their
        // descriptors are part of the quiet state.
        drop(socket(&client, SocketType::Push)?);
        Ok(Churn {
            server,
            client,
            listeners,
            cycles: 0,
        })
    }

    /// Runs `n` cycles, going round the listeners and, each time round, to the next ending.
    pub fn run(&mut self, n: usize) -> Result<()> {
        for _ in 0..n {
            self.cycle()
                .map_err(|e| format!("cycle {}: {e}", self.cycles))?;
        }
        Ok(())
    }

    fn cycle(&mut self) -> Result<()> {
        let n = self.listeners.len();
        let ending = ENDINGS[(self.cycles / n) % ENDINGS.len()];
        let l = &mut self.listeners[self.cycles % n];
        self.cycles += 1;
        match ending {
            Ending::Clean => {
                let mut c = socket(&self.client, l.pattern.client_type())?;
                if l.pattern == Pattern::Pub {
                    c.subscribe("").map_err(|e| e.to_string())?;
                }
                c.connect(&l.endpoint).map_err(|e| e.to_string())?;
                l.expect_handshake()?;
            }
            Ending::Reset | Ending::Traffic => {
                let name = l.pattern.client_type().name();
                let mut peer = RawPeer::connect(l.net, &l.endpoint, name)?;
                l.expect_handshake()?;
                if ending == Ending::Traffic {
                    l.traffic(&mut peer)?;
                }
                peer.reset()?;
            }
        }
        l.expect_disconnected()?;
        l.service();
        Ok(())
    }

    /// A snapshot of the quiet state before any cycle: no connection, every I/O thread
    /// started.
    pub fn quiet(&self) -> Result<Snapshot> {
        if self.cycles > 0 {
            return Err("the quiet state is the one before the first cycle".into());
        }
        self.snapshot()
    }

    /// Descriptors, live objects and resident memory now.
    pub fn snapshot(&self) -> Result<Snapshot> {
        let fds = std::fs::read_dir("/proc/self/fd")
            .map_err(|e| format!("/proc/self/fd: {e}"))?
            .count();
        Ok(Snapshot {
            fds,
            server: self.server.stats().into_iter().sum(),
            client: self.client.stats().into_iter().sum(),
            rss_kib: rss_kib()?,
        })
    }

    /// Waits until descriptors and live objects are as in `like` (the last connection's
    /// teardown finishes on the I/O threads after its monitor event), then takes a snapshot.
    /// `like` is a quiet moment: [`Churn::quiet`] before any cycle.
    pub fn settle(&self, like: &Snapshot) -> Result<Snapshot> {
        let start = Instant::now();
        loop {
            let now = self.snapshot()?;
            if now.same_objects(like) {
                return Ok(now);
            }
            if start.elapsed() > PATIENCE {
                return Err(format!(
                    "not back to {like:?}: {now:?}; open: {}",
                    open_fds().join(", ")
                ));
            }
            std::thread::yield_now();
        }
    }
}

impl Listener {
    /// Waits for the monitor event `want`; another end of the connection is a failure.
    fn expect(&self, want: &str, matches: impl Fn(&MonitorEvent) -> bool) -> Result<()> {
        loop {
            let event = self
                .monitor
                .recv_timeout(PATIENCE)
                .map_err(|e| format!("no {want} on {}: {e}", self.endpoint))?;
            match event {
                e if matches(&e) => return Ok(()),
                e @ (MonitorEvent::HandshakeFailed { .. }
                | MonitorEvent::HandshakeFailedAuth { .. }
                | MonitorEvent::AcceptFailed { .. }) => {
                    return Err(format!("{e:?} waiting for {want}"))
                }
                _ => {}
            }
        }
    }

    fn expect_handshake(&self) -> Result<()> {
        self.expect("HandshakeSucceeded", |e| {
            matches!(e, MonitorEvent::HandshakeSucceeded { .. })
        })
    }

    fn expect_disconnected(&self) -> Result<()> {
        self.expect("Disconnected", |e| {
            matches!(e, MonitorEvent::Disconnected { .. })
        })
    }

    /// Messages both ways, and the reset comes while the rest are in flight: the peer
    /// sends to a PULL or a ROUTER, which takes the first (the ROUTER answers with a burst
    /// the peer never reads); a PUB publishes until the peer has data, then a burst more.
    fn traffic(&mut self, peer: &mut RawPeer) -> Result<()> {
        let body = vec![b't'; TRAFFIC_LEN];
        match self.pattern {
            Pattern::Pull => {
                peer.send_messages(TRAFFIC, TRAFFIC_LEN)?;
                self.socket.recv().map_err(|e| e.to_string())?;
            }
            Pattern::Router => {
                peer.send_messages(TRAFFIC, TRAFFIC_LEN)?;
                let request = self.socket.recv_multipart().map_err(|e| e.to_string())?;
                let id = request.into_iter().next().ok_or("an empty request")?;
                for _ in 0..TRAFFIC {
                    let reply = [id.clone(), isomq::Msg::copy_from_slice(&body)];
                    self.socket
                        .send_multipart(reply)
                        .map_err(|e| e.to_string())?;
                }
            }
            Pattern::Pub => {
                let handshake = peer.handshake_len("PUB");
                let start = Instant::now();
                // The subscription travels on its own; PUB drops what it publishes before
                // it has arrived, so it publishes until the peer has something, one message
                // per wait: publishing without waiting sent up to thousands of messages
                // before the first arrived, a burst of a random size whose peak memory the
                // allocator keeps, which the test would take for growth.
                loop {
                    self.socket.send(&body[..]).map_err(|e| e.to_string())?;
                    if peer.has_received(handshake, SUBSCRIPTION_WAIT)? {
                        break;
                    }
                    if start.elapsed() > PATIENCE {
                        return Err("the subscriber never received anything".into());
                    }
                }
                for _ in 0..TRAFFIC {
                    self.socket.send(&body[..]).map_err(|e| e.to_string())?;
                }
            }
        }
        Ok(())
    }

    /// What an application's loop does between connections: takes what arrived, and with
    /// it the socket's commands (new pipes, pipes gone), which would otherwise wait in its
    /// mailbox.
    fn service(&mut self) {
        while self.socket.has_in() {
            if self.socket.recv_flags(Flags::DONTWAIT).is_err() {
                break;
            }
        }
    }
}

/// What each open descriptor is, for a failure's report.
fn open_fds() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .map(|p| p.display().to_string())
        .collect()
}

/// Resident set size of this process in KiB: `/proc/self/statm`'s second field (pages).
fn rss_kib() -> Result<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").map_err(|e| e.to_string())?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .ok_or("/proc/self/statm has no resident field")?;
    // SAFETY: sysconf reads a system constant; it has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Ok(pages * u64::try_from(page).unwrap_or(4096) / 1024)
}

//! A fault-injecting relay for tests, for tcp://, ws:// and ipc:// targets: clients connect
//! to [`Relay::endpoint`], and each connection is relayed to the target, both ways, through
//! queues the test controls. On
//! command it delays what it forwards, throttles it to a rate, stalls (stops forwarding
//! and, once its queue is full, stops reading, so back-pressure reaches the sender as on
//! a congested path), or resets (closes both sides with SO_LINGER 0: each peer gets an
//! RST and the kernel drops what it had not delivered yet; over ipc:// an abrupt close,
//! see [`stream::Stream::set_linger_zero`]).
//!
//! Plain threads, four per connection (a reader and a writer per direction). Blocking
//! calls carry a short timeout so that every thread sees a reset or the relay's end
//! promptly; that timeout is the relay's reaction time, never something a test waits on.

mod stream;

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use crate::PATIENCE;
use stream::{Listener, Stream, Target};

/// How long a blocked read or write waits before looking at the relay's state again.
const REACT: Duration = Duration::from_millis(10);
/// Bytes a direction queues before its reader stops reading.
const QUEUE_CAP: usize = 256 * 1024;
/// Bytes per read.
const CHUNK: usize = 16 * 1024;

/// One direction's queue: chunks with the time they were read.
#[derive(Debug, Default)]
struct Queue {
    chunks: VecDeque<(Instant, Vec<u8>)>,
    bytes: usize,
    /// The source sent its end of file: the writer passes it on once the queue is empty.
    eof: bool,
    /// When the throttle lets the next byte go.
    next_at: Option<Instant>,
}

#[derive(Debug, Default)]
struct State {
    stalled: bool,
    delay: Duration,
    /// Bytes per second per direction; `None`: as fast as the sockets go.
    rate: Option<u64>,
    /// Bumped by every reset: connections of an older generation end with an RST.
    generation: u64,
    /// The relay was dropped.
    closing: bool,
    /// Connections accepted so far.
    accepted: u64,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.lock());
        self.changed.notify_all();
    }
}

/// The relay; dropping it closes the listener and, within [`REACT`], every connection.
#[derive(Debug)]
pub struct Relay {
    listener: Arc<Listener>,
    endpoint: String,
    shared: Arc<Shared>,
    accept: Option<thread::JoinHandle<()>>,
}

impl Relay {
    /// A relay that forwards to `target`: `host:port` or a `tcp://` endpoint (the relay
    /// listens on an OS-chosen loopback port), a `ws://host:port/path` endpoint (the
    /// relay's endpoint keeps the path), or an `ipc://` one (the relay takes a fresh
    /// abstract name).
    pub fn start(target: &str) -> Relay {
        let target = Target::parse(target);
        let listener = Arc::new(Listener::bind(&target));
        let endpoint = listener.endpoint(&target);
        let shared = Arc::new(Shared::default());
        let accept = {
            let (shared, listener) = (shared.clone(), listener.clone());
            thread::spawn(move || accept_loop(&listener, &target, &shared))
        };
        Relay {
            listener,
            endpoint,
            shared,
            accept: Some(accept),
        }
    }

    /// The endpoint clients connect to, in the target's scheme.
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// Stops forwarding (both directions). Reading goes on until each queue holds
    /// [`QUEUE_CAP`] bytes, then stops too: the senders' kernel buffers fill and the
    /// senders are held back.
    pub fn stall(&self) {
        self.shared.update(|s| s.stalled = true);
    }

    /// Forwards again, in order, what was held.
    pub fn resume(&self) {
        self.shared.update(|s| s.stalled = false);
    }

    /// Holds every chunk for `delay` after it was read before forwarding it (latency,
    /// without limiting throughput beyond the queue's size).
    pub fn set_delay(&self, delay: Duration) {
        self.shared.update(|s| s.delay = delay);
    }

    /// Forwards at most `bytes_per_second` in each direction (`None`: no limit).
    pub fn set_rate(&self, bytes_per_second: Option<u64>) {
        self.shared.update(|s| s.rate = bytes_per_second);
    }

    /// Resets every connection made so far: both sides get an RST, what was queued in
    /// the relay is dropped. New connections are relayed as before.
    pub fn reset(&self) {
        self.shared.update(|s| s.generation += 1);
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.shared.lock().accepted
    }

    /// Waits until `n` connections have been accepted.
    pub fn wait_accepted(&self, n: u64) {
        let start = Instant::now();
        let mut state = self.shared.lock();
        while state.accepted < n {
            assert!(
                start.elapsed() < PATIENCE,
                "the relay saw no connection {n}"
            );
            state = self
                .shared
                .changed
                .wait_timeout(state, PATIENCE)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shared.update(|s| s.closing = true);
        // Wakes the blocking accept.
        self.listener.poke();
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: &Listener, target: &Target, shared: &Arc<Shared>) {
    loop {
        let client = listener.accept();
        if shared.lock().closing {
            return;
        }
        let Ok(client) = client else { continue };
        let Ok(server) = target.connect() else {
            continue; // nobody there: the client sees its connection closed
        };
        let generation = {
            let mut s = shared.lock();
            s.accepted += 1;
            s.generation
        };
        shared.changed.notify_all();
        relay_connection(client, server, generation, shared);
    }
}

/// Starts the four threads of one connection.
fn relay_connection(client: Stream, server: Stream, generation: u64, shared: &Arc<Shared>) {
    let conn = Arc::new(Conn {
        generation,
        up: Mutex::new(Queue::default()),
        down: Mutex::new(Queue::default()),
        broken: Mutex::new(false),
    });
    let streams = [(&client, &server, Dir::Up), (&server, &client, Dir::Down)];
    for (from, to, dir) in streams {
        let (Ok(from), Ok(to)) = (from.try_clone(), to.try_clone()) else {
            return;
        };
        let (c, s) = (conn.clone(), shared.clone());
        thread::spawn(move || read_side(from, dir, &c, &s));
        let (c, s) = (conn.clone(), shared.clone());
        thread::spawn(move || write_side(to, dir, &c, &s));
    }
}

#[derive(Debug, Clone, Copy)]
enum Dir {
    /// Client to target.
    Up,
    /// Target to client.
    Down,
}

#[derive(Debug)]
struct Conn {
    generation: u64,
    up: Mutex<Queue>,
    down: Mutex<Queue>,
    /// A side reset the connection, or the relay did: everything ends with an RST.
    broken: Mutex<bool>,
}

impl Conn {
    fn queue(&self, dir: Dir) -> MutexGuard<'_, Queue> {
        let q = match dir {
            Dir::Up => &self.up,
            Dir::Down => &self.down,
        };
        q.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether this connection is over: reset by the test, broken by a side, or the relay
    /// is gone.
    fn over(&self, shared: &Shared) -> bool {
        let s = shared.lock();
        s.closing
            || s.generation != self.generation
            || *self.broken.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn break_off(&self, shared: &Shared) {
        *self.broken.lock().unwrap_or_else(|e| e.into_inner()) = true;
        shared.changed.notify_all();
    }
}

fn read_side(mut from: Stream, dir: Dir, conn: &Conn, shared: &Shared) {
    from.set_read_timeout(REACT);
    let mut buf = vec![0u8; CHUNK];
    loop {
        if conn.over(shared) {
            from.set_linger_zero();
            return;
        }
        if conn.queue(dir).bytes >= QUEUE_CAP {
            // Full (stalled or slow): stop reading, so the sender is held back.
            let s = shared.lock();
            let _ = shared.changed.wait_timeout(s, REACT);
            continue;
        }
        match from.read(&mut buf) {
            Ok(0) => {
                conn.queue(dir).eof = true;
                shared.changed.notify_all();
                return;
            }
            Ok(n) => {
                let mut q = conn.queue(dir);
                q.chunks.push_back((Instant::now(), buf[..n].to_vec()));
                q.bytes += n;
                drop(q);
                shared.changed.notify_all();
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => {
                // Reset by that side: the other side gets an RST too.
                conn.break_off(shared);
                from.set_linger_zero();
                return;
            }
        }
    }
}

/// What a writer may send now, or how long to wait for it.
enum Next {
    Send(Vec<u8>),
    Wait(Duration),
    Eof,
}

fn next_chunk(dir: Dir, conn: &Conn, shared: &Shared) -> Next {
    let (stalled, delay, rate) = {
        let s = shared.lock();
        (s.stalled, s.delay, s.rate)
    };
    let mut q = conn.queue(dir);
    if stalled {
        return Next::Wait(REACT);
    }
    let now = Instant::now();
    let Some((read_at, _)) = q.chunks.front() else {
        return if q.eof { Next::Eof } else { Next::Wait(REACT) };
    };
    let due = (*read_at + delay).max(q.next_at.unwrap_or(now));
    if due > now {
        return Next::Wait((due - now).min(REACT));
    }
    let Some((read_at, mut chunk)) = q.chunks.pop_front() else {
        return Next::Wait(REACT);
    };
    if let Some(rate) = rate {
        // At most a twentieth of a second's worth at a time, so the rate is smooth.
        let most = usize::try_from(rate / 20).unwrap_or(usize::MAX).max(1);
        if chunk.len() > most {
            let rest = chunk.split_off(most);
            q.chunks.push_front((read_at, rest));
        }
        let secs = chunk.len() as f64 / rate.max(1) as f64;
        q.next_at = Some(now + Duration::from_secs_f64(secs));
    }
    q.bytes -= chunk.len();
    Next::Send(chunk)
}

fn write_side(mut to: Stream, dir: Dir, conn: &Conn, shared: &Shared) {
    to.set_write_timeout(REACT);
    loop {
        if conn.over(shared) {
            to.set_linger_zero();
            return;
        }
        let chunk = match next_chunk(dir, conn, shared) {
            Next::Send(chunk) => chunk,
            Next::Wait(d) => {
                let s = shared.lock();
                let _ = shared.changed.wait_timeout(s, d);
                continue;
            }
            Next::Eof => {
                to.shutdown_write();
                return;
            }
        };
        let mut sent = 0;
        while sent < chunk.len() {
            match to.write(&chunk[sent..]) {
                Ok(n) => sent += n,
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) =>
                {
                    if conn.over(shared) {
                        to.set_linger_zero();
                        return;
                    }
                }
                Err(_) => {
                    conn.break_off(shared);
                    to.set_linger_zero();
                    return;
                }
            }
        }
    }
}

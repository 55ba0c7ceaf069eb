//! PUSH→PULL and DEALER→ROUTER with numbered streams. The receiving side is one PULL and
//! one ROUTER bound on several transports (the ROUTER echoes every message to its sender).
//! Senders come in two kinds:
//!
//! - churning: a new socket per stream, connected, a few hundred messages, closed (LINGER
//!   forever, so everything queued is delivered), then the stream is checked whole: between
//!   live peers nothing may be lost (RFC 30 "SHALL NOT discard", RFC 28);
//! - long: one socket with heartbeats for the whole run, through a relay that resets and
//!   stalls its connections; checked at the end by the rule of docs/wire.md §7.6, with the
//!   share of each lost connection from its `Disconnected::messages_out`.

use std::sync::Arc;
use std::time::Duration;

use isomq::{Context, Error, Flags, Socket, SocketOption, SocketType};

use super::counters::Counters;
use super::ledger::{decode, encode, Ledger, Registry};
use super::pace::{Pacer, Rng};
use super::{socket, Shared, PATIENCE};

/// Payload bytes of stream messages: room for the header, and more than a tiny frame.
const LEN: usize = 100;

/// How a sender lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A new connection per stream, closed cleanly.
    Churning,
    /// One connection for the run, with heartbeats, through faults.
    Long,
}

/// Starts the thread that drains a bound PULL or ROUTER (already bound by the caller) into
/// `registry`; a ROUTER echoes each message back to its sender, without waiting.
pub fn start_sink(
    shared: &Arc<Shared>,
    mut s: Socket,
    registry: Arc<Registry>,
) -> std::thread::JoinHandle<Result<(), String>> {
    let shared = shared.clone();
    std::thread::spawn(move || {
        let echo = s.socket_type() == SocketType::Router;
        while !shared.stopping() {
            let frames = match s.recv_multipart() {
                Ok(f) => f,
                Err(Error::Again) => continue,
                Err(e) => return Err(format!("sink receive: {e}")),
            };
            let Some(payload) = frames.last() else {
                continue;
            };
            Counters::add(&shared.counters.received, 1);
            match decode(payload.as_slice()) {
                Some((stream, seq)) if registry.record(stream, seq) => {}
                // A message of a stream already checked: it came twice.
                _ => Counters::add(&shared.counters.reorders, 1),
            }
            if echo {
                // A full or gone peer: ROUTER drops (RFC 21); the echo check counts gaps.
                let _ = s.send_multipart_flags(frames, Flags::DONTWAIT);
            }
        }
        Ok(())
    })
}

/// A sender's socket: sends that wait at most 100 ms so the loop sees its flags.
fn sender_socket(ctx: &Context, ty: SocketType, heartbeat: bool) -> Result<Socket, String> {
    let mut s = socket(ctx, ty)?;
    // The default LINGER (forever): a clean close delivers what is queued.
    s.set_option(SocketOption::Linger(None))
        .map_err(|e| e.to_string())?;
    if heartbeat {
        for o in [
            SocketOption::HeartbeatIvl(Some(Duration::from_millis(100))),
            SocketOption::HeartbeatTimeout(Some(Duration::from_secs(1))),
        ] {
            s.set_option(o).map_err(|e| e.to_string())?;
        }
    }
    Ok(s)
}

/// Echoes coming back to a DEALER: in order, gaps counted (ROUTER drops for a full peer).
#[derive(Debug, Default)]
struct Echoes {
    last: Option<u64>,
}

impl Echoes {
    fn drain(&mut self, s: &mut Socket, stream: u64, c: &Counters) {
        if s.socket_type() != SocketType::Dealer {
            return;
        }
        while let Ok(m) = s.recv_flags(Flags::DONTWAIT) {
            Counters::add(&c.received, 1);
            match decode(m.as_slice()) {
                Some((st, seq)) if st == stream => {
                    match self.last {
                        Some(l) if seq <= l => Counters::add(&c.reorders, 1),
                        Some(l) => Counters::add(&c.echo_gaps, seq - l - 1),
                        None => Counters::add(&c.echo_gaps, seq),
                    }
                    self.last = Some(seq);
                }
                _ => Counters::add(&c.reorders, 1),
            }
        }
    }
}

/// Sends `stream`'s message `seq`; `Ok(false)` when the socket had no room within its
/// send timeout (the same message is tried again).
fn send_one(s: &mut Socket, stream: u64, seq: u64) -> Result<bool, String> {
    match s.send(encode(stream, seq, LEN)) {
        Ok(()) => Ok(true),
        Err(Error::Again) => Ok(false),
        Err(e) => Err(format!("send: {e}")),
    }
}

/// Runs a sender of `ty` (PUSH or DEALER) to `endpoint` until the run finishes.
pub fn sender(
    shared: &Shared,
    ctx: &Context,
    ty: SocketType,
    endpoint: &str,
    registry: &Registry,
    mode: Mode,
) -> Result<(), String> {
    let mut rng = Rng::new(shared.stream_id());
    while !shared.finishing() {
        let stream = shared.stream_id();
        let ledger = registry.open(stream);
        let result = match mode {
            Mode::Churning => {
                let n = 1 + rng.below(shared.config.stream_len);
                churning_stream(shared, ctx, ty, endpoint, stream, n)
            }
            Mode::Long => long_stream(shared, ctx, ty, endpoint, stream, &ledger),
        };
        let sent = result.map_err(|e| format!("{ty:?} to {endpoint}: {e}"))?;
        if sent > 0 && !ledger.wait_for(sent - 1, PATIENCE) {
            eprintln!("{ty:?} to {endpoint}: stream {stream} incomplete after {PATIENCE:?}");
        }
        let v = ledger.verify(sent);
        registry.close(stream);
        shared.tally_verdict(&v);
        if v.lost_beyond + v.reorders > 0 {
            eprintln!(
                "{ty:?} to {endpoint}: stream {stream} of {sent}: {v:?}; {}",
                ledger.describe()
            );
        }
    }
    Ok(())
}

/// One stream of `n` messages on a socket of its own, closed cleanly; returns `n`.
fn churning_stream(
    shared: &Shared,
    ctx: &Context,
    ty: SocketType,
    endpoint: &str,
    stream: u64,
    n: u64,
) -> Result<u64, String> {
    let mut s = sender_socket(ctx, ty, false)?;
    s.connect(endpoint).map_err(|e| e.to_string())?;
    let mut pacer = Pacer::new(shared.config.rate);
    let mut echoes = Echoes::default();
    let mut seq = 0;
    while seq < n {
        if pacer.due() && send_one(&mut s, stream, seq)? {
            pacer.sent();
            seq += 1;
            Counters::add(&shared.counters.sent, 1);
        }
        echoes.drain(&mut s, stream, &shared.counters);
    }
    drop(s);
    Ok(n)
}

/// One stream for the whole run over a faulty path; returns how many messages were sent.
fn long_stream(
    shared: &Shared,
    ctx: &Context,
    ty: SocketType,
    endpoint: &str,
    stream: u64,
    ledger: &Ledger,
) -> Result<u64, String> {
    let mut s = sender_socket(ctx, ty, true)?;
    let monitor = s.monitor();
    s.connect(endpoint).map_err(|e| e.to_string())?;
    let mut pacer = Pacer::new(shared.config.rate);
    let mut echoes = Echoes::default();
    let mut seq = 0;
    while !shared.finishing() {
        if pacer.due() && send_one(&mut s, stream, seq)? {
            pacer.sent();
            seq += 1;
            Counters::add(&shared.counters.sent, 1);
        }
        echoes.drain(&mut s, stream, &shared.counters);
        for out in shared.tally(&monitor) {
            ledger.connection_lost(out);
        }
    }
    // Faults are off: the last message arrives over the live connection, and every lost
    // connection was reported before the next one was made.
    if seq > 0 {
        ledger.wait_for(seq - 1, PATIENCE);
    }
    for out in shared.tally(&monitor) {
        ledger.connection_lost(out);
    }
    Ok(seq)
}

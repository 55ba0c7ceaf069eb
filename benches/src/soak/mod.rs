//! The soak: every pattern at once, for minutes or hours, with churn and faults, checking
//! that nothing is reordered, duplicated or lost beyond what docs/wire.md §7.6 allows, and
//! that descriptors, live objects and memory stay flat (docs/limits.md §5).
//!
//! At the same time, in one process (and a peer process):
//!
//! - PUSH→PULL over tcp, ipc, ws and inproc, DEALER→ROUTER (echoing) over tcp, ipc and ws:
//!   a new connection per stream, closed cleanly; everything must arrive ([`streams`]);
//! - the same through relays that reset and stall connections (tcp, and ws for PUSH):
//!   only a lost connection's window may be missing ([`faults`], [`ledger`]);
//! - PUSH to a PULL in a peer process killed with SIGKILL and restarted ([`child`]);
//! - REQ/REP with REQ_RELAXED and REQ_CORRELATE, direct and through a relay ([`reqrep`]);
//! - PUB/SUB with steady subscribers (one behind a stalling relay) and subscribers joining
//!   and leaving ([`pubsub`]);
//! - the churn driver of `tests/spec/churn.rs` (`isomq_tests::churn`): connections to a
//!   PUB, a ROUTER and a PULL over tcp and ws, ended by a clean close, an RST, or an RST
//!   during traffic.
//!
//! Every message carries (stream id, sequence number). A sample every few seconds; at the
//! end, every socket is closed and the descriptors and the I/O threads' live objects must
//! be back to what they were before the first workload.

pub mod child;
pub mod counters;
pub mod faults;
pub mod ledger;
pub mod pace;
pub mod pubsub;
pub mod report;
pub mod reqrep;
pub mod samples;
pub mod streams;
mod workloads;

pub use report::{print_report, Outcome};

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use isomq::{Context, Monitor, MonitorEvent, Socket, SocketOption, SocketType};
use isomq_tests::churn::Churn;

use counters::Counters;
use ledger::Verdict;
use samples::Sample;

use crate::BoxError;

/// How long a wait for an event may take before it counts as never: a message that should
/// arrive, descriptors that should close.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The soak's sizes and schedule.
#[derive(Debug, Clone)]
pub struct Config {
    /// How long the workloads run.
    pub duration: Duration,
    /// Time between samples.
    pub sample_every: Duration,
    /// Time between faults (a relay's reset or stall).
    pub fault_every: Duration,
    /// How long a stall lasts: beyond the 1 s heartbeat timeout of the sockets behind it.
    pub stall_for: Duration,
    /// Time between kills of the peer process.
    pub kill_every: Duration,
    /// Messages per second of each paced sender (a REQ makes a quarter of it).
    pub rate: u64,
    /// A churning stream's length is drawn from 1 to this.
    pub stream_len: u64,
    /// Churn driver cycles per second.
    pub churn_per_sec: u64,
    /// How much resident memory may rise over the second half (fitted line), KiB.
    pub rss_tolerance_kib: f64,
    /// How many descriptors the fitted line may rise over the second half.
    pub fd_tolerance: f64,
    /// This program, run with `--role pull ENDPOINT` as the peer process.
    pub exe: PathBuf,
}

impl Config {
    /// The full soak's schedule for a run of `duration`.
    pub fn new(duration: Duration, exe: PathBuf) -> Config {
        Config {
            duration,
            sample_every: Duration::from_secs(5),
            fault_every: Duration::from_secs(3),
            stall_for: Duration::from_millis(1_500),
            kill_every: Duration::from_secs(20),
            rate: 1_000,
            stream_len: 500,
            churn_per_sec: 20,
            rss_tolerance_kib: 2_048.0,
            fd_tolerance: 4.0,
            exe,
        }
    }
}

/// What every workload thread shares: the schedule, the counters and the phase flags.
#[derive(Debug)]
pub struct Shared {
    pub config: Config,
    pub counters: Counters,
    /// Faults stop first, so that the end of every stream travels on a live connection.
    faults_off: AtomicBool,
    /// Then senders finish their streams and check them.
    finish: AtomicBool,
    /// Then receivers stop.
    stop: AtomicBool,
    next_stream: AtomicU64,
    /// Why connections ended or failed their handshake, as the monitors said, with counts.
    reasons: Mutex<std::collections::BTreeMap<String, u64>>,
}

impl Shared {
    fn new(config: Config) -> Shared {
        Shared {
            config,
            counters: Counters::default(),
            faults_off: AtomicBool::new(false),
            finish: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            next_stream: AtomicU64::new(1),
            reasons: Mutex::default(),
        }
    }

    pub fn faults_off(&self) -> bool {
        self.faults_off.load(Ordering::Acquire)
    }

    pub fn finishing(&self) -> bool {
        self.finish.load(Ordering::Acquire)
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// A stream id never used before in this run.
    pub fn stream_id(&self) -> u64 {
        self.next_stream.fetch_add(1, Ordering::Relaxed)
    }

    /// Counts what `monitor` reported since the last call; returns the `messages_out` of
    /// each connection it reported lost, in order.
    pub fn tally(&self, monitor: &Monitor) -> Vec<u64> {
        let c = &self.counters;
        let mut lost = Vec::new();
        while let Some(event) = monitor.try_recv() {
            match event {
                MonitorEvent::Disconnected {
                    messages_out,
                    reason,
                    ..
                } => {
                    Counters::add(&c.disconnects, 1);
                    self.reason(format!("disconnected: {reason}"));
                    lost.push(messages_out);
                }
                MonitorEvent::ConnectRetried { .. } => Counters::add(&c.retries, 1),
                MonitorEvent::HandshakeFailed { reason, .. } => {
                    Counters::add(&c.handshake_failures, 1);
                    self.reason(format!("handshake failed: {reason}"));
                }
                MonitorEvent::HandshakeFailedAuth { .. } => {
                    Counters::add(&c.handshake_failures, 1);
                }
                _ => {}
            }
        }
        lost
    }

    /// Counts one more connection that ended for `why`.
    pub fn reason(&self, why: String) {
        let mut r = self.reasons.lock().unwrap_or_else(|e| e.into_inner());
        *r.entry(why).or_default() += 1;
    }

    /// The reasons counted so far.
    pub fn reasons(&self) -> Vec<(String, u64)> {
        let r = self.reasons.lock().unwrap_or_else(|e| e.into_inner());
        r.iter().map(|(k, &v)| (k.clone(), v)).collect()
    }

    /// Adds a stream's verdict to the counters.
    pub fn tally_verdict(&self, v: &Verdict) {
        let c = &self.counters;
        Counters::add(&c.streams, 1);
        Counters::add(&c.lost_in_window, v.lost_in_window);
        Counters::add(&c.lost_beyond, v.lost_beyond);
        Counters::add(&c.reorders, v.reorders);
    }
}

/// A socket whose blocking calls wait at most 100 ms, so that its thread sees the phase
/// flags; LINGER 0 (senders that must deliver on close set it back).
pub fn socket(ctx: &Context, ty: SocketType) -> Result<Socket, String> {
    let mut s = ctx.socket(ty).map_err(|e| e.to_string())?;
    for o in [
        SocketOption::RcvTimeout(Some(Duration::from_millis(100))),
        SocketOption::SndTimeout(Some(Duration::from_millis(100))),
        SocketOption::Linger(Some(Duration::ZERO)),
    ] {
        s.set_option(o).map_err(|e| e.to_string())?;
    }
    Ok(s)
}

/// Runs the soak; prints a sample row as each is taken (`quiet` prints nothing).
pub fn run(config: Config, quiet: bool) -> Result<Outcome, BoxError> {
    let shared = Arc::new(Shared::new(config));
    let server = Context::new();
    let client = Context::new();
    // I/O threads start with a context's first socket and stay: part of the baseline.
    // With inline I/O only ws:// binds use them, and the first starts them.
    for ctx in [&server, &client] {
        let mut s = ctx.socket(SocketType::Push)?;
        if ctx.is_inline_io() {
            s.bind("ws://127.0.0.1:*/warm-up")?;
            let ep = s.last_endpoint().unwrap_or_default().to_owned();
            s.unbind(&ep)?;
        }
    }
    let churn = Arc::new(Mutex::new(Churn::new()?));
    let start = Instant::now();
    let baseline = samples::take(start, &server, &client, &shared.counters);
    let work = workloads::Workloads::start(&shared, &server, &client, &churn)?;
    if !quiet {
        println!("{}", samples::header());
    }
    let mut taken = Vec::new();
    let end_at = start + shared.config.duration;
    while Instant::now() < end_at {
        let next = Instant::now() + shared.config.sample_every;
        std::thread::sleep(next.min(end_at).saturating_duration_since(Instant::now()));
        let s = samples::take(start, &server, &client, &shared.counters);
        if !quiet {
            println!("{}", samples::row(&s));
        }
        taken.push(s);
    }
    let mut failures = work.finish(&shared);
    let end = settle(start, &server, &client, &shared, &baseline);
    Ok(report::judge(&shared, baseline, taken, end, &mut failures))
}

/// Waits until descriptors and live objects are back to `baseline` (the teardown of the
/// last connections finishes on the I/O threads after the sockets are closed), at most
/// [`PATIENCE`]; returns the last sample.
fn settle(
    start: Instant,
    server: &Context,
    client: &Context,
    shared: &Shared,
    baseline: &Sample,
) -> Sample {
    let begun = Instant::now();
    loop {
        let s = samples::take(start, server, client, &shared.counters);
        let back =
            s.fds == baseline.fds && s.server == baseline.server && s.client == baseline.client;
        if back || begun.elapsed() > PATIENCE {
            return s;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

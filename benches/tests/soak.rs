//! The soak in short (the full run is `cargo run --release -p isomq-benches --bin soak`,
//! figures in benches/RESULTS.md "Soak"): 25 s of every pattern at once over tcp, ipc, ws
//! and inproc, with connections churning, relays resetting and stalling connections and a
//! peer process killed with SIGKILL and restarted, at reduced rates.
//!
//! The rules checked, the same as the full run's (`Outcome::failures`):
//! - within a pipe no message is reordered or duplicated (PUSH/PULL, DEALER/ROUTER and its
//!   echoes, PUB/SUB, the peer process's PULL);
//! - between live peers nothing accepted is lost (PUSH→PULL and DEALER→ROUTER streams on
//!   connections closed cleanly), and across a lost connection only that connection's
//!   window (docs/wire.md §7.6: what it had taken from the queue, of which the peer got a
//!   prefix);
//! - every REQ reply answers the outstanding request (REQ_RELAXED, REQ_CORRELATE);
//! - once every socket is closed, the open descriptors and the I/O threads' live objects
//!   are those of before the first workload, and the churn driver's too (docs/limits.md §5);
//! - resident memory and descriptors do not climb over the second half (fitted line).
//!
//! No rule is about speed: the rates only set how much traffic the run makes. Every wait
//! is for an event (a stream's last message, the counts coming back), bounded by a
//! patience that only a failure reaches.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use isomq_benches::soak::{self, Config};

#[test]
fn a_short_soak_keeps_order_loses_nothing_beyond_the_window_and_leaves_nothing_behind() {
    let mut config = Config::new(
        Duration::from_secs(25),
        PathBuf::from(env!("CARGO_BIN_EXE_soak")),
    );
    config.sample_every = Duration::from_secs(1);
    config.fault_every = Duration::from_secs(1);
    config.kill_every = Duration::from_secs(6);
    config.rate = 300;
    config.stream_len = 200;
    config.churn_per_sec = 10;
    // Over 12 s the allocator's arenas are still reaching their working size; this catches
    // a leak of a few hundred bytes a message, not the last KiB (the full run does).
    config.rss_tolerance_kib = 4_096.0;
    // Descriptors move with the connections open at each sample (churn, relays, streams):
    // over 12 samples the fitted line wanders by a few. A descriptor kept per connection
    // shows as hundreds, and the end's exact return to the baseline is checked anyway.
    config.fd_tolerance = 16.0;
    let outcome = soak::run(config.clone(), true).unwrap();
    soak::print_report(&outcome, &config);
    assert!(outcome.passed(), "{:?}", outcome.failures);
    let count = |name: &str| {
        outcome
            .counters
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |&(_, v)| v)
    };
    // The run did what it is for: streams checked, faults made, the peer killed.
    assert!(count("streams checked") > 0);
    assert!(count("relay resets") + count("relay stalls") > 0);
    assert!(count("peers killed") > 0);
    assert!(count("churn cycles") > 0);
}

//! `churn [--cycles N] [--every K]`: connection churn at full scale (docs/limits.md §5).
//!
//! N connect, handshake and disconnect cycles (default 100,000) against a PUB, a ROUTER and
//! a PULL over tcp:// and ws://, ended cleanly, by a reset, and by a reset during traffic
//! (the driver `tests/spec/churn.rs` runs on 3,000). After a warm-up of 600 cycles, and
//! every K cycles after it (default N / 10), it waits until the descriptors and the I/O
//! threads' live objects are back to those before the first cycle, and prints one line:
//! cycles, open descriptors, the listening context's listeners, sessions, handshakes, timers
//! and queued bytes, the client context's sessions, the bytes allocated and not freed (a
//! counting allocator: the heap the process uses, without the allocator's own keeping), and
//! resident memory. It fails if any count but memory does not come back.
//!
//! ```text
//! cargo run --release -p isomq-benches --bin churn -- --cycles 100000
//! ```

use std::process::ExitCode;
use std::time::Instant;

use isomq_benches::counting::{live_bytes, Counting};
use isomq_benches::BoxError;
use isomq_tests::churn::{Churn, Snapshot};

const WARM_UP: usize = 600;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), BoxError> {
    let (cycles, every) = parse()?;
    let mut churn = Churn::new()?;
    let quiet = churn.quiet()?;
    churn.run(WARM_UP)?;
    let baseline = churn.settle(&quiet)?;
    println!(
        "| cycles | fds | listeners | sessions | handshakes | timers | queued bytes \
         | client sessions | heap KiB | RSS KiB | s |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let start = Instant::now();
    line(0, &baseline, 0.0);
    let mut done = 0;
    while done < cycles {
        let n = every.min(cycles - done);
        churn.run(n)?;
        done += n;
        let now = churn.settle(&quiet)?;
        line(done, &now, start.elapsed().as_secs_f64());
    }
    Ok(())
}

fn line(cycles: usize, s: &Snapshot, secs: f64) {
    println!(
        "| {cycles} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {secs:.1} |",
        s.fds,
        s.server.listeners,
        s.server.sessions,
        s.server.handshakes,
        s.server.timers,
        s.server.queued_bytes,
        s.client.sessions,
        live_bytes() / 1024,
        s.rss_kib
    );
}

fn parse() -> Result<(usize, usize), BoxError> {
    let mut cycles = 100_000;
    let mut every = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value: usize = args
            .next()
            .ok_or("usage: churn [--cycles N] [--every K]")?
            .parse()?;
        match flag.as_str() {
            "--cycles" => cycles = value,
            "--every" => every = Some(value),
            _ => return Err(format!("unknown flag {flag}").into()),
        }
    }
    Ok((cycles, every.unwrap_or(cycles / 10).max(1)))
}

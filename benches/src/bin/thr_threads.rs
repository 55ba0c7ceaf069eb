//! `thr_threads <ipc|tcp|ws> <message-size> <message-count> <rounds> [hwm]`: PUSH → PULL throughput
//! with both sides in this process (as the `compare` table's cells), and after each round
//! what each thread did during it: the CPU it ended on, its time running and waiting for a
//! CPU, migrations, sleeps and preemptions, read and write system calls and the bytes per
//! call. `hwm` sets both sockets' high-water marks (default 1000). `ISOMQ_IO_THREADS` sets the I/O threads per context (default 1; 0 is inline I/O).
//!
//! It shows where the scheduler put the threads of a slow round and what that cost
//! (benches/RESULTS.md, "nineteenth stop"), without a sampler that would move them. The
//! receiver's own reads (about 120 of 123 bytes) are the second snapshot's reads of
//! `/proc`.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::mpsc;

use isomq::{SocketOption, SocketType};
use isomq_benches::threads::{self, ThreadStats};
use isomq_benches::transport::Transport;
use isomq_benches::{args, iso, report, BoxError};

const USAGE: &str = "thr_threads <ipc|tcp|ws> <message-size> <message-count> <rounds> [hwm]";

/// What a run measures.
struct Run {
    /// Each side has a context of its own, as the comparison's cells (so not inproc).
    transport: Transport,
    size: usize,
    count: usize,
    rounds: usize,
    hwm: usize,
}

fn main() -> ExitCode {
    let parsed = || -> Option<Run> {
        let argv: Vec<String> = std::env::args().skip(1).collect();
        let (transport, size, count, rounds, hwm) = match argv.as_slice() {
            [t, s, c, r] => (t, s, c, r, "1000"),
            [t, s, c, r, h] => (t, s, c, r, h.as_str()),
            _ => return None,
        };
        Some(Run {
            transport: Transport::parse(transport).filter(|&t| t != Transport::Inproc)?,
            size: size.parse().ok()?,
            count: count.parse().ok().filter(|&n| n > 0)?,
            rounds: rounds.parse().ok().filter(|&n| n > 0)?,
            hwm: hwm.parse().ok()?,
        })
    };
    args::run(USAGE, parsed(), |run| {
        for _ in 0..run.rounds {
            let ep = run.transport.bind_endpoint();
            let outcome = one_round(&ep, &run, args::io_threads());
            run.transport.cleanup(&ep);
            outcome?;
        }
        Ok(())
    })
}

/// One round: the receiver on this thread, the sender on a new one, a snapshot of every
/// thread before the first message is received and after the last.
fn one_round(endpoint: &str, run: &Run, io_threads: usize) -> Result<(), BoxError> {
    let (size, count, hwm) = (run.size, run.count, run.hwm);
    let ctx_local = iso::context(io_threads);
    let ctx_remote = iso::context(io_threads);
    let mut pull = ctx_local.socket(SocketType::Pull)?;
    pull.set_option(SocketOption::RcvHwm(hwm))?;
    pull.bind(endpoint)?;
    let ep = pull.last_endpoint().unwrap_or(endpoint).to_owned();
    let (tid_tx, tid_rx) = mpsc::channel();
    let (done, wait_done) = mpsc::channel::<()>();
    let sender = std::thread::spawn(move || -> Result<(), BoxError> {
        let _ = tid_tx.send(threads::current_tid());
        let mut push = ctx_remote.socket(SocketType::Push)?;
        push.set_option(SocketOption::SndHwm(hwm))?;
        push.connect(&ep)?;
        iso::send(&mut push, size, count)?;
        // Held open until the receiver has its snapshot, as `iso::thr` holds it.
        iso::hold_until_received(&wait_done);
        Ok(())
    });
    let sender_tid = tid_rx.recv()?;
    let before = threads::snapshot()?;
    let elapsed = iso::receive(&mut pull, size, count)?;
    let after = threads::snapshot()?;
    drop(done);
    sender.join().map_err(|_| "sender panicked")??;
    println!("{:.2} M msg/s", report::throughput(count, elapsed) / 1e6);
    print_threads(&threads::since(&before, &after), sender_tid);
    Ok(())
}

fn print_threads(stats: &BTreeMap<i64, ThreadStats>, sender_tid: i64) {
    let receiver_tid = i64::from(std::process::id());
    for (&tid, t) in stats {
        let who = match tid {
            t if t == receiver_tid => "receiver".to_owned(),
            t if t == sender_tid => "sender".to_owned(),
            _ => format!("{} ({tid})", t.name),
        };
        let per = |bytes: u64, calls: u64| bytes.checked_div(calls).unwrap_or(0);
        println!(
            "  {who:<22} cpu {:>2}  run {:6.1} ms  wait {:5.1} ms  migrations {:4}  \
             sleeps {:5}  preempted {:5}  reads {:6} ({:6} B)  writes {:6} ({:6} B)",
            t.cpu,
            t.run_ms,
            t.wait_ms,
            t.migrations,
            t.voluntary,
            t.involuntary,
            t.reads,
            per(t.read_bytes, t.reads),
            t.writes,
            per(t.write_bytes, t.writes),
        );
    }
}

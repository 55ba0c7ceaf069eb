//! `lat_rounds [--thr] <inproc|ipc|tcp> <size> <count> <rounds> [isomq|inline|libzmq|raw]`:
//! one cell of the comparison's latency table (`count` round trips, one-way µs), or with
//! `--thr` of its throughput table (`count` messages, msg/s at the receiver), both sides
//! in this process as `compare` runs them, one line per run, so that the spread between
//! runs shows (benches/RESULTS.md, "Round two, ninth stop": the placement of the four
//! threads decides each run). Run it under `perf stat -e cpu-migrations` to see which
//! placement a run got. Without a choice, isomq (with an I/O thread), isomq inline
//! (`ContextBuilder::inline_io`), libzmq and the raw socket of `compare`'s raw column
//! alternate on each line; a choice runs only that one.

use std::process::ExitCode;

use isomq_benches::args;
use isomq_benches::compare::Impl;
use isomq_benches::measure::{lat_with, thr_of};
use isomq_benches::security::Security;
use isomq_benches::transport::Transport;

struct Args {
    /// Throughput instead of latency.
    thr: bool,
    transport: Transport,
    size: usize,
    /// Round trips, or messages with `--thr`.
    count: usize,
    rounds: usize,
    /// Each with its name as printed and its I/O threads (0: inline).
    libs: Vec<(&'static str, Impl, usize)>,
}

fn parse() -> Option<Args> {
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    let thr = argv.first().is_some_and(|a| a == "--thr");
    if thr {
        argv.remove(0);
    }
    let (cell, only) = match argv.as_slice() {
        [t, s, n, r] => ([t, s, n, r], None),
        [t, s, n, r, only] => ([t, s, n, r], Some(only.as_str())),
        _ => return None,
    };
    let transport = Transport::parse(cell[0]).filter(|&t| t != Transport::Ws)?;
    let libs = match only {
        None => vec![
            ("isomq", Impl::Isomq, 1),
            ("inline", Impl::Isomq, 0),
            ("libzmq", Impl::Libzmq, 1),
            ("raw", Impl::Raw, 1),
        ],
        Some("isomq") => vec![("isomq", Impl::Isomq, 1)],
        Some("inline") => vec![("inline", Impl::Isomq, 0)],
        Some("libzmq") => vec![("libzmq", Impl::Libzmq, 1)],
        Some("raw") => vec![("raw", Impl::Raw, 1)],
        Some(_) => return None,
    };
    Some(Args {
        thr,
        transport,
        size: cell[1].parse().ok()?,
        count: cell[2].parse().ok().filter(|&n| n > 0)?,
        rounds: cell[3].parse().ok()?,
        libs,
    })
}

fn main() -> ExitCode {
    args::run(
        "lat_rounds [--thr] <inproc|ipc|tcp> <size> <count> <rounds> [isomq|inline|libzmq|raw]",
        parse(),
        |a| {
            for _ in 0..a.rounds {
                let mut line = String::new();
                for &(name, imp, io_threads) in &a.libs {
                    let (t, size, n, sec) = (a.transport, a.size, a.count, Security::Null);
                    if a.thr {
                        let rate = thr_of(imp, t, size, n, io_threads, None, sec)?;
                        line.push_str(&format!("{name} {rate:.0} "));
                    } else {
                        let us = lat_with(imp, t, size, n, io_threads, sec)?;
                        line.push_str(&format!("{name} {us:.1} "));
                    }
                }
                println!("{}{}", line, if a.thr { "msg/s" } else { "us one way" });
            }
            Ok(())
        },
    )
}

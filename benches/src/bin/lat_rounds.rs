//! `lat_rounds <inproc|ipc|tcp> <size> <roundtrips> <rounds> [isomq|inline|libzmq|raw]`:
//! one cell of the comparison's latency table, both sides in this process as `compare` runs
//! them, one line per run (isomq and libzmq alternating, or one of them), so that the spread
//! between runs shows (benches/RESULTS.md, "Round two, ninth stop": the placement of the
//! four threads decides each run). Run it under `perf stat -e cpu-migrations` to see which
//! placement a run got. `inline` runs isomq with inline I/O (`ContextBuilder::inline_io`),
//! `raw` the plain socket ping-pong of `compare`'s raw column; without a choice, isomq,
//! isomq inline, libzmq and raw alternate.

use std::process::ExitCode;

use isomq_benches::args;
use isomq_benches::compare::Impl;
use isomq_benches::measure::lat_with;
use isomq_benches::security::Security;
use isomq_benches::transport::Transport;

struct Args {
    transport: Transport,
    size: usize,
    roundtrips: usize,
    rounds: usize,
    /// Each with its name as printed and its I/O threads (0: inline).
    libs: Vec<(&'static str, Impl, usize)>,
}

fn parse() -> Option<Args> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let (cell, only) = match argv.as_slice() {
        [t, s, n, r] => ([t, s, n, r], None),
        [t, s, n, r, only] => ([t, s, n, r], Some(only.as_str())),
        _ => return None,
    };
    let transport = match cell[0].as_str() {
        "inproc" => Transport::Inproc,
        "ipc" => Transport::Ipc,
        "tcp" => Transport::Tcp,
        _ => return None,
    };
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
        transport,
        size: cell[1].parse().ok()?,
        roundtrips: cell[2].parse().ok().filter(|&n| n > 0)?,
        rounds: cell[3].parse().ok()?,
        libs,
    })
}

fn main() -> ExitCode {
    args::run(
        "lat_rounds <inproc|ipc|tcp> <message-size> <roundtrip-count> <rounds> [isomq|inline|libzmq|raw]",
        parse(),
        |a| {
            for _ in 0..a.rounds {
                let mut line = String::new();
                for &(name, imp, io_threads) in &a.libs {
                    let us = lat_with(
                        imp,
                        a.transport,
                        a.size,
                        a.roundtrips,
                        io_threads,
                        Security::Null,
                    )?;
                    line.push_str(&format!("{name} {us:.1} "));
                }
                println!("{}us one way", line);
            }
            Ok(())
        },
    )
}

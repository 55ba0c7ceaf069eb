//! `lat_rounds <inproc|ipc|tcp> <message-size> <roundtrip-count> <rounds> [isomq|libzmq]`:
//! one cell of the comparison's latency table, both sides in this process as `compare` runs
//! them, one line per run (isomq and libzmq alternating, or one of them), so that the spread
//! between runs shows (benches/RESULTS.md, "Round two, ninth stop": the placement of the
//! four threads decides each run). Run it under `perf stat -e cpu-migrations` to see which
//! placement a run got.

use std::process::ExitCode;

use isomq_benches::args;
use isomq_benches::compare::Impl;
use isomq_benches::measure::lat_of;
use isomq_benches::security::Security;
use isomq_benches::transport::Transport;

struct Args {
    transport: Transport,
    size: usize,
    roundtrips: usize,
    rounds: usize,
    /// Each with its name as printed.
    libs: Vec<(&'static str, Impl)>,
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
        None => vec![("isomq", Impl::Isomq), ("libzmq", Impl::Libzmq)],
        Some("isomq") => vec![("isomq", Impl::Isomq)],
        Some("libzmq") => vec![("libzmq", Impl::Libzmq)],
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
        "lat_rounds <inproc|ipc|tcp> <message-size> <roundtrip-count> <rounds> [isomq|libzmq]",
        parse(),
        |a| {
            for _ in 0..a.rounds {
                let mut line = String::new();
                for &(name, imp) in &a.libs {
                    let us = lat_of(imp, a.transport, a.size, a.roundtrips, Security::Null)?;
                    line.push_str(&format!("{name} {us:.1} "));
                }
                println!("{}us one way", line);
            }
            Ok(())
        },
    )
}

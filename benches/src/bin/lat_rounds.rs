//! `lat_rounds <inproc|ipc|tcp> <message-size> <roundtrip-count> <rounds> [isomq|libzmq]`:
//! one cell of the comparison's latency table, both sides in this process as `compare` runs
//! them, one line per run (isomq and libzmq alternating, or one of them), so that the spread
//! between runs shows (benches/RESULTS.md, "Round two, ninth stop": the placement of the
//! four threads decides each run). Run it under `perf stat -e cpu-migrations` to see which
//! placement a run got.

use std::process::ExitCode;

use isomq_benches::security::Security;
use isomq_benches::transport::Transport;
use isomq_benches::{args, iso, libzmq, report, BoxError};

struct Args {
    transport: Transport,
    size: usize,
    roundtrips: usize,
    rounds: usize,
    libs: Vec<&'static str>,
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
        None => vec!["isomq", "libzmq"],
        Some("isomq") => vec!["isomq"],
        Some("libzmq") => vec!["libzmq"],
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

fn one_run(a: &Args, lib: &str) -> Result<f64, BoxError> {
    let ep = a.transport.bind_endpoint();
    let elapsed = match lib {
        "isomq" => iso::lat(&ep, a.size, a.roundtrips, 1, Security::Null),
        _ => libzmq::lat(&ep, a.size, a.roundtrips, 1, Security::Null),
    };
    a.transport.cleanup(&ep);
    Ok(report::latency_us(a.roundtrips, elapsed?))
}

fn main() -> ExitCode {
    args::run(
        "lat_rounds <inproc|ipc|tcp> <message-size> <roundtrip-count> <rounds> [isomq|libzmq]",
        parse(),
        |a| {
            for _ in 0..a.rounds {
                let mut line = String::new();
                for lib in &a.libs {
                    let us = one_run(&a, lib)?;
                    line.push_str(&format!("{lib} {us:.1} "));
                }
                println!("{}us one way", line);
            }
            Ok(())
        },
    )
}

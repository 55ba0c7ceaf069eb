//! `cargo run --release -p isomq-benches --bin compare [-- --reps N --scale F --no-write]`
//!
//! isomq, libzmq (the `zmq` crate) and a raw-socket baseline side by side, in one run on one
//! machine: throughput and latency for 16 B, 256 B, 4 KiB and 64 KiB over inproc, ipc and tcp,
//! the median of several repetitions, then fan-in throughput with 1 and 2 I/O threads.
//! Prints a table and writes it into `benches/RESULTS.md` (between the `compare` markers,
//! keeping the rest of the file) and a chart into `benches/results.svg`.

use std::process::ExitCode;
use std::time::Duration;

use isomq_benches::compare::{self, Cell, FanIn, Impl, Plan};
use isomq_benches::transport::Transport;
use isomq_benches::{iso, libzmq, raw, BoxError};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Runs `f` `reps` times and returns the median of what it measured.
fn measure(reps: usize, mut f: impl FnMut() -> Result<f64, BoxError>) -> Result<f64, BoxError> {
    let mut v = Vec::with_capacity(reps);
    for _ in 0..reps {
        v.push(f()?);
    }
    Ok(median(v))
}

fn thr_of(
    imp: Impl,
    t: Transport,
    size: usize,
    count: usize,
    io_threads: usize,
) -> Result<f64, BoxError> {
    let ep = t.bind_endpoint();
    let elapsed = match imp {
        Impl::Isomq => iso::thr(&ep, size, count, io_threads)?,
        Impl::Libzmq => libzmq::thr(&ep, size, count, io_threads)?,
        Impl::Raw => raw::thr(t, size, count)?,
    };
    t.cleanup(&ep);
    Ok(isomq_benches::report::throughput(count, elapsed))
}

fn lat_of(imp: Impl, t: Transport, size: usize, roundtrips: usize) -> Result<f64, BoxError> {
    let ep = t.bind_endpoint();
    let elapsed = match imp {
        Impl::Isomq => iso::lat(&ep, size, roundtrips, 1)?,
        Impl::Libzmq => libzmq::lat(&ep, size, roundtrips, 1)?,
        Impl::Raw => raw::lat(t, size, roundtrips)?,
    };
    t.cleanup(&ep);
    Ok(isomq_benches::report::latency_us(roundtrips, elapsed))
}

fn run(plan: &Plan) -> Result<(Vec<Cell>, Vec<FanIn>), BoxError> {
    let mut cells = Vec::new();
    for &t in &[Transport::Inproc, Transport::Ipc, Transport::Tcp] {
        for &size in compare::SIZES {
            let (count, roundtrips) = plan.counts(size);
            let mut cell = Cell::new(t, size);
            for imp in Impl::ALL {
                if imp == Impl::Raw && t == Transport::Inproc {
                    continue;
                }
                let thr = measure(plan.reps, || thr_of(imp, t, size, count, 1))?;
                let lat = measure(plan.reps, || lat_of(imp, t, size, roundtrips))?;
                cell.set(imp, thr, lat);
            }
            eprintln!("{}", cell.line());
            cells.push(cell);
        }
    }
    let mut fan = Vec::new();
    let (count, _) = plan.counts(compare::FAN_IN_SIZE);
    let per_conn = count / compare::FAN_IN_CONNECTIONS;
    for io_threads in [1, 2] {
        let mut row = FanIn::new(io_threads);
        for imp in [Impl::Isomq, Impl::Libzmq] {
            let thr = measure(plan.reps, || {
                let ep = Transport::Tcp.bind_endpoint();
                let n = compare::FAN_IN_CONNECTIONS;
                let size = compare::FAN_IN_SIZE;
                let elapsed: Duration = match imp {
                    Impl::Isomq => iso::thr_fan_in(&ep, size, per_conn, n, io_threads)?,
                    _ => libzmq::thr_fan_in(&ep, size, per_conn, n, io_threads)?,
                };
                Ok(isomq_benches::report::throughput(per_conn * n, elapsed))
            })?;
            row.set(imp, thr);
        }
        eprintln!("{}", row.line());
        fan.push(row);
    }
    Ok((cells, fan))
}

fn main() -> ExitCode {
    let Some(plan) = Plan::from_args() else {
        println!("usage: compare [--reps N] [--scale F] [--no-write]");
        return ExitCode::from(1);
    };
    let started = std::time::Instant::now();
    let (cells, fan) = match run(&plan) {
        Ok(r) => r,
        Err(e) => {
            println!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let table = compare::markdown(&plan, &cells, &fan, started.elapsed());
    println!("{table}");
    if plan.write {
        if let Err(e) = compare::write_results(&table, &cells) {
            println!("error writing results: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

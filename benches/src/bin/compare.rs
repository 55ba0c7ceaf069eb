//! `cargo run --release -p isomq-benches --bin compare [-- --reps N --scale F --no-write --curve --ws-only --wss --procs --procs-shared]`
//!
//! isomq, libzmq (the `zmq` crate) and a raw-socket baseline side by side, in one run on one
//! machine: throughput and latency for 16 B, 256 B, 4 KiB and 64 KiB over inproc, ipc and tcp,
//! in interleaved rounds (medians; ratios paired within a round); small-message ipc and tcp
//! throughput again with each side pinned to a core of its own; 64 KiB over ipc and tcp again
//! with no copy per message (both libraries, beside raw); then fan-in throughput with
//! 1 and 2 I/O threads; then isomq over ws:// beside isomq over tcp:// and raw tcp
//! (`compare_ws`; `--ws-only` runs only these).
//! Prints a table and writes it into `benches/RESULTS.md` (between the `compare` markers,
//! keeping the rest of the file) and a chart into `benches/results.svg`.
//!
//! `--wss`: instead, isomq over wss:// beside ws:// and tcp:// (`compare_wss`), written
//! between the `compare-wss` markers.
//!
//! `--multicore [--pairs N,N,…]`: instead, N PUSH → PULL pairs over tcp at once with N I/O
//! threads per context (and on one I/O thread, for N > 1), isomq and libzmq in the same
//! rounds (`compare_multicore`; N = 1, 2, 4 and more on machines with the cores for them),
//! written between the `compare-multicore` markers.
//!
//! `--procs`: instead, small-message and 64 KiB throughput, and latency, with each side a
//! process of its own (this binary run twice per measurement, `proc_pair`), isomq and libzmq
//! in alternating rounds (`compare_procs`), then 64 KiB with no copy per message beside the
//! raw socket as processes too (`compare_procs_shared`), written between the
//! `compare-procs` markers. `--procs-shared`: only the latter, printed.
//!
//! `--curve`: instead, CURVE against NULL over tcp at 16 B, 256 B and 64 KiB, isomq and
//! libzmq in the same rounds (keys made once per run), and handshakes per second; written
//! between the `compare-curve` markers of `benches/RESULTS.md`. Needs a libzmq with CURVE
//! (`zmq::has("curve")`): benches/RESULTS.md §CURVE says how to link one.

use std::process::ExitCode;
use std::time::Duration;

use isomq_benches::compare::{
    self, Cell, CurveCell, CurveRounds, FanIn, Handshakes, Impl, Plan, Rounds, Tables,
};
use isomq_benches::compare_multicore::{self, Pairs, Row};
use isomq_benches::compare_ws::{self, WsCell, WsRounds, WsSide};
use isomq_benches::compare_wss::{self, WssCell, WssRounds};
use isomq_benches::measure::{lat_of, thr_of};
use isomq_benches::pin::Pin;
use isomq_benches::proc_pair;
use isomq_benches::security::{CurveKeys, Security, TlsPki};
use isomq_benches::transport::Transport;
use isomq_benches::{compare_procs, compare_procs_shared};
use isomq_benches::{iso, libzmq, raw, BoxError, Payload};

const NULL: Security = Security::Null;

/// One ws round's figure for `side`: ws and tcp are isomq's, raw is the tcp baseline.
fn ws_round(side: WsSide, size: usize, count: usize, rt: usize, pin: Option<Pin>) -> Figures {
    let t = match side {
        WsSide::Ws => Transport::Ws,
        WsSide::Tcp | WsSide::Raw => Transport::Tcp,
    };
    let imp = if side == WsSide::Raw {
        Impl::Raw
    } else {
        Impl::Isomq
    };
    let thr = thr_of(imp, t, size, count, 1, pin, Security::Null)?;
    let lat = if pin.is_none() {
        lat_of(imp, t, size, rt, Security::Null)?
    } else {
        0.0
    };
    Ok((thr, lat))
}

type Figures = Result<(f64, f64), BoxError>;

/// The ws rows: every round runs ws, tcp and raw once in turn (`compare_ws`).
fn run_ws(plan: &Plan) -> Result<Vec<WsCell>, BoxError> {
    let two_cores = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
    let pin = Pin {
        receiver: 0,
        sender: 1,
    };
    let mut cells = Vec::new();
    for &size in compare_ws::WS_SIZES {
        let (count, roundtrips) = plan.counts(size);
        let (mut thr, mut lat, mut pinned): (WsRounds, WsRounds, WsRounds) = Default::default();
        for _ in 0..plan.reps {
            for side in WsSide::ALL {
                let (t, l) = ws_round(side, size, count, roundtrips, None)?;
                thr[side.index()].push(t);
                lat[side.index()].push(l);
            }
            if two_cores && compare_ws::WS_PINNED_SIZES.contains(&size) {
                for side in [WsSide::Ws, WsSide::Tcp] {
                    let (t, _) = ws_round(side, size, count, roundtrips, Some(pin))?;
                    pinned[side.index()].push(t);
                }
            }
        }
        let mut cell = WsCell::new(size);
        cell.record(&thr, &lat, &pinned);
        eprintln!("{}", cell.line());
        cells.push(cell);
    }
    Ok(cells)
}

/// The [`compare::SHARED_SIZE`] rows with no copy per message: every round runs isomq,
/// libzmq and the raw socket once in turn, over ipc and tcp.
fn run_shared(plan: &Plan) -> Result<Vec<Cell>, BoxError> {
    let size = compare::SHARED_SIZE;
    let (count, _) = plan.counts(size);
    let mut cells = Vec::new();
    for t in [Transport::Ipc, Transport::Tcp] {
        let mut thr: Rounds = Default::default();
        for _ in 0..plan.reps {
            for imp in Impl::ALL {
                let ep = t.bind_endpoint();
                let elapsed = match imp {
                    Impl::Isomq => iso::thr(&ep, size, count, 1, None, NULL, Payload::Shared)?,
                    Impl::Libzmq => libzmq::thr(&ep, size, count, 1, None, NULL, Payload::Shared)?,
                    Impl::Raw => raw::thr(t, size, count)?,
                };
                t.cleanup(&ep);
                thr[imp.index()].push(isomq_benches::report::throughput(count, elapsed));
            }
        }
        let mut cell = Cell::new(t, size);
        cell.record(&thr, &Rounds::default());
        eprintln!("no copy {}", cell.line());
        cells.push(cell);
    }
    Ok(cells)
}

/// Small-message throughput over ipc and tcp ([`compare::PINNED_SIZES`]), isomq with
/// `io_threads` per context (0: inline I/O) against libzmq with one, each side pinned as
/// `pin` says: every round runs both once in turn.
fn run_small(plan: &Plan, pin: Option<Pin>, io_threads: usize) -> Result<Vec<Cell>, BoxError> {
    let what = match (pin, io_threads) {
        (Some(_), _) => "pinned",
        (None, 0) => "inline",
        (None, _) => "unpinned",
    };
    let mut cells = Vec::new();
    for &t in &[Transport::Ipc, Transport::Tcp] {
        for &size in compare::PINNED_SIZES {
            let (count, _) = plan.counts(size);
            let mut thr: Rounds = Default::default();
            for _ in 0..plan.reps {
                for imp in [Impl::Isomq, Impl::Libzmq] {
                    let io = if imp == Impl::Isomq { io_threads } else { 1 };
                    thr[imp.index()].push(thr_of(imp, t, size, count, io, pin, Security::Null)?);
                }
            }
            let mut cell = Cell::new(t, size);
            cell.record(&thr, &Rounds::default());
            eprintln!("{what} {}", cell.line());
            cells.push(cell);
        }
    }
    Ok(cells)
}

fn run(plan: &Plan) -> Result<Tables, BoxError> {
    let mut cells = Vec::new();
    for &t in &[Transport::Inproc, Transport::Ipc, Transport::Tcp] {
        for &size in compare::SIZES {
            let (count, roundtrips) = plan.counts(size);
            let mut cell = Cell::new(t, size);
            // Interleaved rounds: on a shared machine the load drifts over seconds, so each
            // round runs every implementation once, and ratios pair figures of one round.
            let imps: Vec<Impl> = Impl::ALL
                .into_iter()
                .filter(|&imp| !(imp == Impl::Raw && t == Transport::Inproc))
                .collect();
            let (mut thr, mut lat): (Rounds, Rounds) = Default::default();
            for _ in 0..plan.reps {
                for &imp in &imps {
                    thr[imp.index()].push(thr_of(imp, t, size, count, 1, None, Security::Null)?);
                }
            }
            for _ in 0..plan.reps {
                for &imp in &imps {
                    lat[imp.index()].push(lat_of(imp, t, size, roundtrips, Security::Null)?);
                }
            }
            cell.record(&thr, &lat);
            eprintln!("{}", cell.line());
            cells.push(cell);
        }
    }
    // Small messages over ipc and tcp again, each side pinned to a core of its own: see
    // `pin` for why the unpinned figures above move so much between runs.
    let two_cores = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
    let pin = Pin {
        receiver: 0,
        sender: 1,
    };
    let pinned = if two_cores {
        run_small(plan, Some(pin), 1)?
    } else {
        Vec::new()
    };
    // And with inline I/O, unpinned: the sockets `Context::new()` makes on a machine of at
    // most two CPUs, where the rows above put four busy threads on two cores.
    let inline = run_small(plan, None, 0)?;
    let mut fan = Vec::new();
    let (count, _) = plan.counts(compare::FAN_IN_SIZE);
    let per_conn = count / compare::FAN_IN_CONNECTIONS;
    for io_threads in [1, 2] {
        let mut row = FanIn::new(io_threads);
        let mut rounds: Rounds = Default::default();
        for _ in 0..plan.reps {
            for imp in [Impl::Isomq, Impl::Libzmq] {
                let ep = Transport::Tcp.bind_endpoint();
                let n = compare::FAN_IN_CONNECTIONS;
                let size = compare::FAN_IN_SIZE;
                let elapsed: Duration = match imp {
                    Impl::Isomq => iso::thr_fan_in(&ep, size, per_conn, n, io_threads)?,
                    _ => libzmq::thr_fan_in(&ep, size, per_conn, n, io_threads)?,
                };
                let thr = isomq_benches::report::throughput(per_conn * n, elapsed);
                rounds[imp.index()].push(thr);
            }
        }
        row.record(&rounds);
        eprintln!("{}", row.line());
        fan.push(row);
    }
    let shared = run_shared(plan)?;
    Ok(Tables {
        cells,
        pinned,
        inline,
        shared,
        fan,
    })
}

/// The four runs of a CURVE cell, in [`compare::CURVE_RUNS`] order.
fn curve_runs(keys: CurveKeys) -> [(Impl, Security); 4] {
    let curve = Security::Curve(keys);
    [
        (Impl::Isomq, curve),
        (Impl::Libzmq, curve),
        (Impl::Isomq, Security::Null),
        (Impl::Libzmq, Security::Null),
    ]
}

fn run_curve(plan: &Plan) -> Result<(Vec<CurveCell>, Handshakes), BoxError> {
    if zmq::has("curve") != Some(true) {
        return Err("the linked libzmq has no CURVE: see benches/RESULTS.md §CURVE".into());
    }
    // One set of keys for the whole run, for both libraries.
    let runs = curve_runs(CurveKeys::generate()?);
    let t = Transport::Tcp;
    let mut cells = Vec::new();
    for &size in compare::CURVE_SIZES {
        let (count, roundtrips) = plan.counts(size);
        let (mut thr, mut lat): (CurveRounds, CurveRounds) = Default::default();
        for _ in 0..plan.reps {
            for (i, &(imp, sec)) in runs.iter().enumerate() {
                thr[i].push(thr_of(imp, t, size, count, 1, None, sec)?);
            }
        }
        for _ in 0..plan.reps {
            for (i, &(imp, sec)) in runs.iter().enumerate() {
                lat[i].push(lat_of(imp, t, size, roundtrips, sec)?);
            }
        }
        let cell = CurveCell::new(size, &thr, &lat);
        eprintln!("{}", cell.line());
        cells.push(cell);
    }
    let n = ((compare::HANDSHAKES as f64 * plan.scale) as usize).max(10);
    let mut rounds: CurveRounds = Default::default();
    for _ in 0..plan.reps {
        for (i, &(imp, sec)) in runs.iter().enumerate() {
            let ep = t.bind_endpoint();
            let elapsed = match imp {
                Impl::Libzmq => libzmq::handshakes(&ep, n, sec)?,
                _ => iso::handshakes(&ep, n, sec)?,
            };
            rounds[i].push(n as f64 / elapsed.as_secs_f64());
        }
    }
    let hs = Handshakes::new(&rounds);
    eprintln!("{}", hs.line());
    Ok((cells, hs))
}

fn main_curve(plan: &Plan) -> ExitCode {
    let started = std::time::Instant::now();
    eprintln!("isomq's Poly1305: {}", compare::poly1305_backend());
    let (cells, hs) = match run_curve(plan) {
        Ok(r) => r,
        Err(e) => {
            println!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (major, minor, patch) = zmq::version();
    let libzmq = format!("{major}.{minor}.{patch}, CURVE {:?}", zmq::has("curve"));
    let table = compare::curve_markdown(plan, &cells, &hs, &libzmq, started.elapsed());
    println!("{table}");
    if plan.write {
        if let Err(e) = compare::write_curve_results(&table) {
            println!("error writing results: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// The ws rows alone, printed and written to their own section of RESULTS.md.
fn main_ws(plan: &Plan) -> Result<(), BoxError> {
    let started = std::time::Instant::now();
    let cells = run_ws(plan)?;
    let table = compare_ws::markdown(plan, &cells, started.elapsed());
    publish(plan, &table, compare_ws::write_results)
}

/// The wss rows: every round runs isomq over wss://, ws:// and tcp:// once in turn.
fn main_wss(plan: &Plan) -> Result<(), BoxError> {
    let started = std::time::Instant::now();
    let tls = Security::Tls(TlsPki::generate()?);
    let mut cells = Vec::new();
    for &size in compare_wss::WSS_SIZES {
        let (count, _) = plan.counts(size);
        let mut thr = WssRounds::default();
        for _ in 0..plan.reps {
            let ws = Transport::Ws.bind_endpoint();
            let wss = ws.replacen("ws://", "wss://", 1);
            let elapsed = iso::thr(&wss, size, count, 1, None, tls, Payload::Copied)?;
            thr[0].push(isomq_benches::report::throughput(count, elapsed));
            let elapsed = iso::thr(&ws, size, count, 1, None, NULL, Payload::Copied)?;
            thr[1].push(isomq_benches::report::throughput(count, elapsed));
            let t = thr_of(
                Impl::Isomq,
                Transport::Tcp,
                size,
                count,
                1,
                None,
                Security::Null,
            )?;
            thr[2].push(t);
        }
        let cell = WssCell::new(size, &thr);
        eprintln!("{}", cell.line());
        cells.push(cell);
    }
    let table = compare_wss::markdown(plan, &cells, started.elapsed());
    publish(plan, &table, compare_wss::write_results)
}

/// The multi-core rows: for each pair count N, N I/O threads per context and (N > 1) one.
fn main_multicore(plan: &Plan) -> Result<(), BoxError> {
    let started = std::time::Instant::now();
    let (count, _) = plan.counts(compare_multicore::SIZE);
    let mut rows = Vec::new();
    for &pairs in &plan.pairs {
        let io_counts = if pairs > 1 { vec![pairs, 1] } else { vec![1] };
        for io_threads in io_counts {
            let run = Pairs {
                size: compare_multicore::SIZE,
                count,
                pairs,
                io_threads,
            };
            let row = Row::measure(run, plan.reps)?;
            eprintln!("{}", row.line());
            rows.push(row);
        }
    }
    let table = compare_multicore::markdown(plan, &rows, count, started.elapsed());
    publish(plan, &table, compare_multicore::write_results)
}

/// The rows with each side a process of its own (`compare_procs`).
fn main_procs(plan: &Plan) -> Result<(), BoxError> {
    let started = std::time::Instant::now();
    let cells = compare_procs::run(plan)?;
    let mut table = compare_procs::markdown(plan, &cells, started.elapsed());
    let shared_started = std::time::Instant::now();
    let shared = compare_procs_shared::run(plan)?;
    table.push_str(&compare_procs_shared::markdown(
        plan,
        &shared,
        shared_started.elapsed(),
    ));
    publish(plan, &table, compare_procs::write_results)
}

/// Prints a section's table and, unless `--no-write`, writes it between its markers in
/// RESULTS.md.
fn publish(
    plan: &Plan,
    table: &str,
    write: fn(&str) -> Result<(), BoxError>,
) -> Result<(), BoxError> {
    println!("{table}");
    if plan.write {
        write(table)?;
    }
    Ok(())
}

/// The exit of a run: its error printed, as the perf tools print theirs.
fn exit_code(result: Result<(), BoxError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == proc_pair::CHILD_FLAG) {
        return exit_code(proc_pair::child_main(&args[1..]));
    }
    let Some(plan) = Plan::from_args() else {
        println!(
            "usage: compare [--reps N] [--scale F] [--no-write] [--curve] [--ws-only] [--wss] \
             [--multicore [--pairs N,N,…]] [--procs] [--procs-shared]"
        );
        return ExitCode::from(1);
    };
    if plan.multicore {
        return exit_code(main_multicore(&plan));
    }
    if plan.procs_shared {
        let started = std::time::Instant::now();
        let shared = compare_procs_shared::run(&plan);
        return exit_code(shared.map(|cells| {
            print!(
                "{}",
                compare_procs_shared::markdown(&plan, &cells, started.elapsed())
            );
        }));
    }
    if plan.procs {
        return exit_code(main_procs(&plan));
    }
    if plan.wss {
        return exit_code(main_wss(&plan));
    }
    if plan.curve {
        return main_curve(&plan);
    }
    if plan.ws_only {
        return exit_code(main_ws(&plan));
    }
    let started = std::time::Instant::now();
    let tables = match run(&plan) {
        Ok(r) => r,
        Err(e) => {
            println!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let table = compare::markdown(&plan, &tables, started.elapsed());
    println!("{table}");
    if plan.write {
        if let Err(e) = compare::write_results(&table, &tables.cells) {
            println!("error writing results: {e}");
            return ExitCode::FAILURE;
        }
    }
    if let Err(e) = main_ws(&plan) {
        println!("error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

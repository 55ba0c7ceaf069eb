//! Small-message throughput with each side in a process of its own, as users run a sender and
//! a receiver: isomq and libzmq in alternating rounds, unpinned.
//!
//! The main comparison runs both sides in one process (two contexts), which places four busy
//! threads differently from two processes of two threads each, and its figures move with
//! that placement (benches/RESULTS.md, "tcp 16 B unpinned"). Here the comparison binary runs
//! itself twice per measurement (`--procs-child`), so both processes are the same build as
//! the parent, and the receiver binds to a port the system chooses and reports it.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::compare::{fmt_rate, fmt_ratio, median, paired_ratio, size_name, Plan, Ratio};
use crate::transport::Transport;
use crate::{iso, libzmq, BoxError};

/// The cells: transport, size, and the isomq/libzmq target (issue 13's, unpinned).
pub const CELLS: &[(Transport, usize, f64)] = &[
    (Transport::Ipc, 16, 1.5),
    (Transport::Ipc, 256, 1.5),
    (Transport::Tcp, 16, 1.5),
    (Transport::Tcp, 256, 1.5),
    (Transport::Tcp, 65536, 1.2),
];

/// The first argument of a child process.
pub const CHILD_FLAG: &str = "--procs-child";

const BEGIN: &str =
    "<!-- compare-procs:begin (written by `cargo run --release -p isomq-benches --bin compare -- --procs`) -->";
const END: &str = "<!-- compare-procs:end -->";

/// Messages per measurement: long enough that start-up and the first round trips of the
/// stream are a small part of it (about a second for libzmq).
fn count(plan: &Plan, size: usize) -> usize {
    let base = match size {
        0..=64 => 5_000_000,
        65..=1024 => 2_500_000,
        _ => 30_000,
    };
    ((base as f64 * plan.scale) as usize).max(10)
}

/// One cell: medians over rounds and the paired ratio.
#[derive(Debug, Clone)]
pub struct ProcCell {
    transport: Transport,
    size: usize,
    target: f64,
    /// msg/s: isomq, libzmq.
    thr: [Option<f64>; 2],
    ratio: Option<Ratio>,
    /// Measurements that failed and were made again: isomq, libzmq.
    repeated: [usize; 2],
}

impl ProcCell {
    fn new(transport: Transport, size: usize, target: f64, rounds: &[Vec<f64>; 2]) -> ProcCell {
        ProcCell {
            transport,
            size,
            target,
            thr: [median(&rounds[0]), median(&rounds[1])],
            ratio: paired_ratio(&rounds[0], &rounds[1]),
            repeated: [0; 2],
        }
    }

    /// One progress line.
    pub fn line(&self) -> String {
        format!(
            "procs {} {}: isomq {} libzmq {} msg/s, isomq/libzmq {}",
            self.transport,
            size_name(self.size),
            fmt_rate(self.thr[0]),
            fmt_rate(self.thr[1]),
            fmt_ratio(self.ratio)
        )
    }
}

/// Every cell, `plan.reps` rounds each, a round running isomq then libzmq.
pub fn run(plan: &Plan) -> Result<Vec<ProcCell>, BoxError> {
    let mut cells = Vec::new();
    for &(transport, size, target) in CELLS {
        let n = count(plan, size);
        let mut rounds: [Vec<f64>; 2] = Default::default();
        let mut repeated = [0; 2];
        for _ in 0..plan.reps {
            for (i, lib) in ["isomq", "libzmq"].into_iter().enumerate() {
                let elapsed = measure(lib, transport, size, n, &mut repeated[i])?;
                rounds[i].push(crate::report::throughput(n, elapsed));
            }
        }
        let mut cell = ProcCell::new(transport, size, target, &rounds);
        cell.repeated = repeated;
        eprintln!("{}", cell.line());
        cells.push(cell);
    }
    Ok(cells)
}

/// How long a receiver may take to finish once its sender has: only a lost stream takes
/// this long. (The receiver sets no RCVTIMEO: a timed wait costs each sleep a timer, and the
/// processes measured are to be the perf tools' own.)
const STALL: Duration = Duration::from_secs(30);
/// Measurements tried again after a failure, per cell and library, before the run fails.
const RETRIES: usize = 2;

/// [`pair`], measured again after a failure (counted in `repeated` and printed): a stream
/// that stalls is killed after [`STALL`].
fn measure(
    lib: &str,
    transport: Transport,
    size: usize,
    count: usize,
    repeated: &mut usize,
) -> Result<Duration, BoxError> {
    let mut tries = 0;
    loop {
        match pair(lib, transport, size, count) {
            Ok(d) => return Ok(d),
            Err(e) if tries < RETRIES => {
                eprintln!(
                    "procs {lib} {transport} {}: {e}; measuring again",
                    size_name(size)
                );
                tries += 1;
                *repeated += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// One measurement: a receiving process, then a sending one connected to where it bound.
/// Returns the receiver's time from its first message to its last.
fn pair(lib: &str, transport: Transport, size: usize, count: usize) -> Result<Duration, BoxError> {
    let bind = match transport {
        Transport::Tcp => "tcp://127.0.0.1:*".to_owned(),
        _ => transport.bind_endpoint(),
    };
    let exe = std::env::current_exe()?;
    let child = |role: &str, ep: &str| {
        let mut cmd = Command::new(&exe);
        cmd.args([
            CHILD_FLAG,
            role,
            lib,
            ep,
            &size.to_string(),
            &count.to_string(),
        ])
        .stdin(Stdio::null());
        cmd
    };
    let mut receiver = child("recv", &bind)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let bound = match read_bound(&mut receiver) {
        Ok(ep) => ep,
        Err(e) => {
            let _ = receiver.kill();
            let _ = receiver.wait();
            return Err(e);
        }
    };
    // The receiver's report, read on a thread so that a stalled receiver can be given up.
    let (report_tx, report) = mpsc::channel();
    if let Some(mut stdout) = receiver.stdout.take() {
        std::thread::spawn(move || {
            let mut out = String::new();
            let _ = report_tx.send(stdout.read_to_string(&mut out).map(|_| out));
        });
    }
    let sent = child("send", &bound).stdout(Stdio::null()).status()?;
    let out = match report.recv_timeout(STALL) {
        Ok(out) => out?,
        Err(_) => {
            let _ = receiver.kill();
            let _ = receiver.wait();
            transport.cleanup(&bound);
            return Err(format!("{lib} receiver stalled after its sender ended ({sent})").into());
        }
    };
    let status = receiver.wait()?;
    transport.cleanup(&bound);
    if !sent.success() || !status.success() {
        return Err(format!("{lib} {transport} {size} B: sender {sent}, receiver {status}").into());
    }
    let nanos: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("elapsed_ns "))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("{lib} receiver printed no time: {out:?}"))?;
    Ok(Duration::from_nanos(nanos))
}

/// The endpoint the receiver reports on its stderr once bound.
fn read_bound(receiver: &mut Child) -> Result<String, BoxError> {
    let stderr = receiver.stderr.take().ok_or("receiver without stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    for line in &mut lines {
        if let Some(ep) = line?.strip_prefix("bound ") {
            let ep = ep.to_owned();
            // Keep draining stderr so that a later message cannot block the child.
            std::thread::spawn(move || lines.for_each(drop));
            return Ok(ep);
        }
    }
    Err("the receiver ended without binding".into())
}

/// A child process's work: `--procs-child recv|send isomq|libzmq ENDPOINT SIZE COUNT`.
pub fn child_main(args: &[String]) -> Result<(), BoxError> {
    let [role, lib, ep, size, count] = args else {
        return Err("usage: --procs-child recv|send isomq|libzmq ENDPOINT SIZE COUNT".into());
    };
    let (size, count): (usize, usize) = (size.parse()?, count.parse()?);
    match (role.as_str(), lib.as_str()) {
        ("recv", "isomq") => {
            let ctx = iso::context(1);
            let (mut pull, bound) = iso::bind(&ctx, isomq::SocketType::Pull, ep)?;
            eprintln!("bound {bound}");
            let elapsed = iso::receive(&mut pull, size, count)?;
            println!("elapsed_ns {}", elapsed.as_nanos());
        }
        ("recv", "libzmq") => {
            let ctx = libzmq::context(1)?;
            let (pull, bound) = libzmq::bind(&ctx, zmq::SocketType::PULL, ep)?;
            eprintln!("bound {bound}");
            let elapsed = libzmq::receive(&pull, size, count)?;
            println!("elapsed_ns {}", elapsed.as_nanos());
        }
        ("send", "isomq") => {
            let ctx = iso::context(1);
            let mut push = iso::connect(&ctx, isomq::SocketType::Push, ep)?;
            iso::send(&mut push, size, count)?;
            // Dropping the socket and the context delivers what is queued (LINGER -1).
        }
        ("send", "libzmq") => {
            let ctx = libzmq::context(1)?;
            let push = libzmq::connect(&ctx, zmq::SocketType::PUSH, ep)?;
            libzmq::send(&push, size, count)?;
        }
        _ => return Err(format!("unknown child role {role} {lib}").into()),
    }
    Ok(())
}

/// The table in markdown.
pub fn markdown(plan: &Plan, cells: &[ProcCell], took: Duration) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Run: {} rounds per cell, each running isomq then libzmq, every side a process of its \
         own (PUSH → PULL, one I/O thread per context, unpinned); figures are medians over \
         rounds, ratios the median of the rounds' ratios (range in brackets). Count scale {}, \
         {} CPUs, took {:.0} s.\n",
        plan.reps,
        plan.scale,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        took.as_secs_f64()
    );
    s.push_str(
        "| transport | size | messages | isomq | libzmq | isomq/libzmq (range over rounds) | target | verdict | measured again (isomq / libzmq) |\n\
         |---|---:|---:|---:|---:|---:|---|---|---:|\n",
    );
    for c in cells {
        let met = c.ratio.is_some_and(|r| r.median >= c.target);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | ≥ {}× libzmq | {} | {} / {} |",
            c.transport,
            size_name(c.size),
            count(plan, c.size),
            fmt_rate(c.thr[0]),
            fmt_rate(c.thr[1]),
            fmt_ratio(c.ratio),
            c.target,
            if met { "met" } else { "below target" },
            c.repeated[0],
            c.repeated[1]
        );
    }
    s
}

/// Replaces this table's section of RESULTS.md.
pub fn write_results(table: &str) -> Result<(), BoxError> {
    crate::compare::write_section(BEGIN, END, table)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        let args = ["--reps", "2"].map(String::from);
        Plan::from_args_of(args.into_iter()).unwrap_or_else(|| unreachable!())
    }

    /// A cell's ratio pairs the rounds (isomq over libzmq in the same round), and its verdict
    /// compares the median with the cell's own target.
    #[test]
    fn cells_pair_rounds_and_judge_by_their_target() {
        let rounds = [vec![30.0, 12.0], vec![10.0, 10.0]];
        let met = ProcCell::new(Transport::Tcp, 16, 1.5, &rounds);
        let low = ProcCell::new(Transport::Tcp, 65536, 2.5, &rounds);
        let table = markdown(&plan(), &[met, low], Duration::from_secs(1));
        assert!(table.contains("| tcp | 16 B | 5000000 |"), "{table}");
        assert!(
            table.contains("2.10 (1.20–3.00) | ≥ 1.5× libzmq | met |"),
            "{table}"
        );
        assert!(
            table.contains("| ≥ 2.5× libzmq | below target |"),
            "{table}"
        );
    }

    /// A child with arguments it does not know fails instead of measuring something else.
    #[test]
    fn a_child_with_bad_arguments_fails() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(child_main(&args(&["recv", "isomq"])).is_err());
        assert!(child_main(&args(&["listen", "isomq", "tcp://127.0.0.1:*", "16", "1"])).is_err());
        assert!(child_main(&args(&["send", "nng", "tcp://127.0.0.1:1", "16", "1"])).is_err());
        assert!(child_main(&args(&["recv", "isomq", "tcp://127.0.0.1:*", "x", "1"])).is_err());
    }
}

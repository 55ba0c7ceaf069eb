//! Throughput and latency with each side in a process of its own, as users run a sender and
//! a receiver, or a client and a server: isomq and libzmq in alternating rounds, unpinned.
//!
//! The main comparison runs both sides in one process (two contexts), which places four busy
//! threads differently from two processes of two threads each, and its figures move with
//! that placement (benches/RESULTS.md, "tcp 16 B unpinned", "ninth stop"). Here each
//! measurement is a pair of processes of this same binary (`proc_pair`).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::compare::{fmt_opt, fmt_rate, fmt_ratio, median, paired_ratio, size_name, Plan, Ratio};
use crate::proc_pair::{pair, Kind};
use crate::transport::Transport;
use crate::BoxError;

/// Throughput cells: transport, size, and the isomq/libzmq target (issue 13's, unpinned).
pub const CELLS: &[(Transport, usize, f64)] = &[
    (Transport::Ipc, 16, 1.5),
    (Transport::Ipc, 256, 1.5),
    (Transport::Tcp, 16, 1.5),
    (Transport::Tcp, 256, 1.5),
    (Transport::Tcp, 65536, 1.2),
];

/// Latency cells: transport and size; the target is isomq/libzmq ≤ 1 (issue 13: "latency
/// ≤ libzmq everywhere, including ipc 64 KiB").
pub const LAT_CELLS: &[(Transport, usize)] = &[
    (Transport::Ipc, 16),
    (Transport::Ipc, 4096),
    (Transport::Ipc, 65536),
    (Transport::Tcp, 16),
    (Transport::Tcp, 65536),
];

const BEGIN: &str =
    "<!-- compare-procs:begin (written by `cargo run --release -p isomq-benches --bin compare -- --procs`) -->";
const END: &str = "<!-- compare-procs:end -->";

/// Messages (throughput) or round trips (latency) per measurement: long enough that
/// start-up is a small part of it (about a second for libzmq's throughput; the round trips
/// of the main comparison).
pub(crate) fn count(plan: &Plan, kind: Kind, size: usize) -> usize {
    let base = match (kind, size) {
        (Kind::Latency, _) => return plan.counts(size).1,
        (Kind::Throughput, 0..=64) => 5_000_000,
        (Kind::Throughput, 65..=1024) => 2_500_000,
        (Kind::Throughput | Kind::Shared, _) => 30_000,
    };
    ((base as f64 * plan.scale) as usize).max(10)
}

/// One cell: medians over rounds and the paired ratio.
#[derive(Debug, Clone)]
pub struct ProcCell {
    kind: Kind,
    transport: Transport,
    size: usize,
    /// Throughput: isomq/libzmq at least this; latency: at most this.
    target: f64,
    /// isomq, libzmq: msg/s, or one-way µs.
    figures: [Option<f64>; 2],
    ratio: Option<Ratio>,
    /// Measurements that failed and were made again: isomq, libzmq.
    repeated: [usize; 2],
    /// How isomq ran: `isomq` (an I/O thread per context) or `isomq-inline` (inline I/O).
    isomq: &'static str,
}

impl ProcCell {
    fn new(
        kind: Kind,
        (transport, size, target): (Transport, usize, f64),
        rounds: &[Vec<f64>; 2],
    ) -> ProcCell {
        ProcCell {
            kind,
            transport,
            size,
            target,
            figures: [median(&rounds[0]), median(&rounds[1])],
            ratio: paired_ratio(&rounds[0], &rounds[1]),
            repeated: [0; 2],
            isomq: "isomq",
        }
    }

    /// The transport as the table names it: with the isomq mode unless it is the usual one.
    fn transport_name(&self) -> String {
        match self.isomq {
            "isomq-inline" => format!("{} (inline)", self.transport),
            _ => self.transport.to_string(),
        }
    }

    fn met(&self) -> bool {
        self.ratio.is_some_and(|r| match self.kind {
            Kind::Throughput | Kind::Shared => r.median >= self.target,
            Kind::Latency => r.median <= self.target,
        })
    }

    fn figure(&self, i: usize) -> String {
        match self.kind {
            Kind::Throughput | Kind::Shared => fmt_rate(self.figures[i]),
            Kind::Latency => fmt_opt(self.figures[i], 1),
        }
    }

    /// One progress line.
    pub fn line(&self) -> String {
        let unit = match self.kind {
            Kind::Throughput | Kind::Shared => "msg/s",
            Kind::Latency => "us one way",
        };
        format!(
            "procs {} {}: isomq {} libzmq {} {unit}, isomq/libzmq {}",
            self.transport_name(),
            size_name(self.size),
            self.figure(0),
            self.figure(1),
            fmt_ratio(self.ratio)
        )
    }
}

/// Every cell, `plan.reps` rounds each, a round running isomq then libzmq.
pub fn run(plan: &Plan) -> Result<Vec<ProcCell>, BoxError> {
    let exe = std::env::current_exe()?;
    // Each cell with isomq's inline I/O too (docs/architecture.md §5.5): made for latency,
    // it batches bursts of sends like an I/O thread, and the table shows what that gives.
    let thr = CELLS
        .iter()
        .flat_map(|&c| ["isomq", "isomq-inline"].map(|isomq| ((Kind::Throughput, c), isomq)));
    let lat = LAT_CELLS.iter().flat_map(|&(t, s)| {
        ["isomq", "isomq-inline"].map(|isomq| ((Kind::Latency, (t, s, 1.0)), isomq))
    });
    let mut cells = Vec::new();
    for ((kind, spec), isomq) in thr.chain(lat) {
        let (transport, size, _) = spec;
        let n = count(plan, kind, size);
        let mut rounds: [Vec<f64>; 2] = Default::default();
        let mut repeated = [0; 2];
        for _ in 0..plan.reps {
            for (i, lib) in [isomq, "libzmq"].into_iter().enumerate() {
                let what = Measurement {
                    kind,
                    lib,
                    transport,
                    size,
                    count: n,
                };
                let elapsed = measure(&exe, &what, &mut repeated[i])?;
                rounds[i].push(match kind {
                    Kind::Throughput | Kind::Shared => crate::report::throughput(n, elapsed),
                    Kind::Latency => crate::report::latency_us(n, elapsed),
                });
            }
        }
        let mut cell = ProcCell::new(kind, spec, &rounds);
        cell.repeated = repeated;
        cell.isomq = isomq;
        eprintln!("{}", cell.line());
        cells.push(cell);
    }
    Ok(cells)
}

/// One measurement's parameters.
pub(crate) struct Measurement<'a> {
    pub(crate) kind: Kind,
    pub(crate) lib: &'a str,
    pub(crate) transport: Transport,
    pub(crate) size: usize,
    pub(crate) count: usize,
}

/// Measurements tried again after a failure, per cell and library, before the run fails.
const RETRIES: usize = 2;

/// [`pair`], measured again after a failure (counted in `repeated` and printed): a pair that
/// stalls is killed by `pair`.
pub(crate) fn measure(
    exe: &Path,
    m: &Measurement,
    repeated: &mut usize,
) -> Result<Duration, BoxError> {
    let mut tries = 0;
    loop {
        match pair(exe, m.kind, m.lib, m.transport, m.size, m.count) {
            Ok(d) => return Ok(d),
            Err(e) if tries < RETRIES => {
                eprintln!(
                    "procs {} {} {}: {e}; measuring again",
                    m.lib,
                    m.transport,
                    size_name(m.size)
                );
                tries += 1;
                *repeated += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The table in markdown.
pub fn markdown(plan: &Plan, cells: &[ProcCell], took: Duration) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Run: {} rounds per cell, each running isomq then libzmq, every side a process of its \
         own (one I/O thread per context, unpinned; rows marked inline run isomq with inline \
         I/O, `ContextBuilder::inline_io`, and no I/O thread); figures are medians over \
         rounds, ratios the median of the rounds' ratios (range in brackets). Count scale {}, {} CPUs, took \
         {:.0} s.\n",
        plan.reps,
        plan.scale,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        took.as_secs_f64()
    );
    let tables = [
        (
            Kind::Throughput,
            "Throughput (PUSH → PULL, msg/s counted at the receiver)",
            "messages",
            "≥",
        ),
        (
            Kind::Latency,
            "Latency (REQ ↔ REP, one way in µs: round trip / 2)",
            "round trips",
            "≤",
        ),
    ];
    for (kind, title, counted, rel) in tables {
        let _ = writeln!(
            s,
            "### {title}\n\n\
             | transport | size | {counted} | isomq | libzmq | isomq/libzmq (range over rounds) | target | verdict | measured again (isomq / libzmq) |\n\
             |---|---:|---:|---:|---:|---:|---|---|---:|"
        );
        for c in cells.iter().filter(|c| c.kind == kind) {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {rel} {}× libzmq | {} | {} / {} |",
                c.transport_name(),
                size_name(c.size),
                count(plan, kind, c.size),
                c.figure(0),
                c.figure(1),
                fmt_ratio(c.ratio),
                c.target,
                if c.met() { "met" } else { "missed" },
                c.repeated[0],
                c.repeated[1]
            );
        }
        s.push('\n');
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
    /// compares the median with the cell's own target: at least it for throughput, at most it
    /// for latency.
    #[test]
    fn cells_pair_rounds_and_judge_by_their_target() {
        let rounds = [vec![30.0, 12.0], vec![10.0, 10.0]];
        let cells = [
            ProcCell::new(Kind::Throughput, (Transport::Tcp, 16, 1.5), &rounds),
            ProcCell::new(Kind::Throughput, (Transport::Tcp, 65536, 2.5), &rounds),
            ProcCell::new(Kind::Latency, (Transport::Ipc, 4096, 1.0), &rounds),
            ProcCell::new(
                Kind::Latency,
                (Transport::Ipc, 16, 1.0),
                &[vec![9.0], vec![10.0]],
            ),
        ];
        let mut inline = ProcCell::new(Kind::Latency, (Transport::Tcp, 16, 1.0), &rounds);
        inline.isomq = "isomq-inline";
        let mut cells = cells.to_vec();
        cells.push(inline);
        let table = markdown(&plan(), &cells, Duration::from_secs(1));
        assert!(table.contains("| tcp | 16 B | 5000000 |"), "{table}");
        assert!(table.contains("| tcp (inline) | 16 B | 10000 |"), "{table}");
        assert!(
            table.contains("2.10 (1.20–3.00) | ≥ 1.5× libzmq | met |"),
            "{table}"
        );
        assert!(table.contains("| ≥ 2.5× libzmq | missed |"), "{table}");
        assert!(
            table.contains(
                "| ipc | 4 KiB | 8000 | 21.0 | 10.0 | 2.10 (1.20–3.00) | ≤ 1× libzmq | missed |"
            ),
            "{table}"
        );
        assert!(
            table.contains("| 0.90 (0.90–0.90) | ≤ 1× libzmq | met |"),
            "{table}"
        );
        let Some((thr, lat)) = table.split_once("### Latency") else {
            panic!("no latency table: {table}");
        };
        assert!(thr.contains("| tcp | 64 KiB |") && !lat.contains("| tcp | 64 KiB |"));
        assert!(lat.contains("| ipc | 4 KiB |") && !thr.contains("| ipc | 4 KiB |"));
    }
}

//! 64 KiB with no copy per message, each side a process of its own: isomq with an I/O
//! thread, isomq with inline I/O, libzmq and the raw socket, once each per round, in turn.
//!
//! Issue 13's target for tcp 64 KiB is 85 % of the raw socket. Measured in one process
//! (`compare`'s no-copy table), the raw baseline's own rate moves by a factor of two between
//! rounds with where the scheduler puts its two threads beside the other library's; here
//! every side is a process, as users run them, and the raw socket is a pair of processes too
//! (`raw::child_role`). Both libraries send one shared payload (isomq `Msg::from_bytes` of a
//! `Bytes` clone, libzmq `zmq_msg_init_data` with no free function), as the raw socket
//! writes one buffer over and over.

use std::fmt::Write as _;
use std::time::Duration;

use crate::compare::{fmt_rate, fmt_ratio, median, paired_ratio, size_name, Plan};
use crate::compare_procs::{count, measure, Measurement};
use crate::proc_pair::Kind;
use crate::transport::Transport;
use crate::BoxError;

/// The cells: transport and size.
pub const CELLS: &[(Transport, usize)] = &[(Transport::Tcp, 65536), (Transport::Ipc, 65536)];

/// What runs each round, in this order.
const LIBS: [&str; 4] = ["isomq", "isomq-inline", "libzmq", "raw"];

/// isomq/raw at least this over tcp (issue 13).
const TARGET: f64 = 0.85;

/// One cell: each library's rates over the rounds (msg/s at the receiver).
#[derive(Debug, Clone)]
pub struct SharedCell {
    transport: Transport,
    size: usize,
    rounds: [Vec<f64>; 4],
    /// Measurements that failed and were made again, per library.
    repeated: [usize; 4],
}

impl SharedCell {
    /// Library `i`'s median rate.
    fn rate(&self, i: usize) -> String {
        fmt_rate(median(&self.rounds[i]))
    }

    /// Library `a`'s rate over library `b`'s, paired by round.
    fn ratio(&self, a: usize, b: usize) -> String {
        fmt_ratio(paired_ratio(&self.rounds[a], &self.rounds[b]))
    }

    /// Whether isomq in mode `i` reaches the target against raw (tcp only has one).
    fn verdict(&self, i: usize) -> &'static str {
        if self.transport != Transport::Tcp {
            return "–";
        }
        match paired_ratio(&self.rounds[i], &self.rounds[3]) {
            Some(r) if r.median >= TARGET => "met",
            Some(_) => "missed",
            None => "–",
        }
    }

    /// One progress line.
    pub fn line(&self) -> String {
        format!(
            "procs no-copy {} {}: isomq {} inline {} libzmq {} raw {} msg/s, isomq/raw {}, \
             inline/raw {}",
            self.transport,
            size_name(self.size),
            self.rate(0),
            self.rate(1),
            self.rate(2),
            self.rate(3),
            self.ratio(0, 3),
            self.ratio(1, 3)
        )
    }
}

/// Every cell, `plan.reps` rounds, a round running each of [`LIBS`] once.
pub fn run(plan: &Plan) -> Result<Vec<SharedCell>, BoxError> {
    let exe = std::env::current_exe()?;
    let mut cells = Vec::new();
    for &(transport, size) in CELLS {
        let n = count(plan, Kind::Shared, size);
        let mut cell = SharedCell {
            transport,
            size,
            rounds: Default::default(),
            repeated: [0; 4],
        };
        for _ in 0..plan.reps {
            for (i, lib) in LIBS.into_iter().enumerate() {
                let m = Measurement {
                    kind: Kind::Shared,
                    lib,
                    transport,
                    size,
                    count: n,
                };
                let elapsed = measure(&exe, &m, &mut cell.repeated[i])?;
                cell.rounds[i].push(crate::report::throughput(n, elapsed));
            }
        }
        eprintln!("{}", cell.line());
        cells.push(cell);
    }
    Ok(cells)
}

/// The table in markdown, for the `--procs` section.
pub fn markdown(plan: &Plan, cells: &[SharedCell], took: Duration) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "### 64 KiB with no copy per message (PUSH → PULL, msg/s counted at the receiver)\n\n\
         Each round runs isomq with an I/O thread, isomq inline, libzmq and the raw socket \
         (a plain stream of the same bytes in 256 KiB writes and reads), each side a process; \
         both libraries send one shared payload. Target for tcp: isomq ≥ {:.0} % of raw. {} \
         rounds, {} messages per measurement, took {:.0} s.\n\n\
         | transport | size | isomq | inline | libzmq | raw | isomq/raw | inline/raw | \
         isomq/libzmq | inline/libzmq | verdict (isomq / inline) | measured again |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
        TARGET * 100.0,
        plan.reps,
        cells
            .first()
            .map_or(0, |c| count(plan, Kind::Shared, c.size)),
        took.as_secs_f64()
    );
    for c in cells {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} | {} |",
            c.transport,
            size_name(c.size),
            c.rate(0),
            c.rate(1),
            c.rate(2),
            c.rate(3),
            c.ratio(0, 3),
            c.ratio(1, 3),
            c.ratio(0, 2),
            c.ratio(1, 2),
            c.verdict(0),
            c.verdict(1),
            c.repeated.iter().sum::<usize>()
        );
    }
    s
}

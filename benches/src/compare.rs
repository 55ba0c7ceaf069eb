//! The comparison's plan, results, targets and output (markdown table and SVG chart).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use crate::transport::Transport;
use crate::BoxError;

/// Message sizes of the comparison.
pub const SIZES: &[usize] = &[16, 256, 4096, 65536];
/// Message sizes measured again with each side pinned to a core of its own (ipc, tcp).
pub const PINNED_SIZES: &[usize] = &[16, 256];
/// Message size measured again with no copy per message ([`crate::Payload::Shared`]; ipc,
/// tcp), beside the raw socket, which writes one buffer over and over too.
pub const SHARED_SIZE: usize = 65536;
/// Fan-in: PUSH connections into one PULL, and their message size.
pub const FAN_IN_CONNECTIONS: usize = 4;
/// Message size of the fan-in runs.
pub const FAN_IN_SIZE: usize = 16;
/// Message sizes of the CURVE comparison (`--curve`, tcp only).
pub const CURVE_SIZES: &[usize] = &[16, 256, 65536];
/// Connections opened and closed per handshake run (`--curve`).
pub const HANDSHAKES: usize = 300;

/// isomq/libzmq throughput to reach with each side pinned to a core (small messages over
/// tcp and ipc, the only pinned cells).
const PINNED_TARGET: f64 = 2.0;
/// isomq/libzmq throughput to reach unpinned with inline I/O (small messages over tcp and
/// ipc): the unpinned target of the first table.
const INLINE_TARGET: f64 = 1.5;
/// isomq/raw throughput to reach at [`SHARED_SIZE`] over tcp with no copy per message.
const SHARED_RAW_TARGET: f64 = 0.85;

const BEGIN: &str =
    "<!-- compare:begin (written by `cargo run --release -p isomq-benches --bin compare`) -->";
const END: &str = "<!-- compare:end -->";
const CURVE_BEGIN: &str = "<!-- compare-curve:begin (written by `cargo run --release -p isomq-benches --bin compare -- --curve`) -->";
const CURVE_END: &str = "<!-- compare-curve:end -->";

/// What is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    /// isomq.
    Isomq,
    /// libzmq through the `zmq` crate.
    Libzmq,
    /// Plain stream sockets.
    Raw,
}

impl Impl {
    /// Every implementation, in table order.
    pub const ALL: [Impl; 3] = [Impl::Isomq, Impl::Libzmq, Impl::Raw];

    /// Where this implementation's figures are in a cell's arrays.
    pub fn index(self) -> usize {
        match self {
            Impl::Isomq => 0,
            Impl::Libzmq => 1,
            Impl::Raw => 2,
        }
    }
}

/// How long and how often to measure.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Repetitions per measurement (the median is kept).
    pub reps: usize,
    /// Multiplies message and round-trip counts.
    pub scale: f64,
    /// Write RESULTS.md and results.svg.
    pub write: bool,
    /// Run the CURVE comparison instead (tcp: CURVE and NULL, both libraries, and handshakes).
    pub curve: bool,
    /// Only the ws:// rows (`compare_ws`).
    pub ws_only: bool,
    /// Only the wss:// rows (`compare_wss`).
    pub wss: bool,
    /// Only the multi-core rows (`compare_multicore`).
    pub multicore: bool,
    /// Only the rows with each side a process of its own (`compare_procs`).
    pub procs: bool,
    /// Only their no-copy 64 KiB table (`compare_procs_shared`), printed, not written.
    pub procs_shared: bool,
    /// Their pair counts (`--pairs N,N,…`; default from the machine's CPUs).
    pub pairs: Vec<usize>,
}

impl Plan {
    /// From `--reps N --scale F --no-write --curve --ws-only --wss --multicore --pairs N,N,…
    /// --procs --procs-shared`;
    /// `None` on a bad command line.
    pub fn from_args() -> Option<Plan> {
        Plan::from_args_of(std::env::args().skip(1))
    }

    /// As [`Plan::from_args`], from the given arguments (the program name left out).
    pub fn from_args_of(mut args: impl Iterator<Item = String>) -> Option<Plan> {
        let mut plan = Plan {
            reps: 5,
            scale: 1.0,
            write: true,
            curve: false,
            ws_only: false,
            wss: false,
            multicore: false,
            procs: false,
            procs_shared: false,
            pairs: crate::compare_multicore::default_pairs(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            ),
        };
        while let Some(a) = args.next() {
            match a.as_str() {
                "--reps" => plan.reps = args.next()?.parse().ok().filter(|&n| n > 0)?,
                "--scale" => plan.scale = args.next()?.parse().ok().filter(|&f| f > 0.0)?,
                "--no-write" => plan.write = false,
                "--curve" => plan.curve = true,
                "--ws-only" => plan.ws_only = true,
                "--wss" => plan.wss = true,
                "--multicore" => plan.multicore = true,
                "--procs" => plan.procs = true,
                "--procs-shared" => {
                    plan.procs_shared = true;
                    plan.write = false;
                }
                "--pairs" => {
                    plan.pairs = args
                        .next()?
                        .split(',')
                        .map(|n| n.parse().ok().filter(|&n| n > 0))
                        .collect::<Option<Vec<usize>>>()?;
                }
                _ => return None,
            }
        }
        Some(plan)
    }

    /// Messages per throughput run and round trips per latency run for `size`: chosen so
    /// that the whole comparison stays within about three minutes on two cores.
    pub fn counts(&self, size: usize) -> (usize, usize) {
        let (count, roundtrips) = match size {
            0..=64 => (1_000_000, 10_000),
            65..=1024 => (500_000, 10_000),
            1025..=16384 => (100_000, 8_000),
            _ => (12_000, 3_000),
        };
        let scale = |n: usize| ((n as f64 * self.scale) as usize).max(10);
        (scale(count), scale(roundtrips))
    }
}

/// Medians for one transport and size.
#[derive(Debug, Clone)]
pub struct Cell {
    /// The transport.
    pub transport: Transport,
    /// Message size in bytes.
    pub size: usize,
    /// Throughput in msg/s: isomq, libzmq, raw.
    pub thr: [Option<f64>; 3],
    /// One-way latency in µs: isomq, libzmq, raw.
    pub lat: [Option<f64>; 3],
    /// Paired ratios (median over rounds of one implementation's figure over another's in
    /// the same round): throughput isomq/libzmq, isomq/raw, latency isomq/libzmq.
    paired: [Option<Ratio>; 3],
}

/// The figures of every round, per implementation (`index` order); rounds run every
/// implementation once, one after the other, so a round's figures share the machine's state.
pub type Rounds = [Vec<f64>; 3];

/// The median (the mean of the middle two for an even count), `None` for no figures.
pub fn median(v: &[f64]) -> Option<f64> {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len().is_multiple_of(2) {
        Some((v.get(mid.checked_sub(1)?)? + v.get(mid)?) / 2.0)
    } else {
        v.get(mid).copied()
    }
}

/// A ratio over rounds: the median of the rounds' own ratios, and their range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ratio {
    /// The median.
    pub median: f64,
    /// The lowest round's ratio.
    pub low: f64,
    /// The highest round's ratio.
    pub high: f64,
}

/// The ratios `a[i] / b[i]` of every round.
pub fn paired_ratio(a: &[f64], b: &[f64]) -> Option<Ratio> {
    let ratios: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
    Some(Ratio {
        median: median(&ratios)?,
        low: ratios.iter().copied().fold(f64::INFINITY, f64::min),
        high: ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}

/// "median (low–high)", or "–".
pub fn fmt_ratio(r: Option<Ratio>) -> String {
    r.map_or_else(
        || "–".to_owned(),
        |r| format!("{:.2} ({:.2}–{:.2})", r.median, r.low, r.high),
    )
}

/// A figure with `digits` decimals, or "–".
pub fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.digits$}"))
}

/// A rate as "1.23 M" or "456.7 k", or "–".
pub fn fmt_rate(v: Option<f64>) -> String {
    match v {
        None => "–".to_owned(),
        Some(v) if v >= 1e6 => format!("{:.2} M", v / 1e6),
        Some(v) => format!("{:.1} k", v / 1e3),
    }
}

pub(crate) fn size_name(size: usize) -> String {
    if size >= 1024 {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

impl Cell {
    /// An empty cell.
    pub fn new(transport: Transport, size: usize) -> Cell {
        Cell {
            transport,
            size,
            thr: [None; 3],
            lat: [None; 3],
            paired: [None; 3],
        }
    }

    /// Records every round's throughput and latency figures.
    pub fn record(&mut self, thr: &Rounds, lat: &Rounds) {
        for i in 0..3 {
            self.thr[i] = median(&thr[i]);
            self.lat[i] = median(&lat[i]);
        }
        self.paired = [
            paired_ratio(&thr[0], &thr[1]),
            paired_ratio(&thr[0], &thr[2]),
            paired_ratio(&lat[0], &lat[1]),
        ];
    }

    /// isomq / libzmq throughput (median over rounds).
    pub fn thr_vs_libzmq(&self) -> Option<f64> {
        self.paired[0].map(|r| r.median)
    }

    /// isomq / raw throughput (median over rounds).
    pub fn thr_vs_raw(&self) -> Option<f64> {
        self.paired[1].map(|r| r.median)
    }

    /// isomq / libzmq latency (median over rounds; below 1 is better).
    pub fn lat_vs_libzmq(&self) -> Option<f64> {
        self.paired[2].map(|r| r.median)
    }

    /// The throughput target of this cell, unpinned, as (minimum isomq/libzmq, minimum
    /// isomq/raw): the targets of the second performance round (inproc 3× at 16 B and 1.5×
    /// at 256 B; tcp and ipc 1.5× for small messages; tcp 64 KiB 1.2× libzmq and 85 % of the
    /// raw socket).
    pub fn targets(&self) -> (f64, Option<f64>) {
        match (self.transport, self.size) {
            (Transport::Inproc, 0..=16) => (3.0, None),
            (_, 0..=256) => (1.5, None),
            (Transport::Tcp, 65536..) => (1.2, Some(0.85)),
            _ => (1.0, None),
        }
    }

    /// Whether the cell meets its throughput target.
    pub fn thr_met(&self) -> bool {
        let (vs_zmq, vs_raw) = self.targets();
        self.thr_vs_libzmq().is_some_and(|r| r >= vs_zmq)
            && vs_raw.is_none_or(|min| self.thr_vs_raw().is_some_and(|r| r >= min))
    }

    /// Whether the cell meets its throughput and latency targets.
    pub fn verdict(&self) -> &'static str {
        let thr_ok = self.thr_met();
        let lat_ok = self.lat_vs_libzmq().is_some_and(|r| r <= 1.0);
        match (thr_ok, lat_ok) {
            (true, true) => "met",
            (false, true) => "thr below target",
            (true, false) => "lat above libzmq",
            (false, false) => "thr and lat miss",
        }
    }

    /// The throughput table's first columns: transport, size, the three rates, and the
    /// isomq/libzmq ratio with its range.
    fn thr_columns(&self) -> Vec<String> {
        vec![
            self.transport.to_string(),
            size_name(self.size),
            fmt_rate(self.thr[0]),
            fmt_rate(self.thr[1]),
            fmt_rate(self.thr[2]),
            fmt_ratio(self.paired[0]),
        ]
    }

    /// A progress line.
    pub fn line(&self) -> String {
        format!(
            "{:<6} {:>6}: thr isomq {} libzmq {} raw {} msg/s; lat isomq {} libzmq {} raw {} us",
            self.transport.to_string(),
            size_name(self.size),
            fmt_rate(self.thr[0]),
            fmt_rate(self.thr[1]),
            fmt_rate(self.thr[2]),
            fmt_opt(self.lat[0], 1),
            fmt_opt(self.lat[1], 1),
            fmt_opt(self.lat[2], 1),
        )
    }
}

/// Fan-in throughput with a number of I/O threads per context.
#[derive(Debug, Clone)]
pub struct FanIn {
    /// I/O threads of each of the two contexts.
    pub io_threads: usize,
    /// Throughput in msg/s: isomq, libzmq.
    pub thr: [Option<f64>; 2],
    /// The rounds' isomq/libzmq ratios.
    paired: Option<Ratio>,
}

impl FanIn {
    /// An empty row.
    pub fn new(io_threads: usize) -> FanIn {
        FanIn {
            io_threads,
            thr: [None; 2],
            paired: None,
        }
    }

    /// Records every round's figures (isomq and libzmq).
    pub fn record(&mut self, rounds: &Rounds) {
        self.thr = [median(&rounds[0]), median(&rounds[1])];
        self.paired = paired_ratio(&rounds[0], &rounds[1]);
    }

    /// A progress line.
    pub fn line(&self) -> String {
        format!(
            "fan-in tcp {} x {} B, {} I/O thread(s): isomq {} libzmq {} msg/s",
            FAN_IN_CONNECTIONS,
            FAN_IN_SIZE,
            self.io_threads,
            fmt_rate(self.thr[0]),
            fmt_rate(self.thr[1])
        )
    }
}

/// What a CURVE cell measures, in its arrays' order.
pub const CURVE_RUNS: [&str; 4] = ["isomq CURVE", "libzmq CURVE", "isomq NULL", "libzmq NULL"];

/// The figures of every round for the CURVE comparison, in [`CURVE_RUNS`] order.
pub type CurveRounds = [Vec<f64>; 4];

/// CURVE and NULL over tcp for one size, both libraries.
#[derive(Debug, Clone)]
pub struct CurveCell {
    /// Message size in bytes.
    pub size: usize,
    /// Throughput in msg/s, [`CURVE_RUNS`] order.
    pub thr: [Option<f64>; 4],
    /// One-way latency in µs, [`CURVE_RUNS`] order.
    pub lat: [Option<f64>; 4],
    /// Throughput ratios: isomq CURVE / libzmq CURVE, isomq CURVE / isomq NULL.
    thr_ratio: [Option<Ratio>; 2],
    /// Latency ratios, the same pairs.
    lat_ratio: [Option<Ratio>; 2],
}

impl CurveCell {
    /// Records every round's figures.
    pub fn new(size: usize, thr: &CurveRounds, lat: &CurveRounds) -> CurveCell {
        let medians = |r: &CurveRounds| [0, 1, 2, 3].map(|i| median(&r[i]));
        let ratios = |r: &CurveRounds| [paired_ratio(&r[0], &r[1]), paired_ratio(&r[0], &r[2])];
        CurveCell {
            size,
            thr: medians(thr),
            lat: medians(lat),
            thr_ratio: ratios(thr),
            lat_ratio: ratios(lat),
        }
    }

    /// isomq CURVE / libzmq CURVE throughput (median over rounds); the target is ≥ 1.
    pub fn thr_vs_libzmq(&self) -> Option<f64> {
        self.thr_ratio[0].map(|r| r.median)
    }

    /// A progress line.
    pub fn line(&self) -> String {
        format!(
            "curve tcp {:>6}: thr {} / {} (NULL {} / {}) msg/s; lat {} / {} (NULL {} / {}) us [isomq / libzmq]",
            size_name(self.size),
            fmt_rate(self.thr[0]),
            fmt_rate(self.thr[1]),
            fmt_rate(self.thr[2]),
            fmt_rate(self.thr[3]),
            fmt_opt(self.lat[0], 1),
            fmt_opt(self.lat[1], 1),
            fmt_opt(self.lat[2], 1),
            fmt_opt(self.lat[3], 1),
        )
    }
}

/// Handshakes per second, [`CURVE_RUNS`] order.
#[derive(Debug, Clone)]
pub struct Handshakes {
    /// Handshakes per second.
    pub rate: [Option<f64>; 4],
    /// isomq CURVE / libzmq CURVE.
    ratio: Option<Ratio>,
}

impl Handshakes {
    /// Records every round's figures.
    pub fn new(rounds: &CurveRounds) -> Handshakes {
        Handshakes {
            rate: [0, 1, 2, 3].map(|i| median(&rounds[i])),
            ratio: paired_ratio(&rounds[0], &rounds[1]),
        }
    }

    /// A progress line.
    pub fn line(&self) -> String {
        format!(
            "handshakes/s tcp: CURVE isomq {} libzmq {}; NULL isomq {} libzmq {}",
            fmt_opt(self.rate[0], 0),
            fmt_opt(self.rate[1], 0),
            fmt_opt(self.rate[2], 0),
            fmt_opt(self.rate[3], 0),
        )
    }
}

/// Which backend the `poly1305` crate was built with, as far as this build's flags tell:
/// the workspace's `.cargo/config.toml` sets `poly1305_force_soft` on x86 (docs/security.md
/// §3.7), and a RUSTFLAGS variable would replace it.
pub fn poly1305_backend() -> &'static str {
    if cfg!(poly1305_force_soft) {
        "portable backend (cfg poly1305_force_soft)"
    } else if cfg!(any(target_arch = "x86", target_arch = "x86_64")) {
        "backend chosen at run time (AVX2 where the CPU has it; poly1305_force_soft not set)"
    } else {
        "portable backend (the only one on this architecture)"
    }
}

/// The generated CURVE section of RESULTS.md.
pub fn curve_markdown(
    plan: &Plan,
    cells: &[CurveCell],
    hs: &Handshakes,
    libzmq: &str,
    took: Duration,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Run: {} rounds per cell, each running isomq CURVE, libzmq CURVE, isomq NULL and \
         libzmq NULL once in turn over tcp on loopback; figures are medians over rounds, \
         ratios the median of the rounds' ratios (range in brackets). libzmq: {libzmq}. \
         isomq's Poly1305: {}. Count scale {}, {} CPUs, took {:.0} s.\n",
        plan.reps,
        poly1305_backend(),
        plan.scale,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        took.as_secs_f64()
    );
    s.push_str("### CURVE throughput (msg/s, counted at the receiver)\n\n");
    s.push_str("| size | isomq CURVE | libzmq CURVE | isomq NULL | libzmq NULL | isomq/libzmq CURVE | isomq CURVE/NULL | target ≥ 1× libzmq |\n");
    s.push_str("|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for c in cells {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            size_name(c.size),
            fmt_rate(c.thr[0]),
            fmt_rate(c.thr[1]),
            fmt_rate(c.thr[2]),
            fmt_rate(c.thr[3]),
            fmt_ratio(c.thr_ratio[0]),
            fmt_ratio(c.thr_ratio[1]),
            if c.thr_vs_libzmq().is_some_and(|r| r >= 1.0) {
                "met"
            } else {
                "missed"
            },
        );
    }
    s.push_str("\n### CURVE latency (one way, µs; round trip / 2)\n\n");
    s.push_str("| size | isomq CURVE | libzmq CURVE | isomq NULL | libzmq NULL | isomq/libzmq CURVE | isomq CURVE/NULL |\n");
    s.push_str("|---:|---:|---:|---:|---:|---:|---:|\n");
    for c in cells {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            size_name(c.size),
            fmt_opt(c.lat[0], 1),
            fmt_opt(c.lat[1], 1),
            fmt_opt(c.lat[2], 1),
            fmt_opt(c.lat[3], 1),
            fmt_ratio(c.lat_ratio[0]),
            fmt_ratio(c.lat_ratio[1]),
        );
    }
    let _ = writeln!(
        s,
        "\n### Handshakes per second ({HANDSHAKES} connections per round, one after the other: \
         new PUSH socket, connect, handshake, one 1-byte message, close)\n\n\
         | | isomq | libzmq | isomq/libzmq |\n|---|---:|---:|---:|\n\
         | CURVE | {} | {} | {} |\n| NULL | {} | {} | |",
        fmt_opt(hs.rate[0], 0),
        fmt_opt(hs.rate[1], 0),
        fmt_ratio(hs.ratio),
        fmt_opt(hs.rate[2], 0),
        fmt_opt(hs.rate[3], 0),
    );
    s
}

/// Replaces the generated CURVE section of RESULTS.md (or appends it).
pub fn write_curve_results(table: &str) -> Result<(), BoxError> {
    let path = bench_dir().join("RESULTS.md");
    let old =
        std::fs::read_to_string(&path).unwrap_or_else(|_| "# isomq benchmark results\n\n".into());
    let section = format!("{CURVE_BEGIN}\n{table}{CURVE_END}");
    let new = match (old.find(CURVE_BEGIN), old.find(CURVE_END)) {
        (Some(b), Some(e)) if e > b => {
            format!("{}{section}{}", &old[..b], &old[e + CURVE_END.len()..])
        }
        _ => format!("{old}\n{section}\n"),
    };
    std::fs::write(&path, new)?;
    Ok(())
}

/// The generated section of RESULTS.md.
/// Every table of the main comparison.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    /// Unpinned throughput and latency, every transport and size.
    pub cells: Vec<Cell>,
    /// Small-message throughput with each side pinned.
    pub pinned: Vec<Cell>,
    /// Small-message throughput with inline I/O, unpinned.
    pub inline: Vec<Cell>,
    /// [`SHARED_SIZE`] throughput with no copy per message (isomq, libzmq, raw).
    pub shared: Vec<Cell>,
    /// Fan-in throughput.
    pub fan: Vec<FanIn>,
}

/// The main comparison's tables in markdown.
pub fn markdown(plan: &Plan, tables: &Tables, took: Duration) -> String {
    let Tables {
        cells,
        pinned,
        inline,
        shared,
        fan,
    } = tables;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Run: {} rounds per cell, each running isomq, libzmq and raw once in turn; figures are \
         medians over rounds, ratios the median of the rounds' ratios (both sides of a ratio \
         ran a moment apart). Count scale {}, {} CPUs, took {:.0} s.\n",
        plan.reps,
        plan.scale,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        took.as_secs_f64()
    );
    s.push_str("### Throughput (msg/s, counted at the receiver)\n\n");
    s.push_str("| transport | size | isomq | libzmq | raw | isomq/libzmq (range over rounds) | isomq/raw | target | verdict |\n");
    s.push_str("|---|---:|---:|---:|---:|---:|---:|---|---|\n");
    for c in cells {
        let (vs_zmq, vs_raw) = c.targets();
        let target = match vs_raw {
            Some(r) => format!("≥ {vs_zmq}× libzmq, ≥ {:.0}% raw", r * 100.0),
            None => format!("≥ {vs_zmq}× libzmq"),
        };
        let mut row = c.thr_columns();
        row.extend([fmt_opt(c.thr_vs_raw(), 2), target, c.verdict().to_owned()]);
        table_row(&mut s, &row);
    }
    s.push_str("\n### Latency (one way, µs; round trip / 2)\n\n");
    s.push_str("| transport | size | isomq | libzmq | raw | isomq/libzmq (≤ 1 is the target; range over rounds) |\n");
    s.push_str("|---|---:|---:|---:|---:|---:|\n");
    for c in cells {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            c.transport,
            size_name(c.size),
            fmt_opt(c.lat[0], 1),
            fmt_opt(c.lat[1], 1),
            fmt_opt(c.lat[2], 1),
            fmt_ratio(c.paired[2]),
        );
    }
    if !pinned.is_empty() {
        small_markdown(
            &mut s,
            "Throughput with each side pinned to a core of its own",
            "The receiving side (its thread and its I/O thread) on CPU 0, the sending side on \
             CPU 1, as two processes would be placed (`benches/src/pin.rs`).",
            pinned,
            PINNED_TARGET,
        );
    }
    if !inline.is_empty() {
        small_markdown(
            &mut s,
            "Throughput with inline I/O, unpinned",
            "isomq's sockets drive their own connections (`ContextBuilder::inline_io`, what \
             `Context::new()` chooses on a machine of at most two CPUs): two busy threads \
             where the first table has four. libzmq as in the first table.",
            inline,
            INLINE_TARGET,
        );
    }
    if !shared.is_empty() {
        shared_markdown(&mut s, shared);
    }
    let _ = writeln!(
        s,
        "\n### Fan-in: {FAN_IN_CONNECTIONS} PUSH connections → 1 PULL over tcp, {FAN_IN_SIZE} B\n\n\
         | I/O threads per context | isomq | libzmq | isomq/libzmq (range over rounds) |\n|---:|---:|---:|---:|"
    );
    for f in fan {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            f.io_threads,
            fmt_rate(f.thr[0]),
            fmt_rate(f.thr[1]),
            fmt_ratio(f.paired)
        );
    }
    s.push_str("\n![isomq/libzmq per cell](results.svg)\n");
    s
}

/// A table of small-message cells, isomq against libzmq only, under `title`.
fn small_markdown(s: &mut String, title: &str, intro: &str, cells: &[Cell], target: f64) {
    let _ = writeln!(
        s,
        "\n### {title}\n\n{intro}\n\n\
         | transport | size | isomq | libzmq | isomq/libzmq (range over rounds) | target | verdict |\n\
         |---|---:|---:|---:|---:|---|---|"
    );
    for c in cells {
        let verdict = if c.thr_vs_libzmq().is_some_and(|r| r >= target) {
            "met"
        } else {
            "thr below target"
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | ≥ {target}× libzmq | {verdict} |",
            c.transport,
            size_name(c.size),
            fmt_rate(c.thr[0]),
            fmt_rate(c.thr[1]),
            fmt_ratio(c.paired[0]),
        );
    }
}

/// The table of [`Tables::shared`]: the first table's 64 KiB rows again, with no copy per
/// message on either library, so that both do what the raw socket does.
fn shared_markdown(s: &mut String, shared: &[Cell]) {
    let _ = writeln!(
        s,
        "\n### {} throughput with no copy per message\n\n\
         The throughput table above copies each payload into a new message, as libzmq's \
         `remote_thr` does; the raw socket writes one buffer over and over. Here both libraries \
         send one shared payload too: isomq `Msg::from_bytes` of a `Bytes` clone (its \
         documented zero-copy path), libzmq `zmq_msg_init_data` with no free function (a \
         constant message). Target for tcp: ≥ {:.0}% of the raw socket.\n\n\
         | transport | size | isomq | libzmq | raw | isomq/libzmq (range over rounds) | isomq/raw (range over rounds) | verdict |\n\
         |---|---:|---:|---:|---:|---:|---:|---|",
        size_name(SHARED_SIZE),
        SHARED_RAW_TARGET * 100.0
    );
    for c in shared {
        let verdict = match (c.transport, c.thr_vs_raw()) {
            (Transport::Tcp, Some(r)) if r >= SHARED_RAW_TARGET => "met",
            (Transport::Tcp, _) => "below target",
            _ => "–",
        };
        let mut row = c.thr_columns();
        row.extend([fmt_ratio(c.paired[1]), verdict.to_owned()]);
        table_row(s, &row);
    }
}

/// One markdown table row of `cols`.
fn table_row(s: &mut String, cols: &[String]) {
    let _ = writeln!(s, "| {} |", cols.join(" | "));
}

fn bench_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Replaces the generated section of RESULTS.md (or appends it) and rewrites the chart.
pub fn write_results(table: &str, cells: &[Cell]) -> Result<(), BoxError> {
    write_section(BEGIN, END, table)?;
    std::fs::write(bench_dir().join("results.svg"), svg(cells))?;
    Ok(())
}

/// Replaces the part of RESULTS.md between the `begin` and `end` markers with `table`, or
/// appends it with its markers, keeping the rest of the file.
pub fn write_section(begin: &str, end: &str, table: &str) -> Result<(), BoxError> {
    let path = bench_dir().join("RESULTS.md");
    let old =
        std::fs::read_to_string(&path).unwrap_or_else(|_| "# isomq benchmark results\n\n".into());
    let section = format!("{begin}\n{table}{end}");
    let new = match (old.find(begin), old.find(end)) {
        (Some(b), Some(e)) if e > b => format!("{}{section}{}", &old[..b], &old[e + end.len()..]),
        _ => format!("{old}\n{section}\n"),
    };
    std::fs::write(&path, new)?;
    Ok(())
}

/// A grouped bar chart: per cell, isomq/libzmq throughput and libzmq/isomq latency (both:
/// higher is better for isomq), on a log scale from 1/8 to 8, with the 1.0 line.
pub fn svg(cells: &[Cell]) -> String {
    let (w, h, left, top, bottom) = (960.0, 420.0, 60.0, 40.0, 80.0);
    let plot_h = h - top - bottom;
    let group = (w - left - 20.0) / cells.len().max(1) as f64;
    let y = |r: f64| {
        let l = r.clamp(0.125, 8.0).log2(); // -3 ..= 3
        top + plot_h * (3.0 - l) / 6.0
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{left}" y="20" font-size="14">isomq vs libzmq, same run (log scale; above 1 = isomq better)</text>"#
    );
    for r in [0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0] {
        let yy = y(r);
        let stroke = if r == 1.0 { "black" } else { "#ddd" };
        let _ = writeln!(
            s,
            r#"<line x1="{left}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="{stroke}"/><text x="{}" y="{:.1}" text-anchor="end">{r}</text>"#,
            w - 20.0,
            left - 6.0,
            yy + 4.0
        );
    }
    let base = y(1.0);
    for (i, c) in cells.iter().enumerate() {
        let x0 = left + group * i as f64;
        let bw = group * 0.35;
        let bars = [
            (c.thr_vs_libzmq(), "#2b6cb0"),
            (c.lat_vs_libzmq().map(|r| 1.0 / r), "#dd6b20"),
        ];
        for (j, (r, color)) in bars.iter().enumerate() {
            let Some(r) = r else { continue };
            let yy = y(*r);
            let (top_y, height) = if yy < base {
                (yy, base - yy)
            } else {
                (base, yy - base)
            };
            let _ = writeln!(
                s,
                r#"<rect x="{:.1}" y="{top_y:.1}" width="{bw:.1}" height="{height:.1}" fill="{color}"><title>{r:.2}</title></rect>"#,
                x0 + group * 0.12 + bw * j as f64
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x0 + group / 2.0,
            h - bottom + 16.0,
            c.transport,
            x0 + group / 2.0,
            h - bottom + 30.0,
            size_name(c.size)
        );
    }
    let ly = h - 20.0;
    let _ = writeln!(
        s,
        r##"<rect x="{left}" y="{}" width="12" height="12" fill="#2b6cb0"/><text x="{}" y="{ly}">throughput isomq/libzmq</text><rect x="{}" y="{}" width="12" height="12" fill="#dd6b20"/><text x="{}" y="{ly}">latency libzmq/isomq</text>"##,
        ly - 10.0,
        left + 16.0,
        left + 220.0,
        ly - 10.0,
        left + 236.0
    );
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_ratio_shows_its_range_over_rounds() {
        let r = paired_ratio(&[3.0, 1.0, 2.0], &[1.0, 1.0, 1.0]);
        assert_eq!(fmt_ratio(r), "2.00 (1.00–3.00)");
        assert_eq!(fmt_ratio(None), "–");
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn ratios_pair_figures_of_the_same_round() {
        // Round 2 ran on a loaded machine: both figures halved, their ratio did not.
        let thr: Rounds = [vec![20.0, 10.0, 20.0], vec![10.0, 5.0, 10.0], vec![]];
        let lat: Rounds = [vec![1.0, 2.0, 1.0], vec![2.0, 4.0, 2.0], vec![]];
        let mut cell = Cell::new(Transport::Tcp, 16);
        cell.record(&thr, &lat);
        assert_eq!(cell.thr_vs_libzmq(), Some(2.0));
        assert_eq!(fmt_ratio(cell.paired[0]), "2.00 (2.00–2.00)");
        assert_eq!(cell.lat_vs_libzmq(), Some(0.5));
        assert_eq!(cell.thr_vs_raw(), None);
        assert_eq!(cell.thr[0], Some(20.0));
    }

    #[test]
    fn a_small_message_table_gives_each_row_its_verdict() {
        let cell = |isomq: f64| {
            let thr: Rounds = [vec![isomq], vec![10.0], vec![]];
            let mut c = Cell::new(Transport::Tcp, 16);
            c.record(&thr, &Rounds::default());
            c
        };
        let mut s = String::new();
        small_markdown(&mut s, "T", "I", &[cell(16.0), cell(14.0)], 1.5);
        let rows: Vec<&str> = s.lines().filter(|l| l.starts_with("| tcp")).collect();
        assert_eq!(rows.len(), 2, "{s}");
        assert!(rows[0].ends_with("| ≥ 1.5× libzmq | met |"), "{}", rows[0]);
        assert!(rows[1].ends_with("| thr below target |"), "{}", rows[1]);
        assert!(s.contains("### T\n\nI\n"), "{s}");
    }
}

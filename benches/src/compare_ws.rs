//! The ws:// rows of the comparison: isomq over ws:// beside isomq over tcp:// and the raw
//! tcp baseline, in the same rounds (libzmq 4.3.4 as built by the `zmq` crate has no ws://).
//! The targets are ratios to tcp within one run: ws/tcp throughput ≥ 0.7 for small messages
//! and ≥ 0.9 at 64 KiB.

use std::fmt::Write as _;
use std::time::Duration;

use crate::compare::{fmt_opt, fmt_rate, fmt_ratio, median, paired_ratio, size_name, Plan, Ratio};

/// Message sizes of the ws rows.
pub const WS_SIZES: &[usize] = &[16, 256, 65536];
/// Sizes measured again with each side pinned to a core of its own (`pin`).
pub const WS_PINNED_SIZES: &[usize] = &[16, 256, 65536];

const BEGIN: &str =
    "<!-- compare-ws:begin (written by `cargo run --release -p isomq-benches --bin compare -- --ws-only`) -->";
const END: &str = "<!-- compare-ws:end -->";

/// What a ws round measures, in the order of a [`WsRounds`]' arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsSide {
    /// isomq over ws://.
    Ws,
    /// isomq over tcp://.
    Tcp,
    /// The raw tcp baseline.
    Raw,
}

impl WsSide {
    /// Every side, in round order.
    pub const ALL: [WsSide; 3] = [WsSide::Ws, WsSide::Tcp, WsSide::Raw];

    /// Where this side's figures are.
    pub fn index(self) -> usize {
        match self {
            WsSide::Ws => 0,
            WsSide::Tcp => 1,
            WsSide::Raw => 2,
        }
    }
}

/// Figures of every round: ws, tcp, raw.
pub type WsRounds = [Vec<f64>; 3];

/// One message size: medians and paired ratios.
#[derive(Debug, Clone)]
pub struct WsCell {
    /// Message size in bytes.
    pub size: usize,
    /// Throughput (msg/s): ws, tcp, raw.
    pub thr: [Option<f64>; 3],
    /// One-way latency (µs): ws, tcp, raw.
    pub lat: [Option<f64>; 3],
    /// Throughput with each side pinned: ws, tcp (raw is not pinned).
    pub pinned: [Option<f64>; 3],
    /// ws/tcp throughput, ws/raw throughput, ws/tcp latency, ws/tcp pinned throughput.
    ratios: [Option<Ratio>; 4],
}

impl WsCell {
    /// An empty cell.
    pub fn new(size: usize) -> WsCell {
        WsCell {
            size,
            thr: [None; 3],
            lat: [None; 3],
            pinned: [None; 3],
            ratios: [None; 4],
        }
    }

    /// Records every round's figures; `pinned` may be empty.
    pub fn record(&mut self, thr: &WsRounds, lat: &WsRounds, pinned: &WsRounds) {
        for i in 0..3 {
            self.thr[i] = median(&thr[i]);
            self.lat[i] = median(&lat[i]);
            self.pinned[i] = median(&pinned[i]);
        }
        self.ratios = [
            paired_ratio(&thr[0], &thr[1]),
            paired_ratio(&thr[0], &thr[2]),
            paired_ratio(&lat[0], &lat[1]),
            paired_ratio(&pinned[0], &pinned[1]),
        ];
    }

    /// The minimum ws/tcp throughput ratio of the target.
    pub fn target(&self) -> f64 {
        if self.size >= 65536 {
            0.9
        } else {
            0.7
        }
    }

    /// ws/tcp throughput, median over rounds.
    pub fn ws_vs_tcp(&self) -> Option<f64> {
        self.ratios[0].map(|r| r.median)
    }

    /// A progress line.
    pub fn line(&self) -> String {
        format!(
            "ws {:>6}: thr ws {} tcp {} raw {} msg/s (ws/tcp {}); lat ws {} tcp {} us",
            size_name(self.size),
            fmt_rate(self.thr[0]),
            fmt_rate(self.thr[1]),
            fmt_rate(self.thr[2]),
            fmt_ratio(self.ratios[0]),
            fmt_opt(self.lat[0], 1),
            fmt_opt(self.lat[1], 1),
        )
    }
}

/// The ws section of RESULTS.md.
pub fn markdown(plan: &Plan, cells: &[WsCell], took: Duration) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Run: {} rounds per size, each running isomq ws://, isomq tcp:// and raw tcp once in \
         turn; ratios are the median of the rounds' ratios (range in parentheses). Count \
         scale {}, took {:.0} s.\n",
        plan.reps,
        plan.scale,
        took.as_secs_f64()
    );
    s.push_str(
        "| size | ws | tcp | raw | ws/tcp (range) | target | ws/raw | pinned ws | pinned tcp | pinned ws/tcp (range) |\n\
         |---:|---:|---:|---:|---:|---|---:|---:|---:|---:|\n",
    );
    for c in cells {
        let met = c.ws_vs_tcp().is_some_and(|r| r >= c.target());
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | ≥ {} ({}) | {} | {} | {} | {} |",
            size_name(c.size),
            fmt_rate(c.thr[0]),
            fmt_rate(c.thr[1]),
            fmt_rate(c.thr[2]),
            fmt_ratio(c.ratios[0]),
            c.target(),
            if met { "met" } else { "missed" },
            fmt_opt(c.ratios[1].map(|r| r.median), 2),
            fmt_rate(c.pinned[0]),
            fmt_rate(c.pinned[1]),
            fmt_ratio(c.ratios[3]),
        );
    }
    s.push_str(
        "\n| size | latency ws (µs) | tcp | raw | ws/tcp (range) |\n|---:|---:|---:|---:|---:|\n",
    );
    for c in cells {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            size_name(c.size),
            fmt_opt(c.lat[0], 1),
            fmt_opt(c.lat[1], 1),
            fmt_opt(c.lat[2], 1),
            fmt_ratio(c.ratios[2]),
        );
    }
    s
}

/// Replaces the ws section of RESULTS.md (or appends it).
pub fn write_results(table: &str) -> Result<(), crate::BoxError> {
    crate::compare::write_section(BEGIN, END, table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_ratios_pair_rounds() {
        let thr: WsRounds = [vec![8.0, 4.0], vec![10.0, 5.0], vec![20.0, 10.0]];
        let lat: WsRounds = [vec![2.0, 2.0], vec![1.0, 1.0], vec![]];
        let mut cell = WsCell::new(16);
        cell.record(&thr, &lat, &WsRounds::default());
        assert_eq!(cell.ws_vs_tcp(), Some(0.8));
        assert!(cell.line().contains("0.80 (0.80–0.80)"));
        assert_eq!(cell.target(), 0.7);
        assert_eq!(WsCell::new(65536).target(), 0.9);
    }
}

//! The wss:// rows of the comparison: isomq over wss:// beside isomq over ws:// and tcp://,
//! each round running the three in turn at 16 B, 256 B and 64 KiB (libzmq as built here has
//! no wss://). The target is a ratio within one run: wss/ws throughput ≥ 0.8 at 64 KiB.

use std::fmt::Write as _;
use std::time::Duration;

use crate::compare::{fmt_rate, fmt_ratio, median, paired_ratio, size_name, Plan, Ratio};

/// Message sizes of the wss rows.
pub const WSS_SIZES: &[usize] = &[16, 256, 65536];

const BEGIN: &str =
    "<!-- compare-wss:begin (written by `cargo run --release -p isomq-benches --bin compare -- --wss`) -->";
const END: &str = "<!-- compare-wss:end -->";

/// The transports of a wss round, in round order.
pub const WSS_SIDES: [&str; 3] = ["wss", "ws", "tcp"];

/// Throughput of every round: wss, ws, tcp.
pub type WssRounds = [Vec<f64>; 3];

/// One message size: medians and paired ratios.
#[derive(Debug, Clone)]
pub struct WssCell {
    /// Message size in bytes.
    pub size: usize,
    /// Throughput (msg/s): wss, ws, tcp.
    pub thr: [Option<f64>; 3],
    /// wss/ws and wss/tcp.
    ratios: [Option<Ratio>; 2],
}

impl WssCell {
    /// The cell of `size` from every round's figures.
    pub fn new(size: usize, thr: &WssRounds) -> WssCell {
        WssCell {
            size,
            thr: [median(&thr[0]), median(&thr[1]), median(&thr[2])],
            ratios: [
                paired_ratio(&thr[0], &thr[1]),
                paired_ratio(&thr[0], &thr[2]),
            ],
        }
    }

    /// wss/ws throughput, median over rounds.
    pub fn wss_vs_ws(&self) -> Option<f64> {
        self.ratios[0].map(|r| r.median)
    }

    /// The target, where the issue sets one: 64 KiB only.
    pub fn target(&self) -> Option<f64> {
        (self.size >= 65536).then_some(0.8)
    }

    /// A progress line.
    pub fn line(&self) -> String {
        format!(
            "wss {:>6}: wss {} ws {} tcp {} msg/s (wss/ws {}, wss/tcp {})",
            size_name(self.size),
            fmt_rate(self.thr[0]),
            fmt_rate(self.thr[1]),
            fmt_rate(self.thr[2]),
            fmt_ratio(self.ratios[0]),
            fmt_ratio(self.ratios[1]),
        )
    }
}

/// The wss section of RESULTS.md.
pub fn markdown(plan: &Plan, cells: &[WssCell], took: Duration) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Run: {} rounds per size, each running isomq wss://, ws:// and tcp:// once in turn \
         (PUSH → PULL, one I/O thread per side, unpinned); ratios are the median of the \
         rounds' ratios (range in parentheses). Count scale {}, took {:.0} s.\n",
        plan.reps,
        plan.scale,
        took.as_secs_f64()
    );
    s.push_str(
        "| size | wss | ws | tcp | wss/ws (range) | target | wss/tcp (range) |\n\
         |---:|---:|---:|---:|---:|---|---:|\n",
    );
    for c in cells {
        let target = match (c.target(), c.wss_vs_ws()) {
            (Some(t), Some(r)) if r >= t => format!("≥ {t} (met)"),
            (Some(t), _) => format!("≥ {t} (missed)"),
            (None, _) => "–".to_owned(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            size_name(c.size),
            fmt_rate(c.thr[0]),
            fmt_rate(c.thr[1]),
            fmt_rate(c.thr[2]),
            fmt_ratio(c.ratios[0]),
            target,
            fmt_ratio(c.ratios[1]),
        );
    }
    s
}

/// Replaces the wss section of RESULTS.md (or appends it).
pub fn write_results(table: &str) -> Result<(), crate::BoxError> {
    crate::compare::write_section(BEGIN, END, table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wss_ratios_pair_rounds() {
        let thr: WssRounds = [vec![8.0, 4.0], vec![10.0, 5.0], vec![16.0, 8.0]];
        let cell = WssCell::new(65536, &thr);
        assert_eq!(cell.wss_vs_ws(), Some(0.8));
        assert!(cell.line().contains("wss/tcp 0.50 (0.50–0.50)"));
        assert_eq!(cell.target(), Some(0.8));
        assert_eq!(WssCell::new(16, &thr).target(), None);
    }
}

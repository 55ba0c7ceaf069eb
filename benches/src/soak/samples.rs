//! What the soak samples every few seconds: resident memory, open descriptors, the I/O
//! threads' live objects (`Context::stats`), and the counters; and the slope of a figure
//! over the second half of the run (least squares, so one busy moment does not decide).

use std::sync::atomic::Ordering;
use std::time::Instant;

use isomq::{Context, IoStats};

use super::counters::Counters;
use crate::{counting, procstat};

/// One moment of the run.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Seconds since the start.
    pub secs: f64,
    pub rss_kib: u64,
    /// Heap in use (allocated, not freed), KiB: 0 unless the binary counts its allocations
    /// (`crate::counting`), as the `soak` binary does.
    pub heap_kib: i64,
    pub fds: usize,
    /// The soak's two contexts, added up (the churn driver's own are checked apart).
    pub server: IoStats,
    pub client: IoStats,
    pub sent: u64,
    pub received: u64,
    pub disconnects: u64,
    pub retries: u64,
    pub handshake_failures: u64,
    pub violations: u64,
}

/// Open descriptors of this process (`/proc/self/fd`, the directory's own included).
pub fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

/// Takes a sample now.
pub fn take(start: Instant, server: &Context, client: &Context, c: &Counters) -> Sample {
    let v = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    Sample {
        secs: start.elapsed().as_secs_f64(),
        rss_kib: procstat::rss().map_or(0, |b| b / 1024),
        heap_kib: counting::live_bytes() / 1024,
        fds: fds(),
        server: server.stats().into_iter().sum(),
        client: client.stats().into_iter().sum(),
        sent: v(&c.sent),
        received: v(&c.received),
        disconnects: v(&c.disconnects),
        retries: v(&c.retries),
        handshake_failures: v(&c.handshake_failures),
        violations: c.violations(),
    }
}

/// The table's head, in the Markdown of benches/RESULTS.md.
pub fn header() -> String {
    "| s | RSS KiB | heap KiB | fds | sessions | handshakes | timers | queued B | client sessions \
     | sent | received | disconnects | retries | hs failed | violations |\n\
     |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        .to_owned()
}

/// One row of the table.
pub fn row(s: &Sample) -> String {
    format!(
        "| {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        s.secs,
        s.rss_kib,
        s.heap_kib,
        s.fds,
        s.server.sessions,
        s.server.handshakes,
        s.server.timers,
        s.server.queued_bytes,
        s.client.sessions,
        s.sent,
        s.received,
        s.disconnects,
        s.retries,
        s.handshake_failures,
        s.violations
    )
}

/// Least-squares slope of `y` against `x`, per unit of `x`; 0 for fewer than two points.
pub fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), &(x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let (num, den) = points.iter().fold((0.0, 0.0), |(a, b), &(x, y)| {
        (a + (x - mx) * (y - my), b + (x - mx) * (x - mx))
    });
    if den == 0.0 {
        0.0
    } else {
        num / den
    }
}

/// How much `figure` rises over the second half of `samples` along its fitted line: the
/// slope times the half's length.
pub fn second_half_rise(samples: &[Sample], figure: impl Fn(&Sample) -> f64) -> f64 {
    let half = &samples[samples.len() / 2..];
    let (Some(first), Some(last)) = (half.first(), half.last()) else {
        return 0.0;
    };
    let points: Vec<(f64, f64)> = half.iter().map(|s| (s.secs, figure(s))).collect();
    slope(&points) * (last.secs - first.secs)
}

#[cfg(test)]
mod tests {
    use super::slope;

    #[test]
    fn the_slope_of_a_line_is_its_slope() {
        assert!((slope(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]) - 2.0).abs() < 1e-9);
        assert_eq!(slope(&[(1.0, 1.0)]), 0.0);
        assert!(slope(&[(0.0, 4.0), (1.0, 4.0), (2.0, 4.0)]).abs() < 1e-9);
    }
}

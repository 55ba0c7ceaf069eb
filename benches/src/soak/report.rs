//! The end of a run: the rules applied to what was sampled and counted (the verdict), and
//! the report printed.

use std::sync::atomic::{AtomicU64, Ordering};

use super::samples::{self, Sample};
use super::{Config, Shared};

/// What a run found.
#[derive(Debug)]
pub struct Outcome {
    /// Before the first workload, with the I/O threads started.
    pub baseline: Sample,
    pub samples: Vec<Sample>,
    /// After every workload's sockets were closed and the counts settled.
    pub end: Sample,
    pub counters: Vec<(&'static str, u64)>,
    /// Why connections ended, as the monitors of the senders and receivers said.
    pub reasons: Vec<(String, u64)>,
    /// Fitted rise over the second half: resident KiB, heap KiB in use (reported, not
    /// judged: 0 without the counting allocator), descriptors.
    pub rss_rise_kib: f64,
    pub heap_rise_kib: f64,
    pub fd_rise: f64,
    /// Each rule broken, in words; empty when the run passed.
    pub failures: Vec<String>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Applies the rules to a finished run.
pub(super) fn judge(
    shared: &Shared,
    baseline: Sample,
    samples: Vec<Sample>,
    end: Sample,
    failures: &mut Vec<String>,
) -> Outcome {
    let cfg = &shared.config;
    let c = &shared.counters;
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let rss_rise_kib = samples::second_half_rise(&samples, |s| s.rss_kib as f64);
    let heap_rise_kib = samples::second_half_rise(&samples, |s| s.heap_kib as f64);
    let fd_rise = samples::second_half_rise(&samples, |s| s.fds as f64);
    for (what, n) in [
        ("messages reordered or duplicated", load(&c.reorders)),
        (
            "messages lost beyond a lost connection's window",
            load(&c.lost_beyond),
        ),
        (
            "replies that did not match their request",
            load(&c.wrong_replies),
        ),
        ("workload errors", load(&c.errors)),
    ] {
        if n > 0 {
            failures.push(format!("{n} {what}"));
        }
    }
    if load(&c.streams) == 0 || load(&c.received) == 0 {
        failures.push("no stream was checked".into());
    }
    if rss_rise_kib > cfg.rss_tolerance_kib {
        failures.push(format!(
            "resident memory rose {rss_rise_kib:.0} KiB over the second half (tolerance {} KiB)",
            cfg.rss_tolerance_kib
        ));
    }
    if fd_rise > cfg.fd_tolerance {
        failures.push(format!(
            "open descriptors rose {fd_rise:.1} over the second half (tolerance {})",
            cfg.fd_tolerance
        ));
    }
    if end.fds != baseline.fds {
        failures.push(format!(
            "{} descriptors open at the end, {} before",
            end.fds, baseline.fds
        ));
    }
    if end.server != baseline.server || end.client != baseline.client {
        failures.push(format!(
            "live objects not back: {:?} / {:?}, before {:?} / {:?}",
            end.server, end.client, baseline.server, baseline.client
        ));
    }
    Outcome {
        baseline,
        samples,
        end,
        counters: c.rows(),
        reasons: shared.reasons(),
        rss_rise_kib,
        heap_rise_kib,
        fd_rise,
        failures: std::mem::take(failures),
    }
}

/// Prints the end of a run: baseline and end rows, the slopes, the counters, the verdict.
pub fn print_report(o: &Outcome, cfg: &Config) {
    println!();
    println!("{}", samples::header());
    println!("{} (baseline)", samples::row(&o.baseline));
    if let Some(peak) = o.samples.iter().max_by_key(|s| s.rss_kib) {
        println!("{} (largest RSS)", samples::row(peak));
    }
    if let Some(last) = o.samples.last() {
        println!("{} (last sample)", samples::row(last));
    }
    println!("{} (end, every socket closed)", samples::row(&o.end));
    println!();
    println!(
        "second half, fitted: RSS {:+.0} KiB (tolerance {} KiB), heap in use {:+.0} KiB, \
         fds {:+.1} (tolerance {})",
        o.rss_rise_kib, cfg.rss_tolerance_kib, o.heap_rise_kib, o.fd_rise, cfg.fd_tolerance
    );
    for (name, n) in &o.counters {
        println!("{name}: {n}");
    }
    for (why, n) in &o.reasons {
        println!("  {why}: {n}");
    }
    if o.passed() {
        println!("PASS");
    } else {
        for f in &o.failures {
            println!("FAIL: {f}");
        }
    }
}

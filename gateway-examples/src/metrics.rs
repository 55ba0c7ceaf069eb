//! Host metrics read from Linux's `/proc`: CPU use, memory, load and network throughput,
//! each encoded as a small JSON object for the dashboard.

use std::fs;
use std::time::Instant;

/// Counters kept between two samples, to turn totals into rates.
#[derive(Debug, Default)]
pub struct Sampler {
    cpu: Option<(u64, u64)>,
    net: Option<(Instant, u64, u64)>,
}

/// One sample: `(topic, json)` pairs, one per metric that could be read.
pub type Sample = Vec<(&'static str, String)>;

impl Sampler {
    /// Reads every metric; those `/proc` does not offer are left out.
    pub fn sample(&mut self) -> Sample {
        let mut out = Vec::new();
        if let Some(cpu) = self.cpu_percent() {
            out.push(("cpu", format!("{{\"percent\":{cpu:.1}}}")));
        }
        if let Some((total, available)) = memory_kib() {
            let used = total.saturating_sub(available);
            out.push((
                "mem",
                format!(
                    "{{\"used_mib\":{},\"total_mib\":{}}}",
                    used / 1024,
                    total / 1024
                ),
            ));
        }
        if let Some((l1, l5, l15)) = load() {
            out.push(("load", format!("{{\"1m\":{l1},\"5m\":{l5},\"15m\":{l15}}}")));
        }
        if let Some((rx, tx)) = self.net_rates() {
            out.push((
                "net",
                format!("{{\"rx_kib_s\":{rx:.1},\"tx_kib_s\":{tx:.1}}}"),
            ));
        }
        out
    }

    fn cpu_percent(&mut self) -> Option<f64> {
        let stat = fs::read_to_string("/proc/stat").ok()?;
        let line = stat.lines().next()?;
        let fields: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|f| f.parse().ok())
            .collect();
        let total: u64 = fields.iter().sum();
        // idle + iowait
        let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
        let prev = self.cpu.replace((total, idle));
        let (pt, pi) = prev?;
        let dt = total.saturating_sub(pt);
        if dt == 0 {
            return Some(0.0);
        }
        let busy = dt.saturating_sub(idle.saturating_sub(pi));
        Some(busy as f64 * 100.0 / dt as f64)
    }

    fn net_rates(&mut self) -> Option<(f64, f64)> {
        let dev = fs::read_to_string("/proc/net/dev").ok()?;
        let (mut rx, mut tx) = (0u64, 0u64);
        for line in dev.lines().skip(2) {
            let Some((_, counters)) = line.split_once(':') else {
                continue;
            };
            let f: Vec<u64> = counters
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            rx += f.first().copied().unwrap_or(0);
            tx += f.get(8).copied().unwrap_or(0);
        }
        let now = Instant::now();
        let (t0, rx0, tx0) = self.net.replace((now, rx, tx))?;
        let secs = now.duration_since(t0).as_secs_f64().max(1e-3);
        Some((
            rx.saturating_sub(rx0) as f64 / 1024.0 / secs,
            tx.saturating_sub(tx0) as f64 / 1024.0 / secs,
        ))
    }
}

fn memory_kib() -> Option<(u64, u64)> {
    let info = fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| {
        info.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("MemTotal:")?, field("MemAvailable:")?))
}

fn load() -> Option<(f64, f64, f64)> {
    let s = fs::read_to_string("/proc/loadavg").ok()?;
    let mut it = s.split_whitespace().filter_map(|v| v.parse().ok());
    Some((it.next()?, it.next()?, it.next()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_json_objects() {
        let mut s = Sampler::default();
        let _ = s.sample();
        let sample = s.sample();
        assert!(sample.iter().any(|(t, _)| *t == "cpu"), "{sample:?}");
        for (_, json) in sample {
            assert!(json.starts_with('{') && json.ends_with('}'), "{json}");
        }
    }
}

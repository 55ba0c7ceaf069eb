//! The multi-core rows of the comparison (`compare -- --multicore`): N PUSH → PULL pairs over
//! tcp at once, each pair on threads of its own, with N I/O threads per context (and, for
//! N > 1, the same N pairs on one I/O thread per context as the reference the extra threads
//! are to beat), isomq and libzmq (`ZMQ_IO_THREADS`) in the same rounds. N is 1, 2, 4 and
//! further doublings while the machine has a core for each of a run's 4 N busy threads
//! (each pair's two application threads and two I/O threads), or `--pairs N,N,…`.

use std::fmt::Write as _;
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::compare::{fmt_opt, fmt_rate, fmt_ratio, median, paired_ratio, Plan, Ratio, Rounds};
use crate::iso::hold_until_received;
use crate::{procstat, BoxError};

/// Message size of the multi-core runs.
pub const SIZE: usize = 16;

const BEGIN: &str = "<!-- compare-multicore:begin (written by `cargo run --release -p isomq-benches --bin compare -- --multicore`) -->";
const END: &str = "<!-- compare-multicore:end -->";

/// The pair counts of a run on a machine of `cpus` CPUs: 1, 2, 4, then doublings while
/// `cpus` has a core for each busy thread (four per pair).
pub fn default_pairs(cpus: usize) -> Vec<usize> {
    let mut pairs = vec![1, 2, 4];
    while pairs.last().is_some_and(|&n| n * 2 * 4 <= cpus) {
        pairs.extend(pairs.last().map(|&n| n * 2));
    }
    pairs
}

/// One multi-core run's shape.
#[derive(Debug, Clone, Copy)]
pub struct Pairs {
    /// Message size in bytes.
    pub size: usize,
    /// Messages per pair.
    pub count: usize,
    /// PUSH → PULL pairs at once.
    pub pairs: usize,
    /// I/O threads of each of the two contexts.
    pub io_threads: usize,
}

impl Pairs {
    /// Runs the pairs on a library: `bind` makes a bound receiving socket (with its
    /// endpoint) per pair; a thread per pair runs `receive` on it (which returns the time
    /// from its first message to its last), and another connects and sends with `send` and
    /// keeps what it returns (its socket) open until every receiver is done. Returns the
    /// time from the first receiver's first message to the last receiver's last.
    pub fn run<P, K>(
        self,
        bind: impl Fn() -> Result<(P, String), BoxError>,
        receive: impl Fn(P) -> Result<Duration, BoxError> + Send + Clone + 'static,
        send: impl Fn(&str) -> Result<K, BoxError> + Send + Clone + 'static,
    ) -> Result<Duration, BoxError>
    where
        P: Send + 'static,
        K: Send + 'static,
    {
        let pulls = (0..self.pairs)
            .map(|_| bind())
            .collect::<Result<Vec<_>, _>>()?;
        let (done, wait_done) = mpsc::channel::<()>();
        let wait_done = Arc::new(Mutex::new(wait_done));
        let mut receivers = Vec::new();
        let mut senders = Vec::new();
        for (pull, ep) in pulls {
            let receive = receive.clone();
            receivers.push(std::thread::spawn(move || {
                let elapsed = receive(pull)?;
                let end = Instant::now();
                Ok::<_, BoxError>((end.checked_sub(elapsed).unwrap_or(end), end))
            }));
            senders.push(spawn_sender(ep, send.clone(), wait_done.clone()));
        }
        let mut spans = Vec::new();
        for r in receivers {
            spans.push(r.join().map_err(|_| "receiver panicked")??);
        }
        drop(done);
        for s in senders {
            s.join().map_err(|_| "sender panicked")??;
        }
        let start = spans.iter().map(|s| s.0).min().ok_or("no pairs")?;
        let end = spans.iter().map(|s| s.1).max().ok_or("no pairs")?;
        Ok(end - start)
    }
}

/// A sending thread: `send` to `ep`, then its socket held open until `wait_done` ends.
fn spawn_sender<K: Send + 'static>(
    ep: String,
    send: impl Fn(&str) -> Result<K, BoxError> + Send + 'static,
    wait_done: Arc<Mutex<mpsc::Receiver<()>>>,
) -> JoinHandle<Result<(), BoxError>> {
    std::thread::spawn(move || {
        let _socket = send(&ep)?;
        // One sender at a time holds the lock while it waits; all return on drop.
        if let Ok(rx) = wait_done.lock() {
            hold_until_received(&rx);
        }
        Ok(())
    })
}

/// One row: `pairs` pairs with `io_threads` I/O threads per context, both libraries.
#[derive(Debug, Clone)]
pub struct Row {
    /// Connection pairs (and sending and receiving threads) at once.
    pub pairs: usize,
    /// I/O threads of each of the two contexts.
    pub io_threads: usize,
    /// Total throughput in msg/s: isomq, libzmq.
    pub thr: [Option<f64>; 2],
    /// CPU time of the process (both sides, every thread) per message in ns: isomq, libzmq.
    pub cpu: [Option<f64>; 2],
    /// The rounds' isomq/libzmq ratios: throughput, CPU per message.
    paired: [Option<Ratio>; 2],
}

/// Every round's throughput and CPU per message of both libraries (`Impl::index` order).
fn rounds_of(run: Pairs, reps: usize) -> Result<(Rounds, Rounds), BoxError> {
    let (mut thr, mut cpu): (Rounds, Rounds) = Default::default();
    let messages = run.count * run.pairs;
    for _ in 0..reps {
        for (i, thr_pairs) in [crate::iso::thr_pairs, crate::libzmq::thr_pairs]
            .into_iter()
            .enumerate()
        {
            let cpu0 = procstat::cpu_time()?;
            let elapsed = thr_pairs(run)?;
            let used = procstat::cpu_time()? - cpu0;
            thr[i].push(crate::report::throughput(messages, elapsed));
            cpu[i].push(used.as_secs_f64() * 1e9 / messages as f64);
        }
    }
    Ok((thr, cpu))
}

impl Row {
    /// Measures `run` in `reps` rounds, each running isomq then libzmq.
    pub fn measure(run: Pairs, reps: usize) -> Result<Row, BoxError> {
        let (thr, cpu) = rounds_of(run, reps)?;
        Ok(Row {
            pairs: run.pairs,
            io_threads: run.io_threads,
            thr: [median(&thr[0]), median(&thr[1])],
            cpu: [median(&cpu[0]), median(&cpu[1])],
            paired: [
                paired_ratio(&thr[0], &thr[1]),
                paired_ratio(&cpu[0], &cpu[1]),
            ],
        })
    }

    /// A progress line.
    pub fn line(&self) -> String {
        format!(
            "multicore tcp {} pair(s) x {SIZE} B, {} I/O thread(s): isomq {} libzmq {} msg/s",
            self.pairs,
            self.io_threads,
            fmt_rate(self.thr[0]),
            fmt_rate(self.thr[1])
        )
    }

    fn markdown(&self) -> String {
        format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            self.pairs,
            self.io_threads,
            fmt_rate(self.thr[0]),
            fmt_rate(self.thr[1]),
            fmt_ratio(self.paired[0]),
            fmt_opt(self.cpu[0], 0),
            fmt_opt(self.cpu[1], 0),
            fmt_ratio(self.paired[1]),
        )
    }
}

/// The generated multi-core section of RESULTS.md.
pub fn markdown(plan: &Plan, rows: &[Row], count: usize, took: Duration) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Run: {} rounds per row, each running isomq then libzmq; figures are medians over \
         rounds, ratios the median of the rounds' ratios (range in brackets). {SIZE} B \
         messages, {count} per pair; throughput = all pairs' messages / (last receiver's last \
         message − first receiver's first); CPU = the process's CPU time (`getrusage`: both \
         sides, every thread, set-up included) per message. {} CPUs, took {:.0} s.\n",
        plan.reps,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        took.as_secs_f64()
    );
    s.push_str(
        "| pairs | I/O threads per context | isomq msg/s | libzmq msg/s | isomq/libzmq (range \
         over rounds) | isomq CPU ns/msg | libzmq CPU ns/msg | isomq/libzmq CPU |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        s.push_str(&r.markdown());
        s.push('\n');
    }
    s
}

/// Replaces the generated multi-core section of RESULTS.md (or appends it).
pub fn write_results(table: &str) -> Result<(), BoxError> {
    crate::compare::write_section(BEGIN, END, table)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pairs_grow_with_the_machine() {
        assert_eq!(default_pairs(1), vec![1, 2, 4]);
        assert_eq!(default_pairs(2), vec![1, 2, 4]);
        assert_eq!(default_pairs(16), vec![1, 2, 4]);
        assert_eq!(default_pairs(32), vec![1, 2, 4, 8]);
        assert_eq!(default_pairs(64), vec![1, 2, 4, 8, 16]);
    }

    #[test]
    fn pairs_run_at_once_and_span_all_receivers() {
        let run = Pairs {
            size: 1,
            count: 1,
            pairs: 2,
            io_threads: 1,
        };
        let took = run
            .run(
                || Ok(((), "a".to_owned())),
                |()| {
                    std::thread::sleep(Duration::from_millis(20));
                    Ok(Duration::from_millis(10))
                },
                |ep: &str| Ok(ep.to_owned()),
            )
            .unwrap();
        assert!(took >= Duration::from_millis(10));
    }
}

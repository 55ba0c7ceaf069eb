//! `fanout [--subs K[,K…]] [--count M] [--size B] [--per-socket C] [--hwm H] [--reps R] [--libzmq [--auto] [--write]]`
//!
//! One publisher process to K subscriber connections in another process (see
//! `isomq_benches::fanout` for the two processes), in alternating rounds, each round in
//! fresh processes: this process starts a publisher process per run (`--pub`), which starts
//! the subscriber process (`--sub`).
//!
//! Without `--libzmq`: isomq over ws:// against isomq over tcp:// (K = 1,000 unless given).
//! With `--libzmq`: isomq → isomq against libzmq → libzmq, both over tcp:// (K = 10, 100 and
//! 1,000 unless given), ratios paired within a round as `compare` pairs them; `--write` puts
//! the table into `benches/RESULTS.md` between the `fanout-libzmq` markers. `--auto`
//! gives isomq's processes the context `Context::new()` makes, whose I/O mode the machine
//! chooses (inline I/O but for PUB and XPUB on machines of at most two CPUs), instead of
//! one I/O thread each.
//!
//! `--hwm H` sets the publisher's SNDHWM (default 1,000, both libraries' default).
//!
//! Reported: deliveries per second, the publisher process's CPU time per delivery
//! (`getrusage`, all its threads), and its resident memory: per connection once connected
//! and idle and at the end, and its peak.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use isomq_benches::compare::{self, fmt_rate, fmt_ratio, median, paired_ratio};
use isomq_benches::fanout::{self, Figures, Params, Side};
use isomq_benches::{subs, BoxError};

const USAGE: &str = "usage: fanout [--subs K[,K…]] [--count M] [--size B] [--per-socket C] \
                     [--hwm H] [--reps R] [--libzmq [--auto] [--write]]";
const BEGIN: &str = "<!-- fanout-libzmq:begin (written by `cargo run --release -p isomq-benches --bin fanout -- --libzmq --write`) -->";
const END: &str = "<!-- fanout-libzmq:end -->";
/// Deliveries per run by default: about a second of steady state. Runs of 2,000,000 (a
/// third of a second) measured mostly the warm-up, in which each of the thousand pipes on
/// either side grows its queue chunk by chunk: isomq 1.38× libzmq at 1,000 subscribers in
/// such runs, 1.68× in runs of 10,000,000 (benches/RESULTS.md, "Fan-out against libzmq").
const DELIVERIES: usize = 10_000_000;
/// Subscriber connections at which isomq is to reach 1.5× libzmq's deliveries per second.
const TARGET_SUBS: usize = 1000;

/// The orchestrator's command line.
#[derive(Debug, Clone)]
struct Flags {
    subs: Vec<usize>,
    /// Messages per run; 0: about [`DELIVERIES`] deliveries per run.
    count: usize,
    size: usize,
    per_socket: usize,
    hwm: usize,
    reps: usize,
    libzmq: bool,
    auto: bool,
    write: bool,
}

impl Flags {
    fn parse(mut args: impl Iterator<Item = String>) -> Option<Flags> {
        let mut f = Flags {
            subs: Vec::new(),
            count: 0,
            size: 16,
            per_socket: 100,
            hwm: 1000,
            reps: 3,
            libzmq: false,
            auto: false,
            write: false,
        };
        let positive = |v: Option<String>| v?.parse::<usize>().ok().filter(|&n| n > 0);
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "--libzmq" => f.libzmq = true,
                "--write" => f.write = true,
                "--auto" => f.auto = true,
                "--subs" => {
                    let list = args.next()?;
                    for k in list.split(',') {
                        f.subs.push(positive(Some(k.to_owned()))?);
                    }
                }
                "--count" => f.count = positive(args.next())?,
                "--size" => f.size = positive(args.next())?,
                "--per-socket" => f.per_socket = positive(args.next())?,
                "--reps" => f.reps = positive(args.next())?,
                "--hwm" => f.hwm = positive(args.next())?,
                _ => return None,
            }
        }
        if f.subs.is_empty() {
            f.subs = if f.libzmq {
                vec![10, 100, TARGET_SUBS]
            } else {
                vec![TARGET_SUBS]
            };
        }
        (f.libzmq || !(f.write || f.auto)).then_some(f)
    }

    /// One run's shape for `subs` connections.
    fn params(&self, subs: usize) -> Params {
        Params {
            subs,
            count: if self.count > 0 {
                self.count
            } else {
                (DELIVERIES / subs).max(10)
            },
            size: self.size,
            per_socket: self.per_socket,
            hwm: self.hwm,
        }
    }
}

/// Every round's figures of two sides, `a` first in each round.
fn rounds(a: Side, b: Side, p: Params, reps: usize) -> Result<[Vec<Figures>; 2], BoxError> {
    let (mut ra, mut rb) = (Vec::new(), Vec::new());
    for round in 0..reps {
        let fa = fanout::run_once(a, p)?;
        let fb = fanout::run_once(b, p)?;
        eprintln!(
            "{} subs, round {round}: {} {fa:?}\n    {} {fb:?}",
            p.subs,
            a.name(),
            b.name()
        );
        ra.push(fa);
        rb.push(fb);
    }
    Ok([ra, rb])
}

/// `f` of every round.
fn each(rounds: &[Figures], f: fn(&Figures) -> f64) -> Vec<f64> {
    rounds.iter().map(f).collect()
}

/// isomq over ws:// against isomq over tcp://.
fn ws_against_tcp(flags: &Flags) -> Result<(), BoxError> {
    for &k in &flags.subs {
        let p = flags.params(k);
        let [ws, tcp] = rounds(Side::Ws, Side::Tcp, p, flags.reps)?;
        println!(
            "{} subscriber connections ({} per SUB socket), {} messages of {} B each, {} rounds \
             (medians)\n",
            p.subs, p.per_socket, p.count, p.size, flags.reps
        );
        println!("| transport | deliveries/s | publisher CPU ns/delivery | publisher RSS/connection idle | at the end | publisher peak RSS |");
        println!("|---|---:|---:|---:|---:|---:|");
        for (name, r) in [("ws", &ws), ("tcp", &tcp)] {
            println!(
                "| {name} | {:.2} M | {:.0} | {:.1} KiB | {:.1} KiB | {:.0} MiB |",
                subs::median_of(r, |f| f.deliveries_per_sec) / 1e6,
                subs::median_of(r, |f| f.cpu_ns_per_delivery),
                subs::median_of(r, |f| f.idle_bytes_per_conn) / 1024.0,
                subs::median_of(r, |f| f.end_bytes_per_conn) / 1024.0,
                subs::median_of(r, |f| f.peak_mib),
            );
        }
        let cpu = |r: &[Figures]| each(r, |f| f.cpu_ns_per_delivery);
        println!(
            "\nws/tcp publisher CPU per delivery: {} (target ≤ 1.5)\n",
            fmt_ratio(paired_ratio(&cpu(&ws), &cpu(&tcp)))
        );
    }
    Ok(())
}

/// One row of the libzmq comparison: every round's figures of both sides.
struct Row {
    p: Params,
    iso: Vec<Figures>,
    zmq: Vec<Figures>,
}

impl Row {
    fn markdown(&self) -> String {
        let med = |r: &[Figures], f: fn(&Figures) -> f64| median(&each(r, f));
        let rate = |f: &Figures| f.deliveries_per_sec;
        let cpu = |f: &Figures| f.cpu_ns_per_delivery;
        let peak = |f: &Figures| f.peak_mib;
        let thr = paired_ratio(&each(&self.iso, rate), &each(&self.zmq, rate));
        let verdict = match thr {
            _ if self.p.subs != TARGET_SUBS => "",
            Some(r) if r.median >= 1.5 => "≥ 1.5×: met",
            _ => "≥ 1.5×: missed",
        };
        let digits = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.0}"));
        let sub = |f: &Figures| f.sub_cpu_ns_per_delivery;
        format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} / {} | {} / {} MiB | {verdict} |",
            self.p.subs,
            self.p.count,
            fmt_rate(med(&self.iso, rate)),
            fmt_rate(med(&self.zmq, rate)),
            fmt_ratio(thr),
            digits(med(&self.iso, cpu)),
            digits(med(&self.zmq, cpu)),
            fmt_ratio(paired_ratio(&each(&self.iso, cpu), &each(&self.zmq, cpu))),
            digits(med(&self.iso, sub)),
            digits(med(&self.zmq, sub)),
            digits(med(&self.iso, peak)),
            digits(med(&self.zmq, peak)),
        )
    }
}

/// The table of the libzmq comparison, with what it ran on.
fn markdown(flags: &Flags, rows: &[Row], load: &str, took: Duration) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Run: {} rounds per row, each running isomq → isomq{} then libzmq → libzmq over \
         tcp, each in fresh processes; figures are medians over rounds, ratios the median of \
         the rounds' ratios (range in brackets). {} B messages, publisher SNDHWM {}, {} \
         connections per SUB socket, {} CPUs, load average {load} at the start, took {:.0} \
         s.\n",
        flags.reps,
        if flags.auto {
            " (contexts as `Context::new()` makes them on this machine)"
        } else {
            ""
        },
        flags.size,
        flags.hwm,
        flags.per_socket,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        took.as_secs_f64(),
    );
    s.push_str(
        "| subscribers | messages | isomq deliveries/s | libzmq deliveries/s | isomq/libzmq \
         | isomq publisher CPU ns/delivery | libzmq | isomq/libzmq CPU | subscriber process \
         CPU ns/delivery isomq / libzmq | publisher peak RSS isomq / libzmq | target |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for r in rows {
        s.push_str(&r.markdown());
        s.push('\n');
    }
    s
}

/// isomq → isomq against libzmq → libzmq over tcp://.
fn against_libzmq(flags: &Flags) -> Result<(), BoxError> {
    let started = Instant::now();
    let load = std::fs::read_to_string("/proc/loadavg")?
        .split(' ')
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    let mut rows = Vec::new();
    for &k in &flags.subs {
        let p = flags.params(k);
        let iso_side = if flags.auto { Side::TcpAuto } else { Side::Tcp };
        let [iso, zmq] = rounds(iso_side, Side::Libzmq, p, flags.reps)?;
        let row = Row { p, iso, zmq };
        eprintln!("{}", row.markdown());
        rows.push(row);
    }
    let table = markdown(flags, &rows, &load, started.elapsed());
    println!("{table}");
    if flags.write {
        compare::write_section(BEGIN, END, &table)?;
    }
    Ok(())
}

/// A child's side and parameters: `<side> [<endpoint>] <subs> <count> <size> <per-socket>`.
fn child_args(args: &[String], with_endpoint: bool) -> Option<(Side, &str, Params)> {
    let side = Side::parse(args.get(1)?)?;
    let (ep, rest) = if with_endpoint {
        (args.get(2)?.as_str(), args.get(3..)?)
    } else {
        ("", args.get(2..)?)
    };
    Some((side, ep, Params::from_args(rest)?))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("--pub") => match child_args(&args, false) {
            Some((side, _, p)) => fanout::publisher(side, p),
            None => Err(USAGE.into()),
        },
        Some("--sub") => match child_args(&args, true) {
            Some((side, ep, p)) => fanout::subscribers(side, ep, p),
            None => Err(USAGE.into()),
        },
        _ => match Flags::parse(args.into_iter()) {
            Some(f) if f.libzmq => against_libzmq(&f),
            Some(f) => ws_against_tcp(&f),
            None => Err(USAGE.into()),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fanout: {e}");
            ExitCode::FAILURE
        }
    }
}

//! `slow_subs [--subs K] [--stalled S] [--count M] [--size B] [--window W] [--reps R] [--ws]`
//!
//! Slow consumers: one publisher process, K subscriber connections in another process, of
//! which S stop reading; how fast the K − S others are served with and without them. Each
//! round runs both cases in fresh processes: the same K − S good connections alone, then
//! with the S stalled ones beside them (docs/wire.md §7.7).
//!
//! The publisher is a lossy XPUB (a PUB that counts subscriptions, XPUB_VERBOSE) at the
//! default SNDHWM (1,000). The good connections (100 per SUB socket) are drained from one
//! thread with `poll`; the stalled ones are raw connections that subscribe and never read
//! (`isomq_tests::stalled`), with small kernel buffers (4 KiB receive buffer, 536-byte MSS)
//! so that their queues fill within the run and the publisher drops for them from then on.
//! Over tcp://, or with `--ws` over ws://, where every subscriber speaks ZWS 2.0 as a
//! browser's would. The stream
//! goes in windows of W messages (W under SNDHWM, so a good connection never drops): the
//! subscriber process reports each window once every good connection has all of it, and
//! the publisher then sends the next. Reported: deliveries per second to the good
//! connections, the publisher process's CPU time per delivery (`getrusage`, all its
//! threads) and its peak resident memory.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use isomq::{Msg, SocketOption, SocketType};
use isomq_benches::compare::median;
use isomq_benches::{iso, procstat, subs, BoxError};
use isomq_tests::stalled::StalledSubscriber;

const USAGE: &str = "usage: slow_subs [--subs K] [--stalled S] [--count M] [--size B] \
                     [--window W] [--reps R] [--ws]";
const PER_SOCKET: usize = 100;

/// The run's shape, passed on to the child processes as five numbers and the transport.
#[derive(Debug, Clone, Copy)]
struct Params {
    subs: usize,
    stalled: usize,
    count: usize,
    size: usize,
    window: usize,
    reps: usize,
    ws: bool,
}

impl Params {
    fn from_flags(mut args: impl Iterator<Item = String>) -> Option<Params> {
        let mut p = Params {
            subs: 1000,
            stalled: 10,
            count: 10_000,
            size: 256,
            window: 500,
            reps: 3,
            ws: false,
        };
        while let Some(flag) = args.next() {
            if flag == "--ws" {
                p.ws = true;
                continue;
            }
            let n: usize = args.next()?.parse().ok()?;
            match flag.as_str() {
                "--subs" => p.subs = n,
                "--stalled" => p.stalled = n,
                "--count" => p.count = n,
                "--size" => p.size = n,
                "--window" => p.window = n,
                "--reps" => p.reps = n,
                _ => return None,
            }
        }
        (p.subs > p.stalled && p.window > 0 && p.count >= p.window && p.reps > 0).then_some(p)
    }

    fn to_args(self) -> [String; 6] {
        let [a, b, c, d, e] =
            [self.subs, self.stalled, self.count, self.size, self.window].map(|n| n.to_string());
        [a, b, c, d, e, if self.ws { "ws" } else { "tcp" }.to_owned()]
    }

    fn from_args(args: &[String]) -> Option<Params> {
        let n = |i: usize| args.get(i)?.parse::<usize>().ok();
        Some(Params {
            subs: n(0)?,
            stalled: n(1)?,
            count: n(2)?,
            size: n(3)?,
            window: n(4)?,
            reps: 1,
            ws: match args.get(5)?.as_str() {
                "ws" => true,
                "tcp" => false,
                _ => return None,
            },
        })
    }

    fn good(self) -> usize {
        self.subs - self.stalled
    }
}

/// One run's figures, as the publisher process reports them on a `result` line.
#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    deliveries_per_sec: f64,
    cpu_ns_per_delivery: f64,
    peak_mib: f64,
}

/// The publisher process: binds, starts the subscribers, waits for every subscription,
/// sends window after window, prints a `result` line.
fn publisher(p: Params) -> Result<(), BoxError> {
    procstat::raise_nofile()?;
    let ctx = iso::context(1);
    let mut xpub = ctx.socket(SocketType::XPub)?;
    xpub.set_option(SocketOption::XpubVerbose(true))?;
    xpub.bind(if p.ws {
        "ws://127.0.0.1:*/slow"
    } else {
        "tcp://127.0.0.1:*"
    })?;
    let ep = xpub.last_endpoint().ok_or("no endpoint bound")?.to_owned();
    let mut args = vec!["--sub".to_owned(), ep];
    args.extend(p.to_args());
    let (mut child, mut lines) = subs::spawn_subscribers(&args)?;
    subs::await_subscriptions(p.subs, || Ok(xpub.recv()?.as_slice().first() == Some(&1)))?;
    let payload = vec![7u8; p.size];
    let cpu0 = procstat::cpu_time()?;
    let start = Instant::now();
    for _ in 0..p.count / p.window {
        for _ in 0..p.window {
            xpub.send(Msg::copy_from_slice(&payload))?;
        }
        match lines.next() {
            Some(Ok(line)) if line == "w" => {}
            other => return Err(format!("subscribers failed: {other:?}").into()),
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = (procstat::cpu_time()? - cpu0).as_secs_f64();
    let deliveries = (p.good() * (p.count / p.window) * p.window) as f64;
    println!(
        "result {} {} {}",
        deliveries / secs,
        cpu * 1e9 / deliveries,
        procstat::status_bytes("VmHWM")? as f64 / (1024.0 * 1024.0),
    );
    drop(xpub);
    child.kill()?;
    child.wait()?;
    Ok(())
}

/// The subscriber process: the stalled connections first, then the good ones, drained from
/// this thread; prints `w` once every good connection has had each window.
fn subscribers(endpoint: &str, p: Params) -> Result<(), BoxError> {
    procstat::raise_nofile()?;
    let _stalled: Vec<StalledSubscriber> = (0..p.stalled)
        .map(|_| StalledSubscriber::connect(endpoint, b""))
        .collect();
    let ctx = iso::context(1);
    let (mut sockets, conns_of) =
        subs::connect(&ctx, &[endpoint.to_owned()], p.good(), PER_SOCKET)?;
    let mut out = std::io::stdout().lock();
    for _ in 0..p.count / p.window {
        let mut remaining: Vec<usize> = conns_of.iter().map(|n| n * p.window).collect();
        subs::receive(sockets.as_mut_slice(), &mut remaining, p.size)?;
        writeln!(out, "w")?;
        out.flush()?;
    }
    // Killed by the publisher when it is done.
    loop {
        std::thread::park();
    }
}

/// Runs one publisher process and reads its `result` line.
fn run_once(p: Params) -> Result<Figures, BoxError> {
    let mut args = vec!["--pub".to_owned()];
    args.extend(p.to_args());
    let [deliveries_per_sec, cpu_ns_per_delivery, peak_mib] = subs::run_publisher(&args)?;
    Ok(Figures {
        deliveries_per_sec,
        cpu_ns_per_delivery,
        peak_mib,
    })
}

fn orchestrate(p: Params) -> Result<(), BoxError> {
    let alone = Params {
        subs: p.good(),
        stalled: 0,
        ..p
    };
    let (mut without, mut with, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..p.reps {
        let a = run_once(alone)?;
        let b = run_once(p)?;
        eprintln!("round {round}: alone {a:?}\n         with stalled {b:?}");
        ratios.push(b.deliveries_per_sec / a.deliveries_per_sec);
        without.push(a);
        with.push(b);
    }
    println!(
        "{} good subscriber connections over {} ({PER_SOCKET} per SUB socket), {} messages of \
         {} B in windows of {}, {} rounds (medians)\n",
        p.good(),
        if p.ws { "ws://" } else { "tcp://" },
        p.count,
        p.size,
        p.window,
        p.reps
    );
    println!("| stalled connections | deliveries/s to the good ones | publisher CPU ns/delivery | publisher peak RSS |");
    println!("|---:|---:|---:|---:|");
    for (n, r) in [(0, &without), (p.stalled, &with)] {
        println!(
            "| {n} | {:.2} M | {:.0} | {:.0} MiB |",
            subs::median_of(r, |f| f.deliveries_per_sec) / 1e6,
            subs::median_of(r, |f| f.cpu_ns_per_delivery),
            subs::median_of(r, |f| f.peak_mib),
        );
    }
    let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    println!(
        "\nrate with / without the stalled connections: {:.2} ({lo:.2}–{hi:.2})",
        median(&ratios).unwrap_or(f64::NAN)
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("--pub") => match Params::from_args(args.get(1..).unwrap_or(&[])) {
            Some(p) => publisher(p),
            None => Err(USAGE.into()),
        },
        Some("--sub") => match (args.get(1), Params::from_args(args.get(2..).unwrap_or(&[]))) {
            (Some(ep), Some(p)) => subscribers(ep, p),
            _ => Err(USAGE.into()),
        },
        _ => match Params::from_flags(args.into_iter()) {
            Some(p) => orchestrate(p),
            None => Err(USAGE.into()),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("slow_subs: {e}");
            ExitCode::FAILURE
        }
    }
}

//! `fanout [--subs K] [--count M] [--size B] [--per-socket C] [--reps R]`
//!
//! One publisher process to K subscriber connections in another process, over ws:// and
//! over tcp://, in alternating rounds, each round in fresh processes: this process starts a
//! publisher process per run (`--pub`), which starts the subscriber process (`--sub`).
//!
//! The publisher is an XPUB with XPUB_VERBOSE (every connection's subscription comes up)
//! and XPUB_NODROP (a full subscriber holds the publisher back rather than losing
//! messages, so every message reaches every connection and deliveries = K × M). The
//! subscriber process opens K / C SUB sockets of C connections each, subscribes to
//! everything, and drains them all from one thread with `poll`. The measurement starts when
//! the publisher has received all K subscriptions (events, no sleeping) and ends when the
//! subscriber process reports that every connection got every message. Reported: deliveries
//! per second, the publisher process's CPU time per delivery (`getrusage`, all its threads),
//! and its resident memory per connection: once connected and idle, and at the end.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use isomq::{Msg, SocketOption, SocketType};
use isomq_benches::compare::median;
use isomq_benches::{iso, procstat, subs, BoxError};

const USAGE: &str = "usage: fanout [--subs K] [--count M] [--size B] [--per-socket C] [--reps R]";

/// The run's shape, passed on to the child processes as five numbers.
#[derive(Debug, Clone, Copy)]
struct Params {
    subs: usize,
    count: usize,
    size: usize,
    per_socket: usize,
    reps: usize,
}

impl Params {
    fn from_flags(mut args: impl Iterator<Item = String>) -> Option<Params> {
        let mut p = Params {
            subs: 1000,
            count: 0,
            size: 16,
            per_socket: 100,
            reps: 3,
        };
        while let Some(flag) = args.next() {
            let n: usize = args.next()?.parse().ok().filter(|&n| n > 0)?;
            match flag.as_str() {
                "--subs" => p.subs = n,
                "--count" => p.count = n,
                "--size" => p.size = n,
                "--per-socket" => p.per_socket = n,
                "--reps" => p.reps = n,
                _ => return None,
            }
        }
        if p.count == 0 {
            // About two million deliveries per run.
            p.count = (2_000_000 / p.subs).max(10);
        }
        Some(p)
    }

    fn to_args(self) -> [String; 4] {
        [self.subs, self.count, self.size, self.per_socket].map(|n| n.to_string())
    }

    fn from_args(args: &[String]) -> Option<Params> {
        let n = |i: usize| args.get(i)?.parse::<usize>().ok().filter(|&n| n > 0);
        Some(Params {
            subs: n(0)?,
            count: n(1)?,
            size: n(2)?,
            per_socket: n(3)?,
            reps: 1,
        })
    }
}

/// One run's figures, as the publisher process reports them on a `result` line.
#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    deliveries_per_sec: f64,
    cpu_ns_per_delivery: f64,
    idle_bytes_per_conn: f64,
    end_bytes_per_conn: f64,
    peak_mib: f64,
}

/// The publisher process: binds, starts the subscribers, waits for every subscription,
/// sends, waits for the subscribers' `done`, prints a `result` line.
fn publisher(transport: &str, p: Params) -> Result<(), BoxError> {
    procstat::raise_nofile()?;
    let rss_before = procstat::rss()?;
    let ctx = iso::context(1);
    let mut xpub = ctx.socket(SocketType::XPub)?;
    xpub.set_option(SocketOption::XpubVerbose(true))?;
    xpub.set_option(SocketOption::XpubNodrop(true))?;
    // Every subscriber connects at once: their handshakes all run together here, which
    // MAX_HANDSHAKES would spread over reconnects, and this measures the traffic.
    xpub.set_option(SocketOption::MaxHandshakes(p.subs))?;
    xpub.bind(match transport {
        "ws" => "ws://127.0.0.1:*/fanout",
        _ => "tcp://127.0.0.1:*",
    })?;
    let ep = xpub.last_endpoint().ok_or("no endpoint bound")?.to_owned();
    let mut child = Command::new(std::env::current_exe()?)
        .arg("--sub")
        .arg(&ep)
        .args(p.to_args())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("no child stdout")?).lines();
    let mut subscribed = 0;
    while subscribed < p.subs {
        if xpub.recv()?.as_slice().first() == Some(&1) {
            subscribed += 1;
        }
    }
    let rss_idle = procstat::rss()?;
    let payload = vec![7u8; p.size];
    let cpu0 = procstat::cpu_time()?;
    let start = Instant::now();
    for _ in 0..p.count {
        xpub.send(Msg::copy_from_slice(&payload))?;
    }
    match lines.next() {
        Some(Ok(line)) if line == "done" => {}
        other => return Err(format!("subscribers failed: {other:?}").into()),
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = (procstat::cpu_time()? - cpu0).as_secs_f64();
    let rss_end = procstat::rss()?;
    let deliveries = (p.subs * p.count) as f64;
    let per_conn = |rss: u64| rss.saturating_sub(rss_before) as f64 / p.subs as f64;
    println!(
        "result {} {} {} {} {}",
        deliveries / secs,
        cpu * 1e9 / deliveries,
        per_conn(rss_idle),
        per_conn(rss_end),
        procstat::status_bytes("VmHWM")? as f64 / (1024.0 * 1024.0),
    );
    drop(xpub);
    child.wait()?;
    Ok(())
}

/// The subscriber process: `subs` connections over `subs / per_socket` SUB sockets, drained
/// from this thread; prints `done` once every connection has had `count` messages.
fn subscribers(endpoint: &str, p: Params) -> Result<(), BoxError> {
    procstat::raise_nofile()?;
    let ctx = iso::context(1);
    let (mut sockets, conns_of) = subs::connect(&ctx, endpoint, p.subs, p.per_socket)?;
    let mut remaining: Vec<usize> = conns_of.iter().map(|n| n * p.count).collect();
    subs::receive(&mut sockets, &mut remaining, p.size)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "done")?;
    out.flush()?;
    Ok(())
}

/// Runs one publisher process and reads its `result` line.
fn run_once(transport: &str, p: Params) -> Result<Figures, BoxError> {
    let mut args = vec!["--pub".to_owned(), transport.to_owned()];
    args.extend(p.to_args());
    let [deliveries_per_sec, cpu_ns_per_delivery, idle_bytes_per_conn, end_bytes_per_conn, peak_mib] =
        subs::run_publisher(&args)?;
    Ok(Figures {
        deliveries_per_sec,
        cpu_ns_per_delivery,
        idle_bytes_per_conn,
        end_bytes_per_conn,
        peak_mib,
    })
}

fn orchestrate(p: Params) -> Result<(), BoxError> {
    let (mut ws, mut tcp, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..p.reps {
        let w = run_once("ws", p)?;
        let t = run_once("tcp", p)?;
        eprintln!("round {round}: ws {w:?}\n         tcp {t:?}");
        ratios.push(w.cpu_ns_per_delivery / t.cpu_ns_per_delivery);
        ws.push(w);
        tcp.push(t);
    }
    println!(
        "{} subscriber connections ({} per SUB socket), {} messages of {} B each, {} rounds \
         (medians)\n",
        p.subs, p.per_socket, p.count, p.size, p.reps
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
    let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    println!(
        "\nws/tcp publisher CPU per delivery: {:.2} ({lo:.2}–{hi:.2}; target ≤ 1.5)",
        median(&ratios).unwrap_or(f64::NAN)
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("--pub") => match (args.get(1), Params::from_args(args.get(2..).unwrap_or(&[]))) {
            (Some(t), Some(p)) => publisher(t, p),
            _ => Err(USAGE.into()),
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
            eprintln!("fanout: {e}");
            ExitCode::FAILURE
        }
    }
}

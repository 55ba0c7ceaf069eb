//! What the multi-process subscriber benchmarks (`fanout`, `slow_subs`) share: the
//! subscriber side (SUB sockets of many connections each, drained from one thread with
//! `poll`), and running one publisher process per round to read back its `result` line.

use std::process::{Command, Stdio};

use isomq::{poll, Context, Error, Flags, PollEvents, PollItem, Socket, SocketOption, SocketType};

use crate::compare::median;
use crate::BoxError;

/// `total` subscriber connections to `endpoint`, `per_socket` to a SUB socket, each
/// subscribed to everything; returns the sockets and how many connections each has.
pub fn connect(
    ctx: &Context,
    endpoint: &str,
    total: usize,
    per_socket: usize,
) -> Result<(Vec<Socket>, Vec<usize>), BoxError> {
    let (mut sockets, mut conns_of) = (Vec::new(), Vec::new());
    let mut conns = 0;
    while conns < total {
        let n = per_socket.min(total - conns);
        let mut s = ctx.socket(SocketType::Sub)?;
        s.set_option(SocketOption::Subscribe(Vec::new()))?;
        for _ in 0..n {
            s.connect(endpoint)?;
        }
        sockets.push(s);
        conns_of.push(n);
        conns += n;
    }
    Ok((sockets, conns_of))
}

/// Polls `sockets` and drains them until each has received its count in `remaining`
/// (messages of `size` bytes; a socket whose count is reached is polled no more).
pub fn receive(
    sockets: &mut [Socket],
    remaining: &mut [usize],
    size: usize,
) -> Result<(), BoxError> {
    while remaining.iter().any(|&r| r > 0) {
        let mut which = Vec::new();
        let mut items: Vec<PollItem<'_>> = sockets
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| remaining.get(*i).is_some_and(|&r| r > 0))
            .map(|(i, s)| {
                which.push(i);
                PollItem::new(s, PollEvents::IN)
            })
            .collect();
        poll(&mut items, None)?;
        for (item, &i) in items.iter_mut().zip(&which) {
            if item.is_readable() {
                let got = drain(item.socket(), size)?;
                if let Some(r) = remaining.get_mut(i) {
                    *r = r.saturating_sub(got);
                }
            }
        }
    }
    Ok(())
}

/// Receives what `s` has without waiting; returns how many messages.
fn drain(s: &mut Socket, size: usize) -> Result<usize, BoxError> {
    let mut n = 0;
    loop {
        match s.recv_flags(Flags::DONTWAIT) {
            Ok(m) if m.len() == size => n += 1,
            Ok(_) => return Err("message of incorrect size received".into()),
            Err(Error::Again) => return Ok(n),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Runs this executable with `args` (its publisher mode) and returns the numbers of the
/// `result` line it prints, exactly `N` of them.
pub fn run_publisher<const N: usize>(args: &[String]) -> Result<[f64; N], BoxError> {
    let out = Command::new(std::env::current_exe()?)
        .args(args)
        .stderr(Stdio::inherit())
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("result "))
        .ok_or_else(|| format!("publisher failed ({}): {text}", out.status))?;
    let v: Vec<f64> = line.split(' ').filter_map(|x| x.parse().ok()).collect();
    <[f64; N]>::try_from(v).map_err(|_| format!("bad result line: {line}").into())
}

/// The median over rounds of the figure `f`.
pub fn median_of<T>(rounds: &[T], f: fn(&T) -> f64) -> f64 {
    median(&rounds.iter().map(f).collect::<Vec<_>>()).unwrap_or(f64::NAN)
}

//! What the multi-process subscriber benchmarks (`fanout`, `slow_subs`) share: the
//! subscriber side (SUB sockets of many connections each, drained from one thread with
//! `poll`, on isomq or on libzmq), and running one publisher process per round to read back
//! its `result` line.

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStdout, Command, Stdio};

use isomq::{poll, Context, Error, Flags, PollEvents, PollItem, Socket, SocketOption, SocketType};

use crate::compare::median;
use crate::BoxError;

/// SUB sockets one thread drains: isomq's or libzmq's.
pub trait SubSockets {
    /// Waits until some of the sockets at the (ascending) indexes `live` have messages;
    /// returns their indexes.
    fn wait(&mut self, live: &[usize]) -> Result<Vec<usize>, BoxError>;
    /// Receives what socket `i` has without waiting; returns how many messages (each of
    /// `size` bytes, or an error).
    fn drain(&mut self, i: usize, size: usize) -> Result<usize, BoxError>;
}

/// How many of `total` connections each SUB socket gets: `per_socket`, the last the rest.
fn split(total: usize, per_socket: usize) -> Vec<usize> {
    let per_socket = per_socket.max(1);
    (0..total.div_ceil(per_socket))
        .map(|i| per_socket.min(total - i * per_socket))
        .collect()
}

/// `total` subscriber connections, `per_socket` to a SUB socket, each subscribed to
/// everything; a socket's connections go to `endpoints` in turn. Returns the sockets and how
/// many connections each has.
pub fn connect(
    ctx: &Context,
    endpoints: &[String],
    total: usize,
    per_socket: usize,
) -> Result<(Vec<Socket>, Vec<usize>), BoxError> {
    let conns_of = split(total, per_socket);
    let mut sockets = Vec::new();
    for &n in &conns_of {
        let mut s = ctx.socket(SocketType::Sub)?;
        s.set_option(SocketOption::Subscribe(Vec::new()))?;
        for ep in endpoints.iter().cycle().take(n) {
            s.connect(ep)?;
        }
        sockets.push(s);
    }
    Ok((sockets, conns_of))
}

/// [`connect`] on libzmq. A libzmq SUB socket connects to an endpoint once and ignores
/// the same endpoint again (`socket_base_t::connect`, "single connect" socket types), so
/// `endpoints` must be as many as `per_socket` (the publisher binds that many).
pub fn connect_libzmq(
    ctx: &zmq::Context,
    endpoints: &[String],
    total: usize,
    per_socket: usize,
) -> Result<(Vec<zmq::Socket>, Vec<usize>), BoxError> {
    let conns_of = split(total, per_socket);
    let mut sockets = Vec::new();
    for &n in &conns_of {
        let s = ctx.socket(zmq::SUB)?;
        s.set_subscribe(b"")?;
        for ep in endpoints.iter().cycle().take(n) {
            s.connect(ep)?;
        }
        sockets.push(s);
    }
    Ok((sockets, conns_of))
}

/// Polls `sockets` and drains them until each has received its count in `remaining`
/// (messages of `size` bytes; a socket whose count is reached is polled no more).
pub fn receive<S: SubSockets + ?Sized>(
    sockets: &mut S,
    remaining: &mut [usize],
    size: usize,
) -> Result<(), BoxError> {
    loop {
        let live: Vec<usize> = (0..remaining.len())
            .filter(|&i| remaining.get(i).is_some_and(|&r| r > 0))
            .collect();
        if live.is_empty() {
            return Ok(());
        }
        for i in sockets.wait(&live)? {
            let got = sockets.drain(i, size)?;
            if let Some(r) = remaining.get_mut(i) {
                *r = r.saturating_sub(got);
            }
        }
    }
}

impl SubSockets for [Socket] {
    fn wait(&mut self, live: &[usize]) -> Result<Vec<usize>, BoxError> {
        let mut items: Vec<PollItem<'_>> = self
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| live.binary_search(i).is_ok())
            .map(|(_, s)| PollItem::new(s, PollEvents::IN))
            .collect();
        poll(&mut items, None)?;
        Ok(ready(live, items.iter().map(PollItem::is_readable)))
    }

    fn drain(&mut self, i: usize, size: usize) -> Result<usize, BoxError> {
        let s = self.get_mut(i).ok_or("no such socket")?;
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
}

impl SubSockets for [zmq::Socket] {
    fn wait(&mut self, live: &[usize]) -> Result<Vec<usize>, BoxError> {
        let mut items: Vec<zmq::PollItem<'_>> = live
            .iter()
            .filter_map(|&i| self.get(i))
            .map(|s| s.as_poll_item(zmq::POLLIN))
            .collect();
        zmq::poll(&mut items, -1)?;
        Ok(ready(live, items.iter().map(zmq::PollItem::is_readable)))
    }

    fn drain(&mut self, i: usize, size: usize) -> Result<usize, BoxError> {
        let s = self.get(i).ok_or("no such socket")?;
        let mut msg = zmq::Message::new();
        let mut n = 0;
        loop {
            match s.recv(&mut msg, zmq::DONTWAIT) {
                Ok(()) if msg.len() == size => n += 1,
                Ok(()) => return Err("message of incorrect size received".into()),
                Err(zmq::Error::EAGAIN) => return Ok(n),
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// The indexes of `live` whose poll item is readable.
fn ready(live: &[usize], readable: impl Iterator<Item = bool>) -> Vec<usize> {
    live.iter()
        .zip(readable)
        .filter_map(|(&i, r)| r.then_some(i))
        .collect()
}

/// A subscriber process's output, line by line.
pub type ChildLines = Lines<BufReader<ChildStdout>>;

/// Starts this executable with `args` (its subscriber mode) for a publisher; returns it with
/// its output.
pub fn spawn_subscribers(args: &[String]) -> Result<(Child, ChildLines), BoxError> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()?;
    let lines = BufReader::new(child.stdout.take().ok_or("no child stdout")?).lines();
    Ok((child, lines))
}

/// Waits for `count` subscriptions: `next` receives one message from the subscribers and
/// says whether it is a subscription.
pub fn await_subscriptions(
    count: usize,
    mut next: impl FnMut() -> Result<bool, BoxError>,
) -> Result<(), BoxError> {
    let mut subscribed = 0;
    while subscribed < count {
        if next()? {
            subscribed += 1;
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_split_over_sockets() {
        assert_eq!(split(10, 100), vec![10]);
        assert_eq!(split(250, 100), vec![100, 100, 50]);
        assert_eq!(split(200, 100), vec![100, 100]);
        assert_eq!(split(0, 100), Vec::<usize>::new());
    }
}

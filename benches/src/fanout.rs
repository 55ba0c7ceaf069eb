//! The two processes of a `fanout` run and the figures it reports: one publisher process
//! (isomq's XPUB over ws:// or tcp://, or libzmq's XPUB over tcp://) and the subscriber
//! process it starts, on the same library (isomq → isomq, libzmq → libzmq, as in `compare`).
//!
//! The publisher is an XPUB with XPUB_VERBOSE (every connection's subscription comes up)
//! and XPUB_NODROP (a full subscriber holds the publisher back rather than losing
//! messages, so every message reaches every connection and deliveries = K × M). The
//! publisher binds C endpoints and the subscriber process opens K / C SUB sockets of C
//! connections each (one to each endpoint), subscribes to
//! everything, and drains them all from one thread with `poll`. The measurement starts when
//! the publisher has received all K subscriptions (events, no sleeping) and ends when the
//! subscriber process reports that every connection got every message (and the CPU time it
//! spent from its first message on).

use std::io::Write;
use std::time::{Duration, Instant};

use isomq::{Msg, SocketOption, SocketType};

use crate::{iso, libzmq, procstat, subs, BoxError};

/// What a run measures: isomq over ws:// or tcp://, or libzmq over tcp://.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// isomq, ws://.
    Ws,
    /// isomq, tcp://.
    Tcp,
    /// isomq, tcp://, each process's context as `Context::new()` makes it: its I/O mode
    /// chosen by the machine (inline I/O but for PUB and XPUB on machines of at most two
    /// CPUs, `ContextBuilder::inline_io`).
    TcpAuto,
    /// libzmq, tcp://.
    Libzmq,
}

impl Side {
    /// The name on the child processes' command lines.
    pub fn name(self) -> &'static str {
        match self {
            Side::Ws => "ws",
            Side::Tcp => "tcp",
            Side::TcpAuto => "tcp-auto",
            Side::Libzmq => "libzmq",
        }
    }

    /// isomq's context on this side: one I/O thread, or the machine's choice.
    fn context(self) -> isomq::Context {
        if self == Side::TcpAuto {
            isomq::Context::new()
        } else {
            iso::context(1)
        }
    }

    /// The side of a child process's command line.
    pub fn parse(name: &str) -> Option<Side> {
        [Side::Ws, Side::Tcp, Side::TcpAuto, Side::Libzmq]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

/// One run's shape, passed on to the child processes as five numbers.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Subscriber connections.
    pub subs: usize,
    /// Messages published.
    pub count: usize,
    /// Payload size in bytes.
    pub size: usize,
    /// Connections per SUB socket.
    pub per_socket: usize,
    /// The publisher's SNDHWM (messages queued per connection; both libraries' default is
    /// 1,000).
    pub hwm: usize,
}

impl Params {
    /// The five numbers of a child's command line.
    pub fn to_args(self) -> [String; 5] {
        [self.subs, self.count, self.size, self.per_socket, self.hwm].map(|n| n.to_string())
    }

    /// How many endpoints the publisher binds: one per connection of a SUB socket, since a
    /// libzmq SUB socket connects to an endpoint only once (isomq's do the same, so both
    /// publishers accept the same connections).
    pub fn listeners(self) -> usize {
        self.per_socket.min(self.subs)
    }

    /// From a child's command line.
    pub fn from_args(args: &[String]) -> Option<Params> {
        let n = |i: usize| args.get(i)?.parse::<usize>().ok().filter(|&n| n > 0);
        Some(Params {
            subs: n(0)?,
            count: n(1)?,
            size: n(2)?,
            per_socket: n(3)?,
            hwm: n(4)?,
        })
    }
}

/// One run's figures, as the publisher process reports them on a `result` line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Figures {
    /// Deliveries (messages × connections) per second.
    pub deliveries_per_sec: f64,
    /// The publisher process's CPU time (`getrusage`, all its threads) per delivery.
    pub cpu_ns_per_delivery: f64,
    /// The subscriber process's, from its first message on.
    pub sub_cpu_ns_per_delivery: f64,
    /// Publisher RSS growth per connection once all are subscribed.
    pub idle_bytes_per_conn: f64,
    /// Publisher RSS growth per connection after the run.
    pub end_bytes_per_conn: f64,
    /// The publisher's peak RSS.
    pub peak_mib: f64,
}

/// Runs one publisher process (which runs its subscriber process) and reads its figures.
pub fn run_once(side: Side, p: Params) -> Result<Figures, BoxError> {
    let mut args = vec!["--pub".to_owned(), side.name().to_owned()];
    args.extend(p.to_args());
    let [deliveries_per_sec, cpu_ns_per_delivery, sub_cpu_ns_per_delivery, idle_bytes_per_conn, end_bytes_per_conn, peak_mib] =
        subs::run_publisher(&args)?;
    Ok(Figures {
        deliveries_per_sec,
        cpu_ns_per_delivery,
        sub_cpu_ns_per_delivery,
        idle_bytes_per_conn,
        end_bytes_per_conn,
        peak_mib,
    })
}

/// The publisher's socket, on either library.
trait Publisher {
    /// Receives the next message from the subscribers: whether it is a subscription.
    fn subscribed(&mut self) -> Result<bool, BoxError>;
    /// Publishes a new message holding `payload`.
    fn send(&mut self, payload: &[u8]) -> Result<(), BoxError>;
}

impl Publisher for isomq::Socket {
    fn subscribed(&mut self) -> Result<bool, BoxError> {
        Ok(self.recv()?.as_slice().first() == Some(&1))
    }

    fn send(&mut self, payload: &[u8]) -> Result<(), BoxError> {
        isomq::Socket::send(self, Msg::copy_from_slice(payload))?;
        Ok(())
    }
}

impl Publisher for zmq::Socket {
    fn subscribed(&mut self) -> Result<bool, BoxError> {
        Ok(self.recv_bytes(0)?.first() == Some(&1))
    }

    fn send(&mut self, payload: &[u8]) -> Result<(), BoxError> {
        // A new message per send, as isomq's `Msg::copy_from_slice` (zmq_msg_init_size and
        // a copy).
        zmq::Socket::send(self, payload, 0)?;
        Ok(())
    }
}

/// The publisher process: binds, starts the subscribers, waits for every subscription,
/// sends, waits for the subscribers' `done`, prints a `result` line.
pub fn publisher(side: Side, p: Params) -> Result<(), BoxError> {
    procstat::raise_nofile()?;
    let rss_before = procstat::rss()?;
    if side == Side::Libzmq {
        let ctx = libzmq::context(1)?;
        let mut xpub = ctx.socket(zmq::XPUB)?;
        xpub.set_xpub_verbose(true)?;
        set_xpub_nodrop(&mut xpub)?;
        xpub.set_sndhwm(i32::try_from(p.hwm)?)?;
        // Every subscriber connects at once; the default backlog (100) would make most of
        // them retry, which costs set-up time only, not the measurement.
        xpub.set_backlog(i32::try_from(p.subs)?)?;
        let mut eps = Vec::new();
        for _ in 0..p.listeners() {
            xpub.bind("tcp://127.0.0.1:*")?;
            eps.push(
                xpub.get_last_endpoint()?
                    .map_err(|_| "last endpoint is not UTF-8")?,
            );
        }
        return publish(xpub, side, &eps, p, rss_before);
    }
    let ctx = side.context();
    let mut xpub = ctx.socket(SocketType::XPub)?;
    xpub.set_option(SocketOption::XpubVerbose(true))?;
    xpub.set_option(SocketOption::XpubNodrop(true))?;
    xpub.set_option(SocketOption::SndHwm(p.hwm))?;
    // Every subscriber connects at once: their handshakes all run together here, which
    // MAX_HANDSHAKES would spread over reconnects, and this measures the traffic.
    xpub.set_option(SocketOption::MaxHandshakes(p.subs))?;
    let mut eps = Vec::new();
    for _ in 0..p.listeners() {
        xpub.bind(match side {
            Side::Ws => "ws://127.0.0.1:*/fanout",
            _ => "tcp://127.0.0.1:*",
        })?;
        eps.push(xpub.last_endpoint().ok_or("no endpoint bound")?.to_owned());
    }
    publish(xpub, side, &eps, p, rss_before)
}

/// ZMQ_XPUB_NODROP, which the `zmq` crate has no setter for.
fn set_xpub_nodrop(s: &mut zmq::Socket) -> Result<(), BoxError> {
    let on: libc::c_int = 1;
    // SAFETY: `s` is an open socket, and the value is the int the option takes, alive for
    // the call.
    let rc = unsafe {
        zmq_sys::zmq_setsockopt(
            s.as_mut_ptr(),
            zmq_sys::ZMQ_XPUB_NODROP as libc::c_int,
            (&raw const on).cast(),
            std::mem::size_of::<libc::c_int>(),
        )
    };
    if rc != 0 {
        return Err("zmq_setsockopt(ZMQ_XPUB_NODROP) failed".into());
    }
    Ok(())
}

/// The publisher's run once its socket is bound on `eps` (see [`publisher`]).
fn publish(
    mut xpub: impl Publisher,
    side: Side,
    eps: &[String],
    p: Params,
    rss_before: u64,
) -> Result<(), BoxError> {
    let mut args = vec!["--sub".to_owned(), side.name().to_owned(), eps.join(",")];
    args.extend(p.to_args());
    let (mut child, mut lines) = subs::spawn_subscribers(&args)?;
    subs::await_subscriptions(p.subs, || xpub.subscribed())?;
    let rss_idle = procstat::rss()?;
    let payload = vec![7u8; p.size];
    let cpu0 = procstat::cpu_time()?;
    let start = Instant::now();
    for _ in 0..p.count {
        xpub.send(&payload)?;
    }
    let line = lines.next().transpose()?.unwrap_or_default();
    let sub_cpu_ns: f64 = match line.strip_prefix("done ") {
        Some(ns) => ns.parse()?,
        None => return Err(format!("subscribers failed: {line:?}").into()),
    };
    let secs = start.elapsed().as_secs_f64();
    let cpu = (procstat::cpu_time()? - cpu0).as_secs_f64();
    let rss_end = procstat::rss()?;
    let deliveries = (p.subs * p.count) as f64;
    let per_conn = |rss: u64| rss.saturating_sub(rss_before) as f64 / p.subs as f64;
    println!(
        "result {} {} {} {} {} {}",
        deliveries / secs,
        cpu * 1e9 / deliveries,
        sub_cpu_ns / deliveries,
        per_conn(rss_idle),
        per_conn(rss_end),
        procstat::status_bytes("VmHWM")? as f64 / (1024.0 * 1024.0),
    );
    drop(xpub);
    child.wait()?;
    Ok(())
}

/// The subscriber process: `subs` connections over `subs / per_socket` SUB sockets of the
/// same library as the publisher, each socket's connections to the publisher's endpoints
/// (`endpoints`, comma-separated) in turn, drained from this thread; prints `done` once
/// every connection has had `count` messages.
pub fn subscribers(side: Side, endpoints: &str, p: Params) -> Result<(), BoxError> {
    procstat::raise_nofile()?;
    let endpoints: Vec<String> = endpoints.split(',').map(str::to_owned).collect();
    let cpu = if side == Side::Libzmq {
        let ctx = libzmq::context(1)?;
        let (mut sockets, conns_of) = subs::connect_libzmq(&ctx, &endpoints, p.subs, p.per_socket)?;
        receive_timed(sockets.as_mut_slice(), &conns_of, p)?
    } else {
        let ctx = side.context();
        let (mut sockets, conns_of) = subs::connect(&ctx, &endpoints, p.subs, p.per_socket)?;
        receive_timed(sockets.as_mut_slice(), &conns_of, p)?
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "done {}", cpu.as_nanos())?;
    out.flush()?;
    Ok(())
}

/// Receives `count` messages on every connection; returns this process's CPU time from the
/// first message on (the handshakes before it are not the traffic).
fn receive_timed<S: subs::SubSockets + ?Sized>(
    sockets: &mut S,
    conns_of: &[usize],
    p: Params,
) -> Result<Duration, BoxError> {
    let all: Vec<usize> = (0..conns_of.len()).collect();
    sockets.wait(&all)?;
    let cpu0 = procstat::cpu_time()?;
    let mut remaining: Vec<usize> = conns_of.iter().map(|n| n * p.count).collect();
    subs::receive(sockets, &mut remaining, p.size)?;
    Ok(procstat::cpu_time()? - cpu0)
}

//! `conn_memory`: resident memory per idle connection, on the bind side and on the connect
//! side, for tcp:// and ws://.
//!
//! One measurement runs in two fresh processes. The bind side binds a PUB, ROUTER or PULL
//! socket on an OS-chosen port and reads its resident set size (`/proc/self/statm`); then
//! the connect side (this program again, `client` mode) opens N SUB, DEALER or PUSH sockets
//! to it. Every connection completes its handshake and carries a message or two (PUB: a
//! probe, then `end`; ROUTER: `hello` in, `welcome` out; PULL: `hello` in), so its buffers
//! have been used once, and is then idle. The bind side reads its resident size again; the
//! growth divided by N is the figure printed. The connect side does the same with its own
//! process.
//!
//! ```text
//! conn_memory [--n 1000,10000] [--transport tcp,ws] [--pattern pub,router,pull]
//! conn_memory bind <tcp|ws> <pub|router|pull> <n>        one measurement, one `result` line
//! conn_memory client <pub|router|pull> <endpoint> <n>    the connect side, run by `bind`
//! ```
//!
//! `ISOMQ_IO_THREADS` sets the I/O threads of both sides (default 1).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use isomq::{Context, Monitor, MonitorEvent, Msg, Socket, SocketOption, SocketType};
use isomq_benches::{args, iso, memory, BoxError};

/// Bounds every wait, so that a broken run fails instead of hanging (10k connections on a
/// busy machine take seconds, not minutes).
const PATIENCE: Duration = Duration::from_secs(300);
/// How long PUB waits before repeating its probe, at first, until every subscriber has
/// one: a subscription travels on its own, and PUB drops what it publishes before the
/// subscription has arrived. The wait doubles with each probe, so that a slow run does not
/// fill the connections with probes (a connection that carried many messages is not the
/// idle one measured here).
const FIRST_PROBE_WAIT: Duration = Duration::from_millis(20);

#[derive(Debug, Clone, Copy)]
enum Pattern {
    Pub,
    Router,
    Pull,
}

impl Pattern {
    fn parse(s: &str) -> Result<Pattern, BoxError> {
        match s {
            "pub" => Ok(Pattern::Pub),
            "router" => Ok(Pattern::Router),
            "pull" => Ok(Pattern::Pull),
            _ => Err(format!("unknown pattern {s:?} (pub, router, pull)").into()),
        }
    }

    fn bind_type(self) -> SocketType {
        match self {
            Pattern::Pub => SocketType::Pub,
            Pattern::Router => SocketType::Router,
            Pattern::Pull => SocketType::Pull,
        }
    }

    fn connect_type(self) -> SocketType {
        match self {
            Pattern::Pub => SocketType::Sub,
            Pattern::Router => SocketType::Dealer,
            Pattern::Pull => SocketType::Push,
        }
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let result = match argv.split_first() {
        Some((mode, rest)) if mode == "bind" => bind_main(rest),
        Some((mode, rest)) if mode == "client" => client_main(rest),
        _ => driver_main(&argv),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Every combination of the flags, each in fresh processes, as a Markdown table.
fn driver_main(argv: &[String]) -> Result<(), BoxError> {
    let mut counts = "1000,10000".to_owned();
    let mut transports = "tcp,ws".to_owned();
    let mut patterns = "pub,router,pull".to_owned();
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(
            "usage: conn_memory [--n N,..] [--transport tcp,ws] [--pattern pub,router,pull]",
        )?;
        match flag.as_str() {
            "--n" => counts = value.clone(),
            "--transport" => transports = value.clone(),
            "--pattern" => patterns = value.clone(),
            _ => return Err(format!("unknown flag {flag}").into()),
        }
    }
    println!("| transport | pattern | N | bind side KiB/conn | connect side KiB/conn |");
    println!("|---|---|---:|---:|---:|");
    for n in counts.split(',') {
        for t in transports.split(',') {
            for p in patterns.split(',') {
                let out = Command::new(std::env::current_exe()?)
                    .args(["bind", t, p, n])
                    .stderr(Stdio::inherit())
                    .output()?;
                let text = String::from_utf8_lossy(&out.stdout);
                let line = text
                    .lines()
                    .find(|l| l.starts_with("result "))
                    .ok_or_else(|| format!("{t} {p} {n}: no result ({})", out.status))?;
                let field = |name: &str| result_field(line, name).unwrap_or("?");
                println!(
                    "| {t} | {p} | {n} | {} | {} |",
                    field("bind_kib"),
                    field("client_kib")
                );
            }
        }
    }
    Ok(())
}

/// The value of `name=value` in a `result` line.
fn result_field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

/// One measurement: binds, runs the connect side, prints one `result` line.
fn bind_main(argv: &[String]) -> Result<(), BoxError> {
    let [transport, pattern, n] = argv else {
        return Err("usage: conn_memory bind <tcp|ws> <pub|router|pull> <n>".into());
    };
    let pattern = Pattern::parse(pattern)?;
    let n: usize = n.parse()?;
    let endpoint = match transport.as_str() {
        "tcp" => "tcp://127.0.0.1:*",
        "ws" => "ws://127.0.0.1:*/mem",
        _ => return Err(format!("unknown transport {transport:?} (tcp, ws)").into()),
    };
    memory::raise_fd_limit(n as u64 + 64)?;
    let ctx = iso::context(args::io_threads());
    let mut s = socket(&ctx, pattern.bind_type())?;
    s.set_option(SocketOption::Backlog(u32::try_from(n).unwrap_or(u32::MAX)))?;
    // All N connect at once; their handshakes may all be in progress together.
    s.set_option(SocketOption::MaxHandshakes(n))?;
    let monitor = s.monitor();
    s.bind(endpoint)?;
    let ep = s.last_endpoint().ok_or("no endpoint bound")?.to_owned();
    let mut client = Client::spawn(pattern, &ep, n)?;
    let before = memory::rss_bytes()?;
    client.say("go")?;
    exchange(&mut s, pattern, n, &monitor, &client)?;
    drop(monitor);
    let after = memory::rss_bytes()?;
    client.say("measure")?;
    let client_kib = client.expect_prefixed("kib ")?;
    client.say("exit")?;
    client.finish()?;
    println!(
        "result transport={transport} pattern={} n={n} bind_kib={:.2} client_kib={client_kib}",
        format!("{pattern:?}").to_lowercase(),
        memory::kib_per_conn(before, after, n),
    );
    Ok(())
}

/// The bind side's part of the traffic; returns once every connection is idle.
fn exchange(
    s: &mut Socket,
    pattern: Pattern,
    n: usize,
    monitor: &Monitor,
    client: &Client,
) -> Result<(), BoxError> {
    match pattern {
        Pattern::Pub => {
            await_handshakes(monitor, n)?;
            let mut wait = FIRST_PROBE_WAIT;
            loop {
                s.send(Msg::copy_from_slice(b"probe"))?;
                match client.lines.recv_timeout(wait) {
                    Ok(line) if line == "got" => break,
                    Ok(line) => return Err(format!("unexpected {line:?} from the client").into()),
                    Err(RecvTimeoutError::Timeout) => wait = (wait * 2).min(PATIENCE),
                    Err(RecvTimeoutError::Disconnected) => return Err("client exited".into()),
                }
            }
            // Every subscriber has had a probe, so every one gets `end`, after the probes:
            // once the client has all of them, nothing is left to write on any connection.
            s.send(Msg::copy_from_slice(b"end"))?;
            client.expect("idle")
        }
        Pattern::Router => {
            for _ in 0..n {
                let parts = s.recv_multipart()?;
                let id = parts.into_iter().next().ok_or("empty message")?;
                s.send_multipart([id, Msg::copy_from_slice(b"welcome")])?;
            }
            client.expect("idle")
        }
        Pattern::Pull => {
            for _ in 0..n {
                s.recv()?;
            }
            Ok(())
        }
    }
}

fn await_handshakes(monitor: &Monitor, n: usize) -> Result<(), BoxError> {
    let mut done = 0;
    while done < n {
        if let MonitorEvent::HandshakeSucceeded { .. } = monitor.recv_timeout(PATIENCE)? {
            done += 1;
        }
    }
    Ok(())
}

fn socket(ctx: &Context, kind: SocketType) -> Result<Socket, BoxError> {
    let mut s = ctx.socket(kind)?;
    s.set_option(SocketOption::RcvTimeout(Some(PATIENCE)))?;
    s.set_option(SocketOption::SndTimeout(Some(PATIENCE)))?;
    s.set_option(SocketOption::Linger(Some(Duration::ZERO)))?;
    Ok(s)
}

/// The connect side as seen from the bind side: a child process talking in lines.
struct Client {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl Client {
    fn spawn(pattern: Pattern, endpoint: &str, n: usize) -> Result<Client, BoxError> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("client")
            .arg(format!("{pattern:?}").to_lowercase())
            .arg(endpoint)
            .arg(n.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Ok(Client {
            child,
            stdin,
            lines,
        })
    }

    fn say(&mut self, line: &str) -> Result<(), BoxError> {
        writeln!(self.stdin, "{line}")?;
        Ok(self.stdin.flush()?)
    }

    fn next(&self) -> Result<String, BoxError> {
        match self.lines.recv_timeout(PATIENCE) {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => Err("the client is silent".into()),
            Err(RecvTimeoutError::Disconnected) => Err("client exited".into()),
        }
    }

    fn expect(&self, want: &str) -> Result<(), BoxError> {
        let line = self.next()?;
        if line != want {
            return Err(format!("expected {want:?} from the client, got {line:?}").into());
        }
        Ok(())
    }

    fn expect_prefixed(&self, prefix: &str) -> Result<String, BoxError> {
        let line = self.next()?;
        let rest = line
            .strip_prefix(prefix)
            .ok_or_else(|| format!("expected {prefix:?}… from the client, got {line:?}"))?;
        Ok(rest.to_owned())
    }

    fn finish(mut self) -> Result<(), BoxError> {
        let status = self.child.wait()?;
        if !status.success() {
            return Err(format!("client: {status}").into());
        }
        Ok(())
    }
}

impl Drop for Client {
    /// A run that failed half-way does not leave the connect side waiting for its peer.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The connect side: N sockets, one message or two on each, then idle until told to
/// measure. Talks to the bind side in lines (stdin, stdout).
fn client_main(argv: &[String]) -> Result<(), BoxError> {
    let [pattern, endpoint, n] = argv else {
        return Err("usage: conn_memory client <pub|router|pull> <endpoint> <n>".into());
    };
    let pattern = Pattern::parse(pattern)?;
    let n: usize = n.parse()?;
    memory::raise_fd_limit(n as u64 + 64)?;
    let ctx = iso::context(args::io_threads());
    let mut input = std::io::stdin().lines();
    let mut expect = |want: &str| -> Result<(), BoxError> {
        match input.next() {
            Some(Ok(line)) if line == want => Ok(()),
            other => Err(format!("expected {want:?} from the bind side, got {other:?}").into()),
        }
    };
    expect("go")?;
    let before = memory::rss_bytes()?;
    let mut sockets = Vec::with_capacity(n);
    for _ in 0..n {
        let mut s = socket(&ctx, pattern.connect_type())?;
        if let Pattern::Pub = pattern {
            s.subscribe("")?;
        }
        s.connect(endpoint)?;
        if let Pattern::Router | Pattern::Pull = pattern {
            s.send(Msg::copy_from_slice(b"hello"))?;
        }
        sockets.push(s);
    }
    client_traffic(&mut sockets, pattern)?;
    expect("measure")?;
    let after = memory::rss_bytes()?;
    println!("kib {:.2}", memory::kib_per_conn(before, after, n));
    expect("exit")?;
    Ok(())
}

fn client_traffic(sockets: &mut [Socket], pattern: Pattern) -> Result<(), BoxError> {
    match pattern {
        Pattern::Pub => {
            for s in sockets.iter_mut() {
                s.recv()?;
            }
            println!("got");
            for s in sockets.iter_mut() {
                while s.recv()?.as_slice() != b"end" {}
            }
            println!("idle");
        }
        Pattern::Router => {
            for s in sockets.iter_mut() {
                s.recv()?;
            }
            println!("idle");
        }
        Pattern::Pull => {}
    }
    Ok(())
}

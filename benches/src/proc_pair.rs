//! Two processes of the comparison binary measuring one thing between them: a binding side
//! that reports where it bound, and a connecting side started once it has. Each runs the
//! same build as the parent (the binary runs itself with `--procs-child`), so that isomq and
//! libzmq are measured as users run a sender and a receiver, or a client and a server.
//!
//! Throughput: the binding side receives (PULL) and reports the time from its first message
//! to its last; the connecting side sends (PUSH). Latency: the binding side echoes (REP), the
//! connecting side pings (REQ) and reports the time of all round trips, as libzmq's
//! `local_lat` / `remote_lat`.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::transport::Transport;
use crate::{iso, libzmq, BoxError};

/// The first argument of a child process.
pub const CHILD_FLAG: &str = "--procs-child";

/// What a pair of processes measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// PUSH → PULL, `count` messages; the receiver's time from its first to its last.
    Throughput,
    /// REQ ↔ REP, `count` round trips; the requester's time for all of them.
    Latency,
    /// As [`Kind::Throughput`], the sender sending one shared payload with no copy per
    /// message (isomq `Msg::from_bytes`, libzmq `zmq_msg_init_data`); with the library
    /// `raw`, a plain stream of the same bytes.
    Shared,
}

impl Kind {
    /// The child roles: binding side, connecting side.
    fn roles(self) -> (&'static str, &'static str) {
        match self {
            Kind::Throughput => ("recv", "send"),
            Kind::Latency => ("echo", "ping"),
            Kind::Shared => ("recv", "send-shared"),
        }
    }
}

/// How long the binding side may take to finish once the connecting side has: only a lost
/// stream takes this long. (No RCVTIMEO is set: a timed wait costs each sleep a timer, and
/// the processes measured are to be the perf tools' own.)
const STALL: Duration = Duration::from_secs(30);

/// One measurement with `lib` ("isomq" or "libzmq"): the binding process, then the
/// connecting one on the endpoint it reported, both `exe` (the comparison binary, which
/// passes its own path). Returns the reporting side's time.
pub fn pair(
    exe: &Path,
    kind: Kind,
    lib: &str,
    transport: Transport,
    size: usize,
    count: usize,
) -> Result<Duration, BoxError> {
    let bind = match transport {
        Transport::Tcp => "tcp://127.0.0.1:*".to_owned(),
        _ => transport.bind_endpoint(),
    };
    let (binding_role, connecting_role) = kind.roles();
    let child = |role: &str, ep: &str| {
        let mut cmd = Command::new(exe);
        cmd.args([
            CHILD_FLAG,
            role,
            lib,
            ep,
            &size.to_string(),
            &count.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
        cmd
    };
    let mut binding = child(binding_role, &bind).stderr(Stdio::piped()).spawn()?;
    let bound = match read_bound(&mut binding) {
        Ok(ep) => ep,
        Err(e) => {
            let _ = binding.kill();
            let _ = binding.wait();
            return Err(e);
        }
    };
    // The binding side's output, read on a thread so that a stalled process can be given up.
    let (out_tx, binding_out) = mpsc::channel();
    if let Some(mut stdout) = binding.stdout.take() {
        std::thread::spawn(move || {
            let mut out = String::new();
            let _ = out_tx.send(stdout.read_to_string(&mut out).map(|_| out));
        });
    }
    // A sender holds its socket open until its stdin closes, which happens once the
    // receiver has everything (see `hold_until_stdin_closes`).
    let mut connecting = child(connecting_role, &bound)
        .stdin(Stdio::piped())
        .spawn()?;
    let binding_out = binding_out.recv_timeout(STALL);
    drop(connecting.stdin.take());
    let connecting = connecting.wait_with_output()?;
    let binding_out = match binding_out {
        Ok(out) => out?,
        Err(_) => {
            let _ = binding.kill();
            let _ = binding.wait();
            transport.cleanup(&bound);
            let status = connecting.status;
            return Err(
                format!("{lib} {binding_role} side stalled ({status} for the other side)").into(),
            );
        }
    };
    let status = binding.wait()?;
    transport.cleanup(&bound);
    if !connecting.status.success() || !status.success() {
        return Err(format!(
            "{lib} {transport} {size} B: {connecting_role} {}, {binding_role} {status}",
            connecting.status
        )
        .into());
    }
    let report = match kind {
        Kind::Throughput | Kind::Shared => binding_out,
        Kind::Latency => String::from_utf8_lossy(&connecting.stdout).into_owned(),
    };
    let nanos: u64 = report
        .lines()
        .find_map(|l| l.strip_prefix("elapsed_ns "))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("{lib} printed no time: {report:?}"))?;
    Ok(Duration::from_nanos(nanos))
}

/// The endpoint the binding side reports on its stderr once bound.
fn read_bound(binding: &mut Child) -> Result<String, BoxError> {
    let stderr = binding.stderr.take().ok_or("binding side without stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    for line in &mut lines {
        if let Some(ep) = line?.strip_prefix("bound ") {
            let ep = ep.to_owned();
            // Keep draining stderr so that a later message cannot block the child.
            std::thread::spawn(move || lines.for_each(drop));
            return Ok(ep);
        }
    }
    Err("the binding side ended without binding".into())
}

/// A child process's work: `--procs-child ROLE LIB ENDPOINT SIZE COUNT`, ROLE one of
/// `recv`, `send`, `send-shared`, `echo`, `ping` (or `ping@US`: sleeping US microseconds
/// after each round trip), LIB one of `isomq`, `isomq-inline`
/// (isomq with inline I/O, no I/O thread), `libzmq`, `raw` (`recv` and `send-shared`
/// only: the bytes of COUNT messages of SIZE over a plain stream). The binding roles print
/// `bound <endpoint>` on stderr; the reporting role prints `elapsed_ns <n>` on stdout.
pub fn child_main(args: &[String]) -> Result<(), BoxError> {
    let [role, lib, ep, size, count] = args else {
        return Err("usage: --procs-child recv|send|send-shared|echo|ping[@US] \
                    isomq|isomq-inline|libzmq|raw ENDPOINT SIZE COUNT"
            .into());
    };
    let (size, count): (usize, usize) = (size.parse()?, count.parse()?);
    // `ping@US` is `ping` with a pause after each round trip.
    let (role, pause) = match ping_pause(role) {
        Some(pause) => ("ping", pause),
        None => (role.as_str(), Duration::ZERO),
    };
    let elapsed = match lib.as_str() {
        "isomq" => isomq_role(1, role, ep, size, count, pause)?,
        "isomq-inline" => isomq_role(0, role, ep, size, count, pause)?,
        "libzmq" => libzmq_role(role, ep, size, count, pause)?,
        "raw" => crate::raw::child_role(role, ep, size * count)?,
        _ => return Err(format!("unknown library {lib}").into()),
    };
    if let Some(elapsed) = elapsed {
        println!("elapsed_ns {}", elapsed.as_nanos());
    }
    Ok(())
}

/// A sending role's end: waits until stdin closes (at once when it is not a pipe) before
/// the socket and context close. The parent closes it once the receiver has every
/// message: libzmq 4.3's receiving engine drops the frames it has buffered when its peer
/// disconnects while the receiver's pipe is full, and its ipc 16 B receiver then waited
/// for good (in most rounds of a `compare --procs` run on the seventeenth stop's
/// machine). Both libraries' senders wait alike; neither is timed.
fn hold_until_stdin_closes() {
    let mut sink = [0u8; 64];
    let mut stdin = std::io::stdin().lock();
    while matches!(std::io::Read::read(&mut stdin, &mut sink), Ok(n) if n > 0) {}
}

/// The pause of a `ping` role between round trips: `ping` none, `ping@US` US microseconds
/// (a client that pauses between requests); `None` for another role.
fn ping_pause(role: &str) -> Option<Duration> {
    match role.strip_prefix("ping") {
        Some("") => Some(Duration::ZERO),
        Some(rest) => rest
            .strip_prefix('@')
            .and_then(|us| us.parse().ok())
            .map(Duration::from_micros),
        None => None,
    }
}

/// isomq's side of a pair, with `io_threads` I/O threads (0: inline I/O); the time for the
/// reporting role. `pause`: `ping`'s after each round trip.
fn isomq_role(
    io_threads: usize,
    role: &str,
    ep: &str,
    size: usize,
    count: usize,
    pause: Duration,
) -> Result<Option<Duration>, BoxError> {
    let ctx = iso::context(io_threads);
    let (rep, req) = iso::lat_types();
    Ok(match role {
        "recv" => {
            let (mut pull, bound) = iso::bind(&ctx, isomq::SocketType::Pull, ep)?;
            eprintln!("bound {bound}");
            Some(iso::receive(&mut pull, size, count)?)
        }
        "echo" => {
            let (mut s, bound) = iso::bind(&ctx, rep, ep)?;
            eprintln!("bound {bound}");
            iso::echo(&mut s, size, count)?;
            None
        }
        // Dropping the socket and the context delivers what is queued (LINGER -1).
        "send" => {
            let mut push = iso::connect(&ctx, isomq::SocketType::Push, ep)?;
            iso::send(&mut push, size, count)?;
            hold_until_stdin_closes();
            None
        }
        "send-shared" => {
            let mut push = iso::connect(&ctx, isomq::SocketType::Push, ep)?;
            iso::send_shared(&mut push, size, count)?;
            hold_until_stdin_closes();
            None
        }
        "ping" => {
            let mut s = iso::connect(&ctx, req, ep)?;
            Some(iso::ping(&mut s, size, count, pause)?)
        }
        _ => return Err(format!("unknown child role {role}").into()),
    })
}

/// libzmq's side of a pair; the time for the reporting role. `pause`: `ping`'s after each
/// round trip.
fn libzmq_role(
    role: &str,
    ep: &str,
    size: usize,
    count: usize,
    pause: Duration,
) -> Result<Option<Duration>, BoxError> {
    // Declared before the context, so dropped after it: the messages of `send_shared` point
    // into it until libzmq has written them.
    let shared = vec![0u8; if role == "send-shared" { size } else { 0 }];
    let ctx = libzmq::context(1)?;
    let (rep, req) = libzmq::lat_types();
    Ok(match role {
        "recv" => {
            let (pull, bound) = libzmq::bind(&ctx, zmq::SocketType::PULL, ep)?;
            eprintln!("bound {bound}");
            Some(libzmq::receive(&pull, size, count)?)
        }
        "echo" => {
            let (s, bound) = libzmq::bind(&ctx, rep, ep)?;
            eprintln!("bound {bound}");
            libzmq::echo(&s, size, count)?;
            None
        }
        "send" => {
            let push = libzmq::connect(&ctx, zmq::SocketType::PUSH, ep)?;
            libzmq::send(&push, size, count)?;
            hold_until_stdin_closes();
            None
        }
        "send-shared" => {
            let mut push = libzmq::connect(&ctx, zmq::SocketType::PUSH, ep)?;
            libzmq::send_shared(&mut push, &shared, count)?;
            hold_until_stdin_closes();
            None
        }
        "ping" => {
            let s = libzmq::connect(&ctx, req, ep)?;
            Some(libzmq::ping(&s, size, count, pause)?)
        }
        _ => return Err(format!("unknown child role {role}").into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ping` pauses only when asked, by `ping@US`; anything else is not a ping role.
    #[test]
    fn ping_roles_say_their_pause() {
        assert_eq!(ping_pause("ping"), Some(Duration::ZERO));
        assert_eq!(ping_pause("ping@20"), Some(Duration::from_micros(20)));
        assert_eq!(ping_pause("ping@"), None);
        assert_eq!(ping_pause("ping@x"), None);
        assert_eq!(ping_pause("pingpong"), None);
        assert_eq!(ping_pause("echo"), None);
    }

    /// A child with arguments it does not know fails instead of measuring something else.
    #[test]
    fn a_child_with_bad_arguments_fails() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(child_main(&args(&["recv", "isomq"])).is_err());
        assert!(child_main(&args(&["listen", "isomq", "tcp://127.0.0.1:*", "16", "1"])).is_err());
        assert!(child_main(&args(&["send", "nng", "tcp://127.0.0.1:1", "16", "1"])).is_err());
        assert!(child_main(&args(&["recv", "isomq", "tcp://127.0.0.1:*", "x", "1"])).is_err());
        assert!(child_main(&args(&["listen", "libzmq", "tcp://127.0.0.1:*", "16", "1"])).is_err());
        // The raw socket only streams bytes: no request-reply, no other scheme.
        assert!(child_main(&args(&["echo", "raw", "tcp://127.0.0.1:*", "16", "1"])).is_err());
        assert!(child_main(&args(&["recv", "raw", "ws://127.0.0.1:*/x", "16", "1"])).is_err());
    }
}

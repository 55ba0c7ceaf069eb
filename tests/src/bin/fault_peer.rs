//! `fault_peer TYPE bind|connect ENDPOINT [--heartbeat-ms MS]`: one isomq socket in a process
//! of its own, for fault tests that kill or stop their peer (SIGKILL, SIGSTOP) where an
//! in-process socket cannot be. Prints `ready` on stdout once bound or connecting, then:
//!
//! - `pull`, `sub` (subscribed to everything): each message received as one line, frames
//!   joined by a space;
//! - `push`, `pub`: sends each stdin line as a one-frame message;
//! - `rep`, `router`: sends every message back as it came (a ROUTER's reply goes to the
//!   peer it came from).
//!
//! Every line is flushed at once: what the test reads is what the process had received
//! when it died. Exits 2 on bad arguments.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use isomq::{Context, Socket, SocketOption, SocketType};

const USAGE: &str = "usage: fault_peer push|pull|pub|sub|rep|router bind|connect ENDPOINT \
                     [--heartbeat-ms MS]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(ty), Some(how), Some(ep)) = (args.first(), args.get(1), args.get(2)) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let ty = match ty.as_str() {
        "push" => SocketType::Push,
        "pull" => SocketType::Pull,
        "pub" => SocketType::Pub,
        "sub" => SocketType::Sub,
        "rep" => SocketType::Rep,
        "router" => SocketType::Router,
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let heartbeat = match args.get(3..) {
        Some([flag, ms]) if flag == "--heartbeat-ms" => match ms.parse() {
            Ok(ms) => Some(Duration::from_millis(ms)),
            Err(_) => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        },
        Some([]) | None => None,
        Some(_) => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(ty, how == "bind", ep, heartbeat) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fault_peer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(ty: SocketType, bind: bool, ep: &str, heartbeat: Option<Duration>) -> isomq::Result<()> {
    let ctx = Context::new();
    let mut s = ctx.socket(ty)?;
    if let Some(ivl) = heartbeat {
        s.set_option(SocketOption::HeartbeatIvl(Some(ivl)))?;
        s.set_option(SocketOption::HeartbeatTimeout(Some(ivl * 5)))?;
    }
    if ty == SocketType::Sub {
        s.subscribe("")?;
    }
    if bind {
        s.bind(ep)?;
    } else {
        s.connect(ep)?;
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "ready").and_then(|()| out.flush());
    match ty {
        SocketType::Push | SocketType::Pub => send_stdin(&mut s),
        SocketType::Rep | SocketType::Router => loop {
            let frames = s.recv_multipart()?;
            s.send_multipart(frames)?;
        },
        _ => loop {
            let frames = s.recv_multipart()?;
            let line: Vec<String> = frames
                .iter()
                .map(|f| String::from_utf8_lossy(f.as_slice()).into_owned())
                .collect();
            if writeln!(out, "{}", line.join(" "))
                .and_then(|()| out.flush())
                .is_err()
            {
                return Ok(()); // the test stopped reading: it is done with us
            }
        },
    }
}

fn send_stdin(s: &mut Socket) -> isomq::Result<()> {
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        s.send(line)?;
    }
    Ok(())
}

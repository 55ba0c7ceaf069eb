//! `isomq cat`: stdin lines to messages, messages to stdout lines.

use std::io::{self, BufRead, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use isomq::{Authenticator, Context, Error, Msg, Socket, SocketOption, SocketType};

use crate::args::CatArgs;

/// How often a socket that both sends and receives looks at stdin.
const POLL_SLICE: Duration = Duration::from_millis(10);

fn can_send(t: SocketType) -> bool {
    matches!(
        t,
        SocketType::Push
            | SocketType::Pub
            | SocketType::XPub
            | SocketType::XSub
            | SocketType::Pair
            | SocketType::Dealer
            | SocketType::Router
    )
}

fn can_recv(t: SocketType) -> bool {
    matches!(
        t,
        SocketType::Pull
            | SocketType::Sub
            | SocketType::XPub
            | SocketType::XSub
            | SocketType::Pair
            | SocketType::Dealer
            | SocketType::Router
    )
}

/// A line becomes a message: TAB separates frames.
fn frames(line: &[u8]) -> Vec<Msg> {
    line.split(|&b| b == b'\t').map(Msg::from).collect()
}

fn print(out: &mut impl Write, msg: &[Msg]) -> io::Result<()> {
    for (i, frame) in msg.iter().enumerate() {
        if i > 0 {
            out.write_all(b"\t")?;
        }
        out.write_all(frame.as_slice())?;
    }
    out.write_all(b"\n")?;
    out.flush()
}

fn strip_newline(mut line: Vec<u8>) -> Vec<u8> {
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
    line
}

/// Sets the socket up as the arguments say, with the ZAP handler its security flags need
/// (kept alive by the caller). Errors are reported by the caller.
fn open(ctx: &Context, args: &CatArgs) -> Result<(Socket, Option<Authenticator>), Error> {
    let mut sock = ctx.socket(args.socket_type)?;
    let mut auth = None;
    args.security.apply(ctx, &mut sock, &mut auth)?;
    args.tls.apply(&mut sock)?;
    args.heartbeat.apply(&mut sock)?;
    for origin in &args.ws_origins {
        sock.set_option(SocketOption::WsOrigin(origin.as_bytes().to_vec()))?;
    }
    if let Some(id) = &args.identity {
        sock.set_option(SocketOption::RoutingId(id.as_bytes().to_vec()))?;
    }
    if let Some(hwm) = args.hwm {
        sock.set_option(SocketOption::SndHwm(hwm))?;
        sock.set_option(SocketOption::RcvHwm(hwm))?;
    }
    if args.socket_type == SocketType::Sub {
        if args.subscribes.is_empty() {
            sock.subscribe("")?;
        }
        for topic in &args.subscribes {
            sock.subscribe(topic)?;
        }
    }
    for ep in &args.binds {
        sock.bind(ep)?;
        eprintln!("bound {}", sock.last_endpoint().unwrap_or(ep));
    }
    for ep in &args.connects {
        sock.connect(ep)?;
    }
    if args.socket_type == SocketType::XSub {
        for topic in &args.subscribes {
            let mut sub = vec![1u8];
            sub.extend_from_slice(topic.as_bytes());
            sock.send(sub)?;
        }
    }
    Ok((sock, auth))
}

/// Runs `isomq cat`; returns the process exit status.
pub(crate) fn run(args: CatArgs) -> i32 {
    let ctx = Context::new();
    let (sock, auth) = match open(&ctx, &args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("isomq: {e}");
            return match e {
                Error::Inval(_) | Error::ProtoNoSupport(_) => 2,
                _ => 1,
            };
        }
    };
    let status = match (can_send(args.socket_type), can_recv(args.socket_type)) {
        _ if args.socket_type == SocketType::Req => requests(sock, &args),
        _ if args.socket_type == SocketType::Rep => replies(sock, &args),
        (true, false) => send_only(sock, &args),
        (false, true) => recv_only(sock, &args),
        _ => both(sock, &args),
    };
    // The ZAP handler goes first (its sockets close), then the context, which waits for
    // lingering deliveries.
    drop(auth);
    drop(ctx);
    status
}

fn send_only(mut sock: Socket, args: &CatArgs) -> i32 {
    let stdin = io::stdin();
    let mut sent = 0u64;
    let mut input = stdin.lock();
    while args.count.is_none_or(|n| sent < n) {
        let msg = match read_line(&mut input) {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                eprintln!("isomq: reading stdin: {e}");
                return 1;
            }
        };
        if let Err(e) = sock.send_multipart(frames(&msg)) {
            eprintln!("isomq: send: {e}");
            return 1;
        }
        sent += 1;
    }
    // At the end of input, linger until the queue is delivered (or for --timeout-ms).
    if sock.set_option(SocketOption::Linger(args.timeout)).is_err() {
        return 1;
    }
    0
}

fn recv_only(mut sock: Socket, args: &CatArgs) -> i32 {
    if sock
        .set_option(SocketOption::RcvTimeout(args.timeout))
        .is_err()
    {
        return 1;
    }
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut received = 0u64;
    while args.count.is_none_or(|n| received < n) {
        match sock.recv_multipart() {
            Ok(msg) => {
                if print(&mut out, &msg).is_err() {
                    return 0;
                }
                received += 1;
            }
            Err(Error::Again) => {
                eprintln!(
                    "isomq: nothing received for {:?}",
                    args.timeout.unwrap_or_default()
                );
                return 1;
            }
            Err(e) => {
                eprintln!("isomq: recv: {e}");
                return 1;
            }
        }
    }
    0
}

/// Reads one stdin line; `None` at the end of input.
fn read_line(input: &mut impl BufRead) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    match input.read_until(b'\n', &mut line)? {
        0 => Ok(None),
        _ => Ok(Some(strip_newline(line))),
    }
}

/// REQ: each stdin line is a request; its reply is printed before the next one goes.
fn requests(mut sock: Socket, args: &CatArgs) -> i32 {
    if sock
        .set_option(SocketOption::RcvTimeout(args.timeout))
        .is_err()
    {
        return 1;
    }
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut received = 0u64;
    while args.count.is_none_or(|n| received < n) {
        let line = match read_line(&mut input) {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                eprintln!("isomq: reading stdin: {e}");
                return 1;
            }
        };
        let reply = sock
            .send_multipart(frames(&line))
            .and_then(|()| sock.recv_multipart());
        match reply {
            Ok(msg) => {
                if print(&mut out, &msg).is_err() {
                    return 0;
                }
                received += 1;
            }
            Err(e) => {
                eprintln!("isomq: request: {e}");
                return 1;
            }
        }
    }
    0
}

/// REP: prints each request and answers it with itself (--echo) or the next stdin line.
fn replies(mut sock: Socket, args: &CatArgs) -> i32 {
    if sock
        .set_option(SocketOption::RcvTimeout(args.timeout))
        .is_err()
    {
        return 1;
    }
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut received = 0u64;
    while args.count.is_none_or(|n| received < n) {
        let request = match sock.recv_multipart() {
            Ok(msg) => msg,
            Err(e) => {
                eprintln!("isomq: recv: {e}");
                return 1;
            }
        };
        if print(&mut out, &request).is_err() {
            return 0;
        }
        received += 1;
        let reply = if args.echo {
            request
        } else {
            match read_line(&mut input) {
                Ok(Some(line)) => frames(&line),
                Ok(None) => return 0,
                Err(e) => {
                    eprintln!("isomq: reading stdin: {e}");
                    return 1;
                }
            }
        };
        if let Err(e) = sock.send_multipart(reply) {
            eprintln!("isomq: send: {e}");
            return 1;
        }
    }
    0
}

/// PAIR, XPUB, XSUB, DEALER and ROUTER: stdin and the socket at once. Stdin is read on a thread of its own;
/// the socket stays on this one and alternates between the two.
fn both(mut sock: Socket, args: &CatArgs) -> i32 {
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let stdin = io::stdin();
        let mut input = stdin.lock();
        while let Ok(Some(line)) = read_line(&mut input) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    if sock
        .set_option(SocketOption::RcvTimeout(Some(POLL_SLICE)))
        .is_err()
    {
        return 1;
    }
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut received = 0u64;
    let mut last_activity = Instant::now();
    while args.count.is_none_or(|n| received < n) {
        while let Ok(line) = rx.try_recv() {
            if let Err(e) = sock.send_multipart(frames(&line)) {
                eprintln!("isomq: send: {e}");
                return 1;
            }
        }
        match sock.recv_multipart() {
            Ok(msg) => {
                if print(&mut out, &msg).is_err() {
                    return 0;
                }
                received += 1;
                last_activity = Instant::now();
                if args.echo {
                    // ROUTER --echo: the routing id frame sends it back to its sender.
                    if let Err(e) = sock.send_multipart(msg) {
                        eprintln!("isomq: send: {e}");
                        return 1;
                    }
                }
            }
            Err(Error::Again) => {
                if args.timeout.is_some_and(|t| last_activity.elapsed() >= t) {
                    eprintln!(
                        "isomq: nothing received for {:?}",
                        args.timeout.unwrap_or_default()
                    );
                    return 1;
                }
            }
            Err(e) => {
                eprintln!("isomq: recv: {e}");
                return 1;
            }
        }
    }
    0
}

//! The lazy pirate: a REQ client that survives an unreliable server. It waits for each
//! reply with a timeout; when none comes it closes its socket (a REQ cannot send twice in
//! a row), opens a new one and retries, and gives up after a few attempts.
//!
//! ```text
//! cargo run -p isomq --example lazy_pirate
//! ```

use std::thread;
use std::time::Duration;

use isomq::{Context, Error, Result, SocketOption, SocketType};

const TIMEOUT: Duration = Duration::from_millis(500);
const RETRIES: usize = 3;

/// A server that ignores every third request, as if it had crashed on it.
fn flaky_server(ctx: Context, endpoint: String) -> Result<()> {
    let mut s = ctx.socket(SocketType::Rep)?;
    s.bind(&endpoint)?;
    let mut n = 0u32;
    loop {
        let request = s.recv()?;
        n += 1;
        if n % 3 == 0 {
            println!("server: dropping request {n}");
            // Drop the socket (and the request) and come back: the client must retry.
            drop(s);
            s = ctx.socket(SocketType::Rep)?;
            s.bind(&endpoint)?;
            continue;
        }
        s.send(request)?;
    }
}

fn main() -> Result<()> {
    let ctx = Context::new();
    let endpoint = "ipc://@isomq-lazy-pirate-example".to_owned();
    {
        let (ctx, ep) = (ctx.clone(), endpoint.clone());
        thread::spawn(move || flaky_server(ctx, ep));
    }

    let connect = || -> Result<isomq::Socket> {
        let mut s = ctx.socket(SocketType::Req)?;
        s.set_option(SocketOption::RcvTimeout(Some(TIMEOUT)))?;
        s.set_option(SocketOption::Linger(Some(Duration::ZERO)))?;
        s.connect(&endpoint)?;
        Ok(s)
    };
    let mut client = connect()?;
    for seq in 1..=8 {
        let request = format!("{seq}");
        let mut answered = false;
        for attempt in 1..=RETRIES {
            client.send(request.as_str())?;
            match client.recv() {
                Ok(reply) if reply.as_slice() == request.as_bytes() => {
                    println!("client: request {seq} answered (attempt {attempt})");
                    answered = true;
                    break;
                }
                Ok(_) => println!("client: malformed reply"),
                Err(Error::Again) => println!("client: no reply to {seq}, retrying"),
                Err(e) => return Err(e),
            }
            client = connect()?;
        }
        if !answered {
            println!("client: server seems to be offline, abandoning");
            break;
        }
    }
    Ok(())
}

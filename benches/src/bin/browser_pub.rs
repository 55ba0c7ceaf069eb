//! `browser_pub <bind-to> <seconds>`: the publisher of the browser receive benchmark
//! (`benches/browser/run.mjs`). A PUB bound on a ws:// endpoint publishes 16-byte messages
//! as fast as its subscribers take them for `seconds`: with XPUB_NODROP set, `send` waits
//! at SNDHWM instead of dropping, so the figure a page reports is what it received, and
//! this process does not spin while the page is the bottleneck. Prints `bound <endpoint>`
//! once listening and `sent <n>` at the end.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use isomq::{SocketOption, SocketType};
use isomq_benches::{iso, BoxError};

fn run(endpoint: &str, seconds: u64) -> Result<u64, BoxError> {
    let ctx = iso::context(1);
    let mut publisher = ctx.socket(SocketType::Pub)?;
    publisher.set_option(SocketOption::XpubNodrop(true))?;
    publisher.bind(endpoint)?;
    println!("bound {}", publisher.last_endpoint().unwrap_or(endpoint));
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut sent: u64 = 0;
    // The clock is read once per 1024 messages: a message costs well under a microsecond.
    while !sent.is_multiple_of(1024) || Instant::now() < end {
        let mut body = [b'.'; 16];
        body[..8].copy_from_slice(&sent.to_be_bytes());
        publisher.send(&body[..])?;
        sent += 1;
    }
    Ok(sent)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(endpoint), Some(Ok(seconds))) = (args.get(1), args.get(2).map(|s| s.parse())) else {
        eprintln!("usage: browser_pub <bind-to> <seconds>");
        return ExitCode::from(2);
    };
    match run(endpoint, seconds) {
        Ok(sent) => {
            println!("sent {sent}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("browser_pub: {e}");
            ExitCode::FAILURE
        }
    }
}

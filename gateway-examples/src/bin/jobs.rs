//! A job queue with browser clients: each page sends jobs as requests (REQ over ws://) to a
//! native broker (ROUTER), which hands them to a pool of native workers (REP, behind a
//! DEALER over inproc://) and routes every result back to the page that asked.
//!
//! ```text
//! cargo run --release -p isomq-gateway-examples --bin jobs -- [--workers 3] [--seconds N]
//! ```
//!
//! ```text
//!  browser REQ ─┐                           ┌─ REP worker 0
//!  browser REQ ─┼─ ws://…/jobs ROUTER ═proxy═ DEALER ─ inproc://workers ─┼─ REP worker 1
//!  browser REQ ─┘                           └─ REP worker 2
//! ```

use std::path::PathBuf;
use std::thread;
use std::time::Duration;

use isomq::{proxy, Context, Error, Result, SocketType};
use isomq_gateway_examples::web::{self, Site};

/// Does one job: the text's statistics, as JSON, signed by the worker.
fn work(text: &str, worker: usize) -> String {
    let words = text.split_whitespace().count();
    let chars = text.chars().count();
    let reversed: String = text.chars().rev().collect();
    let escape = |s: &str| {
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    format!(
        "{{\"worker\":{worker},\"words\":{words},\"chars\":{chars},\"upper\":\"{}\",\"reversed\":\"{}\"}}",
        escape(&text.to_uppercase()),
        escape(&reversed)
    )
}

fn worker(ctx: Context, n: usize) -> Result<()> {
    let mut rep = ctx.socket(SocketType::Rep)?;
    rep.connect("inproc://workers")?;
    loop {
        let job = rep.recv()?;
        let text = String::from_utf8_lossy(job.as_slice());
        rep.send(work(&text, n))?;
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("jobs: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let mut workers = 3usize;
    let mut seconds = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--workers" => workers = value.parse().unwrap_or(3).max(1),
            "--seconds" => seconds = value.parse::<u64>().ok(),
            other => return Err(Error::Inval(format!("unknown argument {other:?}"))),
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let repo = root.parent().map(PathBuf::from).unwrap_or_default();

    let ctx = Context::new();
    let mut frontend = ctx.socket(SocketType::Router)?;
    frontend.bind("ws://127.0.0.1:*/jobs")?;
    let jobs_ep = frontend.last_endpoint().unwrap_or_default().to_owned();
    let mut backend = ctx.socket(SocketType::Dealer)?;
    backend.bind("inproc://workers")?;
    for n in 0..workers {
        let ctx = ctx.clone();
        thread::spawn(move || worker(ctx, n));
    }
    let broker = thread::spawn(move || proxy(&mut frontend, &mut backend, None));

    let site = Site {
        root: root.join("jobs/web"),
        mounts: vec![("/isomq".into(), repo.join("js"))],
        documents: vec![(
            "/config.json".into(),
            "application/json",
            format!("{{\"jobs\":\"{jobs_ep}\"}}"),
        )],
    };
    let server = web::start("127.0.0.1:0", site.router(), None).map_err(Error::from)?;
    let url = server.url();
    println!("isomq jobs: {url}");
    println!("  broker {jobs_ep} → {workers} workers");
    match seconds {
        Some(s) => thread::sleep(Duration::from_secs(s)),
        None => {
            while !broker.is_finished() {
                thread::sleep(Duration::from_millis(200));
            }
        }
    }
    ctx.terminate();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::work;

    #[test]
    fn work_escapes_json() {
        let out = work("say \"hi\"\n", 2);
        assert!(out.contains("\"worker\":2"));
        assert!(out.contains("\"words\":2"));
        assert!(out.contains("SAY \\\"HI\\\"\\n"), "{out}");
    }
}

//! `soak [--minutes M] [--seconds S]`: every pattern at once, with churn and faults, for
//! five minutes by default (`benches/src/soak/mod.rs` says what runs). A row of samples
//! every 5 s, then the report; exits non-zero when a message was reordered, duplicated or
//! lost beyond a lost connection's window (docs/wire.md §7.6), a reply did not match its
//! request, or descriptors, live objects or memory did not stay flat and come back
//! (docs/limits.md §5).
//!
//! ```text
//! cargo run --release -p isomq-benches --bin soak                  # 5 minutes
//! cargo run --release -p isomq-benches --bin soak -- --minutes 60  # the hour
//! ```
//!
//! `soak --role pull ENDPOINT` is the peer process the soak starts, kills and restarts.

use std::process::ExitCode;
use std::time::Duration;

use isomq_benches::counting::Counting;
use isomq_benches::soak::{self, child, Config};
use isomq_benches::BoxError;

/// The heap in use is sampled beside resident memory (see `isomq_benches::counting`).
#[global_allocator]
static ALLOCATOR: Counting = Counting;

const USAGE: &str = "usage: soak [--minutes M] [--seconds S] | soak --role pull ENDPOINT";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [role, kind, endpoint] = args.as_slice() {
        if role == "--role" && kind == "pull" {
            return match child::child_main(endpoint) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("soak peer: {e}");
                    ExitCode::FAILURE
                }
            };
        }
    }
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<bool, BoxError> {
    let duration = parse(args)?;
    let config = Config::new(duration, std::env::current_exe()?);
    println!(
        "soak: {:.1} minutes, a sample every {:?}",
        duration.as_secs_f64() / 60.0,
        config.sample_every
    );
    let outcome = soak::run(config.clone(), false)?;
    soak::print_report(&outcome, &config);
    Ok(outcome.passed())
}

fn parse(args: &[String]) -> Result<Duration, BoxError> {
    let mut duration = Duration::from_secs(5 * 60);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value: f64 = it.next().ok_or(USAGE)?.parse()?;
        duration = match flag.as_str() {
            "--minutes" => Duration::from_secs_f64(value * 60.0),
            "--seconds" => Duration::from_secs_f64(value),
            _ => return Err(USAGE.into()),
        };
    }
    Ok(duration)
}

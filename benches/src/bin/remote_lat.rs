//! `remote_lat <connect-to> <message-size> <roundtrip-count>`: sends messages and waits for
//! each echo, printing the one-way latency (round trip / 2), as libzmq's perf/remote_lat does
//! (REQ, see `iso::lat_types`).

use std::process::ExitCode;
use std::time::Duration;

use isomq_benches::{args, iso, report};

fn main() -> ExitCode {
    args::run(
        "remote_lat <connect-to> <message-size> <roundtrip-count>",
        args::remote_args(),
        |a| {
            let ctx = iso::context(args::io_threads());
            let (_, remote_type) = iso::lat_types();
            let mut s = iso::connect(&ctx, remote_type, &a.endpoint)?;
            let elapsed = iso::ping(&mut s, a.size, a.count, Duration::ZERO)?;
            report::print_lat(a.size, a.count, elapsed);
            Ok(())
        },
    )
}

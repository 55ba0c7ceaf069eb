//! libzmq (the `zmq` crate) twin of isomq's tool, for interop checks.
//!
//! `remote_lat <connect-to> <message-size> <roundtrip-count>`: sends messages and waits for
//! each echo, printing the one-way latency (round trip / 2), as libzmq's perf/remote_lat does
//! (REQ, see `libzmq::lat_types`).

use std::process::ExitCode;
use std::time::Duration;

use isomq_benches::{args, libzmq, report};

fn main() -> ExitCode {
    args::run(
        "remote_lat <connect-to> <message-size> <roundtrip-count>",
        args::remote_args(),
        |a| {
            let ctx = libzmq::context(args::io_threads())?;
            let (_, remote_type) = libzmq::lat_types();
            let s = libzmq::connect(&ctx, remote_type, &a.endpoint)?;
            let elapsed = libzmq::ping(&s, a.size, a.count, Duration::ZERO)?;
            report::print_lat(a.size, a.count, elapsed);
            Ok(())
        },
    )
}

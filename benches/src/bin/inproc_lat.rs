//! `inproc_lat <message-size> <roundtrip-count>`: ping-pong between two threads over inproc,
//! printing the one-way latency, as libzmq's perf/inproc_lat does.

use std::process::ExitCode;

use isomq_benches::security::Security;
use isomq_benches::{args, iso, report};

fn main() -> ExitCode {
    args::run(
        "inproc_lat <message-size> <roundtrip-count>",
        args::inproc_args(),
        |(size, roundtrips)| {
            let elapsed = iso::lat(
                "inproc://lat_test",
                size,
                roundtrips,
                args::io_threads(),
                Security::Null,
            )?;
            report::print_lat(size, roundtrips, elapsed);
            Ok(())
        },
    )
}

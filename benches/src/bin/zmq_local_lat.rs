//! libzmq (the `zmq` crate) twin of isomq's tool, for interop checks.
//!
//! `local_lat <bind-to> <message-size> <roundtrip-count>`: echoes messages back, as libzmq's
//! perf/local_lat does (REP, see `libzmq::lat_types`).

use std::process::ExitCode;
use std::time::Duration;

use isomq_benches::{args, libzmq};

fn main() -> ExitCode {
    args::run(
        "local_lat <bind-to> <message-size> <roundtrip-count>",
        args::remote_args(),
        |a| {
            let ctx = libzmq::context(args::io_threads())?;
            let (local_type, _) = libzmq::lat_types();
            let (s, _) = libzmq::bind(&ctx, local_type, &a.endpoint)?;
            libzmq::echo(&s, a.size, a.count)?;
            // As libzmq's tool: leave the last reply time to leave.
            std::thread::sleep(Duration::from_secs(1));
            Ok(())
        },
    )
}

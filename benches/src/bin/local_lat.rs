//! `local_lat <bind-to> <message-size> <roundtrip-count>`: echoes messages back, as libzmq's
//! perf/local_lat does (REP, see `iso::lat_types`).

use std::process::ExitCode;
use std::time::Duration;

use isomq_benches::{args, iso};

fn main() -> ExitCode {
    args::run(
        "local_lat <bind-to> <message-size> <roundtrip-count>",
        args::remote_args(),
        |a| {
            let ctx = iso::context(args::io_threads());
            let (local_type, _) = iso::lat_types();
            let (mut s, _) = iso::bind(&ctx, local_type, &a.endpoint)?;
            iso::echo(&mut s, a.size, a.count)?;
            // As libzmq's tool: leave the last reply time to leave.
            std::thread::sleep(Duration::from_secs(1));
            Ok(())
        },
    )
}

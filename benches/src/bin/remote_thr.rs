//! `remote_thr <connect-to> <message-size> <message-count>`: sends on a PUSH socket, as
//! libzmq's perf/remote_thr does; returns once everything is delivered (LINGER).

use std::process::ExitCode;

use isomq::SocketType;
use isomq_benches::{args, iso};

fn main() -> ExitCode {
    args::run(
        "remote_thr <connect-to> <message-size> <message-count>",
        args::remote_args(),
        |a| {
            let ctx = iso::context(args::io_threads());
            let mut push = iso::connect(&ctx, SocketType::Push, &a.endpoint)?;
            iso::send(&mut push, a.size, a.count)?;
            // Dropping the socket and the context delivers what is queued (LINGER -1).
            drop(push);
            drop(ctx);
            Ok(())
        },
    )
}

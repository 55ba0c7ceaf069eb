//! libzmq (the `zmq` crate) twin of isomq's tool, for interop checks.
//!
//! `remote_thr <connect-to> <message-size> <message-count>`: sends on a PUSH socket, as
//! libzmq's perf/remote_thr does; returns once everything is delivered (LINGER).

use std::process::ExitCode;

use isomq_benches::{args, libzmq};
use zmq::SocketType;

fn main() -> ExitCode {
    args::run(
        "remote_thr <connect-to> <message-size> <message-count>",
        args::remote_args(),
        |a| {
            let ctx = libzmq::context(args::io_threads())?;
            let push = libzmq::connect(&ctx, SocketType::PUSH, &a.endpoint)?;
            libzmq::send(&push, a.size, a.count)?;
            // Dropping the socket and the context delivers what is queued (LINGER -1).
            drop(push);
            drop(ctx);
            Ok(())
        },
    )
}

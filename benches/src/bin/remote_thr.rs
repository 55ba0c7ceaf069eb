//! `remote_thr [--zero-copy] <connect-to> <message-size> <message-count>`: sends on a PUSH
//! socket, as libzmq's perf/remote_thr does; returns once everything is delivered (LINGER).
//! `--zero-copy` sends one shared payload (`Msg::from_bytes`) instead of a copy per message.

use std::process::ExitCode;

use isomq::SocketType;
use isomq_benches::{args, iso};

fn main() -> ExitCode {
    args::run(
        "remote_thr [--zero-copy] <connect-to> <message-size> <message-count>",
        args::remote_args(),
        |a| {
            let ctx = iso::context(args::io_threads());
            let mut push = iso::connect(&ctx, SocketType::Push, &a.endpoint)?;
            if a.zero_copy {
                iso::send_shared(&mut push, a.size, a.count)?;
            } else {
                iso::send(&mut push, a.size, a.count)?;
            }
            // Dropping the socket and the context delivers what is queued (LINGER -1).
            drop(push);
            drop(ctx);
            Ok(())
        },
    )
}

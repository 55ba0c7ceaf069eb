//! `local_thr <bind-to> <message-size> <message-count>`: receives on a PULL socket and prints
//! the throughput, as libzmq's perf/local_thr does. Pair it with remote_thr (isomq's or
//! libzmq's). `ISOMQ_IO_THREADS` sets the I/O threads (default 1; 0: inline I/O). Once
//! bound it prints `bound <endpoint>` on stderr, with the port the system chose for a
//! wildcard (`tcp://127.0.0.1:*`), so that a script can connect its sender to it
//! (`benches/syscalls.sh`).

use std::process::ExitCode;

use isomq::SocketType;
use isomq_benches::{args, iso, report};

fn main() -> ExitCode {
    args::run(
        "local_thr <bind-to> <message-size> <message-count>",
        args::remote_args(),
        |a| {
            let ctx = iso::context(args::io_threads());
            let (mut pull, bound) = iso::bind(&ctx, SocketType::Pull, &a.endpoint)?;
            eprintln!("bound {bound}");
            let elapsed = iso::receive(&mut pull, a.size, a.count)?;
            report::print_thr_header(a.size, a.count);
            report::print_thr_result(a.size, a.count, elapsed);
            Ok(())
        },
    )
}

//! `inproc_thr <message-size> <message-count>`: PUSH in a second thread to PULL over inproc,
//! printing the throughput, as libzmq's perf/inproc_thr does.

use std::process::ExitCode;

use isomq_benches::security::Security;
use isomq_benches::{args, iso, report, Payload};

fn main() -> ExitCode {
    args::run(
        "inproc_thr <message-size> <message-count>",
        args::inproc_args(),
        |(size, count)| {
            report::print_thr_header(size, count);
            let elapsed = iso::thr(
                "inproc://thr_test",
                size,
                count,
                args::io_threads(),
                None,
                Security::Null,
                Payload::Copied,
            )?;
            report::print_thr_result(size, count, elapsed);
            Ok(())
        },
    )
}

//! Command lines of the perf tools, parsed as libzmq's tools do (positional, `usage:` on error).

use std::process::ExitCode;

use crate::BoxError;

/// `<endpoint> <message-size> <count>` of local_thr, remote_thr, local_lat, remote_lat.
#[derive(Debug, Clone)]
pub struct RemoteArgs {
    /// Where to bind or connect.
    pub endpoint: String,
    /// Payload size in bytes.
    pub size: usize,
    /// Messages (throughput) or round trips (latency).
    pub count: usize,
    /// `--zero-copy` before the arguments: send one shared payload (`Msg::from_bytes`)
    /// instead of a copy per message (isomq's remote_thr only).
    pub zero_copy: bool,
}

/// Parses `<endpoint> <size> <count>`; `None` means print the usage line.
pub fn remote_args() -> Option<RemoteArgs> {
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    let zero_copy = argv.first().is_some_and(|a| a == "--zero-copy");
    if zero_copy {
        argv.remove(0);
    }
    let [endpoint, size, count] = argv.as_slice() else {
        return None;
    };
    Some(RemoteArgs {
        endpoint: endpoint.clone(),
        size: size.parse().ok()?,
        count: count.parse().ok().filter(|&n| n > 0)?,
        zero_copy,
    })
}

/// Parses `<size> <count>` of inproc_thr and inproc_lat.
pub fn inproc_args() -> Option<(usize, usize)> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let [size, count] = argv.as_slice() else {
        return None;
    };
    Some((size.parse().ok()?, count.parse().ok().filter(|&n| n > 0)?))
}

/// Runs a tool body: prints `usage` when the arguments do not parse, the error on failure.
pub fn run<A>(
    usage: &str,
    args: Option<A>,
    body: impl FnOnce(A) -> Result<(), BoxError>,
) -> ExitCode {
    let Some(args) = args else {
        println!("usage: {usage}");
        return ExitCode::from(1);
    };
    match body(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `ISOMQ_IO_THREADS`, default 1; 0 gives isomq's tools inline I/O (`iso::context`) and
/// libzmq's one I/O thread (`libzmq::context`).
pub fn io_threads() -> usize {
    std::env::var("ISOMQ_IO_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

//! One measurement of one implementation over a fresh endpoint: the unit every comparison
//! (`compare`, `lat_rounds`) is made of, both sides in this process.

use crate::compare::Impl;
use crate::pin::Pin;
use crate::security::Security;
use crate::transport::Transport;
use crate::{iso, libzmq, raw, report, BoxError, Payload};

/// Throughput in msg/s of `count` messages of `size` bytes, each payload copied (as
/// `remote_thr`), counted at the receiver.
pub fn thr_of(
    imp: Impl,
    t: Transport,
    size: usize,
    count: usize,
    io_threads: usize,
    pin: Option<Pin>,
    sec: Security,
) -> Result<f64, BoxError> {
    let ep = t.bind_endpoint();
    let elapsed = match imp {
        Impl::Isomq => iso::thr(&ep, size, count, io_threads, pin, sec, Payload::Copied)?,
        Impl::Libzmq => libzmq::thr(&ep, size, count, io_threads, pin, sec, Payload::Copied)?,
        Impl::Raw => raw::thr(t, size, count)?,
    };
    t.cleanup(&ep);
    Ok(report::throughput(count, elapsed))
}

/// One-way latency in µs over `roundtrips` REQ ↔ REP round trips (raw: one echo thread).
pub fn lat_of(
    imp: Impl,
    t: Transport,
    size: usize,
    roundtrips: usize,
    sec: Security,
) -> Result<f64, BoxError> {
    lat_with(imp, t, size, roundtrips, 1, sec)
}

/// [`lat_of`] with `io_threads` I/O threads per side for isomq and libzmq (for isomq, 0 is
/// inline I/O: each socket drives its own connection).
pub fn lat_with(
    imp: Impl,
    t: Transport,
    size: usize,
    roundtrips: usize,
    io_threads: usize,
    sec: Security,
) -> Result<f64, BoxError> {
    let ep = t.bind_endpoint();
    let elapsed = match imp {
        Impl::Isomq => iso::lat(&ep, size, roundtrips, io_threads, sec)?,
        Impl::Libzmq => libzmq::lat(&ep, size, roundtrips, io_threads.max(1), sec)?,
        Impl::Raw => raw::lat(t, size, roundtrips)?,
    };
    t.cleanup(&ep);
    Ok(report::latency_us(roundtrips, elapsed))
}

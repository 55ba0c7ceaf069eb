//! The output lines of libzmq's perf tools, computed the same way.

use std::time::Duration;

/// libzmq measures with a microsecond stopwatch and never divides by zero.
fn micros(elapsed: Duration) -> f64 {
    (elapsed.as_micros().max(1)) as f64
}

/// Messages per second for `count` messages received in `elapsed` (local_thr.cpp).
pub fn throughput(count: usize, elapsed: Duration) -> f64 {
    count as f64 / micros(elapsed) * 1_000_000.0
}

/// One-way latency in µs: a round trip is two messages (remote_lat.cpp).
pub fn latency_us(roundtrips: usize, elapsed: Duration) -> f64 {
    micros(elapsed) / (roundtrips as f64 * 2.0)
}

/// The header lines local_thr and inproc_thr print.
pub fn print_thr_header(size: usize, count: usize) {
    println!("message size: {size} [B]");
    println!("message count: {count}");
}

/// The result lines of local_thr and inproc_thr.
pub fn print_thr_result(size: usize, count: usize, elapsed: Duration) {
    let thr = throughput(count, elapsed);
    let megabits = thr * size as f64 * 8.0 / 1_000_000.0;
    println!("mean throughput: {} [msg/s]", thr as u64);
    println!("mean throughput: {megabits:.3} [Mb/s]");
}

/// The lines remote_lat and inproc_lat print.
pub fn print_lat(size: usize, roundtrips: usize, elapsed: Duration) {
    println!("message size: {size} [B]");
    println!("roundtrip count: {roundtrips}");
    println!(
        "average latency: {:.3} [us]",
        latency_us(roundtrips, elapsed)
    );
}

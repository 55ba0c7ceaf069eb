//! Pacing and small random choices. A soak is about time, not speed: each sender is held
//! to a rate, so the machine's other load does not decide what the run exercises, and the
//! waits here are that rate, never a way to order events.

use std::time::{Duration, Instant};

/// Holds a sender to `rate` messages per second.
#[derive(Debug)]
pub struct Pacer {
    rate: f64,
    start: Instant,
    sent: u64,
}

impl Pacer {
    /// A pacer of `rate` messages per second (at least one).
    pub fn new(rate: u64) -> Pacer {
        Pacer {
            rate: rate.max(1) as f64,
            start: Instant::now(),
            sent: 0,
        }
    }

    /// Waits until the next message is due (at most 10 ms at a time: the caller looks at
    /// its stop flag in between); returns whether it is due now.
    pub fn due(&mut self) -> bool {
        let at = self.start + Duration::from_secs_f64(self.sent as f64 / self.rate);
        let now = Instant::now();
        if at <= now {
            return true;
        }
        std::thread::sleep((at - now).min(Duration::from_millis(10)));
        Instant::now() >= at
    }

    /// One message went.
    pub fn sent(&mut self) {
        self.sent += 1;
    }
}

/// A xorshift generator: the soak's choices (stream lengths, which relay to fault) need
/// variety, not quality.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded from the clock and `salt`.
    pub fn new(salt: u64) -> Rng {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Rng((t ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1)
    }

    /// A number in `0..n` (`n` at least 1).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// Sleeps `d` in steps of at most 50 ms, returning early once `stop` says so.
pub fn sleep_unless(d: Duration, stop: impl Fn() -> bool) {
    let end = Instant::now() + d;
    while !stop() {
        let now = Instant::now();
        if now >= end {
            return;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(50)));
    }
}

//! A reading of the monotonic clock as a count of nanoseconds, and when a send began: what
//! inline I/O's send path compares (docs/architecture.md §5.5).
//!
//! Why not `Instant`: an inline send reads the clock once and compares it three times, and
//! with `Instant` the comparisons (normalised `timespec` subtractions returning a
//! `Duration`) cost as much as the reading; as one `u64` each is a subtraction
//! (benches/RESULTS.md, "twelfth stop").

use std::time::Duration;

use super::clock;

/// Nanoseconds of `CLOCK_MONOTONIC`, the clock `Instant` reads on this platform (through
/// the time-stamp counter where the kernel reads it that way: `clock.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Stamp(u64);

impl Stamp {
    /// Now: through the time-stamp counter where the kernel reads the clock that way
    /// (`clock.rs`), otherwise `clock_gettime`. Were the clock not there, time would stand
    /// still, and every send would be one of a burst, written at the next turn.
    pub(crate) fn now() -> Stamp {
        Stamp(clock::now_nanos())
    }

    /// The reading as nanoseconds, to be kept in an atomic.
    pub(crate) fn as_nanos(self) -> u64 {
        self.0
    }

    /// A reading kept with [`as_nanos`](Self::as_nanos).
    pub(crate) fn from_nanos(nanos: u64) -> Stamp {
        Stamp(nanos)
    }

    /// Whether at least `d` has passed from `earlier` to this reading (not when `earlier`
    /// is later).
    pub(crate) fn at_least(self, earlier: Stamp, d: Duration) -> bool {
        u128::from(self.0.saturating_sub(earlier.0)) >= d.as_nanos()
    }

    /// The time from `earlier` to this reading; zero when `earlier` is later.
    pub(crate) fn since(self, earlier: Stamp) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// This reading moved `d` later.
    pub(crate) fn after(self, d: Duration) -> Stamp {
        Stamp(
            self.0
                .saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        )
    }

    /// What is left of `d` from `earlier` to this reading; zero once it has passed.
    pub(crate) fn left_of(self, earlier: Stamp, d: Duration) -> Duration {
        d.saturating_sub(self.since(earlier))
    }
}

/// When a send began, and whether the reactor turned just before it (see
/// `InlineHost::before_send`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SendStart {
    pub(crate) at: Stamp,
    pub(crate) polled: bool,
}

impl SendStart {
    /// A send beginning now, after a turn (`polled`) or without one.
    pub(crate) fn now(polled: bool) -> SendStart {
        SendStart {
            at: Stamp::now(),
            polled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The readings follow `Instant`'s clock: what passes between two is at least what a
    /// sleep between them took, and never negative.
    #[test]
    fn readings_measure_what_passes() {
        let a = Stamp::now();
        std::thread::sleep(Duration::from_millis(2));
        let b = Stamp::now();
        assert!(b.at_least(a, Duration::from_millis(2)));
        assert!(!a.at_least(b, Duration::from_nanos(1)));
        assert_eq!(b.left_of(a, Duration::from_millis(1)), Duration::ZERO);
        assert!(a.left_of(b, Duration::from_millis(1)) == Duration::from_millis(1));
    }
}

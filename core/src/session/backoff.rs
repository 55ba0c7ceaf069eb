//! When to try a connection again: libzmq's reconnect rule, the same on every host.

use std::time::Duration;

use crate::options::Options;

/// The reconnect schedule of one connecting session (docs/wire.md §7.3).
///
/// - RECONNECT_IVL `None`: never reconnect.
/// - RECONNECT_IVL_MAX zero (the default): every delay is the interval plus a random jitter
///   in `[0, interval)`, so that many peers cut off at once do not come back in lockstep.
/// - RECONNECT_IVL_MAX above zero: the first delay is the interval, each later one doubles,
///   up to the maximum; no jitter.
///
/// A connection that completes its handshake starts the schedule over ([`Backoff::reset`]),
/// as libzmq makes a fresh connecter after each established connection.
#[derive(Debug, Clone)]
pub struct Backoff {
    ivl: Option<Duration>,
    max: Duration,
    /// The delay given last in this run of failures; `None` at the start of a run.
    current: Option<Duration>,
}

impl Backoff {
    /// The schedule RECONNECT_IVL and RECONNECT_IVL_MAX of `options` describe.
    pub fn new(options: &Options) -> Backoff {
        Backoff {
            ivl: options.reconnect_ivl,
            max: options.reconnect_ivl_max,
            current: None,
        }
    }

    /// The delay before the next attempt, or `None` when reconnection is off. `random` is a
    /// random number from the host (the core has no source of its own).
    pub fn next_delay(&mut self, random: u64) -> Option<Duration> {
        let ivl = self.ivl?;
        if self.max.is_zero() {
            let ivl_ms = u64::try_from(ivl.as_millis()).unwrap_or(u64::MAX);
            let jitter = if ivl_ms == 0 { 0 } else { random % ivl_ms };
            return Some(ivl.saturating_add(Duration::from_millis(jitter)));
        }
        let next = match self.current {
            None => ivl,
            Some(d) => d.saturating_mul(2),
        }
        .min(self.max);
        self.current = Some(next);
        Some(next)
    }

    /// A connection got through: the next failure starts from the interval again.
    pub fn reset(&mut self) {
        self.current = None;
    }
}

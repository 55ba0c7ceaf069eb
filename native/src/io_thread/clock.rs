//! `CLOCK_MONOTONIC` as [`Stamp::now`](super::stamp::Stamp::now) reads it: through the
//! CPU's time-stamp counter where the kernel itself reads the clock that way (x86_64),
//! otherwise with `clock_gettime`.
//!
//! Why: an inline 16 B send reads the clock once, and `clock_gettime` (the vDSO) took 14–16 %
//! of its time here, 20–22 ns against 9 ns for `rdtsc` (benches/RESULTS.md, "fifteenth
//! stop"). The counter is used only when the kernel's clocksource is `tsc`: the kernel
//! then checked that it is invariant and the same on every CPU, and reads it for
//! `CLOCK_MONOTONIC` too. Otherwise (another clocksource, another architecture) the clock
//! is read as before. `quanta` does the same but trusts CPUID alone, which a virtual
//! machine may report whatever its host does, and calibrates for up to 200 ms at first use.

use std::sync::OnceLock;
use std::time::Duration;

/// `CLOCK_MONOTONIC` now, in nanoseconds (0 if the clock could not be read: it is always
/// there).
pub(super) fn now_nanos() -> u64 {
    Tsc::get()
        .and_then(Tsc::now_nanos)
        .or_else(monotonic_nanos)
        .unwrap_or(0)
}

/// How long the calibration compares the counter with `CLOCK_MONOTONIC`: the pair at each
/// end is right to a few tens of nanoseconds (see [`pair`]), so the rate is right to about
/// 10^-4, a microsecond over the longest interval a stamp is compared over (10 ms). Spent
/// once per process, at its first reading (its first inline socket).
const CALIBRATION: Duration = Duration::from_millis(1);

/// Clock readings tried for each end of the calibration (see [`pair`]).
const PAIR_TRIES: usize = 8;

/// Where the kernel names the clocksource it reads `CLOCK_MONOTONIC` with.
const CLOCKSOURCE: &str = "/sys/devices/system/clocksource/clocksource0/current_clocksource";

/// A counter reading and the `CLOCK_MONOTONIC` nanoseconds it stands for, and the
/// counter's rate: nanoseconds per tick, times 2^32.
#[derive(Debug)]
struct Tsc {
    base_ticks: u64,
    base_nanos: u64,
    nanos_per_tick_q32: u64,
}

impl Tsc {
    /// The calibrated counter, made at the first call; `None` where it is not used.
    fn get() -> Option<&'static Tsc> {
        static TSC: OnceLock<Option<Tsc>> = OnceLock::new();
        TSC.get_or_init(Tsc::calibrate).as_ref()
    }

    /// `CLOCK_MONOTONIC` now, in nanoseconds; `None` when the counter reads less than at
    /// the calibration (it was reset, as some machines do in a suspend). The clock is then
    /// read with `clock_gettime`: the same clock, to the calibration's error (about 10^-4
    /// of the time since), where wrapping the counter's difference would have made every
    /// later stamp the same, and a burst held until its bytes filled.
    fn now_nanos(&self) -> Option<u64> {
        let ticks = read().checked_sub(self.base_ticks)?;
        let nanos = (u128::from(ticks) * u128::from(self.nanos_per_tick_q32)) >> 32;
        self.base_nanos.checked_add(u64::try_from(nanos).ok()?)
    }

    fn calibrate() -> Option<Tsc> {
        if !cfg!(target_arch = "x86_64") {
            return None;
        }
        let source = std::fs::read_to_string(CLOCKSOURCE).ok()?;
        if source.trim() != "tsc" {
            return None;
        }
        let (ticks0, nanos0) = pair()?;
        let (ticks1, nanos1) = loop {
            let (ticks, nanos) = pair()?;
            if nanos.saturating_sub(nanos0) >= CALIBRATION.as_nanos() as u64 {
                break (ticks, nanos);
            }
            std::hint::spin_loop();
        };
        let ticks = ticks1.checked_sub(ticks0).filter(|&t| t > 0)?;
        let q32 = (u128::from(nanos1 - nanos0) << 32) / u128::from(ticks);
        Some(Tsc {
            base_ticks: ticks1,
            base_nanos: nanos1,
            nanos_per_tick_q32: u64::try_from(q32).ok().filter(|&q| q > 0)?,
        })
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds, read with `clock_gettime`; `None` if it failed (the
/// clock is always there).
fn monotonic_nanos() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call, the only
    // memory clock_gettime touches.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return None;
    }
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u64::try_from(ts.tv_nsec).ok()?;
    Some(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
}

/// A counter reading and the `CLOCK_MONOTONIC` reading it stands for: of a few clock
/// readings, the one whose two surrounding counter readings are closest (an interrupt
/// or a preemption between them would make the pair wrong by as long), paired with their
/// midpoint.
fn pair() -> Option<(u64, u64)> {
    let mut best: Option<(u64, u64, u64)> = None;
    for _ in 0..PAIR_TRIES {
        let before = read();
        let nanos = monotonic_nanos()?;
        let after = read();
        let window = after.wrapping_sub(before);
        if best.is_none_or(|(w, _, _)| window < w) {
            best = Some((window, before.wrapping_add(window / 2), nanos));
        }
    }
    best.map(|(_, ticks, nanos)| (ticks, nanos))
}

#[cfg(target_arch = "x86_64")]
fn read() -> u64 {
    // SAFETY: `rdtsc` reads a counter register; it touches no memory, and every x86_64 CPU
    // has it (`Tsc::get` only uses its readings where the kernel reads it too).
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
fn read() -> u64 {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where it is used, the counter follows `CLOCK_MONOTONIC`: over 20 ms the two agree
    /// within 0.1 %, and the counter's reading lies between two of the clock's.
    #[test]
    fn the_counter_follows_the_monotonic_clock() {
        let Some(tsc) = Tsc::get() else {
            eprintln!("the kernel's clocksource is not tsc: the counter is not used");
            return;
        };
        let Some(before) = super::monotonic_nanos() else {
            return;
        };
        let a = tsc.now_nanos().unwrap_or(0);
        std::thread::sleep(Duration::from_millis(20));
        let b = tsc.now_nanos().unwrap_or(0);
        let after = super::monotonic_nanos().unwrap_or(u64::MAX);
        let (clock, counter) = (after - before, b - a);
        assert!(
            counter.abs_diff(clock) < clock / 1000 + 20_000,
            "counter {counter} ns against clock {clock} ns"
        );
        assert!(
            a + 10_000 >= before && b <= after + 10_000,
            "{before} {a} {b} {after}"
        );
    }
}

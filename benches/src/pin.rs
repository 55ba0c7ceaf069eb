//! Pinning a thread, and every thread it starts, to one CPU.
//!
//! On a machine with fewer cores than busy threads (two cores here, four threads in a tcp
//! throughput run: each side's application thread and I/O thread), where the scheduler puts
//! which thread decides much of a run's result: the same isomq tcp 16 B run measured 4.1 M
//! and 7.4 M msg/s back to back. With each side pinned to a core of its own, as an operator
//! would place two processes, runs repeat within a few per cent. Threads inherit their
//! creator's CPU set, so a side that pins its thread before its context starts its I/O
//! threads (isomq and libzmq both start them lazily, from the thread that first needs them)
//! has all its threads on that core.

use crate::BoxError;

/// Where each side of a throughput run runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pin {
    /// The receiving side's CPU.
    pub receiver: usize,
    /// The sending side's CPU.
    pub sender: usize,
}

/// Restricts the calling thread (and the threads it starts from now on) to `cpu`.
///
/// # Errors
/// `cpu` is out of range or not available to this process.
pub fn pin_current_thread(cpu: usize) -> Result<(), BoxError> {
    // CPU_SET would write past the set for a larger index.
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(format!("cpu {cpu} is out of range").into());
    }
    // SAFETY: cpu_set_t is plain data, for which all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` is below CPU_SETSIZE (checked above), so the bit is inside `set`.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: pid 0 is the calling thread; `set` is a valid cpu_set_t of the size given.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if rc != 0 {
        return Err(format!(
            "cannot pin to cpu {cpu}: {}",
            std::io::Error::last_os_error()
        )
        .into());
    }
    Ok(())
}

/// Runs `f` on a new thread pinned to `cpu` (the caller's own CPU set is left alone).
///
/// # Errors
/// Pinning fails, or `f` fails or panics.
pub fn on_cpu<T: Send>(
    cpu: usize,
    f: impl FnOnce() -> Result<T, BoxError> + Send,
) -> Result<T, BoxError> {
    std::thread::scope(|s| {
        s.spawn(|| {
            pin_current_thread(cpu)?;
            f()
        })
        .join()
        .map_err(|_| BoxError::from("pinned thread panicked"))?
    })
}

/// Runs a two-sided measurement: `f(sender_cpu)` on this thread, or, with `pin`, on a new
/// thread pinned to the receiver's CPU and told where its sending side goes.
///
/// # Errors
/// Pinning fails, or `f` fails or panics.
pub fn two_sided<T: Send>(
    pin: Option<Pin>,
    f: impl FnOnce(Option<usize>) -> Result<T, BoxError> + Send,
) -> Result<T, BoxError> {
    match pin {
        Some(p) => on_cpu(p.receiver, || f(Some(p.sender))),
        None => f(None),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_thread_and_its_children_run_on_that_cpu() {
        let on = |_: ()| {
            // SAFETY: sched_getcpu has no preconditions.
            unsafe { libc::sched_getcpu() }
        };
        let (mine, child) = on_cpu(0, || {
            let child = std::thread::spawn(move || on(())).join().unwrap();
            Ok((on(()), child))
        })
        .unwrap();
        assert_eq!((mine, child), (0, 0));
        assert!(pin_current_thread(libc::CPU_SETSIZE as usize).is_err());
    }
}

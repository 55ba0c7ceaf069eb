//! What a process costs: CPU time (`getrusage`), resident memory (`/proc/self/status`), and
//! the open-file limit raised for thousands of connections.

use std::time::Duration;

use crate::BoxError;

/// User plus system CPU time of every thread of this process so far.
pub fn cpu_time() -> Result<Duration, BoxError> {
    // SAFETY: rusage is plain data, for which all zeroes is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid rusage for the call to fill.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    Ok(tv(ru.ru_utime) + tv(ru.ru_stime))
}

/// A field of `/proc/self/status` in bytes (`VmRSS`, `VmHWM`: given there in kB).
pub fn status_bytes(field: &str) -> Result<u64, BoxError> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .ok_or_else(|| format!("no {field} in /proc/self/status"))?;
    let kb: u64 = line
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .map_err(|e| format!("{field}: {e}"))?;
    Ok(kb * 1024)
}

/// Resident memory of this process now.
pub fn rss() -> Result<u64, BoxError> {
    status_bytes("VmRSS")
}

/// Raises the soft limit of open files to the hard limit; returns the new limit.
pub fn raise_nofile() -> Result<u64, BoxError> {
    // SAFETY: rlimit is plain data, for which all zeroes is a valid value.
    let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: `lim` is a valid rlimit for the call to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: `lim` is a valid rlimit, its soft limit within its hard limit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(lim.rlim_cur)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_memory_and_cpu_time() {
        assert!(rss().unwrap() > 0);
        assert!(status_bytes("VmHWM").unwrap() >= rss().unwrap() / 2);
        let _ = cpu_time().unwrap();
        assert!(status_bytes("NoSuchField").is_err());
    }
}

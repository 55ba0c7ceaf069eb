//! Process memory for the idle-connection harness (`conn_memory`): the resident set size
//! as the kernel counts it, and the file-descriptor limit that thousands of connections need.

use crate::BoxError;

/// Resident set size of this process in bytes: the second field of `/proc/self/statm`
/// (resident pages) times the page size.
pub fn rss_bytes() -> Result<u64, BoxError> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .ok_or("/proc/self/statm has no resident field")?
        .parse()?;
    Ok(pages * page_size())
}

fn page_size() -> u64 {
    // SAFETY: sysconf reads a system constant; it has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).ok().filter(|&s| s > 0).unwrap_or(4096)
}

/// Raises the soft RLIMIT_NOFILE so that `need` descriptors fit; fails when the hard limit
/// is below `need`.
pub fn raise_fd_limit(need: u64) -> Result<(), BoxError> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit for getrlimit to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    if lim.rlim_cur >= need {
        return Ok(());
    }
    if lim.rlim_max < need {
        return Err(format!(
            "RLIMIT_NOFILE hard limit {} is below the {need} descriptors needed",
            lim.rlim_max
        )
        .into());
    }
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: `lim` is a valid rlimit; setrlimit only reads it.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(())
}

/// KiB per connection of a growth of `after - before` bytes over `n` connections (negative
/// when the process shrank).
pub fn kib_per_conn(before: u64, after: u64, n: usize) -> f64 {
    // Exact for any realistic size (below 2^53 bytes).
    (after as f64 - before as f64) / 1024.0 / n.max(1) as f64
}

//! What each thread of this process did over a stretch of time, read from
//! `/proc/self/task/*`: the CPU it last ran on, its time running and waiting for a CPU, its
//! migrations and context switches, and its read and write system calls. A snapshot reads
//! files and nothing else, so taking one before and after a run does not disturb the
//! scheduler the way a sampler or `perf` does (with either running, the placement under
//! study did not happen: benches/RESULTS.md, "nineteenth stop").

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::BoxError;

/// One thread's counters at one moment (or, from [`since`], over a stretch).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThreadStats {
    /// Its name (`comm`).
    pub name: String,
    /// The CPU it last ran on (at the later snapshot, for a difference).
    pub cpu: i64,
    /// Time on a CPU, ms.
    pub run_ms: f64,
    /// Time runnable but waiting for a CPU, ms.
    pub wait_ms: f64,
    /// Moves from one CPU to another.
    pub migrations: u64,
    /// Switches away because it blocked (a sleep).
    pub voluntary: u64,
    /// Switches away because it was preempted.
    pub involuntary: u64,
    /// read-like system calls (`syscr`).
    pub reads: u64,
    /// write-like system calls (`syscw`).
    pub writes: u64,
    /// Bytes those reads returned.
    pub read_bytes: u64,
    /// Bytes those writes took.
    pub write_bytes: u64,
}

/// The counters of every thread of this process now, by thread id.
pub fn snapshot() -> Result<BTreeMap<i64, ThreadStats>, BoxError> {
    let mut all = BTreeMap::new();
    for entry in fs::read_dir("/proc/self/task")? {
        let entry = entry?;
        let Ok(tid) = entry.file_name().to_string_lossy().parse::<i64>() else {
            continue;
        };
        // A thread that ended since the listing has no files left: skip it.
        if let Ok(stats) = read_thread(&entry.path()) {
            all.insert(tid, stats);
        }
    }
    Ok(all)
}

fn read_thread(dir: &Path) -> Result<ThreadStats, BoxError> {
    let name = fs::read_to_string(dir.join("comm"))?.trim().to_owned();
    let stat = fs::read_to_string(dir.join("stat"))?;
    // Fields after the name, which may hold spaces and parentheses: the last ')' ends it.
    let after_name = stat.rfind(')').map_or("", |i| &stat[i + 1..]);
    // `processor` is field 39 of stat(5), the 37th after the name.
    let cpu = after_name
        .split_whitespace()
        .nth(36)
        .and_then(|f| f.parse().ok())
        .unwrap_or(-1);
    // schedstat, sched and io exist only with the kernel options behind them
    // (SCHED_INFO, SCHED_DEBUG, TASK_IO_ACCOUNTING): missing, their counters read 0.
    let schedstat = fs::read_to_string(dir.join("schedstat")).unwrap_or_default();
    let mut ns = schedstat
        .split_whitespace()
        .map(|f| f.parse::<f64>().unwrap_or(0.0));
    let run_ms = ns.next().unwrap_or(0.0) / 1e6;
    let wait_ms = ns.next().unwrap_or(0.0) / 1e6;
    let sched = fs::read_to_string(dir.join("sched")).unwrap_or_default();
    let io = fs::read_to_string(dir.join("io")).unwrap_or_default();
    let status = fs::read_to_string(dir.join("status"))?;
    Ok(ThreadStats {
        name,
        cpu,
        run_ms,
        wait_ms,
        migrations: field(&sched, "se.nr_migrations"),
        voluntary: field(&status, "voluntary_ctxt_switches"),
        involuntary: field(&status, "nonvoluntary_ctxt_switches"),
        reads: field(&io, "syscr"),
        writes: field(&io, "syscw"),
        read_bytes: field(&io, "rchar"),
        write_bytes: field(&io, "wchar"),
    })
}

/// The integer after `key` and a colon in a `key: value` listing, 0 when absent.
fn field(text: &str, key: &str) -> u64 {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim() == key)
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
}

/// What each thread of `after` did since `before` (a thread new since then counts from
/// zero); the CPU is the later one.
pub fn since(
    before: &BTreeMap<i64, ThreadStats>,
    after: &BTreeMap<i64, ThreadStats>,
) -> BTreeMap<i64, ThreadStats> {
    let zero = ThreadStats::default();
    after
        .iter()
        .map(|(&tid, a)| {
            let b = before.get(&tid).unwrap_or(&zero);
            let d = ThreadStats {
                name: a.name.clone(),
                cpu: a.cpu,
                run_ms: a.run_ms - b.run_ms,
                wait_ms: a.wait_ms - b.wait_ms,
                migrations: a.migrations.saturating_sub(b.migrations),
                voluntary: a.voluntary.saturating_sub(b.voluntary),
                involuntary: a.involuntary.saturating_sub(b.involuntary),
                reads: a.reads.saturating_sub(b.reads),
                writes: a.writes.saturating_sub(b.writes),
                read_bytes: a.read_bytes.saturating_sub(b.read_bytes),
                write_bytes: a.write_bytes.saturating_sub(b.write_bytes),
            };
            (tid, d)
        })
        .collect()
}

/// This thread's id (`gettid`), to name it in a snapshot.
pub fn current_tid() -> i64 {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_thread_shows_its_time_and_its_sleeps() {
        let before = snapshot().unwrap();
        let me = current_tid();
        assert!(before.contains_key(&me));
        let t0 = std::time::Instant::now();
        while t0.elapsed() < std::time::Duration::from_millis(20) {
            std::hint::spin_loop();
        }
        for _ in 0..3 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let d = since(&before, &snapshot().unwrap());
        let mine = &d[&me];
        // Three sleeps, three switches; 20 ms of spinning shows as CPU time where the
        // kernel keeps schedstat.
        if Path::new("/proc/self/schedstat").exists() {
            assert!(mine.run_ms > 1.0, "{mine:?}");
        }
        assert!(mine.voluntary >= 3, "{mine:?}");
        assert!(mine.cpu >= 0, "{mine:?}");
    }

    #[test]
    fn fields_are_read_by_their_whole_key() {
        let text = "se.nr_migrations  :   7\nvoluntary_ctxt_switches:\t4\nnonvoluntary_ctxt_switches:\t2\n";
        assert_eq!(field(text, "se.nr_migrations"), 7);
        assert_eq!(field(text, "voluntary_ctxt_switches"), 4);
        assert_eq!(field(text, "nonvoluntary_ctxt_switches"), 2);
        assert_eq!(field(text, "ctxt_switches"), 0);
    }
}

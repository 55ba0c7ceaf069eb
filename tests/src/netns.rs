//! Two network namespaces joined by a veth pair: a private network in which fault tests
//! meet the kernel's real behaviour (a link that goes down, a host that stops answering)
//! without touching the machine's own interfaces.
//!
//! Side A is `10.77.0.1/24` on `va`, side B `10.77.0.2/24` on `vb`. Every pair has
//! names of its own (the test's pid and a counter), so tests run side by side, and the
//! namespaces (with their veth) are deleted when the [`NetnsPair`] is dropped, on failure
//! too. A pair left behind by a run that was killed is deleted by the next run.
//!
//! Making namespaces needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2's `ip`.
//! Where they are missing, [`NetnsPair::new`] returns `None` after printing why, and the
//! test returns early: a developer's unprivileged `cargo test` skips these tests. With
//! `ISOMQ_REQUIRE_NETNS=1` in the environment (`scripts/test` sets it, and CI runs
//! `scripts/test` as root) it panics instead, so that a machine unable to run them fails
//! loudly rather than passing without testing anything.

use std::io::Write;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::PATIENCE;

/// Side A's address.
pub const ADDR_A: &str = "10.77.0.1";
/// Side B's address.
pub const ADDR_B: &str = "10.77.0.2";

/// The environment variable that turns "cannot make namespaces" from a skip into a failure.
pub const REQUIRE_VAR: &str = "ISOMQ_REQUIRE_NETNS";

/// Prefix of every namespace these tests make, for finding what a killed run left.
const PREFIX: &str = "isomq-t";

static NEXT: AtomicU64 = AtomicU64::new(0);

/// One end of the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `10.77.0.1` on `va`.
    A,
    /// `10.77.0.2` on `vb`.
    B,
}

/// Two namespaces and the veth between them; deleted on drop.
#[derive(Debug)]
pub struct NetnsPair {
    a: String,
    b: String,
}

/// Runs `ip` with `args`; the error names the command and what `ip` said.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `ip` (iproute2): {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "`ip {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    ))
}

/// Deletes the namespaces of earlier runs whose process is gone (a run killed before its
/// guards ran). Names are `isomq-t<pid>-<n><side>`.
fn delete_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = ip(&["netns", "delete", name]);
        }
    }
}

impl NetnsPair {
    /// Makes the pair, both links up. `None` (after printing a notice naming `test`) where
    /// namespaces cannot be made and [`REQUIRE_VAR`] is not set; see the module docs.
    pub fn new(test: &str) -> Option<NetnsPair> {
        match Self::try_new() {
            Ok(pair) => Some(pair),
            Err(why) if std::env::var_os(REQUIRE_VAR).is_some() => panic!(
                "{test}: cannot make network namespaces ({why}); these tests need root \
                 (CAP_SYS_ADMIN, CAP_NET_ADMIN) and iproute2, and {REQUIRE_VAR} says they \
                 must run here"
            ),
            Err(why) => {
                // Straight to stderr: the test harness captures `eprintln!` of passing
                // tests, and a skip must be seen.
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED {test}: cannot make network namespaces ({why}). Run as root, \
                     or through scripts/test, to run the fault tests on veth links."
                );
                None
            }
        }
    }

    fn try_new() -> Result<NetnsPair, String> {
        if NEXT.load(Ordering::Relaxed) == 0 {
            delete_stale();
        }
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let stem = format!("{PREFIX}{}-{n}", std::process::id());
        let a = format!("{stem}a");
        ip(&["netns", "add", &a])?;
        // From here on the guard deletes whatever was made, if a step fails.
        let mut pair = NetnsPair {
            a,
            b: String::new(),
        };
        let b = format!("{stem}b");
        ip(&["netns", "add", &b])?;
        pair.b = b;
        let (a, b) = (pair.a.as_str(), pair.b.as_str());
        ip(&[
            "-n", a, "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", b,
        ])?;
        ip(&["-n", a, "addr", "add", &format!("{ADDR_A}/24"), "dev", "va"])?;
        ip(&["-n", b, "addr", "add", &format!("{ADDR_B}/24"), "dev", "vb"])?;
        for (ns, dev) in [(a, "lo"), (b, "lo"), (a, "va"), (b, "vb")] {
            ip(&["-n", ns, "link", "set", dev, "up"])?;
        }
        pair.wait_carrier();
        Ok(pair)
    }

    /// The namespace's name, for `ip netns exec`.
    pub fn name(&self, side: Side) -> &str {
        match side {
            Side::A => &self.a,
            Side::B => &self.b,
        }
    }

    fn dev(side: Side) -> &'static str {
        match side {
            Side::A => "va",
            Side::B => "vb",
        }
    }

    /// Takes `side`'s end of the veth down: that side loses its route to the other (a
    /// connect fails at once with ENETUNREACH), the other keeps its route but the link
    /// has no carrier (what it sends is dropped: a connect waits for SYN retransmissions).
    /// Either way nothing crosses and nobody is told: a partition.
    pub fn link_down(&self, side: Side) {
        ip(&[
            "-n",
            self.name(side),
            "link",
            "set",
            Self::dev(side),
            "down",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Brings `side`'s end up again and waits until both ends have carrier.
    pub fn link_up(&self, side: Side) {
        ip(&["-n", self.name(side), "link", "set", Self::dev(side), "up"])
            .unwrap_or_else(|e| panic!("{e}"));
        self.wait_carrier();
    }

    /// Waits until both ends report `state UP` (veth raises carrier asynchronously; a
    /// packet sent before would be dropped and cost a retransmission timeout).
    fn wait_carrier(&self) {
        let start = Instant::now();
        for side in [Side::A, Side::B] {
            loop {
                let out = Command::new("ip")
                    .args(["-n", self.name(side), "-o", "link", "show", Self::dev(side)])
                    .output()
                    .expect("ip link show");
                if String::from_utf8_lossy(&out.stdout).contains("state UP") {
                    break;
                }
                assert!(start.elapsed() < PATIENCE, "veth carrier never came up");
                std::thread::yield_now();
            }
        }
    }

    /// Runs `f` on a thread inside `side`'s namespace and returns its result. Sockets and
    /// contexts made in `f` live there: a context's I/O threads start with its first socket
    /// and inherit the namespace of the thread that made it, and `bind` makes its listener
    /// on the calling thread, so connects, accepts and listeners all belong to `side`. The
    /// sockets returned can then be used from any thread.
    pub fn run_in<T: Send>(&self, side: Side, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.name(side));
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let ns =
                        std::fs::File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
                    enter(&ns);
                    f()
                })
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e))
        })
    }

    /// A command that runs `program` inside `side`'s namespace (`ip netns exec`, which
    /// execs it: the child's pid is the program's, for signals).
    pub fn command(&self, side: Side, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", self.name(side), program]);
        c
    }
}

/// Moves the calling thread into the network namespace `ns` refers to.
fn enter(ns: &std::fs::File) {
    use std::os::fd::AsRawFd;
    // SAFETY: setns only reads the descriptor, which `ns` keeps open for the call, and
    // changes this thread's network namespace; no memory is involved.
    let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end in it, and with it the other end.
        for name in [&self.a, &self.b] {
            if !name.is_empty() {
                let _ = ip(&["netns", "delete", name]);
            }
        }
    }
}

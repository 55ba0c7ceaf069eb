//! A doorbell: one byte in a Unix socket pair, rung by any thread and answered by the one
//! that watches the reading end (an I/O thread's poll, or an external event loop on a
//! socket's readiness fd, libzmq's ZMQ_FD).
//!
//! At most one byte is unread at a time: `armed` says a byte is in flight, so a thread
//! posting many commands writes once until the watcher has answered.
//!
//! Why a socket, not an eventfd (mio's `Waker`): Linux wakes a sleeper on a socket with a
//! *synchronous* wake-up hint (the waker is about to wait itself), which epoll passes on,
//! and the scheduler then tends to run the woken thread on the waker's core. A socket and
//! its I/O thread then share a core and its cache, the placement in which the message
//! hand-over is fastest (benches/RESULTS.md, "tcp 16 B unpinned"). An eventfd's wake-up
//! carries no such hint.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};

/// The ringing side, shared by everyone who wakes the watcher.
#[derive(Debug)]
pub(crate) struct Doorbell {
    tx: UnixStream,
    /// A byte was written and the watcher has not yet answered it.
    armed: AtomicBool,
}

impl Doorbell {
    /// A doorbell and the reading end to watch, both non-blocking.
    pub(crate) fn pair() -> io::Result<(Doorbell, UnixStream)> {
        let (tx, rx) = UnixStream::pair()?;
        tx.set_nonblocking(true)?;
        rx.set_nonblocking(true)?;
        let bell = Doorbell {
            tx,
            armed: AtomicBool::new(false),
        };
        Ok((bell, rx))
    }

    /// Makes the reading end readable, unless a byte is already unread. Called after
    /// whatever the watcher is to find (a queued command) is in place.
    pub(crate) fn ring(&self) -> io::Result<()> {
        // AcqRel: pairs with the swap in `answer`: a ring that finds the flag set comes
        // before that answer, and the watcher looks at its queue after it.
        if self.armed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        match (&self.tx).write(&[1]) {
            Ok(_) => Ok(()),
            // Full: bytes are unread, so the reading end is readable anyway.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Whether a byte is unread: the watcher has something to look at.
    pub(crate) fn is_rung(&self) -> bool {
        // Acquire: pairs with the swap in `ring`, as `answer`'s load does.
        self.armed.load(Ordering::Acquire)
    }

    /// Called by the watcher before it looks at its queue, when the bell may have rung
    /// (costs no syscall otherwise).
    ///
    /// Empties the reading end first, then disarms: a byte written after the emptying stays
    /// unread and makes the reading end readable again, and a ring after the disarming
    /// writes a new one. (Disarming first would let a ring's byte be emptied here while the
    /// flag stays set: no later ring would write again.) The swap reads the last ring's
    /// swap, so everything put in place before a ring that found the flag set is visible to
    /// the look that follows.
    ///
    /// One read empties it: while armed, rings write nothing, so at most one byte is unread.
    /// A read that fills the buffer (bytes left by a failed earlier answer) reads again; one
    /// that does not has emptied the socket, so no second read is spent learning WouldBlock
    /// (a syscall per wake-up of the I/O thread).
    pub(crate) fn answer(&self, mut rx: impl Read) {
        if !self.armed.load(Ordering::Acquire) {
            return;
        }
        let mut buf = [0u8; 64];
        while matches!(rx.read(&mut buf), Ok(n) if n == buf.len()) {}
        self.armed.swap(false, Ordering::AcqRel);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap (project rules).
pub(crate) mod tests {
    //! The doorbell against real threads and a real wait on the reading end; every wait has
    //! a deadline that only a lost ring reaches.

    use std::os::fd::{AsRawFd, RawFd};
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::thread;

    use super::*;

    /// What only a lost ring waits for, in milliseconds.
    const LIMIT_MS: i32 = 10_000;

    /// Whether `fd` becomes readable within `timeout_ms` (also the readiness-fd tests'
    /// wait).
    pub(crate) fn readable(fd: RawFd, timeout_ms: i32) -> bool {
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call, on an open descriptor.
        unsafe { libc::poll(&mut pfd, 1, timeout_ms) > 0 }
    }

    #[test]
    fn a_ring_makes_the_reader_readable_with_one_byte_until_answered() {
        let (bell, rx) = Doorbell::pair().unwrap();
        assert!(!readable(rx.as_raw_fd(), 0));
        for _ in 0..3 {
            bell.ring().unwrap();
        }
        // One byte for the three rings.
        let mut buf = [0u8; 8];
        assert_eq!((&rx).read(&mut buf).unwrap(), 1);
        bell.armed.store(false, Ordering::SeqCst);
        bell.ring().unwrap();
        assert!(readable(rx.as_raw_fd(), LIMIT_MS));
        bell.answer(&rx);
        assert!(!readable(rx.as_raw_fd(), 0));
        // Answered: the next ring writes again.
        bell.ring().unwrap();
        assert!(readable(rx.as_raw_fd(), LIMIT_MS));
    }

    /// The rule of `Doorbell::answer`: a watcher that sleeps until the reading end is
    /// readable sees every ring, however rings and answers interleave.
    #[test]
    fn no_ring_is_lost_between_an_answer_and_the_next_ring() {
        const POSTS: usize = 200_000;
        let (bell, rx) = Doorbell::pair().unwrap();
        let bell = Arc::new(bell);
        let posted = Arc::new(AtomicUsize::new(0));
        let poster = {
            let (bell, posted) = (bell.clone(), posted.clone());
            thread::spawn(move || {
                for _ in 0..POSTS {
                    posted.fetch_add(1, Ordering::Release);
                    bell.ring().unwrap();
                }
            })
        };
        let mut seen = 0;
        while seen < POSTS {
            // Posts are still to come, and each either writes a byte or finds one unread.
            assert!(
                readable(rx.as_raw_fd(), LIMIT_MS),
                "a ring was lost after {seen} posts"
            );
            bell.answer(&rx);
            seen = posted.load(Ordering::Acquire);
        }
        poster.join().unwrap();
    }
}

//! The waker that interrupts an I/O thread's poll: one byte written into a Unix socket pair
//! whose reading end the poll watches.
//!
//! Why not an eventfd (mio's `Waker`): Linux wakes a sleeper on a socket with a *synchronous*
//! wake-up hint (the waker is about to wait itself), which the poll passes on to the I/O
//! thread, and the scheduler then tends to run the woken thread on the waker's core. A
//! socket and its I/O thread then share a core and its cache, the placement in which the
//! message hand-over is fastest (benches/RESULTS.md, "tcp 16 B unpinned"). An eventfd's
//! wake-up carries no such hint.
//!
//! At most one byte is unread at a time: `armed` says a byte is in flight, so a busy sender
//! posting many commands writes once until the thread has looked.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream as StdStream;
use std::sync::atomic::{AtomicBool, Ordering};

use mio::net::UnixStream;
use mio::{Interest, Registry, Token};

/// The writing side, shared by everyone who posts to the thread.
#[derive(Debug)]
pub(crate) struct Waker {
    tx: StdStream,
    /// A byte was written and the thread has not yet cleared it.
    armed: AtomicBool,
}

/// The reading side, owned by the I/O thread's loop.
#[derive(Debug)]
pub(super) struct WakeRx {
    rx: UnixStream,
}

/// A waker whose reading side is registered with `registry` under `token`.
pub(super) fn waker(registry: &Registry, token: Token) -> io::Result<(Waker, WakeRx)> {
    let (tx, rx) = StdStream::pair()?;
    tx.set_nonblocking(true)?;
    rx.set_nonblocking(true)?;
    let mut rx = UnixStream::from_std(rx);
    registry.register(&mut rx, token, Interest::READABLE)?;
    Ok((
        Waker {
            tx,
            armed: AtomicBool::new(false),
        },
        WakeRx { rx },
    ))
}

impl Waker {
    /// Makes the thread's current or next poll return. Called after the command is queued.
    pub(crate) fn wake(&self) -> io::Result<()> {
        // AcqRel: pairs with the swap in `clear`: a wake that finds the flag set comes
        // before that clear, and the thread reads its queue after the clear.
        if self.armed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        match (&self.tx).write(&[1]) {
            Ok(_) => Ok(()),
            // Full: bytes are unread, so the poll returns anyway.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Called by the thread when its poll reported the waker, before it reads its queue.
    ///
    /// Empties the socket first, then disarms: a byte written after the emptying stays
    /// unread and makes the next poll return, and a wake after the disarming writes a new
    /// one. (Disarming first would let a wake's byte be emptied here while the flag stays
    /// set: no later wake would write again.) The swap reads the last wake's swap, so every
    /// command queued before a wake that found the flag set is visible to the queue read
    /// that follows.
    pub(super) fn clear(&self, rx: &WakeRx) {
        let mut buf = [0u8; 64];
        while matches!((&rx.rx).read(&mut buf), Ok(n) if n > 0) {}
        self.armed.swap(false, Ordering::AcqRel);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap (project rules).
mod tests {
    //! The waker against a real poll and real threads; every wait has a deadline that only
    //! a lost wake-up reaches.

    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::thread;
    use std::time::Duration;

    use mio::{Events, Poll};

    use super::*;

    const TOKEN: Token = Token(7);
    /// What only a lost wake-up waits for.
    const LIMIT: Duration = Duration::from_secs(10);

    /// Whether `poll` reports the waker within `timeout`.
    fn woken(poll: &mut Poll, events: &mut Events, timeout: Duration) -> bool {
        poll.poll(events, Some(timeout)).unwrap();
        events.iter().any(|e| e.token() == TOKEN)
    }

    #[test]
    fn a_wake_interrupts_the_poll_and_writes_one_byte_until_cleared() {
        let mut poll = Poll::new().unwrap();
        let mut events = Events::with_capacity(8);
        let (waker, rx) = waker(poll.registry(), TOKEN).unwrap();
        assert!(!woken(&mut poll, &mut events, Duration::ZERO));
        for _ in 0..3 {
            waker.wake().unwrap();
        }
        assert!(woken(&mut poll, &mut events, LIMIT));
        // One byte for the three wakes: the socket holds exactly one.
        let mut buf = [0u8; 8];
        assert_eq!((&rx.rx).read(&mut buf).unwrap(), 1);
        waker.armed.store(false, Ordering::SeqCst);
        waker.wake().unwrap();
        assert!(woken(&mut poll, &mut events, LIMIT));
        waker.clear(&rx);
        assert!(!woken(&mut poll, &mut events, Duration::ZERO));
        // Cleared: the next wake writes again.
        waker.wake().unwrap();
        assert!(woken(&mut poll, &mut events, LIMIT));
    }

    /// The rule of `Waker::clear`: every posted item is seen by a loop that sleeps in the
    /// poll with no timeout but the failure bound, however wakes and clears interleave.
    #[test]
    fn no_wake_is_lost_between_a_clear_and_the_next_wake() {
        const POSTS: usize = 20_000;
        let mut poll = Poll::new().unwrap();
        let mut events = Events::with_capacity(8);
        let (waker, rx) = waker(poll.registry(), TOKEN).unwrap();
        let waker = Arc::new(waker);
        let posted = Arc::new(AtomicUsize::new(0));
        let poster = {
            let (waker, posted) = (waker.clone(), posted.clone());
            thread::spawn(move || {
                for _ in 0..POSTS {
                    posted.fetch_add(1, Ordering::Release);
                    waker.wake().unwrap();
                }
            })
        };
        let mut seen = 0;
        while seen < POSTS {
            // Posts are still to come, and each either writes a byte or finds one unread.
            assert!(
                woken(&mut poll, &mut events, LIMIT),
                "a wake-up was lost after {seen} posts"
            );
            waker.clear(&rx);
            seen = posted.load(Ordering::Acquire);
        }
        poster.join().unwrap();
    }
}

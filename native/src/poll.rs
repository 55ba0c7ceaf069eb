//! Waiting on many sockets at once (`zmq_poll`): readable and writable readiness with a
//! timeout, no busy loop. The waiting thread sleeps until a command reaches one of the
//! sockets' mailboxes, then looks again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use isomq_core::Result;

use crate::mailbox::Waiter;
use crate::readiness::PollEvents;
use crate::socket::Socket;

/// One socket in a [`poll`]: the events asked for and, after the poll, those found.
#[derive(Debug)]
pub struct PollItem<'a> {
    socket: &'a mut Socket,
    events: PollEvents,
    revents: PollEvents,
}

impl<'a> PollItem<'a> {
    /// Watch `socket` for `events`.
    pub fn new(socket: &'a mut Socket, events: PollEvents) -> PollItem<'a> {
        PollItem {
            socket,
            events,
            revents: PollEvents::NONE,
        }
    }

    /// The events found by the last poll.
    pub fn revents(&self) -> PollEvents {
        self.revents
    }

    /// Whether the last poll found the socket readable.
    pub fn is_readable(&self) -> bool {
        self.revents.contains(PollEvents::IN)
    }

    /// Whether the last poll found the socket writable.
    pub fn is_writable(&self) -> bool {
        self.revents.contains(PollEvents::OUT)
    }

    /// The socket, to act on what the poll found.
    pub fn socket(&mut self) -> &mut Socket {
        self.socket
    }
}

/// Waits until at least one item is ready for one of its events, or `timeout` passes
/// (`None` waits forever, `Some(ZERO)` only looks). Returns how many items are ready;
/// each item's [`PollItem::revents`] says what it found.
///
/// # Errors
/// [`Error::Term`](crate::Error::Term) when the context of one of the sockets terminates;
/// [`Error::Resource`](crate::Error::Resource) when a readiness fd cannot be made (see
/// below).
///
/// With sockets of a context with inline I/O (`ContextBuilder::inline_io`) among them,
/// the poll waits on the sockets' readiness fds instead (made for the other sockets on
/// the way): an inline socket's is its own poll, which the waiting thread turns when it
/// fires.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use isomq::{poll, Context, PollEvents, PollItem, SocketType};
/// let ctx = Context::new();
/// let mut a = ctx.socket(SocketType::Pull)?;
/// a.bind("inproc://a")?;
/// let mut b = ctx.socket(SocketType::Pull)?;
/// b.bind("inproc://b")?;
/// let mut push = ctx.socket(SocketType::Push)?;
/// push.connect("inproc://b")?;
/// push.send("x")?;
/// let mut items = [PollItem::new(&mut a, PollEvents::IN), PollItem::new(&mut b, PollEvents::IN)];
/// assert_eq!(poll(&mut items, Some(Duration::from_secs(5)))?, 1);
/// assert!(items[1].is_readable());
/// # Ok::<(), isomq::Error>(())
/// ```
pub fn poll(items: &mut [PollItem<'_>], timeout: Option<Duration>) -> Result<usize> {
    let deadline = timeout.map(|t| Instant::now() + t);
    if items.iter().any(|item| item.socket.is_inline()) {
        return poll_fds(items, deadline);
    }
    let waiter = Arc::new(Waiter::default());
    for item in items.iter() {
        item.socket.signal().add_poller(&waiter);
    }
    let result = poll_loop(items, deadline, &waiter);
    for item in items.iter() {
        item.socket.signal().remove_poller(&waiter);
    }
    result
}

fn poll_loop(
    items: &mut [PollItem<'_>],
    deadline: Option<Instant>,
    waiter: &Waiter,
) -> Result<usize> {
    loop {
        // Reset before looking: a command arriving after the look raises the waiter again,
        // so the wait below cannot miss it.
        waiter.reset();
        let mut ready = 0;
        for item in items.iter_mut() {
            item.revents = item.socket.readiness(item.events)?;
            if !item.revents.is_empty() {
                ready += 1;
            }
        }
        if ready > 0 || deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(ready);
        }
        waiter.wait(deadline);
    }
}

/// `poll` over sockets some of which drive their own connections: the thread waits in
/// poll(2) on every socket's readiness fd (an inline socket's own poll, another socket's
/// doorbell), and each look at a socket's readiness turns its reactor first.
fn poll_fds(items: &mut [PollItem<'_>], deadline: Option<Instant>) -> Result<usize> {
    let mut fds = Vec::with_capacity(items.len());
    for item in items.iter_mut() {
        fds.push(libc::pollfd {
            fd: item.socket.readiness_fd()?,
            events: libc::POLLIN,
            revents: 0,
        });
    }
    loop {
        // Look, then wait: each fd was answered by the look (a doorbell emptied, a poll's
        // events taken), and whatever comes after makes it readable again.
        let mut ready = 0;
        for item in items.iter_mut() {
            item.revents = item.socket.readiness(item.events)?;
            if !item.revents.is_empty() {
                ready += 1;
            }
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if ready > 0 || left.is_some_and(|l| l.is_zero()) {
            return Ok(ready);
        }
        // Rounded up, so that the wait does not end just before the deadline and spin.
        let ms = left.map_or(-1, |l| {
            i32::try_from(l.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
        });
        let nfds = libc::nfds_t::try_from(fds.len()).unwrap_or(libc::nfds_t::MAX);
        // SAFETY: `fds` is a live, initialised array of `nfds` pollfd entries, borrowed
        // mutably for the call only. An error (EINTR) just means looking again.
        unsafe { libc::poll(fds.as_mut_ptr(), nfds, ms) };
    }
}

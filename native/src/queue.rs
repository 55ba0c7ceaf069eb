//! The command queue under both kinds of mailbox (a socket's, an I/O thread's): many
//! senders, one receiver, and no heap allocation in steady state.
//!
//! `std::sync::mpsc` allocates a block every 31 messages, which is an allocation every few
//! hundred small messages once a pipe's "readable again" commands are counted. Here the
//! commands sit in a `VecDeque` under a mutex (libzmq's mailbox: a ypipe of commands under a
//! writer mutex). The deque never shrinks, so once it has held the largest backlog a run
//! produces, sending and receiving touch no allocator. Commands are rare next to messages (a
//! pipe turning readable after being empty, a new peer), so a lock per command costs nothing
//! that matters; the message path never takes it.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::sync::lock;

/// Room for this many commands from the start, so that the usual backlog (a few commands)
/// never grows the deque at all.
const INITIAL_CAPACITY: usize = 16;

/// Why [`QueueRx::recv`] returned without an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitError {
    /// Nothing arrived before the timeout.
    Timeout,
    /// The queue is empty and every sender is gone, so nothing can arrive any more.
    Closed,
}

#[derive(Debug)]
struct Shared<T> {
    state: Mutex<State<T>>,
    /// Signalled when an item arrives or the last sender goes, if the receiver waits.
    arrived: Condvar,
}

#[derive(Debug)]
struct State<T> {
    items: VecDeque<T>,
    senders: usize,
    /// The receiver still exists; once it is gone, sends hand their item back.
    receiving: bool,
    /// The receiver is blocked on `arrived`: only then do senders pay for a notify (a
    /// futex syscall even when nobody waits).
    waiting: bool,
}

/// The sending side; clone it for every producer.
#[derive(Debug)]
pub(crate) struct QueueTx<T> {
    shared: Arc<Shared<T>>,
}

/// The receiving side; dropping it drops every queued item and refuses later ones.
#[derive(Debug)]
pub(crate) struct QueueRx<T> {
    shared: Arc<Shared<T>>,
}

/// A new empty queue.
pub(crate) fn queue<T>() -> (QueueTx<T>, QueueRx<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::with_capacity(INITIAL_CAPACITY),
            senders: 1,
            receiving: true,
            waiting: false,
        }),
        arrived: Condvar::new(),
    });
    (
        QueueTx {
            shared: shared.clone(),
        },
        QueueRx { shared },
    )
}

impl<T> QueueTx<T> {
    /// Appends `item`, waking the receiver if it is blocked in [`QueueRx::recv`]; returns
    /// whether it was.
    ///
    /// # Errors
    /// The receiver is gone: `item` comes back, for the caller to drop outside the lock
    /// (dropping a command may run code that sends commands, even to this queue).
    pub(crate) fn send(&self, item: T) -> Result<bool, T> {
        let mut state = lock(&self.shared.state);
        if !state.receiving {
            return Err(item);
        }
        state.items.push_back(item);
        let waiting = state.waiting;
        drop(state);
        // No lost wake-up: the receiver saw the queue empty and set `waiting` under the
        // lock, and `Condvar::wait` released that lock atomically with going to sleep, so a
        // push that follows it in lock order finds `waiting` set and notifies a sleeper (or
        // one about to return from a timeout, which then finds the item anyway). A push that
        // precedes it in lock order is seen by the receiver's check.
        if waiting {
            self.shared.arrived.notify_one();
        }
        Ok(waiting)
    }
}

impl<T> Clone for QueueTx<T> {
    fn clone(&self) -> Self {
        lock(&self.shared.state).senders += 1;
        QueueTx {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for QueueTx<T> {
    fn drop(&mut self) {
        let mut state = lock(&self.shared.state);
        state.senders -= 1;
        // Same argument as in `send`: the receiver checks `senders` before it waits, under
        // the lock taken here.
        let wake = state.senders == 0 && state.waiting;
        drop(state);
        if wake {
            self.shared.arrived.notify_one();
        }
    }
}

impl<T> QueueRx<T> {
    /// The oldest item, if any, without blocking.
    pub(crate) fn try_recv(&self) -> Option<T> {
        lock(&self.shared.state).items.pop_front()
    }

    /// Waits for the oldest item; `None` waits forever.
    ///
    /// # Errors
    /// [`WaitError::Timeout`] when `timeout` passes first; [`WaitError::Closed`] when the
    /// queue is empty and no sender is left.
    pub(crate) fn recv(&self, timeout: Option<Duration>) -> Result<T, WaitError> {
        // An overflowing deadline is as good as none.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut state = lock(&self.shared.state);
        loop {
            if let Some(item) = state.items.pop_front() {
                return Ok(item);
            }
            if state.senders == 0 {
                return Err(WaitError::Closed);
            }
            let left = match deadline {
                Some(at) => {
                    let left = at.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(WaitError::Timeout);
                    }
                    Some(left)
                }
                None => None,
            };
            state.waiting = true;
            state = match left {
                None => self
                    .shared
                    .arrived
                    .wait(state)
                    .unwrap_or_else(|p| p.into_inner()),
                Some(left) => {
                    self.shared
                        .arrived
                        .wait_timeout(state, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
            state.waiting = false;
        }
    }
}

/// What the tests of the mailboxes built on this queue look at.
#[cfg(test)]
impl<T> QueueRx<T> {
    /// Whether the receiver is blocked in [`QueueRx::recv`] now.
    pub(crate) fn is_waiting(&self) -> bool {
        lock(&self.shared.state).waiting
    }
}

impl<T> Drop for QueueRx<T> {
    fn drop(&mut self) {
        let mut state = lock(&self.shared.state);
        state.receiving = false;
        let items = std::mem::take(&mut state.items);
        drop(state);
        // Outside the lock: a dropped command may terminate a pipe, whose peer is then told
        // by a command, possibly through this very queue (refused now).
        drop(items);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread;

    /// Counts its drops, to see where queued items end up.
    #[derive(Debug)]
    struct Token(Arc<AtomicUsize>);

    impl Drop for Token {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn items_come_out_in_order_and_empty_is_none() {
        let (tx, rx) = queue();
        assert_eq!(rx.try_recv(), None);
        for i in 0..100 {
            tx.send(i).unwrap();
        }
        for i in 0..100 {
            assert_eq!(rx.try_recv(), Some(i));
        }
        assert_eq!(rx.try_recv(), None);
    }

    #[test]
    fn the_deque_keeps_its_capacity() {
        let (tx, rx) = queue();
        for i in 0..1000 {
            tx.send(i).unwrap();
        }
        while rx.try_recv().is_some() {}
        let grown = lock(&rx.shared.state).items.capacity();
        assert!(grown >= 1000);
        for round in 0..10 {
            for i in 0..1000 {
                tx.send(round * i).unwrap();
            }
            while rx.try_recv().is_some() {}
        }
        assert_eq!(lock(&rx.shared.state).items.capacity(), grown);
    }

    #[test]
    fn recv_times_out_on_an_empty_queue() {
        let (_tx, rx) = queue::<u32>();
        let t = Duration::from_millis(20);
        let start = Instant::now();
        assert_eq!(rx.recv(Some(t)), Err(WaitError::Timeout));
        assert!(start.elapsed() >= t);
        assert_eq!(rx.recv(Some(Duration::ZERO)), Err(WaitError::Timeout));
    }

    #[test]
    fn recv_returns_what_is_queued_without_waiting() {
        let (tx, rx) = queue();
        tx.send(7).unwrap();
        assert_eq!(rx.recv(Some(Duration::ZERO)), Ok(7));
        tx.send(8).unwrap();
        assert_eq!(rx.recv(None), Ok(8));
    }

    /// Returns once the receiver of `tx`'s queue is blocked in `recv`: it sets `waiting`
    /// under the lock and clears it only after `Condvar::wait` has given the lock back, so
    /// seeing the flag under the lock means the receiver is inside `wait`. Tests wait for
    /// this instead of sleeping for a guessed time, so that the wake-up is what they test.
    fn wait_until_receiver_waits<T>(tx: &QueueTx<T>) {
        let start = Instant::now();
        while !lock(&tx.shared.state).waiting {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the receiver never waited"
            );
            thread::yield_now();
        }
    }

    #[test]
    fn a_send_wakes_a_blocked_recv() {
        for timeout in [None, Some(Duration::from_secs(3600))] {
            let (tx, rx) = queue();
            let sender = thread::spawn(move || {
                wait_until_receiver_waits(&tx);
                tx.send(42).unwrap();
                tx
            });
            assert_eq!(rx.recv(timeout), Ok(42));
            drop(sender.join().unwrap());
        }
    }

    #[test]
    fn recv_reports_closed_once_drained_and_every_sender_is_gone() {
        let (tx, rx) = queue();
        let tx2 = tx.clone();
        tx.send(1).unwrap();
        drop(tx);
        tx2.send(2).unwrap();
        drop(tx2);
        assert_eq!(rx.recv(None), Ok(1));
        assert_eq!(rx.recv(Some(Duration::from_secs(3600))), Ok(2));
        assert_eq!(rx.recv(None), Err(WaitError::Closed));
        assert_eq!(
            rx.recv(Some(Duration::from_secs(3600))),
            Err(WaitError::Closed)
        );
    }

    #[test]
    fn dropping_the_last_sender_wakes_a_blocked_recv() {
        for timeout in [None, Some(Duration::from_secs(3600))] {
            let (tx, rx) = queue::<u32>();
            let tx2 = tx.clone();
            let dropper = thread::spawn(move || {
                wait_until_receiver_waits(&tx);
                drop(tx);
                // Not the last sender: the receiver stays asleep.
                wait_until_receiver_waits(&tx2);
                drop(tx2);
            });
            assert_eq!(rx.recv(timeout), Err(WaitError::Closed));
            dropper.join().unwrap();
        }
    }

    #[test]
    fn a_send_to_a_dropped_receiver_comes_back() {
        let (tx, rx) = queue();
        drop(rx);
        assert_eq!(tx.send(5), Err(5));
    }

    #[test]
    fn dropping_the_receiver_drops_queued_items() {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = queue();
        for _ in 0..3 {
            tx.send(Token(drops.clone())).unwrap();
        }
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        drop(rx);
        assert_eq!(drops.load(Ordering::SeqCst), 3);
        assert!(tx.send(Token(drops.clone())).is_err());
        assert_eq!(drops.load(Ordering::SeqCst), 4);
    }

    /// An item whose drop sends to the queue it sat in, as a dropped command holding a pipe
    /// does when the pipe's notifier posts to the same mailbox.
    #[derive(Debug)]
    struct Echo {
        tx: Option<QueueTx<Echo>>,
        refused: Arc<AtomicUsize>,
    }

    impl Drop for Echo {
        fn drop(&mut self) {
            if let Some(tx) = self.tx.take() {
                let echo = Echo {
                    tx: None,
                    refused: self.refused.clone(),
                };
                if tx.send(echo).is_err() {
                    self.refused.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    }

    #[test]
    fn items_dropped_with_the_receiver_may_send_to_it() {
        let refused = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = queue();
        let echo = Echo {
            tx: Some(tx.clone()),
            refused: refused.clone(),
        };
        tx.send(echo).unwrap();
        drop(rx);
        assert_eq!(refused.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn many_senders_lose_nothing_and_keep_each_ones_order() {
        const SENDERS: usize = 4;
        const EACH: usize = 10_000;
        let (tx, rx) = queue();
        let threads: Vec<_> = (0..SENDERS)
            .map(|s| {
                let tx = tx.clone();
                thread::spawn(move || {
                    for i in 0..EACH {
                        tx.send((s, i)).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let mut next = [0; SENDERS];
        let mut received = 0;
        loop {
            match rx.recv(None) {
                Ok((s, i)) => {
                    assert_eq!(i, next[s]);
                    next[s] += 1;
                    received += 1;
                }
                Err(e) => {
                    assert_eq!(e, WaitError::Closed);
                    break;
                }
            }
        }
        assert_eq!(received, SENDERS * EACH);
        for t in threads {
            t.join().unwrap();
        }
    }
}

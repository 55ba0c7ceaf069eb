//! An I/O thread's mailbox: the command queue other threads post to, the waker that
//! interrupts the thread's poll, and the notifier through which its sessions' pipe ends post
//! their events (docs/architecture.md §5.2, §5.3).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use isomq_core::{Notify, PipeEvent, PipeId};

use super::command::IoCommand;
use crate::doorbell::Doorbell;
use crate::queue::QueueTx;

/// An I/O thread's mailbox: commands, and the waker that interrupts its poll.
#[derive(Debug, Clone)]
pub(crate) struct Mailbox {
    tx: QueueTx<IoCommand>,
    waker: Arc<Doorbell>,
}

impl Mailbox {
    pub(super) fn new(tx: QueueTx<IoCommand>, waker: Arc<Doorbell>) -> Mailbox {
        Mailbox { tx, waker }
    }

    /// Posts a command and wakes the loop. A stopped thread drops the command.
    pub(crate) fn send(&self, cmd: IoCommand) {
        post(&self.tx, &self.waker, cmd);
    }

    /// Wakes the loop without a command (it will look at its queue and find nothing).
    pub(crate) fn ring(&self) {
        let _ = self.waker.ring();
    }

    /// Whether the loop has been woken and has not looked at its queue since.
    pub(crate) fn is_rung(&self) -> bool {
        self.waker.is_rung()
    }
}

/// Pushes, then wakes: the loop reads the whole queue after every poll, so a wake-up that
/// follows the push makes the next (or current) poll return and the command be read. A
/// refused command (the thread has ended) is dropped here, outside the queue's lock.
fn post(tx: &QueueTx<IoCommand>, waker: &Doorbell, cmd: IoCommand) {
    if tx.send(cmd).is_ok() {
        let _ = waker.ring();
    }
}

/// Every I/O thread of a context, known to each of them once all have started: listeners
/// hand accepted connections round-robin to all threads, as libzmq's `choose_io_thread`.
pub(crate) type Siblings = Arc<OnceLock<Vec<Mailbox>>>;

/// The session side of pipe notifications: events become commands to this thread, at
/// most one at a time per pipe end. A busy session can raise an event per round of its
/// pump (it empties the pipe, the socket refills it), and each would otherwise cost a
/// command, a wake-up of the thread, and a redundant drive; the queue would also grow with them.
#[derive(Debug)]
pub(super) struct IoNotify {
    tx: QueueTx<IoCommand>,
    waker: Arc<Doorbell>,
    slot: usize,
    /// A command for this pipe end is queued and its drive has not started yet.
    pending: Arc<AtomicBool>,
    /// Set instead of ringing the doorbell: the pipe's other end is on the thread that
    /// turns this loop (see `Services::notify_socket_pipe`).
    local: Option<Arc<AtomicBool>>,
}

impl IoNotify {
    pub(super) fn new(
        tx: QueueTx<IoCommand>,
        waker: Arc<Doorbell>,
        slot: usize,
        local: Option<Arc<AtomicBool>>,
    ) -> IoNotify {
        IoNotify {
            tx,
            waker,
            slot,
            pending: Arc::new(AtomicBool::new(false)),
            local,
        }
    }
}

impl Notify for IoNotify {
    fn notify(&self, pipe: PipeId, event: PipeEvent) {
        // No lost event: a notify that finds `pending` set comes before, in the flag's
        // modification order, the swap in `Reactor::pipe_event` that clears it for a queued
        // command (a swap reads the latest value, so that clear cannot be earlier, and a
        // clear that was earlier would have made this swap read false). AcqRel on both
        // sides: that clear then reads this swap's release sequence, so what the pipe's
        // peer did before notifying (the flush, the termination) happens before the drive
        // that follows the clear.
        if !self.pending.swap(true, Ordering::AcqRel) {
            let cmd = IoCommand::Pipe {
                slot: self.slot,
                pipe,
                pending: self.pending.clone(),
                output: event == PipeEvent::ActivateRead,
            };
            match &self.local {
                // The loop's own thread: it looks at the flag before it next polls.
                Some(local) => {
                    if self.tx.send(cmd).is_ok() {
                        local.store(true, Ordering::Release);
                    }
                }
                None => post(&self.tx, &self.waker, cmd),
            }
        }
    }
}

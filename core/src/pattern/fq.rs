//! Fair queueing (libzmq `fq_t`): messages are taken round-robin from the pipes that have
//! some, a whole multipart message from one pipe before moving on. Used by PULL, SUB, XSUB, DEALER, REQ, REP, ROUTER.
//!
//! Pipes `[0, active)` of the array may have data; a pipe found empty is swapped out of that
//! region and comes back on `ActivateRead`. A pipe whose peer terminated stays until all it
//! queued was read; then it is reported through [`Fq::take_dead`] for the socket to drop.

use super::array::PipeArray;
use super::table::PipeTable;
use crate::{Error, Msg};

#[derive(Debug, Default)]
pub(crate) struct Fq {
    pipes: PipeArray,
    active: usize,
    current: usize,
    /// Inside a multipart message: its next frame comes from `current`.
    more: bool,
    /// Slots whose peer terminated and that were read to the end.
    dead: Vec<usize>,
    /// The slot the last frame came from (for the peer's properties).
    last: Option<usize>,
}

impl Fq {
    pub(crate) fn attach(&mut self, slot: usize) {
        self.pipes.push(slot);
        self.activated(slot);
    }

    /// `ActivateRead` (or `Terminated`: the delimiter must be read too). Idempotent.
    pub(crate) fn activated(&mut self, slot: usize) {
        let Some(i) = self.pipes.index(slot) else {
            return;
        };
        if i >= self.active {
            self.pipes.swap(i, self.active);
            self.active += 1;
        }
    }

    /// Removes the pipe at once (the socket detaches it).
    pub(crate) fn terminated(&mut self, slot: usize) {
        let Some(i) = self.pipes.index(slot) else {
            return;
        };
        if i == self.current && self.more {
            // Cannot happen for a pipe read to its end (pipes publish whole messages); only
            // a local detach cuts a message short, and the reader then sees it truncated.
            self.more = false;
        }
        if i < self.active {
            self.active -= 1;
            self.pipes.swap(i, self.active);
            if self.current == self.active {
                self.current = 0;
            }
        }
        self.pipes.erase(slot);
    }

    /// The pipe the last frame received came from, while it is attached.
    pub(crate) fn last_pipe(&self, table: &PipeTable) -> Option<crate::PipeId> {
        self.last.and_then(|s| table.get(s)).map(|p| p.id())
    }

    /// The next dead slot to drop, if any.
    pub(crate) fn take_dead(&mut self) -> Option<usize> {
        self.dead.pop()
    }

    /// Takes the pipe at `current` out of the active region, or out of the array when its
    /// peer terminated and it was read to the end.
    fn deactivate_current(&mut self, table: &PipeTable) {
        let slot = self.pipes.get(self.current);
        self.active -= 1;
        self.pipes.swap(self.current, self.active);
        if self.current == self.active {
            self.current = 0;
        }
        if table.get(slot).is_none_or(|p| p.is_terminated()) {
            self.pipes.erase(slot);
            self.dead.push(slot);
        }
    }

    pub(crate) fn recv(&mut self, table: &mut PipeTable) -> Result<Msg, Error> {
        self.recvpipe(table).map(|(msg, _)| msg)
    }

    /// As `recv`, and tells which slot the frame came from (libzmq's `fq_t::recvpipe`).
    /// A peer's routing id (after a reconnect, or towards a type that does not want it) is
    /// skipped: libzmq's ROUTER assumes "the peer always uses the same routing id".
    pub(crate) fn recvpipe(&mut self, table: &mut PipeTable) -> Result<(Msg, usize), Error> {
        while self.active > 0 {
            let slot = self.pipes.get(self.current);
            if let Some(msg) = table.get_mut(slot).and_then(|p| p.read()) {
                if msg.is_routing_id() && !self.more {
                    continue;
                }
                self.more = msg.more();
                if !self.more {
                    // A compare, not `%`: a division costs tens of cycles per message.
                    self.current += 1;
                    if self.current >= self.active {
                        self.current = 0;
                    }
                    if self.active > 1 {
                        prefetch_round(table, slot, self.pipes.get(self.current));
                    }
                }
                self.last = Some(slot);
                return Ok((msg, slot));
            }
            // Pipes publish whole messages, so a pipe never runs dry inside one; if it did,
            // the reader would see a truncated message rather than a stall.
            self.more = false;
            self.deactivate_current(table);
        }
        Err(Error::Again)
    }

    pub(crate) fn has_in(&mut self, table: &mut PipeTable) -> bool {
        if self.more {
            return true;
        }
        while self.active > 0 {
            let slot = self.pipes.get(self.current);
            if table.get_mut(slot).is_some_and(|p| p.check_read()) {
                return true;
            }
            self.deactivate_current(table);
        }
        false
    }

    /// After a `Terminated` event: makes the pipe readable so its last messages and the
    /// delimiter are consumed, and reports it dead at once if nothing is left.
    pub(crate) fn peer_terminated(&mut self, table: &mut PipeTable, slot: usize) {
        let Some(pipe) = table.get_mut(slot) else {
            return;
        };
        if !pipe.check_read() && pipe.is_terminated() {
            self.terminated(slot);
            self.dead.push(slot);
        } else {
            self.activated(slot);
        }
    }
}

/// Round robin over many pipes: each read would stall on lines that the pipe's writer (an
/// I/O thread) wrote on another core. After reading from pipe `read`, this fetches its frame
/// of a few rounds on and the `next` pipe's front while the caller handles the message
/// (docs/architecture.md §7.5a): subscriber CPU per delivery about -15 % with 100
/// connections per SUB socket (benches/RESULTS.md). Out of line, and not called with one
/// pipe: the single-connection receive path stays as it was (inlined, it cost pinned tcp
/// 16 B 10 %), and a lone pipe's next slot may be one its writer has yet to fill.
#[inline(never)]
fn prefetch_round(table: &mut PipeTable, read: usize, next: usize) {
    if let Some(p) = table.get_mut(read) {
        p.prefetch_read_ahead();
    }
    if let Some(p) = table.get(next) {
        p.prefetch_read();
    }
}

//! Fan-out (libzmq `dist_t`): a message goes to every matching pipe that can take it. Used by
//! PUB and XPUB (to the subscribers whose subscriptions match) and XSUB (to all publishers).
//!
//! The array is split into regions, each a prefix of the next:
//! `[0, matching)` get the current message; `[0, active)` get frames of the current message;
//! `[0, eligible)` are writable. A pipe that becomes writable in the middle of a multipart
//! message is eligible but not active until the message ends, and a pipe that is full at the
//! first frame leaves all three regions: each pipe gets a whole message or none of it.

use super::array::PipeArray;
use super::table::PipeTable;
use crate::pipe::publish_fence;
use crate::Msg;

/// How many pipes ahead of the one being written `distribute` prefetches.
const PREFETCH_AHEAD: usize = 4;

#[derive(Debug, Default)]
pub(crate) struct Dist {
    pipes: PipeArray,
    matching: usize,
    active: usize,
    eligible: usize,
    /// Inside a multipart message.
    more: bool,
}

impl Dist {
    pub(crate) fn attach(&mut self, slot: usize) {
        if self.pipes.index(slot).is_some() {
            return;
        }
        self.pipes.push(slot);
        let last = self.pipes.len() - 1;
        // A pipe attached mid-message must not get the tail of that message.
        self.pipes.swap(self.eligible, last);
        self.eligible += 1;
        if !self.more {
            self.pipes.swap(self.eligible - 1, self.active);
            self.active += 1;
        }
    }

    /// Marks a pipe as a recipient of the message about to be sent (first frame only).
    pub(crate) fn mark_matching(&mut self, slot: usize) {
        let Some(i) = self.pipes.index(slot) else {
            return;
        };
        if i < self.matching || i >= self.eligible {
            return;
        }
        self.pipes.swap(i, self.matching);
        self.matching += 1;
    }

    pub(crate) fn unmatch(&mut self) {
        self.matching = 0;
    }

    /// Removes the pipe from every region.
    pub(crate) fn terminated(&mut self, slot: usize) {
        let Some(i) = self.pipes.index(slot) else {
            return;
        };
        if i < self.matching {
            self.pipes.swap(i, self.matching - 1);
            self.matching -= 1;
        }
        if let Some(i) = self.pipes.index(slot).filter(|&i| i < self.active) {
            self.pipes.swap(i, self.active - 1);
            self.active -= 1;
        }
        if let Some(i) = self.pipes.index(slot).filter(|&i| i < self.eligible) {
            self.pipes.swap(i, self.eligible - 1);
            self.eligible -= 1;
        }
        self.pipes.erase(slot);
    }

    /// `ActivateWrite`: the pipe is writable again. Idempotent.
    pub(crate) fn activated(&mut self, slot: usize) {
        let Some(i) = self.pipes.index(slot) else {
            return;
        };
        if i < self.eligible {
            return;
        }
        self.pipes.swap(i, self.eligible);
        self.eligible += 1;
        if !self.more {
            self.pipes.swap(self.eligible - 1, self.active);
            self.active += 1;
        }
    }

    /// Sends to every active pipe.
    pub(crate) fn send_to_all(&mut self, table: &mut PipeTable, msg: Msg) {
        self.matching = self.active;
        self.send_to_matching(table, msg);
    }

    /// Sends to the pipes marked matching; full pipes are skipped (they miss this message).
    pub(crate) fn send_to_matching(&mut self, table: &mut PipeTable, msg: Msg) {
        let more = msg.more();
        self.distribute(table, msg);
        if !more {
            self.active = self.eligible;
        }
        self.more = more;
    }

    /// Whether every matching pipe can take a message now (XPUB_NODROP asks before the first
    /// frame). A full pipe will raise `ActivateWrite`.
    pub(crate) fn check_hwm(&mut self, table: &mut PipeTable) -> bool {
        let mut ok = true;
        for i in 0..self.matching {
            let slot = self.pipes.get(i);
            // Ask every pipe (no short-circuit) so each full one arms its ActivateWrite.
            if !table.get_mut(slot).is_some_and(|p| p.check_write()) {
                ok = false;
            }
        }
        ok
    }

    fn distribute(&mut self, table: &mut PipeTable, mut msg: Msg) {
        let last_frame = !msg.more();
        let mut i = 0;
        while i < self.matching {
            // With many subscribers, each write and flush would otherwise wait for its
            // pipe's lines in turn (profiled in benches/RESULTS.md, "Fan-out against libzmq").
            if i + PREFETCH_AHEAD < self.matching {
                if let Some(p) = table.get(self.pipes.get(i + PREFETCH_AHEAD)) {
                    p.prefetch_write();
                }
            }
            let slot = self.pipes.get(i);
            // The last recipient takes the message itself, the others a cheap clone.
            let frame = if i + 1 == self.matching {
                std::mem::take(&mut msg)
            } else {
                msg.clone()
            };
            let Some(pipe) = table.get_mut(slot) else {
                self.knock_out(i);
                continue;
            };
            match pipe.write(frame) {
                Ok(()) => {
                    if last_frame {
                        let published = pipe.publish();
                        debug_assert!(published, "a message's last frame completes it");
                    }
                    i += 1;
                }
                Err(back) => {
                    if i + 1 == self.matching {
                        msg = back;
                    }
                    // The pipe at `i` is replaced by another matching one: retry index `i`.
                    self.knock_out(i);
                }
            }
        }
        if last_frame && self.matching > 0 {
            self.wake_sleepers(table);
        }
    }

    /// Ends the flush of every matching pipe, which all published the message: one fence
    /// for all of them instead of one per pipe (1,000 subscribers paid 1,000 locked
    /// instructions per message), then a look at each reader's sleep announcement.
    fn wake_sleepers(&mut self, table: &mut PipeTable) {
        publish_fence();
        for i in 0..self.matching {
            if let Some(pipe) = table.get_mut(self.pipes.get(i)) {
                pipe.wake_reader();
            }
        }
    }

    /// Takes the pipe at index `i` (in the matching region) out of matching, active and
    /// eligible: it misses the rest of this message and waits for `ActivateWrite`.
    fn knock_out(&mut self, i: usize) {
        let slot = self.pipes.get(i);
        self.pipes.swap(i, self.matching - 1);
        self.matching -= 1;
        if let Some(j) = self.pipes.index(slot) {
            self.pipes.swap(j, self.active - 1);
            self.active -= 1;
        }
        self.pipes.swap(self.active, self.eligible - 1);
        self.eligible -= 1;
    }
}

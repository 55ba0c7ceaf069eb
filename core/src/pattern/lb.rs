//! Load balancing (libzmq `lb_t`): each message goes to the next pipe, round-robin, among the
//! pipes that can take it. Used by PUSH, DEALER, REQ.
//!
//! Pipes `[0, active)` of the array are writable; a pipe found full is swapped out of that
//! region and comes back on `ActivateWrite`. A multipart message stays on one pipe, and the
//! rotation advances only after its last frame.

use super::array::PipeArray;
use super::table::PipeTable;
use crate::{Error, Msg};

#[derive(Debug, Default)]
pub(crate) struct Lb {
    pipes: PipeArray,
    active: usize,
    current: usize,
    /// Inside a multipart message (its next frame must go to `current`).
    more: bool,
    /// The pipe of the current multipart message died: the remaining frames are discarded.
    dropping: bool,
}

impl Lb {
    pub(crate) fn attach(&mut self, slot: usize) {
        self.pipes.push(slot);
        self.activated(slot);
    }

    /// `ActivateWrite`: the pipe can take messages again. Idempotent.
    pub(crate) fn activated(&mut self, slot: usize) {
        let Some(i) = self.pipes.index(slot) else {
            return;
        };
        if i >= self.active {
            self.pipes.swap(i, self.active);
            self.active += 1;
        }
    }

    /// Removes the pipe from the rotation.
    pub(crate) fn terminated(&mut self, slot: usize) {
        let Some(i) = self.pipes.index(slot) else {
            return;
        };
        if i == self.current && self.more {
            self.dropping = true;
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

    /// Takes the pipe at `current` out of the active region.
    fn deactivate_current(&mut self) {
        self.active -= 1;
        self.pipes.swap(self.current, self.active);
        if self.current == self.active {
            self.current = 0;
        }
    }

    pub(crate) fn send(&mut self, table: &mut PipeTable, msg: Msg) -> Result<(), (Error, Msg)> {
        self.sendpipe(table, msg).map(|_| ())
    }

    /// As `send`, and tells which slot took the frame (`None`: it was dropped, the rest of a
    /// message whose pipe died). libzmq's `lb_t::sendpipe`, which REQ uses to know where its
    /// reply must come from.
    pub(crate) fn sendpipe(
        &mut self,
        table: &mut PipeTable,
        msg: Msg,
    ) -> Result<Option<usize>, (Error, Msg)> {
        if self.dropping {
            self.more = msg.more();
            self.dropping = self.more;
            return Ok(None);
        }
        let mut msg = msg;
        while self.active > 0 {
            let slot = self.pipes.get(self.current);
            let Some(pipe) = table.get_mut(slot) else {
                self.deactivate_current();
                continue;
            };
            let more = msg.more();
            match pipe.write(msg) {
                Ok(()) => {
                    self.more = more;
                    if !more {
                        pipe.flush();
                        // A compare instead of `%`: a division per message shows in profiles.
                        self.current += 1;
                        if self.current >= self.active {
                            self.current = 0;
                        }
                    }
                    return Ok(Some(slot));
                }
                Err(back) => {
                    msg = back;
                    if self.more {
                        // Later frames are refused only once the pipe is dead: the message
                        // cannot be completed anywhere, so drop what is left of it.
                        pipe.rollback();
                        self.deactivate_current();
                        self.more = msg.more();
                        self.dropping = self.more;
                        return Ok(None);
                    }
                    self.deactivate_current();
                }
            }
        }
        Err((Error::Again, msg))
    }

    pub(crate) fn has_out(&mut self, table: &mut PipeTable) -> bool {
        if self.more {
            return true;
        }
        while self.active > 0 {
            let slot = self.pipes.get(self.current);
            if table.get_mut(slot).is_some_and(|p| p.check_write()) {
                return true;
            }
            self.deactivate_current();
        }
        false
    }
}

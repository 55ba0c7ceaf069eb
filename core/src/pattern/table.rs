//! The pipes a socket owns, in stable slots.
//!
//! A pipe has one owner (it is not `Clone`), while XSUB needs it in two strategies (fq for
//! input, dist for output). So the socket owns its pipes here and the strategies refer to them
//! by slot number: a slot is stable for as long as the pipe is attached, which lets the hot
//! path index a `Vec` instead of hashing a `PipeId`.

use std::collections::HashMap;

use crate::pipe::{Pipe, PipeId};

#[derive(Debug, Default)]
pub(crate) struct PipeTable {
    slots: Vec<Option<Pipe>>,
    free: Vec<usize>,
    by_id: HashMap<PipeId, usize>,
}

impl PipeTable {
    /// Stores `pipe` and returns its slot; gives the pipe back if its id is already taken.
    pub(crate) fn insert(&mut self, pipe: Pipe) -> Result<usize, Pipe> {
        let id = pipe.id();
        if self.by_id.contains_key(&id) {
            return Err(pipe);
        }
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(pipe);
                slot
            }
            None => {
                self.slots.push(Some(pipe));
                self.slots.len() - 1
            }
        };
        self.by_id.insert(id, slot);
        Ok(slot)
    }

    pub(crate) fn slot_of(&self, id: PipeId) -> Option<usize> {
        self.by_id.get(&id).copied()
    }

    pub(crate) fn get(&self, slot: usize) -> Option<&Pipe> {
        self.slots.get(slot).and_then(Option::as_ref)
    }

    pub(crate) fn get_mut(&mut self, slot: usize) -> Option<&mut Pipe> {
        self.slots.get_mut(slot).and_then(Option::as_mut)
    }

    /// Detaches the pipe in `slot` and terminates it; frames of a message not yet completed
    /// are rolled back first so the peer never sees half a message.
    pub(crate) fn remove(&mut self, slot: usize) {
        let Some(mut pipe) = self.slots.get_mut(slot).and_then(Option::take) else {
            return;
        };
        self.by_id.remove(&pipe.id());
        self.free.push(slot);
        pipe.rollback();
        pipe.terminate();
    }

    pub(crate) fn ids(&self) -> Vec<PipeId> {
        self.slots.iter().flatten().map(Pipe::id).collect()
    }
}

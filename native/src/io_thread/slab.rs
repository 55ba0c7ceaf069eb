//! The objects an I/O thread owns (listeners and sessions), by slot: a slot is also the
//! object's `mio` token, so it stays put while the object lives.

use super::listener::ListenerObj;
use super::session::Session;

pub(super) enum Object {
    Listener(Box<ListenerObj>),
    Session(Box<Session>),
}

/// A minimal slab: stable indices for mio tokens, reused after removal.
#[derive(Default)]
pub(super) struct Slab {
    entries: Vec<Option<Object>>,
    free: Vec<usize>,
    pub(super) len: usize,
}

impl Slab {
    pub(super) fn vacant_key(&self) -> usize {
        self.free.last().copied().unwrap_or(self.entries.len())
    }

    pub(super) fn insert(&mut self, obj: Object) -> usize {
        self.len += 1;
        if let Some(k) = self.free.pop() {
            self.entries[k] = Some(obj);
            k
        } else {
            self.entries.push(Some(obj));
            self.entries.len() - 1
        }
    }

    #[cfg(test)]
    pub(super) fn get(&self, k: usize) -> Option<&Object> {
        self.entries.get(k).and_then(Option::as_ref)
    }

    pub(super) fn get_mut(&mut self, k: usize) -> Option<&mut Object> {
        self.entries.get_mut(k).and_then(Option::as_mut)
    }

    pub(super) fn remove(&mut self, k: usize) -> Option<Object> {
        let obj = self.entries.get_mut(k).and_then(Option::take);
        if obj.is_some() {
            self.len -= 1;
            self.free.push(k);
        }
        obj
    }

    /// The live objects.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Object> {
        self.entries.iter().flatten()
    }

    pub(super) fn keys(&self) -> Vec<usize> {
        (0..self.entries.len())
            .filter(|&k| self.entries[k].is_some())
            .collect()
    }
}

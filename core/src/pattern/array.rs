//! An ordered set of pipe slots with O(1) membership, position lookup, swap and removal
//! (libzmq's `array_t`). The strategies partition it into regions (active / inactive, ...)
//! by swapping items across boundaries instead of moving them between lists.

/// Position marker for a slot that is not in the array.
const ABSENT: usize = usize::MAX;

#[derive(Debug, Default)]
pub(crate) struct PipeArray {
    /// The slots, in the order the strategy arranges them.
    items: Vec<usize>,
    /// `pos[slot]` is the index of `slot` in `items`, or `ABSENT`.
    pos: Vec<usize>,
}

impl PipeArray {
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// The slot at index `i` (`i < len()`).
    pub(crate) fn get(&self, i: usize) -> usize {
        self.items[i]
    }

    /// Index of `slot`, if present.
    pub(crate) fn index(&self, slot: usize) -> Option<usize> {
        match self.pos.get(slot) {
            Some(&i) if i != ABSENT => Some(i),
            _ => None,
        }
    }

    /// Appends `slot` at the end. A slot already present is left where it is.
    pub(crate) fn push(&mut self, slot: usize) {
        if self.index(slot).is_some() {
            return;
        }
        if self.pos.len() <= slot {
            self.pos.resize(slot + 1, ABSENT);
        }
        self.pos[slot] = self.items.len();
        self.items.push(slot);
    }

    pub(crate) fn swap(&mut self, i: usize, j: usize) {
        if i == j {
            return;
        }
        self.items.swap(i, j);
        self.pos[self.items[i]] = i;
        self.pos[self.items[j]] = j;
    }

    /// Removes `slot` by moving the last item into its place: callers first swap it past
    /// every region boundary so that the regions stay intact.
    pub(crate) fn erase(&mut self, slot: usize) {
        let Some(i) = self.index(slot) else { return };
        let last = self.items.len() - 1;
        self.swap(i, last);
        self.items.pop();
        self.pos[slot] = ABSENT;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_and_erase_keep_positions_consistent() {
        let mut a = PipeArray::default();
        for s in [4, 0, 7] {
            a.push(s);
        }
        a.push(0);
        assert_eq!(a.len(), 3);
        a.swap(0, 2);
        assert_eq!((a.get(0), a.index(4), a.index(7)), (7, Some(2), Some(0)));
        a.erase(0);
        assert_eq!(a.len(), 2);
        assert_eq!(a.index(0), None);
        for i in 0..a.len() {
            assert_eq!(a.index(a.get(i)), Some(i));
        }
        a.erase(99);
        assert_eq!(a.len(), 2);
    }
}

//! The subscriptions of a SUB or XSUB socket (libzmq `trie_t`): topics with a reference count,
//! because each `SUBSCRIBE` call adds one and each `UNSUBSCRIBE` takes one away.

use super::prefix_tree::PrefixTree;

#[derive(Debug, Default)]
pub(crate) struct Trie {
    topics: PrefixTree<u64>,
}

impl Trie {
    /// Counts one more subscription to `topic`; true if it is the first.
    pub(crate) fn add(&mut self, topic: &[u8]) -> bool {
        let count = self.topics.get_or_insert_with(topic, || 0);
        *count = count.saturating_add(1);
        *count == 1
    }

    /// Counts one subscription to `topic` less; true if that was the last one (the topic is
    /// gone), false if others remain or there was none.
    pub(crate) fn rm(&mut self, topic: &[u8]) -> bool {
        let Some(count) = self.topics.get_mut(topic) else {
            return false;
        };
        *count -= 1;
        if *count > 0 {
            return false;
        }
        self.topics.remove(topic);
        true
    }

    /// Whether `data` starts with some subscribed topic.
    pub(crate) fn check(&self, data: &[u8]) -> bool {
        self.topics.has_prefix_of(data)
    }

    /// Calls `f` once per subscribed topic (to replay subscriptions to a new peer).
    pub(crate) fn apply(&self, mut f: impl FnMut(&[u8])) {
        self.topics.for_each(|topic, _| f(topic));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refcount_reaches_zero_only_after_as_many_removals() {
        let mut t = Trie::default();
        assert!(t.add(b"a"));
        assert!(!t.add(b"a"));
        assert!(!t.rm(b"a"));
        assert!(t.check(b"abc"));
        assert!(t.rm(b"a"));
        assert!(!t.check(b"abc"));
        assert!(!t.rm(b"a"));
    }
}

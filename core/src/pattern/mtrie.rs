//! The subscriptions a PUB or XPUB socket received (libzmq `generic_mtrie_t`): for each topic,
//! the set of pipes subscribed to it. Per pipe a subscription is a set member, so subscribing
//! twice and cancelling once unsubscribes, as libzmq does.

use super::prefix_tree::PrefixTree;

/// What [`MTrie::rm`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RmResult {
    /// The pipe did not hold that topic.
    NotFound,
    /// The pipe was the last one holding the topic.
    LastValueRemoved,
    /// Other pipes still hold the topic.
    ValuesRemain,
}

/// Topic → sorted set of pipe slots.
#[derive(Debug, Default)]
pub(crate) struct MTrie {
    topics: PrefixTree<Vec<usize>>,
}

impl MTrie {
    /// Adds `pipe` to `topic`'s set; true if no pipe held the topic before.
    pub(crate) fn add(&mut self, topic: &[u8], pipe: usize) -> bool {
        let set = self.topics.get_or_insert_with(topic, Vec::new);
        let first = set.is_empty();
        if let Err(pos) = set.binary_search(&pipe) {
            set.insert(pos, pipe);
        }
        first
    }

    pub(crate) fn rm(&mut self, topic: &[u8], pipe: usize) -> RmResult {
        let Some(set) = self.topics.get_mut(topic) else {
            return RmResult::NotFound;
        };
        let Ok(pos) = set.binary_search(&pipe) else {
            return RmResult::NotFound;
        };
        set.remove(pos);
        if !set.is_empty() {
            return RmResult::ValuesRemain;
        }
        self.topics.remove(topic);
        RmResult::LastValueRemoved
    }

    /// Removes `pipe` from every topic. `f` is called with each topic the pipe held: all of
    /// them, or with `only_last` just those no other pipe holds.
    pub(crate) fn rm_pipe(&mut self, pipe: usize, only_last: bool, mut f: impl FnMut(&[u8])) {
        let mut held = Vec::new();
        self.topics.for_each(|topic, set| {
            if set.binary_search(&pipe).is_ok() {
                held.push(topic.to_vec());
            }
        });
        for topic in held {
            if self.rm(&topic, pipe) == RmResult::LastValueRemoved || !only_last {
                f(&topic);
            }
        }
    }

    /// Calls `f` for each pipe of each topic that is a prefix of `data`; a pipe may come up
    /// more than once.
    pub(crate) fn match_prefixes(&self, data: &[u8], mut f: impl FnMut(usize)) {
        self.topics
            .for_each_prefix(data, |set| set.iter().for_each(|&p| f(p)));
    }

    /// Number of distinct topics.
    #[cfg(test)]
    pub(crate) fn num_prefixes(&self) -> usize {
        self.topics.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_pipe_subscriptions_are_a_set() {
        let mut m = MTrie::default();
        assert!(m.add(b"a", 1));
        assert!(!m.add(b"a", 1));
        assert!(!m.add(b"a", 2));
        assert_eq!(m.rm(b"a", 1), RmResult::ValuesRemain);
        assert_eq!(m.rm(b"a", 1), RmResult::NotFound);
        assert_eq!(m.rm(b"a", 2), RmResult::LastValueRemoved);
        assert_eq!(m.num_prefixes(), 0);
    }

    #[test]
    fn rm_pipe_reports_topics_nobody_else_holds() {
        let mut m = MTrie::default();
        m.add(b"a", 1);
        m.add(b"b", 1);
        m.add(b"b", 2);
        let mut gone = Vec::new();
        m.rm_pipe(1, true, |t| gone.push(t.to_vec()));
        assert_eq!(gone, vec![b"a".to_vec()]);
        let mut hits = Vec::new();
        m.match_prefixes(b"bx", |p| hits.push(p));
        assert_eq!(hits, vec![2]);
    }
}

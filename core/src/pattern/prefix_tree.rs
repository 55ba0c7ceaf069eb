//! A byte-string prefix tree (radix tree) mapping topics to values; the storage behind the
//! subscription tries ([`super::trie::Trie`], [`super::mtrie::MTrie`]).
//!
//! libzmq keeps one node per topic byte. Topics come from the network, so here an edge holds
//! a whole run of bytes: a long topic costs one node, not one per byte. Nodes live in an arena
//! (`Vec`) and every walk is a loop, never a recursion, so a peer cannot exhaust the stack
//! with deep topics, and dropping the tree is flat.

/// Index of the root node, whose label is empty.
const ROOT: usize = 0;

#[derive(Debug)]
struct Node<V> {
    /// The bytes on the edge from the parent (empty only for the root and free nodes).
    label: Vec<u8>,
    /// Children, sorted by the first byte of their labels (which are distinct).
    children: Vec<usize>,
    parent: usize,
    value: Option<V>,
}

impl<V> Node<V> {
    fn new(label: Vec<u8>, parent: usize) -> Node<V> {
        Node {
            label,
            children: Vec::new(),
            parent,
            value: None,
        }
    }
}

#[derive(Debug)]
pub(crate) struct PrefixTree<V> {
    nodes: Vec<Node<V>>,
    free: Vec<usize>,
    /// Number of topics holding a value.
    len: usize,
}

impl<V> Default for PrefixTree<V> {
    fn default() -> Self {
        PrefixTree {
            nodes: vec![Node::new(Vec::new(), ROOT)],
            free: Vec::new(),
            len: 0,
        }
    }
}

impl<V> PrefixTree<V> {
    /// Number of topics holding a value.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Position in `node`'s children of the child whose label starts with `byte`, or where
    /// such a child would be inserted.
    fn child_pos(&self, node: usize, byte: u8) -> Result<usize, usize> {
        self.nodes[node]
            .children
            .binary_search_by_key(&byte, |&c| self.nodes[c].label[0])
    }

    fn alloc(&mut self, node: Node<V>) -> usize {
        match self.free.pop() {
            Some(i) => {
                self.nodes[i] = node;
                i
            }
            None => {
                self.nodes.push(node);
                self.nodes.len() - 1
            }
        }
    }

    fn release(&mut self, i: usize) {
        self.nodes[i] = Node::new(Vec::new(), ROOT);
        self.free.push(i);
    }

    /// The node for exactly `key`, if the tree has one.
    fn find(&self, key: &[u8]) -> Option<usize> {
        let mut node = ROOT;
        let mut rest = key;
        while let Some(&first) = rest.first() {
            let child = self.nodes[node].children[self.child_pos(node, first).ok()?];
            rest = rest.strip_prefix(self.nodes[child].label.as_slice())?;
            node = child;
        }
        Some(node)
    }

    /// The node for exactly `key`, created (splitting an edge if needed) when missing.
    fn find_or_insert(&mut self, key: &[u8]) -> usize {
        let mut node = ROOT;
        let mut rest = key;
        while let Some(&first) = rest.first() {
            let pos = match self.child_pos(node, first) {
                Ok(pos) => pos,
                Err(pos) => {
                    let leaf = self.alloc(Node::new(rest.to_vec(), node));
                    self.nodes[node].children.insert(pos, leaf);
                    return leaf;
                }
            };
            let child = self.nodes[node].children[pos];
            let label = &self.nodes[child].label;
            let common = label.iter().zip(rest).take_while(|(a, b)| a == b).count();
            if common < label.len() {
                // Split the edge: a new node takes the common head, the child keeps the tail.
                let tail = self.nodes[child].label.split_off(common);
                let head = std::mem::replace(&mut self.nodes[child].label, tail);
                let mut mid = Node::new(head, node);
                mid.children.push(child);
                let mid = self.alloc(mid);
                self.nodes[child].parent = mid;
                self.nodes[node].children[pos] = mid;
                node = mid;
            } else {
                node = child;
            }
            rest = &rest[common..];
        }
        node
    }

    pub(crate) fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        let node = self.find(key)?;
        self.nodes[node].value.as_mut()
    }

    /// The value for `key`, inserted with `default()` when missing.
    pub(crate) fn get_or_insert_with(&mut self, key: &[u8], default: impl FnOnce() -> V) -> &mut V {
        let node = self.find_or_insert(key);
        let slot = &mut self.nodes[node].value;
        if slot.is_none() {
            self.len += 1;
        }
        slot.get_or_insert_with(default)
    }

    /// Removes and returns the value for `key`, pruning nodes that became useless.
    pub(crate) fn remove(&mut self, key: &[u8]) -> Option<V> {
        let node = self.find(key)?;
        let value = self.nodes[node].value.take()?;
        self.len -= 1;
        self.prune(node);
        Some(value)
    }

    /// Drops valueless leaves from `node` upwards and merges a valueless node with its only
    /// child, so the tree holds no node that no topic needs.
    fn prune(&mut self, mut node: usize) {
        while node != ROOT && self.nodes[node].value.is_none() {
            let parent = self.nodes[node].parent;
            let first = self.nodes[node].label[0];
            let Ok(pos) = self.child_pos(parent, first) else {
                return;
            };
            match self.nodes[node].children.len() {
                0 => {
                    self.nodes[parent].children.remove(pos);
                    self.release(node);
                    node = parent;
                }
                1 => {
                    let child = self.nodes[node].children[0];
                    let mut label = std::mem::take(&mut self.nodes[node].label);
                    label.extend_from_slice(&self.nodes[child].label);
                    self.nodes[child].label = label;
                    self.nodes[child].parent = parent;
                    self.nodes[parent].children[pos] = child;
                    self.release(node);
                    return;
                }
                _ => return,
            }
        }
    }

    /// Calls `f` with the value of every topic that is a prefix of `data` (shortest first).
    pub(crate) fn for_each_prefix(&self, data: &[u8], mut f: impl FnMut(&V)) {
        let mut node = ROOT;
        let mut rest = data;
        loop {
            if let Some(value) = &self.nodes[node].value {
                f(value);
            }
            let Some(&first) = rest.first() else { return };
            let Ok(pos) = self.child_pos(node, first) else {
                return;
            };
            let child = self.nodes[node].children[pos];
            match rest.strip_prefix(self.nodes[child].label.as_slice()) {
                Some(r) => rest = r,
                None => return,
            }
            node = child;
        }
    }

    /// Whether some topic is a prefix of `data`.
    pub(crate) fn has_prefix_of(&self, data: &[u8]) -> bool {
        let mut found = false;
        // The first hit is the root or a short topic; walking on is bounded by `data`.
        self.for_each_prefix(data, |_| found = true);
        found
    }

    /// Calls `f` with every topic and its value.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&[u8], &V)) {
        let mut key = Vec::new();
        let mut stack = vec![(ROOT, 0)];
        while let Some((node, depth)) = stack.pop() {
            key.truncate(depth);
            key.extend_from_slice(&self.nodes[node].label);
            if let Some(value) = &self.nodes[node].value {
                f(&key, value);
            }
            let depth = key.len();
            stack.extend(self.nodes[node].children.iter().rev().map(|&c| (c, depth)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixes(t: &PrefixTree<u32>, data: &[u8]) -> Vec<u32> {
        let mut v = Vec::new();
        t.for_each_prefix(data, |&x| v.push(x));
        v
    }

    #[test]
    fn splits_edges_and_matches_every_prefix() {
        let mut t = PrefixTree::default();
        *t.get_or_insert_with(b"abcdef", || 0) = 1;
        *t.get_or_insert_with(b"abc", || 0) = 2;
        *t.get_or_insert_with(b"abx", || 0) = 3;
        *t.get_or_insert_with(b"", || 0) = 4;
        assert_eq!(t.len(), 4);
        assert_eq!(prefixes(&t, b"abcdefg"), vec![4, 2, 1]);
        assert_eq!(prefixes(&t, b"abxy"), vec![4, 3]);
        assert_eq!(prefixes(&t, b"ab"), vec![4]);
        assert!(t.get_mut(b"ab").is_none());
    }

    #[test]
    fn remove_prunes_and_merges_back() {
        let mut t = PrefixTree::default();
        for (i, k) in [&b"abcdef"[..], b"abc", b"abx", b"b"].iter().enumerate() {
            *t.get_or_insert_with(k, || 0) = i as u32;
        }
        assert_eq!(t.remove(b"abx"), Some(2));
        assert_eq!(t.remove(b"abx"), None);
        assert_eq!(t.remove(b"abc"), Some(1));
        assert_eq!(prefixes(&t, b"abcdef"), vec![0]);
        assert_eq!(prefixes(&t, b"abc"), Vec::<u32>::new());
        let mut all = Vec::new();
        t.for_each(|k, &v| all.push((k.to_vec(), v)));
        assert_eq!(all, vec![(b"abcdef".to_vec(), 0), (b"b".to_vec(), 3)]);
        t.remove(b"abcdef");
        t.remove(b"b");
        assert_eq!(t.len(), 0);
        // Only the root is live: everything else went back to the free list.
        assert_eq!(t.nodes.len() - t.free.len(), 1);
    }

    #[test]
    fn long_topics_cost_one_node() {
        let mut t = PrefixTree::default();
        *t.get_or_insert_with(&vec![7u8; 1 << 20], || 0) = 1;
        assert_eq!(t.nodes.len(), 2);
        assert!(t.has_prefix_of(&vec![7u8; (1 << 20) + 5]));
        assert!(!t.has_prefix_of(&[7u8; 100]));
    }
}

//! The slots beside the heap: sources that keep at most one event pending
//! each (a replication stream's next apply), under a 4-ary winner tree.
//!
//! Every node holds the earliest key below it. Changing a leaf replays its
//! path to the root: at each level the earliest of the leaf's three
//! siblings (which does not depend on the leaf, so it is found while the
//! level below is still being compared) against what rises from below,
//! one comparison on the chain per level: 4 levels for 256 slots, where a
//! binary tree takes 8 and the heap about as many for its pop and push.
//! A node's four children fill one cache line.
//!
//! Taking the root's entry leaves its path as it was (`vacated`) and only
//! puts the earliest of the path's siblings at the root: the entry taken is
//! usually followed at once by the same slot's next one (a stream's next
//! apply), whose replay mends the path. Anything else that reads the path
//! first mends it with the slot empty.

use super::{EMPTY, Entry, Node, earlier, node, node_seq, node_slot, node_time};

/// The children of one inner node: one cache line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Group([Node; 4]);

/// No slot's path waits to be mended.
const NONE: usize = usize::MAX;

pub(super) struct Slots<E> {
    /// Number of the first leaf (slot 0's). Nodes are numbered from the
    /// root, 0: node `i`'s children are `4i + 1 ..= 4i + 4`.
    first_leaf: usize,
    /// Leaves: a power of 4 (0 before the first slot is used).
    leaves: usize,
    /// `groups[p]`: the children of node `p`.
    groups: Vec<Group>,
    root: Node,
    /// Each slot's event, valid while its leaf holds a key.
    events: Vec<E>,
    pub(super) held: usize,
    /// The slot whose entry `take_root` took without mending its path.
    vacated: usize,
}

impl<E: Copy> Slots<E> {
    pub(super) fn new() -> Self {
        Slots {
            first_leaf: 0,
            leaves: 0,
            groups: Vec::new(),
            root: EMPTY,
            events: Vec::new(),
            held: 0,
            vacated: NONE,
        }
    }

    /// The earliest key (`EMPTY` without one).
    #[inline(always)]
    pub(super) fn root(&self) -> Node {
        self.root
    }

    /// Slot `slot`'s event (valid while the slot holds an entry).
    #[inline(always)]
    pub(super) fn event(&self, slot: usize) -> &E {
        &self.events[slot]
    }

    #[inline(always)]
    fn get(&self, i: usize) -> Node {
        self.groups[(i - 1) / 4].0[(i - 1) % 4]
    }

    #[inline(always)]
    fn set(&mut self, i: usize, key: Node) {
        if i == 0 {
            self.root = key;
        } else {
            self.groups[(i - 1) / 4].0[(i - 1) % 4] = key;
        }
    }

    /// The earliest of node `i`'s three siblings.
    #[inline(always)]
    fn siblings(&self, i: usize) -> Node {
        let g = &self.groups[(i - 1) / 4].0;
        let at = (i - 1) % 4;
        earlier(earlier(g[at ^ 1], g[at ^ 2]), g[at ^ 3])
    }

    /// Replays leaf `i`'s path to the root, `key` being the leaf's.
    #[inline(always)]
    fn replay(&mut self, mut i: usize, mut key: Node) {
        while i > 0 {
            key = earlier(key, self.siblings(i));
            i = (i - 1) / 4;
            self.set(i, key);
        }
    }

    /// Mends the path of the slot taken from, if it was left as it was.
    #[inline(always)]
    fn mend(&mut self) {
        if self.vacated != NONE {
            let s = std::mem::replace(&mut self.vacated, NONE);
            self.replay(self.first_leaf + s, EMPTY);
        }
    }

    /// Puts `e` in slot `slot`; returns the entry it held, if any.
    #[inline]
    pub(super) fn put(&mut self, slot: usize, e: Entry<E>) -> Option<Entry<E>> {
        if slot >= self.leaves {
            self.grow(slot, e.event);
        }
        if self.vacated != slot {
            self.mend();
        }
        self.vacated = NONE;
        let leaf = self.first_leaf + slot;
        let old = self.get(leaf);
        let old = (old != EMPTY).then(|| self.entry(slot, old));
        self.held += usize::from(old.is_none());
        self.events[slot] = e.event;
        let key = node(e.time, e.seq, slot as u32);
        self.set(leaf, key);
        self.replay(leaf, key);
        old
    }

    /// Takes the earliest entry; the root becomes the earliest of the
    /// siblings along its slot's path (the path itself is left as it was).
    #[inline]
    pub(super) fn take_root(&mut self) -> Option<Entry<E>> {
        self.mend();
        let root = self.root;
        if root == EMPTY {
            return None;
        }
        let slot = node_slot(root) as usize;
        let e = self.entry(slot, root);
        self.held -= 1;
        let mut i = self.first_leaf + slot;
        self.set(i, EMPTY);
        let mut best = EMPTY;
        while i > 0 {
            best = earlier(best, self.siblings(i));
            i = (i - 1) / 4;
        }
        self.root = best;
        self.vacated = slot;
        Some(e)
    }

    fn entry(&self, slot: usize, key: Node) -> Entry<E> {
        Entry {
            time: node_time(key),
            seq: node_seq(key),
            event: self.events[slot],
        }
    }

    /// The entries held, with their slots.
    pub(super) fn entries(&mut self) -> Vec<(usize, Entry<E>)> {
        self.mend();
        (0..self.leaves)
            .filter_map(|s| {
                let key = self.get(self.first_leaf + s);
                (key != EMPTY).then(|| (s, self.entry(s, key)))
            })
            .collect()
    }

    /// Gives slot `slot`'s entry sequence number `seq` (renumbering; call
    /// `rebuild` after the last).
    pub(super) fn set_seq(&mut self, slot: usize, seq: u32) {
        let leaf = self.first_leaf + slot;
        let key = self.get(leaf);
        self.set(leaf, node(node_time(key), seq, slot as u32));
    }

    /// Makes room for slot `slot`: a tree of 4 times as many leaves until
    /// it fits.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, slot: usize, filler: E) {
        let kept = self.entries();
        let mut leaves = self.leaves.max(4);
        while leaves <= slot {
            leaves *= 4;
        }
        self.leaves = leaves;
        self.first_leaf = (leaves - 1) / 3;
        self.groups = vec![Group([EMPTY; 4]); self.first_leaf];
        self.events.resize(leaves, filler);
        for (s, e) in kept {
            self.set(self.first_leaf + s, node(e.time, e.seq, s as u32));
        }
        self.rebuild();
    }

    /// Recomputes every inner node from the leaves.
    pub(super) fn rebuild(&mut self) {
        self.vacated = NONE;
        for p in (0..self.first_leaf).rev() {
            let g = &self.groups[p].0;
            let key = earlier(earlier(g[0], g[1]), earlier(g[2], g[3]));
            self.set(p, key);
        }
        if self.first_leaf == 0 {
            self.root = EMPTY;
        }
    }
}

//! A queue in fixed-size blocks.
//!
//! A replication log is a queue that may grow to a hundred thousand
//! entries while a destination is away, then drains. A `VecDeque` grows by
//! doubling: each doubling maps a fresh buffer twice the size (whose pages
//! the system must zero when first touched) and copies everything into it.
//! [`Blocks`] holds its elements in blocks of a fixed number of *slots*
//! instead: growth adds a block and never moves an element; a block
//! emptied at the front goes to a small pool of spare blocks and is the
//! next one filled at the back, so a queue that stays about the same
//! length keeps writing into memory it has already touched. At most
//! [`SPARE`] blocks wait in the pool; the rest are freed, so memory still
//! falls when a long queue drains.
//!
//! A slot holds `stride` elements, the same number in every slot: one for
//! a queue of entries, `width` for the entries' meta vectors, whose queue
//! then finds slot `i` by the same block and offset arithmetic. Slot `i`
//! (counted from the front) is found in O(1).

use std::collections::VecDeque;

use super::huge;

/// Emptied blocks a queue keeps for reuse, at most.
pub const SPARE: usize = 2;

/// A queue of slots of `stride` elements each, in blocks of
/// `2^shift` slots.
pub struct Blocks<T> {
    /// Every block is full but the last; the first one's first `head`
    /// slots are gone.
    blocks: VecDeque<Vec<T>>,
    head: usize,
    /// Slots held.
    len: usize,
    stride: usize,
    shift: u32,
    /// Emptied blocks, length 0 and room for a block (at most `SPARE`).
    spare: Vec<Vec<T>>,
}

impl<T: Copy> Blocks<T> {
    /// An empty queue of `stride` elements per slot, `block_slots` slots
    /// (a power of two) per block. Allocates nothing until the first push.
    pub fn new(stride: usize, block_slots: usize) -> Blocks<T> {
        assert!(stride > 0, "a slot holds at least one element");
        assert!(
            block_slots.is_power_of_two(),
            "{block_slots} slots per block: not a power of two"
        );
        Blocks {
            blocks: VecDeque::new(),
            head: 0,
            len: 0,
            stride,
            shift: block_slots.trailing_zeros(),
            spare: Vec::new(),
        }
    }

    /// Slots held.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Elements a full block holds.
    #[inline]
    fn block_len(&self) -> usize {
        self.stride << self.shift
    }

    /// The block and the element offset in it of slot `i` (which may be
    /// `len`: where the next push goes).
    #[inline]
    fn locate(&self, i: usize) -> (usize, usize) {
        let j = self.head + i;
        (j >> self.shift, (j & ((1 << self.shift) - 1)) * self.stride)
    }

    /// Appends one slot: `items` holds `stride` elements.
    #[inline]
    pub fn push_back(&mut self, items: &[T]) {
        debug_assert_eq!(items.len(), self.stride);
        let full = self.block_len();
        if let Some(b) = self.blocks.back_mut()
            && b.len() < full
        {
            // Never past the block's capacity: no reallocation.
            b.extend_from_slice(items);
        } else {
            self.push_block(items);
        }
        self.len += 1;
    }

    /// Starts a new block at the back with `items`: a spare one if any.
    #[cold]
    #[inline(never)]
    fn push_block(&mut self, items: &[T]) {
        let full = self.block_len();
        let mut b = self
            .spare
            .pop()
            .unwrap_or_else(|| huge::with_capacity(full));
        debug_assert!(b.is_empty() && b.capacity() >= full);
        b.extend_from_slice(items);
        self.blocks.push_back(b);
    }

    /// Drops the first `n` slots (at most `len`). Blocks emptied go to the
    /// spare pool; a queue left empty starts again at the front of the
    /// block it keeps.
    #[inline]
    pub fn pop_front(&mut self, n: usize) {
        assert!(n <= self.len, "{n} slots popped of {}", self.len);
        self.len -= n;
        if self.len == 0 {
            self.restart();
            return;
        }
        self.head += n;
        while self.head >> self.shift != 0 {
            // Not the last block: slots follow it.
            let b = self.blocks.pop_front().expect("a block holds the head");
            self.head -= 1 << self.shift;
            self.release(b);
        }
    }

    /// Empty: keeps one block, emptied, to write at its front.
    fn restart(&mut self) {
        while self.blocks.len() > 1 {
            let b = self.blocks.pop_back().expect("more than one block");
            self.release(b);
        }
        if let Some(b) = self.blocks.front_mut() {
            b.clear();
        }
        self.head = 0;
    }

    fn release(&mut self, mut b: Vec<T>) {
        if self.spare.len() < SPARE {
            b.clear();
            self.spare.push(b);
        }
    }

    /// The `stride` elements of slot `i`.
    #[inline]
    pub fn slot(&self, i: usize) -> &[T] {
        assert!(i < self.len, "slot {i} of {}", self.len);
        let (b, o) = self.locate(i);
        &self.blocks[b][o..o + self.stride]
    }

    /// The first element of slot `i`, if the queue holds it (the element
    /// itself when slots hold one).
    #[inline]
    pub fn get(&self, i: usize) -> Option<&T> {
        if i >= self.len {
            return None;
        }
        let (b, o) = self.locate(i);
        Some(&self.blocks[b][o])
    }

    #[inline]
    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        if i >= self.len {
            return None;
        }
        let (b, o) = self.locate(i);
        Some(&mut self.blocks[b][o])
    }

    /// The elements of slot `i` and every slot after it, in order (none
    /// when `i >= len`).
    pub fn items_from(&self, i: usize) -> impl Iterator<Item = &T> {
        let (b, o) = self.locate(i.min(self.len));
        self.blocks
            .range(b.min(self.blocks.len())..)
            .enumerate()
            .flat_map(move |(k, block)| if k == 0 { &block[o..] } else { &block[..] })
    }

    /// Blocks held, in use and spare (for tests and memory estimates).
    pub fn blocks(&self) -> (usize, usize) {
        (self.blocks.len(), self.spare.len())
    }
}

/// The first element of slot `i` (the element itself when slots hold
/// one); panics past the end, as a slice does.
impl<T: Copy> std::ops::Index<usize> for Blocks<T> {
    type Output = T;

    #[inline]
    fn index(&self, i: usize) -> &T {
        match self.get(i) {
            Some(x) => x,
            None => panic!("slot {i} of {}", self.len),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slots of `q` as (first element) numbers, via `get` and `slot`,
    /// checked against each other and against `items_from`.
    fn contents(q: &Blocks<u32>) -> Vec<u32> {
        let got: Vec<u32> = (0..q.len()).map(|i| *q.get(i).unwrap()).collect();
        assert!((0..q.len()).all(|i| q[i] == got[i]));
        for (i, &x) in got.iter().enumerate() {
            let s = q.slot(i);
            assert_eq!(s.len(), q.stride);
            assert_eq!(s[0], x);
            assert!(s.iter().enumerate().all(|(k, &y)| y == x + k as u32));
        }
        let flat: Vec<u32> = q.items_from(0).copied().collect();
        assert_eq!(flat.len(), q.len() * q.stride);
        assert!(flat.iter().step_by(q.stride).eq(got.iter()));
        assert_eq!(q.get(q.len()), None);
        got
    }

    fn push(q: &mut Blocks<u32>, x: u32) {
        let items: Vec<u32> = (0..q.stride as u32).map(|k| x + k).collect();
        q.push_back(&items);
    }

    /// Slots cross block boundaries both ways and keep their order; the
    /// element offsets of a 3-wide slot are those of the slot index.
    #[test]
    fn push_and_pop_across_blocks() {
        let mut q = Blocks::new(3, 4);
        assert_eq!(q.blocks(), (0, 0), "nothing allocated before a push");
        for x in 0..10 {
            push(&mut q, 100 * x);
        }
        // 10 slots in blocks of 4: 4 + 4 + 2.
        assert_eq!(q.blocks(), (3, 0));
        assert_eq!(contents(&q), (0..10).map(|x| 100 * x).collect::<Vec<_>>());
        assert_eq!(q.slot(5), [500, 501, 502]);
        // Pop 5: the first block is emptied (to the pool), the head is at
        // offset 1 of the second.
        q.pop_front(5);
        assert_eq!(q.blocks(), (2, 1));
        assert_eq!(contents(&q), [500, 600, 700, 800, 900]);
        assert_eq!(*q.get(0).unwrap(), 500);
        assert_eq!(
            q.items_from(4).copied().collect::<Vec<_>>(),
            [900, 901, 902]
        );
        assert_eq!(q.items_from(5).count(), 0);
        assert_eq!(q.items_from(99).count(), 0);
        *q.get_mut(1).unwrap() = 7;
        assert_eq!((q[1], q.slot(1)), (7, &[7, 601, 602][..]));
        assert_eq!(q.get_mut(5), None);
    }

    /// Emptied blocks are reused at the back before any new one is
    /// allocated: a queue held at about one block's length cycles through
    /// the same two or three blocks forever.
    #[test]
    fn freed_blocks_are_reused() {
        let mut q = Blocks::new(1, 8);
        let mut next_in = 0;
        let mut next_out = 0;
        let mut addresses = std::collections::BTreeSet::new();
        for _ in 0..1000 {
            for _ in 0..3 {
                push(&mut q, next_in);
                next_in += 1;
            }
            addresses.insert(q.blocks.back().unwrap().as_ptr() as usize);
            if q.len() > 6 {
                q.pop_front(3);
                next_out += 3;
            }
            let (used, spare) = q.blocks();
            assert!(used + spare <= 3, "{used} + {spare} blocks");
        }
        assert_eq!(contents(&q), (next_out..next_in).collect::<Vec<_>>());
        assert!(addresses.len() <= 3, "{} blocks written", addresses.len());
    }

    /// A long queue that drains keeps `SPARE` blocks, not all of them; one
    /// left empty starts again at the front of its block.
    #[test]
    fn the_spare_pool_is_bounded() {
        let mut q = Blocks::new(2, 4);
        for x in 0..40 {
            push(&mut q, 10 * x);
        }
        assert_eq!(q.blocks(), (10, 0));
        q.pop_front(30);
        assert_eq!(q.blocks(), (3, SPARE), "7 emptied, 2 kept");
        assert_eq!(contents(&q)[0], 300);
        q.pop_front(10);
        assert!(q.is_empty());
        assert_eq!(q.blocks(), (1, SPARE));
        assert_eq!((q.head, q.blocks[0].len()), (0, 0));
        push(&mut q, 5);
        assert_eq!(contents(&q), [5]);
        assert_eq!(q.blocks(), (1, SPARE), "written at the kept block's front");
    }

    /// Popping within one block, a whole block at once, and all at once;
    /// popping more than is held is refused.
    #[test]
    fn pop_counts() {
        let mut q = Blocks::new(1, 2);
        for x in 0..7 {
            push(&mut q, x);
        }
        q.pop_front(1);
        assert_eq!(contents(&q), [1, 2, 3, 4, 5, 6]);
        q.pop_front(2);
        assert_eq!((q.head, q.blocks().0), (1, 3));
        assert_eq!(contents(&q), [3, 4, 5, 6]);
        q.pop_front(0);
        assert_eq!(contents(&q), [3, 4, 5, 6]);
        q.pop_front(4);
        assert_eq!(contents(&q), Vec::<u32>::new());
        let r = std::panic::catch_unwind(move || {
            let mut q = Blocks::new(1, 2);
            push(&mut q, 1);
            q.pop_front(2);
        });
        assert!(r.is_err());
    }

    #[test]
    #[should_panic(expected = "not a power of two")]
    fn block_slots_are_a_power_of_two() {
        let _ = Blocks::<u32>::new(1, 6);
    }
}

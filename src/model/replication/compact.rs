//! Log compaction: what only blocked streams still need keeps the latest
//! write of each key (see the parent module).

use std::collections::VecDeque;

use super::{At, Replication};
use crate::ids::DcId;

impl Replication {
    /// Compacts the part of `src`'s log only blocked streams still need, if
    /// the log holds more than `compact_after` entries: of the writes to one
    /// key only the latest stays. Looks again `compact_after / 4` entries on.
    #[cold]
    #[inline(never)]
    pub(super) fn compact(&mut self, src: usize) {
        // First what every stream applied goes, as if trims followed each
        // apply: what is compacted never depends on when the last trim ran.
        self.trim(DcId(src as u16));
        let n = self.n;
        let log = &mut self.logs[src];
        let end = log.end();
        log.check_at = end.saturating_add((self.compact_after / 4).max(1));
        if log.entries.len() as u64 <= self.compact_after {
            return;
        }
        let streams = &mut self.streams[src * n..(src + 1) * n];
        let upto = streams
            .iter()
            .enumerate()
            .filter(|&(d, st)| d != src && !st.blocked)
            .map(|(_, st)| st.next_apply)
            .min()
            .unwrap_or(end);
        if upto <= log.base {
            return; // live streams lag: nothing is held by blocked ones only
        }
        // A blocked stream about to lose its head keeps the head's time:
        // its oldest unapplied write stays the one it was.
        for (d, st) in streams.iter_mut().enumerate() {
            if d != src && st.next_apply < upto && st.since.is_none() {
                st.since = log.entry(log.next_at(st.next_apply)).map(|e| e.written);
            }
        }
        let words = self.keys.div_ceil(64) as usize;
        if self.seen.len() < words {
            self.seen.resize(words, 0);
        }
        // Newest first: the first entry seen of a key is its latest.
        let take = (upto - log.base) as usize;
        let newer = (0..take).rev().map(|i| (log.base + i as u64, At::New(i)));
        let older = (0..log.old.len())
            .rev()
            .map(|i| (log.old_index[i], At::Old(i)));
        let mut kept = Vec::new();
        for (at, where_) in newer.chain(older) {
            let key = match where_ {
                At::New(i) => log.entries[i].write.key,
                At::Old(i) => log.old[i].write.key,
            };
            let (word, bit) = ((key / 64) as usize, 1u64 << (key % 64));
            if self.seen[word] & bit != 0 {
                continue;
            }
            self.seen[word] |= bit;
            kept.push((at, where_));
        }
        // Then oldest first, into queues of the size they take.
        let w = self.width;
        let mut old = VecDeque::with_capacity(kept.len());
        let mut index = VecDeque::with_capacity(kept.len());
        let mut vvs = VecDeque::with_capacity(kept.len() * w);
        for &(at, where_) in kept.iter().rev() {
            let e = match where_ {
                At::New(i) => {
                    vvs.extend(log.vvs.slot(i).iter().copied());
                    log.entries[i]
                }
                At::Old(i) => {
                    vvs.extend(log.old_vvs.range(i * w..(i + 1) * w).copied());
                    log.old[i]
                }
            };
            self.seen[(e.write.key / 64) as usize] = 0;
            old.push_back(e);
            index.push_back(at);
        }
        log.entries.pop_front(take);
        log.vvs.pop_front(take);
        log.base = upto;
        log.old = old;
        log.old_index = index;
        log.old_vvs = vvs;
    }
}

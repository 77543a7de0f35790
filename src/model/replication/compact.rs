//! Log compaction: what only blocked streams still need keeps the latest
//! write of each key (see the parent module).

use std::collections::VecDeque;

use super::Replication;

impl Replication {
    /// Compacts the part of `src`'s log only blocked streams still need, if
    /// the log holds more than `compact_after` entries: of the writes to one
    /// key only the latest stays. Looks again `compact_after / 4` entries on.
    #[cold]
    #[inline(never)]
    pub(super) fn compact(&mut self, src: usize) {
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
        let w = self.width;
        let take = (upto - log.base) as usize;
        let (mut old, mut index, mut vvs) = (VecDeque::new(), VecDeque::new(), VecDeque::new());
        let newer = (0..take).rev().map(|i| {
            (
                log.base + i as u64,
                &log.entries[i],
                log.vvs.range(i * w..(i + 1) * w),
            )
        });
        let older = (0..log.old.len()).rev().map(|i| {
            (
                log.old_index[i],
                &log.old[i],
                log.old_vvs.range(i * w..(i + 1) * w),
            )
        });
        for (at, e, meta) in newer.chain(older) {
            let (word, bit) = ((e.write.key / 64) as usize, 1u64 << (e.write.key % 64));
            if self.seen[word] & bit != 0 {
                continue;
            }
            self.seen[word] |= bit;
            old.push_front(*e);
            index.push_front(at);
            for &m in meta.rev() {
                vvs.push_front(m);
            }
        }
        for e in &old {
            self.seen[(e.write.key / 64) as usize] = 0;
        }
        log.entries.drain(..take);
        log.vvs.drain(..take * w);
        log.base = upto;
        log.old = old;
        log.old_index = index;
        log.old_vvs = vvs;
    }
}

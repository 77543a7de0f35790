//! The log and its streams, alone.

use super::*;
use crate::model::storage::{NO_RECORD, VersionId};

fn entry(seq: u32) -> LogEntry {
    keyed(0, seq)
}

fn keyed(key: u32, seq: u32) -> LogEntry {
    LogEntry {
        write: WriteRec {
            key,
            origin: DcId(0),
            seq,
            ts: 0,
            based_on: VersionId::INITIAL,
            rec: NO_RECORD,
        },
        written: SimTime(0),
        waiting: None,
        conflicted: false,
        acked: false,
    }
}

/// An entry leaves the log once both of its streams applied it, by
/// their own applies or by a recovery that took the laggard's.
#[test]
fn the_log_drops_what_every_stream_applied() {
    // Blocks of 2 entries: entries 0..4 span two blocks, and trimming frees them.
    for slots in [2, BLOCK_SLOTS] {
        let mut r = Replication::new(3, 6, None).with_block_slots(slots);
        r.set_trim_every(1);
        let (a, b, c) = (DcId(0), DcId(1), DcId(2));
        for seq in 1..=4 {
            r.append(entry(seq), &[0; 6]);
        }
        let (ab, ac) = (r.stream_id(a, b), r.stream_id(a, c));
        let apply = |r: &mut Replication, s: StreamId, at: u64| {
            let next = r.ship(s, SimTime(at), || 1);
            let epoch = next.map_or(0, |n| n.epoch);
            let i = r.take_head(s, epoch, SimTime(at + 1));
            r.after_apply(s);
            i.map(|h| h.index)
        };
        assert_eq!(apply(&mut r, ab, 0), Some(0));
        assert_eq!(apply(&mut r, ab, 2), Some(1));
        assert_eq!(r.logs[0].entries.len(), 4, "c applied nothing yet");
        assert_eq!(apply(&mut r, ac, 4), Some(0));
        assert_eq!((r.logs[0].base, r.logs[0].entries.len()), (1, 3));
        // c is cut off; a recovery hands it entries 1..4 directly.
        r.set_blocked(ac, true);
        let got: Vec<u64> = std::iter::from_fn(|| r.take_recovered(a, c, 4))
            .map(|h| h.index)
            .collect();
        assert_eq!(got, vec![1, 2, 3]);
        assert_eq!(r.logs[0].base, 2, "b's head (entry 2) still holds the rest");
        assert_eq!(apply(&mut r, ab, 6), Some(2));
        assert_eq!(apply(&mut r, ab, 8), Some(3));
        assert_eq!((r.logs[0].base, r.logs[0].entries.len()), (4, 0));
    }
}

/// The log drops what every stream applied in batches: the stream the
/// last trim found lagging triggers the next once it is `every` entries
/// past the log's first; the others never scan.
#[test]
fn the_lagging_stream_trims_the_log_in_batches() {
    let every = 16;
    let mut r = Replication::new(3, 6, None);
    r.set_trim_every(every);
    let (a, b, c) = (DcId(0), DcId(1), DcId(2));
    let (ab, ac) = (r.stream_id(a, b), r.stream_id(a, c));
    for seq in 1..=40 {
        r.append(entry(seq), &[0; 6]);
    }
    let apply = |r: &mut Replication, s: StreamId, n: u64| {
        for _ in 0..n {
            let epoch = r.ship(s, SimTime(0), || 1).map_or(0, |n| n.epoch);
            r.take_head(s, epoch, SimTime(1)).expect("a head");
            r.after_apply(s);
        }
    };
    // (stream, applies, then (base, entries held), why). c applies 10;
    // the first trim waits for b, lagging before any trim.
    let steps = [
        (ac, 10, (0, 40), "b lags at 0"),
        (ab, 15, (0, 40), "b is 15 entries on"),
        (ab, 1, (10, 30), "b at 16 trims up to c, which lags now"),
        (ab, 24, (10, 30), "b is ahead: it never trims"),
        (ac, 15, (10, 30), "c is 15 entries on"),
        (ac, 1, (26, 14), "c at 26 = 10 + 16"),
        (ac, 14, (26, 14), "fewer than 16 applied entries wait"),
    ];
    for (stream, n, held, why) in steps {
        apply(&mut r, stream, n);
        assert_eq!((r.logs[0].base, r.logs[0].entries.len()), held, "{why}");
    }
    assert_eq!(r.backlog(a, b) + r.backlog(a, c), 0);
}

/// Past the bound, what only a blocked stream holds keeps the latest
/// write of each key, at its own index; the stream, unblocked, ships
/// those in order and then the rest; once it applied them the log holds
/// nothing more (at its next trim, when trims come in batches). What is
/// compacted is the same with trims after each apply or in batches.
#[test]
fn a_blocked_stream_keeps_the_latest_write_per_key_past_the_bound() {
    // Blocks of 2 entries: compaction reads entries and vectors across blocks.
    for (slots, every) in [
        (2, 1),
        (BLOCK_SLOTS, 1),
        (2, TRIM_EVERY),
        (BLOCK_SLOTS, TRIM_EVERY),
    ] {
        let mut r = Replication::new(3, 6, None)
            .compacting(4, 10)
            .with_block_slots(slots);
        r.set_trim_every(every);
        let (a, b, c) = (DcId(0), DcId(1), DcId(2));
        let (ab, ac) = (r.stream_id(a, b), r.stream_id(a, c));
        r.set_blocked(ac, true);
        let t = |i: u64| SimTime(i * 10);
        // Keys 1, 2, 1, 3, 1, 2 at indices 0..6; b applies each at once.
        for (i, key) in [1, 2, 1, 3, 1, 2].into_iter().enumerate() {
            let mut e = keyed(key, i as u32 + 1);
            e.written = t(i as u64);
            r.append(e, &[i as u32; 6]);
            let epoch = r.ship(ab, t(i as u64), || 1).map_or(0, |n| n.epoch);
            let h = r.take_head(ab, epoch, t(i as u64 + 1));
            assert_eq!(h, Some(Head::at(i as u64)));
            r.after_apply(ab);
        }
        // The fifth append found five entries, 0..4 applied by b: of those
        // (keys 1, 2, 1, 3) stay 1 (key 2), 2 (key 1) and 3 (key 3), with
        // their meta vectors; the sixth found two, under the bound.
        let log = &r.logs[0];
        assert_eq!(log.old_index, [1, 2, 3]);
        assert_eq!((log.base, log.end()), (4, 6));
        assert_eq!(
            log.old_vvs.iter().step_by(6).collect::<Vec<_>>(),
            [&1, &2, &3]
        );
        assert_eq!(r.backlog(a, c), 5);
        // c's oldest unapplied write is still entry 0's, superseded or not.
        assert_eq!(r.oldest_unapplied(c), Some(t(0)));
        assert_eq!(r.lag(ac, t(100)), 1000);
        // c comes back: it applies 1, 2, 3, 4 and 5, skipping 0.
        r.set_blocked(ac, false);
        let mut got = Vec::new();
        let mut next = r.ship(ac, t(100), || 1);
        while let Some(n) = next {
            let h = r.take_head(ac, n.epoch, n.at).expect("a valid head");
            let key = r.logs[0].entry(h.index).map(|e| e.write.key);
            got.push((h.from, h.index, key.unwrap()));
            next = r.after_apply(ac);
        }
        assert_eq!(got, [(0, 1, 2), (2, 2, 1), (3, 3, 3), (4, 4, 1), (5, 5, 2)]);
        assert_eq!(r.oldest_unapplied(c), None);
        assert_eq!(r.lag(ac, t(200)), 0);
        if every > 1 {
            // c's trim waits until it is `every` entries on.
            assert_eq!(r.logs[0].old_index, [1, 2, 3]);
            assert_eq!((r.logs[0].base, r.logs[0].end()), (4, 6));
            r.trim(a);
        }
        let log = &r.logs[0];
        assert!(log.old.is_empty() && log.entries.is_empty() && log.old_vvs.is_empty());
        assert_eq!(log.base, 6);
    }
}

/// Below the bound, or while a live stream still needs the entries,
/// nothing is compacted.
#[test]
fn nothing_is_compacted_that_a_live_stream_needs() {
    let mut r = Replication::new(3, 6, None).compacting(2, 10);
    let (a, c) = (DcId(0), DcId(2));
    r.set_blocked(r.stream_id(a, c), true);
    for seq in 1..=5 {
        r.append(entry(seq), &[0; 6]);
    }
    // b (live) has applied nothing: all five stay.
    assert_eq!((r.logs[0].base, r.logs[0].entries.len()), (0, 5));
    assert!(r.logs[0].old.is_empty());
    assert_eq!(r.backlog(a, c), 5);
}

/// With blocks of two entries, a log that grows while one stream lags,
/// and drains, keeps each entry with its own meta vector across block
/// boundaries; once drained it holds one block (emptied) and its spare.
#[test]
fn entries_keep_their_vectors_across_blocks() {
    let mut r = Replication::new(3, 6, None).with_block_slots(2);
    r.set_trim_every(1);
    let (a, b, c) = (DcId(0), DcId(1), DcId(2));
    let (ab, ac) = (r.stream_id(a, b), r.stream_id(a, c));
    let meta = |i: u32| -> [u32; 6] { std::array::from_fn(|k| 10 * i + k as u32) };
    let apply = |r: &mut Replication, s: StreamId, at: u64| {
        let epoch = r.ship(s, SimTime(at), || 1).map_or(0, |n| n.epoch);
        let h = r.take_head(s, epoch, SimTime(at + 1)).expect("a head");
        r.after_apply(s);
        h.index
    };
    let check = |r: &Replication| {
        let log = &r.logs[0];
        for i in log.base..log.end() {
            let e = log.entry(i).expect("held");
            assert_eq!(e.write.seq as u64, i + 1);
            assert_eq!(log.vvs.slot((i - log.base) as usize), meta(i as u32));
        }
    };
    // b applies each entry at once; c one for every three appended.
    let mut t = 0;
    for i in 0..30u32 {
        assert_eq!(r.append(entry(i + 1), &meta(i)), i as u64);
        t += 10;
        assert_eq!(apply(&mut r, ab, t), i as u64);
        if i % 3 == 2 {
            assert_eq!(apply(&mut r, ac, t), (i / 3) as u64);
        }
        check(&r);
    }
    // c is 20 entries behind: ten blocks of two.
    assert_eq!((r.logs[0].base, r.logs[0].end()), (10, 30));
    assert_eq!(r.logs[0].entries.blocks().0, 10);
    for i in 10..30 {
        t += 10;
        assert_eq!(apply(&mut r, ac, t), i);
        check(&r);
    }
    let log = &r.logs[0];
    assert!(log.entries.is_empty() && log.vvs.is_empty());
    assert_eq!(log.entries.blocks(), (1, blocks::SPARE));
    assert_eq!(log.vvs.blocks(), (1, blocks::SPARE));
}

/// A log entry stays 56 bytes: the write's record number sits in what
/// was padding of `WriteRec`.
#[test]
fn log_entries_are_56_bytes() {
    assert_eq!(size_of::<WriteRec>(), 32);
    assert_eq!(size_of::<LogEntry>(), 56);
}

//! Each invariant check, made to fire inside a real world whose state a
//! test breaks on purpose: the checks are wired where the world acts, and
//! a correct run finds nothing.

use super::*;
use crate::kernel::run_until;
use crate::model::checker::Check;
use crate::model::replication::LogEntry;

/// The default scenario (3 DCs, async, a DC outage at 20 s), lenient.
fn world() -> (World, EventQueue<Event>) {
    let cfg = crate::scenario::load_default(&[]).expect("the default scenario is valid");
    let mut w = World::new(&cfg);
    w.checker.set_lenient();
    let mut q = EventQueue::new();
    w.start(&mut q);
    (w, q)
}

fn run_to(w: &mut World, q: &mut EventQueue<Event>, ms: u64) {
    run_until(w, q, SimTime(ms * 1_000_000), u64::MAX);
}

/// Violations of every check but `check`.
fn others(w: &World, check: Check) -> u64 {
    w.checker.violations() - w.checker.violations_of(check)
}

#[test]
fn a_correct_run_through_an_outage_finds_nothing() {
    let (mut w, mut q) = world();
    run_to(&mut w, &mut q, 45_000);
    w.settle(&mut q);
    assert!(w.metrics.totals.ok > 100_000);
    assert_eq!(w.checker.violations(), 0);
    assert_eq!(w.metrics.totals.invariant_violations, 0);
}

#[test]
fn a_miscounted_request_breaks_the_books_at_the_next_departure() {
    let (mut w, mut q) = world();
    run_to(&mut w, &mut q, 100);
    w.metrics.totals.ok += 1;
    run_to(&mut w, &mut q, 110);
    assert!(w.checker.violations_of(Check::RequestBooks) > 0);
    assert_eq!(others(&w, Check::RequestBooks), 0);
}

#[test]
fn an_entry_applied_out_of_order_is_caught_on_the_shared_apply_path() {
    let (mut w, _) = world();
    let (a, b) = (DcId(0), DcId(1));
    for _ in 0..2 {
        let write = w.storage.write_local(a, 0, 0);
        let logged = LogEntry {
            write,
            written: SimTime::ZERO,
            waiting: None,
            conflicted: false,
            acked: false,
        };
        let meta = w.storage.meta(a, 0).to_vec();
        w.repl.append(logged, &meta);
    }
    let stream = w.repl.stream_id(a, b);
    // Entry 1 before entry 0.
    w.split()
        .1
        .apply_replicated(SimTime::ZERO, stream, Head::at(1));
    assert_eq!(w.checker.violations_of(Check::ApplyOrder), 1);
    assert_eq!(others(&w, Check::ApplyOrder), 0);
}

#[test]
fn a_dc_marked_down_behind_the_worlds_back_still_acks_and_is_caught() {
    let (mut w, mut q) = world();
    run_to(&mut w, &mut q, 1_000);
    // Down without failing what it holds: its servers finish and ack.
    w.down[1] = 1;
    run_to(&mut w, &mut q, 1_050);
    assert!(w.checker.violations_of(Check::AckFromDownDc) > 0);
}

#[test]
fn a_table_handing_a_shard_to_a_down_dc_is_caught_when_published() {
    let (mut w, mut q) = world();
    let mut table = w.routing.authoritative().clone();
    let to = DcId((table.owners[0].0 + 1) % 3);
    table.owners[0] = to;
    w.down[to.idx()] = 1;
    let (ctl, mut p) = w.split();
    ctl.publish(SimTime::ZERO, table, &[], &mut p, &mut q);
    assert_eq!(w.checker.violations_of(Check::TableToDownDc), 1);
    assert_eq!(others(&w, Check::TableToDownDc), 0);
}

#[test]
fn an_event_scheduled_in_the_past_is_caught_at_the_end() {
    let (mut w, mut q) = world();
    run_to(&mut w, &mut q, 100);
    let holder = Holder::Dc(DcId(0));
    q.schedule(SimTime(1), Event::TableArrives { holder, version: 0 });
    run_to(&mut w, &mut q, 200);
    w.settle(&mut q);
    assert_eq!(w.checker.violations_of(Check::PastEvent), 1);
    assert_eq!(w.metrics.totals.invariant_violations, 1);
}

#[test]
fn a_global_key_beyond_32_bits_is_caught_not_wrapped() {
    let (mut w, _) = world();
    // The global dataset's keys follow the sharded ones.
    w.keys.set_first(w.n_datasets, u64::from(u32::MAX));
    let spec = RequestSpec {
        region: crate::ids::RegionId(0),
        key: 1,
        global: true,
        write: false,
        dataset: w.n_datasets,
    };
    // The readers that must not count (prefetch hints, read-your-writes)
    // skip the key; the last key that fits is found by both.
    assert_eq!(w.key_of_spec(&spec), None);
    let last = RequestSpec { key: 0, ..spec };
    assert_eq!(w.key_of_spec(&last), Some(u32::MAX));
    assert_eq!(w.checker.violations_of(Check::NarrowingCast), 0);
    assert_eq!(w.stored_key(&last), u32::MAX);
    assert_eq!(w.checker.violations_of(Check::NarrowingCast), 0);
    assert_eq!(w.stored_key(&spec), u32::MAX);
    assert_eq!(w.checker.violations_of(Check::NarrowingCast), 1);
}

#[test]
fn many_switchovers_keep_the_routing_versions_bounded() {
    let mut text = crate::scenario::DEFAULT_SCENARIO.to_string();
    for i in 0..200 {
        let to = ["bj", "sh"][i % 2];
        let at = 250 * i + 100;
        text.push_str(&format!(
            "\n[[fault]]\nkind = \"switchover\"\nshards = \"0-9\"\nto = \"{to}\"\nat = \"{at}ms\"\n"
        ));
    }
    let cfg = crate::scenario::load_str("<test>", "switchovers", &text, &[])
        .expect("the scenario is valid");
    let mut w = World::new(&cfg);
    let mut q = EventQueue::new();
    w.start(&mut q);
    let mut most = 0;
    for ms in (100..60_000).step_by(100) {
        run_to(&mut w, &mut q, ms);
        most = most.max(w.routing.kept_versions());
    }
    // A ban and a switch per switchover: 400 versions published, while
    // those kept are at most what one second of propagation holds back.
    assert!(w.routing.version() >= 400, "{}", w.routing.version());
    assert!(most <= 16, "{most} versions kept");
    w.settle(&mut q);
    assert_eq!(w.checker.violations(), 0);
}

/// Trimming the logs in batches changes nothing a run reports: the default
/// scenario, its outage compacting the logs of the streams to the dead DC
/// (`compact_after = 200`), runs to the same totals, lags and books with a
/// trim after every apply and with batches of 16.
#[test]
fn batched_trims_change_nothing_even_through_compaction() {
    let run = |every: u64| {
        let cfg = crate::scenario::load_default(&["replication.compact_after=200".to_string()])
            .expect("the default scenario is valid");
        let mut w = World::new(&cfg);
        w.repl.set_trim_every(every);
        let mut q = EventQueue::new();
        w.start(&mut q);
        run_to(&mut w, &mut q, 30_000);
        let compacted = w.repl.compacted();
        run_to(&mut w, &mut q, 45_000);
        w.settle(&mut q);
        w.metrics.close();
        // The streams' lag counts, digested (a mismatch prints 8 numbers,
        // not thousands of counts).
        let lags = {
            use std::hash::{DefaultHasher, Hash, Hasher};
            let mut h = DefaultHasher::new();
            format!("{:?}", w.metrics.streams).hash(&mut h);
            h.finish()
        };
        (compacted, w.metrics.totals, lags, q.scheduled())
    };
    let (eager, batched) = (run(1), run(crate::model::replication::TRIM_EVERY));
    assert!(eager.0 > 0, "the outage compacts the logs");
    assert_eq!(eager, batched);
}

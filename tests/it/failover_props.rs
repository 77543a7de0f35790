//! Property tests over random fault timelines that kill DCs and move shards
//! (with network faults and failing rule pushes mixed in), under random
//! entry and correction policies, data-leader elections, record fences,
//! lag-triggered write bans and two datasets (and sometimes a global one
//! with its own writer): accounting (per dataset too),
//! the controller's safety, and when the procedures guarantee no conflicts
//! and no lost writes.

use crate::common;

use multiactive::run;
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Case {
    n: usize,
    mode: &'static str,
    procedure: &'static str,
    /// `failover.fence` (used by `ban_then_switch` only).
    fence: &'static str,
    /// `replication.max_lag` in ms, if any.
    max_lag: Option<u32>,
    /// Two `[[dataset]]`s: one of `mode` (60%), one `async` (40%).
    classes: bool,
    /// With `classes`, a third, global `[[dataset]]` of `mode` (taking 30%
    /// of the first's share): its writer DC, and whether it reads locally.
    global: Option<(usize, bool)>,
    failback: bool,
    entry: &'static str,
    on_wrong_dc: &'static str,
    /// `replication.election_timeout` in ms (only under quorum and sync).
    election: Option<u32>,
    /// `routing.push_timeout` in ms; push_failure faults only with it.
    push_timeout: Option<u32>,
    /// (kind, dc or from, other dc, at ms, for ms (0: forever), shard)
    faults: Vec<(u8, usize, usize, u32, u32, u32)>,
    seed: u64,
}

fn case() -> impl Strategy<Value = Case> {
    (2usize..=4).prop_flat_map(|n| {
        (
            Just(n),
            prop::sample::select(vec!["async", "semi_sync", "quorum", "sync"]),
            prop::sample::select(vec!["switch", "ban_then_switch"]),
            prop::sample::select(vec!["shard", "record"]),
            prop::option::of(20u32..400),
            any::<bool>(),
            any::<bool>(),
            (
                prop::sample::select(vec!["nearest", "owner", "random"]),
                prop::sample::select(vec!["forward", "redirect", "serve_local", "reject"]),
                prop::option::of(0u32..1500),
                prop::option::of(50u32..400),
                prop::option::of((0..n, any::<bool>())),
            ),
            prop::collection::vec((0u8..7, 0..n, 0..n, 0u32..3000, 0u32..2500, 0u32..8), 1..4),
            any::<u64>(),
        )
            .prop_map(
                |(
                    n,
                    mode,
                    procedure,
                    fence,
                    max_lag,
                    classes,
                    failback,
                    (entry, wrong, election, push, global),
                    faults,
                    seed,
                )| {
                    let consensus = mode == "quorum" || mode == "sync";
                    Case {
                        n,
                        mode,
                        procedure,
                        fence: if procedure == "switch" {
                            "shard"
                        } else {
                            fence
                        },
                        max_lag,
                        classes,
                        global: global.filter(|_| classes),
                        failback,
                        entry,
                        on_wrong_dc: wrong,
                        election: election.filter(|_| consensus),
                        push_timeout: push,
                        faults,
                        seed,
                    }
                },
            )
    })
}

fn scenario(c: &Case) -> String {
    let election = c
        .election
        .map_or(String::new(), |e| format!("election_timeout = \"{e}ms\"\n"));
    let push = c.push_timeout.map_or(String::new(), |p| {
        format!("push_timeout = \"{p}ms\"\npush_retries = 2\n")
    });
    let extra = format!(
        "[sharding]\nshards = 8\n[routing]\npropagation = {{ dist = \"uniform\", min = \"0ms\", max = \"200ms\" }}\n\
         entry = \"{}\"\non_wrong_dc = \"{}\"\n{push}\
         [replication]\nmode = \"{}\"\nack_timeout = \"300ms\"\n{election}\
         {}[failover]\ndetect_after = \"300ms\"\ndecide_after = \"100ms\"\nprocedure = \"{}\"\nfence = \"{}\"\nmax_ban = \"500ms\"\nfailback = {}\n",
        c.entry,
        c.on_wrong_dc,
        c.mode,
        c.max_lag
            .map_or(String::new(), |l| format!("max_lag = \"{l}ms\"\n")),
        c.procedure,
        c.fence,
        c.failback
    );
    let mut s = common::mesh(c.n, 400.0, "3s", &extra)
        .replace("keys = 100000", "keys = 50")
        .replace(
            "drain = \"2s\"",
            &format!("drain = \"5s\"\nseed = {}", c.seed),
        );
    if c.classes {
        let strong = if c.global.is_some() { 0.3 } else { 0.6 };
        s += &format!(
            "\n[[dataset]]\nname = \"strong\"\nshare = {strong}\nmode = \"{}\"\n\n\
             [[dataset]]\nname = \"weak\"\nshare = 0.4\nmode = \"async\"\nlag_ban = false\n",
            c.mode
        );
    }
    if let Some((writer, local)) = c.global {
        let reads = if local { "local" } else { "owner" };
        s += &format!(
            "\n[[dataset]]\nname = \"stock\"\nshare = 0.3\nsharding = \"global\"\nkeys = 20\n\
             writer = \"dc{writer}\"\nreads = \"{reads}\"\nmode = \"{}\"\n",
            c.mode
        );
    }
    for &(kind, a, b, at, len, shard) in &c.faults {
        let b = if a == b { (b + 1) % c.n } else { b };
        let (da, db) = (format!("dc{a}"), format!("dc{b}"));
        let body = match kind {
            0 | 1 => format!("kind = \"dc_down\"\ndc = \"{da}\""),
            2 => format!("kind = \"switchover\"\nshards = \"{shard}\"\nto = \"{db}\""),
            3 => format!("kind = \"link_down\"\nbetween = [\"{da}\", \"{db}\"]"),
            4 => format!("kind = \"partition\"\ngroups = [[\"{da}\"], [\"{db}\"]]"),
            6 if c.push_timeout.is_some() => format!("kind = \"push_failure\"\ndc = \"{da}\""),
            _ => format!("kind = \"replication_stall\"\nfrom = \"{da}\"\nto = \"{db}\""),
        };
        // A DC may stay down to the end; other faults heal within 2.5 s.
        let dur = match (kind, len) {
            (2, _) => String::new(),
            (0, 0) => String::new(),
            _ => format!("for = \"{}ms\"\n", len.max(1)),
        };
        s += &format!("\n[[fault]]\n{body}\nat = \"{at}ms\"\n{dur}");
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn failover_invariants(c in case()) {
        check(&c, &[])?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The same with logs compacted past 10 entries.
    #[test]
    fn failover_invariants_with_compaction(c in case()) {
        check(&c, &["replication.compact_after=10"])?;
    }
}

fn check(c: &Case, sets: &[&str]) -> Result<(), TestCaseError> {
    let cfg = common::config(&scenario(c), sets);
    let o = run(&cfg);
    let t = o.metrics.totals;
    // Every request is counted exactly once.
    prop_assert_eq!(t.requests, t.ok + t.failed + t.rejected);
    // So is every dataset's, and the datasets add up to the totals.
    let d = &o.metrics.datasets;
    for x in d {
        prop_assert_eq!(x.requests, x.ok + x.failed + x.rejected);
    }
    prop_assert_eq!(d.iter().map(|x| x.requests).sum::<u64>(), t.requests);
    prop_assert_eq!(d.iter().map(|x| x.failed).sum::<u64>(), t.failed);
    prop_assert_eq!(d.iter().map(|x| x.conflicts).sum::<u64>(), t.conflicts);
    prop_assert_eq!(d.iter().map(|x| x.lost_writes).sum::<u64>(), t.lost_writes);
    // No DC that is down acknowledges a write (debug builds also assert it
    // where it would happen), and no table hands a shard to a dead DC.
    prop_assert_eq!(t.invariant_violations, 0);
    let f = &o.metrics.failures;
    // A shard's new owner that lacked some of its old owner's writes
    // when it took over (a dead source, or a ban cut short by max_ban)
    // gets them later, on top of newer writes: conflicts by design
    // (docs/concepts.md, "A dead DC"). Otherwise, with the ban waiting for
    // replication and one writer per shard (the guard on), nothing
    // conflicts.
    let lacked = f.iter().any(|r| r.stranded > 0 || r.ban_timed_out);
    // A DC a push did not reach, and a rollback, leave two writers per
    // shard for a while: conflicts and losses by design too.
    let pushes_failed = t.push_failures > 0;
    if c.procedure == "ban_then_switch" && !lacked && !pushes_failed {
        prop_assert_eq!(t.conflicts, 0, "{:?}", f);
    }
    // With majority (or all) acks, a single DC failure loses no
    // acknowledged write: the survivors hold each one.
    let deaths = f
        .iter()
        .filter(|r| r.kind == "dc_down" && r.started)
        .count();
    // (With two datasets, the one of that mode.)
    if (c.mode == "quorum" || c.mode == "sync") && deaths <= 1 && c.n >= 3 && !pushes_failed {
        let lost = if c.classes {
            d[0].lost_writes
        } else {
            t.lost_writes
        };
        prop_assert_eq!(lost, 0, "{:?}", f);
        // The global one of that mode too, even when its writer died.
        if c.global.is_some() {
            prop_assert_eq!(d[2].lost_writes, 0, "{:?}", f);
        }
    }
    // Each layer's corrections are counted only where it is used.
    if c.entry != "owner" {
        prop_assert_eq!(t.edge_corrected, 0);
    }
    if c.on_wrong_dc != "redirect" {
        prop_assert_eq!(t.redirected, 0);
    }
    if c.election.is_none() {
        prop_assert_eq!(t.no_leader, 0);
    }
    if c.push_timeout.is_none() {
        prop_assert_eq!((t.push_failures, t.push_rollbacks), (0, 0));
    }
    prop_assert!(t.no_leader <= t.rejected);
    // The same seed gives the same run.
    let again = run(&cfg);
    prop_assert_eq!(again.metrics.totals, t);
    prop_assert_eq!(&again.metrics.datasets, d);
    prop_assert_eq!(&again.metrics.failures, f);
    Ok(())
}

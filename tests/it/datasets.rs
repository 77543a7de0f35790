//! Data classes (`[[dataset]]`): datasets with their own replication mode in
//! one run, their counts against the totals, and one dataset as today's run.

use crate::common;

use multiactive::run;
use multiactive::scenario::Config;

/// `common::Sites::THREE` (b is a's nearest) with `a` dying for good at
/// 5 s, detected after 1 s and switched; every request writes; 100 hash
/// shards dealt round-robin.
fn three(extra: &str) -> String {
    let rest = format!(
        "{}[[fault]]\nkind = \"dc_down\"\ndc = \"a\"\nat = \"5s\"\n\n{extra}\n",
        writes_only(100)
    );
    common::Sites {
        rest: &rest,
        ..common::Sites::THREE
    }
    .text()
}

const TWO_CLASSES: &str = "[[dataset]]\nname = \"balance\"\nshare = 0.5\nmode = \"sync\"\n\n\
                           [[dataset]]\nname = \"orders\"\nshare = 0.5\nmode = \"async\"\n";

fn cfg(text: &str, sets: &[&str]) -> Config {
    common::config(text, sets)
}

#[test]
fn sync_dataset_loses_nothing_and_async_one_loses_rate_times_lag() {
    // a dies for good at 5 s. The sync dataset's writes were acknowledged
    // only once b and c applied them: none is lost. The async dataset's
    // writes of a's last 20 ms (the lag to b, its nearest, which takes
    // over) are: λ·d with λ = a's write rate on that dataset, half of a's.
    let text = three(TWO_CLASSES);
    let (mut got, mut want) = (0.0, 0.0);
    for seed in 0..20 {
        let o = run(&cfg(&text, &[&format!("simulation.seed={seed}")]));
        let m = &o.metrics;
        let (balance, orders) = (&m.datasets[0], &m.datasets[1]);
        assert_eq!(balance.lost_writes, 0, "seed {seed}: a sync write was lost");
        assert_eq!(m.datasets[2].requests, 0, "no global dataset here");
        let lambda = m.dcs[0].served as f64 / 5.0 * 0.5;
        got += orders.lost_writes as f64;
        want += lambda * 0.020;
        // Each dataset's counts add up to the totals.
        common::assert_datasets_add_up(m);
        let t = &m.totals;
        // Half the requests each, within sampling noise.
        let share = balance.requests as f64 / t.requests as f64;
        assert!((share - 0.5).abs() < 0.01, "seed {seed}: share {share}");
    }
    eprintln!(
        "orders: mean lost {:.2}, λ·d {:.2}",
        got / 20.0,
        want / 20.0
    );
    assert!(
        (got / want - 1.0).abs() < 0.10,
        "mean lost {:.2} vs λ·d {:.2}",
        got / 20.0,
        want / 20.0
    );
}

#[test]
fn one_dataset_is_todays_run() {
    // The same scenario with one [[dataset]] carrying today's mode and
    // write fraction runs exactly as without it.
    let plain = run(&cfg(&three("[replication]\nmode = \"semi_sync\"\n"), &[]));
    let one = run(&cfg(
        &three("[replication]\nmode = \"semi_sync\"\n\n[[dataset]]\nname = \"all\"\nshare = 1\n"),
        &[],
    ));
    assert_eq!(plain.metrics.totals, one.metrics.totals);
    assert_eq!(plain.metrics.failures, one.metrics.failures);
    assert_eq!(plain.events, one.events);
    assert!(plain.metrics.dataset_names.is_empty());
    assert_eq!(one.metrics.dataset_names, ["all"]);
}

/// Two cities, three DCs: hz1 and hz2 in Hangzhou (1 ms apart), sh in
/// Shanghai (15 ms from both); users by city, 1 ms from their city's DCs
/// and 15 ms from the other's. Every request writes; 99 hash shards dealt
/// round-robin.
fn two_cities(classes: &str, faults: &str) -> String {
    let rest = format!("{}{classes}\n{faults}\n", writes_only(99));
    common::Sites {
        dcs: &["hz1", "hz2", "sh"],
        regions: &["hz", "hz", "sh"],
        links: &["1ms", "15ms", "15ms"],
        far: "15ms",
        rest: &rest,
        ..common::Sites::THREE
    }
    .text()
}

const SAME_CITY_SYNC: &str =
    "[[dataset]]\nname = \"all\"\nshare = 1\nmode = \"async\"\nsame_region_mode = \"sync\"\n";
const ALL_ASYNC: &str = "[[dataset]]\nname = \"all\"\nshare = 1\nmode = \"async\"\n";
const HZ1_DIES: &str = "[[fault]]\nkind = \"dc_down\"\ndc = \"hz1\"\nat = \"5s\"\n";
const CITY_DIES: &str = "[[fault]]\nkind = \"dc_down\"\ndc = \"hz1\"\nat = \"5s\"\n\n\
                         [[fault]]\nkind = \"dc_down\"\ndc = \"hz2\"\nat = \"5s\"\n";

#[test]
fn same_city_sync_loses_nothing_when_one_city_dc_dies() {
    // hz1's writes are acknowledged once hz2 applied them; hz2, its nearest,
    // takes over: nothing acknowledged is lost. All-async loses hz1's last
    // millisecond (≈ 2 writes a run): the same runs without the split lose some.
    let (mut split_lost, mut async_lost) = (0, 0);
    for seed in 0..10 {
        let set = [format!("simulation.seed={seed}")];
        let sets: Vec<&str> = set.iter().map(String::as_str).collect();
        let o = run(&cfg(&two_cities(SAME_CITY_SYNC, HZ1_DIES), &sets));
        assert_eq!(o.metrics.failures[0].moved_to.map(|d| d.0), Some(1));
        assert_eq!(o.metrics.failures[0].rpo_writes, 0, "seed {seed}");
        split_lost += o.metrics.totals.lost_writes;
        assert_eq!(o.metrics.totals.invariant_violations, 0);
        let a = run(&cfg(&two_cities(ALL_ASYNC, HZ1_DIES), &sets));
        async_lost += a.metrics.totals.lost_writes;
    }
    assert_eq!(split_lost, 0);
    assert!(
        async_lost > 0,
        "the all-async runs lost nothing: the test is blind"
    );
}

#[test]
fn same_city_sync_loses_the_cross_city_lag_when_the_city_dies() {
    // Both Hangzhou DCs die at 5 s; sh takes over. What sh had not applied
    // of their acknowledged writes is lost: those of the cross-city lag
    // (15 ms) less the same-city round trip (2 ms: the writes of the last
    // 2 ms still waited for the other Hangzhou DC's ack and were never
    // acknowledged), λ·13 ms with λ the write rate of hz1 and hz2.
    let text = two_cities(SAME_CITY_SYNC, CITY_DIES);
    let (mut got, mut want) = (0.0, 0.0);
    for seed in 0..20 {
        let o = run(&cfg(&text, &[&format!("simulation.seed={seed}")]));
        let m = &o.metrics;
        let lambda = (m.dcs[0].served + m.dcs[1].served) as f64 / 5.0;
        got += m.totals.lost_writes as f64;
        want += lambda * 0.013;
        assert_eq!(m.totals.invariant_violations, 0);
    }
    eprintln!("city lost: mean {:.2}, λ·d {:.2}", got / 20.0, want / 20.0);
    assert!(
        (got / want - 1.0).abs() < 0.10,
        "mean lost {:.2} vs λ·d {:.2}",
        got / 20.0,
        want / 20.0
    );
}

/// 6,000 requests a second over 30,000 keys, every one a write; `shards`
/// hash shards; a dead DC is detected after 1 s and switched.
fn writes_only(shards: u32) -> String {
    format!(
        "[workload]\nkeys = 30000\nrate = 6000\nwrites = 1\n\n[sharding]\nshards = {shards}\n\n\
         [failover]\ndetect_after = \"1s\"\nprocedure = \"switch\"\n\n"
    )
}

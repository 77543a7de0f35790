//! Routing: how much traffic crosses DCs under each sharding and entry
//! policy, and exact latencies on a hand-computed topology.

use crate::common;

use multiactive::run;

fn forwarded_fraction(n: usize, extra: &str) -> f64 {
    let cfg = common::config(&common::mesh(n, 20_000.0, "10s", extra), &[]);
    let o = run(&cfg);
    let t = &o.metrics.totals;
    assert_eq!(t.requests, t.ok + t.failed + t.rejected);
    assert_eq!(t.ok, t.requests, "nothing fails or is rejected here");
    t.forwarded as f64 / t.requests as f64
}

#[test]
fn hash_sharding_with_nearest_entry_forwards_all_but_one_nth() {
    // Users uniform over N regions, shards spread round-robin over N DCs by
    // a hash unrelated to the region: a request's owner is its entry DC with
    // probability 1/N, so (N-1)/N are forwarded. 200k requests; within 1%.
    for n in [2, 3, 5] {
        let f = forwarded_fraction(n, "[sharding]\nkey = \"hash\"\nshards = 100");
        let want = (n as f64 - 1.0) / n as f64;
        assert!(
            (f / want - 1.0).abs() < 0.01,
            "N={n}: forwarded {f:.4}, expected {want:.4}"
        );
    }
}

#[test]
fn geo_sharding_with_by_region_placement_forwards_nothing() {
    let f = forwarded_fraction(4, "[sharding]\nkey = \"geo\"\nplacement = \"by_region\"");
    assert_eq!(f, 0.0);
}

#[test]
fn owner_entry_forwards_nothing() {
    let f = forwarded_fraction(
        4,
        "[sharding]\nkey = \"hash\"\n[routing]\nentry = \"owner\"",
    );
    assert_eq!(f, 0.0);
}

#[test]
fn range_sharding_with_round_robin_forwards_like_hash() {
    // Home regions are independent of user ids, so ranges behave like hashes.
    let f = forwarded_fraction(3, "[sharding]\nkey = \"range\"\nshards = 30");
    assert!((f / (2.0 / 3.0) - 1.0).abs() < 0.01, "forwarded {f:.4}");
}

#[test]
fn serve_local_misroutes_reads_and_the_guard_rejects_writes() {
    // 3 DCs, hash sharding: 2/3 of requests land at a non-owner. With
    // serve_local they execute there: reads are misrouted, and writes are
    // refused by the write guard (30% writes); without the guard, writes are
    // misrouted too.
    let base = "[sharding]\nkey = \"hash\"\n[routing]\non_wrong_dc = \"serve_local\"\n";
    let o = run(&common::config(
        &common::mesh(3, 20_000.0, "10s", base),
        &[],
    ));
    let t = o.metrics.totals;
    let n = t.requests as f64;
    assert_eq!(t.forwarded, 0);
    assert!(
        (t.guard_rejected as f64 / n / (0.3 * 2.0 / 3.0) - 1.0).abs() < 0.02,
        "{t:?}"
    );
    assert!(
        (t.misrouted as f64 / n / (0.7 * 2.0 / 3.0) - 1.0).abs() < 0.02,
        "{t:?}"
    );
    assert_eq!(t.requests, t.ok + t.rejected);

    let open = format!("{base}write_guard = false\n");
    let o = run(&common::config(
        &common::mesh(3, 20_000.0, "10s", &open),
        &[],
    ));
    let t = o.metrics.totals;
    assert_eq!(t.rejected, 0);
    assert!(
        (t.misrouted as f64 / t.requests as f64 / (2.0 / 3.0) - 1.0).abs() < 0.02,
        "{t:?}"
    );
}

#[test]
fn reject_policy_refuses_wrong_dc_traffic() {
    let extra = "[sharding]\nkey = \"hash\"\n[routing]\non_wrong_dc = \"reject\"\n";
    let o = run(&common::config(
        &common::mesh(2, 20_000.0, "10s", extra),
        &[],
    ));
    let t = o.metrics.totals;
    assert_eq!(t.requests, t.ok + t.rejected);
    assert!(
        (t.rejected as f64 / t.requests as f64 - 0.5).abs() < 0.01,
        "{t:?}"
    );
    assert_eq!(t.misrouted, 0);
}

/// Two DCs 10 ms apart, service time 1 ms, users 2 ms from their own DC
/// and 12 ms from the other, constant latencies: every latency can be
/// computed by hand.
fn tiny() -> String {
    common::Sites {
        duration: "2s",
        drain: "1s",
        dc_keys: "service_time = \"1ms\"\n",
        near: "2ms",
        far: "12ms",
        rest: "[workload]\nkeys = 1000\nrate = 500\nwrites = 0.5\n\n[sharding]\nkey = \"hash\"\nshards = 10\n",
        ..common::Sites::TWO
    }
    .text()
}

#[test]
fn hand_computed_latencies() {
    // Served at the entry DC: 2 (user→DC) + 1 (service) + 2 (back) = 5 ms.
    // Forwarded: 2 + 10 (a→b) + 1 + 10 (b→a) + 2 = 25 ms.
    let o = run(&common::config(&tiny(), &[]));
    let h = o.metrics.latency_all();
    let t = o.metrics.totals;
    assert_eq!(h.len(), t.ok);
    let five = h.count_between(4_990_000, 5_010_000);
    let twenty_five = h.count_between(24_970_000, 25_030_000);
    assert_eq!(five + twenty_five, t.ok, "every latency is 5 or 25 ms");
    assert_eq!(twenty_five, t.forwarded);
    assert!((h.min() as f64 / 5e6 - 1.0).abs() < 0.001);
    assert!((h.max() as f64 / 25e6 - 1.0).abs() < 0.001);

    // Entry at the owner, which each region reaches directly: local 5 ms,
    // remote owner 12 + 1 + 12 = 25 ms, and nothing is forwarded.
    let o = run(&common::config(&tiny(), &["routing.entry=owner"]));
    let h = o.metrics.latency_all();
    assert_eq!(o.metrics.totals.forwarded, 0);
    assert_eq!(
        h.count_between(4_990_000, 5_010_000) + h.count_between(24_970_000, 25_030_000),
        o.metrics.totals.ok
    );
}

#[test]
fn global_writes_go_to_the_global_owner_and_local_reads_stay_local() {
    // Every request is global; b owns the global dataset. Writes from ra
    // enter at a and are forwarded (25 ms); reads with global_reads = local
    // are served where they enter (5 ms) and are not misrouted.
    let sets = [
        "workload.global=1",
        "workload.global_writes=0.5",
        "sharding.global_owner=b",
        "sharding.global_reads=local",
    ];
    let o = run(&common::config(&tiny(), &sets));
    let t = o.metrics.totals;
    let reads = &o.metrics.latency[0];
    assert_eq!(reads.count_between(4_990_000, 5_010_000), reads.len());
    assert_eq!(t.misrouted, 0);
    // Half the writes come from ra and cross to b.
    let writes = o.metrics.latency[1].len() as f64;
    assert!((t.forwarded as f64 / writes - 0.5).abs() < 0.05, "{t:?}");
    assert_eq!(o.metrics.dcs[0].misrouted + o.metrics.dcs[1].misrouted, 0);
}

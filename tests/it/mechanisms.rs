//! The mechanisms of the real multi-active designs, each pinned to the
//! metrics: entry and correction in layers (random DNS entry, redirect),
//! leader election apart from the traffic switch, and rule pushes that fail,
//! are retried and rolled back.

use crate::common;

use multiactive::metrics::{BucketRow, Outcome};
use multiactive::run;

/// Two DCs 20 ms apart; region `ra` is 3 ms from `a` and 7 ms from `b`,
/// `rb` 9 ms from `a` and 1 ms from `b`. Servers unlimited, service time
/// 0, every latency constant. Keys 50-99 form shard 1, owned by `b`;
/// `ra`'s nearest DC is `a`.
fn two_dcs(routing: &str, requests: &str) -> String {
    let rest = format!(
        "[workload]\nkeys = 100\nrate = 0\n\n[sharding]\nkey = \"range\"\nshards = 2\n\n\
         [routing]\n{routing}\n\n{requests}\n"
    );
    common::Sites {
        duration: "1s",
        drain: "1s",
        links: &["20ms"],
        access: &[&["3ms", "7ms"], &["9ms", "1ms"]],
        rest: &rest,
        ..common::Sites::TWO
    }
    .text()
}

const WRONG_ENTRY: &str = r#"
[[request]]
at = "100ms"
region = "ra"
key = 99
write = true

[[request]]
at = "200ms"
region = "ra"
key = 98
"#;

/// The one latency every request of the run had, in nanoseconds.
fn only_latency(o: &Outcome) -> u64 {
    let all = o.metrics.latency_all();
    assert_eq!(all.len(), o.metrics.totals.ok, "every request is counted");
    let (lo, hi) = (all.min(), all.max());
    assert!(
        hi as f64 / lo as f64 - 1.0 < 0.002,
        "one latency expected, got {lo}..{hi}"
    );
    hi
}

fn near(got_ns: u64, want_ms: f64) -> bool {
    (got_ns as f64 / (want_ms * 1e6) - 1.0).abs() < 0.002
}

#[test]
fn redirect_pays_the_clients_access_to_the_owner_forward_pays_the_link() {
    // A write and a read from `ra` for shard 1 (owner `b`) enter at `a`.
    // Redirect: to a and back (2·3 ms), then to b and back (2·7 ms): 20 ms.
    // Forward: to a (3), a→b (20), b→a (20), back to the user (3): 46 ms.
    let redirect = run(&common::config(
        &two_dcs("on_wrong_dc = \"redirect\"", WRONG_ENTRY),
        &[],
    ));
    let t = redirect.metrics.totals;
    assert_eq!((t.requests, t.ok, t.redirected, t.forwarded), (2, 2, 2, 0));
    assert_eq!(t.misrouted, 0);
    let lat = only_latency(&redirect);
    assert!(near(lat, 2.0 * 3.0 + 2.0 * 7.0), "redirect took {lat} ns");
    // The redirect is counted at the DC that told the client.
    let at_a: u64 = (0..redirect.metrics.n_buckets)
        .map(|b| redirect.metrics.row(b, 0).redirected)
        .sum();
    assert_eq!(at_a, 2);

    let forward = run(&common::config(&two_dcs("", WRONG_ENTRY), &[]));
    let t = forward.metrics.totals;
    assert_eq!((t.requests, t.ok, t.redirected, t.forwarded), (2, 2, 0, 2));
    let lat = only_latency(&forward);
    assert!(near(lat, 2.0 * 3.0 + 2.0 * 20.0), "forward took {lat} ns");
}

#[test]
fn a_redirect_to_a_dc_the_client_cannot_reach_fails_as_unreachable() {
    let text = two_dcs("on_wrong_dc = \"redirect\"", WRONG_ENTRY).replace(
        "latency = { a = \"3ms\", b = \"7ms\" }",
        "latency = { a = \"3ms\" }",
    );
    let t = run(&common::config(&text, &[])).metrics.totals;
    assert_eq!(
        (t.requests, t.failed, t.unreachable, t.redirected),
        (2, 2, 2, 0)
    );
}

/// Fraction of requests the routers corrected (forwarded or redirected).
fn corrected_fraction(n: usize, extra: &str) -> (f64, Outcome) {
    let cfg = common::config(&common::mesh(n, 20_000.0, "10s", extra), &[]);
    let o = run(&cfg);
    let t = o.metrics.totals;
    assert_eq!(t.ok, t.requests, "nothing fails or is rejected here");
    ((t.forwarded + t.redirected) as f64 / t.requests as f64, o)
}

#[test]
fn random_entry_over_equal_dcs_corrects_all_but_one_nth() {
    // DNS picks any of N equal DCs (unlimited servers weigh alike), hash
    // sharding spreads owners evenly: a request lands at its owner with
    // probability 1/N. 200k requests; within one percentage point.
    for n in [2, 3, 5] {
        for wrong in ["forward", "redirect"] {
            let extra = format!(
                "[sharding]\nkey = \"hash\"\nshards = 100\n[routing]\nentry = \"random\"\non_wrong_dc = \"{wrong}\""
            );
            let (f, o) = corrected_fraction(n, &extra);
            let want = (n as f64 - 1.0) / n as f64;
            assert!(
                (f - want).abs() < 0.01,
                "N={n} {wrong}: corrected {f:.4}, expected {want:.4}"
            );
            let t = o.metrics.totals;
            let by_kind = if wrong == "forward" {
                t.redirected
            } else {
                t.forwarded
            };
            assert_eq!(by_kind, 0, "only the configured correction is used");
        }
    }
}

/// Requests that entered at each DC.
fn entered(o: &Outcome) -> Vec<u64> {
    (0..o.metrics.n_dcs)
        .map(|d| {
            (0..o.metrics.n_buckets)
                .map(|b| o.metrics.row(b, d).requests)
                .sum()
        })
        .collect()
}

#[test]
fn random_entry_is_weighted_by_servers_and_unlimited_weighs_as_the_largest() {
    // Servers 1, 3 and unlimited: weights 1, 3, 3 (unlimited counts as the
    // largest finite DC), so entry shares 1/7, 3/7, 3/7. Zero service time
    // keeps the finite DCs from queueing.
    let text = common::mesh(3, 20_000.0, "10s", "[routing]\nentry = \"random\"")
        .replace(
            "name = \"dc0\"\nregion = \"r0\"",
            "name = \"dc0\"\nregion = \"r0\"\nservers = 1",
        )
        .replace(
            "name = \"dc1\"\nregion = \"r1\"",
            "name = \"dc1\"\nregion = \"r1\"\nservers = 3",
        );
    let o = run(&common::config(&text, &[]));
    let e = entered(&o);
    let total: u64 = e.iter().sum();
    for (d, want) in [1.0 / 7.0, 3.0 / 7.0, 3.0 / 7.0].into_iter().enumerate() {
        let got = e[d] as f64 / total as f64;
        assert!((got - want).abs() < 0.01, "dc{d}: {got:.4} vs {want:.4}");
    }
}

#[test]
fn an_owner_edge_corrects_dns_before_any_router_does() {
    // With `entry = "owner"` the edge sends each request to its owner: the
    // region's nearest DC owns it for 1/N of requests, so the edge corrects
    // (N-1)/N and the routers nothing.
    let n = 4;
    let (f, o) = corrected_fraction(
        n,
        "[sharding]\nkey = \"hash\"\n[routing]\nentry = \"owner\"",
    );
    assert_eq!(f, 0.0);
    let t = o.metrics.totals;
    let edge = t.edge_corrected as f64 / t.requests as f64;
    assert!((edge - 0.75).abs() < 0.01, "edge corrected {edge:.4}");
    let per_bucket: u64 = (0..o.metrics.n_buckets)
        .flat_map(|b| (0..n).map(move |d| (b, d)))
        .map(|(b, d)| o.metrics.row(b, d).edge_corrected)
        .sum();
    assert_eq!(per_bucket, t.edge_corrected);
}

/// Three DCs 5 ms apart, users of `r1` 1 ms from `dc1`. Quorum replication,
/// `dc0` dies at 1 s; the controller switches (no ban) after 2 s of
/// detection, to `dc1` (nearest to `dc0`, first by order among equals).
/// A write to key 0 (shard 0, owned by `dc0`) from `r1` every 10 ms.
fn election_run(election: Option<&str>) -> Outcome {
    let mut requests = String::new();
    for i in 0..800 {
        requests += &format!(
            "[[request]]\nat = \"{}ms\"\nregion = \"r1\"\nkey = 0\nwrite = true\n\n",
            i * 10
        );
    }
    let election = election.map_or(String::new(), |e| format!("election_timeout = \"{e}\"\n"));
    let extra = format!(
        "[sharding]\nkey = \"range\"\nshards = 3\n\
         [replication]\nmode = \"quorum\"\n{election}\
         [failover]\ndetect_after = \"2s\"\nprocedure = \"switch\"\n\
         [[fault]]\nkind = \"dc_down\"\ndc = \"dc0\"\nat = \"1s\"\n\n{requests}"
    );
    let text = common::mesh(3, 0.0, "8s", &extra);
    run(&common::config(&text, &[]))
}

/// RTO of the one failure, in milliseconds.
fn rto_ms(o: &Outcome) -> f64 {
    let f = &o.metrics.failures[0];
    f.rto().0.expect("the shard recovered") as f64 / 1e6
}

#[test]
fn rto_is_the_later_of_the_controllers_switch_and_the_data_leaders_election() {
    // A write entering dc1 at t + 1 ms is served there once dc1 owns the
    // shard (switch at 2 s after the failure) and its leader exists; it is
    // acknowledged after the quorum ack from dc2 (5 + 5 ms) and answered
    // (1 ms): RTO = max(switch, election) + 11 ms + the wait for the next
    // write, under one inter-arrival (10 ms).
    for (election, later_ms) in [(None, 2000.0), (Some("1s"), 2000.0), (Some("5s"), 5000.0)] {
        let o = election_run(election);
        let rto = rto_ms(&o);
        assert!(
            rto >= later_ms + 11.0 - 1e-6 && rto < later_ms + 21.0,
            "election {election:?}: RTO {rto} ms, expected {later_ms} + 11..21"
        );
        let t = o.metrics.totals;
        assert_eq!(t.invariant_violations, 0);
        // Writes served by dc1 between the switch and the election are
        // refused and counted: one every 10 ms for 3 s.
        if election == Some("5s") {
            assert!((299..=301).contains(&t.no_leader), "{t:?}");
        } else {
            assert_eq!(t.no_leader, 0, "{election:?}");
        }
    }
}

/// Three DCs; two shards of 50 keys, shard 0 on dc0, shard 1 on dc1.
/// Shard 0 moves to dc1 at 2 s, while pushes to dc0 fail from 1 s for
/// `fault_for`. `routing` sets the push timeout and retries. Time buckets
/// of 500 ms.
fn push_run(fault_for: &str, routing: &str) -> Outcome {
    let extra = format!(
        "[sharding]\nkey = \"range\"\nshards = 2\n\
         [routing]\n{routing}\n\
         [failover]\nprocedure = \"switch\"\n\
         [[fault]]\nkind = \"switchover\"\nshards = \"0\"\nto = \"dc1\"\nat = \"2s\"\n\
         [[fault]]\nkind = \"push_failure\"\ndc = \"dc0\"\nat = \"1s\"\nfor = \"{fault_for}\"\n"
    );
    let text = common::mesh(3, 3_000.0, "8s", &extra)
        .replace("keys = 100000", "keys = 100")
        .replacen("[simulation]\n", "[simulation]\nbucket = \"500ms\"\n", 1);
    run(&common::config(&text, &[]))
}

const RETRIED: &str = "push_timeout = \"1s\"\npush_retries = 2";

/// Per bucket, `pick` of DC `dc`'s row.
fn per_bucket(o: &Outcome, dc: usize, pick: fn(&BucketRow) -> u64) -> Vec<u64> {
    (0..o.metrics.n_buckets)
        .map(|b| pick(o.metrics.row(b, dc)))
        .collect()
}

#[test]
fn a_failed_push_leaves_its_dc_misrouting_until_a_retry_reaches_it() {
    // The fault heals at 2.5 s: the push at 2 s fails, the retry at 3 s
    // arrives. dc0 keeps serving its users' shard-0 requests (≈ 250 per
    // bucket) as their owner from 2 s to 3 s, and not after.
    let o = push_run("1500ms", RETRIED);
    let t = o.metrics.totals;
    assert_eq!((t.push_failures, t.push_rollbacks), (1, 0));
    assert_eq!(t.invariant_violations, 0);
    let m = per_bucket(&o, 0, |r| r.misrouted);
    assert!(m[..4].iter().all(|&x| x == 0), "{m:?}");
    assert!(m[4] > 150 && m[5] > 150, "{m:?}");
    assert!(m[6..].iter().all(|&x| x == 0), "{m:?}");
    for d in [1, 2] {
        assert!(per_bucket(&o, d, |r| r.misrouted).iter().all(|&x| x == 0));
    }
}

#[test]
fn a_push_out_of_retries_is_rolled_back_to_the_old_owner() {
    // The fault outlasts the retries: the push at 2 s and its retries at 3
    // and 4 s fail; at 5 s the controller rolls back to dc0's table, which
    // gives shard 0 to dc0 again. Misrouting at dc0 stops then, and dc1,
    // which served shard 0 as its owner from 2 s, forwards it to dc0 again.
    let o = push_run("10s", RETRIED);
    let t = o.metrics.totals;
    assert_eq!((t.push_failures, t.push_rollbacks), (3, 1));
    assert_eq!(t.invariant_violations, 0);
    let m = per_bucket(&o, 0, |r| r.misrouted);
    assert!(m[4..10].iter().all(|&x| x > 150), "{m:?}");
    assert!(m[10..].iter().all(|&x| x == 0), "{m:?}");
    let fwd = per_bucket(&o, 1, |r| r.forwarded);
    assert!(fwd[..4].iter().all(|&x| x > 150), "{fwd:?}");
    assert!(fwd[4..10].iter().all(|&x| x == 0), "{fwd:?}");
    assert!(fwd[10..16].iter().all(|&x| x > 150), "{fwd:?}");
}

#[test]
fn a_push_timeout_longer_than_propagation_fails_nothing() {
    // Without a fault, pushes (propagation 0) arrive within any timeout.
    let text = common::mesh(
        3,
        3_000.0,
        "4s",
        "[sharding]\nkey = \"range\"\nshards = 2\n[routing]\npush_timeout = \"1s\"\n\
         [failover]\nprocedure = \"switch\"\n\
         [[fault]]\nkind = \"switchover\"\nshards = \"0\"\nto = \"dc1\"\nat = \"2s\"\n",
    );
    let t = run(&common::config(&text, &[])).metrics.totals;
    assert_eq!((t.push_failures, t.push_rollbacks, t.misrouted), (0, 0, 0));
}

#[test]
fn a_push_slower_than_its_timeout_fails_like_a_fault() {
    // Propagation 2 s, timeout 1 s, 2 retries: every attempt to dc1 and
    // dc2 is late (dc0, the source, takes it at once): 3 attempts each; at
    // 5 s dc1's retries are spent first and the rollback, whose own pushes
    // are not checked, replaces dc2's.
    let text = common::mesh(
        3,
        300.0,
        "8s",
        "[sharding]\nkey = \"range\"\nshards = 2\n\
         [routing]\npush_timeout = \"1s\"\npush_retries = 2\npropagation = \"2s\"\n\
         [failover]\nprocedure = \"switch\"\n\
         [[fault]]\nkind = \"switchover\"\nshards = \"0\"\nto = \"dc1\"\nat = \"2s\"\n",
    );
    let t = run(&common::config(&text, &[])).metrics.totals;
    assert_eq!(t.invariant_violations, 0);
    assert_eq!((t.push_failures, t.push_rollbacks), (6, 1), "{t:?}");
}

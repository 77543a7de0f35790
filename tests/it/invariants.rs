//! Property tests over random small scenarios: every request is counted
//! exactly once, the time series add up to the totals, and a seed fixes the
//! run.

use crate::common;

use multiactive::run;
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Params {
    n: usize,
    servers: Vec<Option<u32>>,
    queue: Option<u32>,
    service_us: u64,
    rate: u32,
    drain_ms: u64,
    wrong: &'static str,
    entry: &'static str,
    guard: bool,
    key: &'static str,
    placement: &'static str,
    global: f64,
    global_reads: &'static str,
    seed: u64,
}

fn params() -> impl Strategy<Value = Params> {
    (1usize..=4)
        .prop_flat_map(|n| {
            (
                (
                    Just(n),
                    prop::collection::vec(prop::option::of(1u32..4), n),
                    prop::option::of(0u32..4),
                    0u64..3_000,
                    100u32..4_000,
                    prop_oneof![Just(0u64), 0u64..100],
                ),
                prop::sample::select(vec!["forward", "serve_local", "reject"]),
                prop::sample::select(vec!["nearest", "owner"]),
                any::<bool>(),
                prop::sample::select(vec!["hash", "range", "geo"]),
                prop::sample::select(vec!["round_robin", "by_region"]),
                prop_oneof![Just(0.0), 0.0..1.0],
                prop::sample::select(vec!["owner", "local"]),
                any::<u64>(),
            )
        })
        .prop_map(
            |(
                (n, servers, queue, service_us, rate, drain_ms),
                wrong,
                entry,
                guard,
                key,
                placement,
                global,
                global_reads,
                seed,
            )| Params {
                n,
                servers,
                queue,
                service_us,
                rate,
                drain_ms,
                wrong,
                entry,
                guard,
                key,
                placement,
                global,
                global_reads,
                seed,
            },
        )
}

fn scenario(p: &Params) -> String {
    let mut s = common::mesh(
        p.n,
        p.rate as f64,
        "1s",
        &format!(
            "global = {}\n[sharding]\nkey = \"{}\"\nshards = 8\nplacement = \"{}\"\nglobal_reads = \"{}\"\n[routing]\nentry = \"{}\"\non_wrong_dc = \"{}\"\nwrite_guard = {}\n",
            p.global, p.key, p.placement, p.global_reads, p.entry, p.wrong, p.guard
        ),
    );
    s = s.replace(
        "drain = \"2s\"",
        &format!("drain = \"{}ms\"\nseed = {}", p.drain_ms, p.seed),
    );
    for (i, srv) in p.servers.iter().enumerate() {
        let mut dc = format!(
            "service_time = {{ dist = \"exp\", mean = \"{}us\" }}\n",
            p.service_us
        );
        if let Some(k) = srv {
            dc += &format!("servers = {k}\n");
        }
        if let Some(q) = p.queue {
            dc += &format!("queue = {q}\n");
        }
        s = s.replace(
            &format!("region = \"r{i}\"\n\n"),
            &format!("region = \"r{i}\"\n{dc}\n"),
        );
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_request_is_counted_once_and_buckets_add_up(p in params()) {
        let cfg = common::config(&scenario(&p), &[]);
        let o = run(&cfg);
        let t = o.metrics.totals;
        prop_assert_eq!(t.requests, t.ok + t.failed + t.rejected);
        prop_assert_eq!(t.invariant_violations, 0);
        prop_assert_eq!(t.failed, t.in_flight_at_end);
        prop_assert!(t.misrouted <= t.ok);
        let m = &o.metrics;
        let sum = |f: fn(&multiactive::metrics::BucketRow) -> u64| m.buckets.iter().map(f).sum::<u64>();
        prop_assert_eq!(sum(|r| r.requests), t.requests);
        prop_assert_eq!(sum(|r| r.ok), t.ok);
        prop_assert_eq!(sum(|r| r.failed), t.failed);
        prop_assert_eq!(sum(|r| r.rejected), t.rejected);
        prop_assert_eq!(sum(|r| r.misrouted), t.misrouted);
        prop_assert_eq!(sum(|r| r.forwarded), t.forwarded);
        prop_assert_eq!(m.latency_all().len(), t.ok);
        if p.wrong == "forward" || p.n == 1 {
            prop_assert_eq!(t.misrouted, 0);
        }
        if p.drain_ms >= 100 && p.servers.iter().all(Option::is_none) {
            // Nothing waits, so everything completes within 100 ms.
            prop_assert_eq!(t.failed, 0);
        }
        // The same seed gives the same run.
        let again = run(&cfg);
        prop_assert_eq!(again.metrics.totals, t);
        prop_assert_eq!(&again.metrics.buckets, &m.buckets);
    }
}

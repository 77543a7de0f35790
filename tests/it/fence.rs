//! The two ways to hold writes back for safety beyond the whole-shard ban:
//! Eleme's record fence during a move (`failover.fence = "record"`) and
//! MSHA's write ban while replication lags (`replication.max_lag`).

use crate::common;

use multiactive::run;
use multiactive::scenario::Config;

/// Two DCs a and b, one region each (users 1 ms from their DC, 10 ms from
/// the other), one link of `ab` one way; every request writes.
fn two(ab: &str, keys: u64, rate: f64, shards: u32, extra: &str) -> String {
    let rest = format!(
        "[workload]\nkeys = {keys}\nrate = {rate}\nwrites = 1\n\n[sharding]\nshards = {shards}\n\n{extra}\n"
    );
    common::Sites {
        duration: "7s",
        drain: "3s",
        links: &[ab],
        rest: &rest,
        ..common::Sites::TWO
    }
    .text()
}

fn cfg(text: &str, sets: &[&str]) -> Config {
    common::config(text, sets)
}

/// a's stream to b stalls at 2 s for good; a dies at 6 s and b takes its
/// one shard at 7 s. Scripted writes from a's region every 10 ms, issued at
/// 5 ms, 15 ms, ... (executed at a 1 ms later), up to 5.995 s.
fn stalled(max_lag: &str) -> String {
    let mut extra = String::from(
        "[[fault]]\nkind = \"replication_stall\"\nfrom = \"a\"\nto = \"b\"\nat = \"2s\"\n\n\
         [[fault]]\nkind = \"dc_down\"\ndc = \"a\"\nat = \"6s\"\n\n\
         [failover]\ndetect_after = \"1s\"\nprocedure = \"switch\"\n\n",
    );
    extra += &format!("[replication]\n{max_lag}\n\n");
    for k in 0..600 {
        extra += &format!(
            "[[request]]\nat = \"{}us\"\nregion = \"ra\"\nkey = {}\nwrite = true\n\n",
            k * 10_000 + 5_000,
            k % 1000
        );
    }
    two("10ms", 1000, 0.0, 1, &extra)
}

#[test]
fn lag_ban_bounds_rpo_by_rate_times_threshold_and_counts_the_refused() {
    // Without the ban, every write a executed from 1.996 s (the last one b
    // had not applied when the stream stalled: it would have landed at
    // 2.006 s) to 5.996 s is stranded: 401 writes.
    let free = run(&cfg(&stalled(""), &[]));
    let f = &free.metrics.failures[1];
    assert_eq!(f.rpo_writes, 401);
    assert_eq!(free.metrics.totals.lag_refused, 0);
    // With max_lag = 100 ms the stream's lag is t - 1.996 s; a write is
    // refused once it exceeds 100 ms, so a accepts those executed at 1.996,
    // 2.006, ..., 2.096 s: 11 = rate × threshold + the one at exactly the
    // threshold, and refuses the 390 executed from 2.106 s to 5.996 s.
    let banned = run(&cfg(&stalled("max_lag = \"100ms\""), &[]));
    let t = &banned.metrics.totals;
    let f = &banned.metrics.failures[1];
    assert_eq!(
        f.rpo_writes, 11,
        "rpo bounded by 100/s × 100 ms (+1 at the edge)"
    );
    assert_eq!(t.lag_refused, 390);
    // The price: the refused writes are rejections the free run answered.
    assert_eq!(t.rejected, free.metrics.totals.rejected + 390);
    assert_eq!(t.requests, t.ok + t.failed + t.rejected);
    assert_eq!(t.invariant_violations, 0);
}

#[test]
fn lag_ban_under_poisson_traffic_keeps_rpo_near_rate_times_threshold() {
    // The same stall under Poisson writes at 2,000/s over two shards (one
    // per DC): a serves ≈ 1,000 writes/s of its shard; the stranded writes
    // are those of the threshold's window, λ·T = 50 on average, against
    // ≈ 4,000 without the ban.
    let extra = "[[fault]]\nkind = \"replication_stall\"\nfrom = \"a\"\nto = \"b\"\nat = \"2s\"\n\n\
                 [[fault]]\nkind = \"dc_down\"\ndc = \"a\"\nat = \"6s\"\n\n\
                 [failover]\ndetect_after = \"1s\"\nprocedure = \"switch\"\n\n\
                 [replication]\nmax_lag = \"50ms\"\n";
    let text = two("10ms", 100_000, 2000.0, 2, extra);
    let (mut rpo, mut bound, mut refused) = (0.0, 0.0, 0);
    for seed in 0..10 {
        let o = run(&cfg(&text, &[&format!("simulation.seed={seed}")]));
        let f = &o.metrics.failures[1];
        // a's write rate on the stalled stream, measured before the stall.
        let lambda = o.metrics.dcs[0].served as f64 / 6.0;
        rpo += f.rpo_writes as f64;
        bound += lambda * 0.050;
        refused += o.metrics.totals.lag_refused;
        assert!(
            (f.rpo_writes as f64) < 2.0 * lambda * 0.050,
            "seed {seed}: rpo_writes {} against λ·T {:.1}",
            f.rpo_writes,
            lambda * 0.050
        );
        assert_eq!(o.metrics.totals.invariant_violations, 0);
    }
    eprintln!("mean rpo_writes {:.1}, λ·T {:.1}", rpo / 10.0, bound / 10.0);
    assert!(rpo <= bound * 1.1, "mean rpo {rpo} above λ·T {bound}");
    // a refuses nearly all its writes from 2.05 s to 6 s: ≈ 3,950 a seed.
    assert!(refused > 10 * 3_500, "{refused}");
}

/// A switchover of every shard of a to b at 3 s, over a 200 ms link, under
/// the given fence. Most writes touch records nobody wrote before: the
/// ≈ 6,000 writes before 3 s touch 20,000 · (1 − e^−0.3) ≈ 5,200 of the
/// 20,000 records (≈ 26%).
fn moved(fence: &str, seed: u64) -> multiactive::model::Outcome {
    let extra = format!(
        "[[fault]]\nkind = \"switchover\"\nshards = \"0-9\"\nto = \"b\"\nat = \"3s\"\n\n\
         [failover]\nfence = \"{fence}\"\n"
    );
    let text = two("200ms", 20_000, 2000.0, 10, &extra);
    run(&cfg(&text, &[&format!("simulation.seed={seed}")]))
}

#[test]
fn record_fence_rejects_less_and_recovers_sooner_than_the_shard_ban() {
    for seed in 0..3 {
        let ban = moved("shard", seed);
        let rec = moved("record", seed);
        let (b, r) = (&ban.metrics.totals, &rec.metrics.totals);
        let (fb, fr) = (&ban.metrics.failures[0], &rec.metrics.failures[0]);
        // The ban refuses every write to a's shards for ≈ 200 ms (until b
        // has applied what a logged before 3 s): ≈ 200 writes.
        assert!(b.rejected > 120, "seed {seed}: ban rejected {}", b.rejected);
        assert_eq!(b.fence_rejected, 0);
        // The fence refuses only writes to the ≈ 26% of records written
        // before 3 s, in the same ≈ 200 ms: of the ≈ 100 writes b serves
        // for a's shards then (those of b's users), ≈ 25.
        assert!(
            r.fence_rejected >= 5,
            "seed {seed}: the fence fired {} times",
            r.fence_rejected
        );
        assert!(
            r.rejected * 5 < b.rejected,
            "seed {seed}: fence {} vs ban {}",
            r.rejected,
            b.rejected
        );
        // New records are written at b at once: the RTO drops by about the
        // wait for replication (200 ms).
        let (rto_b, rto_r) = (fb.rto().0.expect("ban rto"), fr.rto().0.expect("fence rto"));
        eprintln!(
            "seed {seed}: rejected ban {} fence {} ({} by the fence), rto ban {rto_b} fence {rto_r}, conflicts {} {}",
            b.rejected, r.rejected, r.fence_rejected, b.conflicts, r.conflicts
        );
        assert!(
            rto_r + 150_000_000 < rto_b,
            "seed {seed}: rto fence {rto_r} vs ban {rto_b}"
        );
        assert!(r.conflicts <= b.conflicts, "seed {seed}");
        assert_eq!(r.lost_writes, 0, "seed {seed}: the fence kept every write");
        assert_eq!(
            fr.rpo_writes, 0,
            "seed {seed}: b caught up before the fence lifted"
        );
        assert!(!fr.ban_timed_out);
        assert_eq!(r.invariant_violations, 0);
        assert_eq!(r.requests, r.ok + r.failed + r.rejected);
    }
}

#[test]
fn record_fence_times_out_after_max_ban_when_the_source_is_cut_off() {
    // a's stream to b stalls at 2 s and never resumes: the fence waits for
    // it until max_ban (1 s), refusing old records all that time, then lifts
    // with what b has: the stalled writes are the RPO.
    let extra = "[[fault]]\nkind = \"replication_stall\"\nfrom = \"a\"\nto = \"b\"\nat = \"2s\"\n\n\
                 [[fault]]\nkind = \"switchover\"\nshards = \"0-9\"\nto = \"b\"\nat = \"3s\"\n\n\
                 [failover]\nfence = \"record\"\nmax_ban = \"1s\"\n";
    let o = run(&cfg(&two("10ms", 1000, 2000.0, 10, extra), &[]));
    let f = &o.metrics.failures[1];
    assert!(f.ban_timed_out);
    // With 1,000 keys nearly every record was written before 3 s: for a
    // second almost every write to a's shards is refused at b.
    assert!(
        o.metrics.totals.fence_rejected > 500,
        "{}",
        o.metrics.totals.fence_rejected
    );
    assert!(f.rpo_writes > 500, "{}", f.rpo_writes);
}

#[test]
fn lag_ban_spares_the_datasets_that_do_not_ask_for_it() {
    // The Poisson stall above with two datasets: `orders` is banned while
    // the stream lags, `config` (lag_ban = false) writes on. Every refused
    // write is an order; the stranded config writes are those of the whole
    // stall (≈ 500/s × 4 s), the orders' those of the threshold (≈ 500/s × 50 ms).
    let extra = "[[fault]]\nkind = \"replication_stall\"\nfrom = \"a\"\nto = \"b\"\nat = \"2s\"\n\n\
                 [[fault]]\nkind = \"dc_down\"\ndc = \"a\"\nat = \"6s\"\n\n\
                 [failover]\ndetect_after = \"1s\"\nprocedure = \"switch\"\n\n\
                 [replication]\nmax_lag = \"50ms\"\n\n\
                 [[dataset]]\nname = \"config\"\nshare = 0.5\nlag_ban = false\n\n\
                 [[dataset]]\nname = \"orders\"\nshare = 0.5\n";
    let o = run(&cfg(&two("10ms", 100_000, 2000.0, 2, extra), &[]));
    let (config, orders) = (&o.metrics.datasets[0], &o.metrics.datasets[1]);
    let t = &o.metrics.totals;
    assert!(t.lag_refused > 1_500, "{}", t.lag_refused);
    assert_eq!(config.rejected, 0);
    assert_eq!(orders.rejected, t.lag_refused);
    assert!(
        config.lost_writes > 1_500,
        "config lost {}",
        config.lost_writes
    );
    assert!(
        orders.lost_writes < 60,
        "orders lost {}",
        orders.lost_writes
    );
    assert_eq!(t.invariant_violations, 0);
}

//! Traffic over time (rate profiles), read-your-writes stickiness, and
//! capacity after a failure, against closed forms.

use crate::common;

use multiactive::run;
use multiactive::scenario::capacity;

const S: u64 = 1_000_000_000;

/// One DC with unlimited servers, users in one or two regions next to it.
fn one_dc(rate: f64, duration: &str, workload_extra: &str, regions: &str) -> String {
    let rest = format!("{regions}\n\n[workload]\nkeys = 1000\nrate = {rate}\n{workload_extra}\n");
    common::Sites {
        duration,
        drain: "1s",
        simulation: "bucket = \"1s\"\nseed = 11\n",
        dcs: &["a"],
        links: &[],
        near: "",
        rest: &rest,
        ..common::Sites::TWO
    }
    .text()
}

const ONE_REGION: &str = "[[region]]\nname = \"ra\"\nusers = 1\nlatency = { a = \"0ms\" }\n";

/// Requests per 1-s bucket at DC 0 over the traffic.
fn counts(o: &multiactive::metrics::Outcome, dc: usize, secs: u64) -> Vec<u64> {
    (0..secs as usize)
        .map(|b| o.metrics.row(b, dc).requests)
        .collect()
}

#[test]
fn request_counts_follow_the_profile_within_poisson_noise() {
    // 2,000/s × factor: flat 1 for 10 s, a ramp to 3 over 10 s, a step to
    // 5 at 20 s held 5 s (a flash sale), down to 0.5 at 30 s, then flat.
    let profile = r#"profile = [
  { at = "0s", factor = 1 }, { at = "10s", factor = 1 }, { at = "20s", factor = 3 },
  { at = "20s", factor = 5 }, { at = "25s", factor = 5 }, { at = "30s", factor = 0.5 },
]"#;
    let cfg = common::config(&one_dc(2000.0, "40s", profile, ONE_REGION), &[]);
    let p = cfg.workload.profile.clone().expect("a profile");
    let o = run(&cfg);
    let got = counts(&o, 0, 40);
    // Each bucket is Poisson with mean rate × ∫factor over it: within 4.5 sd.
    for (b, &n) in got.iter().enumerate() {
        let want = 2000.0 * p.integral(b as u64 * S, (b as u64 + 1) * S);
        let sd = want.sqrt();
        assert!(
            (n as f64 - want).abs() < 4.5 * sd,
            "bucket {b}: {n} requests, profile says {want:.0} ± {sd:.0}"
        );
    }
    // Hand-computed integral: 10×1 + 10×2 + 5×5 + 5×2.75 + 10×0.5 = 73.75.
    let total = 2000.0 * 73.75;
    assert!((2000.0 * p.integral(0, 40 * S) - total).abs() < 1e-6);
    let n = o.metrics.totals.requests as f64;
    assert!(
        (n - total).abs() < 4.0 * total.sqrt(),
        "{n} requests, the profile's integral says {total}"
    );
    // The spike is visible: bucket 22 (factor 5) holds about 5× bucket 2.
    assert!(got[22] > 4 * got[2], "{} vs {}", got[22], got[2]);
}

#[test]
fn a_region_profile_shapes_only_that_regions_traffic() {
    // Two regions, each its own DC: `rb` has a day that triples at 10 s;
    // `ra` keeps the workload's constant rate.
    let regions = r#"
[[datacenter]]
name = "b"
region = "rb"

[[link]]
between = ["a", "b"]
latency = "5ms"

[[region]]
name = "ra"
users = 1
latency = { a = "0ms" }

[[region]]
name = "rb"
users = 1
latency = { b = "0ms" }
profile = [{ at = "0s", factor = 1 }, { at = "10s", factor = 1 }, { at = "10s", factor = 3 }]
"#;
    let text = one_dc(2000.0, "20s", "", regions) + "[sharding]\nreads = \"local\"\n";
    let o = run(&common::config(&text, &[]));
    let a: u64 = counts(&o, 0, 20).iter().sum();
    let b_early: u64 = counts(&o, 1, 20)[..10].iter().sum();
    let b_late: u64 = counts(&o, 1, 20)[10..].iter().sum();
    // Users split by a fixed hash: about 1,000/s from each region.
    let near = |n: u64, want: f64| (n as f64 - want).abs() < 5.0 * want.sqrt() + 0.02 * want;
    assert!(near(a, 20_000.0), "ra sent {a}, want ≈ 20,000");
    assert!(near(b_early, 10_000.0), "rb sent {b_early} before 10 s");
    assert!(near(b_late, 30_000.0), "rb sent {b_late} after 10 s");
}

/// DC `a` owns every shard; users live next to `b`, whose reads are served
/// locally (a read replica) and whose writes go to `a` over a link of 10 ms.
fn replica_reads(extra: &str) -> String {
    let rest = format!(
        "[[region]]\nname = \"east\"\nusers = 1\nlatency = {{ a = \"10ms\", b = \"0ms\" }}\n\n\
         [workload]\nkeys = 100\nrate = 2000\nwrites = 0.5\n\n\
         [sharding]\nshards = 1\nplacement = {{ a = \"0\" }}\nreads = \"local\"\n{extra}\n"
    );
    common::Sites {
        duration: "100s",
        simulation: "seed = 3\n",
        regions: &["west", "east"],
        near: "",
        rest: &rest,
        ..common::Sites::TWO
    }
    .text()
}

#[test]
fn without_stickiness_own_writes_are_missed_as_the_closed_form_says() {
    // A user writes at μ = 2000 × 0.5 / 100 = 10/s. A write issued at s
    // reaches a at s + 10 ms (acknowledged), and b at s + 20 ms. A read at t
    // (served at b at once) misses the user's own newest acknowledged write
    // iff a write was issued in (t − 20 ms, t − 10 ms]:
    // P = 1 − exp(−10 × 0.01) = 0.09516. About 100,000 reads.
    let o = run(&common::config(&replica_reads(""), &[]));
    let t = &o.metrics.totals;
    let b = &o.metrics.dcs[1];
    assert_eq!(o.metrics.dcs[0].reads, 0, "every read is served at b");
    assert_eq!(t.misrouted, 0, "a replica read is not misrouted");
    let p = t.own_stale_reads as f64 / b.reads as f64;
    let want = 1.0 - (-0.1f64).exp();
    eprintln!(
        "own stale {} of {} reads: {p:.4}, closed form {want:.4}",
        t.own_stale_reads, b.reads
    );
    assert!((p - want).abs() < 0.03 * want, "{p} vs {want}");
    assert_eq!(t.own_stale_reads, t.stale_reads, "only users' own keys");
}

#[test]
fn with_stickiness_longer_than_the_lag_no_read_misses_its_own_write() {
    // The 20-second cookie: the lag (10 ms) is far below the window, so a
    // user's reads after a write go to a, which has it.
    let o = run(&common::config(
        &replica_reads("read_your_writes = \"20s\""),
        &[],
    ));
    let t = &o.metrics.totals;
    assert_eq!(t.own_stale_reads, 0);
    assert_eq!(t.stale_reads, 0);
    // Users write every 0.1 s on average: nearly every read is sent to a.
    assert!(
        o.metrics.dcs[0].reads > 90_000,
        "{}",
        o.metrics.dcs[0].reads
    );
    // A window shorter than the lag leaves some violations: the check bites.
    let short = run(&common::config(
        &replica_reads("read_your_writes = \"5ms\""),
        &[],
    ));
    assert!(short.metrics.totals.own_stale_reads > 100);
}

/// Two DCs of `servers` servers with a constant 10-ms service time (100/s
/// each per server), each owning half the shards; `a` dies at 10 s and its
/// shards move to `b`.
fn two_sites(servers: u32) -> String {
    common::Sites {
        duration: "40s",
        simulation: "bucket = \"1s\"\nseed = 9\n",
        dc_keys: &format!("servers = {servers}\nservice_time = \"10ms\"\nqueue = 200\n"),
        links: &["5ms"],
        far: "6ms",
        rest: "[workload]\nkeys = 10000\nrate = 1600\nwrites = 0.2\n\n\
               [failover]\ndetect_after = \"2s\"\n\n\
               [[fault]]\nkind = \"dc_down\"\ndc = \"a\"\nat = \"10s\"\n",
        ..common::Sites::TWO
    }
    .text()
}

/// Utilisation of DC `dc` over buckets `from..to`.
fn utilisation(o: &multiactive::metrics::Outcome, dc: usize, from: usize, to: usize) -> f64 {
    let busy: u64 = (from..to).map(|b| o.metrics.row(b, dc).busy_ns).sum();
    busy as f64 / (o.servers[dc].unwrap() as f64 * (to - from) as f64 * S as f64)
}

#[test]
fn survivors_sized_for_n_minus_1_carry_the_load_and_undersized_ones_do_not() {
    // 1,600/s in all. 20 servers = 2,000/s per DC: one DC carries all
    // (ρ = 0.8). 10 servers = 1,000/s per DC: fine with both up (ρ = 0.8),
    // overloaded alone (ρ = 1.6).
    let sized = common::config(&two_sites(20), &[]);
    let under = common::config(&two_sites(10), &[]);
    assert!(capacity::warnings(&sized).is_empty());
    let w = capacity::warnings(&under);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("1600/s > 1000/s left"), "{}", w[0]);
    let (o_sized, o_under) = (run(&sized), run(&under));
    // Before the fault both run at 0.8 × ... of their own half: 800/1000 or 800/2000.
    let before = utilisation(&o_under, 1, 2, 10);
    assert!((before - 0.8).abs() < 0.05, "{before}");
    // After the switch (detection at 12 s) b serves everything.
    let after_sized = utilisation(&o_sized, 1, 15, 40);
    let after_under = utilisation(&o_under, 1, 15, 40);
    assert!((after_sized - 0.8).abs() < 0.05, "{after_sized}");
    // Overloaded: the servers never rest, and the excess is refused.
    assert!(after_under > 0.99, "{after_under}");
    let t_sized = &o_sized.metrics.totals;
    let t_under = &o_under.metrics.totals;
    assert_eq!(t_sized.queue_full, 0);
    // About 600/s beyond capacity for 28 s.
    assert!(t_under.queue_full > 10_000, "{}", t_under.queue_full);
    let p99 = |o: &multiactive::metrics::Outcome| common::q_ms(&o.metrics.latency_all(), 0.99);
    // A full waiting room of 200 at 1,000/s is 200 ms of waiting.
    assert!(p99(&o_under) > 150.0, "{}", p99(&o_under));
    assert!(p99(&o_sized) < 60.0, "{}", p99(&o_sized));
    // The report says so in words.
    let tmp = tempfile::tempdir().unwrap();
    let report = |o: &multiactive::metrics::Outcome, cfg, name: &str| {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        multiactive::output::write_run(&dir, o, cfg, &Default::default()).unwrap();
        std::fs::read_to_string(dir.join("report.md")).unwrap()
    };
    let r_sized = report(&o_sized, &sized, "sized");
    let r_under = report(&o_under, &under, "under");
    assert!(
        r_sized.contains("the survivors carried the load"),
        "{r_sized}"
    );
    assert!(!r_sized.contains("Warning"), "{r_sized}");
    assert!(
        r_under.contains("did **not** carry the load (b saturated"),
        "{r_under}"
    );
    assert!(r_under.contains("- **Warning**"), "{r_under}");
}

#[test]
fn an_operators_move_off_a_dead_dc_is_judged_for_capacity_too() {
    // No controller: a dies at 10 s and the operators move its shards (the
    // even ones, round robin) to b at 15 s. b alone at 8 servers is
    // overloaded (1,600/s for 800/s) from then on; at 20 (2,000/s) it
    // carries the load.
    let manual = |servers| {
        two_sites(servers).replace(
            "[failover]\ndetect_after = \"2s\"\n",
            "[failover]\nauto = false\n\n[[fault]]\nkind = \"switchover\"\n\
             shards = \"0-99\"\nto = \"b\"\nat = \"15s\"\n",
        )
    };
    let tmp = tempfile::tempdir().unwrap();
    let report = |servers: u32| {
        let cfg = common::config(&manual(servers), &[]);
        let o = run(&cfg);
        let dir = tmp.path().join(servers.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        multiactive::output::write_run(&dir, &o, &cfg, &Default::default()).unwrap();
        std::fs::read_to_string(dir.join("report.md")).unwrap()
    };
    let (sized, under) = (report(20), report(8));
    let line = "After the operators' switchover off dc_down a at 15 s, to 40 s:";
    assert!(
        sized.contains(&format!("{line} the survivors carried the load")),
        "{sized}"
    );
    assert!(
        under.contains(&format!(
            "{line} the survivors did **not** carry the load (b saturated"
        )),
        "{under}"
    );
    // Without the move, nothing moved shards: no verdict.
    let cfg = common::config(
        &two_sites(20).replace("detect_after = \"2s\"", "auto = false"),
        &[],
    );
    let o = run(&cfg);
    let dir = tmp.path().join("none");
    std::fs::create_dir_all(&dir).unwrap();
    multiactive::output::write_run(&dir, &o, &cfg, &Default::default()).unwrap();
    let none = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(none.contains("_(no DC loss moved shards)_"), "{none}");
}

#[test]
fn the_capacity_warning_uses_the_profile_peak() {
    // Sized for N − 1 at the base rate, but a spike of 1.5 overloads.
    let text = two_sites(20).replace(
        "writes = 0.2",
        "writes = 0.2\nprofile = [{ at = \"0s\", factor = 1 }, { at = \"20s\", factor = 1.5 }]",
    );
    let w = capacity::warnings(&common::config(&text, &[]));
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("2400/s (rate 1600 × profile peak 1.5) > 2000/s left"),
        "{}",
        w[0]
    );
}

/// `a` owns shards 0–9 and `b` 10–19; a link of 200 ms; shards 0–9 move to
/// `b` two at a time every 5 s from 5 s (five batches).
fn staged(extra_failover: &str) -> String {
    let rest = format!(
        "[workload]\nkeys = 1000\nrate = 1000\nwrites = 0.5\n\n\
         [sharding]\nshards = 20\nplacement = {{ a = \"0-9\", b = \"10-19\" }}\n\n\
         {extra_failover}\n\n\
         [[fault]]\nkind = \"switchover\"\nshards = \"0-9\"\nto = \"b\"\nat = \"5s\"\nbatch = 2\nevery = \"5s\"\n"
    );
    common::Sites {
        duration: "40s",
        simulation: "bucket = \"1s\"\nseed = 4\n",
        links: &["200ms"],
        far: "201ms",
        rest: &rest,
        ..common::Sites::TWO
    }
    .text()
}

#[test]
fn a_staged_move_reports_each_batch_and_ends_at_the_target() {
    let o = run(&common::config(&staged(""), &[]));
    let f = &o.metrics.failures;
    assert_eq!(f.len(), 5, "one record per batch");
    for (i, r) in f.iter().enumerate() {
        assert_eq!(r.start.ns(), (5 + 5 * i as u64) * S);
        assert_eq!(r.units, vec![2 * i as u32, 2 * i as u32 + 1]);
        assert_eq!(r.moved_to.map(|d| d.0), Some(1));
        // Ban then switch: the ban lasts until b has applied what a
        // accepted before it, one link crossing (200 ms); the first
        // acknowledged write of a shard comes after it.
        let rto = r.rto().0.expect("every shard recovers") as f64 / 1e9;
        assert!((0.2..1.0).contains(&rto), "batch {i}: RTO {rto} s");
    }
    // Every refusal belongs to exactly one batch: writes to its two shards
    // (10% of 500 writes/s = 50/s) during its ≈ 200 ms ban, ≈ 10 each.
    let per_batch: Vec<u64> = f.iter().map(|r| r.rejected).collect();
    let t = &o.metrics.totals;
    assert_eq!(per_batch.iter().sum::<u64>(), t.rejected, "{per_batch:?}");
    for n in &per_batch {
        assert!((1..=30).contains(n), "{per_batch:?}");
    }
    let sum: u64 = per_batch.iter().sum();
    assert!((sum as f64 - 50.0).abs() < 4.0 * 50f64.sqrt(), "{sum}");
    // With the guard and the ban, no write is accepted at two DCs.
    assert_eq!(t.conflicts, 0);
    assert_eq!(t.lost_writes, 0);
    // The batches' shards end at b: after the last batch a serves nothing.
    let served_at_a: u64 = (27..40).map(|b| o.metrics.row(b, 0).ok).sum();
    assert_eq!(served_at_a, 0);
    assert!((0..5).map(|b| o.metrics.row(b, 0).ok).sum::<u64>() > 2000);
}

#[test]
fn a_staged_move_without_ban_or_guard_conflicts() {
    // The same batches switched at once with no guard: a's writes still on
    // their way meet b's new ones. 100 keys (10 per batch, ≈ 5 writes/s
    // each) so that one lands within a 200-ms crossing of another at any
    // seed, not only at a lucky one.
    let o = run(&common::config(
        &staged("[failover]\nprocedure = \"switch\"\n[routing]\nwrite_guard = false"),
        &["workload.keys=100"],
    ));
    assert_eq!(o.metrics.failures.len(), 5);
    assert!(o.metrics.totals.conflicts > 0, "the check can fire");
}

#[test]
fn a_profiled_run_is_deterministic() {
    let profile = "profile = [{ at = \"0s\", factor = 0.5 }, { at = \"5s\", factor = 2 }]";
    let cfg = common::config(&one_dc(1000.0, "10s", profile, ONE_REGION), &[]);
    let (a, b) = (run(&cfg), run(&cfg));
    assert_eq!(a.metrics.totals, b.metrics.totals);
    assert_eq!(counts(&a, 0, 10), counts(&b, 0, 10));
    // Another seed draws other arrivals.
    let other = run(&common::config(
        &one_dc(1000.0, "10s", profile, ONE_REGION),
        &["simulation.seed=12"],
    ));
    assert_ne!(counts(&a, 0, 10), counts(&other, 0, 10));
}

//! The claims the sources make about the newer shipped scenarios —
//! Eleme's DRC lag and manual moves with the record fence, Facebook's
//! read-your-writes cookie, QQ's N−1 capacity and staged move, MSHA's
//! switch by ratio and DTS lag ban, the two cities' synchronous pair and
//! remote standby — and the README's headline table against a fresh run.
//! Helpers come from `scenarios.rs`.

use crate::scenarios::{
    MS, S, bucket_sum, dc, dir, load, one_way, propagation_bounds, q_ms, rto_s,
};

use multiactive::Outcome;

use multiactive::run;

// ---------------------------------------------------------------------------
// Facebook: one master region.

#[test]
fn facebook_master_no_user_misses_their_own_write_within_the_cookie_window() {
    // Before the stall at 40 s: the lag (≈ 35 ms) is far below the 20-s
    // window, so the cookie sends every reader who wrote to ca: [F]'s claim.
    let cfg = load("facebook-master", &["simulation.duration=39s"]);
    let o = run(&cfg);
    let t = &o.metrics.totals;
    assert_eq!(
        (t.conflicts, t.misrouted, t.lost_writes),
        (0, 0, 0),
        "{t:?}"
    );
    assert_eq!(t.own_stale_reads, 0, "{t:?}");
    // Without the cookie eastern users miss their own writes: a write issued
    // at s is acknowledged at ca at s + 5 + 35 ms and reaches va at s + 75
    // ms; a read issued at t is served at va at t + 5 ms, so it misses the
    // user's write iff one was issued in (t − 70, t − 40] ms: P = 1 −
    // exp(−μ × 30 ms), μ = 6,000 × 10% / 10,000 users = 0.06/s.
    let off = run(&load(
        "facebook-master",
        &["simulation.duration=39s", "sharding.read_your_writes=0s"],
    ));
    let va = &off.metrics.dcs[dc(&cfg, "va")];
    let want = va.reads as f64 * (1.0 - (-0.06f64 * 0.030).exp());
    let got = off.metrics.totals.own_stale_reads as f64;
    eprintln!("own stale reads without the cookie {got}, closed form {want:.1}");
    assert!((got / want - 1.0).abs() < 0.3, "{got} vs {want:.1}");
    assert_eq!(
        off.metrics.dcs[dc(&cfg, "ca")].stale_reads,
        0,
        "the master is never behind"
    );
}

#[test]
fn facebook_master_a_lag_beyond_the_window_breaks_read_your_writes_and_east_writes_cross_the_country()
 {
    // The 30-s stall outlasts the 20-s cookie: users who wrote early in it
    // read at va after their cookie expired, and miss their write.
    let cfg = load("facebook-master", &[]);
    let o = run(&cfg);
    assert!(o.metrics.totals.own_stale_reads > 0);
    assert_eq!(o.metrics.totals.conflicts, 0, "one writer");
    // Eastern writes: access both ways (2 × 5 ms) and the round trip to ca
    // (2 × 35 ms); western ones only the access. Both regions alone:
    let tiny = "0.0001";
    let east = run(&load(
        "facebook-master",
        &[
            "simulation.duration=20s",
            &format!("region.west.users={tiny}"),
        ],
    ));
    let west = run(&load(
        "facebook-master",
        &[
            "simulation.duration=20s",
            &format!("region.east.users={tiny}"),
        ],
    ));
    let (e, w) = (
        q_ms(&east.metrics.latency[1], 0.5),
        q_ms(&west.metrics.latency[1], 0.5),
    );
    eprintln!("write p50: east {e} ms, west {w} ms");
    assert!((80.0..86.0).contains(&e), "east write p50 {e}");
    assert!((10.0..16.0).contains(&w), "west write p50 {w}");
}

// ---------------------------------------------------------------------------
// Tencent QQ: any two sites carry all users; a staged move out of Tianjin.

#[test]
fn tencent_qq_survivors_carry_every_user_after_losing_one_site() {
    let cfg = load("tencent-qq", &[]);
    // [T]'s rule, as arithmetic: the two smaller sites carry the peak.
    assert!(multiactive::scenario::capacity::warnings(&cfg).is_empty());
    let o = run(&cfg);
    let t = &o.metrics.totals;
    let f = &o.metrics.failures;
    // Seven batches of five shards, each moved with nothing lost.
    let batches: Vec<_> = f.iter().filter(|r| r.kind == "switchover").collect();
    assert_eq!(batches.len(), 7);
    for b in &batches {
        assert_eq!(b.units.len(), 5);
        assert_eq!(b.rpo_writes, 0);
        assert!(b.switched.is_some() && !b.ban_timed_out);
    }
    assert_eq!((t.conflicts, t.lost_writes), (0, 0), "{t:?}");
    // Tianjin owns nothing when it is lost at 60 s: no shard to move.
    let lost = f.iter().find(|r| r.kind == "dc_down").expect("tj lost");
    assert_eq!(lost.units.len(), 0);
    // No overload: after the move and the loss, the two survivors run well
    // below saturation and no waiting room overflows.
    assert_eq!(t.queue_full, 0);
    for name in ["sz", "sh"] {
        let d = dc(&cfg, name);
        let busy: u64 = (61..90).map(|b| o.metrics.row(b, d).busy_ns).sum();
        let u = busy as f64 / (16.0 * 29.0 * S);
        eprintln!("{name}: utilisation {u:.3} after losing tj");
        assert!(u > 0.5 && u < 0.85, "{name}: {u}");
    }
    // Halve the survivors and the rule breaks: the warning says so.
    let small = load(
        "tencent-qq",
        &["datacenter.sz.servers=8", "datacenter.sh.servers=8"],
    );
    assert_eq!(multiactive::scenario::capacity::warnings(&small).len(), 1);
}

#[test]
fn the_readme_headline_table_is_what_a_fresh_run_gives() {
    use multiactive::output::headline;
    let readme = std::fs::read_to_string(dir().join("README.md")).expect("scenarios/README.md");
    let committed =
        headline::table_in(&readme).expect("the table's markers in scenarios/README.md");
    let fresh = headline::headline_table();
    assert_eq!(
        committed,
        fresh.trim_matches('\n'),
        "scenarios/README.md's table is stale: regenerate it with `cargo run --release --example scenario-table`"
    );
}

// ---------------------------------------------------------------------------
// MSHA: users switched by ratio, writes held until replication catches up.

#[test]
fn msha_switch_by_ratio_holds_writes_and_loses_nothing() {
    // Up to 54 s (49 s + the drain), before DTS stalls at 55 s.
    let cfg = load("msha", &["simulation.duration=49s"]);
    let o = run(&cfg);
    let t = &o.metrics.totals;
    let f = &o.metrics.failures;
    assert_eq!(f.len(), 2, "two steps of 25%");
    let (min_p, max_p) = propagation_bounds(&cfg);
    for step in f {
        assert_eq!(step.units.len(), 25);
        assert_eq!(step.rpo_writes, 0);
        assert!(!step.ban_timed_out);
        // The hold: the ban's push, the catch-up (one 5-ms crossing), the
        // new rules' push, and the next write to each shard (≈ 12/s each).
        let rto = rto_s(step);
        assert!(rto >= min_p && rto <= 2.0 * max_p + 0.5, "RTO {rto}");
        assert!(step.rejected > 0, "writes were held");
    }
    assert_eq!(
        (t.conflicts, t.lost_writes, t.lag_refused),
        (0, 0, 0),
        "{t:?}"
    );
    // Random entry (the units weigh alike): about half the sharded
    // requests (95% of all) enter the unit that does not own their id and
    // are redirected; global requests are forwarded to hz, never redirected.
    let share = t.redirected as f64 / (0.95 * t.requests as f64);
    assert!((0.45..0.55).contains(&share), "redirected share {share}");
}

#[test]
fn msha_dts_lag_ban_refuses_writes_and_bounds_what_the_lost_unit_takes() {
    // After 40 s sh owns every id and takes every sharded write: λ = 4,000
    // × 95% × 30% = 1,140/s. DTS from sh stalls at 55 s; from 55.5 s the
    // stream lags past max_lag = 500 ms and sh refuses every write until it
    // is lost at 57 s: ≈ λ × 1.5 s refusals. What hz lacks when it takes
    // over is what sh acknowledged in the first 500 ms of the stall (and the
    // ≈ 5 ms in flight): ≈ λ × 0.505 s. Poisson counts of ≈ 600–1,700: 15%
    // is over 4σ.
    let cfg = load("msha", &[]);
    let lambda = cfg.workload.rate * (1.0 - cfg.workload.global) * cfg.workload.writes;
    let max_lag = cfg.replication.max_lag.expect("msha sets max_lag") as f64 / S;
    let o = run(&cfg);
    let t = &o.metrics.totals;
    let lost = o
        .metrics
        .failures
        .iter()
        .find(|f| f.kind == "dc_down")
        .expect("sh is lost");
    assert_eq!(lost.moved_to, cfg.dc_id("hz"));
    let (refused, want_refused) = (t.lag_refused as f64, lambda * (57.0 - 55.0 - max_lag));
    let (rpo, want_rpo) = (lost.rpo_writes as f64, lambda * (max_lag + 0.005));
    eprintln!(
        "lag ban: {refused} refused (λ·1.5 s = {want_refused:.0}), RPO {rpo} writes (λ·0.505 s = {want_rpo:.0})"
    );
    assert!((refused / want_refused - 1.0).abs() < 0.15, "{refused}");
    assert!((rpo / want_rpo - 1.0).abs() < 0.15, "{rpo}");
    // The oldest write lost is from the stall's start, 2 s before the loss.
    let age = lost.rpo_ns().expect("switched") as f64 / S;
    assert!((age - 2.0).abs() < 0.01, "RPO age {age} s");
    assert_eq!(t.lost_writes, lost.rpo_writes, "sh never returns");
    assert_eq!(t.conflicts, 0, "one writer per id");
    // Without the ban sh writes on through the stall: the loss takes all
    // 2 s of it, and nothing is refused.
    let off = run(&load("msha", &["replication.max_lag=1h"]));
    let f = off.metrics.failures.iter().find(|f| f.kind == "dc_down");
    let unbounded = f.expect("sh is lost").rpo_writes as f64;
    eprintln!(
        "without the ban: RPO {unbounded} writes (λ·2 s = {:.0})",
        lambda * 2.0
    );
    assert_eq!(off.metrics.totals.lag_refused, 0);
    assert!(
        (unbounded / (lambda * 2.0) - 1.0).abs() < 0.15,
        "{unbounded}"
    );
}

// ---------------------------------------------------------------------------
// Eleme: DRC's ≈ 30 ms, the operators' moves under the record fence.

/// Conflicts found in the buckets of `[from_s, to_s)`.
fn conflicts_between(o: &Outcome, from_s: f64, to_s: f64) -> u64 {
    bucket_sum(o, to_s, |b| b.conflicts) - bucket_sum(o, from_s, |b| b.conflicts)
}

#[test]
fn eleme_drc_lag_is_the_link_plus_drc_s_own_delay() {
    // Before the outage: every write reaches the other zone after the link
    // (normal, 14 ms, sd 0.5 ms) + DRC's 16 ms = 30 ms ([A]'s figure), plus
    // a little queueing at 2,000 applies/s.
    let cfg = load("eleme", &["simulation.duration=55s"]);
    assert_eq!(cfg.replication.delay as f64 / MS, 16.0);
    let o = run(&cfg);
    let lag = &o.metrics.lag_all;
    let (min, p50, p99) = (lag.min() as f64 / MS, q_ms(lag, 0.5), q_ms(lag, 0.99));
    eprintln!("DRC lag: min {min} ms, p50 {p50} ms, p99 {p99} ms");
    assert!(min >= 30.0 - 5.0 * 0.5, "min {min}");
    assert!((p50 - 30.0).abs() < 0.6, "p50 {p50}");
    assert!(p99 < 33.0, "p99 {p99}");
}

#[test]
fn eleme_manual_moves_under_the_record_fence_conflict_only_over_the_outage() {
    let cfg = load("eleme", &[]);
    let o = run(&cfg);
    let f = &o.metrics.failures;
    let kinds: Vec<&str> = f.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            "switchover",
            "switchover",
            "dc_down",
            "switchover",
            "switchover"
        ]
    );
    let (min_p, max_p) = propagation_bounds(&cfg);
    // The drills: the fence waited for DRC, nothing was lost.
    for r in &f[..2] {
        assert_eq!(r.rpo_writes, 0);
        assert!(!r.ban_timed_out);
    }
    // bj dies at 60 s; nobody moves its shards until the operators do at
    // 80 s (auto = false): writes to them stop for 20 s + the rule push +
    // the next write to the slowest shard (≈ 5 writes/s each: under 1 s).
    let (down, off_bj, home) = (&f[2], &f[3], &f[4]);
    assert!(down.switched.is_none(), "the controller did not act");
    let rto = rto_s(down);
    assert!(
        rto >= 20.0 + min_p && rto <= 20.0 + max_p + 1.0,
        "RTO {rto}"
    );
    // The move off bj: bj's last ≈ 30 ms of writes (DRC's lag) are lost,
    // dated from bj's death, not from the move 20 s later. bj's zones
    // (north, west) hold 45% of the keys: λ ≈ 4,000 × 95% × 30% × 45% =
    // 513 writes/s, λ·30 ms ≈ 15 (Zipf popularity spreads it: a factor 3).
    let age = off_bj.rpo_ns().expect("switched") as f64 / MS;
    assert!(age > 0.0 && age <= 30.0 + 2.5, "RPO age {age} ms");
    let want = 4000.0 * 0.95 * 0.3 * 0.45 * 0.030;
    let rpo = off_bj.rpo_writes as f64;
    assert!(
        rpo >= want / 3.0 && rpo <= want * 3.0,
        "RPO {rpo} vs {want:.1}"
    );
    // Every conflict is between a write bj stranded and sh's writes to the
    // same record while bj was down, found once bj is back (90 s): none in
    // the drills, none at or after the move home (110 s).
    let t = &o.metrics.totals;
    assert_eq!(conflicts_between(&o, 0.0, 90.0), 0);
    assert_eq!(conflicts_between(&o, 110.0, 140.0), 0);
    assert!(t.conflicts <= 2 * off_bj.stranded, "{t:?}");
    assert!(t.lost_writes <= off_bj.rpo_writes, "{t:?}");
    // The move home comes while DRC still replays sh's backlog into bj:
    // the fence refuses writes to the records in it, and only those: new
    // records are written at once, so the shards recover within the push.
    assert!(t.fence_rejected > 0 && home.rejected > 0);
    assert_eq!(home.rpo_writes, 0);
    assert!(!home.ban_timed_out, "bj caught up within max_ban");
    let home_rto = rto_s(home);
    assert!(home_rto <= max_p + 1.0, "move home RTO {home_rto}");
    // The whole-shard ban on the same moves refuses every write to the
    // shards until DRC has caught up: more refusals and a longer RTO.
    let shard = run(&load("eleme", &["failover.fence=shard"]));
    let sh_home = &shard.metrics.failures[4];
    eprintln!(
        "move home: record fence {} refused, RTO {home_rto:.3} s; shard ban {} refused, RTO {:.3} s",
        home.rejected,
        sh_home.rejected,
        rto_s(sh_home)
    );
    assert_eq!(shard.metrics.totals.fence_rejected, 0);
    assert!(sh_home.rejected > 2 * home.rejected);
    assert!(rto_s(sh_home) > home_rto);
    // Without any hold (`switch`, which takes no fence) the move home hands
    // bj its shards while it still lacks seconds of sh's writes (≈ 2,900 at
    // seed 1): over a thousand conflicts from 110 s (1,263 at seed 1).
    let sw = run(&load(
        "eleme",
        &["failover.procedure=switch", "failover.fence=shard"],
    ));
    let sw_home = &sw.metrics.failures[4];
    eprintln!(
        "switch: {} conflicts from 110 s, move home RPO {} writes",
        conflicts_between(&sw, 110.0, 140.0),
        sw_home.rpo_writes
    );
    assert!(sw_home.rpo_writes > 1000);
    assert!(sw_home.rpo_ns().expect("switched") as f64 > S);
    assert!(conflicts_between(&sw, 110.0, 140.0) > 500);
}

// ---------------------------------------------------------------------------
// Two cities, three DCs: a synchronous same-city pair, a remote standby.

#[test]
fn two_cities_lose_nothing_to_a_dc_loss_and_the_cross_city_lag_to_a_city_loss() {
    // Ends at 85 s, before the city returns at 90 s.
    let cut = "simulation.duration=75s";
    let cfg = load("dual-active-standby", &[cut]);
    let lat = one_way(&cfg);
    let (sha, shb, dr) = (dc(&cfg, "sha"), dc(&cfg, "shb"), dc(&cfg, "dr"));
    // A write is acknowledged once the city peer applied it (its ack back
    // 2 × 0.8 ms after the write); dr applies it 12 ms after. Losing the
    // city loses what was acknowledged but not yet at dr: λ × (12 − 1.6) ms,
    // λ = 6,000 × 30% = 1,800 writes/s: ≈ 19 a run; the mean of four
    // seeds within 35% (≈ 3σ).
    let window = (lat[sha][dr] - 2.0 * lat[sha][shb]) / S;
    let want = cfg.workload.rate * cfg.workload.writes * window;
    let mut got = 0.0;
    for seed in 1..=4 {
        let o = run(&load(
            "dual-active-standby",
            &[cut, format!("simulation.seed={seed}").as_str()],
        ));
        let f = &o.metrics.failures;
        assert_eq!(f[0].target, "shb");
        assert_eq!(f[0].moved_to, cfg.dc_id("sha"));
        assert_eq!(
            f[0].rpo_writes, 0,
            "seed {seed}: sync: sha had every acknowledged write"
        );
        let mut rpo = 0;
        for c in &f[1..3] {
            assert_eq!(c.moved_to, cfg.dc_id("dr"));
            rpo += c.rpo_writes;
            let age = c.rpo_ns().expect("switched") as f64;
            assert!(age <= lat[sha][dr] + 2.5 * MS, "seed {seed}: {age}");
        }
        assert_eq!(o.metrics.totals.lost_writes, rpo, "the city never returned");
        got += rpo as f64 / 4.0;
    }
    eprintln!(
        "city loss: mean RPO {got} writes, λ × {:.1} ms = {want:.1}",
        window * 1e3
    );
    assert!((got / want - 1.0).abs() < 0.35, "{got} vs {want:.1}");

    // Synchronous means no fallback: while shb is down, sha's writes wait
    // for its ack and fail after ack_timeout (1 s). From 32 s every user
    // enters sha and every shard is there: ≈ 1,800 writes/s fail, 1 s after
    // they were written; the reads go on.
    let o = run(&cfg);
    for b in 33..40 {
        let row = o.metrics.row(b, sha);
        let writes = cfg.workload.rate * cfg.workload.writes;
        assert!(
            (row.failed as f64 / writes - 1.0).abs() < 0.15,
            "bucket {b}: {} failed",
            row.failed
        );
    }
    // The variant that degrades to async within the city: the writes sha
    // takes in the second after shb dies wait for it; at the first one's
    // timeout semi-sync switches off and releases them all (as MySQL's
    // does): one switch-off, one timeout. Then sha waits for no ack until
    // shb applies again, so its writes go on: from 32 s, when every user
    // enters sha and every shard is there, none fails (under sync ≈ 1,800
    // a second, above). Before the switch (30.9 s) what fails at sha is
    // what it forwards to shb's shards, ≈ 1,500 requests a second either way.
    // No loss when shb dies, and shb's shards take writes again soon
    // after the switch instead of when shb returns (RTO 20 s under sync).
    let semi = run(&load(
        "dual-active-standby",
        &[cut, "dataset.0.same_region_mode=semi_sync"],
    ));
    let t = semi.metrics.totals;
    assert_eq!((t.semi_sync_fallbacks, t.ack_timeouts), (1, 1), "{t:?}");
    for b in 32..40 {
        assert_eq!(semi.metrics.row(b, sha).failed, 0, "bucket {b}");
    }
    let shb_lost = &semi.metrics.failures[0];
    assert_eq!(shb_lost.rpo_writes, 0);
    let rto = shb_lost.rto().0.expect("recovered") as f64 / S;
    assert!(rto < 12.5, "RTO {rto} s");
    let sync_rto = o.metrics.failures[0].rto().0.expect("recovered") as f64 / S;
    assert!(sync_rto > 19.9, "sync RTO {sync_rto} s");

    // In normal operation sync costs one same-city round trip per write.
    let before = "simulation.duration=19s";
    let sync = run(&load("dual-active-standby", &[before]));
    let plain = run(&load(
        "dual-active-standby",
        &[before, "dataset.0.same_region_mode=async"],
    ));
    let extra = q_ms(&sync.metrics.latency[1], 0.5) - q_ms(&plain.metrics.latency[1], 0.5);
    let peer = 2.0 * lat[sha][shb] / MS;
    eprintln!("sync adds {extra:.3} ms to the write p50; the peer round trip is {peer} ms");
    assert!((extra - peer).abs() < 0.4, "extra {extra} vs {peer}");
}

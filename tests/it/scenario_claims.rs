//! The claims the sources make about the newer shipped scenarios —
//! Facebook's read-your-writes cookie, QQ's N−1 capacity and staged move,
//! MSHA's switch by ratio — and the README's headline table against a
//! fresh run. Helpers come from `scenarios.rs`.

use crate::scenarios::{S, dc, dir, load, propagation_bounds, q_ms, rto_s};

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
    let cfg = load("msha", &[]);
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
    assert_eq!((t.conflicts, t.lost_writes), (0, 0), "{t:?}");
    // Random entry (the units weigh alike): about half the sharded
    // requests (95% of all) enter the unit that does not own their id and
    // are redirected; global requests are forwarded to hz, never redirected.
    let share = t.redirected as f64 / (0.95 * t.requests as f64);
    assert!((0.45..0.55).contains(&share), "redirected share {share}");
}

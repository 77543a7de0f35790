//! DC failures and failover: RPO and RTO against their closed forms, the
//! two procedures against each other, and misroutes during a switchover.

use crate::common;

use multiactive::run;
use multiactive::scenario::Config;

/// Three DCs a, b, c (one region each, users 1 ms from their DC and 10 ms
/// from the others), one-way links a–b `ab`, a–c 30 ms, b–c 20 ms: b is a's
/// nearest. All requests write, hash-sharded over `shards` round-robin.
fn three(ab: &str, rate: f64, shards: u32, extra: &str) -> String {
    let rest = format!(
        "[workload]\nkeys = 30000\nrate = {rate}\nwrites = 1\n\n[sharding]\nshards = {shards}\n\n{extra}\n"
    );
    common::Sites {
        duration: "8s",
        dcs: &["a", "b", "c"],
        links: &[ab, "30ms", "20ms"],
        rest: &rest,
        ..common::Sites::TWO
    }
    .text()
}

const A_DIES: &str = "[[fault]]\nkind = \"dc_down\"\ndc = \"a\"\nat = \"5s\"\n";

fn cfg(text: &str, sets: &[&str]) -> Config {
    common::config(text, sets)
}

#[test]
fn async_rpo_is_write_rate_times_lag() {
    // a's writes reach b after exactly d = 20 ms, so when a dies the writes
    // of its last 20 ms are stranded: a Poisson count of mean λ_a·d, with λ_a
    // the write rate on a's shards (measured: a serves only those). rpo_s,
    // the age of the oldest, is at most d. Mean over 20 seeds within 10%.
    let text = format!(
        "{}\n[failover]\ndetect_after = \"1s\"\nprocedure = \"switch\"\n",
        three("20ms", 6000.0, 100, A_DIES)
    );
    let (mut got, mut want) = (0.0, 0.0);
    for seed in 0..20 {
        let o = run(&cfg(&text, &[&format!("simulation.seed={seed}")]));
        let f = &o.metrics.failures[0];
        let lambda_a = o.metrics.dcs[0].served as f64 / 5.0;
        got += f.rpo_writes as f64;
        want += lambda_a * 0.020;
        assert!(
            f.rpo_ns().unwrap() <= 20_000_000,
            "rpo_s {:?} above the lag",
            f.rpo_ns()
        );
        assert_eq!(
            f.switched.map(|t| t.ns()),
            Some(6_000_000_000),
            "switch = death + detect"
        );
        // a never returns: exactly its stranded acknowledged writes are lost.
        assert_eq!(o.metrics.totals.lost_writes, f.rpo_writes);
    }
    eprintln!("mean rpo_writes {:.2}, λ·d {:.2}", got / 20.0, want / 20.0);
    assert!(
        (got / want - 1.0).abs() < 0.10,
        "mean rpo_writes {:.2} vs λ·d {:.2}",
        got / 20.0,
        want / 20.0
    );
}

#[test]
fn quorum_loses_nothing_when_one_dc_dies() {
    // Majority acks: every acknowledged write of a is applied at b or c, and
    // b, taking over, first takes from c what it lacks.
    let text = format!(
        "{}\n[replication]\nmode = \"quorum\"\n[failover]\ndetect_after = \"1s\"\nprocedure = \"switch\"\n",
        three("20ms", 6000.0, 100, A_DIES)
    );
    for seed in 0..10 {
        let o = run(&cfg(&text, &[&format!("simulation.seed={seed}")]));
        let f = &o.metrics.failures[0];
        assert!(f.switched.is_some());
        assert_eq!(f.rpo_writes, 0, "seed {seed}");
        assert!(
            f.stranded > 0,
            "seed {seed}: unacknowledged writes were in flight"
        );
        assert_eq!(o.metrics.totals.lost_writes, 0, "seed {seed}");
    }
}

/// Two shards of 4 are a's; 12,000 writes/s, so each shard sees a write
/// every 0.33 ms. Detection 2 s, decision 1 s, propagation 500 ms.
fn rto_case(procedure: &str) -> multiactive::Outcome {
    let extra = format!(
        "{A_DIES}\n[routing]\npropagation = \"500ms\"\n[failover]\ndetect_after = \"2s\"\ndecide_after = \"1s\"\nprocedure = \"{procedure}\"\n"
    );
    run(&cfg(
        &three("5ms", 12000.0, 4, &extra),
        &["simulation.duration=10s"],
    ))
}

#[test]
fn switch_rto_is_detection_plus_decision_plus_propagation() {
    // After detection (7 s) users of ra enter at b, whose router sends a's
    // shards to a (dead: the writes fail) until its table arrives at 8.5 s;
    // from then b takes them. RTO = 2 + 1 + 0.5 s, plus the wait for the
    // next write to the slower of a's two shards (under 5 ms here).
    let o = rto_case("switch");
    let (rto, left_out, unrecovered) = o.metrics.failures[0].rto();
    let rto = rto.expect("both shards recovered") as f64 / 1e9;
    // a also wrote the global dataset, which no request touches: left out.
    assert_eq!((left_out, unrecovered), (1, 0));
    assert!((3.5..3.505).contains(&rto), "rto {rto}");
    // ban_then_switch waits for the ban to reach every DC (500 ms) first.
    let ban = rto_case("ban_then_switch");
    let ban_rto = ban.metrics.failures[0].rto().0.expect("recovered") as f64 / 1e9;
    assert!((4.0..4.005).contains(&ban_rto), "ban rto {ban_rto}");
    assert!(ban.metrics.totals.conflicts <= o.metrics.totals.conflicts);
}

/// A planned move of a's shards 0 and 3 to b at 5 s, on 300 hot users.
fn switchover(procedure: &str, extra: &str) -> multiactive::Outcome {
    let faults = "[[fault]]\nkind = \"switchover\"\nshards = \"0,3\"\nto = \"b\"\nat = \"5s\"\n";
    let text = three(
        "50ms",
        6000.0,
        4,
        &format!("{faults}\n[failover]\nprocedure = \"{procedure}\"\nmax_ban = \"1s\"\n{extra}"),
    )
    .replace("keys = 30000", "keys = 300");
    run(&cfg(&text, &[]))
}

#[test]
fn ban_then_switch_trades_recovery_time_for_conflicts() {
    // `switch` hands the shards over while a's last 50 ms of writes are still
    // on their way to b, which already writes the same hot keys: conflicts.
    // The ban waits for them: none, for a longer RTO.
    let sw = switchover("switch", "");
    let ban = switchover("ban_then_switch", "");
    let (sw_rto, ban_rto) = (
        sw.metrics.failures[0].rto().0.unwrap(),
        ban.metrics.failures[0].rto().0.unwrap(),
    );
    eprintln!(
        "switch: {} conflicts, RTO {sw_rto} ns; ban: {} conflicts, RTO {ban_rto} ns",
        sw.metrics.totals.conflicts, ban.metrics.totals.conflicts
    );
    assert!(sw.metrics.totals.conflicts > 0);
    assert_eq!(ban.metrics.totals.conflicts, 0);
    assert!(ban_rto >= sw_rto);
    assert_eq!(
        ban.metrics.failures[0].rpo_writes, 0,
        "the ban waited for replication"
    );
    assert!(!ban.metrics.failures[0].ban_timed_out);
}

#[test]
fn a_lag_beyond_max_ban_switches_at_max_ban_with_the_backlog_as_rpo() {
    // b applies at most 500 of a's writes per second while a takes 1,500/s
    // on the moving shards: the backlog grows without bound, the ban gives
    // up after max_ban = 1 s, and what b lacked then is the RPO.
    let o = switchover("ban_then_switch", "[replication]\napply_rate = 500\n");
    let f = &o.metrics.failures[0];
    assert!(f.ban_timed_out);
    assert_eq!(f.switched.map(|t| t.ns()), Some(6_000_000_000));
    assert!(f.rpo_writes > 1000, "rpo_writes {}", f.rpo_writes);
    assert!(
        f.rpo_ns().unwrap() > 1_000_000_000,
        "the oldest missing write predates the ban"
    );
}

/// Two DCs; ten user regions, each reaching both; a owns every shard, and
/// half of them move to b at 5 s. Users enter at the owner their region's
/// edge knows; rule pushes take uniform [0, 1 s].
fn misroute_text(seed: u64, guard: bool) -> String {
    let mut rest = String::new();
    for r in 0..10 {
        let (la, lb) = if r < 5 {
            ("2ms", "10ms")
        } else {
            ("10ms", "2ms")
        };
        rest += &format!(
            "[[region]]\nname = \"r{r}\"\nusers = 1\nlatency = {{ a = \"{la}\", b = \"{lb}\" }}\n"
        );
    }
    rest += "[workload]\nkeys = 10000\nrate = 4000\nwrites = 0.5\n";
    rest += "[sharding]\nshards = 10\nplacement = { a = \"0-9\" }\n";
    rest += &format!(
        "[routing]\nentry = \"owner\"\non_wrong_dc = \"serve_local\"\nwrite_guard = {guard}\npropagation = {{ dist = \"uniform\", min = \"0ms\", max = \"1s\" }}\n"
    );
    rest += "[[fault]]\nkind = \"switchover\"\nshards = \"0-4\"\nto = \"b\"\nat = \"5s\"\n";
    common::Sites {
        simulation: &format!("seed = {seed}\n"),
        regions: &["r0", "r5"],
        near: "",
        rest: &rest,
        ..common::Sites::TWO
    }
    .text()
}

fn misroute_case(seed: u64, guard: bool) -> (multiactive::Outcome, f64) {
    let c = cfg(&misroute_text(seed, guard), &[]);
    // The write rate on the moved shards: 2,000 writes/s times their users' share.
    let sharding = multiactive::model::sharding::Sharding::new(&c);
    let moved = (0..10_000u32)
        .filter(|&u| sharding.shard_of(u).0 < 5)
        .count() as f64
        / 10_000.0;
    (run(&c), 2000.0 * moved)
}

#[test]
fn switchover_misroutes_writes_for_half_the_propagation_delay() {
    // After the switch a stale edge still sends writes of the moved shards to
    // a, which serves them locally: misrouted, for a uniform [0, P] delay per
    // edge. Expected λ_moved · P/2; over 10 edges and 20 seeds within 12%.
    let (mut got, mut want) = (0.0, 0.0);
    for seed in 0..20 {
        let (o, lambda) = misroute_case(seed, false);
        got += o.metrics.totals.misrouted_writes as f64;
        want += lambda * 0.5;
    }
    eprintln!(
        "misrouted writes per run {:.1}, λ·P/2 {:.1}",
        got / 20.0,
        want / 20.0
    );
    assert!(
        (got / want - 1.0).abs() < 0.12,
        "misrouted {:.1} vs {:.1}",
        got / 20.0,
        want / 20.0
    );
    // With the guard on, a refuses them instead, and nothing conflicts.
    for seed in 0..5 {
        let (o, _) = misroute_case(seed, true);
        let t = o.metrics.totals;
        assert_eq!(t.misrouted_writes, 0);
        assert!(t.guard_rejected > 0);
        assert_eq!(t.conflicts, 0);
    }
}

/// The default scenario at 5,000 requests/s, its fault timeline replaced.
fn default_with(faults: &str, sets: &[&str]) -> multiactive::Outcome {
    let base = multiactive::scenario::DEFAULT_SCENARIO;
    let cut = base
        .find("[[fault]]")
        .expect("the default scenario has a fault");
    let text = format!("{}{faults}", &base[..cut]);
    let mut all = vec!["workload.rate=5000"];
    all.extend(sets);
    run(&cfg(&text, &all))
}

#[test]
fn a_failover_whose_target_dies_during_the_ban_is_tried_again_elsewhere() {
    // sz dies for good at 20 s; at 30 s its shards start moving to sh (the
    // nearest), which dies at 32 s, before the 5 s ban has reached everyone.
    // The move is abandoned and tried again: sz's shards end at bj.
    let faults = "[[fault]]\nkind = \"dc_down\"\ndc = \"sz\"\nat = \"20s\"\n\n[[fault]]\nkind = \"dc_down\"\ndc = \"sh\"\nat = \"32s\"\nfor = \"20s\"\n";
    let o = default_with(faults, &["routing.propagation=5s"]);
    let sz = &o.metrics.failures[0];
    assert!(sz.switched.is_some(), "{sz:?}");
    assert_eq!(sz.moved_to, Some(multiactive::ids::DcId(0)), "to bj");
    assert_eq!(sz.rto().2, 0, "every shard of sz takes writes again");
    assert_eq!(o.metrics.totals.invariant_violations, 0);
}

#[test]
fn a_dc_back_before_its_failover_switched_keeps_its_shards() {
    // sz is down 20–32 s; the controller acts at 30 s, but the ban takes 15 s
    // to reach everyone: sz is back first, so the move is dropped (and the
    // ban lifted) instead of taking sz's shards for good.
    let faults = "[[fault]]\nkind = \"dc_down\"\ndc = \"sz\"\nat = \"20s\"\nfor = \"12s\"\n";
    let o = default_with(
        faults,
        &[
            "routing.propagation=15s",
            "failover.max_ban=60s",
            "simulation.duration=90s",
        ],
    );
    let f = &o.metrics.failures[0];
    assert_eq!(f.switched, None, "{f:?}");
    assert_eq!(f.moved_to, None);
    assert_eq!(f.rto().2, 0, "sz's shards take writes again");
    // At the end sz serves its own shards again.
    let last = o.metrics.n_buckets - 10;
    assert!(o.metrics.row(last, 2).ok > 0, "sz serves at the end");
}

#[test]
fn writes_stranded_in_a_dc_that_never_returns_are_lost_even_without_failover() {
    // Nobody moves sz's shards (auto = false) and sz never comes back: its
    // acknowledged writes the others lacked are lost all the same — the same
    // number as when a failover moves them (and reports them as RPO).
    let faults = "[[fault]]\nkind = \"dc_down\"\ndc = \"sz\"\nat = \"20s\"\n";
    let manual = default_with(faults, &["failover.auto=false"]);
    let auto = default_with(faults, &[]);
    assert!(auto.metrics.failures[0].rpo_writes > 0);
    assert_eq!(
        manual.metrics.totals.lost_writes,
        auto.metrics.totals.lost_writes
    );
    assert_eq!(
        auto.metrics.totals.lost_writes,
        auto.metrics.failures[0].rpo_writes
    );
}

#[test]
fn a_heavy_tailed_service_time_does_not_stall_the_run() {
    // Pareto with shape 0.05 draws service times up to the longest duration
    // a scenario allows; busy time beyond the run's end lands in the last
    // bucket at once.
    let o = default_with(
        "",
        &[
            "datacenter.bj.service_time={dist=\"pareto\",scale=\"1ms\",shape=0.05}",
            "simulation.bucket=10ms",
            "simulation.duration=5s",
        ],
    );
    let t = o.metrics.totals;
    assert_eq!(t.requests, t.ok + t.failed + t.rejected);
}

//! An overloaded system is simulated in bounded memory (the default
//! waiting-room bound refuses what does not fit) and says so in the
//! warnings that standard error and `report.md` show.

use multiactive::model::datacenter::DEFAULT_QUEUE;
use multiactive::output::notes::overload;
use multiactive::scenario::load_default;

#[test]
fn an_overloaded_default_run_refuses_beyond_the_queue_bound_and_warns() {
    // 3 DCs × 64 servers at ≈ 2.3 ms mean service (lognormal, median 2 ms,
    // p99 10 ms) do ≈ 84,000 requests/s; 1,000,000/s arrive for 1 s.
    let cfg = load_default(&[
        "workload.rate=1000000".into(),
        "simulation.duration=1s".into(),
        "simulation.drain=1s".into(),
    ])
    .expect("valid");
    let o = multiactive::run(&cfg);
    let t = o.metrics.totals;
    assert_eq!(t.requests, t.ok + t.failed + t.rejected);
    assert_eq!(t.invariant_violations, 0);
    // Served in 2 s at most ≈ 170,000; waiting at most 3 × DEFAULT_QUEUE:
    // of ≈ 1,000,000 at least ≈ 530,000 are refused at a full waiting room.
    assert!(t.queue_full > 500_000, "{t:?}");
    assert!(t.ok < 200_000, "{t:?}");
    let warnings = overload(&o);
    // Each DC saturated, then the full waiting rooms, then the cut-off.
    assert_eq!(warnings.len(), 5, "{warnings:?}");
    for (w, dc) in warnings.iter().zip(["bj", "sh", "sz"]) {
        assert!(
            w.starts_with(&format!("DC {dc}'s servers were busy ")),
            "{w}"
        );
        assert!(w.contains(": it is saturated"), "{w}");
    }
    assert_eq!(
        warnings[3],
        format!(
            "{} requests were refused because a waiting room was full (`queue`: {DEFAULT_QUEUE} places unless a datacenter sets it)",
            t.queue_full
        )
    );
    assert!(
        warnings[4].starts_with(&format!(
            "{} requests were still in flight when the run ended",
            t.in_flight_at_end
        )),
        "{}",
        warnings[4]
    );
    // What is left at the end is at most what the waiting rooms and the
    // servers hold: the bound, not the backlog of 830,000 an unbounded
    // queue would keep.
    let held = 3 * u64::from(DEFAULT_QUEUE + 64);
    assert!(t.in_flight_at_end <= held, "{t:?}");
    assert!(t.queue_full + 200_000 + held >= t.requests, "{t:?}");
}

#[test]
fn a_run_that_keeps_up_has_no_warnings() {
    let cfg = load_default(&["simulation.duration=5s".into()]).expect("valid");
    let o = multiactive::run(&cfg);
    assert_eq!(o.metrics.totals.queue_full, 0);
    assert_eq!(overload(&o), Vec::<String>::new());
}

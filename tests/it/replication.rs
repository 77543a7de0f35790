//! Replication against closed forms and hand-computed cases.

use crate::common;

use multiactive::run;

#[test]
fn local_reads_of_global_data_are_stale_at_the_rate_the_lag_implies() {
    // All requests touch one global key owned by `a`; half write (all at a,
    // Poisson at λ = 20/s), half read, locally. A read at b at time t misses
    // the newest acknowledged write iff a write was acknowledged at a in
    // (t - d, t], d = 10 ms: P = 1 - exp(-λd) = 1 - exp(-0.2) = 0.1813.
    // About 40,000 reads at b; tolerance 5%.
    let extra = "global = 1\nglobal_writes = 0.5\nglobal_keys = 1\n[sharding]\nglobal_owner = \"a\"\nglobal_reads = \"local\"";
    let o = run(&common::config(
        &common::pair("10ms", 40.0, "4000s", extra),
        &[],
    ));
    let b = &o.metrics.dcs[1];
    let a = &o.metrics.dcs[0];
    assert_eq!(a.stale_reads, 0, "the owner's reads are never stale");
    let p = b.stale_reads as f64 / b.reads as f64;
    let want = 1.0 - (-0.2f64).exp();
    eprintln!(
        "stale fraction at b: {p:.4} (closed form {want:.4}, {} reads)",
        b.reads
    );
    assert!(
        (p / want - 1.0).abs() < 0.05,
        "stale fraction at b {p:.4}, closed form {want:.4} ({} reads)",
        b.reads
    );
    let t = o.metrics.totals;
    assert_eq!(t.conflicts, 0, "one writer: no conflicts");
    assert_eq!(t.divergent_keys, 0);
    assert_eq!(t.lost_writes, 0);
    // Constant 10 ms link, unlimited apply rate: every lag is 10 ms.
    assert_eq!(o.metrics.lag_all.len(), t.replicated);
    assert!((o.metrics.lag_all.min() as f64 / 1e7 - 1.0).abs() < 0.001);
    assert!((o.metrics.lag_all.max() as f64 / 1e7 - 1.0).abs() < 0.001);
}

#[test]
fn hot_key_written_at_both_dcs_conflicts_as_poisson_predicts() {
    // One key, written at both DCs (serve_local, no guard), Poisson at
    // λ = 10/s per DC, one-way delay d = 10 ms. A write conflicts iff the
    // other DC wrote within the 2d window around it: 1 - exp(-2λd) = 0.1813.
    // 100,000 writes; tolerance 5%.
    let extra =
        "writes = 1\nlocality = 0\n[routing]\non_wrong_dc = \"serve_local\"\nwrite_guard = false";
    let text = common::pair("10ms", 20.0, "5000s", extra).replace("keys = 1000", "keys = 1");
    let o = run(&common::config(&text, &[]));
    let t = o.metrics.totals;
    let writes = o.metrics.latency[1].len() as f64;
    let p = t.conflicts as f64 / writes;
    let want = 1.0 - (-0.2f64).exp();
    eprintln!("conflict fraction {p:.4} (closed form {want:.4}, {writes} writes); {t:?}");
    assert!(
        (p / want - 1.0).abs() < 0.05,
        "conflict fraction {p:.4} vs {want:.4}"
    );
    // LWW with causal timestamps converges, and each conflict between two
    // writes discards one of them.
    assert_eq!(t.divergent_keys, 0);
    assert!(t.lost_writes > 0 && t.lost_writes <= t.conflicts, "{t:?}");
}

/// Two DCs 10 ms apart, users at 0 ms, scripted requests only.
fn scripted(requests: &str, extra: &str) -> String {
    let base = common::pair("10ms", 0.0, "1s", "").replace("keys = 1000", "keys = 10");
    format!(
        "{base}{extra}\n[routing]\non_wrong_dc = \"serve_local\"\nwrite_guard = false\n{requests}"
    )
}

const CONFLICTING: &str = r#"
[[request]]
at = "0ms"
region = "ra"
key = 0
write = true

[[request]]
at = "5ms"
region = "rb"
key = 0
write = true

[[request]]
at = "100ms"
region = "ra"
key = 1
write = true

[[request]]
at = "105ms"
region = "rb"
key = 1

[[request]]
at = "200ms"
region = "rb"
key = 1
"#;

#[test]
fn hand_computed_conflict_loss_lag_and_staleness() {
    // 0 ms: a writes key 0 (w1, ts 0); it reaches b at 10 ms.
    // 5 ms: b writes key 0 (w2, ts 5 ms) on the initial value: concurrent.
    // 10 ms: w1 reaches b, which holds w2: conflict; LWW keeps w2 (later).
    // 15 ms: w2 reaches a, which holds w1: conflict; LWW picks w2.
    // So: 2 conflicts, w1 (acknowledged) lost, both DCs end on w2.
    // 100 ms: a writes key 1 (w3), at b by 110 ms: the read at b at 105 ms
    // is stale, the one at 200 ms is not. Every lag is exactly 10 ms.
    let o = run(&common::config(&scripted(CONFLICTING, ""), &[]));
    let t = o.metrics.totals;
    assert_eq!(t.requests, 5);
    assert_eq!(t.ok, 5);
    assert_eq!(t.conflicts, 2);
    assert_eq!(t.lost_writes, 1);
    assert_eq!(t.divergent_keys, 0);
    assert_eq!(t.stale_reads, 1);
    assert_eq!(t.replicated, 3);
    assert_eq!(o.metrics.lag_all.len(), 3);
    assert!((o.metrics.lag_all.min() as f64 / 1e7 - 1.0).abs() < 0.001);
    assert!((o.metrics.lag_all.max() as f64 / 1e7 - 1.0).abs() < 0.001);
}

#[test]
fn clock_skew_and_origin_priority_decide_which_write_survives() {
    // The conflict above, then b reads key 0 at 500 ms. The newest write
    // acknowledged before that read is w2 (at 5 ms), so the read is stale
    // exactly when w2 was the write discarded:
    // - plain LWW keeps w2 (ts 5 ms > 0): only the 105 ms read is stale;
    // - b's clock 10 ms behind gives w2 ts -5 ms: w1 wins, 2 stale reads;
    // - origin_priority with a listed first: w1 wins, 2 stale reads.
    // Every variant has 2 conflicts, 1 lost write, and converges.
    let read = "\n[[request]]\nat = \"500ms\"\nregion = \"rb\"\nkey = 0\n";
    let text = scripted(&format!("{CONFLICTING}{read}"), "");
    let skewed = text.replace(
        "region = \"rb\"\n\n[[link]]",
        "region = \"rb\"\nclock_skew = \"-10ms\"\n\n[[link]]",
    );
    assert_ne!(skewed, text);
    let cases = [
        (run(&common::config(&text, &[])), 1),
        (run(&common::config(&skewed, &[])), 2),
        (
            run(&common::config(
                &text,
                &["replication.resolve=origin_priority"],
            )),
            2,
        ),
    ];
    for (i, (o, stale)) in cases.iter().enumerate() {
        let t = o.metrics.totals;
        assert_eq!(
            (t.conflicts, t.lost_writes, t.divergent_keys),
            (2, 1, 0),
            "case {i}"
        );
        assert_eq!(t.stale_reads, *stale, "case {i}");
    }
}

#[test]
fn sync_modes_wait_for_remote_applies() {
    // One write at a; b applies it at 10 ms and its ack is back at 20 ms.
    let one = "[[request]]\nat = \"0ms\"\nregion = \"ra\"\nkey = 3\nwrite = true\n";
    for (mode, latency_ms) in [
        ("async", 0.0),
        ("semi_sync", 20.0),
        ("quorum", 20.0),
        ("sync", 20.0),
    ] {
        let o = run(&common::config(
            &scripted(one, ""),
            &[&format!("replication.mode={mode}")],
        ));
        let h = &o.metrics.latency[1];
        assert_eq!(h.len(), 1, "{mode}");
        assert!(
            (h.max() as f64 / 1e6 - latency_ms).abs() < 0.05,
            "{mode}: {} ns",
            h.max()
        );
    }
}

#[test]
fn an_unreachable_ack_times_out_and_the_write_fails_but_replicates_later() {
    // The link is down from 0 to 2 s; the sync write waits for b's ack,
    // gives up after ack_timeout = 1 s (failed), and replicates when the
    // link heals: b applies it at 2.01 s, lag 2.01 s. Not lost: it was never
    // acknowledged, and it is in the final state anyway.
    let one = "[[request]]\nat = \"0ms\"\nregion = \"ra\"\nkey = 3\nwrite = true\n";
    let fault =
        "\n[[fault]]\nkind = \"link_down\"\nbetween = [\"a\", \"b\"]\nat = \"0ms\"\nfor = \"2s\"\n";
    let text =
        scripted(&format!("{one}{fault}"), "").replace("duration = \"1s\"", "duration = \"3s\"");
    let o = run(&common::config(
        &text,
        &["replication.mode=sync", "replication.ack_timeout=1s"],
    ));
    let t = o.metrics.totals;
    assert_eq!((t.requests, t.failed, t.ack_timeouts), (1, 1, 1));
    assert_eq!((t.replicated, t.lost_writes, t.divergent_keys), (1, 0, 0));
    assert!((o.metrics.lag_all.max() as f64 / 2.01e9 - 1.0).abs() < 0.001);
}

#[test]
fn a_bounded_apply_rate_queues_bursts() {
    // Five writes at a at 0 ms, apply rate 100/s (one per 10 ms) at b: they
    // arrive at 10 ms and apply at 10, 20, 30, 40, 50 ms.
    let burst: String = (0..5)
        .map(|k| format!("[[request]]\nat = \"0ms\"\nregion = \"ra\"\nkey = {k}\nwrite = true\n\n"))
        .collect();
    let o = run(&common::config(
        &scripted(&burst, ""),
        &["replication.apply_rate=100"],
    ));
    let lag = &o.metrics.lag_all;
    assert_eq!(lag.len(), 5);
    assert!((lag.min() as f64 / 1e7 - 1.0).abs() < 0.001);
    assert!((lag.value_at_quantile(0.5) as f64 / 3e7 - 1.0).abs() < 0.001);
    assert!((lag.max() as f64 / 5e7 - 1.0).abs() < 0.001);
}

#[test]
fn a_link_cut_holds_the_stream_and_it_resumes_in_order() {
    // The link is down from 50 to 150 ms: a's writes at 60 and 70 ms wait,
    // are shipped again at 150 ms and applied at 160 ms: lags 100 and 90 ms.
    // A slowed link (x3 from 300 ms) makes the write at 400 ms take 30 ms.
    let reqs = "[[request]]\nat = \"60ms\"\nregion = \"ra\"\nkey = 1\nwrite = true\n\n[[request]]\nat = \"70ms\"\nregion = \"ra\"\nkey = 2\nwrite = true\n\n[[request]]\nat = \"400ms\"\nregion = \"ra\"\nkey = 3\nwrite = true\n";
    let faults = "\n[[fault]]\nkind = \"link_down\"\nbetween = [\"a\", \"b\"]\nat = \"50ms\"\nfor = \"100ms\"\n\n[[fault]]\nkind = \"slow_link\"\nbetween = [\"a\", \"b\"]\nfactor = 3\nat = \"300ms\"\n";
    let o = run(&common::config(
        &scripted(&format!("{reqs}{faults}"), ""),
        &[],
    ));
    let s = o.metrics.streams[1].as_ref().expect("stream a→b");
    assert_eq!(s.lag.len(), 3);
    let h = s.lag.histogram(multiactive::metrics::new_lag_histogram());
    let mut lags: Vec<u64> = h
        .iter_recorded()
        .map(|v| h.highest_equivalent(v.value_iterated_to()))
        .collect();
    lags.sort_unstable();
    let want = [30e6, 90e6, 100e6];
    for (got, want) in lags.iter().zip(want) {
        assert!((*got as f64 / want - 1.0).abs() < 0.002, "lags {lags:?}");
    }
}

/// Three DCs 5 ms apart, users at 0 ms from their own DC, any DC writes any key.
fn three() -> String {
    common::Sites {
        duration: "1s",
        dcs: &["a", "b", "c"],
        links: &["5ms"; 3],
        near: "0ms",
        far: "",
        rest: THREE_REST,
        ..common::Sites::TWO
    }
    .text()
}

/// What follows the three DCs: one key, writes at each, a stalled stream.
const THREE_REST: &str = r#"
[workload]
keys = 1
rate = 0

[routing]
on_wrong_dc = "serve_local"
write_guard = false

[[request]]
at = "0ms"
region = "ra"
key = 0
write = true

[[request]]
at = "1ms"
region = "rb"
key = 0
write = true

[[request]]
at = "10ms"
region = "rc"
key = 0
write = true

[[fault]]
kind = "replication_stall"
from = "a"
to = "b"
at = "0ms"
for = "100ms"
"#;

#[test]
fn origin_priority_can_diverge_with_three_dcs_where_lww_converges() {
    // a1 at a (0 ms); b2 at b (1 ms), concurrent; c1 at c (10 ms) after c
    // applied a1, so c1 is based on a1. The stream a→b stalls until 100 ms,
    // so b sees c1 before a1.
    // origin_priority (a > b > c):
    // - a: keeps a1 against b2 (6 ms), then c1 (15 ms) is based on a1: c1;
    // - b: keeps b2 against c1 (15 ms), then a1 (105 ms) beats b2: a1;
    // - c: keeps a1 against b2 (6 ms), then writes c1 on it: c1.
    // The priority order and the causal order disagree, and replicas part.
    // LWW with causal timestamps gives c1 (ts 10 ms) everywhere.
    let prio = run(&common::config(
        &three(),
        &["replication.resolve=origin_priority"],
    ));
    assert_eq!(prio.metrics.totals.divergent_keys, 1);
    let lww = run(&common::config(&three(), &[]));
    assert_eq!(lww.metrics.totals.divergent_keys, 0);
    // Under LWW, c1 survives; a1 is on its lineage, b2 is lost.
    assert_eq!(lww.metrics.totals.lost_writes, 1);
}

/// Scripted writes from region `ra`, at the given times, to keys 0, 1, ….
fn writes_from_ra(ats: &[&str]) -> String {
    ats.iter()
        .enumerate()
        .map(|(k, at)| {
            format!("[[request]]\nat = \"{at}\"\nregion = \"ra\"\nkey = {k}\nwrite = true\n\n")
        })
        .collect()
}

/// The a–b link down from 0 to 2 s.
const LINK_DOWN_FOR_2S: &str =
    "[[fault]]\nkind = \"link_down\"\nbetween = [\"a\", \"b\"]\nat = \"0ms\"\nfor = \"2s\"\n";

#[test]
fn semi_sync_falls_back_to_async_after_its_timeout() {
    // The link is down from 0 to 2 s. The first semi-sync write at a waits
    // ack_timeout = 1 s for b's ack, is then acknowledged anyway (latency
    // exactly 1 s) and a falls back to async: its next write, at 1.5 s, is
    // acknowledged at once. Once b applies a's writes again (2.01 s), a waits
    // for acks again: the write at 2.5 s takes the 20 ms round trip.
    let writes = writes_from_ra(&["0ms", "1500ms", "2500ms"]);
    let fault = LINK_DOWN_FOR_2S;
    let text =
        scripted(&format!("{writes}{fault}"), "").replace("duration = \"1s\"", "duration = \"3s\"");
    let o = run(&common::config(
        &text,
        &["replication.mode=semi_sync", "replication.ack_timeout=1s"],
    ));
    let t = o.metrics.totals;
    assert_eq!(
        (t.ok, t.failed, t.ack_timeouts, t.semi_sync_fallbacks),
        (3, 0, 1, 1)
    );
    assert_write_latencies_ms(&o, &[0.0, 20.0, 1000.0]);
    assert_eq!(t.lost_writes, 0);
}

#[test]
fn replication_delay_adds_to_every_lag_exactly() {
    // The hand-computed case above with `replication.delay = "16ms"`: every
    // write reaches the other DC link (10 ms) + delay (16 ms) = 26 ms after
    // it executed. w1 (a, 0 ms) reaches b at 26 ms, w2 (b, 5 ms) reaches a at
    // 31 ms: still 2 conflicts, w1 lost. w3 (a, key 1, 100 ms) reaches b at
    // 126 ms, so a read at b at 120 ms is stale too (not without the delay:
    // w3 was there at 110 ms), and the one at 200 ms is not.
    let read = "\n[[request]]\nat = \"120ms\"\nregion = \"rb\"\nkey = 1\n";
    let requests = format!("{CONFLICTING}{read}");
    let plain = run(&common::config(&scripted(&requests, ""), &[]));
    assert_eq!(plain.metrics.totals.stale_reads, 1, "no delay: 105 ms only");
    let explicit_zero = run(&common::config(
        &scripted(&requests, "[replication]\ndelay = \"0s\"\n"),
        &[],
    ));
    assert_eq!(
        format!("{:?}", explicit_zero.metrics.totals),
        format!("{:?}", plain.metrics.totals),
        "delay 0 is the default"
    );
    let o = run(&common::config(
        &scripted(&requests, "[replication]\ndelay = \"16ms\"\n"),
        &[],
    ));
    let t = o.metrics.totals;
    assert_eq!((t.requests, t.ok), (6, 6));
    assert_eq!((t.conflicts, t.lost_writes, t.divergent_keys), (2, 1, 0));
    assert_eq!(t.stale_reads, 2, "105 ms and 120 ms");
    assert_eq!(o.metrics.lag_all.len(), 3);
    for lag in [o.metrics.lag_all.min(), o.metrics.lag_all.max()] {
        assert!((lag as f64 / 26e6 - 1.0).abs() < 0.001, "lag {lag} ns");
    }
    // Under `sync` the write waits for b's apply (26 ms) and the ack's trip
    // back (10 ms): 36 ms.
    let one = "[[request]]\nat = \"0ms\"\nregion = \"ra\"\nkey = 3\nwrite = true\n";
    let o = run(&common::config(
        &scripted(one, "[replication]\ndelay = \"16ms\"\n"),
        &["replication.mode=sync"],
    ));
    let h = &o.metrics.latency[1];
    assert_eq!(h.len(), 1);
    assert!((h.max() as f64 / 1e6 - 36.0).abs() < 0.05, "{} ns", h.max());
}

#[test]
fn a_write_waiting_only_for_its_city_peer_times_out_each_on_its_own() {
    // a and b in one region (a city), `same_region_mode = "sync"`: a's
    // writes wait for b's ack alone. The link is down from 0 to 2 s, so the
    // three writes at 0, 10 and 20 ms each fail ack_timeout = 100 ms after
    // they were written: three timeouts, three failures, none acknowledged
    // when the link heals.
    let writes = writes_from_ra(&["0ms", "10ms", "20ms"]);
    let fault = LINK_DOWN_FOR_2S;
    let city =
        "[[dataset]]\nname = \"all\"\nshare = 1\nmode = \"async\"\nsame_region_mode = \"sync\"\n";
    let text = scripted(&format!("{writes}{fault}"), city)
        .replace(
            "name = \"b\"\nregion = \"rb\"",
            "name = \"b\"\nregion = \"ra\"",
        )
        .replace("duration = \"1s\"", "duration = \"3s\"");
    let o = run(&common::config(&text, &["replication.ack_timeout=100ms"]));
    let t = o.metrics.totals;
    assert_eq!((t.ok, t.failed, t.ack_timeouts), (0, 3, 3), "{t:?}");
    assert_eq!(t.lost_writes, 0);
}

#[test]
fn semi_sync_in_the_city_falls_back_until_the_city_peer_applies_again() {
    // a and b in one city 1 ms apart, c in another 10 ms from both; one
    // dataset `same_region_mode = "semi_sync"`, `mode = "async"`: a's writes
    // wait for b alone. The a–b link is down from 0 to 2 s. The write at 0
    // waits ack_timeout = 100 ms and is acknowledged anyway (the one
    // fallback); c applies it at 10 ms, which says nothing of b, so the
    // writes at 300 ms to 1.5 s are acknowledged at once. The link heals at
    // 2 s and b applies a's backlog at 2.001 s: the write at 2.5 s waits for
    // b again (the 2 ms round trip). Before the fallback was per class,
    // c's applies ended it and every other write timed out (3 fallbacks).
    let writes = writes_from_ra(&["0ms", "300ms", "700ms", "1100ms", "1500ms", "2500ms"]);
    let b_c_down = LINK_DOWN_FOR_2S.replace("\"a\", \"b\"", "\"b\", \"c\"");
    let requests = format!("{writes}{LINK_DOWN_FOR_2S}\n{b_c_down}");
    let rest = format!(
        "[workload]\nkeys = 10\nrate = 0\n\n[routing]\non_wrong_dc = \"serve_local\"\n\
         write_guard = false\n\n[[dataset]]\nname = \"all\"\nshare = 1\nmode = \"async\"\n\
         same_region_mode = \"semi_sync\"\n{requests}"
    );
    let text = |rest: &str| {
        common::Sites {
            duration: "3s",
            dcs: &["a", "b", "c"],
            regions: &["ra", "ra", "rc"],
            links: &["1ms", "10ms", "10ms"],
            near: "0ms",
            far: "",
            rest,
            ..common::Sites::TWO
        }
        .text()
    };
    let o = run(&common::config(
        &text(&rest),
        &["replication.ack_timeout=100ms"],
    ));
    let t = o.metrics.totals;
    assert_eq!(
        (t.ok, t.failed, t.ack_timeouts, t.semi_sync_fallbacks),
        (6, 0, 1, 1),
        "{t:?}"
    );
    assert_write_latencies_ms(&o, &[0.0, 0.0, 0.0, 0.0, 2.0, 100.0]);
    assert_eq!(t.lost_writes, 0);
    // With `mode = "sync"` toward c and c cut off too (a–c down), each
    // write before the links heal (0, 0.7, 1.1, 1.5 s; the one at 300 ms
    // moved to 2.9 s) still waits for c when it times out: the strict class
    // has no fallback, so all four fail and nothing falls back (before, the
    // city's semi-sync acknowledged the first and the others at once).
    let a_c_down = LINK_DOWN_FOR_2S.replace("\"b\"", "\"c\"");
    let strict_far = format!(
        "{}\n{a_c_down}",
        rest.replace("mode = \"async\"", "mode = \"sync\"")
    )
    .replace("at = \"300ms\"", "at = \"2900ms\"");
    let o = run(&common::config(
        &text(&strict_far),
        &["replication.ack_timeout=100ms"],
    ));
    let t = o.metrics.totals;
    assert_eq!(
        (t.ok, t.failed, t.ack_timeouts, t.semi_sync_fallbacks),
        (2, 4, 4, 0),
        "{t:?}"
    );
}

#[test]
fn an_ack_that_cannot_count_is_not_simulated() {
    // a, b, c with links a–b 20 ms, a–c 30 ms: a's write reaches b at 20 ms
    // and c at 30 ms; their acks would reach a at 40 and 60 ms. `quorum`
    // (one remote ack of two) completes with b's at 40 ms, and c's, sent
    // while b's is on its way and arriving after it, could not count: it is
    // not simulated. `sync` needs both. Same draws either way, so the runs
    // differ by that one event, and by 20 ms of write latency.
    let rest = format!(
        "[workload]\nkeys = 10\nrate = 0\n\n[routing]\non_wrong_dc = \"serve_local\"\n\
         write_guard = false\n\n{}",
        writes_from_ra(&["0ms"])
    );
    let text = common::Sites {
        duration: "1s",
        rest: &rest,
        ..common::Sites::THREE
    }
    .text();
    let run_mode = |mode: &str| {
        let o = run(&common::config(
            &text,
            &[&format!("replication.mode={mode}")],
        ));
        let t = o.metrics.totals;
        assert_eq!((t.ok, t.replicated, t.ack_timeouts), (1, 2, 0), "{mode}");
        (o.events, o.metrics.latency[1].max() as f64 / 1e6)
    };
    let (async_events, async_ms) = run_mode("async");
    let (quorum_events, quorum_ms) = run_mode("quorum");
    let (sync_events, sync_ms) = run_mode("sync");
    assert!(
        (quorum_ms - async_ms - 40.0).abs() < 0.05,
        "{quorum_ms} vs {async_ms}"
    );
    assert!(
        (sync_ms - async_ms - 60.0).abs() < 0.05,
        "{sync_ms} vs {async_ms}"
    );
    assert_eq!(quorum_events, async_events + 1, "b's ack only");
    assert_eq!(sync_events, async_events + 2, "both acks");
}

#[test]
fn a_semi_sync_switch_off_releases_every_write_waiting_with_it() {
    // The a–b link is down from 0 to 2 s; semi-sync writes at 0, 200 and
    // 400 ms all wait for b. At 1 s the first one's ack timeout switches
    // semi-sync off, which (as MySQL's) releases the other two at once:
    // latencies 1000, 800 and 600 ms, one timeout, one switch-off.
    let writes = writes_from_ra(&["0ms", "200ms", "400ms"]);
    let text = scripted(&format!("{writes}{LINK_DOWN_FOR_2S}"), "")
        .replace("duration = \"1s\"", "duration = \"3s\"");
    let o = run(&common::config(
        &text,
        &["replication.mode=semi_sync", "replication.ack_timeout=1s"],
    ));
    let t = o.metrics.totals;
    assert_eq!(
        (t.ok, t.failed, t.ack_timeouts, t.semi_sync_fallbacks),
        (3, 0, 1, 1),
        "{t:?}"
    );
    assert_write_latencies_ms(&o, &[600.0, 800.0, 1000.0]);
}

#[test]
fn a_semi_sync_switch_off_leaves_a_strict_dataset_waiting() {
    // The users' dataset is `semi_sync`, the global data keeps
    // `replication.mode = "sync"`; both written at a, the a–b link down from
    // 0 to 2 s. The user write at 0 switches the users' semi-sync off at
    // 1 s; the global write at 1.2 s still waits for b (sync has no
    // fallback), which applies it once the link heals: acknowledged at
    // 2.02 s (b applies at 2.01 s, its ack takes 10 ms back), 820 ms.
    let requests = format!(
        "{}[[request]]\nat = \"1200ms\"\nregion = \"ra\"\nkey = 0\nglobal = true\nwrite = true\n\n{LINK_DOWN_FOR_2S}",
        writes_from_ra(&["0ms"])
    );
    let users = "[[dataset]]\nname = \"users\"\nshare = 1\nmode = \"semi_sync\"\n";
    let text = scripted(&requests, users).replace("duration = \"1s\"", "duration = \"3s\"");
    let o = run(&common::config(
        &text,
        &[
            "replication.mode=sync",
            "replication.ack_timeout=1s",
            "workload.global_keys=10",
        ],
    ));
    let t = o.metrics.totals;
    assert_eq!(
        (t.ok, t.failed, t.ack_timeouts, t.semi_sync_fallbacks),
        (2, 0, 1, 1),
        "{t:?}"
    );
    assert_write_latencies_ms(&o, &[820.0, 1000.0]);
}

/// The run's write latencies, each within 0.2% (+ 10 µs) of `want_ms`,
/// all of them, in increasing order.
fn assert_write_latencies_ms(o: &multiactive::model::Outcome, want_ms: &[f64]) {
    let mut lat: Vec<f64> = o.metrics.latency[1]
        .iter_recorded()
        .flat_map(|v| {
            std::iter::repeat_n(
                v.value_iterated_to() as f64 / 1e6,
                v.count_at_value() as usize,
            )
        })
        .collect();
    lat.sort_by(f64::total_cmp);
    assert_eq!(lat.len(), want_ms.len(), "latencies {lat:?}");
    for (got, want) in lat.iter().zip(want_ms) {
        assert!(
            (got - want).abs() <= want * 0.002 + 0.01,
            "latencies {lat:?}, want {want_ms:?}"
        );
    }
}

//! Log compaction (`replication.compact_after`): what streams that cannot
//! deliver hold is cut to the latest write of each key once a log is past
//! the bound; the destination catches up with those and converges.

use crate::common;

use multiactive::run;

/// Two DCs 10 ms apart, users at 0 ms, scripted requests only: `b` writes
/// key 0 at 25 ms and dies at 26 ms, before that write leaves; `a` writes
/// key 0 at 20, 30 and 40 ms and key 1 at 50 ms; `b` is back at 500 ms.
fn case() -> String {
    common::Sites {
        duration: "1s",
        near: "0ms",
        far: "",
        rest: r#"[workload]
keys = 10
rate = 0

[routing]
on_wrong_dc = "serve_local"
write_guard = false

[[request]]
at = "20ms"
region = "ra"
key = 0
write = true

[[request]]
at = "25ms"
region = "rb"
key = 0
write = true

[[request]]
at = "30ms"
region = "ra"
key = 0
write = true

[[request]]
at = "40ms"
region = "ra"
key = 0
write = true

[[request]]
at = "50ms"
region = "ra"
key = 1
write = true

[[fault]]
kind = "dc_down"
dc = "b"
at = "26ms"
for = "474ms"
"#,
        ..common::Sites::TWO
    }
    .text()
}

#[test]
fn a_compacted_stream_ships_the_latest_write_per_key_and_converges() {
    // a's writes a1..a3 (key 0, timestamps 20, 30, 40 ms) and a4 (key 1)
    // wait for b; b's b1 (key 0, ts 25 ms, acknowledged) waits for a.
    //
    // Without compaction (the default bound is far off) b applies all four
    // at 510 ms: a1 meets b1, concurrent, and loses (LWW, 20 < 25): one
    // conflict; a2 (based on a1, which b never kept) meets b1 again and
    // wins (30 > 25): two; a3 and a4 follow in order. At a, b1 meets a3 and
    // loses: three conflicts, five applies.
    //
    // With `compact_after = 2`, a's third write finds three entries held by
    // the blocked stream only: of key 0's writes a3 stays (its version
    // vector includes a1 and a2), a4 comes after. b applies a3 (conflict
    // with b1, won) and a4; a applies b1 (conflict, lost): two conflicts,
    // three applies. Either way both DCs end on a3, and b1, acknowledged
    // and off a3's lineage, is the one lost write.
    for (sets, conflicts, replicated, oldest_ms) in [
        (vec![], 3, 5, 20.0),
        (vec!["replication.compact_after=2"], 2, 3, 40.0),
    ] {
        let o = run(&common::config(&case(), &sets));
        let t = o.metrics.totals;
        assert_eq!(
            (t.requests, t.ok, t.invariant_violations),
            (5, 5, 0),
            "{sets:?}"
        );
        assert_eq!(
            (t.conflicts, t.replicated, t.lost_writes, t.divergent_keys),
            (conflicts, replicated, 1, 0),
            "{sets:?}"
        );
        // a→b: every apply at 510 ms, the oldest of a write made at 20 ms
        // (a1), or at 40 ms (a3) once a1 and a2 are superseded.
        let s = o.metrics.streams[1].as_ref().expect("stream a→b");
        assert_eq!(s.lag.len(), replicated - 1, "{sets:?}");
        let max = (510.0 - oldest_ms) * 1e6;
        assert!((s.lag.max() as f64 / max - 1.0).abs() < 0.002, "{sets:?}");
        let min = s
            .lag
            .histogram(multiactive::metrics::new_lag_histogram())
            .min();
        assert!((min as f64 / 460e6 - 1.0).abs() < 0.002, "{sets:?}");
    }
}

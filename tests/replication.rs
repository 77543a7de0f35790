//! Replication against closed forms and hand-computed cases.

mod common;

use multiactive::run;

/// Two DCs `a` and `b`, one-way link delay `d`, users next to each DC.
fn two_dcs(link: &str, rate: f64, duration: &str, extra: &str) -> String {
    format!(
        r#"
[simulation]
duration = "{duration}"
drain = "5s"
seed = 5

[[datacenter]]
name = "a"
region = "ra"

[[datacenter]]
name = "b"
region = "rb"

[[link]]
between = ["a", "b"]
latency = "{link}"

[[region]]
name = "ra"
users = 1
latency = {{ a = "0ms" }}

[[region]]
name = "rb"
users = 1
latency = {{ b = "0ms" }}

[workload]
keys = 1000
rate = {rate}
{extra}
"#
    )
}

#[test]
fn local_reads_of_global_data_are_stale_at_the_rate_the_lag_implies() {
    // All requests touch one global key owned by `a`; half write (all at a,
    // Poisson at λ = 20/s), half read, locally. A read at b at time t misses
    // the newest acknowledged write iff a write was acknowledged at a in
    // (t - d, t], d = 10 ms: P = 1 - exp(-λd) = 1 - exp(-0.2) = 0.1813.
    // About 40,000 reads at b; tolerance 5%.
    let extra = "global = 1\nglobal_writes = 0.5\nglobal_keys = 1\n[sharding]\nglobal_owner = \"a\"\nglobal_reads = \"local\"";
    let o = run(&common::config(&two_dcs("10ms", 40.0, "4000s", extra), &[]));
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

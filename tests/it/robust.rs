//! Results that are true or visibly marked, whatever a scenario asks for:
//! no capped measurements, run folders written whole, outputs that stream
//! to disk.

use crate::common;

/// Two DCs whose link takes `link` one way; users `access` from their DC.
fn far_apart(link: &str, access: &str, duration: &str, requests: &str) -> String {
    format!(
        r#"
[simulation]
duration = "{duration}"
drain = "1s"

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
latency = {{ a = "{access}", b = "{access}" }}

[[region]]
name = "rb"
users = 1
latency = {{ a = "{access}", b = "{access}" }}

[workload]
keys = 10
rate = 0

[routing]
on_wrong_dc = "serve_local"
write_guard = false
{requests}
"#
    )
}

const ONE_WRITE: &str = r#"
[[request]]
at = "0s"
region = "ra"
key = 0
write = true
"#;

/// A latency of 4,500 s (2,250 s each way to the DC) and a replication lag
/// of 4,500 s (the link) are reported as such: histograms used to stop at
/// one hour and printed 3,601 s.
#[test]
fn latencies_and_lags_beyond_an_hour_are_not_capped() {
    let text = far_apart("4500s", "2250s", "4600s", ONE_WRITE);
    let o = multiactive::run(&common::config(&text, &[]));
    let m = &o.metrics;
    assert_eq!(m.totals.ok, 1, "{:?}", m.totals);
    let lat_s = m.latency[1].max() as f64 / 1e9;
    // Three significant digits: within 0.1% of 4,500 s (service is instant).
    assert!((lat_s - 4500.0).abs() <= 4.5, "latency {lat_s} s");
    let lag_s = m.lag_all.max() as f64 / 1e9;
    assert!((lag_s - 4500.0).abs() <= 4.5, "lag {lag_s} s");
    assert_eq!(m.totals.replicated, 1);
}

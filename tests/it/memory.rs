//! Memory does not grow with simulated duration: metrics stream into
//! histograms and buckets. Compares the peak resident memory (from
//! `perf.csv`) of a run and of the same run ten times longer.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_multiactive");

fn peak_mb(duration: &str) -> f64 {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["run", "--out"])
        .arg(tmp.path())
        .args([
            "--set",
            &format!("simulation.duration={duration}"),
            "--set",
            "workload.rate=5000",
        ])
        // The same outage in both runs: a dead DC's backlog is data, not a
        // leak, and must not be what the comparison measures.
        .args(["--set", "fault.0.at=5s", "--set", "fault.0.for=5s"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let perf = std::fs::read_to_string(tmp.path().join("perf.csv")).unwrap();
    let mut lines = perf.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "peak_rss_mb").unwrap();
    row[col].parse().expect("peak_rss_mb is reported on Linux")
}

#[test]
fn peak_memory_does_not_grow_with_tenfold_duration() {
    let short = peak_mb("20s");
    let long = peak_mb("200s");
    // The time series adds one small row per DC per second (about 0.1 MB
    // for 180 more seconds); allow 2 MB of noise on top.
    assert!(
        long <= short + 2.0,
        "peak memory grew from {short:.1} MB to {long:.1} MB"
    );
}

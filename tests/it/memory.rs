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

/// Runs the default scenario for `duration` with no traffic under a 512 MB
/// address-space limit; returns the run folder (kept alive by the guard).
fn long_quiet_run(duration: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new("prlimit")
        .arg(format!("--as={}", 512u64 << 20))
        .arg(BIN)
        .args(["run", "--out"])
        .arg(tmp.path().join("run"))
        .args(["--set", &format!("simulation.duration={duration}")])
        .args(["--set", "workload.rate=0"])
        .output()
        .expect("prlimit (util-linux) runs");
    assert!(
        out.status.success(),
        "{duration}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    tmp
}

fn perf_peak(dir: &std::path::Path) -> f64 {
    let perf = std::fs::read_to_string(dir.join("perf.csv")).unwrap();
    let row: Vec<&str> = perf.lines().nth(1).unwrap().split(',').collect();
    row[8].parse().unwrap()
}

/// A 100-hour run (360,005 one-second buckets, 1,080,015 time-series rows)
/// finishes under a 512 MB limit with all its files, and the simulation's
/// peak memory is the same as a 10-hour run's: the time series streams to
/// disk as buckets close. (Held in memory, 100 h of buckets alone took
/// 78 MB and their text rows several hundred more.)
#[test]
fn a_long_run_finishes_under_a_memory_limit_with_all_its_files() {
    let short = long_quiet_run("10h");
    let long = long_quiet_run("100h");
    let dir = long.path().join("run");
    for f in [
        "summary.csv",
        "timeseries.csv",
        "dcs.csv",
        "streams.csv",
        "failures.csv",
        "latency.csv",
        "report.md",
        "perf.csv",
        "timeline.svg",
        "timeline.png",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let series = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    let lines: Vec<&str> = series.lines().collect();
    // Buckets 0 .. 360,004 (the one starting at the end is cut), 3 DCs.
    assert_eq!(lines.len(), 1 + 360_005 * 3);
    assert!(
        lines[lines.len() - 1].starts_with("360004.000,sz,"),
        "{}",
        lines[lines.len() - 1]
    );
    let (a, b) = (perf_peak(&short.path().join("run")), perf_peak(&dir));
    assert!(
        b <= a + 2.0,
        "simulation peak grew from {a:.1} MB (10 h) to {b:.1} MB (100 h)"
    );
}

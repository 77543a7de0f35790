//! Results that are true or visibly marked, whatever a scenario asks for:
//! no capped measurements, run folders written whole, outputs that stream
//! to disk.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common;

/// Two DCs whose link takes `link` one way; users `access` from their DC.
fn far_apart(link: &str, access: &str, duration: &str, requests: &str) -> String {
    let rest = format!(
        "[workload]\nkeys = 10\nrate = 0\n\n\
         [routing]\non_wrong_dc = \"serve_local\"\nwrite_guard = false\n{requests}\n"
    );
    common::Sites {
        duration,
        drain: "1s",
        links: &[link],
        near: access,
        far: access,
        rest: &rest,
        ..common::Sites::TWO
    }
    .text()
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

const BIN: &str = env!("CARGO_BIN_EXE_multiactive");

fn run_cli(out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(["run", "--out"])
        .arg(out)
        .args([
            "--set",
            "simulation.duration=5s",
            "--set",
            "workload.rate=2000",
        ])
        .args(extra)
        .output()
        .unwrap()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A re-run into an existing run folder that fails half-way (the file-size
/// limit stops it at the first large plot, after several tables were
/// written) leaves the previous run whole, and no temporary folder beside.
#[test]
fn a_failed_rerun_leaves_the_previous_run_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    assert!(run_cli(&out, &[]).status.success());
    let before = listing(&out);
    let summary = fs::read(out.join("summary.csv")).unwrap();
    let series = fs::read(out.join("timeseries.csv")).unwrap();
    // SIGXFSZ ignored: a write past the limit fails with EFBIG, like a
    // full disk, instead of killing the process.
    let script = format!(
        "trap '' XFSZ; ulimit -f 64; exec '{BIN}' run --out '{}' --seed 2 --set simulation.duration=5s --set workload.rate=2000",
        out.display()
    );
    let failed = Command::new("sh").args(["-c", &script]).output().unwrap();
    assert_eq!(failed.status.code(), Some(1), "{failed:?}");
    let err = String::from_utf8_lossy(&failed.stderr);
    // The failure is named with the folder it was written for.
    assert!(err.contains(&out.display().to_string()), "{err}");
    assert_eq!(listing(&out), before);
    assert_eq!(fs::read(out.join("summary.csv")).unwrap(), summary);
    assert_eq!(fs::read(out.join("timeseries.csv")).unwrap(), series);
    assert_eq!(listing(tmp.path()), ["run"], "stray temporary files");
    // The same re-run without the limit replaces the run whole.
    assert!(run_cli(&out, &["--seed", "2"]).status.success());
    assert_ne!(fs::read(out.join("summary.csv")).unwrap(), summary);
    assert_eq!(listing(tmp.path()), ["run"]);
}

/// What a killed run left (a temporary folder, a previous run set aside)
/// is cleaned up or put back by the next run into that folder.
#[test]
fn a_killed_runs_leftovers_are_cleaned_up() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    assert!(run_cli(&out, &[]).status.success());
    let summary = fs::read(out.join("summary.csv")).unwrap();
    // A process that no longer runs (pids stay below 2^22 on Linux) had
    // set the previous run aside and started a new one.
    let aside = tmp.path().join(".run.old-99999999-0");
    fs::rename(&out, &aside).unwrap();
    fs::create_dir(tmp.path().join(".run.tmp-99999999-1")).unwrap();
    fs::write(
        tmp.path().join(".run.tmp-99999999-1/timeseries.csv"),
        "t_s\n",
    )
    .unwrap();
    let _ = multiactive::output::RunDir::create(&out).unwrap();
    assert_eq!(listing(tmp.path()), ["run"]);
    assert_eq!(fs::read(out.join("summary.csv")).unwrap(), summary);
}

/// A folder holding anything but a run's files is not replaced.
#[test]
fn a_folder_that_is_not_a_run_is_not_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("thesis.tex"), "mine").unwrap();
    let out = run_cli(tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("holds thesis.tex") && err.contains("not a run folder"),
        "{err}"
    );
    assert_eq!(listing(tmp.path()), ["thesis.tex"]);
}

/// The streamed time series is byte for byte the one kept in memory, with
/// a fault, 9 ms buckets (about twenty flushes of the 64-bucket window
/// during the run, lags and busy time crossing them) that do not divide the
/// run (6.2 s plus the 5 s drain), and every other file alike.
#[test]
fn streamed_and_in_memory_outputs_are_identical() {
    let cfg = common::config(
        multiactive::scenario::DEFAULT_SCENARIO,
        &[
            "simulation.duration=6.2s",
            "simulation.bucket=9ms",
            "workload.rate=3000",
            "fault.0.at=2s",
            "fault.0.for=2s",
        ],
    );
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("memory"), tmp.path().join("streamed"));
    let o = multiactive::run(&cfg);
    multiactive::output::write_run(&a, &o, &cfg, &Default::default()).unwrap();
    let (s, _, _) = multiactive::output::run_into(
        &cfg,
        &b,
        multiactive::output::PerfFile::Omit,
        &|_| Default::default(),
        &mut |_| {},
    )
    .unwrap();
    assert!(s.metrics.streamed() && !o.metrics.streamed());
    assert_eq!(listing(&a), listing(&b));
    for f in listing(&a) {
        assert!(
            fs::read(a.join(&f)).unwrap() == fs::read(b.join(&f)).unwrap(),
            "{f} differs"
        );
    }
    let rows = fs::read_to_string(a.join("timeseries.csv"))
        .unwrap()
        .lines()
        .count();
    // Buckets start at 0, 9 ms, ..., 11.196 s (the run ends at 11.2 s).
    assert_eq!(rows, 1 + 1245 * 3);
}

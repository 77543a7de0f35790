//! `[[expect]]`: verdicts of `run` (printed, `expectations.csv`, the report,
//! exit status 3), per-failure bounds, seeds met per sweep combination, and
//! the reader's refusals with file:line:col.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use super::common::mesh;
use multiactive::output::expectations::{self, Verdict};

const BIN: &str = env!("CARGO_BIN_EXE_multiactive");

/// Two DCs, no random traffic, three scripted requests (all served).
fn scripted(expect: &str) -> String {
    let mut s = mesh(2, 0.0, "2s", "");
    for (at, key) in [("0ms", 0), ("100ms", 1), ("200ms", 2)] {
        s += &format!("[[request]]\nat = \"{at}\"\nregion = \"r0\"\nkey = {key}\nwrite = true\n\n");
    }
    s + expect
}

fn run(dir: &Path, text: &str, out: &str) -> Output {
    let p = dir.join("e.toml");
    fs::write(&p, text).unwrap();
    Command::new(BIN)
        .arg("run")
        .arg(&p)
        .arg("--out")
        .arg(dir.join(out))
        .output()
        .unwrap()
}

#[test]
fn run_prints_writes_and_reports_each_verdict_and_exits_3_when_one_fails() {
    let dir = tempfile::tempdir().unwrap();
    // 3 requests, 3 ok: availability 1; requests >= 4 fails.
    let text = scripted(
        "[[expect]]\nmetric = \"availability\"\nmin = 0.999\n\n[[expect]]\nmetric = \"requests\"\nmin = 4\n\n[[expect]]\nmetric = \"rto_s\"\nmax = 60\n",
    );
    let o = run(dir.path(), &text, "a");
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "expect 0.999 <= availability: met (value 1)\nexpect 4 <= requests: NOT MET (value 3)\nexpect rto_s <= 60: met (value empty)\n"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("a/expectations.csv")).unwrap(),
        "metric,per_failure,min,max,value,met\navailability,false,0.999,,1,true\nrequests,false,4,,3,false\nrto_s,false,,60,,true\n"
    );
    let report = fs::read_to_string(dir.path().join("a/report.md")).unwrap();
    assert!(
        report.contains("| 4 <= requests | 3 | **NOT MET** |"),
        "{report}"
    );
    assert!(report.contains("| 0.999 <= availability | 1 | met |"));
    // All met: status 0. Without any: no table at all.
    let o = run(
        dir.path(),
        &scripted("[[expect]]\nmetric = \"requests\"\nmax = 3\n"),
        "b",
    );
    assert_eq!(o.status.code(), Some(0));
    let o = run(dir.path(), &scripted(""), "c");
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
    assert!(!dir.path().join("c/expectations.csv").exists());
    assert!(
        !fs::read_to_string(dir.path().join("c/report.md"))
            .unwrap()
            .contains("Expectations")
    );
}

#[test]
fn per_failure_bounds_judge_every_failure_row() {
    // dc1 of two DCs dies: round-robin placement gave it 50 of 100 shards.
    let fault = "[[fault]]\nkind = \"dc_down\"\ndc = \"dc1\"\nat = \"1s\"\nfor = \"1s\"\n\n";
    let text = mesh(2, 50.0, "3s", fault);
    let cfg = |e: &str| super::common::config(&format!("{text}{e}"), &[]);
    let c = cfg("[[expect]]\nmetric = \"affected_shards\"\nmax = 40\nper_failure = true\n");
    let v: Vec<Verdict> = expectations::judge_outcome(&multiactive::run(&c), &c);
    assert_eq!((v[0].value, v[0].met), (Some(50.0), false));
    let c = cfg("[[expect]]\nmetric = \"affected_shards\"\nmax = 50\nper_failure = true\n");
    let v = expectations::judge_outcome(&multiactive::run(&c), &c);
    assert_eq!((v[0].value, v[0].met), (Some(50.0), true));
    assert_eq!(
        v[0].to_string(),
        "expect affected_shards <= 50 per failure: met (value 50)"
    );
}

#[test]
fn a_sweep_counts_the_seeds_that_met_each_expectation_per_combination() {
    // At 5 requests/s a 2-second run has about 10 requests, at 2000/s about
    // 4000: `requests <= 500` holds for every seed of the first, none of the second.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.toml");
    let text = mesh(
        2,
        5.0,
        "2s",
        "[[expect]]\nmetric = \"requests\"\nmax = 500\n",
    );
    fs::write(&p, text).unwrap();
    let out = dir.path().join("sweep");
    let o = Command::new(BIN)
        .args(["sweep"])
        .arg(&p)
        .args(["--vary", "workload.rate=5,2000", "--seeds", "1..3", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        fs::read_to_string(out.join("expectations.csv")).unwrap(),
        "workload.rate,metric,per_failure,min,max,runs,met\n5,requests,false,,500,3,3\n2000,requests,false,,500,3,0\n"
    );
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("| 2000 | requests <= 500 | 0 of 3 |"),
        "{report}"
    );
}

#[test]
fn bad_expectations_are_refused_at_their_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let base = scripted("");
    let line = base.lines().count() + 3; // the metric line of the [[expect]] below
    let cases = [
        (
            "[[expect]]\nmetric = \"lost_write\"\nmax = 0\n",
            format!(
                "e.toml:{line}:10: `expect.0.metric`: unknown metric \"lost_write\" (did you mean \"lost_writes\"?); known (summary.csv columns and availability): requests, ok,"
            ),
        ),
        (
            "[[expect]]\nmetric = \"lost_writes\"\nmax = \"0\"\n",
            format!(
                "e.toml:{}:7: `expect.0.max`: expected a number, such as max = 0, found a string",
                line + 1
            ),
        ),
        (
            "[[expect]]\nmetric = \"p99_ms\"\nmax = true\n",
            format!(
                "e.toml:{}:7: `expect.0.max`: expected a number, such as max = 0, found a boolean",
                line + 1
            ),
        ),
        (
            "[[expect]]\nmetric = \"p99_ms\"\n",
            format!("e.toml:{}:1: `expect.0`: expected a bound", line - 1),
        ),
        (
            "[[expect]]\nmetric = \"p99_ms\"\nmin = 5\nmax = 1\n",
            format!(
                "e.toml:{}:1: `expect.0`: min (5) is above max (1)",
                line - 1
            ),
        ),
        (
            "[[expect]]\nmetric = \"lost_writes\"\nmax = 0\nper_failure = true\n",
            format!(
                "e.toml:{line}:10: `expect.0.metric`: unknown metric \"lost_writes\"; known (failures.csv columns, for per_failure = true): affected_shards, rpo_s"
            ),
        ),
        (
            "[[expect]]\nmetric = \"lost_writes\"\nmax = 0\ndataset = \"orders\"\n",
            format!(
                "e.toml:{}:11: `expect.0.dataset`: refused for now: an expectation covers the whole run",
                line + 2
            ),
        ),
        (
            "[[expect]]\nmetric = \"lost_writes\"\nmax = 0\nmaximum = 1\n",
            format!(
                "e.toml:{}:1: `expect.0.maximum`: unknown key in `expect.0`; known keys: metric, min, max",
                line + 2
            ),
        ),
    ];
    for (i, (expect, message)) in cases.iter().enumerate() {
        let out = format!("out{i}");
        let o = run(dir.path(), &format!("{base}\n{expect}"), &out);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "case {i}: {err}");
        assert!(
            err.contains(message.as_str()),
            "case {i}: {err}\nwanted: {message}"
        );
        assert_eq!(err.lines().count(), 1, "one message for one mistake: {err}");
        assert!(!dir.path().join(out).exists());
    }
}

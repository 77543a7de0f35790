//! `[[expect]]`: verdicts of `run` (printed, `expectations.csv`, the report,
//! exit status 3), per-failure bounds, seeds met per sweep combination, and
//! the reader's refusals with file:line:col; expectations judged on one
//! dataset's `datasets.csv` row.

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

/// Each `(expect, message)` case appended to `base` exits 2 with exactly
/// that one message and writes nothing.
fn assert_refused(dir: &Path, base: &str, cases: &[(&str, String)]) {
    for (i, (expect, message)) in cases.iter().enumerate() {
        let out = format!("out{i}");
        let o = run(dir, &format!("{base}\n{expect}"), &out);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "case {i}: {err}");
        assert!(
            err.contains(message.as_str()),
            "case {i}: {err}\nwanted: {message}"
        );
        assert_eq!(err.lines().count(), 1, "one message for one mistake: {err}");
        assert!(!dir.join(out).exists());
    }
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
        "metric,per_failure,min,max,value,met,dataset\navailability,false,0.999,,1,true,\nrequests,false,4,,3,false,\nrto_s,false,,60,,true,\n"
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
        "workload.rate,metric,per_failure,min,max,runs,met,dataset\n5,requests,false,,500,3,3,\n2000,requests,false,,500,3,0,\n"
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
            // No [[dataset]]: no datasets.csv to judge.
            "[[expect]]\nmetric = \"lost_writes\"\nmax = 0\ndataset = \"orders\"\n",
            format!(
                "e.toml:{}:11: `expect.0.dataset`: unknown dataset \"orders\": the scenario declares no [[dataset]]",
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
    assert_refused(dir.path(), &base, &cases);
}

/// Two DCs 10 ms apart, each region's users 0 ms from its own DC only;
/// no random traffic. One `[[dataset]]`, `orders` (async), takes the
/// scripted user writes; the global data (`replication.mode`, sync) the
/// scripted global ones. LWW, writes served where they enter.
///
/// 0 ms: a writes orders key 0 (w1); 5 ms: b writes it (w2) before w1
/// arrives (10 ms): both conflict, LWW keeps w2 (later), so w1, acknowledged,
/// is lost. 100 ms: a writes key 1. 300 ms, 400 ms: a writes the global
/// key, which only a (its owner) writes: nothing lost. So orders: 3
/// requests, 1 lost write; global: 2 requests, 0 lost; the run: 5, 1.
fn two_datasets(expect: &str) -> String {
    let rest = "[workload]\nkeys = 10\nrate = 0\nglobal_keys = 1\n\n\
                [replication]\nmode = \"sync\"\n\n\
                [routing]\non_wrong_dc = \"serve_local\"\nwrite_guard = false\n\n\
                [[dataset]]\nname = \"orders\"\nshare = 1\nmode = \"async\"\n\n";
    let mut s = super::common::Sites {
        duration: "1s",
        drain: "5s",
        near: "0ms",
        far: "",
        rest,
        ..super::common::Sites::TWO
    }
    .text();
    for (at, region, key, global) in [
        ("0ms", "ra", 0, false),
        ("5ms", "rb", 0, false),
        ("100ms", "ra", 1, false),
        ("300ms", "ra", 0, true),
        ("400ms", "ra", 0, true),
    ] {
        s += &format!(
            "[[request]]\nat = \"{at}\"\nregion = \"{region}\"\nkey = {key}\nwrite = true\nglobal = {global}\n\n"
        );
    }
    s + expect
}

fn lost_writes_max_0(dataset: &str) -> String {
    format!("[[expect]]\nmetric = \"lost_writes\"\nmax = 0\n{dataset}\n")
}

#[test]
fn a_dataset_expectation_judges_that_datasets_row_not_the_run() {
    let dir = tempfile::tempdir().unwrap();
    // The run meets its bound, the orders dataset does not.
    let text = two_datasets(&format!(
        "[[expect]]\nmetric = \"lost_writes\"\nmax = 1\n\n{}\n[[expect]]\nmetric = \"requests\"\nmin = 5\n\n[[expect]]\nmetric = \"requests\"\nmin = 5\ndataset = \"orders\"\n",
        lost_writes_max_0("dataset = \"orders\"")
    ));
    let o = run(dir.path(), &text, "a");
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("a/datasets.csv")).unwrap(),
        "dataset,requests,ok,failed,rejected,conflicts,lost_writes\norders,3,3,0,0,2,1\nglobal,2,2,0,0,0,0\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "expect lost_writes <= 1: met (value 1)\n\
         expect lost_writes <= 0 in dataset orders: NOT MET (value 1)\n\
         expect 5 <= requests: met (value 5)\n\
         expect 5 <= requests in dataset orders: NOT MET (value 3)\n"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("a/expectations.csv")).unwrap(),
        "metric,per_failure,min,max,value,met,dataset\n\
         lost_writes,false,,1,1,true,\n\
         lost_writes,false,,0,1,false,orders\n\
         requests,false,5,,5,true,\n\
         requests,false,5,,3,false,orders\n"
    );
    let report = fs::read_to_string(dir.path().join("a/report.md")).unwrap();
    assert!(
        report.contains("| lost_writes <= 0 in dataset orders | 1 | **NOT MET** |"),
        "{report}"
    );
    assert!(
        report.contains("| lost_writes <= 1 | 1 | met |"),
        "{report}"
    );

    // And the other way: the run breaks `lost_writes <= 0`, the global
    // (sync, one writer) data keeps it, as does its availability (2 of 2).
    let text = two_datasets(&format!(
        "{}\n{}\n[[expect]]\nmetric = \"availability\"\nmin = 1\ndataset = \"global\"\n",
        lost_writes_max_0(""),
        lost_writes_max_0("dataset = \"global\"")
    ));
    let o = run(dir.path(), &text, "b");
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(
        fs::read_to_string(dir.path().join("b/expectations.csv")).unwrap(),
        "metric,per_failure,min,max,value,met,dataset\n\
         lost_writes,false,,0,1,false,\n\
         lost_writes,false,,0,0,true,global\n\
         availability,false,1,,1,true,global\n"
    );
    // Only the dataset that keeps it: met, status 0.
    let o = run(
        dir.path(),
        &two_datasets(&lost_writes_max_0("dataset = \"global\"")),
        "c",
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "expect lost_writes <= 0 in dataset global: met (value 0)\n"
    );
}

#[test]
fn a_global_dataset_no_request_touched_has_no_row_and_breaks_nothing() {
    // workload.global > 0 makes `global` a dataset name, but no scripted
    // request is global: datasets.csv has no global row, the value is empty.
    let text = two_datasets(&lost_writes_max_0("dataset = \"global\""))
        .replace("global = true", "global = false")
        .replace("global_keys = 1\n", "global_keys = 1\nglobal = 0.5\n");
    let c = super::common::config(&text, &[]);
    let v = expectations::judge_outcome(&multiactive::run(&c), &c);
    assert_eq!((v[0].value, v[0].met), (None, true));
    assert_eq!(
        v[0].to_string(),
        "expect lost_writes <= 0 in dataset global: met (value empty)"
    );
}

#[test]
fn a_sweep_counts_each_datasets_expectation_apart() {
    // The scripted requests do not depend on the seed; the global data's
    // mode (async or sync) changes nothing of the counts above.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.toml");
    let text = two_datasets(&format!(
        "{}\n{}",
        lost_writes_max_0("dataset = \"orders\""),
        lost_writes_max_0("dataset = \"global\"")
    ));
    fs::write(&p, text).unwrap();
    let out = dir.path().join("sweep");
    let o = Command::new(BIN)
        .args(["sweep"])
        .arg(&p)
        .args(["--vary", "replication.mode=async,sync", "--seeds", "1..2"])
        .arg("--out")
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
        "replication.mode,metric,per_failure,min,max,runs,met,dataset\n\
         async,lost_writes,false,,0,2,0,orders\n\
         async,lost_writes,false,,0,2,2,global\n\
         sync,lost_writes,false,,0,2,0,orders\n\
         sync,lost_writes,false,,0,2,2,global\n"
    );
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("| sync | lost_writes <= 0 in dataset orders | 0 of 2 |"),
        "{report}"
    );
}

#[test]
fn dataset_expectations_refuse_what_a_dataset_row_cannot_answer() {
    let dir = tempfile::tempdir().unwrap();
    let base = two_datasets("");
    let line = base.lines().count() + 3; // the metric line of the [[expect]] below
    let cases = [
        (
            "[[expect]]\nmetric = \"p99_ms\"\nmax = 5\ndataset = \"orders\"\n",
            format!(
                "e.toml:{line}:10: `expect.0.metric`: \"p99_ms\" has no per-dataset value (no datasets.csv column); a dataset can be judged on: requests, ok, failed, rejected, conflicts, lost_writes, availability"
            ),
        ),
        (
            "[[expect]]\nmetric = \"lost_writes\"\nmax = 0\ndataset = \"order\"\n",
            format!(
                "e.toml:{}:11: `expect.0.dataset`: unknown dataset \"order\" (did you mean \"orders\"?); known: orders, global",
                line + 2
            ),
        ),
        (
            "[[expect]]\nmetric = \"rto_s\"\nmax = 5\nper_failure = true\ndataset = \"orders\"\n",
            format!(
                "e.toml:{}:11: `expect.0.dataset`: per_failure judges the run's failures.csv rows, which are not counted per dataset",
                line + 3
            ),
        ),
        (
            "[[expect]]\nmetric = \"lost_writes\"\nmax = 0\ndataset = 1\n",
            format!(
                "e.toml:{}:11: `expect.0.dataset`: expected a dataset name, found an integer",
                line + 2
            ),
        ),
    ];
    assert_refused(dir.path(), &base, &cases);
}

#[test]
fn explore_names_and_breaks_a_dataset_expectation() {
    // Schedule 0 (no fault) already loses orders' w1: it breaks the first
    // expectation, whose dataset's value (1) is the objective; the global
    // data keeps the second.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.toml");
    let text = two_datasets(&format!(
        "{}\n{}",
        lost_writes_max_0("dataset = \"orders\""),
        lost_writes_max_0("dataset = \"global\"")
    ));
    fs::write(&p, text).unwrap();
    let out = dir.path().join("ex");
    let o = Command::new(BIN)
        .arg("explore")
        .arg(&p)
        .args(["--budget", "1", "--jobs", "1", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let csv = fs::read_to_string(out.join("explore.csv")).unwrap();
    let row0 = csv.lines().nth(1).unwrap();
    assert!(
        row0.starts_with("0,0,,lost_writes <= 0 in dataset orders,1.000000,5,"),
        "{row0}"
    );
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    for want in [
        "| lost_writes <= 0 in dataset orders | 1 of 1 |",
        "| lost_writes <= 0 in dataset global | 0 of 1 |",
        "## Distribution of `lost_writes in dataset orders` over the schedules",
    ] {
        assert!(report.contains(want), "{want}\n{report}");
    }
}

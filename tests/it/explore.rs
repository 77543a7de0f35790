//! `explore` as users run it, through the binary: a planted weakness is
//! found and shrunk to one fault, a sound design is not accused, shrinking
//! is 1-minimal, `worst.toml` reproduces the violation byte for byte, the
//! same seed gives the same files, sharded-and-merged equals single, a
//! resumed search equals an uninterrupted one, and bad input writes nothing.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use multiactive::explore::shrink;
use multiactive::ids::DcId;
use multiactive::output::expectations;
use multiactive::scenario::{self, FaultConfig, FaultKind};

const BIN: &str = env!("CARGO_BIN_EXE_multiactive");

/// Three DCs 100 ms apart (WAN-like: async replication lags behind), 50
/// hot keys, 10 simulated seconds at 200 requests/s; `design` is appended.
pub fn scenario(design: &str) -> String {
    let mut s = String::from("[simulation]\nduration = \"10s\"\ndrain = \"2s\"\n\n");
    for i in 0..3 {
        s += &format!("[[datacenter]]\nname = \"dc{i}\"\nregion = \"r{i}\"\n\n");
    }
    for i in 0..3 {
        for j in i + 1..3 {
            s += &format!("[[link]]\nbetween = [\"dc{i}\", \"dc{j}\"]\nlatency = \"100ms\"\n\n");
        }
    }
    for i in 0..3 {
        let lat: Vec<String> = (0..3)
            .map(|j| format!("dc{j} = \"{}\"", if i == j { "1ms" } else { "100ms" }))
            .collect();
        s += &format!(
            "[[region]]\nname = \"r{i}\"\nusers = 1\nlatency = {{ {} }}\n\n",
            lat.join(", ")
        );
    }
    s += "[workload]\nkeys = 50\nrate = 200\nwrites = 0.3\n\n";
    s + design
}

/// `switch` without a write guard over async replication: a DC that dies
/// with writes not yet replicated brings them back into keys its successor
/// has written meanwhile.
pub const WEAK: &str = "[replication]\nmode = \"async\"\n\n[routing]\nwrite_guard = false\n\n[failover]\ndetect_after = \"1s\"\nprocedure = \"switch\"\n\n[[expect]]\nmetric = \"conflicts\"\nmax = 0\n";

/// Quorum replication, the guard on, `ban_then_switch`.
const SOUND: &str = "[replication]\nmode = \"quorum\"\n\n[routing]\nwrite_guard = true\n\n[failover]\ndetect_after = \"1s\"\nprocedure = \"ban_then_switch\"\n\n[[expect]]\nmetric = \"lost_writes\"\nmax = 0\n";

fn write_scenario(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p
}

fn explore(scenario: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(BIN)
        .arg("explore")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("the binary runs")
}

fn status(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// Every file under `dir` by relative path, `perf.csv` (wall time) left out.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n != "perf.csv") {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

fn same_trees(a: &Path, b: &Path) {
    let (ta, tb) = (tree(a), tree(b));
    assert_eq!(
        ta.keys().collect::<Vec<_>>(),
        tb.keys().collect::<Vec<_>>(),
        "the same files"
    );
    for (k, v) in &ta {
        assert!(tb[k] == *v, "{} differs", k.display());
    }
}

/// The `unmet` column of every explore.csv row.
fn unmet(out: &Path) -> Vec<String> {
    let mut r = csv::Reader::from_path(out.join("explore.csv")).unwrap();
    let i = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "unmet")
        .unwrap();
    r.records().map(|x| x.unwrap()[i].to_string()).collect()
}

#[test]
fn a_planted_weakness_is_found_and_shrunk_to_one_fault_that_reproduces() {
    let dir = tempfile::tempdir().unwrap();
    let sc = write_scenario(dir.path(), "weak.toml", &scenario(WEAK));
    let out = dir.path().join("x");
    let o = explore(
        &sc,
        &out,
        &[
            "--budget",
            "200",
            "--faults",
            "partition,dc_down",
            "--jobs",
            "2",
        ],
    );
    assert_eq!(status(&o), 3, "{}", String::from_utf8_lossy(&o.stderr));
    let unmet = unmet(&out);
    assert_eq!(unmet.len(), 200);
    assert_eq!(unmet[0], "", "schedule 0 (no fault) keeps the promise");
    assert!(unmet.iter().any(|u| u == "conflicts <= 0"));
    let worst = fs::read_to_string(out.join("worst.toml")).unwrap();
    assert_eq!(worst.matches("[[fault]]").count(), 1, "{worst}");
    assert_eq!(
        fs::read_to_string(out.join("original.toml")).unwrap(),
        scenario(WEAK)
    );
    // `run worst.toml` exits 3 and writes what explore wrote of its run.
    let rerun = dir.path().join("rerun");
    let r = Command::new(BIN)
        .arg("run")
        .arg(out.join("worst.toml"))
        .arg("--out")
        .arg(&rerun)
        .output()
        .unwrap();
    assert_eq!(status(&r), 3);
    assert!(String::from_utf8_lossy(&r.stdout).contains("expect conflicts <= 0: NOT MET"));
    same_trees(&out.join("worst-run"), &rerun);
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("Shrunk in"), "{report}");
    assert!(report.contains("worst-run/timeline.svg"));
    for f in ["objective.svg", "objective.png", "worst-run/timeline.svg"] {
        assert!(fs::metadata(out.join(f)).unwrap().len() > 1000, "{f}");
    }
}

#[test]
fn a_sound_design_is_not_accused_and_the_same_search_accuses_async() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--budget",
        "200",
        "--faults",
        "partition,dc_down",
        "--one-dc-down-at-a-time",
    ];
    let sc = write_scenario(dir.path(), "sound.toml", &scenario(SOUND));
    let out = dir.path().join("sound");
    let o = explore(&sc, &out, &args);
    assert_eq!(status(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(unmet(&out).iter().all(String::is_empty));
    assert!(!out.join("worst.toml").exists());
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("| lost_writes <= 0 | 0 of 200 |"),
        "{report}"
    );
    // The control: the same search, async replication instead of quorum,
    // finds lost writes; so the search above could have failed.
    let weak = scenario(&SOUND.replace("\"quorum\"", "\"async\""));
    let sc = write_scenario(dir.path(), "async.toml", &weak);
    let o = explore(&sc, &dir.path().join("async"), &args);
    assert_eq!(status(&o), 3);
}

#[test]
fn the_shrunk_schedule_is_one_minimal() {
    // Whatever the counterexample keeps (one fault or several: with these
    // draws a lone dc_down already breaks it), taking any one fault away
    // must make the expectation hold; the multi-fault case is pinned by
    // the shrinker's unit test and `shrinking_keeps_exactly_the_faults_that_matter_rounded_and_early`.
    let dir = tempfile::tempdir().unwrap();
    let text = scenario(WEAK)
        .replace("\"100ms\"", "\"5ms\"")
        .replace("keys = 50", "keys = 1000");
    let sc = write_scenario(dir.path(), "w.toml", &text);
    let out = dir.path().join("x");
    let o = explore(
        &sc,
        &out,
        &["--budget", "200", "--faults", "partition,dc_down"],
    );
    assert_eq!(status(&o), 3, "{}", String::from_utf8_lossy(&o.stderr));
    let worst = scenario::load_file(&out.join("worst.toml"), &[]).unwrap();
    assert!(!worst.faults.is_empty(), "{:?}", worst.faults);
    let breaks = |c: &scenario::Config| {
        expectations::judge_outcome(&multiactive::run(c), c)
            .iter()
            .any(|v| !v.met)
    };
    assert!(breaks(&worst));
    for i in 0..worst.faults.len() {
        let mut c = worst.clone();
        c.faults.remove(i);
        assert!(!breaks(&c), "without fault {i} it still breaks");
    }
}

fn fault(dc: u16, at_s: u64) -> FaultConfig {
    FaultConfig {
        kind: FaultKind::DcDown { dc: DcId(dc) },
        at: at_s * 1_000_000_000,
        duration: Some(3_300_000_000),
    }
}

#[test]
fn shrinking_keeps_exactly_the_faults_that_matter_rounded_and_early() {
    // A predicate with a known answer: it breaks while dc1 and dc2 both go
    // down at some point, whatever else happens. Of five faults the last
    // two that matter stay (removal goes first to last), moved to 0 s and
    // shortened to the shortest halving at or above 10 ms (3.3 s / 2^8 =
    // 12.89 ms, to the millisecond 12 ms).
    let base = common_config();
    let faults = vec![
        fault(0, 1),
        fault(1, 2),
        fault(0, 3),
        fault(2, 5),
        fault(1, 7),
    ];
    let breaks = |c: &scenario::Config| {
        let has = |d: u16| {
            c.faults
                .iter()
                .any(|f| f.kind == FaultKind::DcDown { dc: DcId(d) })
        };
        has(1) && has(2)
    };
    let s = shrink::shrink(&base, faults, false, &breaks);
    let kinds: Vec<&FaultKind> = s.faults.iter().map(|f| &f.kind).collect();
    assert_eq!(
        kinds,
        [
            &FaultKind::DcDown { dc: DcId(2) },
            &FaultKind::DcDown { dc: DcId(1) }
        ]
    );
    for f in &s.faults {
        assert_eq!(f.at, 0);
        assert_eq!(f.duration, Some(12_000_000));
    }
    assert_eq!(s.rate, base.workload.rate);
    // A workload-free predicate halves the rate down to 1/s when asked.
    let s = shrink::shrink(&base, vec![fault(1, 1), fault(2, 1)], true, &breaks);
    assert_eq!(s.rate, 200.0 / 128.0);
}

fn common_config() -> scenario::Config {
    scenario::load_str("t.toml", "t", &scenario(WEAK), &[]).unwrap()
}

#[test]
fn the_same_seed_gives_the_same_files_and_another_seed_other_schedules() {
    let dir = tempfile::tempdir().unwrap();
    let sc = write_scenario(dir.path(), "weak.toml", &scenario(WEAK));
    let args = [
        "--budget",
        "30",
        "--faults",
        "partition,dc_down",
        "--seed",
        "7",
    ];
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    assert_eq!(status(&explore(&sc, &a, &args)), 3);
    assert_eq!(
        status(&explore(&sc, &b, &[&args[..], &["--jobs", "1"]].concat())),
        3
    );
    same_trees(&a, &b);
    let c = dir.path().join("c");
    explore(
        &sc,
        &c,
        &[
            "--budget",
            "30",
            "--faults",
            "partition,dc_down",
            "--seed",
            "8",
        ],
    );
    assert_ne!(
        fs::read(a.join("explore.csv")).unwrap(),
        fs::read(c.join("explore.csv")).unwrap()
    );
}

#[test]
fn sharded_and_merged_equals_single_and_a_resumed_search_equals_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let sc = write_scenario(dir.path(), "weak.toml", &scenario(WEAK));
    let args = ["--budget", "45", "--faults", "partition,dc_down"];
    let single = dir.path().join("single");
    assert_eq!(status(&explore(&sc, &single, &args)), 3);
    let mut parts = Vec::new();
    for i in 0..3 {
        let p = dir.path().join(format!("part{i}"));
        let shard = format!("{i}/3");
        let o = explore(&sc, &p, &[&args[..], &["--shard", &shard]].concat());
        assert_eq!(status(&o), 0, "a part only runs its chunks");
        assert!(!p.join("explore.csv").exists());
        parts.push(p);
    }
    let merged = dir.path().join("merged");
    let m = Command::new(BIN)
        .arg("merge")
        .args(&parts)
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    assert_eq!(status(&m), 3, "{}", String::from_utf8_lossy(&m.stderr));
    same_trees(&single, &merged);
    // A search stopped by its time budget before any schedule, then resumed
    // with a smaller budget extended to the full one, ends where one run does.
    let resumed = dir.path().join("resumed");
    let o = explore(
        &sc,
        &resumed,
        &[&args[..], &["--budget-time", "0s"]].concat(),
    );
    assert_eq!(status(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(unmet(&resumed).len(), 0);
    let small = ["--budget", "20", "--faults", "partition,dc_down"];
    explore(&sc, &resumed, &small);
    fs::remove_file(resumed.join("chunks/0000001.csv")).unwrap();
    // What a kill leaves half-written is removed on resuming.
    fs::write(resumed.join("chunks/.0000001.csv.tmp-99999"), "schedule,fa").unwrap();
    fs::write(resumed.join(".report.md.tmp-99999"), "# Exp").unwrap();
    assert_eq!(status(&explore(&sc, &resumed, &args)), 3);
    same_trees(&single, &resumed);
}

#[test]
fn bad_input_is_refused_with_its_place_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(String, Vec<&str>, &str)> = vec![
        (
            scenario(&WEAK.replace("\"conflicts\"", "\"conflcts\"")),
            vec![],
            "weak.toml:60:10: `expect.0.metric`: unknown metric \"conflcts\" (did you mean \"conflicts\"?); known",
        ),
        (
            scenario(&WEAK.replace("max = 0", "max = \"zero\"")),
            vec![],
            "weak.toml:61:7: `expect.0.max`: expected a number",
        ),
        (
            scenario(WEAK),
            vec!["--budget", "0"],
            "weak.toml: `--budget 0`: an empty budget",
        ),
        (
            scenario(WEAK),
            vec!["--objective", "p99"],
            "--objective p99: unknown metric; known: requests, ok,",
        ),
        (
            scenario(WEAK),
            vec!["--faults", "dc_down,meteor"],
            "unknown fault kind \"meteor\"; known: dc_down, link_down,",
        ),
    ];
    for (i, (text, extra, message)) in cases.iter().enumerate() {
        let sc = write_scenario(dir.path(), "weak.toml", text);
        let out = dir.path().join(format!("out{i}"));
        let o = explore(&sc, &out, extra);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(status(&o), 2, "{err}");
        assert!(err.contains(message), "case {i}: {err}");
        assert!(!out.exists(), "case {i} wrote {}", out.display());
    }
    // A fault kind the scenario cannot host: one DC, no link.
    let one = "[simulation]\nduration = \"2s\"\n\n[[datacenter]]\nname = \"a\"\nregion = \"r\"\n\n[[region]]\nname = \"r\"\nusers = 1\nlatency = { a = \"1ms\" }\n\n[workload]\nkeys = 10\nrate = 10\n\n[[expect]]\nmetric = \"failed\"\nmax = 0\n";
    let sc = write_scenario(dir.path(), "one.toml", one);
    for (kind, message) in [
        (
            "partition",
            "one.toml:4:1: `--faults partition`: the scenario cannot host a partition fault: it needs two datacenters and the scenario has 1",
        ),
        (
            "link_down",
            "one.toml:4:1: `--faults link_down`: the scenario cannot host a link_down fault: the scenario has no [[link]]",
        ),
    ] {
        let out = dir.path().join(kind);
        let o = explore(&sc, &out, &["--faults", kind]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(status(&o), 2, "{err}");
        assert!(err.contains(message), "{err}");
        assert!(!out.exists());
    }
}

#[test]
fn an_objective_without_expectations_shrinks_within_the_worst_decile() {
    let dir = tempfile::tempdir().unwrap();
    let design = WEAK.split("[[expect]]").next().unwrap();
    let sc = write_scenario(dir.path(), "obj.toml", &scenario(design));
    let out = dir.path().join("x");
    let o = explore(
        &sc,
        &out,
        &[
            "--budget",
            "40",
            "--objective",
            "failed",
            "--faults",
            "dc_down,link_down",
        ],
    );
    assert_eq!(status(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let mut r = csv::Reader::from_path(out.join("explore.csv")).unwrap();
    let mut vals: Vec<f64> = r
        .records()
        .map(|x| x.unwrap()[4].parse().unwrap())
        .collect();
    vals.sort_by(f64::total_cmp);
    let decile = vals[(vals.len() - 1) * 9 / 10];
    assert!(decile > vals[0], "the schedules differ: {vals:?}");
    let mut w = csv::Reader::from_path(out.join("worst-run/summary.csv")).unwrap();
    let i = w
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "failed")
        .unwrap();
    let failed: f64 = w.records().next().unwrap().unwrap()[i].parse().unwrap();
    assert!(failed >= decile, "{failed} < {decile}");
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("stays in the worst decile"), "{report}");
    // An objective that never varies (no semi-sync fallback under async
    // replication) singles out no schedule.
    let flat = dir.path().join("flat");
    let o = explore(
        &sc,
        &flat,
        &[
            "--budget",
            "10",
            "--objective",
            "semi_sync_fallbacks",
            "--faults",
            "dc_down",
        ],
    );
    assert_eq!(status(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!flat.join("worst.toml").exists());
    let report = fs::read_to_string(flat.join("report.md")).unwrap();
    assert!(report.contains("none is worst"), "{report}");
}

#[test]
fn a_search_refuses_to_mix_with_another_and_merge_wants_every_part() {
    let dir = tempfile::tempdir().unwrap();
    let sc = write_scenario(dir.path(), "weak.toml", &scenario(WEAK));
    let args = ["--budget", "20", "--faults", "dc_down"];
    let a = dir.path().join("a");
    assert_eq!(status(&explore(&sc, &a, &args)), 3);
    let before = tree(&a);
    let o = explore(&sc, &a, &[&args[..], &["--seed", "2"]].concat());
    assert_eq!(status(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("holds another search"));
    assert!(tree(&a) == before, "a refused search changes nothing");
    let part = dir.path().join("p0");
    explore(&sc, &part, &[&args[..], &["--shard", "0/2"]].concat());
    let merge = |parts: &[&Path]| {
        Command::new(BIN)
            .arg("merge")
            .args(parts)
            .arg("--out")
            .arg(dir.path().join("m"))
            .output()
            .unwrap()
    };
    let m = merge(&[&part]);
    assert_eq!(status(&m), 2);
    assert!(String::from_utf8_lossy(&m.stderr).contains("1 of 3 chunks are in none of the parts"));
    let other = dir.path().join("p1");
    explore(
        &sc,
        &other,
        &[
            "--budget", "20", "--faults", "dc_down", "--seed", "2", "--shard", "1/2",
        ],
    );
    let m = merge(&[&part, &other]);
    assert_eq!(status(&m), 2);
    assert!(String::from_utf8_lossy(&m.stderr).contains("differs"));
    // An explore.toml naming a fault kind there is not: refused, with the
    // known ones.
    let plan = part.join("explore.toml");
    let text = fs::read_to_string(&plan).unwrap();
    assert!(text.contains("faults = [\"dc_down\"]"), "{text}");
    fs::write(&plan, text.replace("\"dc_down\"", "\"meteor\"")).unwrap();
    let m = merge(&[&part]);
    let err = String::from_utf8_lossy(&m.stderr);
    assert_eq!(status(&m), 2, "{err}");
    assert!(err.contains("not an explore plan"), "{err}");
    assert!(
        err.contains("unknown fault kind \"meteor\"; known: dc_down, link_down,"),
        "{err}"
    );
}

#[test]
fn a_shrunk_workload_is_written_into_worst_toml_and_reproduces() {
    let dir = tempfile::tempdir().unwrap();
    let text = scenario(WEAK).replace("rate = 200", "rate = 3000");
    let sc = write_scenario(dir.path(), "busy.toml", &text);
    let out = dir.path().join("x");
    let o = explore(
        &sc,
        &out,
        &["--budget", "16", "--faults", "dc_down", "--shrink-workload"],
    );
    assert_eq!(status(&o), 3, "{}", String::from_utf8_lossy(&o.stderr));
    let worst = scenario::load_file(&out.join("worst.toml"), &[]).unwrap();
    // A halving of 3000/s: 1500, 750, 375, ...
    let halvings = (3000.0 / worst.workload.rate).log2();
    assert!(
        halvings >= 1.0 && halvings.fract() == 0.0,
        "{}",
        worst.workload.rate
    );
    let rerun = dir.path().join("rerun");
    let r = Command::new(BIN)
        .arg("run")
        .arg(out.join("worst.toml"))
        .arg("--out")
        .arg(&rerun)
        .output()
        .unwrap();
    assert_eq!(status(&r), 3);
    same_trees(&out.join("worst-run"), &rerun);
}

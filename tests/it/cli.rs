//! The command line as users meet it: which scenario a name means, the exit
//! status of each kind of failure, messages that say what was expected,
//! nothing written before everything is checked, the resolved scenario of
//! a run with overrides, and progress in a batch log.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_multiactive");

/// A short default scenario (its outage included).
const SHORT: &[&str] = &[
    "--set",
    "simulation.duration=6s",
    "--set",
    "simulation.drain=2s",
    "--set",
    "workload.rate=2000",
    "--set",
    "fault.0.at=1s",
    "--set",
    "fault.0.for=3s",
];

fn bin(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .env("MULTIACTIVE_PROGRESS_SECS", "0")
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit status `code`, and every needle in standard error.
fn expect(o: &Output, code: i32, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "{err}");
    for n in needles {
        assert!(err.contains(n), "`{n}` not in:\n{err}");
    }
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn a_misspelt_name_gets_a_suggestion_and_a_shadowing_folder_a_note() {
    let tmp = tempfile::tempdir().unwrap();
    let o = bin(tmp.path(), &["run", "elme"]);
    expect(&o, 2, &["elme: no such file", "did you mean `eleme`?"]);
    assert!(files(tmp.path()).is_empty(), "nothing written");
    // A folder named like a shipped scenario does not shadow it...
    fs::create_dir(tmp.path().join("eleme")).unwrap();
    let o = bin(tmp.path(), &["check", "eleme"]);
    expect(&o, 0, &["`eleme` is the shipped scenario", "./eleme"]);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("eleme: ok (2 datacenters, 1 link,"));
    // ...and as a path it is the folder, which is not a scenario.
    let o = bin(tmp.path(), &["check", "./eleme"]);
    expect(&o, 2, &["./eleme: is a folder, not a scenario file"]);
}

#[test]
fn plurals_and_advice_on_meaningless_combinations() {
    let tmp = tempfile::tempdir().unwrap();
    let o = bin(tmp.path(), &["check", "default"]);
    expect(&o, 0, &[]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "default: ok (3 datacenters, 3 links, 3 regions, 100 shards, 1 fault)\n"
    );
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    let o = bin(
        tmp.path(),
        &["check", "default", "--set", "sharding.key=geo"],
    );
    expect(
        &o,
        0,
        &["warning: sharding.key = \"geo\" with placement = \"round_robin\""],
    );
    let o = bin(
        tmp.path(),
        &["check", "eleme", "--set", "sharding.key=hash"],
    );
    expect(
        &o,
        0,
        &["warning: sharding.key = \"hash\" with placement = \"by_region\""],
    );
    // In a sweep: once, naming the combinations concerned; counted after.
    let mut args = vec!["sweep", "default", "--out", "s", "--seeds", "1..1"];
    args.extend(["--vary", "sharding.key=hash,geo"]);
    args.extend_from_slice(SHORT);
    let o = bin(tmp.path(), &args);
    expect(
        &o,
        0,
        &[
            "warning: in 1 combination (sharding.key=geo): sharding.key = \"geo\" with placement = \"round_robin\"",
            "warning: 1 run has warnings in report.md",
        ],
    );
    assert_eq!(
        stderr(&o).matches("round_robin").count(),
        1,
        "{}",
        stderr(&o)
    );
    let report =
        fs::read_to_string(tmp.path().join("s/runs/sharding.key=geo/seed-1/report.md")).unwrap();
    assert!(
        report.contains("- **Warning**: sharding.key = \"geo\""),
        "{report}"
    );
}

#[test]
fn bytes_that_are_not_utf8_are_located_and_echoed_names_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("s.toml"), b"a = 1\nb = \"x\xffy\"\n").unwrap();
    let o = bin(tmp.path(), &["check", "s.toml"]);
    expect(
        &o,
        2,
        &["s.toml:2:7: not UTF-8 text: invalid byte at offset 12"],
    );
    // A name with a newline stays on one line of the message.
    let o = bin(tmp.path(), &["check", "two\nlines"]);
    expect(&o, 2, &["two\\nlines: no such file"]);
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    // So does a value with one, in a scenario's message.
    let o = bin(
        tmp.path(),
        &["check", "default", "--set", "replication.mode=\"a\\nb|c\""],
    );
    expect(&o, 2, &["a\\nb|c"]);
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
}

#[test]
fn flags_that_make_no_sense_are_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--vary", "failover.procdure=switch"],
            "--vary failover.procdure=switch: `failover.procdure`: unknown key",
        ),
        (
            &["--vary", "replication.mode=async,async"],
            "the value `async` is given twice",
        ),
        (
            &[
                "--vary",
                "replication.mode=async",
                "--vary",
                "replication.mode=quorum",
            ],
            "varied twice",
        ),
        (
            &["--vary", "simulation.seed=1,2"],
            "seeds are set by --seeds",
        ),
        (
            &["--vary", "workload.rate=1,2", "--set", "workload.rate=3"],
            "also fixed by --set",
        ),
        (&["--seeds", "5..1"], "A ≤ B"),
        (&["--jobs", "0"], "--jobs 0: at least one"),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["sweep", "default", "--out", "s"];
        args.extend_from_slice(extra);
        let o = bin(tmp.path(), &args);
        expect(&o, 2, &[needle]);
        assert!(
            !tmp.path().join("s").exists(),
            "{extra:?} wrote into the folder"
        );
    }
    // The corrected command then runs.
    let mut args = vec![
        "sweep",
        "default",
        "--out",
        "s",
        "--seeds",
        "1..1",
        "--vary",
        "failover.procedure=switch",
    ];
    args.extend_from_slice(SHORT);
    expect(
        &bin(tmp.path(), &args),
        0,
        &["sweep: 1 run (0 already done) with"],
    );
}

#[test]
fn help_describes_every_argument() {
    let tmp = tempfile::tempdir().unwrap();
    for (cmd, needle) in [
        ("run", "A scenario file (a path"),
        ("sweep", "Seeds A..B, inclusive, A ≤ B"),
        ("merge", "The sweep folders written with --shard I/N"),
        ("plot", "A run folder (holding timeseries.csv)"),
    ] {
        let o = bin(tmp.path(), &[cmd, "--help"]);
        assert!(o.status.success());
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains(needle), "{cmd}: {out}");
    }
}

#[test]
fn errors_map_to_exit_statuses_by_cause() {
    let tmp = tempfile::tempdir().unwrap();
    // Bad input: a folder with nothing to plot.
    let o = bin(tmp.path(), &["plot", "."]);
    expect(
        &o,
        2,
        &["neither a run folder (no timeseries.csv) nor a sweep folder (no plan.toml)"],
    );
    let o = bin(tmp.path(), &["plot", "nowhere"]);
    expect(&o, 2, &["nowhere: no such folder; plot redraws"]);
    // Not bad input: a run folder whose table cannot be plotted.
    fs::write(
        tmp.path().join("timeseries.csv"),
        "not,the,columns\n1,2,3\n",
    )
    .unwrap();
    let o = bin(tmp.path(), &["plot", "."]);
    expect(&o, 1, &["error: .: plotting failed"]);
    // A folder that cannot be written fails before simulating.
    fs::write(tmp.path().join("file"), "").unwrap();
    let started = std::time::Instant::now();
    let o = bin(tmp.path(), &["run", "--out", "file/run"]);
    expect(&o, 2, &["--out file/run: cannot create the folder"]);
    assert!(started.elapsed().as_secs() < 5, "it simulated first");
    let o = bin(tmp.path(), &["sweep", "default", "--out", "file/s"]);
    expect(&o, 2, &["--out file/s: cannot create the folder"]);
}

#[test]
fn a_run_with_overrides_keeps_its_own_folder_and_its_scenario_reproduces_it() {
    let tmp = tempfile::tempdir().unwrap();
    let o = bin(tmp.path(), &[&["run", "--seed", "2"][..], SHORT].concat());
    expect(&o, 0, &["results/default/set-"]);
    let set_dirs = files(&tmp.path().join("results/default"));
    assert_eq!(set_dirs.len(), 1);
    assert!(set_dirs[0].starts_with("set-"), "{set_dirs:?}");
    let run = tmp
        .path()
        .join("results/default")
        .join(&set_dirs[0])
        .join("seed-2");
    let report = fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("- **Overrides**: `fault.0.at=1s`, `fault.0.for=3s`, `simulation.drain=2s`, `simulation.duration=6s`, `simulation.seed=2`, `workload.rate=2000`"), "{report}");
    // The same overrides in another order: the same folder.
    let mut reversed: Vec<&str> = SHORT.chunks(2).rev().flatten().copied().collect();
    reversed.splice(0..0, ["run", "--seed", "2"]);
    expect(
        &bin(tmp.path(), &reversed),
        0,
        &[&format!("{}/seed-2", set_dirs[0])],
    );
    // The resolved scenario alone gives the same files.
    let again = tmp.path().join("again");
    let o = bin(
        tmp.path(),
        &[
            "run",
            &run.join("scenario.toml").display().to_string(),
            "--out",
            "again",
        ],
    );
    expect(&o, 0, &[]);
    assert_eq!(files(&run), files(&again));
    for f in files(&run) {
        if f == "perf.csv" || f == "report.md" {
            continue;
        }
        assert!(
            fs::read(run.join(&f)).unwrap() == fs::read(again.join(&f)).unwrap(),
            "{f} differs"
        );
    }
    // The report differs only by the overrides line.
    let plain = fs::read_to_string(again.join("report.md")).unwrap();
    let line = report
        .lines()
        .find(|l| l.starts_with("- **Overrides**"))
        .unwrap();
    assert_eq!(report.replacen(&format!("{line}\n\n"), "", 1), plain);
    // No override beside the seed: the plain folder.
    let o = bin(
        tmp.path(),
        &["run", "--seed", "3", "--set", "simulation.seed=3"],
    );
    expect(&o, 0, &["results/default/seed-3"]);
}

#[test]
fn an_overloaded_run_says_so_on_stderr_and_in_its_report() {
    let tmp = tempfile::tempdir().unwrap();
    // sz with one server (mean service ≈ 2.7 ms) and 500 requests/s: ρ ≈ 1.3.
    let mut args = vec!["run", "--out", "o"];
    args.extend_from_slice(SHORT);
    args.extend(["--set", "datacenter.sz.servers=1", "--set", "fault.0.dc=bj"]);
    let o = bin(tmp.path(), &args);
    expect(
        &o,
        0,
        &[
            "warning: DC sz's servers were busy",
            "of the traffic time (its backlog ran into the drain): it is saturated",
        ],
    );
    let report = fs::read_to_string(tmp.path().join("o/report.md")).unwrap();
    assert!(
        report.contains("- **Warning**: DC sz's servers were busy"),
        "{report}"
    );
    // The same scenario with its servers: no warning.
    let mut args = vec!["run", "--out", "p"];
    args.extend_from_slice(SHORT);
    args.extend(["--set", "fault.0.dc=bj"]);
    let o = bin(tmp.path(), &args);
    expect(&o, 0, &[]);
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
}

#[test]
fn progress_is_printed_as_lines_off_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let mut args = vec!["run", "--out", "o"];
    args.extend_from_slice(SHORT);
    expect(&bin(tmp.path(), &args), 0, &["simulating: ", "% after "]);
    let mut args = vec![
        "sweep", "default", "--out", "s", "--seeds", "1..2", "--jobs", "1",
    ];
    args.extend_from_slice(SHORT);
    let o = bin(tmp.path(), &args);
    expect(
        &o,
        0,
        &[
            "sweep: 2 runs (0 already done) with 1 job; rough estimate ",
            "sweep: 1/2 runs done",
            "sweep: 2/2 runs done",
        ],
    );
    // The estimate comes before the first run ends.
    let err = stderr(&o);
    assert!(err.find("rough estimate").unwrap() < err.find("1/2 runs done").unwrap());
}

#[test]
fn names_with_table_bars_are_escaped_in_the_report() {
    let tmp = tempfile::tempdir().unwrap();
    let text = multiactive::scenario::DEFAULT_SCENARIO
        .replace("\"sz\"", "\"s|z\"")
        .replace("sz =", "\"s|z\" =");
    fs::write(tmp.path().join("bars.toml"), text).unwrap();
    let mut args = vec!["run", "bars.toml", "--out", "o"];
    args.extend_from_slice(SHORT);
    expect(&bin(tmp.path(), &args), 0, &[]);
    let report = fs::read_to_string(tmp.path().join("o/report.md")).unwrap();
    assert!(report.contains("| s\\|z | 64 |"), "{report}");
    assert!(!report.contains("| s|z |"), "{report}");
    // The resolved scenario quotes the name where it is a key.
    let resolved = fs::read_to_string(tmp.path().join("o/scenario.toml")).unwrap();
    assert!(resolved.contains("\"s|z\" = \"20ms\""), "{resolved}");
}

/// A run shortened with `--set` past a fault of its file leaves that fault
/// out; its `scenario.toml` leaves it out too, so it is still written and
/// still reproduces the run (it used to fail its read-back and be skipped).
#[test]
fn a_shortened_run_still_writes_a_scenario_that_reproduces_it() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let o = bin(
        tmp.path(),
        &[
            "run",
            "--out",
            a.to_str().unwrap(),
            "--set",
            "simulation.duration=3s",
            "--set",
            "simulation.drain=2s",
            "--set",
            "workload.rate=2000",
        ],
    );
    expect(&o, 0, &[]);
    assert!(
        !stderr(&o).contains("scenario.toml is not written"),
        "{}",
        stderr(&o)
    );
    let resolved = fs::read_to_string(a.join("scenario.toml")).unwrap();
    assert!(!resolved.contains("[[fault]]"), "{resolved}");
    let b = tmp.path().join("b");
    let o = bin(
        tmp.path(),
        &[
            "run",
            a.join("scenario.toml").to_str().unwrap(),
            "--out",
            b.to_str().unwrap(),
        ],
    );
    expect(&o, 0, &[]);
    for f in [
        "summary.csv",
        "timeseries.csv",
        "failures.csv",
        "latency.csv",
    ] {
        assert_eq!(
            fs::read(a.join(f)).unwrap(),
            fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
}

/// `merge` of explore parts, like a sweep's, never writes into a part.
#[test]
fn merging_explore_parts_refuses_an_out_that_is_a_part() {
    let tmp = tempfile::tempdir().unwrap();
    let part = tmp.path().join("p");
    fs::create_dir_all(&part).unwrap();
    fs::write(part.join("explore.toml"), "budget = 1\n").unwrap();
    let before = files(&part);
    let o = bin(
        tmp.path(),
        &[
            "merge",
            part.to_str().unwrap(),
            "--out",
            part.to_str().unwrap(),
        ],
    );
    expect(&o, 2, &["is one of the parts"]);
    assert_eq!(files(&part), before);
}

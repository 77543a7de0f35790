//! The same scenario, seed and version give byte-identical files; another
//! seed gives different ones. Runs the real binary, as a user would.

use std::fs;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_multiactive");

fn run_into(dir: &Path, args: &[&str]) {
    let out = Command::new(BIN)
        .arg("run")
        .args(args)
        .arg("--out")
        .arg(dir)
        .args([
            "--set",
            "simulation.duration=8s",
            "--set",
            "fault.0.at=2s",
            "--set",
            "fault.0.for=3s",
        ])
        .args([
            "--set",
            "failover.detect_after=1s",
            "--set",
            "simulation.drain=3s",
        ])
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap() != "perf.csv")
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn same_seed_gives_identical_files_and_another_seed_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    run_into(&a, &["--seed", "11"]);
    run_into(&b, &["--seed", "11"]);
    run_into(&c, &["--seed", "12"]);
    let (fa, fb, fc) = (files(&a), files(&b), files(&c));
    let names: Vec<&str> = fa.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "dcs.csv",
            "failures.csv",
            "latency.csv",
            "latency.png",
            "latency.svg",
            "report.md",
            "scenario.toml",
            "streams.csv",
            "summary.csv",
            "timeline.png",
            "timeline.svg",
            "timeseries.csv"
        ]
    );
    assert_eq!(fa, fb, "same seed, different bytes");
    for ((name, x), (_, y)) in fa.iter().zip(&fc) {
        assert_ne!(x, y, "{name} is the same under another seed");
    }
    assert!(a.join("perf.csv").exists());
    // No temporary files are left behind.
    assert!(
        fs::read_dir(&a).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with('.'))
    );
}

#[test]
fn default_output_folder_is_named_after_scenario_overrides_and_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .current_dir(tmp.path())
        .args(["run", "--seed", "3", "--set", "simulation.duration=1s"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // With an override, a folder of its own below the scenario's.
    let sets: Vec<_> = fs::read_dir(tmp.path().join("results/default"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(sets.len(), 1);
    assert!(sets[0].starts_with("set-"), "{sets:?}");
    assert!(
        tmp.path()
            .join("results/default")
            .join(&sets[0])
            .join("seed-3/summary.csv")
            .exists()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("events/s"),
        "speed is reported on stderr: {stderr}"
    );
}

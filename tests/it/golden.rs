//! Golden files: the `summary.csv` of three shipped scenarios at seed 1,
//! committed under `tests/golden/<scenario>.summary.csv` and compared byte
//! for byte with a fresh run of the real binary.
//!
//! They pin results across machines: every random variate on the simulated
//! path is computed with portable arithmetic (IEEE-754 operations and the
//! pure-Rust `libm`; see `scenario::dist::sample`), so these bytes must come
//! out the same on any OS, CPU and compiler. `summary.csv` holds no
//! wall-clock figure (those are in `perf.csv`), so it is compared whole.
//!
//! How they were made: each file is the `summary.csv` written by
//! `multiactive run <scenario> --seed 1` (the default scenario with no name)
//! with the scenario as shipped, full duration. When a change is meant to
//! alter results, refresh them and commit them with that change, saying so:
//!
//! ```text
//! UPDATE_GOLDEN=1 cargo test --test it golden
//! ```
//!
//! and review the diff of `tests/golden/` before committing it.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_multiactive");

fn golden_path(scenario: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{scenario}.summary.csv"))
}

/// Runs `scenario` (`None`: the embedded default) at seed 1 and returns the
/// bytes of its `summary.csv`.
fn summary_of(scenario: Option<&str>) -> Vec<u8> {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.arg("run");
    cmd.args(scenario);
    let out = cmd
        .args(["--seed", "1", "--out"])
        .arg(tmp.path())
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    fs::read(tmp.path().join("summary.csv")).unwrap()
}

fn check(name: &str, scenario: Option<&str>) {
    let got = summary_of(scenario);
    let path = golden_path(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(&path, &got).unwrap();
        eprintln!("{} refreshed", path.display());
        return;
    }
    let want = fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; make it with UPDATE_GOLDEN=1 cargo test --test it golden",
            path.display()
        )
    });
    assert!(
        got == want,
        "{name}: summary.csv differs from {}\n got: {}\nwant: {}\n\
         If the change is meant to alter results, refresh with \
         UPDATE_GOLDEN=1 cargo test --test it golden and say so in the commit.",
        path.display(),
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want)
    );
}

#[test]
fn golden_default() {
    check("default", None);
}

#[test]
fn golden_eleme() {
    check("eleme", Some("eleme"));
}

/// Ant's LDC, with its quorum (Paxos) data layer.
#[test]
fn golden_ant_ldc() {
    check("ant-ldc", Some("ant-ldc"));
}

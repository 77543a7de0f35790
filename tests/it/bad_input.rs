//! Bad input gets exit status 2 and a message per problem that names the
//! file, the line and the key; never a panic, never an output file.
//!
//! Every scenario in `tests/bad/` is small and valid but for the problems its
//! header announces, one `# expect-line: N` and `# expect-key: KEY` pair per
//! problem (`KEY` as the message shows it between backticks, or
//! `TOML syntax error` where there is no key). Each problem must get exactly
//! one message, so a mistake that sets off a cascade of messages fails too.
//! The `--set`, path and flag problems, which no file can show, come after.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_multiactive");
/// The project's issue asks for at least this many broken scenarios.
const MIN_FILES: usize = 30;
const SYNTAX: &str = "TOML syntax error";

fn manifest_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn multiactive(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("the multiactive binary runs")
}

/// The `.toml` files of `tests/bad`, sorted by name.
fn bad_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(manifest_path("tests/bad"))
        .expect("tests/bad exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

struct Expect {
    line: usize,
    key: String,
}

/// The `# expect-line:` / `# expect-key:` pairs of a file's header, in order.
fn expectations(text: &str) -> Result<Vec<Expect>, String> {
    let field = |prefix: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix(prefix).map(|v| v.trim().to_string()))
            .collect()
    };
    let lines = field("# expect-line:");
    let keys = field("# expect-key:");
    if lines.is_empty() || lines.len() != keys.len() {
        return Err(format!(
            "header has {} expect-line and {} expect-key comments; expected matching pairs",
            lines.len(),
            keys.len()
        ));
    }
    lines
        .iter()
        .zip(keys)
        .map(|(l, key)| match l.parse() {
            Ok(line) => Ok(Expect { line, key }),
            Err(_) => Err(format!("expect-line {l:?} is not a line number")),
        })
        .collect()
}

/// Why the output is not what bad input must give; empty when it is.
fn exit_problems(out: &Output) -> Vec<String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut problems = Vec::new();
    if out.status.code() != Some(2) {
        problems.push(format!("exit status {:?}, expected 2", out.status.code()));
    }
    if stderr.contains("panicked") {
        problems.push("panicked".to_string());
    }
    if !out.stdout.is_empty() {
        problems.push(format!(
            "stdout is not empty: {}",
            String::from_utf8_lossy(&out.stdout).trim()
        ));
    }
    problems
}

/// `check FILE`: status 2 and one message per announced problem, each at its
/// line and naming its key.
fn check_problems(path: &Path, expect: &[Expect]) -> Vec<String> {
    let out = multiactive(&["check", path.to_str().expect("UTF-8 path")]);
    let mut problems = exit_problems(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let messages: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    for e in expect {
        let place = format!("{}:{}:", path.display(), e.line);
        let key = if e.key == SYNTAX {
            SYNTAX.to_string()
        } else {
            format!("`{}`", e.key)
        };
        if !messages
            .iter()
            .any(|m| m.starts_with(&place) && m.contains(&key))
        {
            problems.push(format!("no message at line {} naming {key}", e.line));
        }
    }
    if messages.len() != expect.len() {
        problems.push(format!(
            "{} messages for {} problems",
            messages.len(),
            expect.len()
        ));
    }
    if !problems.is_empty() {
        problems.push(format!("stderr:\n{}", stderr.trim_end()));
    }
    problems
}

/// `run FILE --out DIR`: status 2 and nothing written.
fn run_problems(path: &Path) -> Vec<String> {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let out_dir = tmp.path().join("out");
    let out = multiactive(&[
        "run",
        path.to_str().expect("UTF-8 path"),
        "--out",
        out_dir.to_str().expect("UTF-8 path"),
    ]);
    let mut problems: Vec<String> = exit_problems(&out)
        .into_iter()
        .map(|p| format!("run: {p}"))
        .collect();
    if std::fs::read_dir(tmp.path()).map_or(true, |mut d| d.next().is_some()) {
        problems.push("run: wrote output for a bad scenario".to_string());
    }
    problems
}

#[test]
fn every_bad_scenario_is_refused_with_its_line_and_key() {
    let files = bad_files();
    assert!(
        files.len() >= MIN_FILES,
        "tests/bad holds {} scenarios; the issue asks for at least {MIN_FILES}",
        files.len()
    );
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable scenario");
        let problems = match expectations(&text) {
            Ok(expect) => {
                let mut p = check_problems(path, &expect);
                p.extend(run_problems(path));
                p
            }
            Err(e) => vec![e],
        };
        if !problems.is_empty() {
            let name = path.file_name().expect("a file name").to_string_lossy();
            failures.push(format!("{name}:\n  {}", problems.join("\n  ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} bad scenarios are not handled as expected:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

// --- problems outside the scenario file ------------------------------------

/// Asserts bad-input handling and that stderr holds every one of `needles`.
fn assert_refused(args: &[&str], needles: &[&str]) {
    let out = multiactive(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut problems = exit_problems(&out);
    for n in needles {
        if !stderr.contains(n) {
            problems.push(format!("stderr does not contain {n:?}"));
        }
    }
    assert!(
        problems.is_empty(),
        "multiactive {}:\n  {}\nstderr:\n{stderr}",
        args.join(" "),
        problems.join("\n  ")
    );
}

fn default_scenario() -> String {
    manifest_path("scenarios/default.toml")
        .to_str()
        .expect("UTF-8 path")
        .to_string()
}

#[test]
fn set_with_an_unknown_key_names_the_override_and_the_key() {
    let s = default_scenario();
    assert_refused(
        &["check", &s, "--set", "simulation.durration=5s"],
        &[
            "--set simulation.durration=5s",
            "`simulation.durration`",
            "did you mean `duration`",
        ],
    );
}

#[test]
fn set_without_equals_says_what_is_expected() {
    let s = default_scenario();
    assert_refused(
        &["check", &s, "--set", "simulation.duration"],
        &["--set simulation.duration", "KEY=VALUE"],
    );
}

#[test]
fn set_naming_an_unknown_datacenter_lists_the_known_ones() {
    let s = default_scenario();
    assert_refused(
        &["check", &s, "--set", "datacenter.xx.servers=4"],
        &[
            "--set datacenter.xx.servers=4",
            "`datacenter.xx.servers`",
            "\"xx\"",
            "known: bj, sh, sz",
        ],
    );
}

#[test]
fn set_with_a_bad_value_is_checked_like_the_file() {
    let s = default_scenario();
    assert_refused(
        &["check", &s, "--set", "workload.writes=2"],
        &[
            "--set workload.writes=2",
            "`workload.writes`",
            "from 0 to 1",
        ],
    );
}

#[test]
fn set_cannot_add_an_element_the_file_lacks() {
    let s = default_scenario();
    assert_refused(
        &["check", &s, "--set", "request.0.at=5s"],
        &["--set request.0.at=5s", "`request.0.at`", "no `request`"],
    );
}

#[test]
fn every_bad_override_is_reported_at_once() {
    let s = default_scenario();
    assert_refused(
        &[
            "check",
            &s,
            "--set",
            "workload.writes=2",
            "--set",
            "routing.entry=closest",
        ],
        &["--set workload.writes=2", "--set routing.entry=closest"],
    );
}

#[test]
fn run_with_a_bad_override_writes_nothing() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let out_dir = tmp.path().join("out");
    let s = default_scenario();
    assert_refused(
        &[
            "run",
            &s,
            "--out",
            out_dir.to_str().expect("UTF-8 path"),
            "--set",
            "workload.rate=-5",
        ],
        &["--set workload.rate=-5", "`workload.rate`"],
    );
    assert!(!out_dir.exists(), "run wrote {}", out_dir.display());
}

#[test]
fn a_missing_scenario_file_is_named() {
    let missing = manifest_path("tests/bad/no-such-scenario.toml");
    let missing = missing.to_str().expect("UTF-8 path");
    assert_refused(&["check", missing], &[missing, "no such file"]);
    assert_refused(&["run", missing], &[missing, "no such file"]);
}

#[test]
fn a_scenario_that_is_not_text_is_named() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let path = tmp.path().join("binary.toml");
    std::fs::write(&path, b"[simulation]\nduration = \"\xff\xfe\"\n").expect("writable");
    let path = path.to_str().expect("UTF-8 path");
    assert_refused(&["check", path], &[path, "UTF-8"]);
}

#[test]
fn an_unknown_flag_is_bad_input() {
    let s = default_scenario();
    assert_refused(&["check", &s, "--no-such-flag"], &["--no-such-flag"]);
    assert_refused(&["run", &s, "--no-such-flag"], &["--no-such-flag"]);
    assert_refused(&["run", "--seed", "minus-one"], &["--seed"]);
    assert_refused(&["no-such-command"], &["no-such-command"]);
}

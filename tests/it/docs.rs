//! The reference in `docs/` against the binary, and the repository against
//! pointers to files outside it.
//!
//! `docs/outputs.md` lists every output column in tables that follow a
//! `<!-- columns: FOLDER/FILE -->` line, one column per row, its name in
//! backticks in the first cell. The tests run the default scenario and a
//! tiny sweep, read every CSV header they write and require the documented
//! list to be exactly the written one, in order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_multiactive");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn outputs_md() -> String {
    std::fs::read_to_string(root().join("docs/outputs.md")).expect("docs/outputs.md")
}

/// The documented column tables of `docs/outputs.md`: `FOLDER/FILE` → names.
fn documented(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut tables = BTreeMap::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(file) = line
            .trim()
            .strip_prefix("<!-- columns:")
            .and_then(|r| r.strip_suffix("-->"))
        else {
            continue;
        };
        let mut names = Vec::new();
        while lines.peek().is_some_and(|l| l.trim().is_empty()) {
            lines.next();
        }
        for row in lines.by_ref() {
            let row = row.trim();
            if !row.starts_with('|') {
                break;
            }
            let first = row.trim_start_matches('|').split('|').next().unwrap_or("");
            // The header and separator rows have no backticks.
            if let Some(name) = first.split('`').nth(1) {
                names.push(name.to_string());
            }
        }
        let previous = tables.insert(file.trim().to_string(), names);
        assert!(previous.is_none(), "{file}: documented twice");
    }
    tables
}

/// Expands the sweep tables' placeholders: `<varied key>`, `<run summary
/// column>`, and a group of `<metric>_SUFFIX` rows (every run summary column
/// but `scenario` and `seed`, each with every suffix of the group).
fn expand(names: &[String], varied: &[&str], summary: &[String]) -> Vec<String> {
    let metrics: Vec<&String> = summary
        .iter()
        .filter(|c| *c != "scenario" && *c != "seed")
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < names.len() {
        let n = names[i].as_str();
        if n == "<varied key>" {
            out.extend(varied.iter().map(|k| k.to_string()));
        } else if n == "<run summary column>" {
            out.extend(summary.iter().cloned());
        } else if n.starts_with("<metric>_") {
            let mut suffixes = Vec::new();
            while let Some(s) = names.get(i).and_then(|n| n.strip_prefix("<metric>")) {
                suffixes.push(s);
                i += 1;
            }
            for m in &metrics {
                out.extend(suffixes.iter().map(|s| format!("{m}{s}")));
            }
            continue;
        } else {
            out.push(n.to_string());
        }
        i += 1;
    }
    out
}

fn header(path: &Path) -> Vec<String> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    r.headers()
        .expect("a header line")
        .iter()
        .map(str::to_string)
        .collect()
}

fn run_ok(args: &[&str]) {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Files directly in `dir` (no folders, no temporaries), by name.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("a folder")
        .map(|e| e.expect("an entry"))
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// Checks every CSV of `dir` against the tables `FOLDER/NAME`, and that
/// every file of `dir` is named in `docs/outputs.md`.
fn check_folder(
    dir: &Path,
    folder: &str,
    docs: &BTreeMap<String, Vec<String>>,
    text: &str,
    expected: impl Fn(&str, &[String]) -> Vec<String>,
) {
    for name in files(dir) {
        assert!(
            text.contains(&format!("`{name}`")),
            "{folder}/{name} is written but docs/outputs.md never names it"
        );
        if !name.ends_with(".csv") {
            continue;
        }
        let key = format!("{folder}/{name}");
        let doc = docs.get(&key).unwrap_or_else(|| {
            panic!("{key} has no `<!-- columns: {key} -->` table in docs/outputs.md")
        });
        let want = expected(&name, doc);
        let got = header(&dir.join(&name));
        assert_eq!(
            got, want,
            "{key}: the written header (left) differs from docs/outputs.md (right)"
        );
    }
    for key in docs.keys().filter(|k| k.starts_with(&format!("{folder}/"))) {
        let name = &key[folder.len() + 1..];
        if OPTIONAL.contains(&name) {
            continue; // checked by a run that writes it
        }
        assert!(
            dir.join(name).exists(),
            "docs/outputs.md documents {key}, which the binary does not write"
        );
    }
}

/// Files a run writes only when the scenario asks for them.
const OPTIONAL: &[&str] = &["datasets.csv"];

#[test]
fn every_output_column_is_documented_and_every_documented_column_is_written() {
    let text = outputs_md();
    let docs = documented(&text);
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let run = tmp.path().join("run");
    let run_s = run.to_str().expect("utf-8 path");
    run_ok(&["run", "--out", run_s, "--set", "simulation.duration=5s"]);
    check_folder(&run, "run", &docs, &text, |_, doc| doc.to_vec());

    // The default scenario with two datasets writes `datasets.csv` too.
    let file = tmp.path().join("classes.toml");
    let classes =
        "\n[[dataset]]\nname = \"x\"\nshare = 0.5\n\n[[dataset]]\nname = \"y\"\nshare = 0.5\n";
    std::fs::write(
        &file,
        format!("{}{classes}", multiactive::scenario::DEFAULT_SCENARIO),
    )
    .expect("write the scenario");
    let with = tmp.path().join("with-datasets");
    let with_s = with.to_str().expect("utf-8 path");
    let file_s = file.to_str().expect("utf-8 path");
    run_ok(&[
        "run",
        file_s,
        "--out",
        with_s,
        "--set",
        "simulation.duration=2s",
    ]);
    assert!(with.join("datasets.csv").exists());
    check_folder(&with, "run", &docs, &text, |_, doc| doc.to_vec());

    let sweep = tmp.path().join("sweep");
    let sweep_s = sweep.to_str().expect("utf-8 path");
    let varied = ["replication.mode", "failover.procedure"];
    run_ok(&[
        "sweep",
        "default",
        "--vary",
        "replication.mode=async,quorum",
        "--vary",
        "failover.procedure=switch",
        "--seeds",
        "1..2",
        "--jobs",
        "1",
        "--out",
        sweep_s,
        "--set",
        "simulation.duration=2s",
        "--set",
        "workload.rate=2000",
    ]);
    let summary = docs
        .get("run/summary.csv")
        .expect("run/summary.csv documented");
    check_folder(&sweep, "sweep", &docs, &text, |_, doc| {
        expand(doc, &varied, summary)
    });
}

#[test]
fn the_column_table_parser_reads_names_and_expands_placeholders() {
    let text = "x\n<!-- columns: run/a.csv -->\n\n| column | meaning |\n|---|---|\n| `p` | one |\n| `q` | two \\| `r` |\n\nafter\n<!-- columns: sweep/b.csv -->\n| column | meaning |\n|---|---|\n| `<varied key>` | k |\n| `runs` | n |\n| `<metric>_mean` | m |\n| `<metric>_n` | c |\n";
    let docs = documented(text);
    assert_eq!(docs["run/a.csv"], ["p", "q"]);
    let summary: Vec<String> = ["scenario", "seed", "ok", "rto_s"]
        .map(String::from)
        .to_vec();
    assert_eq!(
        expand(&docs["sweep/b.csv"], &["k1", "k2"], &summary),
        [
            "k1",
            "k2",
            "runs",
            "ok_mean",
            "ok_n",
            "rto_s_mean",
            "rto_s_n"
        ]
    );
}

/// Strings that point at files outside the repository, built here so that
/// this file does not match them itself.
fn pointers() -> Vec<String> {
    let mut p: Vec<String> = ["DESIGN", "SYSTEMS", "STYLE"]
        .iter()
        .map(|n| format!("{n}.md"))
        .collect();
    p.push(format!("..{}shared", '/'));
    p.push(format!("DESIGN {}", '§'));
    // The machine the project was written on.
    p.push(format!("/{}/", "work"));
    p
}

/// The repository's tracked files (`git ls-files`), or, outside a git
/// checkout, every file below the root except build and result folders.
fn repository_files() -> Vec<PathBuf> {
    let root = root();
    if let Ok(out) = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(&root)
        .output()
        && out.status.success()
        && !out.stdout.is_empty()
    {
        return out
            .stdout
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| root.join(String::from_utf8_lossy(p).as_ref()))
            .filter(|p| p.is_file())
            .collect();
    }
    let mut found = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("a readable folder") {
            let path = e.expect("an entry").path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let name = name.unwrap_or_default();
            if path.is_dir() {
                if !matches!(name.as_str(), "target" | "results" | ".git") {
                    stack.push(path);
                }
            } else {
                found.push(path);
            }
        }
    }
    found
}

fn offending(text: &str) -> Vec<(usize, String)> {
    let pats = pointers();
    text.lines()
        .enumerate()
        .filter(|(_, l)| pats.iter().any(|p| l.contains(p.as_str())))
        .map(|(i, l)| (i + 1, l.trim().to_string()))
        .collect()
}

#[test]
fn nothing_in_the_repository_points_outside_it() {
    let this = root().join("tests/it/docs.rs");
    let mut bad = Vec::new();
    let files = repository_files();
    assert!(files.len() > 20, "found only {} files", files.len());
    for path in files {
        if path == this {
            continue;
        }
        // Text files only: fonts and images are not read.
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for (line, l) in offending(&text) {
            bad.push(format!("{}:{line}: {l}", path.display()));
        }
    }
    assert!(
        bad.is_empty(),
        "pointers to files outside the repository (write the meaning here, or cite a public page):\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_pointer_check_fires() {
    let text = format!("ok\nsee {}.md §3\n", "DESIGN");
    assert_eq!(offending(&text).len(), 1);
    assert_eq!(offending(&format!("a\nb\n/{}/shared/x\n", "work")).len(), 1);
    assert!(offending("docs/metrics.md and https://example.org/p/1").is_empty());
}

#[test]
fn reports_point_only_inside_the_repository() {
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let out = tmp.path().join("run");
    run_ok(&[
        "run",
        "--out",
        out.to_str().expect("utf-8 path"),
        "--set",
        "simulation.duration=1s",
        "--set",
        "workload.rate=1000",
    ]);
    let report = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert_eq!(offending(&report), Vec::new(), "report.md:\n{report}");
    assert!(
        report.contains("docs/metrics.md"),
        "report.md names no meaning:\n{report}"
    );
}

fn help(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The subcommands `--help` lists (without `help` itself).
fn commands(top: &str) -> Vec<String> {
    top.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

/// The long flags of a command's `--help` (without `--help` itself).
fn flags(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter_map(|w| w.strip_prefix("--"))
        .map(|w| {
            let end = w
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .unwrap_or(w.len());
            format!("--{}", &w[..end])
        })
        .filter(|f| f != "--help" && f != "--")
        .collect()
}

#[test]
fn every_command_and_flag_is_in_docs_cli_md() {
    let cli = std::fs::read_to_string(root().join("docs/cli.md")).expect("docs/cli.md");
    let top = help(&["--help"]);
    let cmds = commands(&top);
    assert!(cmds.len() >= 6, "{top}");
    for c in cmds {
        assert!(
            cli.contains(&format!("## `{c}`")),
            "docs/cli.md has no `## `{c}`` section"
        );
        for f in flags(&help(&[&c, "--help"])) {
            assert!(
                cli.contains(&format!("`{f}")),
                "docs/cli.md never names {f} of `{c}`"
            );
        }
    }
}

#[test]
fn help_parsing_finds_commands_and_flags() {
    let top =
        "Usage: x\n\nCommands:\n  run    Run\n  list   List\n  help   Help\n\nOptions:\n  -h\n";
    assert_eq!(commands(top), ["run", "list"]);
    assert_eq!(
        flags("      --seed <SEED>  Master seed, e.g. --set a=b\n  -h, --help"),
        ["--seed", "--set"]
    );
}

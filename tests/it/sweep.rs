//! Sweeps as users run them: through the binary. A sweep's runs are the
//! single runs byte for byte; sharding and merging, and resuming a killed
//! sweep, change nothing; plots are real SVG/PNG files that follow the data.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_multiactive");

/// A short version of the default scenario (its DC outage included).
const SETS: &[&str] = &[
    "simulation.duration=6s",
    "simulation.drain=2s",
    "workload.rate=2000",
    "fault.0.at=1s",
    "fault.0.for=3s",
    "failover.detect_after=1s",
];

/// The binary with `args`, then `--out out`, then the short-scenario sets.
fn cmd(args: &[&str], out: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.args(args).arg("--out").arg(out);
    for s in SETS {
        c.args(["--set", s]);
    }
    c
}

fn ok(mut c: Command) {
    let out = c.output().expect("the binary runs");
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        c,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sweep(out: &Path, extra: &[&str]) -> Command {
    let mut args = vec![
        "sweep",
        "default",
        "--vary",
        "failover.procedure=switch,ban_then_switch",
    ];
    if !extra.contains(&"--seeds") {
        args.extend(["--seeds", "1..2"]);
    }
    args.extend(extra);
    cmd(&args, out)
}

/// Every file under `dir`, by relative path (perf.csv, the one file that
/// records wall time, left out).
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().unwrap() != "perf.csv" {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
                );
            }
        }
    }
    out
}

fn assert_same(a: &BTreeMap<PathBuf, Vec<u8>>, b: &BTreeMap<PathBuf, Vec<u8>>) {
    let (ka, kb): (Vec<_>, Vec<_>) = (a.keys().collect(), b.keys().collect());
    assert_eq!(ka, kb, "different files");
    for (k, v) in a {
        assert!(v == &b[k], "{} differs", k.display());
    }
}

#[test]
fn a_sweep_is_the_union_of_its_single_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let sw = tmp.path().join("sweep");
    ok(sweep(&sw, &["--jobs", "2"]));
    let summary = fs::read_to_string(sw.join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 1 + 4, "one row per run");
    assert!(summary.starts_with("failover.procedure,scenario,seed,"));
    for procedure in ["switch", "ban_then_switch"] {
        for seed in ["1", "2"] {
            let single = tmp.path().join(format!("{procedure}-{seed}"));
            ok(cmd(
                &[
                    "run",
                    "default",
                    "--seed",
                    seed,
                    "--set",
                    &format!("failover.procedure={procedure}"),
                ],
                &single,
            ));
            let run = sw.join(format!("runs/failover.procedure={procedure}/seed-{seed}"));
            assert_same(&tree(&single), &tree(&run));
        }
    }
    // The aggregate's mean is the mean of the runs' values.
    let agg = fs::read_to_string(sw.join("aggregate.csv")).unwrap();
    let header: Vec<&str> = agg.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "requests_mean").unwrap();
    let rows: Vec<Vec<&str>> = summary
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let req = 3; // failover.procedure, scenario, seed, requests
    let mean: f64 = rows[..2]
        .iter()
        .map(|r| r[req].parse::<f64>().unwrap())
        .sum::<f64>()
        / 2.0;
    let first: Vec<&str> = agg.lines().nth(1).unwrap().split(',').collect();
    assert!((first[col].parse::<f64>().unwrap() - mean).abs() < 1e-6);
    for f in [
        "plan.toml",
        "report.md",
        "compare.svg",
        "compare.png",
        "tradeoff.svg",
        "tradeoff.png",
    ] {
        assert!(sw.join(f).exists(), "{f}");
    }
}

#[test]
fn three_shards_merged_equal_the_whole_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    ok(sweep(&whole, &["--jobs", "1"]));
    let mut parts = Vec::new();
    for i in 0..3 {
        let p = tmp.path().join(format!("part{i}"));
        ok(sweep(&p, &["--jobs", "1", "--shard", &format!("{i}/3")]));
        parts.push(p);
    }
    let merged = tmp.path().join("merged");
    let mut c = Command::new(BIN);
    c.arg("merge").args(&parts).arg("--out").arg(&merged);
    ok(c);
    assert_same(&tree(&whole), &tree(&merged));
    // A missing part is an error, not a silently smaller sweep.
    let mut c = Command::new(BIN);
    c.arg("merge")
        .args(&parts[..2])
        .arg("--out")
        .arg(tmp.path().join("short"));
    let out = c.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_killed_sweep_resumes_to_the_same_files() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    ok(sweep(&whole, &["--jobs", "1", "--seeds", "1..4"]));
    let resumed = tmp.path().join("resumed");
    let mut child = sweep(&resumed, &["--jobs", "1", "--seeds", "1..4"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once some, but not all, runs are done.
    let started = Instant::now();
    // (Only existence checks while the sweep runs: its files come and go.)
    let done = |dir: &Path| {
        ["switch", "ban_then_switch"]
            .iter()
            .flat_map(|p| {
                (1..=4).map(move |s| {
                    dir.join(format!("runs/failover.procedure={p}/seed-{s}/summary.csv"))
                })
            })
            .filter(|f| f.exists())
            .count()
    };
    while started.elapsed() < Duration::from_secs(60) && done(&resumed) < 1 {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = done(&resumed);
    // What a kill during the final tables leaves behind.
    fs::write(resumed.join(".summary.csv.tmp-999999"), "half a table").unwrap();
    ok(sweep(&resumed, &["--jobs", "1", "--seeds", "1..4"]));
    eprintln!("killed after {before} of 8 runs");
    assert_same(&tree(&whole), &tree(&resumed));
}

/// Width and height from a PNG's header, after checking its signature.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

#[test]
fn plots_are_valid_follow_the_data_and_redraw_identically() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    ok(cmd(&["run"], &a));
    ok(cmd(&["run", "--seed", "2"], &b));
    for stem in ["timeline", "latency"] {
        let svg = fs::read_to_string(a.join(format!("{stem}.svg"))).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{stem}.svg is not an SVG document"
        );
        assert!(svg.contains("<text"), "{stem}.svg has no text");
        let png = fs::read(a.join(format!("{stem}.png"))).unwrap();
        let (w, h) = png_size(&png);
        assert!(w >= 800 && h >= 500, "{stem}.png is {w}x{h}");
        // Twice the traffic draws a different picture.
        assert_ne!(
            svg,
            fs::read_to_string(b.join(format!("{stem}.svg"))).unwrap(),
            "{stem}.svg ignores the data"
        );
        assert_ne!(
            png,
            fs::read(b.join(format!("{stem}.png"))).unwrap(),
            "{stem}.png ignores the data"
        );
    }
    // The report embeds them.
    let report = fs::read_to_string(a.join("report.md")).unwrap();
    assert!(report.contains("![timeline](timeline.svg)") && report.contains("| dc_down | sz |"));
    // `plot` redraws the same bytes from the CSV files.
    let before = tree(&a);
    for f in ["timeline.svg", "timeline.png", "latency.svg", "latency.png"] {
        fs::remove_file(a.join(f)).unwrap();
    }
    let mut c = Command::new(BIN);
    c.arg("plot").arg(&a);
    ok(c);
    assert_same(&before, &tree(&a));
}

#[test]
fn the_slurm_array_script_runs_its_share_and_the_parts_merge() {
    // Two array tasks as Slurm would start them, then the merge.
    let tmp = tempfile::tempdir().unwrap();
    let parts = tmp.path().join("parts");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cluster/slurm-sweep.sh");
    let args = SETS
        .iter()
        .map(|s| format!("--set {s}"))
        .collect::<Vec<_>>()
        .join(" ");
    for i in 0..2 {
        let out = Command::new("bash")
            .arg(&script)
            .env("SLURM_ARRAY_TASK_COUNT", "2")
            .env("SLURM_ARRAY_TASK_ID", i.to_string())
            .env("MULTIACTIVE_BIN", BIN)
            .env("SCENARIO", "default")
            .env("SEEDS", "1..1")
            .env("PARTS", &parts)
            .env("SWEEP_ARGS", &args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "task {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let merged = tmp.path().join("merged");
    let mut c = Command::new(BIN);
    c.arg("merge")
        .arg(parts.join("part-0"))
        .arg(parts.join("part-1"))
        .arg("--out")
        .arg(&merged);
    ok(c);
    // 2 procedures × 3 modes × 1 seed.
    let summary = fs::read_to_string(merged.join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 1 + 6);
}

#[test]
fn a_sweep_refuses_to_resume_into_another_sweeps_folder_and_absurd_sizes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("s");
    ok(sweep(&out, &["--jobs", "1", "--seeds", "1..1"]));
    // Same folder, another plan (one more override): refused, nothing mixed.
    let before = tree(&out);
    let o = sweep(
        &out,
        &[
            "--jobs",
            "1",
            "--seeds",
            "1..1",
            "--set",
            "workload.rate=3000",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("another plan"));
    assert_same(&before, &tree(&out));
    // Billions of runs: refused before anything is listed.
    let o = sweep(
        &tmp.path().join("big"),
        &["--seeds", "0..18446744073709551615"],
    )
    .output()
    .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn plot_survives_non_finite_cells() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    ok(cmd(&["run"], &a));
    let lat = fs::read_to_string(a.join("latency.csv")).unwrap();
    let bad = lat.replacen("read,0.5,", "read,0.5,inf\nread,0.55,", 1);
    fs::write(a.join("latency.csv"), bad).unwrap();
    let mut c = Command::new(BIN);
    c.arg("plot").arg(&a);
    ok(c);
}

#[test]
fn a_locked_folder_refuses_a_second_sweep_and_a_stale_lock_is_taken_over() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("s");
    fs::create_dir_all(&out).unwrap();
    // A live process (this test) holds the folder.
    fs::write(out.join(".lock"), format!("{}\n", std::process::id())).unwrap();
    let o = sweep(&out, &["--jobs", "1", "--seeds", "1..1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "another sweep or merge (process {})",
            std::process::id()
        )),
        "{err}"
    );
    assert!(
        !out.join("plan.toml").exists(),
        "the refused sweep wrote its plan"
    );
    // Its holder gone (a pid above any the kernel gives): taken over, released at the end.
    fs::write(out.join(".lock"), "4294967295\n").unwrap();
    ok(sweep(&out, &["--jobs", "1", "--seeds", "1..1"]));
    assert!(!out.join(".lock").exists());
    // Two sweeps at once: the second is refused while the first runs.
    let both = tmp.path().join("both");
    let mut first = sweep(&both, &["--jobs", "1", "--seeds", "1..3"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !both.join(".lock").exists() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let second = sweep(&both, &["--jobs", "1", "--seeds", "1..3"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{err}");
    assert!(err.contains("another sweep or merge"), "{err}");
    assert!(first.wait().unwrap().success());
    assert_eq!(
        fs::read_to_string(both.join("summary.csv"))
            .unwrap()
            .lines()
            .count(),
        1 + 6
    );
}

#[test]
fn merge_never_changes_its_inputs_and_names_a_missing_part_once() {
    let tmp = tempfile::tempdir().unwrap();
    let parts_dir = tmp.path().join("parts");
    let mut parts = Vec::new();
    for i in 0..2 {
        let p = parts_dir.join(format!("part{i}"));
        ok(sweep(
            &p,
            &[
                "--jobs",
                "1",
                "--seeds",
                "1..1",
                "--shard",
                &format!("{i}/2"),
            ],
        ));
        parts.push(p);
    }
    let before: Vec<_> = parts.iter().map(|p| tree(p)).collect();
    // Into one of the parts: refused.
    let o = Command::new(BIN)
        .arg("merge")
        .args(&parts)
        .arg("--out")
        .arg(&parts[0])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("merge never changes its inputs"), "{err}");
    // Without --out: `merged` beside the first part.
    let mut c = Command::new(BIN);
    c.arg("merge").args(&parts);
    ok(c);
    for (p, b) in parts.iter().zip(&before) {
        assert_same(b, &tree(p));
    }
    assert_eq!(
        fs::read_to_string(parts_dir.join("merged/summary.csv"))
            .unwrap()
            .lines()
            .count(),
        1 + 2
    );
    // A missing folder: bad input, its path said once.
    let gone = tmp.path().join("gone");
    let o = Command::new(BIN)
        .arg("merge")
        .arg(&parts[0])
        .arg(&gone)
        .arg("--out")
        .arg(tmp.path().join("m2"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(
        err.matches(&*gone.display().to_string()).count(),
        1,
        "{err}"
    );
    assert!(err.contains("no such folder"), "{err}");
}

/// Peak resident memory of a process, in MiB.
fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

#[test]
fn ten_million_seeds_start_at_once_in_little_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let ten_million = ["sweep", "default", "--seeds", "1..10000000", "--jobs", "1"];
    // One shard of the largest plan allowed: its single run, at once.
    let part = tmp.path().join("part");
    let started = Instant::now();
    ok(cmd(
        &[&ten_million[..], &["--shard", "9999999/10000000"]].concat(),
        &part,
    ));
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(part.join("runs/seed-10000000/summary.csv").exists());
    // The whole plan starts running with no run's configuration held.
    let whole = tmp.path().join("whole");
    let mut child = cmd(&ten_million, &whole)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let first = whole.join("runs/seed-1/summary.csv");
    let started = Instant::now();
    while !first.exists() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let peak = peak_rss_mb(child.id());
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(first.exists(), "no run finished within a minute");
    if let Some(mb) = peak {
        assert!(mb < 300.0, "peak {mb:.0} MiB");
    }
}

//! What the plots and reports show, read back from their SVG text and
//! elements and from the CSVs behind them: drills are instants and outages
//! named intervals, every DC has its line, the replication panel shows the
//! backlog's age, the latency plot reaches p99.99, axes carry no needless
//! decimals, sweep labels sit beside their markers, reports use the
//! scenario's spellings, and a huge value cannot stall `plot`.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use multiactive::model::run;
use multiactive::output::write_run;

use crate::common::{config, mesh};

const BIN: &str = env!("CARGO_BIN_EXE_multiactive");

/// A `<text>` of an SVG: position, anchor and content.
#[derive(Debug)]
struct SvgText {
    x: f64,
    y: f64,
    anchor: String,
    size: f64,
    text: String,
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[start..].find('"')? + start;
    Some(tag[start..end].to_string())
}

fn texts(svg: &str) -> Vec<SvgText> {
    svg.split("<text ")
        .skip(1)
        .map(|chunk| {
            let tag = format!(" {}", &chunk[..chunk.find('>').unwrap()]);
            let body = &chunk[chunk.find('>').unwrap() + 1..chunk.find("</text>").unwrap()];
            SvgText {
                x: attr(&tag, "x").unwrap().parse().unwrap(),
                y: attr(&tag, "y").unwrap().parse().unwrap(),
                anchor: attr(&tag, "text-anchor").unwrap_or_default(),
                size: attr(&tag, "font-size").unwrap().parse().unwrap(),
                text: body.trim().to_string(),
            }
        })
        .collect()
}

/// The opening tags of every `<name …>` element.
fn elements<'a>(svg: &'a str, name: &str) -> Vec<&'a str> {
    svg.split(&format!("<{name} "))
        .skip(1)
        .map(|c| &c[..c.find('>').unwrap()])
        .collect()
}

fn svg_width(svg: &str) -> f64 {
    attr(&format!(" {}", &svg[..svg.find('>').unwrap()]), "width")
        .unwrap()
        .parse()
        .unwrap()
}

/// Runs scenario text with `sets` and writes its folder into `dir`.
fn run_into(dir: &Path, text: &str, sets: &[&str]) {
    let cfg = config(text, sets);
    let o = run(&cfg);
    write_run(dir, &o, &cfg, &Default::default()).unwrap();
}

/// Three DCs, 10 s of traffic (12 s with the drain, 1 s buckets): a drill
/// moves shard 0 to dc2 at 3 s, dc1 is down from 6 s to 9 s.
fn drill_and_outage(dir: &Path) {
    let extra = "[sharding]\nshards = 6\n\n[failover]\ndetect_after = \"1s\"\n\n\
        [[fault]]\nkind = \"switchover\"\nshards = \"0\"\nto = \"dc2\"\nat = \"3s\"\n\n\
        [[fault]]\nkind = \"dc_down\"\ndc = \"dc1\"\nat = \"6s\"\nfor = \"3s\"\n";
    run_into(
        dir,
        &mesh(3, 2000.0, "10s", extra),
        &["simulation.bucket=1s"],
    );
}

#[test]
fn a_drill_is_a_marked_instant_and_an_outage_a_named_interval() {
    let tmp = tempfile::tempdir().unwrap();
    drill_and_outage(tmp.path());
    let svg = fs::read_to_string(tmp.path().join("timeline.svg")).unwrap();
    let t = texts(&svg);
    let has = |s: &str| t.iter().any(|x| x.text == s);
    assert!(has("dc1 down (6–9 s)"), "the outage is named");
    assert!(
        has("switchover: 1 shards to dc2 (3 s)"),
        "the drill is named"
    );
    // One shaded interval per panel (4), the outage only: the drill and
    // the failback are not shaded.
    let shades: Vec<&str> = elements(&svg, "rect")
        .into_iter()
        .filter(|r| r.contains("fill=\"#E6503C\""))
        .collect();
    assert_eq!(shades.len(), 4, "{shades:?}");
    // The shade is 3 s wide: measured against the x axis' ticks 0 and 10.
    let tick_x = |v: &str| {
        t.iter()
            .filter(|x| x.text == v && x.anchor == "middle")
            .map(|x| x.x)
            .next()
            .unwrap_or_else(|| panic!("no x tick {v}"))
    };
    let px_per_s = (tick_x("10") - tick_x("0")) / 10.0;
    for r in &shades {
        let w: f64 = attr(&format!(" {r}"), "width").unwrap().parse().unwrap();
        assert!(
            (w - 3.0 * px_per_s).abs() <= 2.0,
            "shade {w}px, expected {}",
            3.0 * px_per_s
        );
    }
    // The drill (and the failback) are dashed purple lines.
    let dashes = elements(&svg, "polyline")
        .into_iter()
        .filter(|p| p.contains("stroke=\"#783CAA\""))
        .count();
    assert!(dashes >= 8, "drill marks: {dashes} dash pieces");
}

/// The numbers a tag at the top stands for: `3`, or `3–5`.
fn tag_numbers(text: &str) -> Option<std::ops::RangeInclusive<usize>> {
    let (a, b) = text.split_once('–').unwrap_or((text, text));
    Some(a.parse().ok()?..=b.parse().ok()?)
}

#[test]
fn every_mark_is_numbered_at_the_top_and_named_in_the_key() {
    // Twelve drills 40 ms apart from 1 s (under 4 px apart on a 10 s axis:
    // too close for a number each in three rows), then dc1 down from 6 s
    // to 8 s: thirteen marks, numbered in time order.
    let mut extra = String::from("[sharding]\nshards = 12\n\n");
    for i in 0..12 {
        extra += &format!(
            "[[fault]]\nkind = \"switchover\"\nshards = \"{i}\"\nto = \"dc2\"\nat = \"{}ms\"\n\n",
            1000 + 40 * i
        );
    }
    extra += "[[fault]]\nkind = \"dc_down\"\ndc = \"dc1\"\nat = \"6s\"\nfor = \"2s\"\n";
    let tmp = tempfile::tempdir().unwrap();
    run_into(
        tmp.path(),
        &mesh(3, 2000.0, "10s", &extra),
        &["simulation.bucket=1s"],
    );
    let svg = fs::read_to_string(tmp.path().join("timeline.svg")).unwrap();
    let t = texts(&svg);
    // The key, below the panels (1240 px high without it): a number and a
    // name with when on each line.
    let mut names: Vec<String> = [
        "1", "1.04", "1.08", "1.12", "1.16", "1.2", "1.24", "1.28", "1.32", "1.36", "1.4", "1.44",
    ]
    .iter()
    .map(|at| format!("switchover: 1 shards to dc2 ({at} s)"))
    .collect();
    names.push("dc1 down (6–8 s)".into());
    let key: Vec<(String, String)> = t
        .iter()
        .filter(|x| x.y > 1240.0 && x.anchor == "end")
        .map(|n| {
            let name = t
                .iter()
                .find(|x| x.y == n.y && x.anchor == "start" && x.x > n.x)
                .unwrap_or_else(|| panic!("number {} has no name", n.text));
            (n.text.clone(), name.text.clone())
        })
        .collect();
    let want: Vec<(String, String)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| ((i + 1).to_string(), n.clone()))
        .collect();
    assert_eq!(key, want);
    assert!(svg_width(&svg) >= 1400.0);
    // The numbers at the top: each mark's once, close ones sharing a tag
    // (`3–12`), no tag over another in its row.
    let mut tags: Vec<(&SvgText, std::ops::RangeInclusive<usize>)> = t
        .iter()
        .filter(|x| x.y < 1240.0 && x.anchor == "start")
        .filter_map(|x| Some((x, tag_numbers(&x.text)?)))
        .collect();
    let mut shown: Vec<usize> = tags.iter().flat_map(|(_, r)| r.clone()).collect();
    shown.sort_unstable();
    assert_eq!(shown, (1..=13).collect::<Vec<_>>(), "{tags:?}");
    assert!(tags.iter().any(|(_, r)| r.start() != r.end()), "{tags:?}");
    tags.sort_by(|a, b| (a.0.y, a.0.x).partial_cmp(&(b.0.y, b.0.x)).unwrap());
    for w in tags.windows(2) {
        let (a, b) = (w[0].0, w[1].0);
        if a.y == b.y {
            let width = a.text.chars().count() as f64 * 0.64 * a.size;
            assert!(b.x >= a.x + width, "`{}` over `{}`", a.text, b.text);
        }
    }
}

#[test]
fn each_dc_has_its_line_of_successes_and_errors() {
    let tmp = tempfile::tempdir().unwrap();
    drill_and_outage(tmp.path());
    let svg = fs::read_to_string(tmp.path().join("timeline.svg")).unwrap();
    let t = texts(&svg);
    for dc in ["dc0", "dc1", "dc2"] {
        // In the keys of the ok panel and of the errors panel.
        assert_eq!(t.iter().filter(|x| x.text == dc).count(), 2, "{dc}");
        assert!(
            t.iter()
                .any(|x| x.text == format!("oldest unapplied at {dc}"))
        );
    }
    // The data behind them: dc1 decides nothing while down, and the
    // errors of the outage's first second are dc1's own.
    let csv = fs::read_to_string(tmp.path().join("timeseries.csv")).unwrap();
    let cell = |t: &str, dc: &str, c: usize| -> u64 {
        csv.lines()
            .find(|l| l.starts_with(&format!("{t},{dc},")))
            .unwrap()
            .split(',')
            .nth(c)
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(cell("7.000", "dc1", 3), 0, "ok at dc1 while down");
    assert!(cell("6.000", "dc1", 4) > 0, "dc1 fails what it held");
    assert!(cell("7.000", "dc0", 3) > 0 && cell("7.000", "dc2", 3) > 0);
}

#[test]
fn a_link_cut_shows_the_backlog_age_rising_to_its_length_then_back_to_the_link_latency() {
    // Two DCs 5 ms apart; the link is cut from 10 s to 18 s (D = 8 s).
    // Writes flow both ways all along (600 writes/s), so at every bucket
    // close during the cut the oldest write each side lacks was written
    // when the cut began (give or take the few ms in flight then): its age
    // is close − 10 s. After the heal the backlog ships at once (no apply
    // rate), and the oldest unapplied write is at most one link latency old.
    let extra = "[[fault]]\nkind = \"link_down\"\nbetween = [\"dc0\", \"dc1\"]\nat = \"10s\"\nfor = \"8s\"\n";
    let cfg = config(&mesh(2, 2000.0, "30s", extra), &["simulation.bucket=1s"]);
    let o = run(&cfg);
    let m = &o.metrics;
    let age_s = |b: usize, d: usize| m.row(b, d).unapplied_age_ns as f64 / 1e9;
    for d in 0..2 {
        for b in 10..18 {
            let close = (b + 1) as f64;
            let age = age_s(b, d);
            assert!(
                (age - (close - 10.0)).abs() <= 0.01,
                "dc{d}, bucket {b}: age {age} s at {close} s"
            );
        }
        let after: Vec<f64> = (19..29).map(|b| age_s(b, d)).collect();
        assert!(after.iter().all(|a| *a <= 0.005 + 1e-9), "dc{d}: {after:?}");
        assert!(after.iter().any(|a| *a >= 0.003), "dc{d}: {after:?}");
        let before: Vec<f64> = (1..9).map(|b| age_s(b, d)).collect();
        assert!(
            before.iter().all(|a| *a <= 0.005 + 1e-9),
            "dc{d}: {before:?}"
        );
    }
    // The same numbers reach the CSV column the panel is drawn from.
    let tmp = tempfile::tempdir().unwrap();
    write_run(tmp.path(), &o, &cfg, &Default::default()).unwrap();
    let csv = fs::read_to_string(tmp.path().join("timeseries.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let c = header
        .iter()
        .position(|h| *h == "repl_unapplied_age_ms")
        .unwrap();
    let row = csv.lines().find(|l| l.starts_with("17.000,dc1,")).unwrap();
    let ms: f64 = row.split(',').nth(c).unwrap().parse().unwrap();
    assert!((ms - 8000.0).abs() <= 10.0, "{ms} ms at the end of the cut");
}

/// Whether a tick label has needless decimals (`20000.0`, `0.0`).
fn needless_decimals(s: &str) -> bool {
    s.parse::<f64>().is_ok() && s.contains('.') && s.ends_with('0')
}

#[test]
fn axes_have_no_needless_decimals_no_label_over_a_tick_and_keep_the_last_tick() {
    let tmp = tempfile::tempdir().unwrap();
    drill_and_outage(tmp.path());
    for stem in ["timeline", "latency"] {
        let svg = fs::read_to_string(tmp.path().join(format!("{stem}.svg"))).unwrap();
        let t = texts(&svg);
        let bad: Vec<&str> = t
            .iter()
            .map(|x| x.text.as_str())
            .filter(|s| needless_decimals(s))
            .collect();
        assert!(bad.is_empty(), "{stem}: {bad:?}");
        // Every label ends inside the picture (0.64 em per character is
        // DejaVu Sans' widest digit; centred labels extend half of it).
        let width = svg_width(&svg);
        for x in &t {
            let len = x.text.chars().count() as f64 * 0.64 * x.size;
            let right = match x.anchor.as_str() {
                "middle" => x.x + len / 2.0,
                "end" => x.x,
                _ => x.x + len,
            };
            assert!(
                right <= width + 1.0,
                "{stem}: `{}` cut at {right} > {width}",
                x.text
            );
        }
    }
    // The time axis' name sits below its tick labels, not over them.
    let svg = fs::read_to_string(tmp.path().join("timeline.svg")).unwrap();
    let t = texts(&svg);
    let desc = t.iter().find(|x| x.text == "time (s)").unwrap();
    let ticks_y = t
        .iter()
        .filter(|x| x.anchor == "middle" && x.text.parse::<f64>().is_ok() && x.y < desc.y)
        .map(|x| x.y)
        .fold(f64::MIN, f64::max);
    assert!(
        desc.y - ticks_y >= 12.0,
        "axis name at {} over ticks at {ticks_y}",
        desc.y
    );
}

#[test]
fn the_latency_plot_reaches_p9999_from_a_fine_quantile_list() {
    let tmp = tempfile::tempdir().unwrap();
    drill_and_outage(tmp.path());
    let csv = fs::read_to_string(tmp.path().join("latency.csv")).unwrap();
    for kind in ["read", "write"] {
        let qs: Vec<f64> = csv
            .lines()
            .filter(|l| l.starts_with(&format!("{kind},")))
            .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
            .collect();
        assert!(qs.len() >= 40, "{kind}: {} quantiles", qs.len());
        // About ten per decade of 1 − p between p99 and p99.99.
        assert!(qs.iter().filter(|q| **q > 0.99 && **q < 0.9999).count() >= 15);
        assert!(qs.contains(&0.9999));
    }
    let svg = fs::read_to_string(tmp.path().join("latency.svg")).unwrap();
    let t = texts(&svg);
    for tick in ["p90", "p99", "p99.9", "p99.99"] {
        assert!(t.iter().any(|x| x.text == tick), "no tick {tick}");
    }
    // Each curve is drawn through its points: 45 below p = 1 per kind.
    assert_eq!(elements(&svg, "circle").len(), 2 * 45);
}

#[test]
fn the_run_report_uses_the_scenario_spellings_and_sensible_precision() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["run", "eleme", "--out"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = fs::read_to_string(tmp.path().join("report.md")).unwrap();
    for spelled in [
        "`procedure = \"ban_then_switch\"`",
        "`resolve = \"lww\"`",
        "`entry = \"owner\"`",
        "`on_wrong_dc = \"forward\"`",
        "`key = \"geo\"`",
        "`decide_after = \"0s\"`",
        "`propagation = { dist = \"uniform\", min = \"100ms\", max = \"2s\" }`",
        "docs/metrics.md",
    ] {
        assert!(
            report.contains(spelled),
            "report lacks {spelled}:\n{report}"
        );
    }
    for rust in [
        "BanThenSwitch",
        "Lww",
        "Nearest",
        "0ns",
        concat!("DESIGN", ".md"),
        "../",
        "000000",
    ] {
        assert!(!report.contains(rust), "report holds {rust}:\n{report}");
    }
    // 20.000000 s is printed 20, 24.027954 s as 24.03.
    assert!(
        report.contains("| switchover | 20 shards to bj | 20 |"),
        "{report}"
    );
}

#[test]
fn plot_bounds_huge_values_and_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    drill_and_outage(tmp.path());
    let dir = tmp.path();
    for f in ["timeseries.csv", "latency.csv", "failures.csv"] {
        let text = fs::read_to_string(dir.join(f)).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        // A number in the second cell of every numeric column of row 2.
        let cells: Vec<String> = lines[2]
            .split(',')
            .map(|c| {
                if c.parse::<f64>().is_ok() {
                    "1.7e308".into()
                } else {
                    c.to_string()
                }
            })
            .collect();
        lines[2] = cells.join(",");
        fs::write(dir.join(f), lines.join("\n") + "\n").unwrap();
    }
    let mut child = Command::new(BIN)
        .arg("plot")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("plot still running after 60 s on a CSV holding 1.7e308");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("timeseries.csv") && err.contains("left out of the plots"),
        "{err}"
    );
    let svg = fs::read_to_string(dir.join("timeline.svg")).unwrap();
    assert!(!svg.contains("e308") && !svg.contains("inf"));
}

#[test]
fn sweep_plots_compare_availability_and_place_labels_beside_their_markers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    let mut c = Command::new(BIN);
    c.args(["sweep", "default", "--seeds", "1..2"])
        .args(["--vary", "failover.procedure=switch,ban_then_switch"])
        .args(["--vary", "routing.on_wrong_dc=forward,reject"])
        .arg("--out")
        .arg(&dir);
    for s in [
        "simulation.duration=6s",
        "simulation.drain=2s",
        "workload.rate=2000",
        "fault.0.at=1s",
        "fault.0.for=3s",
        "failover.detect_after=1s",
    ] {
        c.args(["--set", s]);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let compare = fs::read_to_string(dir.join("compare.svg")).unwrap();
    let t = texts(&compare);
    for title in [
        "availability (ok %)",
        "forwarded requests",
        "p50 latency (ms)",
    ] {
        assert!(t.iter().any(|x| x.text == title), "compare lacks {title}");
    }
    assert!(!t.iter().any(|x| needless_decimals(&x.text)));
    let svg = fs::read_to_string(dir.join("tradeoff.svg")).unwrap();
    let width = svg_width(&svg);
    let markers: Vec<(f64, f64)> = elements(&svg, "circle")
        .iter()
        .filter(|c| c.contains("fill=\"#0000FF\""))
        .map(|c| {
            let c = format!(" {c}");
            (
                attr(&c, "cx").unwrap().parse().unwrap(),
                attr(&c, "cy").unwrap().parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(markers.len(), 4);
    let labels: Vec<SvgText> = texts(&svg)
        .into_iter()
        .filter(|x| x.text.contains('='))
        .collect();
    assert_eq!(labels.len(), 4);
    for l in &labels {
        let (x0, x1) = (l.x, l.x + l.text.chars().count() as f64 * 0.64 * l.size);
        let (y0, y1) = (l.y, l.y + l.size);
        assert!(x1 <= width && x0 >= 0.0, "`{}` cut at the edge", l.text);
        for (mx, my) in &markers {
            let inside = *mx + 6.0 > x0 && *mx - 6.0 < x1 && *my + 6.0 > y0 && *my - 6.0 < y1;
            assert!(!inside, "`{}` on the marker at ({mx}, {my})", l.text);
        }
    }
    let report = fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(report.contains("availability_pct_mean") && report.contains("forwarded_mean"));
    assert!(
        !report.contains("000000") && !report.contains(concat!("DESIGN", ".md")),
        "{report}"
    );
}

#[test]
fn many_dcs_keep_the_panels_readable() {
    // Ten DCs, dc3 down for a second: the per-DC panels draw the seven
    // busiest DCs and sum the rest; the backlog panel draws the eight with
    // the oldest backlog, dc3 among them, and says how many it left out.
    let tmp = tempfile::tempdir().unwrap();
    let extra = "[[fault]]\nkind = \"dc_down\"\ndc = \"dc3\"\nat = \"1s\"\nfor = \"1s\"\n";
    run_into(
        tmp.path(),
        &mesh(10, 2000.0, "3s", extra),
        &["simulation.bucket=500ms"],
    );
    let svg = fs::read_to_string(tmp.path().join("timeline.svg")).unwrap();
    let t = texts(&svg);
    let has = |s: &str| t.iter().any(|x| x.text == s);
    assert!(has("3 other DCs"));
    assert!(has("(2 DCs with less backlog not drawn)"));
    assert!(has("oldest unapplied at dc3"));
}

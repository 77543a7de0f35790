//! `report.md`: a run's or a sweep's scenario in brief, its tables and its
//! plots, ready to paste into a design review.

use std::fmt::Write as _;
use std::path::Path;

use super::plot::{COMPARED, read_table};
use crate::scenario::{Config, Dist, FaultKind, Placement};
use crate::sweep::Plan;
use crate::time::format_duration;

fn dist(d: &Dist) -> String {
    match d.as_const() {
        Some(v) => format_duration(v as i64),
        None => format!("median {}", format_duration(d.median() as i64)),
    }
}

/// The scenario in a few lines.
fn brief(c: &Config) -> String {
    let name = |d: crate::ids::DcId| c.datacenters[d.idx()].name.as_str();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "- **Datacenters**: {}",
        c.datacenters
            .iter()
            .map(|d| format!(
                "{} ({}, {} servers)",
                d.name,
                d.region,
                d.servers.map_or("unlimited".into(), |n| n.to_string())
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        s,
        "- **Links** (one way): {}",
        c.links
            .iter()
            .map(|l| format!("{}–{} {}", name(l.a), name(l.b), dist(&l.latency)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        s,
        "- **Users**: {}",
        c.regions
            .iter()
            .map(|r| format!("{} {:.0}%", r.name, r.share * 100.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let w = &c.workload;
    let _ = writeln!(
        s,
        "- **Workload**: {} users, {} requests/s for {}, {:.0}% writes, {:.0}% on global data",
        w.keys,
        w.rate,
        format_duration(c.duration as i64),
        w.writes * 100.0,
        w.global * 100.0
    );
    let placement = match &c.sharding.placement {
        Placement::RoundRobin => "round robin".to_string(),
        Placement::ByRegion => "by region".to_string(),
        Placement::Table(_) => "explicit table".to_string(),
    };
    let _ = writeln!(
        s,
        "- **Sharding and routing**: {:?} key, {} shards placed {placement}; entry {:?}, wrong DC: {:?}, write guard {}, rule propagation {}; global data written at {}",
        c.sharding.key,
        c.sharding.shards,
        c.routing.entry,
        c.routing.on_wrong_dc,
        if c.routing.write_guard { "on" } else { "off" },
        dist(&c.routing.propagation),
        name(c.sharding.global_owner)
    );
    let _ = writeln!(
        s,
        "- **Replication**: {} ({:?} resolution{})",
        c.replication.mode,
        c.replication.resolve,
        c.replication
            .apply_rate
            .map_or(String::new(), |r| format!(", {r} writes/s per stream"))
    );
    let f = &c.failover;
    let _ = writeln!(
        s,
        "- **Failover**: {:?} after detection in {} + decision in {}{}{}",
        f.procedure,
        format_duration(f.detect_after as i64),
        format_duration(f.decide_after as i64),
        if f.auto {
            ""
        } else {
            " (manual: only scenario moves)"
        },
        if f.failback { ", with failback" } else { "" }
    );
    for fault in &c.faults {
        let what = match &fault.kind {
            FaultKind::DcDown { dc } => format!("{} down", name(*dc)),
            FaultKind::LinkDown { a, b } => format!("link {}–{} down", name(*a), name(*b)),
            FaultKind::Partition { groups } => format!(
                "partition {}",
                groups
                    .iter()
                    .map(|g| g.iter().map(|d| name(*d)).collect::<Vec<_>>().join("+"))
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
            FaultKind::SlowLink { a, b, factor } => {
                format!("link {}–{} {factor}× slower", name(*a), name(*b))
            }
            FaultKind::ReplicationStall { from, to } => {
                format!("replication {}→{} stalled", name(*from), name(*to))
            }
            FaultKind::ClockJump { dc, by } => {
                format!("{}'s clock jumps {}", name(*dc), format_duration(*by))
            }
            FaultKind::Switchover { shards, to } => {
                format!("switchover of {} shards to {}", shards.len(), name(*to))
            }
        };
        let _ = writeln!(
            s,
            "- **Fault**: {what} at {}{}",
            format_duration(fault.at as i64),
            fault.duration.map_or(String::new(), |d| format!(
                " for {}",
                format_duration(d as i64)
            ))
        );
    }
    s
}

/// A CSV file as a Markdown table (selected columns, or all).
fn table(path: &Path, columns: Option<&[&str]>) -> String {
    let Ok((h, rows)) = read_table(path) else {
        return format!("_({} missing)_\n", path.display());
    };
    let idx: Vec<usize> = match columns {
        Some(cs) => cs
            .iter()
            .filter_map(|c| h.iter().position(|x| x == c))
            .collect(),
        None => (0..h.len()).collect(),
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| {} |",
        idx.iter()
            .map(|&i| h[i].as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(
        s,
        "|{}|",
        idx.iter().map(|_| "---").collect::<Vec<_>>().join("|")
    );
    for r in &rows {
        let _ = writeln!(
            s,
            "| {} |",
            idx.iter()
                .map(|&i| r[i].as_str())
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    if rows.is_empty() {
        s.push_str("\n_(none)_\n");
    }
    s
}

/// The run's headline columns: `summary.csv` from `requests` to `repl_lag_p99_ms`.
fn headline() -> &'static [&'static str] {
    let cols = super::SUMMARY_COLUMNS;
    let from = cols
        .iter()
        .position(|c| *c == "requests")
        .expect("a summary column");
    let to = cols
        .iter()
        .position(|c| *c == "repl_lag_p99_ms")
        .expect("a summary column");
    &cols[from..=to]
}

/// Utilisation pinned this close to 1 means the servers never rested: the
/// load was more than they could carry.
const SATURATED: f64 = 0.98;

/// Whether the survivors of each failure that moved shards carried the
/// load: each DC's mean utilisation from the switch to the fault's end (or
/// the end of traffic), from `timeseries.csv`, and the requests refused
/// meanwhile; with `check`'s capacity warnings first.
fn carried(dir: &Path, cfg: &Config) -> String {
    let mut s = String::new();
    for w in crate::scenario::capacity::warnings(cfg) {
        let _ = writeln!(s, "- **Warning** (`multiactive check`): {w}");
    }
    let mut spans = losses(dir, cfg);
    if spans.is_empty() {
        s.push_str("_(no DC loss moved shards)_\n");
        return s;
    }
    // The time series can be long (a row per bucket and DC): streamed, one
    // record at a time.
    let Ok(mut r) = csv::Reader::from_path(dir.join("timeseries.csv")) else {
        return s;
    };
    let Ok(h) = r.headers().cloned() else {
        return s;
    };
    let col = |c: &str| h.iter().position(|x| x == c);
    let (Some(t), Some(dc), Some(util), Some(rejected)) =
        (col("t_s"), col("dc"), col("utilisation"), col("rejected"))
    else {
        return s;
    };
    let mut rec = csv::StringRecord::new();
    while r.read_record(&mut rec).unwrap_or(false) {
        let Ok(at) = rec[t].parse::<f64>() else {
            continue;
        };
        for l in spans.iter_mut() {
            if at < l.from || at >= l.to || rec[dc] == l.dead {
                continue;
            }
            l.refused += rec[rejected].parse::<u64>().unwrap_or(0);
            let Ok(u) = rec[util].parse::<f64>() else {
                continue;
            };
            match l.per_dc.iter_mut().find(|(n, _, _)| *n == rec[dc]) {
                Some(e) => {
                    e.1 += u;
                    e.2 += 1;
                }
                None => l.per_dc.push((rec[dc].to_string(), u, 1)),
            }
        }
    }
    for l in &spans {
        let (what, from, to) = (&l.dead, l.from, l.to);
        if l.per_dc.is_empty() {
            let _ = writeln!(
                s,
                "- After the switch of dc_down {what} at {from} s: the survivors have unlimited servers (no capacity limit); {} requests refused meanwhile.",
                l.refused
            );
            continue;
        }
        let means: Vec<String> = l
            .per_dc
            .iter()
            .map(|(n, u, k)| format!("{n} {:.2}", u / *k as f64))
            .collect();
        let over: Vec<&str> = l
            .per_dc
            .iter()
            .filter(|(_, u, k)| u / *k as f64 >= SATURATED)
            .map(|(n, _, _)| n.as_str())
            .collect();
        let verdict = if over.is_empty() {
            "the survivors carried the load".to_string()
        } else {
            format!(
                "the survivors did **not** carry the load ({} saturated: queues grew and full waiting rooms refused requests)",
                over.join(", ")
            )
        };
        let _ = writeln!(
            s,
            "- After the switch of dc_down {what} at {from} s, to {to} s: {verdict}. Mean utilisation: {}; {} requests refused meanwhile (full waiting rooms, routers and write guards).",
            means.join(", "),
            l.refused
        );
    }
    s
}

/// A DC loss that moved shards, and what the survivors did after.
struct Loss {
    dead: String,
    from: f64,
    to: f64,
    /// (DC, summed utilisation, buckets).
    per_dc: Vec<(String, f64, usize)>,
    refused: u64,
}

/// The `dc_down` rows of `failures.csv` that switched: from the switch to
/// the fault's end, or the end of traffic.
fn losses(dir: &Path, cfg: &Config) -> Vec<Loss> {
    let Ok((fh, failures)) = read_table(&dir.join("failures.csv")) else {
        return Vec::new();
    };
    let col = |c: &str| fh.iter().position(|x| x == c);
    let (Some(kind), Some(target), Some(switched), Some(end)) =
        (col("kind"), col("target"), col("switched_s"), col("end_s"))
    else {
        return Vec::new();
    };
    let traffic_end = cfg.duration as f64 / 1e9;
    failures
        .iter()
        .filter(|f| f[kind] == "dc_down")
        .filter_map(|f| {
            let from = f[switched].parse::<f64>().ok()?;
            let to = f[end]
                .parse::<f64>()
                .unwrap_or(traffic_end)
                .min(traffic_end);
            Some(Loss {
                dead: f[target].clone(),
                from,
                to,
                per_dc: Vec::new(),
                refused: 0,
            })
        })
        .collect()
}

/// Writes `report.md` of a run folder; `summary` is its `summary.csv` row.
pub fn run_report(dir: &Path, cfg: &Config, summary: &[String]) -> std::io::Result<()> {
    let mut s = String::new();
    let _ = writeln!(s, "# {} — seed {}\n", cfg.name, cfg.seed);
    let _ = writeln!(s, "## Scenario\n\n{}", brief(cfg));
    let pick: Vec<usize> = headline()
        .iter()
        .filter_map(|c| super::SUMMARY_COLUMNS.iter().position(|x| x == c))
        .collect();
    let _ = writeln!(s, "## Results\n");
    let _ = writeln!(
        s,
        "| {} |",
        pick.iter()
            .map(|&i| super::SUMMARY_COLUMNS[i])
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(
        s,
        "|{}|",
        pick.iter().map(|_| "---").collect::<Vec<_>>().join("|")
    );
    let _ = writeln!(
        s,
        "| {} |\n",
        pick.iter()
            .map(|&i| summary[i].as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(
        s,
        "## Failures\n\n{}",
        table(&dir.join("failures.csv"), None)
    );
    let _ = writeln!(s, "## Capacity\n\n{}", carried(dir, cfg));
    let _ = writeln!(s, "## Datacenters\n\n{}", table(&dir.join("dcs.csv"), None));
    let _ = writeln!(
        s,
        "## Replication streams\n\n{}",
        table(&dir.join("streams.csv"), None)
    );
    s.push_str("## Plots\n\n![timeline](timeline.svg)\n\n![latency](latency.svg)\n\n");
    s.push_str("Metric meanings: docs/metrics.md; columns: docs/outputs.md (in the multiactive repository).\n");
    super::write_atomic(dir, "report.md", s.as_bytes()).map(|_| ())
}

/// Writes `report.md` of a sweep folder.
pub fn sweep_report(dir: &Path, plan: &Plan) -> std::io::Result<()> {
    let mut s = String::new();
    let _ = writeln!(s, "# Sweep of {}\n", plan.scenario);
    if !plan.sets.is_empty() {
        let _ = writeln!(s, "- **Fixed**: {}", plan.sets.join(", "));
    }
    for v in &plan.vary {
        let _ = writeln!(s, "- **Varied** `{}`: {}", v.key, v.values.join(", "));
    }
    let _ = writeln!(s, "- **Seeds**: {} to {}\n", plan.seeds[0], plan.seeds[1]);
    let mut cols: Vec<String> = plan.vary.iter().map(|v| v.key.clone()).collect();
    cols.push("runs".into());
    for (k, _) in COMPARED {
        cols.push(format!("{k}_mean"));
        cols.push(format!("{k}_ci95"));
    }
    let refs: Vec<&str> = cols.iter().map(String::as_str).collect();
    let _ = writeln!(
        s,
        "## Mean and 95% interval over seeds\n\n{}",
        table(&dir.join("aggregate.csv"), Some(&refs))
    );
    s.push_str("Every run's own files and report are under `runs/`; `summary.csv` has one row per run, `aggregate.csv` every metric.\n\n");
    s.push_str("## Plots\n\n![compare](compare.svg)\n\n![tradeoff](tradeoff.svg)\n");
    super::write_atomic(dir, "report.md", s.as_bytes()).map(|_| ())
}

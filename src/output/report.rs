//! `report.md`: a run's or a sweep's scenario in brief, its tables and its
//! plots, ready to paste into a design review. Settings are written as the
//! scenario file spells them (`procedure = "ban_then_switch"`), so a reader
//! can copy them into a file; numbers in tables get the precision they
//! deserve (`22`, not `22.000000`).

use std::fmt::Write as _;
use std::path::Path;

use super::plot::{COMPARED, read_table, sweep_stats};
use crate::scenario::{
    Config, Dist, Entry, FailoverTarget, FaultKind, GlobalReads, OnWrongDc, Placement, Procedure,
    Resolve, ShardKey,
};
use crate::sweep::Plan;
use crate::time::format_duration;

/// Where a reader finds what each metric and column means.
pub const MEANINGS: &str = "docs/metrics.md";

// The scenario's spellings of its enums: each enum's one name table.
fn shard_key(k: ShardKey) -> &'static str {
    k.name()
}
fn entry(e: Entry) -> &'static str {
    e.name()
}
fn on_wrong_dc(o: OnWrongDc) -> &'static str {
    o.name()
}
fn resolve(r: Resolve) -> &'static str {
    r.name()
}
fn procedure(p: Procedure) -> &'static str {
    p.name()
}
fn global_reads(g: GlobalReads) -> &'static str {
    g.name()
}

/// A duration as a scenario writes it, quoted: `"1.5s"`, `"0s"`.
fn dur(ns: u64) -> String {
    if ns == 0 {
        "\"0s\"".into()
    } else {
        format!("\"{}\"", format_duration(ns.min(i64::MAX as u64) as i64))
    }
}

/// A distribution as a scenario writes it: `"14ms"` or an inline table.
fn dist(d: &Dist) -> String {
    match d {
        Dist::Const(v) => dur(*v),
        Dist::Uniform { min, max } => {
            format!(
                "{{ dist = \"uniform\", min = {}, max = {} }}",
                dur(*min),
                dur(*max)
            )
        }
        Dist::Exp { mean, .. } => format!("{{ dist = \"exp\", mean = {} }}", dur(*mean)),
        Dist::Normal { mean, sd, .. } => {
            format!(
                "{{ dist = \"normal\", mean = {}, sd = {} }}",
                dur(*mean),
                dur(*sd)
            )
        }
        Dist::LogNormal { median, p99, .. } => format!(
            "{{ dist = \"lognormal\", median = {}, p99 = {} }}",
            dur(*median),
            dur(*p99)
        ),
        Dist::Pareto { scale, shape, .. } => {
            format!(
                "{{ dist = \"pareto\", scale = {}, shape = {shape} }}",
                dur(*scale)
            )
        }
        Dist::Empirical(points) => format!(
            "{{ dist = \"empirical\", points = [{}] }}",
            points
                .iter()
                .map(|p| dur(*p))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `key = value` in code style.
fn kv(key: &str, value: impl std::fmt::Display) -> String {
    format!("`{key} = {value}`")
}

/// A text value quoted as in the scenario file.
fn q(s: &str) -> String {
    format!("{s:?}")
}

/// The scenario in a few lines, in the scenario file's own spellings.
fn brief(c: &Config) -> String {
    let name = |d: crate::ids::DcId| c.datacenters[d.idx()].name.as_str();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "- **Simulation**: {}, {}, {}",
        kv("duration", dur(c.duration)),
        kv("drain", dur(c.drain)),
        kv("bucket", dur(c.bucket))
    );
    let dcs: Vec<String> = c
        .datacenters
        .iter()
        .map(|d| {
            format!(
                "{} (region {}, {})",
                d.name,
                d.region,
                d.servers
                    .map_or("unlimited servers".into(), |n| format!("{n} servers"))
            )
        })
        .collect();
    let _ = writeln!(s, "- **Datacenters**: {}", dcs.join(", "));
    let links: Vec<String> = c
        .links
        .iter()
        .map(|l| format!("{}–{} `{}`", name(l.a), name(l.b), dist(&l.latency)))
        .collect();
    let _ = writeln!(s, "- **Links** (one way): {}", links.join(", "));
    let users: Vec<String> = c
        .regions
        .iter()
        .map(|r| format!("{} {}%", r.name, fmt_sig(r.share * 100.0, 3)))
        .collect();
    let _ = writeln!(s, "- **Users**: {}", users.join(", "));
    let w = &c.workload;
    let _ = writeln!(
        s,
        "- **Workload**: {}, {} (requests/s), {}, {}",
        kv("keys", w.keys),
        kv("rate", w.rate),
        kv("writes", w.writes),
        kv("global", w.global)
    );
    let placement = match &c.sharding.placement {
        Placement::RoundRobin => kv("placement", q("round_robin")),
        Placement::ByRegion => kv("placement", q("by_region")),
        Placement::Table(_) => "an explicit placement table".to_string(),
    };
    let _ = writeln!(
        s,
        "- **Sharding**: {}, {}, {placement}, {}, {}",
        kv("key", q(shard_key(c.sharding.key))),
        kv("shards", c.sharding.shards),
        kv("global_owner", q(name(c.sharding.global_owner))),
        kv("global_reads", q(global_reads(c.sharding.global_reads)))
    );
    let r = &c.routing;
    let _ = writeln!(
        s,
        "- **Routing**: {}, {}, {}, {}",
        kv("entry", q(entry(r.entry))),
        kv("on_wrong_dc", q(on_wrong_dc(r.on_wrong_dc))),
        kv("write_guard", r.write_guard),
        kv("propagation", dist(&r.propagation))
    );
    let p = &c.replication;
    // `delay` and `max_lag` show only when set: the line of a scenario
    // without them is as before.
    let delay = if p.delay > 0 {
        format!(", {}", kv("delay", dur(p.delay)))
    } else {
        String::new()
    };
    let max_lag = p
        .max_lag
        .map_or(String::new(), |l| format!(", {}", kv("max_lag", dur(l))));
    let _ = writeln!(
        s,
        "- **Replication**: {}, {}, {}{}{delay}{max_lag}",
        kv("mode", q(&p.mode.to_string())),
        kv("resolve", q(resolve(p.resolve))),
        kv("ack_timeout", dur(p.ack_timeout)),
        p.apply_rate
            .map_or(" (apply rate unlimited)".into(), |a| format!(
                ", {}",
                kv("apply_rate", a)
            ))
    );
    let f = &c.failover;
    let target = match f.target {
        FailoverTarget::Nearest => q("nearest"),
        FailoverTarget::Dc(d) => q(name(d)),
    };
    let _ = writeln!(
        s,
        "- **Failover**: {}, {}, {}, {}, {}, {}, {}",
        kv("auto", f.auto),
        kv("procedure", q(procedure(f.procedure))),
        kv("detect_after", dur(f.detect_after)),
        kv("decide_after", dur(f.decide_after)),
        kv("max_ban", dur(f.max_ban)),
        kv("target", target),
        kv("failback", f.failback)
    );
    for fault in &c.faults {
        let what = match &fault.kind {
            FaultKind::DcDown { dc } => kv("dc", q(name(*dc))),
            FaultKind::LinkDown { a, b } => {
                kv("between", format!("[{}, {}]", q(name(*a)), q(name(*b))))
            }
            FaultKind::Partition { groups } => kv(
                "groups",
                format!(
                    "[{}]",
                    groups
                        .iter()
                        .map(|g| format!(
                            "[{}]",
                            g.iter().map(|d| q(name(*d))).collect::<Vec<_>>().join(", ")
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            FaultKind::SlowLink { a, b, factor } => format!(
                "{}, {}",
                kv("between", format!("[{}, {}]", q(name(*a)), q(name(*b)))),
                kv("factor", factor)
            ),
            FaultKind::ReplicationStall { from, to } => {
                format!("{}, {}", kv("from", q(name(*from))), kv("to", q(name(*to))))
            }
            FaultKind::ClockJump { dc, by } => {
                let by = if *by == 0 {
                    "\"0s\"".into()
                } else {
                    format!("\"{}\"", format_duration(*by))
                };
                format!("{}, {}", kv("dc", q(name(*dc))), kv("by", by))
            }
            FaultKind::Switchover { shards, to } => {
                format!("{} shards, {}", shards.len(), kv("to", q(name(*to))))
            }
            FaultKind::PushFailure { dc } => format!("rule pushes to {} fail", name(*dc)),
        };
        let _ = writeln!(
            s,
            "- **Fault** `{}`: {what}, {}{}",
            fault.kind.name(),
            kv("at", dur(fault.at)),
            fault
                .duration
                .map_or(String::new(), |d| format!(", {}", kv("for", dur(d))))
        );
    }
    s
}

/// A Markdown table of `header` and `rows`, numbers shown by `cell`, text
/// escaped so that it cannot break the table.
fn markdown(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| {} |",
        header
            .iter()
            .map(|h| escape(h))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(
        s,
        "|{}|",
        header.iter().map(|_| "---").collect::<Vec<_>>().join("|")
    );
    for r in rows {
        let cells: Vec<String> = header.iter().zip(r).map(|(h, v)| cell(h, v)).collect();
        let _ = writeln!(s, "| {} |", cells.join(" | "));
    }
    if rows.is_empty() {
        s.push_str("\n_(none)_\n");
    }
    s
}

/// A value made safe for a Markdown table cell: control characters
/// escaped (a name with a newline stays on one line), `\` and `|` escaped.
fn escape(s: &str) -> String {
    crate::scenario::load::escape(&s.replace('\\', "\\\\")).replace('|', "\\|")
}

/// `x` with `sig` significant digits, trailing zeros dropped; integers
/// as integers (`22`, not `22.000000`).
pub fn fmt_sig(x: f64, sig: i32) -> String {
    if !x.is_finite() {
        return String::new();
    }
    if x.abs() >= 1e15 {
        return format!("{x:.prec$e}", prec = (sig - 1).max(0) as usize);
    }
    if (x - x.round()).abs() <= 1e-9 * x.abs().max(1.0) {
        return format!("{}", x.round() as i64);
    }
    let e = x.abs().log10().floor() as i32;
    let decimals = (sig - 1 - e).clamp(0, 12) as usize;
    let s = format!("{x:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    if s == "-0" { "0".into() } else { s.to_string() }
}

/// A table cell: a number with the precision it deserves (integers as
/// integers, 4 significant digits, 2 for a 95% interval), text as is.
pub fn cell(column: &str, v: &str) -> String {
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() && !v.is_empty() && !column.ends_with("seed") => {
            fmt_sig(x, if column.ends_with("_ci95") { 2 } else { 4 })
        }
        _ => escape(v),
    }
}

/// A CSV file as a Markdown table (selected columns, or all).
fn table(path: &Path, columns: Option<&[&str]>) -> String {
    let Ok((h, rows)) = read_table(path) else {
        return format!(
            "_({} missing)_\n",
            path.file_name()
                .map_or("a file".into(), |f| f.to_string_lossy())
        );
    };
    let idx: Vec<usize> = match columns {
        Some(cs) => cs
            .iter()
            .filter_map(|c| h.iter().position(|x| x == c))
            .collect(),
        None => (0..h.len()).collect(),
    };
    let header: Vec<&str> = idx.iter().map(|&i| h[i].as_str()).collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| idx.iter().map(|&i| r[i].clone()).collect())
        .collect();
    markdown(&header, &rows)
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

/// Writes `report.md` of a run folder; `summary` is its `summary.csv` row,
/// `notes` markdown about its overrides and warnings ("" for none).
pub fn run_report(
    dir: &Path,
    cfg: &Config,
    summary: &[String],
    notes: &str,
) -> std::io::Result<()> {
    let mut s = String::new();
    let _ = writeln!(s, "# {} — seed {}\n", escape(&cfg.name), cfg.seed);
    let _ = writeln!(s, "## Scenario\n\n{}", brief(cfg));
    s.push_str(notes);
    let pick: Vec<usize> = headline()
        .iter()
        .filter_map(|c| super::SUMMARY_COLUMNS.iter().position(|x| x == c))
        .collect();
    let header: Vec<&str> = pick.iter().map(|&i| super::SUMMARY_COLUMNS[i]).collect();
    let row: Vec<String> = pick.iter().map(|&i| summary[i].clone()).collect();
    let _ = writeln!(s, "## Results\n\n{}", markdown(&header, &[row]));
    s.push_str(&super::expectations::report_section(dir));
    let _ = writeln!(
        s,
        "## Failures\n\n{}",
        table(&dir.join("failures.csv"), None)
    );
    let _ = writeln!(s, "## Capacity\n\n{}", super::carried::section(dir, cfg));
    let _ = writeln!(s, "## Datacenters\n\n{}", table(&dir.join("dcs.csv"), None));
    let _ = writeln!(
        s,
        "## Replication streams\n\n{}",
        table(&dir.join("streams.csv"), None)
    );
    s.push_str("## Plots\n\n![timeline](timeline.svg)\n\n![latency](latency.svg)\n\n");
    let _ = writeln!(
        s,
        "What each metric and column means: {MEANINGS} in the multiactive repository."
    );
    super::write_atomic(dir, "report.md", s.as_bytes()).map(|_| ())
}

/// Writes `report.md` of a sweep folder.
pub fn sweep_report(dir: &Path, plan: &Plan) -> std::io::Result<()> {
    let mut s = String::new();
    let _ = writeln!(s, "# Sweep of {}\n", escape(&plan.scenario));
    if !plan.sets.is_empty() {
        let _ = writeln!(
            s,
            "- **Fixed**: {}",
            plan.sets
                .iter()
                .map(|x| format!("`{x}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for v in &plan.vary {
        let _ = writeln!(
            s,
            "- **Varied** `{}`: {}",
            v.key,
            v.values
                .iter()
                .map(|x| format!("`{x}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let _ = writeln!(s, "- **Seeds**: {} to {}\n", plan.seeds[0], plan.seeds[1]);
    match sweep_stats(dir) {
        Ok(st) => {
            let mut header: Vec<String> = st.keys.clone();
            header.push("runs".into());
            for (k, _) in COMPARED {
                header.push(format!("{k}_mean"));
                header.push(format!("{k}_ci95"));
            }
            let rows: Vec<Vec<String>> = (0..st.combos.len())
                .map(|i| {
                    let mut r = st.combos[i].clone();
                    r.push(st.runs[i].clone());
                    for m in &st.metrics {
                        let (mean, ci) = m[i];
                        r.push(if mean.is_finite() {
                            mean.to_string()
                        } else {
                            String::new()
                        });
                        r.push(if mean.is_finite() {
                            ci.to_string()
                        } else {
                            String::new()
                        });
                    }
                    r
                })
                .collect();
            let refs: Vec<&str> = header.iter().map(String::as_str).collect();
            let _ = writeln!(
                s,
                "## Mean and 95% interval over seeds\n\n{}",
                markdown(&refs, &rows)
            );
        }
        Err(e) => {
            let _ = writeln!(
                s,
                "_(aggregate.csv unreadable: {})_\n",
                escape(&e.to_string())
            );
        }
    }
    s.push_str("`availability_pct` is 100 · ok / requests of each run. Every run's own files and report are under `runs/`; `summary.csv` has one row per run, `aggregate.csv` every metric.\n\n");
    s.push_str(&super::expectations::sweep_section(dir));
    s.push_str("## Plots\n\n![compare](compare.svg)\n\n![tradeoff](tradeoff.svg)\n\n");
    let _ = writeln!(
        s,
        "What each metric and column means: {MEANINGS} in the multiactive repository."
    );
    super::write_atomic(dir, "report.md", s.as_bytes()).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_get_the_precision_they_deserve() {
        assert_eq!(fmt_sig(22.0, 4), "22");
        assert_eq!(fmt_sig(24.027954, 4), "24.03");
        assert_eq!(fmt_sig(0.014134, 4), "0.01413");
        assert_eq!(fmt_sig(28487.713, 4), "28488");
        assert_eq!(fmt_sig(0.5, 2), "0.5");
        assert_eq!(fmt_sig(21.99999, 4), "22");
        assert_eq!(fmt_sig(1.7e308, 4), "1.700e308");
        assert_eq!(cell("rto_s", "20.000000"), "20");
        assert_eq!(cell("conflicts_ci95", "1.234567"), "1.2");
        assert_eq!(cell("target", "a|b"), "a\\|b");
        assert_eq!(dur(0), "\"0s\"");
    }
}

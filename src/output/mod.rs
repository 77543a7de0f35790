//! Files a run leaves behind. Every file is written to a temporary name in
//! the output folder and renamed into place, so a reader sees it complete or
//! not at all. Numbers are formatted with fixed decimals: the same outcome
//! gives the same bytes.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

pub mod plot;
pub mod report;

use crate::metrics::{FailureRecord, Kind, Outcome};
use crate::scenario::Config;
use crate::time::{self, NS_PER_S};

/// Columns of `summary.csv`, in order (documented in docs/outputs.md).
pub const SUMMARY_COLUMNS: &[&str] = &[
    "scenario",
    "seed",
    "requests",
    "ok",
    "failed",
    "rejected",
    "misrouted",
    "forwarded",
    "conflicts",
    "lost_writes",
    "divergent_keys",
    "stale_reads",
    "rpo_s",
    "rpo_writes",
    "rto_s",
    "p50_ms",
    "p99_ms",
    "p999_ms",
    "repl_lag_p99_ms",
    "repl_lag_max_ms",
    "events",
    "read_p50_ms",
    "read_p99_ms",
    "read_p999_ms",
    "write_p50_ms",
    "write_p99_ms",
    "write_p999_ms",
    "in_flight_at_end",
    "queue_full",
    "guard_rejected",
    "unreachable",
    "ack_timeouts",
    "replicated",
    "misrouted_writes",
    "unrecovered_shards",
    "semi_sync_fallbacks",
    "invariant_violations",
    "redirected",
    "edge_corrected",
    "no_leader",
    "push_failures",
    "push_rollbacks",
];

pub const LATENCY_COLUMNS: &[&str] = &["kind", "quantile", "latency_ms"];

/// Quantiles of each kind's latency, for the CDF plot and notebooks.
const QUANTILES: &[f64] = &[
    0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999,
    1.0,
];

fn latency_rows(o: &Outcome) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for k in Kind::ALL {
        let h = &o.metrics.latency[k as usize];
        if h.is_empty() {
            continue;
        }
        for &q in QUANTILES {
            rows.push(vec![
                k.name().to_string(),
                format!("{q}"),
                ms3(h.value_at_quantile(q)),
            ]);
        }
    }
    rows
}

pub const FAILURES_COLUMNS: &[&str] = &[
    "kind",
    "target",
    "start_s",
    "end_s",
    "detected_s",
    "switched_s",
    "affected_shards",
    "rpo_s",
    "rpo_writes",
    "rto_s",
    "moved_to",
    "shards_without_writes",
    "unrecovered_shards",
    "ban_timed_out",
];

pub const TIMESERIES_COLUMNS: &[&str] = &[
    "t_s",
    "dc",
    "requests",
    "ok",
    "failed",
    "rejected",
    "misrouted",
    "conflicts",
    "repl_lag_p99_ms",
    "utilisation",
    "forwarded",
    "redirected",
    "edge_corrected",
];

pub const DCS_COLUMNS: &[&str] = &[
    "dc",
    "servers",
    "served",
    "ok",
    "rejected",
    "misrouted",
    "utilisation",
    "reads",
    "stale_reads",
];

pub const STREAMS_COLUMNS: &[&str] = &[
    "from",
    "to",
    "applied",
    "lag_p50_ms",
    "lag_p99_ms",
    "lag_max_ms",
];

pub const PERF_COLUMNS: &[&str] = &[
    "scenario",
    "seed",
    "wall_s",
    "events",
    "events_per_s",
    "requests",
    "requests_per_s",
    "simulated_s",
    "peak_rss_mb",
];

fn ms3(ns: u64) -> String {
    format!("{:.3}", time::ms(ns))
}

/// A latency quantile in milliseconds ("" when nothing was recorded).
fn quantile_ms(h: &hdrhistogram::Histogram<u64>, q: f64) -> String {
    if h.is_empty() {
        String::new()
    } else {
        ms3(h.value_at_quantile(q))
    }
}

/// The `summary.csv` row of a run, as strings in `SUMMARY_COLUMNS` order.
pub fn summary_row(o: &Outcome) -> Vec<String> {
    let m = &o.metrics;
    let t = &m.totals;
    let all = m.latency_all();
    let kind = |k: Kind| &o.metrics.latency[k as usize];
    let mut row = vec![
        o.scenario.clone(),
        o.seed.to_string(),
        t.requests.to_string(),
        t.ok.to_string(),
        t.failed.to_string(),
        t.rejected.to_string(),
        t.misrouted.to_string(),
        t.forwarded.to_string(),
        t.conflicts.to_string(),
        t.lost_writes.to_string(),
        t.divergent_keys.to_string(),
        t.stale_reads.to_string(),
        opt_secs(worst(&m.failures, |f| f.rpo_ns())),
        m.failures
            .iter()
            .map(|f| f.rpo_writes)
            .max()
            .unwrap_or(0)
            .to_string(),
        opt_secs(worst(&m.failures, |f| f.rto().0)),
        quantile_ms(&all, 0.50),
        quantile_ms(&all, 0.99),
        quantile_ms(&all, 0.999),
        quantile_ms(&m.lag_all, 0.99),
        if m.lag_all.is_empty() {
            String::new()
        } else {
            ms3(m.lag_all.max())
        },
        o.events.to_string(),
    ];
    for k in Kind::ALL {
        for q in [0.50, 0.99, 0.999] {
            row.push(quantile_ms(kind(k), q));
        }
    }
    row.push(t.in_flight_at_end.to_string());
    row.push(t.queue_full.to_string());
    row.push(t.guard_rejected.to_string());
    row.push(t.unreachable.to_string());
    row.push(t.ack_timeouts.to_string());
    row.push(t.replicated.to_string());
    row.push(t.misrouted_writes.to_string());
    row.push(
        m.failures
            .iter()
            .map(|f| f.rto().2)
            .sum::<usize>()
            .to_string(),
    );
    row.push(t.semi_sync_fallbacks.to_string());
    row.push(t.invariant_violations.to_string());
    row.push(t.redirected.to_string());
    row.push(t.edge_corrected.to_string());
    row.push(t.no_leader.to_string());
    row.push(t.push_failures.to_string());
    row.push(t.push_rollbacks.to_string());
    row
}

/// The largest defined value over the failures.
fn worst(failures: &[FailureRecord], f: impl Fn(&FailureRecord) -> Option<u64>) -> Option<u64> {
    failures.iter().filter_map(f).max()
}

/// Seconds with microsecond precision, or "" when undefined.
fn opt_secs(ns: Option<u64>) -> String {
    ns.map_or_else(String::new, |v| format!("{:.6}", time::secs(v)))
}

fn opt_time(t: Option<crate::time::SimTime>) -> String {
    opt_secs(t.map(|t| t.ns()))
}

/// One `failures.csv` row per fault (and per failback).
pub fn failure_rows(o: &Outcome) -> Vec<Vec<String>> {
    o.metrics
        .failures
        .iter()
        .filter(|f| f.started)
        .map(|f| {
            let (rto, left_out, unrecovered) = f.rto();
            vec![
                f.kind.to_string(),
                f.target.clone(),
                opt_time(Some(f.start)),
                opt_time(f.end),
                opt_time(f.detected),
                opt_time(f.switched),
                f.units.len().to_string(),
                opt_secs(f.rpo_ns()),
                if f.switched.is_some() {
                    f.rpo_writes.to_string()
                } else {
                    String::new()
                },
                opt_secs(rto),
                f.moved_to
                    .map_or_else(String::new, |d| o.dc_names[d.idx()].clone()),
                left_out.to_string(),
                unrecovered.to_string(),
                f.ban_timed_out.to_string(),
            ]
        })
        .collect()
}

fn utilisation(busy_ns: u64, servers: Option<u32>, span_ns: u64) -> String {
    match servers {
        Some(s) if span_ns > 0 => format!("{:.4}", busy_ns as f64 / (s as f64 * span_ns as f64)),
        _ => String::new(),
    }
}

/// Writes CSV rows into `dir/name` through a temporary file and a rename.
pub fn write_csv(
    dir: &Path,
    name: &str,
    header: &[&str],
    rows: &[Vec<String>],
) -> std::io::Result<PathBuf> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(std::io::Error::other)?;
    for r in rows {
        w.write_record(r).map_err(std::io::Error::other)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    write_atomic(dir, name, &bytes)
}

/// Writes `bytes` to `dir/name` completely or not at all.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, &path)?;
    Ok(path)
}

/// Writes a run's files: the CSV tables, `latency.csv`, the plots and
/// `report.md`, and `summary.csv` last, so that its presence means the run
/// folder is complete (a resumed sweep relies on it).
pub fn write_run(dir: &Path, o: &Outcome, cfg: &Config) -> std::io::Result<Vec<PathBuf>> {
    let m = &o.metrics;
    let mut written = Vec::new();
    let mut rows = Vec::with_capacity(m.n_buckets * m.n_dcs);
    for b in 0..m.n_buckets {
        let start = b as u64 * m.bucket_ns;
        if start >= o.end.ns() && b > 0 {
            break;
        }
        let span = m.bucket_ns.min(o.end.ns().saturating_sub(start)).max(1);
        for d in 0..m.n_dcs {
            let r = m.row(b, d);
            rows.push(vec![
                format!("{:.3}", start as f64 / NS_PER_S as f64),
                o.dc_names[d].clone(),
                r.requests.to_string(),
                r.ok.to_string(),
                r.failed.to_string(),
                r.rejected.to_string(),
                r.misrouted.to_string(),
                r.conflicts.to_string(),
                // 0: nothing was applied here in this bucket (lags are >= 1 us).
                if r.repl_lag_p99_ns == 0 {
                    String::new()
                } else {
                    ms3(r.repl_lag_p99_ns)
                },
                utilisation(r.busy_ns, o.servers[d], span),
                r.forwarded.to_string(),
                r.redirected.to_string(),
                r.edge_corrected.to_string(),
            ]);
        }
    }
    written.push(write_csv(dir, "timeseries.csv", TIMESERIES_COLUMNS, &rows)?);
    let dcs: Vec<Vec<String>> = (0..m.n_dcs)
        .map(|d| {
            let t = &m.dcs[d];
            vec![
                o.dc_names[d].clone(),
                o.servers[d].map_or_else(|| "unlimited".to_string(), |s| s.to_string()),
                t.served.to_string(),
                t.ok.to_string(),
                t.rejected.to_string(),
                t.misrouted.to_string(),
                utilisation(t.busy_ns, o.servers[d], o.traffic_end.ns()),
                t.reads.to_string(),
                t.stale_reads.to_string(),
            ]
        })
        .collect();
    written.push(write_csv(dir, "dcs.csv", DCS_COLUMNS, &dcs)?);
    let streams: Vec<Vec<String>> = m
        .streams
        .iter()
        .flatten()
        .map(|s| {
            vec![
                o.dc_names[s.src.idx()].clone(),
                o.dc_names[s.dst.idx()].clone(),
                s.lag.len().to_string(),
                quantile_ms(&s.lag, 0.5),
                quantile_ms(&s.lag, 0.99),
                ms3(s.lag.max()),
            ]
        })
        .collect();
    written.push(write_csv(dir, "streams.csv", STREAMS_COLUMNS, &streams)?);
    written.push(write_csv(
        dir,
        "failures.csv",
        FAILURES_COLUMNS,
        &failure_rows(o),
    )?);
    written.push(write_csv(
        dir,
        "latency.csv",
        LATENCY_COLUMNS,
        &latency_rows(o),
    )?);
    plot::plot_run(dir).map_err(|e| std::io::Error::other(format!("plotting failed: {e}")))?;
    let summary = summary_row(o);
    report::run_report(dir, cfg, &summary)?;
    written.push(write_csv(dir, "summary.csv", SUMMARY_COLUMNS, &[summary])?);
    Ok(written)
}

/// How fast the simulator ran: the one output that differs between runs.
pub struct Perf {
    pub wall_s: f64,
    pub peak_rss_mb: Option<f64>,
}

pub fn perf_row(o: &Outcome, p: &Perf) -> Vec<String> {
    let wall = p.wall_s.max(1e-9);
    vec![
        o.scenario.clone(),
        o.seed.to_string(),
        format!("{:.3}", p.wall_s),
        o.events.to_string(),
        format!("{:.0}", o.events as f64 / wall),
        o.metrics.totals.requests.to_string(),
        format!("{:.0}", o.metrics.totals.requests as f64 / wall),
        format!("{:.3}", o.end.as_secs_f64()),
        p.peak_rss_mb
            .map_or_else(String::new, |m| format!("{m:.1}")),
    ]
}

pub fn write_perf(dir: &Path, o: &Outcome, p: &Perf) -> std::io::Result<PathBuf> {
    write_csv(dir, "perf.csv", PERF_COLUMNS, &[perf_row(o, p)])
}

/// Peak resident memory of this process (Linux), in MiB.
pub fn peak_rss_mb() -> Option<f64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

//! The CSV tables of a run, each defined once: a row type whose fields are
//! the columns, in order. The column names (`SUMMARY_COLUMNS`, ...) come
//! from the same field list, so plots, reports and docs read columns by the
//! names the writer uses. Numbers are formatted here, with fixed decimals:
//! the same outcome gives the same bytes.

use serde::Serialize;

use crate::metrics::{BucketRow, FailureRecord, Kind, Outcome};
use crate::time::{self, NS_PER_S};

/// Declares a table: its row type (serde `Serialize`, one field per
/// column) and the constant listing its column names in order.
macro_rules! table {
    ($(#[$m:meta])* $row:ident, $columns:ident { $($(#[$fm:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default, PartialEq, Serialize)]
        pub struct $row {
            $($(#[$fm])* pub $field: $ty,)*
        }

        /// The columns of the table, in order: the field names of its row type.
        pub const $columns: &[&str] = &[$(stringify!($field)),*];

        impl $row {
            /// The row's cells as written, in column order.
            pub fn cells(&self) -> Vec<String> {
                vec![$(self.$field.to_string()),*]
            }
        }
    };
}

table! {
    /// `summary.csv`: one row per run. Times in seconds and milliseconds
    /// with fixed decimals; "" where a value is undefined.
    SummaryRow, SUMMARY_COLUMNS {
        scenario: String,
        seed: u64,
        requests: u64,
        ok: u64,
        failed: u64,
        rejected: u64,
        misrouted: u64,
        forwarded: u64,
        conflicts: u64,
        lost_writes: u64,
        divergent_keys: u64,
        stale_reads: u64,
        rpo_s: String,
        rpo_writes: u64,
        rto_s: String,
        p50_ms: String,
        p99_ms: String,
        p999_ms: String,
        repl_lag_p99_ms: String,
        repl_lag_max_ms: String,
        events: u64,
        read_p50_ms: String,
        read_p99_ms: String,
        read_p999_ms: String,
        write_p50_ms: String,
        write_p99_ms: String,
        write_p999_ms: String,
        in_flight_at_end: u64,
        queue_full: u64,
        guard_rejected: u64,
        unreachable: u64,
        ack_timeouts: u64,
        replicated: u64,
        misrouted_writes: u64,
        unrecovered_shards: usize,
        semi_sync_fallbacks: u64,
        invariant_violations: u64,
        own_stale_reads: u64,
        redirected: u64,
        edge_corrected: u64,
        no_leader: u64,
        push_failures: u64,
        push_rollbacks: u64,
        lag_refused: u64,
        fence_rejected: u64,
    }
}

table! {
    /// `latency.csv`: quantiles of each kind's latency, for the CDF plot.
    LatencyRow, LATENCY_COLUMNS {
        kind: &'static str,
        quantile: String,
        latency_ms: String,
    }
}

table! {
    /// `failures.csv`: one row per fault that started (and per failback).
    FailureRow, FAILURES_COLUMNS {
        kind: &'static str,
        target: String,
        start_s: String,
        end_s: String,
        detected_s: String,
        switched_s: String,
        affected_shards: usize,
        rpo_s: String,
        rpo_writes: String,
        rto_s: String,
        moved_to: String,
        shards_without_writes: usize,
        unrecovered_shards: usize,
        ban_timed_out: bool,
        rejected: u64,
    }
}

table! {
    /// `timeseries.csv`: one row per time bucket and DC.
    TimeseriesRow, TIMESERIES_COLUMNS {
        t_s: String,
        dc: String,
        requests: u64,
        ok: u64,
        failed: u64,
        rejected: u64,
        misrouted: u64,
        conflicts: u64,
        repl_lag_p99_ms: String,
        utilisation: String,
        forwarded: u64,
        redirected: u64,
        edge_corrected: u64,
        repl_unapplied_age_ms: String,
    }
}

table! {
    /// `datasets.csv`: one row per dataset, written when the scenario
    /// declares `[[dataset]]`s.
    DatasetRow, DATASETS_COLUMNS {
        dataset: String,
        requests: u64,
        ok: u64,
        failed: u64,
        rejected: u64,
        conflicts: u64,
        lost_writes: u64,
    }
}

table! {
    /// `dcs.csv`: one row per DC.
    DcRow, DCS_COLUMNS {
        dc: String,
        servers: String,
        served: u64,
        ok: u64,
        rejected: u64,
        misrouted: u64,
        utilisation: String,
        reads: u64,
        stale_reads: u64,
    }
}

table! {
    /// `streams.csv`: one row per replication stream that applied a write.
    StreamRow, STREAMS_COLUMNS {
        from: String,
        to: String,
        applied: u64,
        lag_p50_ms: String,
        lag_p99_ms: String,
        lag_max_ms: String,
    }
}

table! {
    /// `perf.csv`: how fast the simulator ran (the one file that differs
    /// between two runs of one scenario and seed).
    PerfRow, PERF_COLUMNS {
        scenario: String,
        seed: u64,
        wall_s: String,
        events: u64,
        events_per_s: String,
        requests: u64,
        requests_per_s: String,
        simulated_s: String,
        peak_rss_mb: String,
    }
}

/// Quantiles of each kind's latency, for the CDF plot and notebooks.
const QUANTILES: &[f64] = &[
    0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.875, 0.9, 0.92, 0.94,
    0.95, 0.96, 0.97, 0.975, 0.98, 0.985, 0.9875, 0.99, 0.992, 0.994, 0.995, 0.996, 0.997, 0.9975,
    0.998, 0.9985, 0.99875, 0.999, 0.9992, 0.9994, 0.9995, 0.9996, 0.9997, 0.99975, 0.9998,
    0.99985, 0.999875, 0.9999, 1.0,
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

/// Seconds with microsecond precision, or "" when undefined.
fn opt_secs(ns: Option<u64>) -> String {
    ns.map_or_else(String::new, |v| format!("{:.6}", time::secs(v)))
}

fn opt_time(t: Option<crate::time::SimTime>) -> String {
    opt_secs(t.map(|t| t.ns()))
}

/// The largest defined value over the failures.
fn worst(failures: &[FailureRecord], f: impl Fn(&FailureRecord) -> Option<u64>) -> Option<u64> {
    failures.iter().filter_map(f).max()
}

fn utilisation(busy_ns: u64, servers: Option<u32>, span_ns: u64) -> String {
    match servers {
        Some(s) if span_ns > 0 => format!("{:.4}", busy_ns as f64 / (s as f64 * span_ns as f64)),
        _ => String::new(),
    }
}

/// The `summary.csv` row of a run.
pub fn summary_row(o: &Outcome) -> SummaryRow {
    let m = &o.metrics;
    let t = &m.totals;
    let all = m.latency_all();
    let [read, write] = &m.latency;
    SummaryRow {
        scenario: o.scenario.clone(),
        seed: o.seed,
        requests: t.requests,
        ok: t.ok,
        failed: t.failed,
        rejected: t.rejected,
        misrouted: t.misrouted,
        forwarded: t.forwarded,
        conflicts: t.conflicts,
        lost_writes: t.lost_writes,
        divergent_keys: t.divergent_keys,
        stale_reads: t.stale_reads,
        rpo_s: opt_secs(worst(&m.failures, |f| f.rpo_ns())),
        rpo_writes: m.failures.iter().map(|f| f.rpo_writes).max().unwrap_or(0),
        rto_s: opt_secs(worst(&m.failures, |f| f.rto().0)),
        p50_ms: quantile_ms(&all, 0.50),
        p99_ms: quantile_ms(&all, 0.99),
        p999_ms: quantile_ms(&all, 0.999),
        repl_lag_p99_ms: quantile_ms(&m.lag_all, 0.99),
        repl_lag_max_ms: if m.lag_all.is_empty() {
            String::new()
        } else {
            ms3(m.lag_all.max())
        },
        events: o.events,
        read_p50_ms: quantile_ms(read, 0.50),
        read_p99_ms: quantile_ms(read, 0.99),
        read_p999_ms: quantile_ms(read, 0.999),
        write_p50_ms: quantile_ms(write, 0.50),
        write_p99_ms: quantile_ms(write, 0.99),
        write_p999_ms: quantile_ms(write, 0.999),
        in_flight_at_end: t.in_flight_at_end,
        queue_full: t.queue_full,
        guard_rejected: t.guard_rejected,
        unreachable: t.unreachable,
        ack_timeouts: t.ack_timeouts,
        replicated: t.replicated,
        misrouted_writes: t.misrouted_writes,
        unrecovered_shards: m.failures.iter().map(|f| f.rto().2).sum(),
        semi_sync_fallbacks: t.semi_sync_fallbacks,
        invariant_violations: t.invariant_violations,
        own_stale_reads: t.own_stale_reads,
        redirected: t.redirected,
        edge_corrected: t.edge_corrected,
        no_leader: t.no_leader,
        push_failures: t.push_failures,
        push_rollbacks: t.push_rollbacks,
        lag_refused: t.lag_refused,
        fence_rejected: t.fence_rejected,
    }
}

/// The `latency.csv` rows: each kind's quantiles, kinds with no request left out.
pub fn latency_rows(o: &Outcome) -> Vec<LatencyRow> {
    let mut rows = Vec::new();
    for k in Kind::ALL {
        let h = &o.metrics.latency[k as usize];
        if h.is_empty() {
            continue;
        }
        for &q in QUANTILES {
            rows.push(LatencyRow {
                kind: k.name(),
                quantile: format!("{q}"),
                latency_ms: ms3(h.value_at_quantile(q)),
            });
        }
    }
    rows
}

/// One `failures.csv` row per fault that started (and per failback).
pub fn failure_rows(o: &Outcome) -> Vec<FailureRow> {
    o.metrics
        .failures
        .iter()
        .filter(|f| f.started)
        .map(|f| {
            let (rto, left_out, unrecovered) = f.rto();
            FailureRow {
                kind: f.kind,
                target: f.target.clone(),
                start_s: opt_time(Some(f.start)),
                end_s: opt_time(f.end),
                detected_s: opt_time(f.detected),
                switched_s: opt_time(f.switched),
                affected_shards: f.units.len(),
                rpo_s: opt_secs(f.rpo_ns()),
                rpo_writes: if f.switched.is_some() {
                    f.rpo_writes.to_string()
                } else {
                    String::new()
                },
                rto_s: opt_secs(rto),
                moved_to: f
                    .moved_to
                    .map_or_else(String::new, |d| o.dc_names[d.idx()].clone()),
                shards_without_writes: left_out,
                unrecovered_shards: unrecovered,
                ban_timed_out: f.ban_timed_out,
                rejected: f.rejected,
            }
        })
        .collect()
}

/// The `dcs.csv` rows.
pub fn dc_rows(o: &Outcome) -> Vec<DcRow> {
    o.metrics
        .dcs
        .iter()
        .enumerate()
        .map(|(d, t)| DcRow {
            dc: o.dc_names[d].clone(),
            servers: o.servers[d].map_or_else(|| "unlimited".to_string(), |s| s.to_string()),
            served: t.served,
            ok: t.ok,
            rejected: t.rejected,
            misrouted: t.misrouted,
            utilisation: utilisation(t.busy_ns, o.servers[d], o.traffic_end.ns()),
            reads: t.reads,
            stale_reads: t.stale_reads,
        })
        .collect()
}

/// The `datasets.csv` rows: the `[[dataset]]`s in order, then `global` if
/// any request touched the global dataset. Empty without `[[dataset]]`.
pub fn dataset_rows(o: &Outcome) -> Vec<DatasetRow> {
    let m = &o.metrics;
    if m.dataset_names.is_empty() {
        return Vec::new();
    }
    let names = m
        .dataset_names
        .iter()
        .cloned()
        .chain(std::iter::once("global".to_string()));
    names
        .zip(&m.datasets)
        .filter(|(name, t)| name != "global" || t.requests > 0)
        .map(|(dataset, t)| DatasetRow {
            dataset,
            requests: t.requests,
            ok: t.ok,
            failed: t.failed,
            rejected: t.rejected,
            conflicts: t.conflicts,
            lost_writes: t.lost_writes,
        })
        .collect()
}

/// The `streams.csv` rows, in (source, destination) order.
pub fn stream_rows(o: &Outcome) -> Vec<StreamRow> {
    o.metrics
        .streams
        .iter()
        .flatten()
        .map(|s| StreamRow {
            from: o.dc_names[s.src.idx()].clone(),
            to: o.dc_names[s.dst.idx()].clone(),
            applied: s.lag.len(),
            lag_p50_ms: ms3(s.lag.value_at_quantile(0.5)),
            lag_p99_ms: ms3(s.lag.value_at_quantile(0.99)),
            lag_max_ms: ms3(s.lag.max()),
        })
        .collect()
}

/// What the `timeseries.csv` rows of a bucket need besides its counts.
#[derive(Clone, Debug)]
pub struct SeriesShape {
    pub dc_names: Vec<String>,
    pub servers: Vec<Option<u32>>,
    pub bucket_ns: u64,
    /// When the drain ends: the last bucket is cut there.
    pub end_ns: u64,
}

impl SeriesShape {
    /// The `timeseries.csv` rows of bucket `b` (one per DC; none for a
    /// bucket starting at the end of the run, unless it is the first).
    pub fn rows<'a>(
        &'a self,
        b: usize,
        rows: &'a [BucketRow],
    ) -> impl Iterator<Item = TimeseriesRow> + 'a {
        let start = b as u64 * self.bucket_ns;
        let keep = start < self.end_ns || b == 0;
        let span = self.bucket_ns.min(self.end_ns.saturating_sub(start)).max(1);
        let t_s = format!("{:.3}", start as f64 / NS_PER_S as f64);
        rows.iter()
            .enumerate()
            .filter(move |_| keep)
            .map(move |(d, r)| TimeseriesRow {
                t_s: t_s.clone(),
                dc: self.dc_names[d].clone(),
                requests: r.requests,
                ok: r.ok,
                failed: r.failed,
                rejected: r.rejected,
                misrouted: r.misrouted,
                conflicts: r.conflicts,
                // 0: nothing was applied here in this bucket (lags are >= 1 us).
                repl_lag_p99_ms: if r.repl_lag_p99_ns == 0 {
                    String::new()
                } else {
                    ms3(r.repl_lag_p99_ns)
                },
                utilisation: utilisation(r.busy_ns, self.servers[d], span),
                forwarded: r.forwarded,
                redirected: r.redirected,
                edge_corrected: r.edge_corrected,
                repl_unapplied_age_ms: ms3(r.unapplied_age_ns),
            })
    }
}

/// How fast the simulator ran.
pub struct Perf {
    pub wall_s: f64,
    pub peak_rss_mb: Option<f64>,
}

/// The `perf.csv` row.
pub fn perf_row(o: &Outcome, p: &Perf) -> PerfRow {
    let wall = p.wall_s.max(1e-9);
    PerfRow {
        scenario: o.scenario.clone(),
        seed: o.seed,
        wall_s: format!("{:.3}", p.wall_s),
        events: o.events,
        events_per_s: format!("{:.0}", o.events as f64 / wall),
        requests: o.metrics.totals.requests,
        requests_per_s: format!("{:.0}", o.metrics.totals.requests as f64 / wall),
        simulated_s: format!("{:.3}", o.end.as_secs_f64()),
        peak_rss_mb: p
            .peak_rss_mb
            .map_or_else(String::new, |m| format!("{m:.1}")),
    }
}

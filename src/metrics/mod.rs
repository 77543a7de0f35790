//! What a run measured: counters, HDR latency histograms and time buckets.
//!
//! Everything here has a fixed size once the run starts (histograms, one
//! row per DC), so memory does not grow with the number of requests
//! simulated. The time series (one row per bucket and DC) is either kept
//! whole in memory (`model::run`, for tests and notebooks) or streamed to a
//! [`SeriesSink`] as buckets close, holding only a short window of open
//! buckets, so memory does not grow with simulated duration either.

use hdrhistogram::Histogram;

use crate::ids::DcId;

mod counts;
mod failure;
use crate::time::{Nanos, SimTime};
pub use failure::{FailureRecord, GLOBAL_UNIT, global_unit, unit_global};
/// A stream's lag counts (`counts`).
pub type LagCounts = counts::Counts<{ counts::LAG_UNIT }>;
/// Latency counts (`counts`), made into `Metrics::latency` at the close.
type LatencyCounts = counts::Counts<{ counts::LATENCY_UNIT }>;

/// Three significant digits: quantiles within 0.1%.
const SIGFIG: u8 = 3;

/// A latency histogram (nanoseconds). It grows to hold whatever value is
/// recorded (any `u64` below 2^62 ns, far beyond a run's length), so no
/// latency is ever capped: a 4,500 s latency is reported as 4,500 s.
pub fn new_histogram() -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, 2 << 30, SIGFIG).expect("valid histogram bounds");
    h.auto(true);
    h
}

/// A histogram for replication lag: microsecond resolution keeps it small
/// (one per stream, one per DC for the time series). It grows like
/// [`new_histogram`]: no lag is capped.
pub fn new_lag_histogram() -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1_000, 2 << 30, SIGFIG).expect("valid histogram bounds");
    h.auto(true);
    h
}

/// Records `v`, growing `h` to hold it (the tests' reference for what
/// the counts give). (`saturating_record` would clamp to the current top
/// even though the histogram can grow.)
#[cfg(test)]
fn record(h: &mut Histogram<u64>, v: u64) {
    if h.record(v).is_err() {
        debug_assert!(false, "histogram cannot grow to {v}");
        h.saturating_record(v);
    }
}

/// Kinds of request, for per-kind latency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Read = 0,
    Write = 1,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::Read, Kind::Write];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Read => "read",
            Kind::Write => "write",
        }
    }
}

/// Whole-run counters. `requests = ok + failed + rejected` always.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub requests: u64,
    pub ok: u64,
    pub failed: u64,
    pub rejected: u64,
    pub misrouted: u64,
    pub forwarded: u64,
    pub conflicts: u64,
    pub lost_writes: u64,
    pub divergent_keys: u64,
    pub stale_reads: u64,
    /// Stale reads of the sharded dataset: each user owns one key, so the
    /// write missed was the reader's own (read-your-writes violations).
    pub own_stale_reads: u64,
    /// Requests still in flight when the drain ended (counted in `failed`).
    pub in_flight_at_end: u64,
    /// Requests rejected because a DC's waiting room was full (in `rejected`).
    pub queue_full: u64,
    /// Writes refused by a write guard (in `rejected`).
    pub guard_rejected: u64,
    /// Requests that failed because no live path led where they had to go.
    pub unreachable: u64,
    /// Writes whose remote acks did not come in time: they failed, except
    /// under `semi_sync`, which then acknowledges them (`semi_sync_fallbacks`).
    pub ack_timeouts: u64,
    pub semi_sync_fallbacks: u64,
    /// Replicated writes applied at a destination (one per write and DC).
    pub replicated: u64,
    /// Misrouted requests that were writes (in `misrouted`).
    pub misrouted_writes: u64,
    /// Broken invariants the model's checker found: must stay 0.
    pub invariant_violations: u64,
    /// Requests a router told the client to re-send to the owner (first
    /// correction only).
    pub redirected: u64,
    /// Requests the region's edge (`entry = "owner"`) sent to a DC other
    /// than the one DNS would have chosen.
    pub edge_corrected: u64,
    /// Writes refused because their shard's data leader was still being
    /// elected (in `rejected`).
    pub no_leader: u64,
    /// Pushes of a table version that did not reach a DC within
    /// `routing.push_timeout` (each attempt counts).
    pub push_failures: u64,
    /// Rollbacks after a push ran out of retries.
    pub push_rollbacks: u64,
    /// Writes refused because a stream from their DC lagged more than
    /// `replication.max_lag` (in `rejected`).
    pub lag_refused: u64,
    /// Writes refused by a move's record fence at its target (in `rejected`).
    pub fence_rejected: u64,
}

/// One time bucket of one DC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BucketRow {
    /// Requests that entered the system at this DC (their entry DC).
    pub requests: u64,
    /// Outcomes, counted at the DC that decided them, in the bucket they completed.
    pub ok: u64,
    pub failed: u64,
    pub rejected: u64,
    pub misrouted: u64,
    pub forwarded: u64,
    pub conflicts: u64,
    /// Requests this DC's router redirected (first correction only).
    pub redirected: u64,
    /// Requests an edge sent here instead of the DNS choice.
    pub edge_corrected: u64,
    /// Server-busy nanoseconds.
    pub busy_ns: u64,
    /// p99 of the replication lag of writes applied here in this bucket.
    pub repl_lag_p99_ns: u64,
    /// At the bucket's end: the age of the oldest write (from any DC) not
    /// applied here yet; 0 when every write is applied.
    pub unapplied_age_ns: u64,
}

/// Per-DC totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DcTotals {
    /// Requests executed (served) here, ok or refused by the write guard.
    pub served: u64,
    pub ok: u64,
    pub misrouted: u64,
    pub rejected: u64,
    pub busy_ns: u64,
    pub stale_reads: u64,
    pub reads: u64,
}

/// One dataset's counts (`datasets.csv`): its requests' outcomes and its
/// records' conflicts and lost writes. Summed over the datasets they give
/// the run's totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DatasetTotals {
    pub requests: u64,
    pub ok: u64,
    pub failed: u64,
    pub rejected: u64,
    pub conflicts: u64,
    pub lost_writes: u64,
}

/// Lag of one replication stream: counted as its histogram would count
/// it (see `counts`; no histogram is made per stream).
#[derive(Clone, Debug)]
pub struct StreamLag {
    pub src: DcId,
    pub dst: DcId,
    pub lag: LagCounts,
}

/// Where closed time buckets go when the time series streams out.
pub trait SeriesSink: Send {
    /// Bucket `bucket` (starting at `bucket * bucket_ns`) is closed: its
    /// rows, one per DC in DC order. Buckets arrive in order, each once.
    fn bucket(&mut self, bucket: usize, rows: &[BucketRow]);
    /// No more buckets: flush, and report the first write error, if any.
    fn finish(&mut self) -> std::io::Result<()>;
}

/// Lags a DC keeps before counting them (`Metrics::lag_recent`).
const RECENT: usize = 4096;

/// Buckets the model runs ahead between two closings of the streamed time
/// series: the window of open buckets is about this long.
const WINDOW: usize = 64;

pub struct Metrics {
    pub totals: Totals,
    /// Per kind of request, the latency of those that completed: filled
    /// by [`Metrics::close`] from `latency_counts`.
    pub latency: [Histogram<u64>; 2],
    /// Counted as the histograms count (see `counts`): an update of one
    /// counter per request, where a histogram also keeps its minimum,
    /// maximum and total.
    latency_counts: [LatencyCounts; 2],
    pub dcs: Vec<DcTotals>,
    /// Rows of buckets `first_open..`, `n_dcs` per bucket: every bucket
    /// when kept in memory (`first_open` stays 0; all of them once the run
    /// is closed), the open window when streaming.
    pub buckets: Vec<BucketRow>,
    first_open: usize,
    sink: Option<Box<dyn SeriesSink>>,
    /// The first error of the sink, reported by [`Metrics::series_result`].
    series_error: Option<std::io::Error>,
    pub bucket_ns: Nanos,
    pub n_dcs: usize,
    pub n_buckets: usize,
    /// The bucket a time fell in last (not the clamped last one), and its
    /// start: most times fall in it again, and a 64-bit division is slow.
    recent_bucket: usize,
    recent_start: u64,
    /// Per stream, in (source, destination) order, the streams that
    /// applied a write: filled by [`Metrics::close`] from `lag_run`.
    pub streams: Vec<Option<StreamLag>>,
    /// Per stream (same order): the lags of the bucket its destination is
    /// filling, and of the buckets before (see `counts`).
    lag_pending: Vec<LagCounts>,
    lag_run: Vec<LagCounts>,
    /// Per DC, the bucket its pending lags belong to (`usize::MAX`: none
    /// pending): finished buckets keep only their p99, so memory stays
    /// fixed.
    lag_bucket: Vec<usize>,
    /// A DC's pending lags summed, for their p99.
    lag_sum: LagCounts,
    /// Per DC, the lags of its latest applies, `source << 16 | index`,
    /// counted into `lag_pending` a few thousand at a time: counting
    /// each as it comes was a cache miss at every apply with many
    /// streams (their counts scattered among the model's other memory).
    lag_recent: Vec<Vec<u32>>,
    /// Every stream's lag together: filled by [`Metrics::close`] (called
    /// once) from the streams' run counts merged, which have the same
    /// counts, minimum and maximum as recording each lag here too (counts
    /// of one precision share their bucket boundaries).
    pub lag_all: Histogram<u64>,
    /// One per fault of the timeline, in its order, then one per failback.
    pub failures: Vec<FailureRecord>,
    /// Per dataset: the sharded ones in `[[dataset]]` order (one without
    /// any), then the global one.
    pub datasets: Vec<DatasetTotals>,
    /// The `[[dataset]]` names; empty without any (no `datasets.csv`).
    pub dataset_names: Vec<String>,
}

impl Metrics {
    /// Metrics for `n_dcs` DCs over `[0, end]` in buckets of `bucket_ns`.
    pub fn new(n_dcs: usize, end: SimTime, bucket_ns: Nanos) -> Metrics {
        let n_buckets = (end.ns() / bucket_ns + 1) as usize;
        Metrics {
            totals: Totals::default(),
            latency: [new_histogram(), new_histogram()],
            latency_counts: Default::default(),
            dcs: vec![DcTotals::default(); n_dcs],
            // Grown as buckets are written: a streamed series never holds
            // more than its open window.
            buckets: Vec::new(),
            first_open: 0,
            sink: None,
            series_error: None,
            bucket_ns,
            n_dcs,
            n_buckets,
            recent_bucket: 0,
            recent_start: 0,
            streams: vec![None; n_dcs * n_dcs],
            lag_pending: vec![LagCounts::default(); n_dcs * n_dcs],
            lag_run: vec![LagCounts::default(); n_dcs * n_dcs],
            lag_bucket: vec![usize::MAX; n_dcs],
            lag_sum: LagCounts::default(),
            lag_recent: (0..n_dcs).map(|_| Vec::with_capacity(RECENT)).collect(),
            lag_all: new_lag_histogram(),
            failures: Vec::new(),
            datasets: vec![DatasetTotals::default(); 2],
            dataset_names: Vec::new(),
        }
    }

    /// Records the lag of a write applied at `dst` at `now` (in its
    /// stream's counts for the bucket of `now`: see `counts`).
    #[inline]
    pub fn record_lag(&mut self, src: DcId, dst: DcId, now: SimTime, lag: Nanos) {
        let lag = lag.max(1_000);
        let b = self.bucket_of(now);
        if self.lag_bucket[dst.idx()] != b {
            self.flush_lag(dst.idx());
            self.lag_bucket[dst.idx()] = b;
        }
        let recent = &mut self.lag_recent[dst.idx()];
        // An index fits in 16 bits (below 48 × 1,024 for any `u64`), a
        // source too (at most 1,000 DCs).
        recent.push(u32::from(src.0) << 16 | counts::index::<{ counts::LAG_UNIT }>(lag) as u32);
        if recent.len() == RECENT {
            self.count_recent(dst.idx());
        }
    }

    /// Counts `dc`'s recent lags into their streams' pending counts.
    fn count_recent(&mut self, dc: usize) {
        let n = self.n_dcs;
        for &e in &self.lag_recent[dc] {
            self.lag_pending[(e >> 16) as usize * n + dc].add((e & 0xffff) as usize);
        }
        self.lag_recent[dc].clear();
    }

    /// Closes `dc`'s pending lags: their p99 into its bucket's row, their
    /// counts into their streams' run totals.
    fn flush_lag(&mut self, dc: usize) {
        if self.lag_bucket[dc] == usize::MAX {
            return;
        }
        self.count_recent(dc);
        let n = self.n_dcs;
        self.lag_sum.clear();
        for s in (dc..n * n).step_by(n) {
            let pending = &mut self.lag_pending[s];
            self.lag_run[s].merge(pending);
            self.lag_sum.merge(pending);
            pending.clear();
        }
        if !self.lag_sum.is_empty() {
            let p99 = self.lag_sum.value_at_quantile(0.99);
            let b = self.lag_bucket[dc];
            self.slot(b, dc).repl_lag_p99_ns = p99;
        }
        self.lag_bucket[dc] = usize::MAX;
    }

    /// Streams the time series into `sink` from now on instead of keeping
    /// it: call before the run starts.
    pub fn stream_to(&mut self, sink: Box<dyn SeriesSink>) {
        debug_assert!(self.buckets.is_empty(), "streaming starts before the run");
        self.sink = Some(sink);
    }

    /// When streaming: the time the model may run to before the next
    /// [`Metrics::advance`] (a few dozen buckets ahead). Otherwise never.
    pub fn flush_horizon(&self) -> SimTime {
        if self.sink.is_none() {
            return SimTime(u64::MAX);
        }
        SimTime(((self.first_open + WINDOW) as u64).saturating_mul(self.bucket_ns))
    }

    /// Nothing will be recorded before `t` any more: streams out every
    /// bucket that ends by `t` (all but the last, which later times share).
    pub fn advance(&mut self, t: SimTime) {
        if self.sink.is_some() {
            let upto = ((t.ns() / self.bucket_ns) as usize).min(self.n_buckets - 1);
            self.close_before(upto);
        }
    }

    /// Streams out buckets `first_open..upto`.
    fn close_before(&mut self, upto: usize) {
        if upto <= self.first_open {
            return;
        }
        for dc in 0..self.n_dcs {
            if self.lag_bucket[dc] < upto {
                self.flush_lag(dc);
            }
        }
        let n = self.n_dcs;
        let Some(sink) = self.sink.as_mut() else {
            return;
        };
        let empty = vec![BucketRow::default(); n];
        for b in self.first_open..upto {
            let i = (b - self.first_open) * n;
            sink.bucket(b, self.buckets.get(i..i + n).unwrap_or(&empty));
        }
        let closed = ((upto - self.first_open) * n).min(self.buckets.len());
        self.buckets.drain(..closed);
        self.first_open = upto;
    }

    /// Closes the time series: the last buckets' lag quantiles and, when
    /// streaming, every bucket not streamed yet, then flushes the sink.
    pub fn close(&mut self) {
        for dc in 0..self.n_dcs {
            self.flush_lag(dc);
        }
        let n = self.n_dcs;
        let mut all = LagCounts::default();
        for (i, run) in self.lag_run.iter_mut().enumerate() {
            if !run.is_empty() {
                all.merge(run);
                self.streams[i] = Some(StreamLag {
                    src: DcId((i / n) as u16),
                    dst: DcId((i % n) as u16),
                    lag: std::mem::take(run),
                });
            }
        }
        self.lag_all = all.histogram(new_lag_histogram());
        for (h, c) in self.latency.iter_mut().zip(&self.latency_counts) {
            *h = c.histogram(new_histogram());
        }
        if self.sink.is_none() {
            self.buckets
                .resize(self.n_buckets * self.n_dcs, BucketRow::default());
        } else {
            self.close_before(self.n_buckets);
            if let Some(mut sink) = self.sink.take()
                && let Err(e) = sink.finish()
            {
                self.series_error = Some(e);
            }
        }
    }

    /// Whether the time series streamed out (and is not held here).
    pub fn streamed(&self) -> bool {
        self.first_open > 0 || self.sink.is_some()
    }

    /// The outcome of writing the streamed time series.
    pub fn series_result(&self) -> std::io::Result<()> {
        match &self.series_error {
            None => Ok(()),
            Some(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
        }
    }

    /// The row of bucket `b` and `dc`, growing the open window when streaming.
    #[inline]
    fn slot(&mut self, b: usize, dc: usize) -> &mut BucketRow {
        debug_assert!(b >= self.first_open, "bucket {b} written after it closed");
        let i = (b.max(self.first_open) - self.first_open) * self.n_dcs + dc;
        if i >= self.buckets.len() {
            let rows = (i / self.n_dcs + 1) * self.n_dcs;
            self.buckets.resize(rows, BucketRow::default());
        }
        &mut self.buckets[i]
    }

    /// The row of `dc` in the bucket holding `t` (the last bucket for later times).
    #[inline]
    pub fn at(&mut self, t: SimTime, dc: DcId) -> &mut BucketRow {
        let b = self.bucket_of(t);
        self.slot(b, dc.idx())
    }

    /// The bucket holding `t` (the last bucket for later times).
    #[inline]
    fn bucket_of(&mut self, t: SimTime) -> usize {
        let t = t.ns();
        if t.wrapping_sub(self.recent_start) < self.bucket_ns {
            return self.recent_bucket;
        }
        let b = t / self.bucket_ns;
        if b < self.n_buckets as u64 {
            self.recent_bucket = b as usize;
            self.recent_start = b * self.bucket_ns;
            b as usize
        } else {
            self.n_buckets - 1
        }
    }

    /// Records the age of the oldest write `dc` lacks at the end of `bucket`.
    pub fn set_unapplied_age(&mut self, bucket: usize, dc: usize, age: Nanos) {
        if bucket < self.n_buckets {
            self.slot(bucket, dc).unapplied_age_ns = age;
        }
    }

    /// The row of bucket `bucket` and `dc`, when the series is kept in memory.
    /// (A bucket nothing was written to yet reads as zeros.)
    pub fn row(&self, bucket: usize, dc: usize) -> &BucketRow {
        const EMPTY: BucketRow = BucketRow {
            requests: 0,
            ok: 0,
            failed: 0,
            rejected: 0,
            misrouted: 0,
            forwarded: 0,
            conflicts: 0,
            redirected: 0,
            edge_corrected: 0,
            busy_ns: 0,
            repl_lag_p99_ns: 0,
            unapplied_age_ns: 0,
        };
        self.buckets.get(bucket * self.n_dcs + dc).unwrap_or(&EMPTY)
    }

    /// Adds server-busy time `[start, start + len)` of `dc`, split over buckets.
    #[inline]
    pub fn add_busy(&mut self, dc: DcId, start: SimTime, len: Nanos) {
        let total = &mut self.dcs[dc.idx()].busy_ns;
        *total = total.saturating_add(len);
        let mut t = start.ns();
        let end = t.saturating_add(len);
        // Buckets end with the run: a service time beyond it (a heavy
        // tail) lands in the last bucket in one piece, not bucket by bucket.
        let last_start = (self.n_buckets as u64 - 1) * self.bucket_ns;
        while t < end {
            if t >= last_start {
                let row = self.at(SimTime(t), dc);
                row.busy_ns = row.busy_ns.saturating_add(end - t);
                break;
            }
            // Below the last bucket's start: `b` is not clamped.
            let b = self.bucket_of(SimTime(t));
            let bucket_end = (b as u64 + 1) * self.bucket_ns;
            let piece = end.min(bucket_end) - t;
            self.slot(b, dc.idx()).busy_ns += piece;
            t += piece;
        }
    }

    /// Counts a request's latency (in `latency` once the run closes).
    #[inline]
    pub fn record_latency(&mut self, kind: Kind, latency: Nanos) {
        let i = counts::index::<{ counts::LATENCY_UNIT }>(latency.max(1));
        self.latency_counts[kind as usize].add(i);
    }

    /// All kinds together.
    pub fn latency_all(&self) -> Histogram<u64> {
        let mut h = new_histogram();
        for k in &self.latency {
            h.add(k).expect("same bounds");
        }
        h
    }
}

/// Everything `output` needs to describe a finished run.
pub struct Outcome {
    pub scenario: String,
    pub seed: u64,
    pub dc_names: Vec<String>,
    /// Servers per DC (`None`: unlimited).
    pub servers: Vec<Option<u32>>,
    /// When traffic stopped and when the drain ended.
    pub traffic_end: SimTime,
    pub end: SimTime,
    pub events: u64,
    pub metrics: Metrics,
}

#[cfg(test)]
mod tests;

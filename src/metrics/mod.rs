//! What a run measured: counters, HDR latency histograms and time buckets.
//!
//! Everything here has a fixed size once the run starts (histograms, one
//! row per DC, one row per bucket and DC), so memory does not grow with the
//! number of requests simulated.

use hdrhistogram::Histogram;

use crate::ids::DcId;
use crate::time::{Nanos, SimTime};

/// The largest latency a histogram tells apart: one hour.
const MAX_LATENCY: u64 = 3_600 * crate::time::NS_PER_S;
/// Three significant digits: quantiles within 0.1%.
const SIGFIG: u8 = 3;

pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_max(MAX_LATENCY, SIGFIG).expect("valid histogram bounds")
}

/// A histogram for replication lag: microsecond resolution keeps it small
/// (one per stream, one per DC for the time series).
pub fn new_lag_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1_000, MAX_LATENCY, SIGFIG).expect("valid histogram bounds")
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

/// Lag of one replication stream.
#[derive(Clone, Debug)]
pub struct StreamLag {
    pub src: DcId,
    pub dst: DcId,
    pub lag: Histogram<u64>,
}

/// The p99 of the bucket being filled, per DC; finished buckets keep only
/// the number, so memory stays fixed.
struct RollingP99 {
    bucket: usize,
    hist: Histogram<u64>,
}

pub struct Metrics {
    pub totals: Totals,
    pub latency: [Histogram<u64>; 2],
    pub dcs: Vec<DcTotals>,
    pub buckets: Vec<BucketRow>,
    pub bucket_ns: Nanos,
    pub n_dcs: usize,
    pub n_buckets: usize,
    /// Per stream, in (source, destination) order; created on first use.
    pub streams: Vec<Option<StreamLag>>,
    pub lag_all: Histogram<u64>,
    rolling: Vec<RollingP99>,
    /// One per fault of the timeline, in its order, then one per failback.
    pub failures: Vec<FailureRecord>,
}

/// The global dataset, among a failure's affected shards.
pub const GLOBAL_UNIT: u32 = u32::MAX;

/// What one fault did: when it was noticed and acted on, what it moved,
/// what data it put at risk (RPO) and how long writes took to come back (RTO).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailureRecord {
    pub kind: &'static str,
    /// What failed: a DC, `a-b` for a link, the groups of a partition, the
    /// shards of a switchover.
    pub target: String,
    pub start: SimTime,
    pub end: Option<SimTime>,
    pub detected: Option<SimTime>,
    pub switched: Option<SimTime>,
    /// Where the affected shards went.
    pub moved_to: Option<DcId>,
    /// Affected shards (`GLOBAL_UNIT` for the global dataset).
    pub units: Vec<u32>,
    /// Per unit: a write arrived after the start / the first one acknowledged.
    pub attempted: Vec<bool>,
    pub first_ack: Vec<Option<SimTime>>,
    pub rpo_writes: u64,
    /// The oldest write counted in `rpo_writes`.
    pub rpo_oldest: Option<SimTime>,
    /// A ban that ended at `max_ban` rather than when replication caught up.
    pub ban_timed_out: bool,
    /// Writes to the moved shards (acknowledged or not) the target lacked
    /// when it took over; they replicate if their DC comes back.
    pub stranded: u64,
    pub started: bool,
}

impl FailureRecord {
    pub fn new(f: &crate::scenario::FaultConfig, names: &[&str]) -> FailureRecord {
        use crate::scenario::FaultKind as K;
        let target = match &f.kind {
            K::DcDown { dc } | K::ClockJump { dc, .. } | K::PushFailure { dc } => {
                names[dc.idx()].to_string()
            }
            K::LinkDown { a, b } | K::SlowLink { a, b, .. } => {
                format!("{}-{}", names[a.idx()], names[b.idx()])
            }
            K::ReplicationStall { from, to } => {
                format!("{}->{}", names[from.idx()], names[to.idx()])
            }
            K::Partition { groups } => groups
                .iter()
                .map(|g| {
                    g.iter()
                        .map(|d| names[d.idx()])
                        .collect::<Vec<_>>()
                        .join("+")
                })
                .collect::<Vec<_>>()
                .join("|"),
            K::Switchover { shards, to } => {
                format!("{} shards to {}", shards.len(), names[to.idx()])
            }
        };
        FailureRecord::blank(f.kind.name(), target, SimTime(f.at))
    }

    /// A record of `kind` on `target` starting at `start`, nothing observed yet.
    pub fn blank(kind: &'static str, target: String, start: SimTime) -> FailureRecord {
        FailureRecord {
            kind,
            target,
            start,
            end: None,
            detected: None,
            switched: None,
            moved_to: None,
            units: Vec::new(),
            attempted: Vec::new(),
            first_ack: Vec::new(),
            rpo_writes: 0,
            rpo_oldest: None,
            ban_timed_out: false,
            stranded: 0,
            started: false,
        }
    }

    /// The fault started or healed at `now`.
    pub fn note(&mut self, now: SimTime, start: bool) {
        if start {
            self.started = true;
            self.start = now;
        } else {
            self.end = Some(now);
        }
    }

    /// Starts watching `units` for the first acknowledged write.
    pub fn watch(&mut self, units: Vec<u32>) {
        self.attempted = vec![false; units.len()];
        self.first_ack = vec![None; units.len()];
        self.units = units;
    }

    /// RPO: from the oldest write at risk to the failure; defined once
    /// shards have moved (0 when nothing was at risk).
    pub fn rpo_ns(&self) -> Option<Nanos> {
        self.switched?;
        Some(self.rpo_oldest.map_or(0, |t| self.start.since(t)))
    }

    /// (RTO, units left out for having no write attempts, units attempted
    /// but never written again). RTO is `None` when nothing was attempted or
    /// some attempted unit never recovered.
    pub fn rto(&self) -> (Option<Nanos>, usize, usize) {
        let mut worst = None;
        let mut left_out = 0;
        let mut unrecovered = 0;
        for (i, attempted) in self.attempted.iter().enumerate() {
            match (attempted, self.first_ack[i]) {
                (false, _) => left_out += 1,
                (true, None) => unrecovered += 1,
                (true, Some(t)) => worst = Some(worst.unwrap_or(0).max(t.since(self.start))),
            }
        }
        if unrecovered > 0 {
            worst = None;
        }
        (worst, left_out, unrecovered)
    }
}

impl Metrics {
    /// Metrics for `n_dcs` DCs over `[0, end]` in buckets of `bucket_ns`.
    pub fn new(n_dcs: usize, end: SimTime, bucket_ns: Nanos) -> Metrics {
        let n_buckets = (end.ns() / bucket_ns + 1) as usize;
        Metrics {
            totals: Totals::default(),
            latency: [new_histogram(), new_histogram()],
            dcs: vec![DcTotals::default(); n_dcs],
            buckets: vec![BucketRow::default(); n_buckets * n_dcs],
            bucket_ns,
            n_dcs,
            n_buckets,
            streams: vec![None; n_dcs * n_dcs],
            lag_all: new_lag_histogram(),
            failures: Vec::new(),
            rolling: (0..n_dcs)
                .map(|_| RollingP99 {
                    bucket: 0,
                    hist: new_lag_histogram(),
                })
                .collect(),
        }
    }

    /// Records the lag of a write applied at `dst` at `now`.
    #[inline]
    pub fn record_lag(&mut self, src: DcId, dst: DcId, now: SimTime, lag: Nanos) {
        let lag = lag.max(1_000);
        self.lag_all.saturating_record(lag);
        self.streams[src.idx() * self.n_dcs + dst.idx()]
            .get_or_insert_with(|| StreamLag {
                src,
                dst,
                lag: new_lag_histogram(),
            })
            .lag
            .saturating_record(lag);
        let b = ((now.ns() / self.bucket_ns) as usize).min(self.n_buckets - 1);
        if self.rolling[dst.idx()].bucket != b {
            self.flush_lag(dst.idx());
            self.rolling[dst.idx()].bucket = b;
        }
        self.rolling[dst.idx()].hist.saturating_record(lag);
    }

    fn flush_lag(&mut self, dc: usize) {
        let r = &mut self.rolling[dc];
        if !r.hist.is_empty() {
            self.buckets[r.bucket * self.n_dcs + dc].repl_lag_p99_ns =
                r.hist.value_at_quantile(0.99);
            r.hist.reset();
        }
    }

    /// Closes the time series: the last buckets' lag quantiles.
    pub fn close(&mut self) {
        for dc in 0..self.n_dcs {
            self.flush_lag(dc);
        }
    }

    /// The row of `dc` in the bucket holding `t` (the last bucket for later times).
    #[inline]
    pub fn at(&mut self, t: SimTime, dc: DcId) -> &mut BucketRow {
        let b = ((t.ns() / self.bucket_ns) as usize).min(self.n_buckets - 1);
        &mut self.buckets[b * self.n_dcs + dc.idx()]
    }

    pub fn row(&self, bucket: usize, dc: usize) -> &BucketRow {
        &self.buckets[bucket * self.n_dcs + dc]
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
            let bucket_end = (t / self.bucket_ns + 1) * self.bucket_ns;
            let piece = end.min(bucket_end) - t;
            self.at(SimTime(t), dc).busy_ns += piece;
            t += piece;
        }
    }

    #[inline]
    pub fn record_latency(&mut self, kind: Kind, latency: Nanos) {
        self.latency[kind as usize].saturating_record(latency.max(1));
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
mod tests {
    use super::*;

    #[test]
    fn busy_time_splits_across_buckets() {
        let mut m = Metrics::new(2, SimTime(3_000), 1_000);
        m.add_busy(DcId(1), SimTime(800), 1_500);
        assert_eq!(m.row(0, 1).busy_ns, 200);
        assert_eq!(m.row(1, 1).busy_ns, 1_000);
        assert_eq!(m.row(2, 1).busy_ns, 300);
        assert_eq!(m.dcs[1].busy_ns, 1_500);
        assert_eq!(m.row(0, 0).busy_ns, 0);
    }
}

//! Unit tests of the metrics: the streamed series, busy time, lag sums.

use super::*;
use rand::Rng;

/// Collects what a streaming `Metrics` sends out.
type Received = std::sync::Arc<std::sync::Mutex<Vec<(usize, Vec<BucketRow>)>>>;
struct Collect(Received);

impl SeriesSink for Collect {
    fn bucket(&mut self, bucket: usize, rows: &[BucketRow]) {
        self.0.lock().unwrap().push((bucket, rows.to_vec()));
    }
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_streamed_series_sends_each_bucket_once_in_order() {
    let got = std::sync::Arc::default();
    let mut m = Metrics::new(2, SimTime(200_000), 1_000);
    m.stream_to(Box::new(Collect(std::sync::Arc::clone(&got))));
    assert_eq!(m.flush_horizon(), SimTime(64_000));
    m.at(SimTime(500), DcId(1)).ok += 1;
    // Busy from 63.5 us to 65.5 us: across the first flush.
    m.add_busy(DcId(0), SimTime(63_500), 2_000);
    m.record_lag(DcId(0), DcId(1), SimTime(63_900), 5_000);
    m.advance(SimTime(64_000));
    assert_eq!(got.lock().unwrap().len(), 64, "buckets 0..64 closed");
    assert_eq!(m.flush_horizon(), SimTime(128_000));
    m.at(SimTime(64_100), DcId(0)).failed += 1;
    // Later than the end: the last bucket.
    m.at(SimTime(900_000), DcId(1)).rejected += 1;
    m.close();
    let got = got.lock().unwrap();
    let order: Vec<usize> = got.iter().map(|(b, _)| *b).collect();
    assert_eq!(order, (0..=200).collect::<Vec<_>>());
    assert_eq!(got[0].1[1].ok, 1);
    assert_eq!(got[63].1[0].busy_ns, 500);
    assert_eq!(got[64].1[0].busy_ns, 1_000);
    assert_eq!(got[65].1[0].busy_ns, 500);
    // 5 us at the lag histograms' resolution (512 ns steps).
    assert_eq!(got[63].1[1].repl_lag_p99_ns, 5_119);
    assert_eq!(got[64].1[0].failed, 1);
    assert_eq!(got[200].1[1].rejected, 1);
    assert!(m.streamed() && m.buckets.is_empty());
}

/// `lag_all`, summed from the streams at the close, reads exactly as a
/// histogram that recorded every lag itself: count, min, max, mean and
/// quantiles, also when one stream grew far beyond the initial range.
#[test]
fn lag_all_sums_the_streams_exactly() {
    let mut m = Metrics::new(3, SimTime(10_000_000_000), 1_000_000_000);
    let mut direct = new_lag_histogram();
    let mut rng = crate::kernel::stream(5, 0);
    for i in 0..20_000u64 {
        let (src, dst) = (DcId((i % 3) as u16), DcId(((i + 1) % 3) as u16));
        let lag = match i % 1000 {
            0 => 40_000_000_000 + rng.next_u64() % 1_000_000, // 40 s: grows
            1 => 1 + rng.next_u64() % 900,                    // below 1 us
            _ => 5_000_000 + rng.next_u64() % 20_000_000,
        };
        m.record_lag(src, dst, SimTime(i * 100_000), lag);
        record(&mut direct, lag.max(1_000));
    }
    m.close();
    let all = &m.lag_all;
    assert_eq!(all.len(), 20_000);
    assert_eq!(
        (all.len(), all.min(), all.max(), all.mean()),
        (direct.len(), direct.min(), direct.max(), direct.mean())
    );
    for q in [0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
        assert_eq!(
            all.value_at_quantile(q),
            direct.value_at_quantile(q),
            "q {q}"
        );
    }
    assert!(all.max() > 40_000_000_000);
}

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

/// A bucket's lag p99 and the streams' lags count every apply, also past
/// the few thousand a DC keeps before counting them.
#[test]
fn lag_p99_counts_every_apply_of_the_bucket() {
    let mut m = Metrics::new(3, SimTime(2_000_000_000), 1_000_000_000);
    let mut direct = new_lag_histogram();
    let n = 3 * RECENT as u64 + 7;
    for i in 0..n {
        // Spread over 1-51 ms, from DCs 0 and 2 to DC 1, all in bucket 0.
        let lag = 1_000_000 + (i * 7_919) % 50_000_000;
        m.record_lag(DcId(2 * (i % 2) as u16), DcId(1), SimTime(i * 1_000), lag);
        record(&mut direct, lag);
    }
    m.record_lag(DcId(0), DcId(1), SimTime(1_500_000_000), 7_000_000);
    m.close();
    assert_eq!(m.row(0, 1).repl_lag_p99_ns, direct.value_at_quantile(0.99));
    assert!(m.row(0, 1).repl_lag_p99_ns > 49_000_000);
    assert_eq!(
        m.row(1, 1).repl_lag_p99_ns,
        7_000_063,
        "7 ms at 4,096 ns steps"
    );
    let applied = |s: usize| m.streams[s].as_ref().map_or(0, |l| l.lag.len());
    assert_eq!((applied(1), applied(7)), (n / 2 + 1 + 1, n / 2));
    assert_eq!(m.lag_all.len(), n + 1);
}

/// Latencies counted during the run read, once it closes, as histograms
/// that recorded each one: count, min, max, mean and quantiles, from 1 ns
/// to beyond the histograms' initial top (2^31 ns), per kind.
#[test]
fn latency_counts_become_the_histograms_at_the_close() {
    let mut m = Metrics::new(1, SimTime(1_000), 1_000);
    let mut direct = [new_histogram(), new_histogram()];
    let mut rng = crate::kernel::stream(6, 0);
    for i in 0..30_000u64 {
        let kind = Kind::ALL[(i % 2) as usize];
        let latency = match i % 500 {
            0 => 4_500_000_000_000 + rng.next_u64() % 1_000_000, // 4,500 s
            1 => rng.next_u64() % 3,                             // 0 counts as 1
            _ => 1_000_000 + rng.next_u64() % 200_000_000,
        };
        m.record_latency(kind, latency);
        record(&mut direct[kind as usize], latency.max(1));
    }
    assert!(
        m.latency.iter().all(|h| h.is_empty()),
        "filled at the close"
    );
    m.close();
    for (h, d) in m.latency.iter().zip(&direct) {
        assert_eq!(
            (h.len(), h.min(), h.max(), h.mean()),
            (d.len(), d.min(), d.max(), d.mean())
        );
        for q in [0.0, 0.5, 0.99, 0.999, 1.0] {
            assert_eq!(h.value_at_quantile(q), d.value_at_quantile(q), "q {q}");
        }
    }
    assert_eq!(m.latency[0].len(), 15_000);
    assert!(
        m.latency[0].max() >= 4_500_000_000_000,
        "reads took the 4,500 s"
    );
}

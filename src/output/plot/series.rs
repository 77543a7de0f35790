//! A run's time series as the timeline draws it: `timeseries.csv` read row
//! by row into bins, so a run of a hundred hours plots in bounded memory.

use std::error::Error;
use std::path::Path;

use super::{col, num};

/// At most this many points per line: a longer run's buckets are merged
/// into bins of 2^k buckets (rates averaged, lags and ages their maximum),
/// so a plot of a hundred hours is as light as one of an hour.
const MAX_POINTS: usize = 2048;

/// A run's time series: totals and per-DC values per bin (a bucket, or
/// several merged), per second.
pub(super) struct Series {
    /// The start of each bin, in seconds.
    pub t: Vec<f64>,
    /// The width of a bin, in seconds.
    pub bucket_s: f64,
    /// The end of the last bucket, in seconds.
    pub end: f64,
    pub dcs: Vec<String>,
    pub requests: Vec<f64>,
    pub ok: Vec<f64>,
    pub misrouted: Vec<f64>,
    /// `[dc][bin]`.
    pub dc_ok: Vec<Vec<f64>>,
    pub dc_errors: Vec<Vec<f64>>,
    /// Age of the oldest write not applied at each DC at the bin's end
    /// (ms; 0 when none); absent in folders written before the column.
    pub dc_age_ms: Option<Vec<Vec<f64>>>,
    /// p99 lag of the writes applied in the bin, worst DC (ms; 0: none).
    pub lag_p99_ms: Vec<f64>,
}

/// One bin while reading: sums (rates) and maxima (lags, ages).
#[derive(Clone, Default)]
struct Bin {
    t: f64,
    buckets: u32,
    requests: f64,
    ok: f64,
    misrouted: f64,
    lag: f64,
    dc_ok: Vec<f64>,
    dc_errors: Vec<f64>,
    dc_age: Vec<f64>,
}

impl Bin {
    fn absorb(&mut self, o: Bin) {
        self.buckets += o.buckets;
        self.requests += o.requests;
        self.ok += o.ok;
        self.misrouted += o.misrouted;
        self.lag = self.lag.max(o.lag);
        for (a, b) in [
            (&mut self.dc_ok, &o.dc_ok),
            (&mut self.dc_errors, &o.dc_errors),
        ] {
            add_at(a, b, |x, y| x + y);
        }
        add_at(&mut self.dc_age, &o.dc_age, f64::max);
    }
}

fn add_at(a: &mut Vec<f64>, b: &[f64], f: impl Fn(f64, f64) -> f64) {
    if a.len() < b.len() {
        a.resize(b.len(), 0.0);
    }
    for (x, y) in a.iter_mut().zip(b) {
        *x = f(*x, *y);
    }
}

fn put(v: &mut Vec<f64>, d: usize, x: f64, f: impl Fn(f64, f64) -> f64) {
    if v.len() <= d {
        v.resize(d + 1, 0.0);
    }
    v[d] = f(v[d], x);
}

/// Reads `timeseries.csv` row by row (a long run's series need not fit in
/// memory as text) into at most `2 · MAX_POINTS` bins.
pub(super) fn read_series(dir: &Path) -> Result<Series, Box<dyn Error>> {
    let path = dir.join("timeseries.csv");
    let mut reader = csv::Reader::from_path(&path)?;
    let mut left_out = 0;
    let h: Vec<String> = reader.headers()?.iter().map(str::to_string).collect();
    let c = |n: &str| col(&h, n);
    let (t, dc, req, ok, failed, rejected, mis, lag) = (
        c("t_s")?,
        c("dc")?,
        c("requests")?,
        c("ok")?,
        c("failed")?,
        c("rejected")?,
        c("misrouted")?,
        c("repl_lag_p99_ms")?,
    );
    let age = c("repl_unapplied_age_ms").ok();
    let mut dcs: Vec<String> = Vec::new();
    let mut bins: Vec<Bin> = Vec::new();
    // Buckets per bin (a power of two), buckets seen, the last two times.
    let (mut per_bin, mut bucket) = (1usize, 0usize);
    let (mut first, mut second, mut last): (Option<f64>, Option<f64>, Option<f64>) =
        (None, None, None);
    for r in reader.records() {
        let r = r?;
        left_out += super::out_of_range(r.iter());
        let Some(time) = num(&r[t]) else { continue };
        if last != Some(time) {
            if last.is_some() {
                bucket += 1;
            }
            if first.is_none() {
                first = Some(time);
            } else if second.is_none() {
                second = Some(time);
            }
            last = Some(time);
            if bucket / per_bin >= bins.len() {
                bins.push(Bin {
                    t: time,
                    ..Bin::default()
                });
                if bins.len() > 2 * MAX_POINTS {
                    let mut merged = Vec::with_capacity(MAX_POINTS + 1);
                    let mut it = bins.into_iter();
                    while let Some(mut a) = it.next() {
                        if let Some(b) = it.next() {
                            a.absorb(b);
                        }
                        merged.push(a);
                    }
                    bins = merged;
                    per_bin *= 2;
                }
            }
            bins.last_mut().expect("a bin was pushed").buckets += 1;
        }
        let d = match dcs.iter().position(|n| *n == r[dc]) {
            Some(d) => d,
            None => {
                dcs.push(r[dc].to_string());
                dcs.len() - 1
            }
        };
        let v = |c: usize| num(&r[c]).unwrap_or(0.0);
        let b = bins.last_mut().expect("a bin was pushed");
        b.requests += v(req);
        b.ok += v(ok);
        b.misrouted += v(mis);
        b.lag = b.lag.max(v(lag));
        put(&mut b.dc_ok, d, v(ok), |x, y| x + y);
        put(&mut b.dc_errors, d, v(failed) + v(rejected), |x, y| x + y);
        if let Some(c) = age {
            put(&mut b.dc_age, d, v(c), f64::max);
        }
    }
    super::say_left_out(&path, left_out);
    let bucket_s = match (first, second) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => 1.0,
    };
    let n_dcs = dcs.len();
    let mut s = Series {
        t: Vec::with_capacity(bins.len()),
        bucket_s: bucket_s * per_bin as f64,
        end: last.unwrap_or(0.0) + bucket_s,
        dcs,
        requests: Vec::with_capacity(bins.len()),
        ok: Vec::with_capacity(bins.len()),
        misrouted: Vec::with_capacity(bins.len()),
        dc_ok: vec![Vec::with_capacity(bins.len()); n_dcs],
        dc_errors: vec![Vec::with_capacity(bins.len()); n_dcs],
        dc_age_ms: age.map(|_| vec![Vec::with_capacity(bins.len()); n_dcs]),
        lag_p99_ms: Vec::with_capacity(bins.len()),
    };
    for mut b in bins {
        // Per second, averaged over the buckets the bin holds.
        let per_s = 1.0 / (bucket_s * f64::from(b.buckets.max(1)));
        s.t.push(b.t);
        s.requests.push(b.requests * per_s);
        s.ok.push(b.ok * per_s);
        s.misrouted.push(b.misrouted * per_s);
        s.lag_p99_ms.push(b.lag);
        b.dc_ok.resize(n_dcs, 0.0);
        b.dc_errors.resize(n_dcs, 0.0);
        b.dc_age.resize(n_dcs, 0.0);
        for d in 0..n_dcs {
            s.dc_ok[d].push(b.dc_ok[d] * per_s);
            s.dc_errors[d].push(b.dc_errors[d] * per_s);
            if let Some(a) = &mut s.dc_age_ms {
                a[d].push(b.dc_age[d]);
            }
        }
    }
    Ok(s)
}

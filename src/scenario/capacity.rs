//! Capacity arithmetic for `multiactive check`: can the datacenters carry
//! the scenario's peak rate, with every DC up and after losing the largest?
//!
//! A DC's capacity is its servers over the mean service time (requests per
//! second it can finish); unlimited servers, or a zero service time, carry
//! anything. The peak rate is `workload.rate` times the largest sum over
//! regions of share × profile factor, taken at the profiles' points (the
//! factors are linear between them, so the peak lies on one).

use super::Config;
use crate::time::NS_PER_S;

/// A DC's capacity in requests per second; `None`: unlimited.
pub fn capacity(cfg: &Config, dc: usize) -> Option<f64> {
    let d = &cfg.datacenters[dc];
    let servers = d.servers?;
    let mean_s = d.service_time.mean() / NS_PER_S as f64;
    (mean_s > 0.0).then(|| servers as f64 / mean_s)
}

/// The largest total arrival rate over the run, and the profile factor it
/// is `workload.rate` times.
pub fn peak_rate(cfg: &Config) -> (f64, f64) {
    let global = cfg.workload.profile.as_ref();
    let profiles: Vec<_> = cfg
        .regions
        .iter()
        .map(|r| r.profile.as_ref().or(global))
        .collect();
    let mut times: Vec<u64> = profiles
        .iter()
        .flatten()
        .flat_map(|p| p.points().iter().map(|q| q.0))
        .collect();
    times.push(0);
    let factor = times
        .iter()
        .map(|&t| {
            cfg.regions
                .iter()
                .zip(&profiles)
                .map(|(r, p)| r.share * p.map_or(1.0, |p| p.factor(t)))
                .sum::<f64>()
        })
        .fold(0.0, f64::max);
    (cfg.workload.rate * factor, factor)
}

/// Warnings about capacity, each with its arithmetic; empty if the
/// survivors of the loss of the largest DC can carry the peak (or any DC
/// is unlimited).
pub fn warnings(cfg: &Config) -> Vec<String> {
    let n = cfg.datacenters.len();
    let caps: Option<Vec<f64>> = (0..n).map(|d| capacity(cfg, d)).collect();
    let Some(caps) = caps else {
        return Vec::new();
    };
    let (peak, factor) = peak_rate(cfg);
    let shaped = if factor == 1.0 {
        String::new()
    } else {
        format!(
            " (rate {} × profile peak {})",
            show(cfg.workload.rate),
            show(factor)
        )
    };
    let each: Vec<String> = (0..n)
        .map(|d| {
            let dc = &cfg.datacenters[d];
            format!(
                "{} {} servers / {} ms = {}/s",
                dc.name,
                dc.servers.unwrap_or(0),
                show(dc.service_time.mean() / 1e6),
                show(caps[d])
            )
        })
        .collect();
    let total: f64 = caps.iter().sum();
    let mut out = Vec::new();
    if peak > total {
        out.push(format!(
            "capacity: the peak rate {}/s{shaped} exceeds the capacity of all DCs together, {}/s ({}): queues grow even with every DC up",
            show(peak),
            show(total),
            each.join(", ")
        ));
        return out;
    }
    if n < 2 {
        return out;
    }
    // The largest DC: the most capacity, the first listed among equals.
    let largest = (0..n).fold(0, |best, d| if caps[d] > caps[best] { d } else { best });
    let left = total - caps[largest];
    if peak > left {
        out.push(format!(
            "capacity: after losing its largest DC, {}, the survivors cannot carry the peak rate: {}/s{shaped} > {}/s left ({}); utilisation would be {} at best (load spread evenly)",
            cfg.datacenters[largest].name,
            show(peak),
            show(left),
            each.join(", "),
            show(peak / left)
        ));
    }
    out
}

/// A number for a message: integers without decimals, others with up to 3.
fn show(v: f64) -> String {
    if v == v.round() && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

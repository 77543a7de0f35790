//! The `## Capacity` section of a run's `report.md`: whether the survivors
//! of each DC loss that moved shards carried the load, from `failures.csv`
//! and `timeseries.csv`, after `check`'s capacity warnings.

use std::fmt::Write as _;
use std::path::Path;

use super::notes::SATURATED;
use super::plot::read_table;
use crate::scenario::Config;

/// Whether the survivors of each failure that moved shards carried the
/// load: each DC's mean utilisation from the switch to the fault's end (or
/// the end of traffic), from `timeseries.csv`, and the requests refused
/// meanwhile; with `check`'s capacity warnings first.
pub(super) fn section(dir: &Path, cfg: &Config) -> String {
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
        let switch = if l.by_operator {
            "the operators' switchover off"
        } else {
            "the switch of"
        };
        if l.per_dc.is_empty() {
            let _ = writeln!(
                s,
                "- After {switch} dc_down {what} at {from} s: the survivors have unlimited servers (no capacity limit); {} requests refused meanwhile.",
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
            "- After {switch} dc_down {what} at {from} s, to {to} s: {verdict}. Mean utilisation: {}; {} requests refused meanwhile (full waiting rooms, routers, write guards, writes without a data leader).",
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
    /// Moved by an operator's switchover (`failover.auto = false`), not by
    /// the controller.
    by_operator: bool,
    /// (DC, summed utilisation, buckets).
    per_dc: Vec<(String, f64, usize)>,
    refused: u64,
}

/// The `dc_down` rows of `failures.csv` that moved shards: from the
/// controller's switch, or (with `failover.auto = false`) from the first
/// operator's switchover to another DC that started while the DC was down,
/// to the fault's end, or the end of traffic.
fn losses(dir: &Path, cfg: &Config) -> Vec<Loss> {
    let Ok((fh, failures)) = read_table(&dir.join("failures.csv")) else {
        return Vec::new();
    };
    let col = |c: &str| fh.iter().position(|x| x == c);
    let (Some(kind), Some(target), Some(start), Some(switched), Some(end), Some(moved_to)) = (
        col("kind"),
        col("target"),
        col("start_s"),
        col("switched_s"),
        col("end_s"),
        col("moved_to"),
    ) else {
        return Vec::new();
    };
    let traffic_end = cfg.duration as f64 / 1e9;
    let time = |f: &Vec<String>, c: usize| f[c].parse::<f64>().ok();
    failures
        .iter()
        .filter(|f| f[kind] == "dc_down")
        .filter_map(|f| {
            let down = time(f, start)?;
            let to = time(f, end).unwrap_or(traffic_end).min(traffic_end);
            let (from, by_operator) = match time(f, switched) {
                Some(at) => (at, false),
                None => {
                    let moved = failures
                        .iter()
                        .filter(|m| m[kind] == "switchover" && m[moved_to] != f[target])
                        .filter_map(|m| time(m, switched))
                        .filter(|&at| at >= down && at < to);
                    (moved.min_by(f64::total_cmp)?, true)
                }
            };
            Some(Loss {
                dead: f[target].clone(),
                from,
                to,
                by_operator,
                per_dc: Vec::new(),
                refused: 0,
            })
        })
        .collect()
}

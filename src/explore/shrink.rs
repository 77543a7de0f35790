//! Shrinking a schedule that breaks an expectation: drop faults, shorten
//! them, move them earlier, round their times (and halve the workload, if
//! asked), keeping each change only while the schedule still breaks it.
//!
//! Every step tries a list of candidates in order and keeps the first that
//! still breaks. The candidates of a step run in parallel, a batch of as
//! many as the thread pool has threads at a time, and the first breaking one
//! in list order wins: the result, and the count of runs reported (those a
//! one-at-a-time shrink would have made), do not depend on the threads.
//!
//! Every change makes a fault count, a start, a duration or the rate
//! smaller, so the passes end; they are also bounded by `MAX_TRIES` runs.
//! The result is 1-minimal: the last removal pass tried removing each fault
//! alone and each removal made the expectation hold (that pass is always
//! completed, past the bound if need be).

use rayon::prelude::*;

use crate::scenario::{Config, FaultConfig};
use crate::time::{NS_PER_MS, NS_PER_S};

/// Runs a shrink may spend beyond its final removal pass.
pub const MAX_TRIES: usize = 400;

/// What was shrunk: the faults, the workload rate, and the runs it took.
pub struct Shrunk {
    pub faults: Vec<FaultConfig>,
    pub rate: f64,
    pub tries: usize,
}

type Breaks<'a> = &'a (dyn Fn(&Config) -> bool + Sync);

struct Ctx<'a> {
    base: &'a Config,
    breaks: Breaks<'a>,
}

impl Ctx<'_> {
    fn with(&self, faults: &[FaultConfig], rate: f64) -> Config {
        let mut c = self.base.clone();
        c.faults = faults.to_vec();
        c.workload.rate = rate;
        c
    }

    /// The first candidate (faults, rate) that still breaks, and the runs a
    /// one-at-a-time search would have made to find it.
    fn first(&self, cands: &[(Vec<FaultConfig>, f64)]) -> (Option<usize>, usize) {
        let batch = rayon::current_num_threads().max(1);
        for start in (0..cands.len()).step_by(batch) {
            let end = (start + batch).min(cands.len());
            let hits: Vec<bool> = cands[start..end]
                .par_iter()
                .map(|(f, r)| (self.breaks)(&self.with(f, *r)))
                .collect();
            if let Some(k) = hits.iter().position(|&b| b) {
                return (Some(start + k), start + k + 1);
            }
        }
        (None, cands.len())
    }
}

/// Shrinks `faults` while `breaks` holds of the scenario with them.
pub fn shrink(
    base: &Config,
    faults: Vec<FaultConfig>,
    workload: bool,
    breaks: Breaks<'_>,
) -> Shrunk {
    let cx = Ctx { base, breaks };
    let mut s = Shrunk {
        faults,
        rate: base.workload.rate,
        tries: 0,
    };
    let mut minimal;
    loop {
        let mut changed = drop_pass(&cx, &mut s);
        // Nothing removable now: 1-minimal unless a later step changes it.
        minimal = !changed;
        if s.tries >= MAX_TRIES {
            break;
        }
        for i in 0..s.faults.len() {
            if s.tries >= MAX_TRIES {
                break;
            }
            let cands: Vec<(Vec<FaultConfig>, f64)> = variants(&s.faults[i])
                .into_iter()
                .map(|v| {
                    let mut next = s.faults.clone();
                    next[i] = v;
                    (next, s.rate)
                })
                .collect();
            let (hit, tries) = cx.first(&cands);
            s.tries += tries;
            if let Some(k) = hit {
                s.faults = cands[k].0.clone();
                changed = true;
                minimal = false;
            }
        }
        if workload {
            // Halvings down to 1 request/s, smallest first.
            let mut rates = Vec::new();
            let mut r = s.rate / 2.0;
            while r >= 1.0 {
                rates.push(r);
                r /= 2.0;
            }
            rates.reverse();
            let cands: Vec<(Vec<FaultConfig>, f64)> =
                rates.into_iter().map(|r| (s.faults.clone(), r)).collect();
            let (hit, tries) = cx.first(&cands);
            s.tries += tries;
            if let Some(k) = hit {
                s.rate = cands[k].1;
                changed = true;
                minimal = false;
            }
        }
        if !changed || s.tries >= MAX_TRIES {
            break;
        }
    }
    if !minimal {
        while drop_pass(&cx, &mut s) {}
    }
    s
}

/// Smaller versions of a fault, in the order they are tried: shorter
/// (shortest first), earlier (earliest first), rounded down to whole seconds.
fn variants(f: &FaultConfig) -> Vec<FaultConfig> {
    let mut out: Vec<FaultConfig> = Vec::new();
    if let Some(d) = f.duration {
        let mut shorter = d / 2;
        while shorter >= 10 * NS_PER_MS {
            out.push(FaultConfig {
                duration: Some(shorter / NS_PER_MS * NS_PER_MS),
                ..f.clone()
            });
            shorter /= 2;
        }
    }
    out.reverse();
    let mut earlier = vec![0];
    let mut at = f.at / 2;
    while at >= NS_PER_S {
        earlier.push(at / NS_PER_MS * NS_PER_MS);
        at /= 2;
    }
    for a in earlier.into_iter().filter(|&a| a < f.at) {
        out.push(FaultConfig { at: a, ..f.clone() });
    }
    // Rounding only ever goes down, so no step undoes another.
    let whole = FaultConfig {
        at: f.at / NS_PER_S * NS_PER_S,
        duration: f.duration.map(|d| {
            if d >= NS_PER_S {
                d / NS_PER_S * NS_PER_S
            } else {
                d
            }
        }),
        ..f.clone()
    };
    if whole != *f {
        out.push(whole);
    }
    out
}

/// Removes faults one at a time, first to last, while the schedule still
/// breaks. Returns whether one was removed.
fn drop_pass(cx: &Ctx<'_>, s: &mut Shrunk) -> bool {
    let mut changed = false;
    let mut i = 0;
    while i < s.faults.len() {
        let cands: Vec<(Vec<FaultConfig>, f64)> = (i..s.faults.len())
            .map(|j| {
                let mut next = s.faults.clone();
                next.remove(j);
                (next, s.rate)
            })
            .collect();
        let (hit, tries) = cx.first(&cands);
        s.tries += tries;
        match hit {
            Some(k) => {
                s.faults = cands[k].0.clone();
                i += k;
                changed = true;
            }
            None => break,
        }
    }
    changed
}

//! Shrinking a schedule that breaks an expectation: drop faults, shorten
//! them, move them earlier, round their times (and halve the workload, if
//! asked), keeping each change only while the schedule still breaks it.
//!
//! The result is 1-minimal: the last pass tried removing each fault alone
//! and every removal made the expectation hold. Every step is one run, so
//! the passes are bounded by `MAX_TRIES` runs; the removal pass that makes
//! the result 1-minimal is always completed.

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

/// Shrinks `faults` while `breaks` holds of the scenario with them.
pub fn shrink(
    base: &Config,
    faults: Vec<FaultConfig>,
    workload: bool,
    breaks: &dyn Fn(&Config) -> bool,
) -> Shrunk {
    let mut s = Shrunk {
        faults,
        rate: base.workload.rate,
        tries: 0,
    };
    let with = |faults: &[FaultConfig], rate: f64| {
        let mut c = base.clone();
        c.faults = faults.to_vec();
        c.workload.rate = rate;
        c
    };
    let mut minimal = false;
    loop {
        let mut changed = drop_pass(&mut s, &with, breaks);
        if !changed {
            // Nothing removable now: 1-minimal unless a later step changes it.
            minimal = true;
        }
        if s.tries >= MAX_TRIES {
            break;
        }
        // Shorten, move earlier, round: each a list of candidate values
        // tried in order, the first that still breaks kept.
        for i in 0..s.faults.len() {
            let f = s.faults[i].clone();
            let mut candidates: Vec<FaultConfig> = Vec::new();
            if let Some(d) = f.duration {
                let mut shorter = d / 2;
                while shorter >= 10 * NS_PER_MS {
                    candidates.push(FaultConfig {
                        duration: Some(round_to(shorter, NS_PER_MS)),
                        ..f.clone()
                    });
                    shorter /= 2;
                }
            }
            candidates.reverse(); // shortest first
            let mut earlier = vec![0];
            let mut at = f.at / 2;
            while at >= NS_PER_S {
                earlier.push(round_to(at, NS_PER_MS));
                at /= 2;
            }
            for a in earlier.into_iter().filter(|&a| a < f.at) {
                candidates.push(FaultConfig { at: a, ..f.clone() });
            }
            // Rounding only ever goes down, so no step undoes another and
            // the passes end.
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
            if whole != f {
                candidates.push(whole);
            }
            for c in candidates {
                if s.tries >= MAX_TRIES {
                    break;
                }
                let mut next = s.faults.clone();
                next[i] = c;
                s.tries += 1;
                if breaks(&with(&next, s.rate)) {
                    s.faults = next;
                    changed = true;
                    minimal = false;
                    break;
                }
            }
        }
        if workload {
            while s.rate / 2.0 >= 1.0 && s.tries < MAX_TRIES {
                s.tries += 1;
                if !breaks(&with(&s.faults, s.rate / 2.0)) {
                    break;
                }
                s.rate /= 2.0;
                changed = true;
                minimal = false;
            }
        }
        if !changed || s.tries >= MAX_TRIES {
            break;
        }
    }
    // The removal pass that makes the result 1-minimal, always completed.
    if !minimal {
        while drop_pass(&mut s, &with, breaks) {}
    }
    s
}

fn round_to(ns: u64, unit: u64) -> u64 {
    (ns / unit * unit).max(unit)
}

/// Tries removing each fault alone; keeps removals that still break.
/// Returns whether one was kept.
fn drop_pass(
    s: &mut Shrunk,
    with: &dyn Fn(&[FaultConfig], f64) -> Config,
    breaks: &dyn Fn(&Config) -> bool,
) -> bool {
    let mut changed = false;
    let mut i = 0;
    while i < s.faults.len() {
        let mut next = s.faults.clone();
        next.remove(i);
        s.tries += 1;
        if breaks(&with(&next, s.rate)) {
            s.faults = next;
            changed = true;
        } else {
            i += 1;
        }
    }
    changed
}

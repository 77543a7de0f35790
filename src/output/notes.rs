//! What a run folder says beside its tables: the resolved scenario
//! (`scenario.toml`), the overrides it ran with and warnings (rarely meant
//! combinations, an overloaded system), for `report.md` and standard error.

use std::fmt::Write as _;

use crate::metrics::Outcome;
use crate::scenario::load::escape;
use crate::scenario::{Loaded, Scenario, advice};

/// Notes of one run; the default has none (no `scenario.toml`, no section).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunNotes {
    /// The resolved scenario, written as `scenario.toml`.
    pub scenario_toml: Option<String>,
    /// `KEY=VALUE` overrides, one per key, sorted.
    pub overrides: Vec<String>,
    /// One sentence each.
    pub warnings: Vec<String>,
}

impl RunNotes {
    /// The `report.md` section ("" when there is nothing to say).
    pub fn markdown(&self) -> String {
        if self.overrides.is_empty() && self.warnings.is_empty() {
            return String::new();
        }
        let mut s = String::new();
        if !self.overrides.is_empty() {
            let list: Vec<String> = self
                .overrides
                .iter()
                .map(|o| format!("`{}`", escape(o).replace('`', "'")))
                .collect();
            let _ = writeln!(
                s,
                "- **Overrides**: {} (`scenario.toml` is the scenario with them applied)",
                list.join(", ")
            );
        }
        for w in &self.warnings {
            let _ = writeln!(s, "- **Warning**: {}", escape(w));
        }
        s.push('\n');
        s
    }
}

/// The notes of a finished run: its resolved scenario, its overrides, the
/// advice about its configuration and the signs of overload in its outcome.
pub fn for_run(scenario: &Scenario, loaded: &Loaded, o: &Outcome) -> RunNotes {
    let mut warnings = advice(&loaded.config);
    let scenario_toml = match scenario.resolved(loaded) {
        Ok(text) => Some(text),
        Err(e) => {
            warnings.push(format!("scenario.toml is not written: {e}"));
            None
        }
    };
    warnings.extend(overload(o));
    RunNotes {
        scenario_toml,
        overrides: loaded.listed(),
        warnings,
    }
}

/// Below this share of busy time a DC is not called saturated.
pub(super) const SATURATED: f64 = 0.98;

/// Signs of overload in a finished run, one sentence each, in this order:
/// DCs whose servers were busy nearly all the traffic time (the same busy
/// time over traffic time as `dcs.csv`), requests refused at a full waiting
/// room, requests still in flight when the drain ended. The one derivation
/// of these warnings: standard error and `report.md` show this list.
pub fn overload(o: &Outcome) -> Vec<String> {
    let mut out = Vec::new();
    let t = &o.metrics.totals;
    let span = o.traffic_end.ns();
    for (d, dc) in o.metrics.dcs.iter().enumerate() {
        if let Some(servers) = o.servers[d]
            && span > 0
        {
            let u = dc.busy_ns as f64 / (f64::from(servers) * span as f64);
            if u >= SATURATED {
                out.push(format!(
                    "DC {}'s servers were busy {:.1}% of the traffic time{}: it is saturated, its queue grows and its latencies measure the queue",
                    escape(&o.dc_names[d]),
                    u * 100.0,
                    if u > 1.0 { " (its backlog ran into the drain)" } else { "" }
                ));
            }
        }
    }
    if t.queue_full > 0 {
        out.push(format!(
            "{} refused because a waiting room was full (`queue`: {} places unless a datacenter sets it)",
            plural(t.queue_full, "request was", "requests were"),
            crate::model::datacenter::DEFAULT_QUEUE
        ));
    }
    if t.in_flight_at_end > 0 {
        out.push(format!(
            "{} still in flight when the run ended: arrivals outpaced service (an overloaded DC) or waited on a DC that never answered; lengthen simulation.drain or lower workload.rate",
            plural(t.in_flight_at_end, "request was", "requests were")
        ));
    }
    out
}

/// A value as a markdown table cell: `|` escaped, newlines shown as `\n`.
pub fn md_cell(s: &str) -> String {
    escape(s).replace('|', "\\|")
}

/// "1 run", "2 runs".
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_to_say_writes_nothing() {
        assert_eq!(RunNotes::default().markdown(), "");
        let n = RunNotes {
            scenario_toml: None,
            overrides: vec!["a.b=x\ny".into()],
            warnings: vec!["w".into()],
        };
        assert_eq!(
            n.markdown(),
            "- **Overrides**: `a.b=x\\ny` (`scenario.toml` is the scenario with them applied)\n- **Warning**: w\n\n"
        );
        assert_eq!(md_cell("a|b\nc"), "a\\|b\\nc");
        assert_eq!(plural(1, "run", "runs"), "1 run");
        assert_eq!(plural(2, "run", "runs"), "2 runs");
    }
}

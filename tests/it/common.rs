//! Helpers shared by the integration tests.
#![allow(dead_code)]

use multiactive::metrics::{DatasetTotals, Metrics};
use multiactive::scenario::{self, Config};

/// Loads scenario text, panicking with the diagnostics if it is invalid.
pub fn config(text: &str, sets: &[&str]) -> Config {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    scenario::load_str("test.toml", "test", text, &sets)
        .unwrap_or_else(|e| panic!("invalid test scenario:\n{e}"))
}

/// Quantile of a latency histogram in milliseconds.
pub fn q_ms(h: &hdrhistogram::Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1e6
}

/// A scenario of `n` DCs, one per region, users spread evenly, full-mesh
/// links of 5 ms, regions 1 ms from their own DC and 10 ms from the others.
pub fn mesh(n: usize, rate: f64, duration: &str, extra: &str) -> String {
    let dcs: Vec<String> = (0..n).map(|i| format!("dc{i}")).collect();
    let regions: Vec<String> = (0..n).map(|i| format!("r{i}")).collect();
    let (dcs, regions): (Vec<&str>, Vec<&str>) = (
        dcs.iter().map(String::as_str).collect(),
        regions.iter().map(String::as_str).collect(),
    );
    let rest = format!("[workload]\nkeys = 100000\nrate = {rate}\nwrites = 0.3\n\n{extra}\n");
    Sites {
        duration,
        dcs: &dcs,
        regions: &regions,
        links: &vec!["5ms"; n * n.saturating_sub(1) / 2],
        rest: &rest,
        ..Sites::TWO
    }
    .text()
}

/// Scenario text of a few DCs for tests: `[simulation]` with `duration`,
/// `drain` and the keys in `simulation`; the DCs `dcs`, each in region `r`
/// and its name unless `regions` names them (DCs may share one), with
/// `dc_keys` besides; one link per latency in `links`, between the pairs
/// in order (a–b, a–c, b–c, …); unless `near` and `access` are empty, a
/// `[[region]]` per region name in order of first use, one user per DC in
/// it, `near` from its own DCs and `far` from the others (`far` empty: the
/// others are not listed), or, where `access` has a row k, region k's
/// latency to each DC in order ("" not listed); then `rest`: the
/// `[workload]` and everything else.
#[derive(Clone, Copy)]
pub struct Sites<'a> {
    pub duration: &'a str,
    pub drain: &'a str,
    pub simulation: &'a str,
    pub dcs: &'a [&'a str],
    pub regions: &'a [&'a str],
    pub dc_keys: &'a str,
    pub links: &'a [&'a str],
    pub near: &'a str,
    pub far: &'a str,
    pub access: &'a [&'a [&'a str]],
    pub rest: &'a str,
}

impl Sites<'static> {
    /// DCs `a` and `b`, 10 ms apart one way, users 1 ms from their own DC
    /// and 10 ms from the other; 10 s of traffic and 2 s of drain.
    pub const TWO: Sites<'static> = Sites {
        duration: "10s",
        drain: "2s",
        simulation: "",
        dcs: &["a", "b"],
        regions: &[],
        dc_keys: "",
        links: &["10ms"],
        near: "1ms",
        far: "10ms",
        access: &[],
        rest: "",
    };

    /// DCs `a`, `b` and `c`, links a–b 20 ms, a–c 30 ms and b–c 20 ms one
    /// way (`b` is `a`'s nearest), users 1 ms from their own DC and 10 ms
    /// from the others; 8 s of traffic and 2 s of drain.
    pub const THREE: Sites<'static> = Sites {
        duration: "8s",
        dcs: &["a", "b", "c"],
        links: &["20ms", "30ms", "20ms"],
        ..Sites::TWO
    };
}

impl Sites<'_> {
    pub fn text(&self) -> String {
        let mut s = format!(
            "[simulation]\nduration = \"{}\"\ndrain = \"{}\"\n{}\n",
            self.duration, self.drain, self.simulation
        );
        let region = |i: usize| {
            self.regions
                .get(i)
                .map_or_else(|| format!("r{}", self.dcs[i]), |r| r.to_string())
        };
        for (i, dc) in self.dcs.iter().enumerate() {
            s += &format!(
                "[[datacenter]]\nname = \"{dc}\"\nregion = \"{}\"\n{}\n",
                region(i),
                self.dc_keys
            );
        }
        let pairs = (0..self.dcs.len()).flat_map(|i| (i + 1..self.dcs.len()).map(move |j| (i, j)));
        for ((i, j), latency) in pairs.zip(self.links) {
            s += &format!(
                "[[link]]\nbetween = [\"{}\", \"{}\"]\nlatency = \"{latency}\"\n\n",
                self.dcs[i], self.dcs[j]
            );
        }
        if !self.near.is_empty() || !self.access.is_empty() {
            let names: Vec<String> = (0..self.dcs.len()).map(region).collect();
            let firsts = (0..names.len()).filter(|&i| !names[..i].contains(&names[i]));
            for (k, i) in firsts.enumerate() {
                let lat: Vec<String> = (0..self.dcs.len())
                    .filter_map(|j| {
                        let l = match self.access.get(k) {
                            Some(row) => row[j],
                            None if names[j] == names[i] => self.near,
                            None => self.far,
                        };
                        (!l.is_empty()).then(|| format!("{} = \"{l}\"", self.dcs[j]))
                    })
                    .collect();
                let users = names.iter().filter(|n| **n == names[i]).count();
                s += &format!(
                    "[[region]]\nname = \"{}\"\nusers = {users}\nlatency = {{ {} }}\n\n",
                    names[i],
                    lat.join(", ")
                );
            }
        }
        s + self.rest
    }
}

/// `Sites::TWO` with a one-way link of `link`, users at 0 ms from their own
/// DC only, 5 s of drain and seed 5; 1,000 keys at `rate` requests a
/// second, then `extra`.
pub fn pair(link: &str, rate: f64, duration: &str, extra: &str) -> String {
    let rest = format!("[workload]\nkeys = 1000\nrate = {rate}\n{extra}\n");
    Sites {
        duration,
        drain: "5s",
        simulation: "seed = 5\n",
        links: &[link],
        near: "0ms",
        far: "",
        rest: &rest,
        ..Sites::TWO
    }
    .text()
}

/// Each dataset's counts add up to the totals, and each dataset's
/// requests to its outcomes.
pub fn assert_datasets_add_up(m: &Metrics) {
    let t = &m.totals;
    let sum = |f: fn(&DatasetTotals) -> u64| -> u64 { m.datasets.iter().map(f).sum() };
    assert_eq!(sum(|d| d.requests), t.requests);
    assert_eq!(sum(|d| d.ok), t.ok);
    assert_eq!(sum(|d| d.failed), t.failed);
    assert_eq!(sum(|d| d.rejected), t.rejected);
    assert_eq!(sum(|d| d.conflicts), t.conflicts);
    assert_eq!(sum(|d| d.lost_writes), t.lost_writes);
    for d in &m.datasets {
        assert_eq!(d.requests, d.ok + d.failed + d.rejected);
    }
    assert_eq!(t.invariant_violations, 0);
}

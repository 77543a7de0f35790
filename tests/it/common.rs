//! Helpers shared by the integration tests.
#![allow(dead_code)]

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
    let mut s = format!("[simulation]\nduration = \"{duration}\"\ndrain = \"2s\"\n\n");
    for i in 0..n {
        s += &format!("[[datacenter]]\nname = \"dc{i}\"\nregion = \"r{i}\"\n\n");
    }
    for i in 0..n {
        for j in i + 1..n {
            s += &format!("[[link]]\nbetween = [\"dc{i}\", \"dc{j}\"]\nlatency = \"5ms\"\n\n");
        }
    }
    for i in 0..n {
        let lat: Vec<String> = (0..n)
            .map(|j| format!("dc{j} = \"{}\"", if i == j { "1ms" } else { "10ms" }))
            .collect();
        s += &format!(
            "[[region]]\nname = \"r{i}\"\nusers = 1\nlatency = {{ {} }}\n\n",
            lat.join(", ")
        );
    }
    s += &format!("[workload]\nkeys = 100000\nrate = {rate}\nwrites = 0.3\n\n{extra}\n");
    s
}

/// Scenario text of a few DCs for tests: `[simulation]` with `duration`,
/// `drain` and the keys in `simulation`; the DCs `dcs`, each in its own
/// region (`r` and its name, unless `regions` names them) with `dc_keys`
/// besides; one link per latency in `links`, between the pairs in order
/// (a–b, a–c, b–c, …); unless `near` is empty, a region of users per DC,
/// `near` from it and `far` from the others (`far` empty: the others are
/// not listed); then `rest`: the `[workload]` and everything else.
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
        rest: "",
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
        if !self.near.is_empty() {
            for i in 0..self.dcs.len() {
                let lat: Vec<String> = (0..self.dcs.len())
                    .filter(|&j| j == i || !self.far.is_empty())
                    .map(|j| {
                        let l = if i == j { self.near } else { self.far };
                        format!("{} = \"{l}\"", self.dcs[j])
                    })
                    .collect();
                s += &format!(
                    "[[region]]\nname = \"{}\"\nusers = 1\nlatency = {{ {} }}\n\n",
                    region(i),
                    lat.join(", ")
                );
            }
        }
        s + self.rest
    }
}

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

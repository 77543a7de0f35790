//! Progress on standard error: a bar on a terminal; elsewhere (a batch
//! log) an occasional line, so a long run or sweep shows it is alive.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Seconds as `1h 02m`, `3m 20s` or `12s`.
pub fn human(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

/// Progress of `len` steps: a bar on a terminal; elsewhere (a batch log) a
/// line every `MULTIACTIVE_PROGRESS_SECS` seconds (default 10).
pub struct Progress {
    what: &'static str,
    len: u64,
    bar: Option<ProgressBar>,
    started: Instant,
    last: Instant,
    every: Duration,
}

impl Progress {
    pub fn new(what: &'static str, len: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = ProgressBar::new(len);
            let template = if what == "runs" {
                "{spinner} runs {pos}/{len} [{bar:40}] (eta {eta})"
            } else {
                "{spinner} simulating [{bar:40}] {percent}% (eta {eta})"
            };
            b.set_style(
                ProgressStyle::with_template(template)
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            b
        });
        let every = std::env::var("MULTIACTIVE_PROGRESS_SECS")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map_or(Duration::from_secs(10), Duration::from_secs_f64);
        let now = Instant::now();
        Progress {
            what,
            len,
            bar,
            started: now,
            last: now,
            every,
        }
    }

    pub fn update(&mut self, pos: u64) {
        let elapsed = self.started.elapsed();
        if let Some(b) = &self.bar {
            // A run shorter than a second shows no bar.
            if self.what == "runs" || elapsed > Duration::from_secs(1) {
                b.set_position(pos);
            }
            return;
        }
        if self.last.elapsed() < self.every || pos == 0 {
            return;
        }
        self.last = Instant::now();
        let frac = pos as f64 / self.len.max(1) as f64;
        let eta = elapsed.as_secs_f64() * (1.0 - frac) / frac.max(1e-9);
        if self.what == "runs" {
            eprintln!(
                "sweep: {pos}/{} runs done, {} elapsed, about {} left",
                self.len,
                human(elapsed.as_secs_f64()),
                human(eta)
            );
        } else {
            eprintln!(
                "simulating: {:.0}% after {}, about {} left",
                frac * 100.0,
                human(elapsed.as_secs_f64()),
                human(eta)
            );
        }
    }

    pub fn finish(self) {
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(human(12.4), "12s");
        assert_eq!(human(200.0), "3m 20s");
        assert_eq!(human(3720.0), "1h 02m");
    }
}

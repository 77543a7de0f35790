//! Closed-form checks of the datacenter servers: M/M/1 and M/M/c response
//! times against their formulas.

use crate::common;

use multiactive::run;

/// One DC, users at 0 ms, Poisson arrivals at `rate`, `servers` servers with
/// exponential service of mean 1 ms.
fn single_dc(rate: f64, servers: u32, duration: &str) -> String {
    let dc_keys =
        format!("servers = {servers}\nservice_time = {{ dist = \"exp\", mean = \"1ms\" }}\n");
    let rest = format!("[workload]\nkeys = 1000\nrate = {rate}\n");
    common::Sites {
        duration,
        drain: "10s",
        simulation: "seed = 7\n",
        dcs: &["only"],
        regions: &["here"],
        dc_keys: &dc_keys,
        links: &[],
        near: "0ms",
        far: "",
        rest: &rest,
        ..common::Sites::TWO
    }
    .text()
}

/// The t with P(T > t) = 1 - q, for a decreasing survival function.
fn quantile(survival: impl Fn(f64) -> f64, q: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, 10.0);
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if survival(mid) > 1.0 - q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Erlang C: probability an arrival waits in M/M/c with offered load a = λ/μ.
fn erlang_c(c: u32, a: f64) -> f64 {
    let mut term = 1.0; // a^k / k!
    let mut sum = 0.0;
    for k in 0..c {
        if k > 0 {
            term *= a / k as f64;
        }
        sum += term;
    }
    let top = term * a / c as f64 * (c as f64 / (c as f64 - a));
    top / (sum + top)
}

fn assert_close(what: &str, got: f64, want: f64, tol: f64) {
    let err = (got / want - 1.0).abs();
    eprintln!("{what}: simulated {got:.4}, closed form {want:.4}");
    assert!(
        err <= tol,
        "{what}: simulated {got:.4} vs closed form {want:.4} ({:.2}% off, tolerance {:.0}%)",
        err * 100.0,
        tol * 100.0
    );
}

#[test]
fn mm1_response_time_quantiles_match_closed_form() {
    // λ = 800/s, μ = 1000/s, ρ = 0.8. The response time of M/M/1 (FIFO) is
    // exponential with rate μ - λ = 200/s: p50 = ln 2 / 200 s = 3.466 ms,
    // p99 = ln 100 / 200 s = 23.03 ms. 1.6M requests; tolerance 3% at p50
    // and 5% at p99: response times of a queue this busy are correlated
    // over ~0.1 s, so the p99 of one run is noisy. Measured over seeds 7-18:
    // p99 error mean -0.2%, sd 1.7% (p50: sd 0.8%); seed 7 gives -3.2%.
    let cfg = common::config(&single_dc(800.0, 1, "2000s"), &[]);
    let o = run(&cfg);
    let h = o.metrics.latency_all();
    let theta = 200.0;
    assert_close(
        "M/M/1 p50 (ms)",
        common::q_ms(&h, 0.5),
        (2f64).ln() / theta * 1e3,
        0.03,
    );
    assert_close(
        "M/M/1 p99 (ms)",
        common::q_ms(&h, 0.99),
        (100f64).ln() / theta * 1e3,
        0.05,
    );
    // Utilisation ρ = λ/μ = 0.8 (within 2%).
    let busy = o.metrics.dcs[0].busy_ns as f64 / o.traffic_end.ns() as f64;
    assert_close("M/M/1 utilisation", busy, 0.8, 0.02);
    let t = &o.metrics.totals;
    assert_eq!(t.requests, t.ok + t.failed + t.rejected);
}

#[test]
fn mmc_response_time_quantiles_match_erlang_c() {
    // c = 4, μ = 1000/s, λ = 3200/s (ρ = 0.8, a = 3.2). With probability
    // C = ErlangC(4, 3.2) a request waits Exp(θ), θ = cμ - λ = 800/s, then is
    // served Exp(μ); so P(T > t) = (1-C)e^{-μt} + C(θe^{-μt} - μe^{-θt})/(θ-μ).
    let (c, mu, lambda) = (4u32, 1000.0, 3200.0);
    let cfg = common::config(&single_dc(lambda, c, "600s"), &[]);
    let o = run(&cfg);
    let h = o.metrics.latency_all();
    let pw = erlang_c(c, lambda / mu);
    let theta = c as f64 * mu - lambda;
    let survival = |t: f64| {
        (1.0 - pw) * (-mu * t).exp()
            + pw * (theta * (-mu * t).exp() - mu * (-theta * t).exp()) / (theta - mu)
    };
    for q in [0.5, 0.99] {
        let want = quantile(survival, q) * 1e3;
        assert_close(
            &format!("M/M/4 p{} (ms)", q * 100.0),
            common::q_ms(&h, q),
            want,
            0.03,
        );
    }
    let busy = o.metrics.dcs[0].busy_ns as f64 / (c as f64 * o.traffic_end.ns() as f64);
    assert_close("M/M/4 utilisation", busy, 0.8, 0.02);
}

#[test]
fn erlang_c_formula_is_right() {
    // Textbook value: c = 2, a = 1 (ρ = 0.5): C = 1/3.
    assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
    // c = 1 reduces to ρ.
    assert!((erlang_c(1, 0.8) - 0.8).abs() < 1e-12);
}

#[test]
fn a_full_waiting_room_rejects_and_every_request_is_counted_once() {
    // One server, no waiting room, offered load 1: M/M/1/1 (Erlang B) blocks
    // a/(1+a) = 1/2 of the arrivals.
    let text = single_dc(1000.0, 1, "200s").replace("servers = 1", "servers = 1\nqueue = 0");
    let o = run(&common::config(&text, &[]));
    let t = &o.metrics.totals;
    assert_eq!(t.requests, t.ok + t.failed + t.rejected);
    assert_eq!(t.rejected, t.queue_full);
    let blocked = t.rejected as f64 / t.requests as f64;
    assert!((blocked - 0.5).abs() < 0.01, "blocking {blocked}");
}

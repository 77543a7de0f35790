//! The full model on the default scenario (3 DCs, 100,000 keys,
//! 20,000 requests/s): simulated requests per wall-clock second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use multiactive::scenario;

fn default_scenario(c: &mut Criterion) {
    // As the command line does: a run reuses the pages the last one freed.
    multiactive::kernel::huge::keep_freed_memory();
    let cfg = scenario::load_default(&[
        "simulation.duration=5s".into(),
        "simulation.drain=1s".into(),
    ])
    .expect("the default scenario is valid");
    let requests = multiactive::run(&cfg).metrics.totals.requests;
    let mut g = c.benchmark_group("model");
    g.sample_size(10);
    g.throughput(Throughput::Elements(requests));
    g.bench_function("default_5s_requests", |b| {
        b.iter(|| multiactive::run(&cfg).metrics.totals.ok)
    });
    g.finish();
}

criterion_group!(benches, default_scenario);
criterion_main!(benches);

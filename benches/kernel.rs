//! Benchmarks of the event kernel: `cargo bench --bench kernel`.
//!
//! - `hold/kernel/N`: one pop + one schedule on an `EventQueue` holding a
//!   steady population of N events (the classic hold model), with
//!   `hold/bare/N` on a bare `BinaryHeap<Reverse<(u64, u64, u32)>>` beside it,
//!   and `hold/slots/N` with each of the N events in a slot of its own
//!   (`schedule_in_slot`: the event that pops schedules its next in its
//!   slot, as a replication stream does).
//! - `phold/N`: PHOLD (see `examples/phold.rs`) on N LPs for a fixed number
//!   of events, through `Model` and `run_until`.
//!
//! Each bench is kept short (10 samples, a few seconds).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use rand::RngExt;
use rand_distr::{Distribution, Exp1};

use multiactive::kernel::{ComponentRng, EventQueue, Model, run_until, stream};
use multiactive::time::{Nanos, SimTime};

const MEAN_NS: f64 = 1_000_000.0;
const LOOKAHEAD_NS: Nanos = 10_000;
const POPULATIONS: [u32; 2] = [1024, 65536];

#[inline(always)]
fn delay(rng: &mut ComponentRng) -> Nanos {
    let x: f64 = Exp1.sample(rng);
    LOOKAHEAD_NS + (x * MEAN_NS) as Nanos
}

/// Delays drawn once, so that the hold benches time the queue, not the RNG.
fn delay_table() -> Vec<Nanos> {
    let mut rng = stream(1, 0);
    (0..1 << 16).map(|_| delay(&mut rng)).collect()
}

fn hold(c: &mut Criterion) {
    let delays = delay_table();
    let mask = delays.len() - 1;
    let mut group = c.benchmark_group("hold");
    group.throughput(Throughput::Elements(1));
    for n in POPULATIONS {
        group.bench_function(format!("kernel/{n}"), |b| {
            let mut q = EventQueue::with_capacity(n as usize);
            for i in 0..n {
                q.schedule(SimTime(delays[i as usize & mask]), i);
            }
            let mut k = 0usize;
            b.iter(|| {
                let (_, e) = q.pop().unwrap();
                q.schedule_in(delays[k & mask], black_box(e));
                k += 1;
            });
        });
        group.bench_function(format!("slots/{n}"), |b| {
            let mut q = EventQueue::new();
            for i in 0..n {
                q.schedule_in_slot(i as usize, SimTime(delays[i as usize & mask]), i);
            }
            let mut k = 0usize;
            b.iter(|| {
                let (now, e) = q.pop().unwrap();
                q.schedule_in_slot(e as usize, now.after(delays[k & mask]), black_box(e));
                k += 1;
            });
        });
        group.bench_function(format!("bare/{n}"), |b| {
            let mut q = BinaryHeap::with_capacity(n as usize);
            let mut seq = 0u64;
            for i in 0..n {
                q.push(Reverse((delays[i as usize & mask], seq, i)));
                seq += 1;
            }
            let mut k = 0usize;
            b.iter(|| {
                let Reverse((t, _, e)) = q.pop().unwrap();
                q.push(Reverse((t + delays[k & mask], seq, black_box(e))));
                seq += 1;
                k += 1;
            });
        });
    }
    group.finish();
}

/// PHOLD: the event is the LP it happens at; handling it draws a delay and a
/// destination from that LP's stream.
struct Phold {
    lps: u32,
    rngs: Vec<ComponentRng>,
}

impl Model for Phold {
    type Event = u32;

    #[inline]
    fn handle(&mut self, _now: SimTime, lp: u32, queue: &mut EventQueue<u32>) {
        let rng = &mut self.rngs[lp as usize];
        let d = delay(rng);
        let dest = rng.random_range(0..self.lps);
        queue.schedule_in(d, dest);
    }
}

fn phold_setup(lps: u32) -> (Phold, EventQueue<u32>) {
    let mut model = Phold {
        lps,
        rngs: (0..lps).map(|lp| stream(1, u64::from(lp))).collect(),
    };
    let mut queue = EventQueue::with_capacity(lps as usize);
    for lp in 0..lps {
        let at = delay(&mut model.rngs[lp as usize]);
        queue.schedule(SimTime(at), lp);
    }
    (model, queue)
}

fn phold(c: &mut Criterion) {
    const EVENTS: u64 = 200_000;
    let mut group = c.benchmark_group("phold");
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(EVENTS));
    for lps in POPULATIONS {
        group.bench_function(format!("{lps}"), |b| {
            b.iter_batched(
                || phold_setup(lps),
                |(mut model, mut queue)| {
                    let handled = run_until(&mut model, &mut queue, SimTime::MAX, EVENTS);
                    assert_eq!(handled, EVENTS);
                    (model, queue)
                },
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = hold, phold
}
criterion_main!(benches);

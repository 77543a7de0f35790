//! PHOLD, the standard benchmark of discrete-event kernels, on the project's
//! own kernel and on a bare binary-heap loop, so the two can be compared.
//!
//! `--lps` logical processes (LPs) each start with `--population` events.
//! Handling an event at an LP draws, from that LP's own ChaCha8 stream, an
//! exponential delay (mean `--mean-ns`, plus a fixed `--lookahead-ns`) and a
//! uniformly random destination LP, and schedules one new event there. The
//! run stops after `--events` events.
//!
//! ```text
//! cargo run --release --example phold -- --lps 1024 --events 20000000 --seed 1
//! cargo run --release --example phold -- --lps 1024 --events 20000000 --seed 1 --bare
//! ```
//!
//! Both modes make exactly the same draws in the same order and break ties
//! by scheduling order, so they handle the same event sequence: the printed
//! `checksum` (an order-sensitive hash of every handled event's time and LP)
//! and `final_ns` must be equal.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use clap::Parser;
use rand::RngExt;
use rand_distr::{Distribution, Exp1};

use multiactive::kernel::{ComponentRng, EventQueue, Model, run_until, stream};
use multiactive::time::{Nanos, SimTime};

#[derive(Parser, Debug)]
#[command(about = "PHOLD benchmark of the event kernel")]
struct Args {
    /// Number of logical processes.
    #[arg(long, default_value_t = 1024)]
    lps: u32,
    /// Events to handle before stopping.
    #[arg(long, default_value_t = 20_000_000)]
    events: u64,
    /// Master seed of the per-LP random streams.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Initial events per LP (the steady event population is lps × population).
    #[arg(long, default_value_t = 1)]
    population: u32,
    /// Mean of the exponential part of each delay, in nanoseconds.
    #[arg(long, default_value_t = 1_000_000.0)]
    mean_ns: f64,
    /// Fixed part of each delay (the lookahead), in nanoseconds.
    #[arg(long, default_value_t = 10_000)]
    lookahead_ns: Nanos,
    /// Run on a bare `BinaryHeap<Reverse<(u64, u64, u32)>>` loop instead of
    /// the kernel.
    #[arg(long)]
    bare: bool,
}

/// The draws of one PHOLD hop, shared verbatim by both modes.
#[derive(Clone, Copy)]
struct Params {
    lps: u32,
    mean_ns: f64,
    lookahead_ns: Nanos,
}

impl Params {
    #[inline(always)]
    fn delay(&self, rng: &mut ComponentRng) -> Nanos {
        let x: f64 = Exp1.sample(rng);
        self.lookahead_ns + (x * self.mean_ns) as Nanos
    }

    /// Delay then destination, from the stream of the LP handling the event.
    #[inline(always)]
    fn hop(&self, rng: &mut ComponentRng) -> (Nanos, u32) {
        let delay = self.delay(rng);
        (delay, rng.random_range(0..self.lps))
    }
}

/// Order-sensitive fold of a handled event into the checksum.
#[inline(always)]
fn fold(checksum: u64, time: u64, lp: u32) -> u64 {
    checksum
        .rotate_left(5)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(time ^ u64::from(lp))
}

fn rngs(seed: u64, lps: u32) -> Vec<ComponentRng> {
    (0..lps).map(|lp| stream(seed, u64::from(lp))).collect()
}

struct Outcome {
    events: u64,
    final_ns: u64,
    checksum: u64,
    secs: f64,
}

/// PHOLD as a kernel model: the event is the destination LP.
struct Phold {
    params: Params,
    rngs: Vec<ComponentRng>,
    checksum: u64,
}

impl Model for Phold {
    type Event = u32;

    #[inline]
    fn handle(&mut self, now: SimTime, lp: u32, queue: &mut EventQueue<u32>) {
        self.checksum = fold(self.checksum, now.0, lp);
        let (delay, dest) = self.params.hop(&mut self.rngs[lp as usize]);
        queue.schedule_in(delay, dest);
    }
}

fn run_kernel(params: Params, seed: u64, population: u32, events: u64) -> Outcome {
    let mut model = Phold {
        params,
        rngs: rngs(seed, params.lps),
        checksum: 0,
    };
    let mut queue = EventQueue::with_capacity(params.lps as usize * population as usize);
    for lp in 0..params.lps {
        for _ in 0..population {
            let at = params.delay(&mut model.rngs[lp as usize]);
            queue.schedule(SimTime(at), lp);
        }
    }
    let start = Instant::now();
    let handled = run_until(&mut model, &mut queue, SimTime::MAX, events);
    let secs = start.elapsed().as_secs_f64();
    Outcome {
        events: handled,
        final_ns: queue.now().0,
        checksum: model.checksum,
        secs,
    }
}

fn run_bare(params: Params, seed: u64, population: u32, events: u64) -> Outcome {
    let mut rngs = rngs(seed, params.lps);
    let mut heap: BinaryHeap<Reverse<(u64, u64, u32)>> =
        BinaryHeap::with_capacity(params.lps as usize * population as usize);
    let mut seq = 0u64;
    for lp in 0..params.lps {
        for _ in 0..population {
            let at = params.delay(&mut rngs[lp as usize]);
            heap.push(Reverse((at, seq, lp)));
            seq += 1;
        }
    }
    let start = Instant::now();
    let mut checksum = 0u64;
    let mut now = 0u64;
    let mut handled = 0u64;
    while handled < events {
        let Some(Reverse((t, _, lp))) = heap.pop() else {
            break;
        };
        now = t;
        checksum = fold(checksum, t, lp);
        let (delay, dest) = params.hop(&mut rngs[lp as usize]);
        heap.push(Reverse((t.saturating_add(delay), seq, dest)));
        seq += 1;
        handled += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    Outcome {
        events: handled,
        final_ns: now,
        checksum,
        secs,
    }
}

fn main() {
    let args = Args::parse();
    assert!(args.lps > 0, "--lps must be at least 1");
    assert!(
        args.mean_ns.is_finite() && args.mean_ns >= 0.0,
        "--mean-ns must be a finite non-negative number"
    );
    let params = Params {
        lps: args.lps,
        mean_ns: args.mean_ns,
        lookahead_ns: args.lookahead_ns,
    };
    let (mode, out) = if args.bare {
        (
            "bare",
            run_bare(params, args.seed, args.population, args.events),
        )
    } else {
        (
            "kernel",
            run_kernel(params, args.seed, args.population, args.events),
        )
    };
    let rate = out.events as f64 / out.secs.max(1e-9);
    println!(
        "mode={mode} lps={} population={} events={} events_per_s={:.0} secs={:.3} final_ns={} checksum={:016x}",
        args.lps, args.population, out.events, rate, out.secs, out.final_ns, out.checksum
    );
}

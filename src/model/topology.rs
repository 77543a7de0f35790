//! Datacenters and the network between them.
//!
//! Links form an undirected petgraph graph; each direction of a link draws
//! its latency from its own stream. Two DCs without a direct link talk over
//! the shortest path by median latency, computed once when the world is
//! built (and again whenever the set of live links changes, once faults
//! exist).

use petgraph::algo::bellman_ford;
use petgraph::graph::{NodeIndex, UnGraph};

use super::streams;
use crate::ids::DcId;
use crate::kernel::{ComponentRng, stream};
use crate::scenario::{Config, Dist};
use crate::time::Nanos;

/// One direction of one link: `2 * link + (0 for a→b, 1 for b→a)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LinkDir(u32);

struct Direction {
    latency: Dist,
    rng: ComponentRng,
}

pub struct Topology {
    n: usize,
    directions: Vec<Direction>,
    /// Hops of the path from `src` to `dst`: `hops[offsets[src * n + dst]..offsets[src * n + dst + 1]]`.
    hops: Vec<LinkDir>,
    offsets: Vec<u32>,
    /// Median one-way latency of each path, for ranking.
    medians: Vec<Nanos>,
}

impl Topology {
    pub fn new(cfg: &Config) -> Topology {
        let n = cfg.datacenters.len();
        let mut directions = Vec::with_capacity(cfg.links.len() * 2);
        let mut graph = UnGraph::<(), f64>::with_capacity(n, cfg.links.len());
        let nodes: Vec<NodeIndex> = (0..n).map(|_| graph.add_node(())).collect();
        for (i, l) in cfg.links.iter().enumerate() {
            for dir in 0..2u32 {
                let id = 2 * i as u32 + dir;
                directions.push(Direction {
                    latency: l.latency.clone(),
                    rng: stream(cfg.seed, streams::link_direction(id)),
                });
            }
            graph.add_edge(
                nodes[l.a.idx()],
                nodes[l.b.idx()],
                l.latency.median() as f64,
            );
        }
        let mut hops = Vec::new();
        let mut offsets = Vec::with_capacity(n * n + 1);
        let mut medians = vec![0; n * n];
        offsets.push(0);
        for src in 0..n {
            let paths = bellman_ford(&graph, nodes[src]).expect("latencies are never negative");
            for dst in 0..n {
                // Walk back from dst to src, then reverse into src→dst hops.
                let start = hops.len();
                let mut at = nodes[dst];
                while at != nodes[src] {
                    let Some(prev) = paths.predecessors[at.index()] else {
                        break; // unreachable: validation refuses disconnected topologies
                    };
                    hops.push(direction(cfg, prev.index(), at.index()));
                    at = prev;
                }
                hops[start..].reverse();
                medians[src * n + dst] = hops[start..]
                    .iter()
                    .map(|h| cfg.links[(h.0 / 2) as usize].latency.median())
                    .sum();
                offsets.push(hops.len() as u32);
            }
        }
        Topology {
            n,
            directions,
            hops,
            offsets,
            medians,
        }
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Draws the one-way latency of a message from `src` to `dst` along the
    /// current shortest path, each hop drawn on its own.
    #[inline]
    pub fn sample(&mut self, src: DcId, dst: DcId) -> Nanos {
        let k = src.idx() * self.n + dst.idx();
        let (a, b) = (self.offsets[k] as usize, self.offsets[k + 1] as usize);
        let mut total = 0;
        for h in &self.hops[a..b] {
            let d = &mut self.directions[h.0 as usize];
            total += d.latency.sample(&mut d.rng);
        }
        total
    }

    /// Median one-way latency from `src` to `dst`.
    pub fn median(&self, src: DcId, dst: DcId) -> Nanos {
        self.medians[src.idx() * self.n + dst.idx()]
    }

    /// Number of links a message from `src` to `dst` crosses.
    pub fn hop_count(&self, src: DcId, dst: DcId) -> usize {
        let k = src.idx() * self.n + dst.idx();
        (self.offsets[k + 1] - self.offsets[k]) as usize
    }
}

/// The direction id of the link between DCs `from` and `to`.
fn direction(cfg: &Config, from: usize, to: usize) -> LinkDir {
    let (i, l) = cfg
        .links
        .iter()
        .enumerate()
        .find(|(_, l)| (l.a.idx(), l.b.idx()) == (from, to) || (l.a.idx(), l.b.idx()) == (to, from))
        .expect("a path hop is a link of the scenario");
    LinkDir(2 * i as u32 + u32::from(l.a.idx() != from))
}

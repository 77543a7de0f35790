//! Datacenters and the network between them.
//!
//! Links form an undirected petgraph graph; each direction of a link draws
//! its latency from its own stream. Two DCs without a direct link talk over
//! the shortest live path by median latency (times any slow-down), computed
//! when the world is built and again whenever a link goes down, comes back
//! or changes speed.

use petgraph::algo::bellman_ford;
use petgraph::graph::{NodeIndex, UnGraph};

use super::rng_ids;
use crate::ids::DcId;
use crate::kernel::{ComponentRng, stream};
use crate::scenario::{Config, Dist};
use crate::time::Nanos;

/// `Topology::single` of a path that is not one hop at normal speed.
const NOT_SINGLE: u32 = u32::MAX;

/// One direction of one link: `2 * link + (0 for a→b, 1 for b→a)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LinkDir(u32);

struct Direction {
    latency: Dist,
    rng: ComponentRng,
}

struct Link {
    a: usize,
    b: usize,
    median: Nanos,
    /// Faults holding the link down (link_down, partitions); 0: up.
    down: u32,
    /// Product of the active slow-downs.
    factor: f64,
}

pub struct Topology {
    n: usize,
    links: Vec<Link>,
    directions: Vec<Direction>,
    /// Hops of the path from `src` to `dst`: `hops[offsets[k]..offsets[k + 1]]`, `k = src * n + dst`.
    hops: Vec<LinkDir>,
    offsets: Vec<u32>,
    /// For a path of one hop at its normal speed, that hop's direction
    /// (`NOT_SINGLE` otherwise): a draw with one lookup, where most paths
    /// of a meshed deployment are direct.
    single: Vec<u32>,
    reachable: Vec<bool>,
    /// Median one-way latency of each current path, for ranking.
    medians: Vec<Nanos>,
    /// The same with every link up: distances that do not change with faults.
    initial_medians: Vec<Nanos>,
}

impl Topology {
    pub fn new(cfg: &Config) -> Topology {
        let mut directions = Vec::with_capacity(cfg.links.len() * 2);
        for (i, l) in cfg.links.iter().enumerate() {
            for dir in 0..2u32 {
                directions.push(Direction {
                    latency: l.latency.clone(),
                    rng: stream(cfg.seed, rng_ids::link_direction(2 * i as u32 + dir)),
                });
            }
        }
        let n = cfg.datacenters.len();
        let mut t = Topology {
            n,
            links: cfg
                .links
                .iter()
                .map(|l| Link {
                    a: l.a.idx(),
                    b: l.b.idx(),
                    median: l.latency.median(),
                    down: 0,
                    factor: 1.0,
                })
                .collect(),
            directions,
            hops: Vec::new(),
            offsets: Vec::with_capacity(n * n + 1),
            single: vec![NOT_SINGLE; n * n],
            reachable: vec![false; n * n],
            medians: vec![0; n * n],
            initial_medians: Vec::new(),
        };
        t.recompute();
        t.initial_medians = t.medians.clone();
        t
    }

    /// Recomputes every shortest path over the live links.
    fn recompute(&mut self) {
        let n = self.n;
        let mut graph = UnGraph::<(), f64>::with_capacity(n, self.links.len());
        let nodes: Vec<NodeIndex> = (0..n).map(|_| graph.add_node(())).collect();
        let mut edge_link = Vec::new();
        for (i, l) in self.links.iter().enumerate() {
            if l.down == 0 {
                graph.add_edge(nodes[l.a], nodes[l.b], l.median as f64 * l.factor);
                edge_link.push(i);
            }
        }
        self.hops.clear();
        self.offsets.clear();
        self.offsets.push(0);
        for src in 0..n {
            let paths = bellman_ford(&graph, nodes[src]).expect("latencies are never negative");
            for dst in 0..n {
                let k = src * n + dst;
                let start = self.hops.len();
                let mut at = nodes[dst];
                let mut ok = true;
                while at != nodes[src] {
                    let Some(prev) = paths.predecessors[at.index()] else {
                        ok = false;
                        break;
                    };
                    let edge = graph
                        .find_edge(prev, at)
                        .expect("a predecessor is a neighbour");
                    let link = edge_link[edge.index()];
                    let forward = self.links[link].a == prev.index();
                    self.hops
                        .push(LinkDir(2 * link as u32 + u32::from(!forward)));
                    at = prev;
                }
                if !ok {
                    self.hops.truncate(start);
                }
                self.hops[start..].reverse();
                self.reachable[k] = ok;
                self.medians[k] = self.hops[start..]
                    .iter()
                    .map(|h| {
                        let l = &self.links[(h.0 / 2) as usize];
                        (l.median as f64 * l.factor) as Nanos
                    })
                    .sum();
                self.offsets.push(self.hops.len() as u32);
                self.single[k] = match self.hops[start..] {
                    [h] if self.links[(h.0 / 2) as usize].factor == 1.0 => h.0,
                    _ => NOT_SINGLE,
                };
            }
        }
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Whether a message from `src` can reach `dst` now.
    #[inline]
    pub fn reachable(&self, src: DcId, dst: DcId) -> bool {
        self.reachable[src.idx() * self.n + dst.idx()]
    }

    /// Draws the one-way latency of a message from `src` to `dst` along the
    /// current shortest path, each hop drawn on its own. Callers check
    /// `reachable` first; an unreachable pair gives 0.
    #[inline(always)]
    pub fn sample(&mut self, src: DcId, dst: DcId) -> Nanos {
        let k = src.idx() * self.n + dst.idx();
        let single = self.single[k];
        if single != NOT_SINGLE {
            let d = &mut self.directions[single as usize];
            return d.latency.sample_inlined(&mut d.rng);
        }
        let (a, b) = (self.offsets[k] as usize, self.offsets[k + 1] as usize);
        let mut total = 0;
        for h in &self.hops[a..b] {
            let d = &mut self.directions[h.0 as usize];
            let v = d.latency.sample_inlined(&mut d.rng);
            let factor = self.links[(h.0 / 2) as usize].factor;
            total += if factor == 1.0 {
                v
            } else {
                (v as f64 * factor).round() as Nanos
            };
        }
        total
    }

    /// Median one-way latency from `src` to `dst` on the current path.
    pub fn median(&self, src: DcId, dst: DcId) -> Nanos {
        self.medians[src.idx() * self.n + dst.idx()]
    }

    /// Median one-way latency from `src` to `dst` with every link up.
    pub fn initial_median(&self, src: DcId, dst: DcId) -> Nanos {
        self.initial_medians[src.idx() * self.n + dst.idx()]
    }

    /// A dead DC carries no traffic: its links go down with it (and come
    /// back with it; faults on them stack as usual).
    pub fn set_dc(&mut self, dc: DcId, up: bool) {
        for l in &mut self.links {
            if l.a == dc.idx() || l.b == dc.idx() {
                if up {
                    l.down = l.down.saturating_sub(1);
                } else {
                    l.down += 1;
                }
            }
        }
        self.recompute();
    }

    /// Number of links a message from `src` to `dst` crosses.
    pub fn hop_count(&self, src: DcId, dst: DcId) -> usize {
        let k = src.idx() * self.n + dst.idx();
        (self.offsets[k + 1] - self.offsets[k]) as usize
    }

    /// The link between two DCs, if the scenario has one.
    fn link_between(&self, a: DcId, b: DcId) -> Option<usize> {
        self.links
            .iter()
            .position(|l| (l.a, l.b) == (a.idx(), b.idx()) || (l.a, l.b) == (b.idx(), a.idx()))
    }

    /// Takes the link between `a` and `b` down (`up = false`) or brings it
    /// back. Faults stack: a link is up when no fault holds it down.
    pub fn set_link(&mut self, a: DcId, b: DcId, up: bool) {
        if let Some(i) = self.link_between(a, b) {
            let l = &mut self.links[i];
            if up {
                l.down = l.down.saturating_sub(1);
            } else {
                l.down += 1;
            }
            self.recompute();
        }
    }

    /// Cuts (or heals) every link between DCs of different groups.
    pub fn set_partition(&mut self, groups: &[Vec<DcId>], up: bool) {
        let group_of = |d: usize| groups.iter().position(|g| g.iter().any(|x| x.idx() == d));
        for l in &mut self.links {
            let (ga, gb) = (group_of(l.a), group_of(l.b));
            // DCs in no group stay connected to everyone.
            if ga.is_some() && gb.is_some() && ga != gb {
                if up {
                    l.down = l.down.saturating_sub(1);
                } else {
                    l.down += 1;
                }
            }
        }
        self.recompute();
    }

    /// Multiplies (or divides back) the latency of the link between `a` and `b`.
    pub fn slow_link(&mut self, a: DcId, b: DcId, factor: f64, on: bool) {
        if let Some(i) = self.link_between(a, b) {
            let l = &mut self.links[i];
            if on {
                l.factor *= factor;
            } else {
                l.factor /= factor;
            }
            self.recompute();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three DCs with constant link latencies: a-b 5 ms, a-c 4, b-c 3.
    fn triangle() -> Topology {
        let text = r#"
[simulation]
duration = "1s"
[[datacenter]]
name = "a"
region = "r"
servers = 1
service_time = "1ms"
[[datacenter]]
name = "b"
region = "r"
servers = 1
service_time = "1ms"
[[datacenter]]
name = "c"
region = "r"
servers = 1
service_time = "1ms"
[[link]]
between = ["a", "b"]
latency = "5ms"
[[link]]
between = ["a", "c"]
latency = "4ms"
[[link]]
between = ["b", "c"]
latency = "3ms"
[[region]]
name = "r"
users = 1
latency = { a = "1ms" }
[workload]
keys = 10
rate = 10
"#;
        let cfg = crate::scenario::load_str("<test>", "triangle", text, &[]).expect("valid");
        Topology::new(&cfg)
    }

    /// A direct path is drawn with one lookup (`single`); what it draws
    /// follows the link's slow-downs and the path's changes like the hop
    /// by hop draw: direct at normal speed, direct slowed, two hops once
    /// the slowed link is longer than the detour or down, direct again.
    #[test]
    fn a_direct_path_follows_slowdowns_and_reroutes() {
        let ms = 1_000_000;
        let mut t = triangle();
        let (a, b) = (DcId(0), DcId(1));
        let draw = |t: &mut Topology| (t.sample(a, b), t.sample(b, a), t.hop_count(a, b));
        assert_eq!(draw(&mut t), (5 * ms, 5 * ms, 1));
        t.slow_link(a, b, 1.2, true);
        assert_eq!(draw(&mut t), (6 * ms, 6 * ms, 1));
        t.slow_link(a, b, 2.0, true);
        assert_eq!(draw(&mut t), (7 * ms, 7 * ms, 2), "12 ms direct, 7 via c");
        t.slow_link(a, b, 2.0, false);
        t.slow_link(a, b, 1.2, false);
        assert_eq!(draw(&mut t), (5 * ms, 5 * ms, 1));
        t.set_link(a, b, false);
        assert_eq!(draw(&mut t), (7 * ms, 7 * ms, 2));
        t.set_link(a, b, true);
        assert_eq!(draw(&mut t), (5 * ms, 5 * ms, 1));
    }
}

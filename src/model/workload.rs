//! Users and their requests: Poisson arrivals, key popularity, the
//! read/write mix, the global dataset, and each user's home region.

use rand::{Rng, RngExt};

use super::rng_ids;
use crate::ids::RegionId;
use crate::kernel::{ComponentRng, stream};
use crate::scenario::dist::{ZipfHybrid, ZipfTable, sample};
use crate::scenario::{Config, Popularity, Profile};
use crate::time::{NS_PER_S, Nanos};

/// What one arriving request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestSpec {
    pub region: RegionId,
    /// The key: a user (in a users dataset), or a key of a global dataset.
    pub key: u32,
    /// Its dataset is global: `workload.global`'s or a global `[[dataset]]`.
    pub global: bool,
    pub write: bool,
    /// Its dataset: a `[[dataset]]` (0 when there is none), or, for
    /// `workload.global`'s, the number of `[[dataset]]`s (at least 1).
    pub dataset: u8,
}

/// The bytes of the table `n` keys of popularity `p` draw from: a Zipf
/// law's alias table (`dist::alias`, 8 bytes a key up to 2^22 keys; above,
/// `dist::hybrid`'s table of the 2^16 most popular keys, 512 KiB), or
/// nothing.
pub fn popularity_table_bytes(n: u64, p: Popularity) -> u64 {
    match p {
        Popularity::Zipf { s } if s != 0.0 && n != 0 => match ZipfTable::bytes(n) {
            0 => ZipfHybrid::bytes(),
            b => b,
        },
        _ => 0,
    }
}

/// The bytes of the workload's own popularity tables: the users' keys and
/// the global keys (global `[[dataset]]`s add their own).
pub fn workload_table_bytes(w: &crate::scenario::WorkloadConfig) -> u64 {
    popularity_table_bytes(w.keys, w.popularity)
        + popularity_table_bytes(w.global_keys, w.popularity)
}

/// Draws ranks 0..n, most popular first, and maps them onto keys by a fixed
/// bijection (rank r is key r · stride mod n) so that popular keys do not
/// cluster at low ids.
struct Popular {
    n: u64,
    law: Law,
    stride: u64,
    /// 1 / n, for `rem`.
    inv_n: f64,
}

enum Law {
    /// Uniform popularity (and Zipf with s = 0, which is).
    Uniform,
    /// Zipf up to `dist::alias::TABLE_MAX` keys: the table draws keys, the
    /// bijection built in.
    Table(ZipfTable),
    /// Zipf above: a table of the most popular ranks, rejection-inversion
    /// for the others.
    Hybrid(ZipfHybrid),
}

impl Popular {
    fn new(n: u64, p: Popularity) -> Popular {
        let stride = coprime_stride(n);
        let law = match p {
            Popularity::Uniform => Law::Uniform,
            Popularity::Zipf { s } if s == 0.0 || n == 0 => Law::Uniform,
            Popularity::Zipf { s } if ZipfTable::bytes(n) > 0 => {
                Law::Table(ZipfTable::new(n, s, |r| r * stride % n))
            }
            Popularity::Zipf { s } => Law::Hybrid(ZipfHybrid::new(n, s)),
        };
        Popular {
            n,
            law,
            stride,
            inv_n: 1.0 / n.max(1) as f64,
        }
    }

    /// Whether a draw starts from a table, so that its first 64-bit draw
    /// can be taken early and its entry prefetched ([`Popular::prefetch`],
    /// [`Popular::draw_from`]).
    #[inline]
    fn tabled(&self) -> bool {
        matches!(self.law, Law::Table(_) | Law::Hybrid(_))
    }

    /// Starts loading the table entry `draw` will read.
    #[inline]
    fn prefetch(&self, draw: u64) {
        match &self.law {
            Law::Table(t) => t.prefetch(draw),
            Law::Hybrid(h) => h.prefetch(draw),
            Law::Uniform => {}
        }
    }

    #[inline]
    fn draw(&self, rng: &mut ComponentRng) -> u32 {
        match &self.law {
            Law::Uniform => rng.random_range(0..self.n) as u32,
            _ => self.draw_from(rng.next_u64(), rng),
        }
    }

    /// A key of a tabled law from its first 64-bit draw (the rest, if any,
    /// from `rng`).
    #[inline]
    fn draw_from(&self, draw: u64, rng: &mut ComponentRng) -> u32 {
        match &self.law {
            Law::Table(t) => t.key(draw) as u32,
            Law::Hybrid(h) => {
                let rank = h.rank0(draw, rng);
                // rank and stride are below n; below 2^32 (keys are u32)
                // their product fits in a u64, and its remainder comes
                // without a (slow) 64-bit division.
                if self.n <= 1 << 32 {
                    rem(rank * self.stride, self.n, self.inv_n) as u32
                } else {
                    ((rank as u128 * self.stride as u128) % self.n as u128) as u32
                }
            }
            // Not called for it (no table); the high word of draw · n.
            Law::Uniform => ((u128::from(draw) * u128::from(self.n)) >> 64) as u32,
        }
    }
}

/// `x mod n` for n ≥ 1, given `inv_n = 1 / n`: the quotient from floating
/// point is off by at most one here (x < 2^64 and the quotient below 2^32
/// lose far less than one unit), and the loops correct any error, so the
/// result is exact whatever the rounding.
#[inline]
fn rem(x: u64, n: u64, inv_n: f64) -> u64 {
    let q = (x as f64 * inv_n) as u64;
    let mut r = i128::from(x) - i128::from(q) * i128::from(n);
    let n = i128::from(n);
    while r < 0 {
        r += n;
    }
    while r >= n {
        r -= n;
    }
    r as u64
}

/// A multiplier coprime with `n`, so `rank * stride mod n` is a bijection.
fn coprime_stride(n: u64) -> u64 {
    if n <= 2 {
        return 1;
    }
    let mut s = 0x9E37_79B9_7F4A_7C15 % n;
    while s == 0 || gcd(s, n) != 1 {
        s = (s + 1) % n;
    }
    s
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A fixed 64-bit mix (SplitMix64's finaliser): spreads key ids for the
/// home-region and hash-shard assignments. Not seeded: a user's region and
/// shard are properties of the user, the same in every run.
#[inline]
pub fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Salt of the home-region assignment, so it is independent of hash sharding.
const REGION_SALT: u64 = 0x5EED_0F4E_6100_0000;

/// Each user's home region, by a fixed hash of the user id against the
/// regions' cumulative shares.
#[derive(Clone, Debug)]
pub struct HomeRegions {
    /// Cumulative share thresholds of the regions, scaled to 2^53.
    thresholds: Vec<u64>,
}

impl HomeRegions {
    pub fn new(cfg: &Config) -> HomeRegions {
        let mut acc = 0.0;
        let thresholds = cfg
            .regions
            .iter()
            .map(|r| {
                acc += r.share;
                (acc.min(1.0) * (1u64 << 53) as f64) as u64
            })
            .collect();
        HomeRegions { thresholds }
    }

    /// The home region of a user.
    #[inline]
    pub fn region_of(&self, user: u32) -> RegionId {
        self.by_share(mix(user as u64 ^ REGION_SALT))
    }

    /// The region a uniform 64-bit draw falls in, by the regions' shares.
    #[inline]
    pub fn by_share(&self, draw: u64) -> RegionId {
        let u = draw >> 11;
        let i = self.thresholds.partition_point(|&t| t <= u);
        RegionId(i.min(self.thresholds.len() - 1) as u16)
    }
}

/// Traffic that changes over time: each region's profile (its own, or the
/// workload's, or none), and the largest factor of any. Arrivals come as
/// candidates at `rate × max`, and a candidate from region `r` at time `t`
/// is kept with probability `factor_r(t) / max` (thinning): a
/// non-homogeneous Poisson process of rate `rate × share_r × factor_r(t)`.
struct Shaping {
    /// `[region]`: its profile; `None`: factor 1.
    profiles: Vec<Option<Profile>>,
    max: f64,
}

impl Shaping {
    fn new(cfg: &Config) -> Option<Shaping> {
        let global = cfg.workload.profile.as_ref();
        let profiles: Vec<Option<Profile>> = cfg
            .regions
            .iter()
            .map(|r| r.profile.as_ref().or(global).cloned())
            .collect();
        if profiles.iter().all(Option::is_none) {
            return None;
        }
        let max = profiles
            .iter()
            .map(|p| p.as_ref().map_or(1.0, Profile::max))
            .fold(0.0, f64::max);
        Some(Shaping { profiles, max })
    }

    #[inline]
    fn keep_probability(&self, region: RegionId, t: Nanos) -> f64 {
        self.profiles[region.idx()]
            .as_ref()
            .map_or(1.0, |p| p.factor(t))
            / self.max
    }
}

pub struct Workload {
    arrivals: ComponentRng,
    shaping: Option<Shaping>,
    content: ComponentRng,
    /// Mean time between arrivals in ns; `None` when the rate is 0
    /// (scripted requests only).
    gap: Option<f64>,
    users: Popular,
    global_keys: Popular,
    homes: HomeRegions,
    /// Per-mille thresholds for the mix, as u64 fractions of 2^64 - 1.
    global_threshold: u64,
    global_write_threshold: u64,
    /// Requests not from the user's home region (1 - locality).
    roaming_threshold: u64,
    /// With several `[[dataset]]`s: which one a sharded request touches
    /// (cumulative share thresholds), from a stream of its own so that a
    /// run without them draws exactly what it always drew.
    pick: ComponentRng,
    share_thresholds: Vec<u64>,
    /// Each `[[dataset]]`'s write threshold.
    dataset_writes: Vec<u64>,
    /// Per `[[dataset]]`: a global one's key popularity over its own keys
    /// (`None`: a users dataset, whose key is the user).
    own_keys: Vec<Option<Popular>>,
    /// With a users' table: the `content` draw that picks the next
    /// request's user, taken as soon as this request's draws are done (the
    /// order of draws is the same) so that its column is loaded by then.
    next_user: u64,
}

fn threshold(p: f64) -> u64 {
    if p >= 1.0 {
        u64::MAX
    } else {
        (p * u64::MAX as f64) as u64
    }
}

impl Workload {
    pub fn new(cfg: &Config) -> Workload {
        let w = &cfg.workload;
        let shaping = Shaping::new(cfg);
        // Candidates come at the peak rate when the rate is shaped.
        let peak = w.rate * shaping.as_ref().map_or(1.0, |s| s.max);
        let mut workload = Workload {
            arrivals: stream(cfg.seed, rng_ids::ARRIVALS),
            shaping,
            content: stream(cfg.seed, rng_ids::REQUESTS),
            gap: (peak > 0.0).then(|| NS_PER_S as f64 / peak),
            users: Popular::new(w.keys, w.popularity),
            global_keys: Popular::new(w.global_keys, w.popularity),
            homes: HomeRegions::new(cfg),
            global_threshold: threshold(w.global),
            global_write_threshold: threshold(w.global_writes),
            roaming_threshold: if w.locality >= 1.0 {
                0
            } else {
                threshold(1.0 - w.locality)
            },
            pick: stream(cfg.seed, rng_ids::DATASETS),
            share_thresholds: {
                let mut acc = 0.0;
                cfg.datasets
                    .iter()
                    .map(|d| {
                        acc += d.share;
                        threshold(acc)
                    })
                    .collect()
            },
            dataset_writes: if cfg.datasets.is_empty() {
                vec![threshold(w.writes)]
            } else {
                cfg.datasets.iter().map(|d| threshold(d.writes)).collect()
            },
            own_keys: cfg
                .datasets
                .iter()
                .map(|d| {
                    d.global
                        .as_ref()
                        .map(|g| Popular::new(g.keys, w.popularity))
                })
                .collect(),
            next_user: 0,
        };
        workload.draw_next_user();
        workload
    }

    /// Takes the draw of the next request's user from a users' table, and
    /// starts loading its column (a cache miss otherwise: columns are
    /// equally likely). A hint: the draws are the same without it.
    #[inline]
    fn draw_next_user(&mut self) {
        if self.users.tabled() {
            self.next_user = self.content.next_u64();
            self.users.prefetch(self.next_user);
        }
    }

    /// Time to the next arrival (Poisson process); `None` without arrivals.
    #[inline]
    pub fn next_gap(&mut self) -> Option<Nanos> {
        // At least 1 ns so that time always advances.
        let mean = self.gap?;
        Some(((mean * sample::exp1(&mut self.arrivals)) as Nanos).max(1))
    }

    /// Whether a candidate arrival from `region` at time `t` is kept (always,
    /// without a profile: then nothing is drawn, so unshaped runs draw
    /// exactly as before profiles existed).
    #[inline]
    pub fn keep(&mut self, region: RegionId, t: Nanos) -> bool {
        let Some(s) = &self.shaping else {
            return true;
        };
        let p = s.keep_probability(region, t);
        // A uniform in [0, 1) with 53 bits, from the arrivals stream.
        sample::unit(&mut self.arrivals) < p
    }

    /// The content of the next request.
    #[inline]
    pub fn next_request(&mut self) -> RequestSpec {
        let spec = self.request();
        self.draw_next_user();
        spec
    }

    #[inline]
    fn request(&mut self) -> RequestSpec {
        let rng = &mut self.content;
        let user = if self.users.tabled() {
            self.users.draw_from(self.next_user, rng)
        } else {
            self.users.draw(rng)
        };
        let region = if self.roaming_threshold != 0 && rng.next_u64() < self.roaming_threshold {
            self.homes.by_share(rng.next_u64())
        } else {
            self.homes.region_of(user)
        };
        let global = self.global_threshold != 0 && rng.next_u64() < self.global_threshold;
        if global {
            let key = self.global_keys.draw(rng);
            let write = rng.next_u64() < self.global_write_threshold;
            RequestSpec {
                region,
                key,
                global,
                write,
                dataset: self.dataset_writes.len() as u8,
            }
        } else {
            let dataset = if self.share_thresholds.len() > 1 {
                let u = self.pick.next_u64();
                let last = self.share_thresholds.len() - 1;
                self.share_thresholds.partition_point(|&t| t <= u).min(last)
            } else {
                0
            };
            // A global dataset's key is one of its own, drawn after the
            // user (whose region the request comes from).
            let (key, global) = match self.own_keys.get(dataset) {
                Some(Some(own)) => (own.draw(rng), true),
                _ => (user, false),
            };
            let write = rng.next_u64() < self.dataset_writes[dataset];
            RequestSpec {
                region,
                key,
                global,
                write,
                dataset: dataset as u8,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The remainder without division equals `%`, at the edges of the
    /// range it is used in (products of two numbers below n ≤ 2^32).
    #[test]
    fn rem_matches_the_remainder_operator() {
        let mut rng = crate::kernel::stream(3, 0);
        for n in [1u64, 2, 3, 7, 100_000, 10_000_000, (1 << 32) - 5, 1 << 32] {
            let inv = 1.0 / n as f64;
            let edges = [0, 1, n - 1, n, n + 1, (n - 1) * (n - 1), n * (n - 1)];
            for x in edges.into_iter().chain((0..10_000).map(|_| {
                let (a, b) = (rng.next_u64() % n, rng.next_u64() % n);
                a * b
            })) {
                assert_eq!(rem(x, n, inv), x % n, "{x} mod {n}");
            }
        }
    }

    /// With a users' table the next user is drawn one request early; the
    /// draws are the same as in order: request i's user is the table's key
    /// of the stream's draw 2i and its write flag draw 2i + 1 (no roaming,
    /// no global keys), under the default scenario's law (10^5 keys,
    /// s = 0.8, 30% writes).
    #[test]
    fn the_early_user_draw_keeps_the_order_of_draws() {
        let sets = [
            "workload.locality=1".to_string(),
            "workload.global=0".to_string(),
        ];
        let cfg =
            crate::scenario::load_str("<test>", "t", crate::scenario::DEFAULT_SCENARIO, &sets)
                .expect("valid");
        let mut w = Workload::new(&cfg);
        let Law::Table(table) = &w.users.law else {
            panic!("10^5 keys draw from a table")
        };
        let table = table.clone();
        let mut rng = stream(cfg.seed, rng_ids::REQUESTS);
        let mut writes = 0;
        for _ in 0..1000 {
            let spec = w.next_request();
            assert_eq!(u64::from(spec.key), table.key(rng.next_u64()));
            assert_eq!(spec.write, rng.next_u64() < threshold(0.3));
            writes += usize::from(spec.write);
        }
        assert!((250..350).contains(&writes), "{writes}");
    }

    /// Above 2^22 keys draws come from `dist::hybrid` (ranks), mapped to
    /// keys by the stride: the same draws from the same stream give key
    /// rank · stride mod n, and the table counts in the memory estimate.
    #[test]
    fn large_keyspaces_draw_ranks_from_the_hybrid() {
        let n = 10_000_000;
        let p = Popular::new(n, Popularity::Zipf { s: 0.8 });
        let Law::Hybrid(h) = &p.law else {
            panic!("10^7 keys draw from the hybrid")
        };
        let (mut a, mut b) = (stream(5, 0), stream(5, 0));
        for _ in 0..1000 {
            let first = b.next_u64();
            let rank = h.rank0(first, &mut b);
            assert_eq!(u64::from(p.draw(&mut a)), rank * p.stride % n);
        }
        let bytes = popularity_table_bytes(n, Popularity::Zipf { s: 0.8 });
        assert_eq!(bytes, ZipfHybrid::bytes());
        assert_eq!(
            popularity_table_bytes(1 << 22, Popularity::Zipf { s: 0.8 }),
            8 << 22
        );
    }

    #[test]
    fn stride_is_a_bijection() {
        for n in [1u64, 2, 3, 10, 97, 100, 1000, 4096] {
            let s = coprime_stride(n);
            let mut seen = vec![false; n as usize];
            for r in 0..n {
                seen[((r * s) % n) as usize] = true;
            }
            assert!(seen.iter().all(|&b| b), "n={n}");
        }
    }
}

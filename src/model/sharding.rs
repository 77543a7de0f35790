//! Key → shard → owner. `hash` spreads users over shards by a fixed hash of
//! the user id, `range` cuts the id space into equal ranges, and `geo` gives
//! each region its own block of shards (geo-fenced shards). Placement then
//! gives each shard its first owner.

use super::workload::{HomeRegions, mix};
use crate::ids::{DcId, RegionId, ShardId};
use crate::scenario::{Config, Placement, ShardKey};

pub struct Sharding {
    key: ShardKey,
    shards: u32,
    keys: u64,
    homes: HomeRegions,
    /// Each region's block of shards: `first[r]..first[r] + count[r]`.
    first: Vec<u32>,
    count: Vec<u32>,
}

impl Sharding {
    pub fn new(cfg: &Config) -> Sharding {
        let shards = cfg.sharding.shards;
        let count = region_blocks(cfg, cfg.sharding.key == ShardKey::Geo);
        let first = count
            .iter()
            .scan(0, |acc, &c| {
                let f = *acc;
                *acc += c;
                Some(f)
            })
            .collect();
        Sharding {
            key: cfg.sharding.key,
            shards,
            keys: cfg.workload.keys,
            homes: HomeRegions::new(cfg),
            first,
            count,
        }
    }

    pub fn shards(&self) -> u32 {
        self.shards
    }

    /// The shard of a user of the sharded dataset.
    #[inline]
    pub fn shard_of(&self, user: u32) -> ShardId {
        ShardId(match self.key {
            ShardKey::Hash => (mix(user as u64) % self.shards as u64) as u32,
            ShardKey::Range => ((user as u64 * self.shards as u64) / self.keys) as u32,
            ShardKey::Geo => {
                let r = self.homes.region_of(user).idx();
                self.first[r] + (mix(user as u64) % self.count[r] as u64) as u32
            }
        })
    }

    /// The region whose block holds shard `s` (used by `by_region` placement).
    pub fn region_of_shard(&self, s: ShardId) -> RegionId {
        let i = self.first.partition_point(|&f| f <= s.0).saturating_sub(1);
        RegionId(i as u16)
    }
}

/// Splits the shards over the regions in proportion to their user shares
/// (largest remainder, ties to the earlier region). With `at_least_one`,
/// every region gets a shard, taken from the largest block.
fn region_blocks(cfg: &Config, at_least_one: bool) -> Vec<u32> {
    let shards = cfg.sharding.shards as f64;
    let mut count: Vec<u32> = cfg
        .regions
        .iter()
        .map(|r| (r.share * shards) as u32)
        .collect();
    let mut rest: Vec<(f64, usize)> = cfg
        .regions
        .iter()
        .enumerate()
        .map(|(i, r)| (r.share * shards - count[i] as f64, i))
        .collect();
    rest.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let missing = cfg.sharding.shards - count.iter().sum::<u32>();
    for &(_, i) in rest.iter().take(missing as usize) {
        count[i] += 1;
    }
    if at_least_one {
        while let Some(zero) = count.iter().position(|&c| c == 0) {
            let largest = (0..count.len())
                .max_by_key(|&i| (count[i], usize::MAX - i))
                .expect("regions");
            if count[largest] <= 1 {
                break; // fewer shards than regions: refused by validation
            }
            count[largest] -= 1;
            count[zero] += 1;
        }
    }
    count
}

/// The first owner of every shard, by the scenario's placement.
pub fn initial_owners(cfg: &Config, sharding: &Sharding) -> Vec<DcId> {
    let n = cfg.datacenters.len();
    match &cfg.sharding.placement {
        Placement::RoundRobin => (0..sharding.shards)
            .map(|s| DcId((s as usize % n) as u16))
            .collect(),
        Placement::Table(owners) => owners.clone(),
        Placement::ByRegion => (0..sharding.shards)
            .map(|s| {
                let r = sharding.region_of_shard(ShardId(s));
                let region = &cfg.regions[r.idx()];
                let local: Vec<usize> = (0..n)
                    .filter(|&d| cfg.datacenters[d].region == region.name)
                    .collect();
                if local.is_empty() {
                    // No DC stands in the region: its shards go to its nearest DC.
                    nearest_dc(cfg, r)
                } else {
                    let offset = s - sharding.first[r.idx()];
                    DcId(local[offset as usize % local.len()] as u16)
                }
            })
            .collect(),
    }
}

/// The DC a region reaches with the lowest median latency (ties: first DC).
pub fn nearest_dc(cfg: &Config, r: RegionId) -> DcId {
    let lat = &cfg.regions[r.idx()].latency;
    let best = (0..lat.len())
        .filter_map(|d| lat[d].as_ref().map(|l| (l.median(), d)))
        .min()
        .map_or(0, |(_, d)| d);
    DcId(best as u16)
}

//! Where each dataset's records lie among the stored keys, and what unit
//! (a shard, or one global dataset) a stored key belongs to.
//!
//! Storage numbers the keys of every dataset side by side: the
//! `[[dataset]]`s in order (a users dataset holds one record per user, a
//! global one its own keys), then `workload.global`'s. Without
//! `[[dataset]]` that is the one users dataset, then the global one, as it
//! always was. The global datasets are numbered too: `workload.global`'s is
//! global 0, the global `[[dataset]]`s follow in order; each has its own
//! writer in the routing table.

use super::routing::Target;
use super::sharding::Sharding;
use crate::ids::DcId;
use crate::scenario::{Config, GlobalReads, Resolve};

pub struct KeySpace {
    /// `[dataset]`: its first stored key; then the number of keys.
    first: Vec<u64>,
    /// `[dataset]`: its global number, if it is global.
    global: Vec<Option<u8>>,
    /// Global datasets: `workload.global`'s and the global `[[dataset]]`s.
    globals: usize,
}

impl KeySpace {
    pub fn new(cfg: &Config) -> KeySpace {
        let users = cfg.workload.keys;
        let mut first = vec![0];
        let mut global = Vec::new();
        let mut globals = 1;
        let mut end = 0;
        let mut add = |keys: u64, g: Option<usize>| {
            end += keys;
            first.push(end);
            global.push(g.map(|g| g as u8));
        };
        if cfg.datasets.is_empty() {
            add(users, None);
        }
        for d in &cfg.datasets {
            match &d.global {
                None => add(users, None),
                Some(g) => {
                    add(g.keys, Some(globals));
                    globals += 1;
                }
            }
        }
        add(cfg.workload.global_keys, Some(0));
        KeySpace {
            first,
            global,
            globals,
        }
    }

    /// Keys stored in all.
    pub fn total(&self) -> u64 {
        *self.first.last().expect("at least one dataset")
    }

    /// The first stored key of `dataset`.
    #[inline]
    pub fn first(&self, dataset: u8) -> u64 {
        self.first[dataset as usize]
    }

    /// Where key `key` of `dataset` lies in storage: the dataset's first
    /// key plus `key`. Wide: a caller narrows it to a stored key (`u32`).
    #[inline]
    pub fn stored(&self, dataset: u8, key: u32) -> u64 {
        self.first(dataset) + u64::from(key)
    }

    /// The global number of a global dataset (0 for a users dataset,
    /// which callers never ask about).
    #[inline]
    pub fn global_of(&self, dataset: u8) -> u8 {
        self.global[dataset as usize].unwrap_or(0)
    }

    /// Global datasets, `workload.global`'s included.
    pub fn globals(&self) -> usize {
        self.globals
    }

    /// The dataset a stored key belongs to.
    #[inline]
    pub fn dataset_of(&self, key: u32) -> usize {
        let k = u64::from(key);
        self.first[1..].partition_point(|&f| f <= k)
    }

    /// Whether a stored key is a user's record (in a users dataset).
    #[inline]
    pub fn is_users_key(&self, key: u32) -> bool {
        self.global[self.dataset_of(key)].is_none()
    }

    /// Moves `dataset`'s first key (tests of the narrowing checks).
    #[cfg(test)]
    pub fn set_first(&mut self, dataset: u8, first: u64) {
        self.first[dataset as usize] = first;
    }

    /// What a stored key is part of: a shard (by its user), or a global dataset.
    #[inline]
    pub fn target_of(&self, key: u32, sharding: &Sharding) -> Target {
        let d = self.dataset_of(key);
        match self.global[d] {
            Some(g) => Target::Global(g),
            None => {
                let user = u64::from(key) - self.first[d];
                Target::Shard(sharding.shard_of(user as u32))
            }
        }
    }
}

/// Each global dataset's first writer, by global number:
/// `sharding.global_owner` for `workload.global`'s, then the global
/// `[[dataset]]`s'.
pub fn global_writers(cfg: &Config) -> Vec<DcId> {
    let own = cfg.datasets.iter().filter_map(|d| d.global.as_ref());
    std::iter::once(cfg.sharding.global_owner)
        .chain(own.map(|g| g.writer))
        .collect()
}

/// Where each global dataset's reads go, in the same order.
pub fn global_reads(cfg: &Config) -> Vec<GlobalReads> {
    let own = cfg.datasets.iter().filter_map(|d| d.global.as_ref());
    std::iter::once(cfg.sharding.global_reads)
        .chain(own.map(|g| g.reads))
        .collect()
}

/// Each dataset's conflict rule from its first stored key on (the
/// `[[dataset]]`s', then `replication.resolve` for `workload.global`'s);
/// empty when every dataset follows `replication.resolve`.
pub fn resolve_rules(cfg: &Config, keys: &KeySpace) -> Vec<(u32, Resolve)> {
    if cfg
        .datasets
        .iter()
        .all(|d| d.resolve == cfg.replication.resolve)
    {
        return Vec::new();
    }
    let mut rules: Vec<(u32, Resolve)> = cfg
        .datasets
        .iter()
        .enumerate()
        .map(|(i, d)| (keys.first(i as u8) as u32, d.resolve))
        .collect();
    rules.push((
        keys.first(cfg.datasets.len() as u8) as u32,
        cfg.replication.resolve,
    ));
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_lie_dataset_after_dataset_and_global_ones_are_numbered() {
        // 10 users; `orders` (users: 10 keys), `stock` (global: 7 keys),
        // `rates` (global: 2 keys), then `workload.global`'s 3 keys.
        let text = format!(
            "{}\n[[dataset]]\nname = \"orders\"\nshare = 0.5\n\
             [[dataset]]\nname = \"stock\"\nshare = 0.3\nsharding = \"global\"\nkeys = 7\nresolve = \"origin_priority\"\n\
             [[dataset]]\nname = \"rates\"\nshare = 0.2\nsharding = \"global\"\nkeys = 2\nwriter = \"sh\"\n",
            crate::scenario::DEFAULT_SCENARIO
        );
        let sets = [
            "workload.keys=10".to_string(),
            "workload.global_keys=3".to_string(),
        ];
        let cfg = crate::scenario::load_str("<test>", "keys", &text, &sets).expect("valid");
        let k = KeySpace::new(&cfg);
        assert_eq!((k.total(), k.globals()), (22, 3));
        assert_eq!(
            [k.first(0), k.first(1), k.first(2), k.first(3)],
            [0, 10, 17, 19]
        );
        let of: Vec<usize> = [0, 9, 10, 16, 17, 18, 19, 21]
            .map(|key| k.dataset_of(key))
            .into();
        assert_eq!(of, [0, 0, 1, 1, 2, 2, 3, 3]);
        // A dataset's key `key` lies `key` after its first.
        assert_eq!(
            [k.stored(0, 9), k.stored(1, 3), k.stored(3, 2)],
            [9, 13, 21]
        );
        let sharding = Sharding::new(&cfg);
        assert_eq!(
            k.target_of(3, &sharding),
            Target::Shard(sharding.shard_of(3))
        );
        assert_eq!(k.target_of(12, &sharding), Target::Global(1));
        assert_eq!(k.target_of(18, &sharding), Target::Global(2));
        assert_eq!(k.target_of(20, &sharding), Target::Global(0));
        assert!(k.is_users_key(9) && !k.is_users_key(10));
        let sh = DcId(1);
        assert_eq!(
            global_writers(&cfg),
            [cfg.sharding.global_owner, cfg.sharding.global_owner, sh]
        );
        assert_eq!(
            resolve_rules(&cfg, &k),
            [
                (0, Resolve::Lww),
                (10, Resolve::OriginPriority),
                (17, Resolve::Lww),
                (19, Resolve::Lww)
            ]
        );
    }
}

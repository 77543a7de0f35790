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
use crate::scenario::Config;

pub struct KeySpace {
    /// `[dataset]`: its first stored key; then the number of keys.
    first: Vec<u64>,
    /// `[dataset]`: its global number (0 for a users dataset: unused).
    global: Vec<u8>,
    /// `[dataset]`: whether it is global.
    is_global: Vec<bool>,
    /// Global datasets: `workload.global`'s and the global `[[dataset]]`s.
    globals: usize,
}

impl KeySpace {
    pub fn new(cfg: &Config) -> KeySpace {
        let users = cfg.workload.keys;
        let mut first = vec![0];
        let mut global = Vec::new();
        let mut is_global = Vec::new();
        let mut globals = 1;
        let mut end = 0;
        let mut add = |keys: u64, g: Option<usize>| {
            end += keys;
            first.push(end);
            is_global.push(g.is_some());
            global.push(g.unwrap_or(0) as u8);
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
            is_global,
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

    /// The global number of a global dataset.
    #[inline]
    pub fn global_of(&self, dataset: u8) -> u8 {
        self.global[dataset as usize]
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
        !self.is_global[self.dataset_of(key)]
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
        if self.is_global[d] {
            Target::Global(self.global[d])
        } else {
            let user = u64::from(key) - self.first[d];
            Target::Shard(sharding.shard_of(user as u32))
        }
    }
}

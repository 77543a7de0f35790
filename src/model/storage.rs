//! Each DC's copy of the data: for every key, the id of the last write
//! applied there (0: never written). Writes are applied where they execute;
//! replication between DCs builds on this.

use crate::ids::DcId;
use crate::model::routing::Target;

pub struct Storage {
    n_keys: usize,
    /// `[dc][key]`, sharded keys first, then the global keys.
    versions: Vec<u64>,
    next_write: u64,
    applied: Vec<u64>,
}

impl Storage {
    pub fn new(n_dcs: usize, keys: u64, global_keys: u64) -> Storage {
        let n_keys = (keys + global_keys) as usize;
        Storage {
            n_keys,
            versions: vec![0; n_dcs * n_keys],
            next_write: 1,
            applied: vec![0; n_dcs],
        }
    }

    #[inline]
    fn slot(&self, dc: DcId, key: usize) -> usize {
        dc.idx() * self.n_keys + key
    }

    /// Applies a new write to `key` at `dc`; returns its id.
    #[inline]
    pub fn write(&mut self, dc: DcId, key: usize) -> u64 {
        let id = self.next_write;
        self.next_write += 1;
        let s = self.slot(dc, key);
        self.versions[s] = id;
        self.applied[dc.idx()] += 1;
        id
    }

    /// The id of the last write to `key` applied at `dc`.
    #[inline]
    pub fn read(&self, dc: DcId, key: usize) -> u64 {
        self.versions[self.slot(dc, key)]
    }

    /// Writes applied at `dc` so far.
    pub fn applied(&self, dc: DcId) -> u64 {
        self.applied[dc.idx()]
    }
}

/// The storage slot of a request's key: sharded users first, global keys after.
#[inline]
pub fn key_slot(target: Target, key: u32, sharded_keys: u64) -> usize {
    match target {
        Target::Shard(_) => key as usize,
        Target::Global => sharded_keys as usize + key as usize,
    }
}
